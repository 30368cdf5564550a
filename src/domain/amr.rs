//! How a session was opened: RFC 8176 authentication method references (`amr`), the methods
//! this service uses. A session stores them when it opens, and each of its access tokens says
//! them, so a consuming service can ask for a second factor before a sensitive action.

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// One RFC 8176 method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum AuthMethod {
    /// A password.
    Pwd,
    /// A one-time code (TOTP).
    Otp,
    /// More than one factor.
    Mfa,
    /// A hardware-secured key (a passkey).
    Hwk,
    /// User presence and verification on the authenticator (a passkey's PIN or biometric).
    User,
}

impl AuthMethod {
    /// The RFC 8176 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Otp => "otp",
            Self::Mfa => "mfa",
            Self::Hwk => "hwk",
            Self::User => "user",
        }
    }

    /// The method of an RFC 8176 name, exactly as written (the names are case-sensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "pwd" => Self::Pwd,
            "otp" => Self::Otp,
            "mfa" => Self::Mfa,
            "hwk" => Self::Hwk,
            "user" => Self::User,
            _ => return None,
        })
    }
}

/// How a session was opened (RFC 8176 `amr`): the methods, in the order the contract lists them.
/// The same JSON array is stored with the session and put in each of its access tokens.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
#[schema(example = json!(["pwd"]))]
pub struct Amr(Vec<AuthMethod>);

// Written by hand, as an array of strings: serde's derive for an enum reads the externally
// tagged form too (`{"pwd": null}`), code the Worker's wasm would carry for nothing, and the
// strings reuse the claims' own string reader.
impl Serialize for Amr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|m| m.as_str()))
    }
}

impl<'de> Deserialize<'de> for Amr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Methods;

        impl<'de> Visitor<'de> for Methods {
            type Value = Amr;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of RFC 8176 methods")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Amr, A::Error> {
                let mut methods = Vec::with_capacity(3);
                while let Some(name) = seq.next_element::<String>()? {
                    let method = AuthMethod::parse(&name)
                        .ok_or_else(|| de::Error::custom("unknown authentication method"))?;
                    methods.push(method);
                }
                Ok(Amr(methods))
            }
        }

        deserializer.deserialize_seq(Methods)
    }
}

/// `sessions.amr` did not hold a JSON array of known methods.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a JSON array of known authentication methods")]
pub struct AmrError;

impl Amr {
    /// A password login.
    pub fn password() -> Self {
        Self(vec![AuthMethod::Pwd])
    }

    /// A password, then a TOTP code.
    pub fn totp() -> Self {
        Self(vec![AuthMethod::Pwd, AuthMethod::Otp, AuthMethod::Mfa])
    }

    /// A password, then a recovery code.
    pub fn recovery_code() -> Self {
        Self(vec![AuthMethod::Pwd, AuthMethod::Mfa])
    }

    /// A passkey with user verification: a possession and an inherence (or knowledge) factor.
    pub fn passkey() -> Self {
        Self(vec![AuthMethod::Hwk, AuthMethod::User, AuthMethod::Mfa])
    }

    pub fn contains(&self, method: AuthMethod) -> bool {
        self.0.contains(&method)
    }

    pub fn methods(&self) -> &[AuthMethod] {
        &self.0
    }

    /// The stored form: compact JSON, as the column's default `["pwd"]` is written.
    pub fn to_json(&self) -> String {
        let mut out = String::from("[");
        for (i, method) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(method.as_str());
            out.push('"');
        }
        out.push(']');
        out
    }

    /// Reads the stored form, a JSON array of method names (read here rather than by a JSON
    /// reader of its own: the names need no escapes, and the Worker's wasm stays smaller).
    ///
    /// # Errors
    /// [`AmrError`] for anything but a non-empty array of known methods.
    pub fn from_json(text: &str) -> Result<Self, AmrError> {
        let items = text
            .trim()
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or(AmrError)?;
        let mut methods = Vec::with_capacity(3);
        for item in items.split(',') {
            let quoted = item.trim();
            let name = quoted
                .strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .ok_or(AmrError)?;
            methods.push(AuthMethod::parse(name).ok_or(AmrError)?);
        }
        Ok(Self(methods))
    }
}

impl Default for Amr {
    /// A token or session that does not say: opened by a password, the only way to open one
    /// before methods were recorded (and the weakest, so a default never grants more).
    fn default() -> Self {
        Self::password()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_in_has_the_contracts_methods_in_its_order() {
        assert_eq!(Amr::password().to_json(), r#"["pwd"]"#);
        assert_eq!(Amr::totp().to_json(), r#"["pwd","otp","mfa"]"#);
        assert_eq!(Amr::recovery_code().to_json(), r#"["pwd","mfa"]"#);
        assert_eq!(Amr::passkey().to_json(), r#"["hwk","user","mfa"]"#);
        assert!(Amr::totp().contains(AuthMethod::Mfa));
        assert!(!Amr::password().contains(AuthMethod::Mfa));
    }

    #[test]
    fn the_stored_form_reads_back_and_anything_else_is_refused() {
        for amr in [
            Amr::password(),
            Amr::totp(),
            Amr::recovery_code(),
            Amr::passkey(),
        ] {
            assert_eq!(Amr::from_json(&amr.to_json()), Ok(amr));
        }
        // The migration's default, and a JSON writer's spacing.
        assert_eq!(Amr::from_json(r#"["pwd"]"#), Ok(Amr::password()));
        assert_eq!(
            Amr::from_json(r#"[ "pwd", "otp", "mfa" ]"#),
            Ok(Amr::totp())
        );
        for bad in [
            "",
            "pwd",
            "[]",
            r#"["PWD"]"#,
            r#"["sms"]"#,
            r#"{"amr":["pwd"]}"#,
            "[1]",
            r#"["pwd""#,
            r#"["pwd",]"#,
            r#"["pwd" "otp"]"#,
            r#"[""]"#,
        ] {
            assert_eq!(Amr::from_json(bad), Err(AmrError), "{bad}");
        }
    }
}
