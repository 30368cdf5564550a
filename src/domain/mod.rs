//! Validated newtypes for what crosses the boundary: emails, user ids and how a session was
//! opened ([`amr::Amr`]) (passwords: [`crate::password::Password`]).
//! Once a value of one of these types exists, it satisfies the contract's rules.

pub mod amr;
pub mod lowercase;
pub mod random;

use serde::Serialize;

/// One broken validation rule, reported in the `errors` array of a `422`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            code,
            message: message.into(),
        }
    }
}

/// Longest email the contract accepts (RFC 5321's path limit), in characters.
pub const EMAIL_MAX_CHARS: usize = 254;

/// A normalized email address: trimmed and lower-cased, the form that is stored and compared.
/// Only a plain addr-spec: a dot-atom local part and a domain of LDH labels, so the address is
/// one mailbox to every mail service that reads it (no display name, list, quoted string,
/// comment or domain literal).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// RFC 5322's `atext` besides letters and digits: what a dot-atom local part may hold.
const ATEXT_SYMBOLS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
/// RFC 1035's limit on one label of a domain name.
const LABEL_MAX: usize = 63;

/// Whether `local` is a dot-atom: runs of `atext`, one dot between runs (none leading,
/// trailing or doubled).
fn is_dot_atom(local: &str) -> bool {
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || ATEXT_SYMBOLS.contains(&b))
    })
}

/// Whether `label` is an LDH label: 1 to 63 letters, digits or hyphens, no hyphen at either
/// end. (An international domain is written in its punycode form, `xn--…`.)
fn is_ldh_label(label: &str) -> bool {
    (1..=LABEL_MAX).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl Email {
    /// Normalizes and validates an email address.
    ///
    /// # Errors
    /// A [`FieldError`] on `email` naming the first broken rule: `required`, `too_long`,
    /// `invalid_format` (whitespace, not exactly one `@`, no local part, no dotted domain) or
    /// `invalid_email` (anything else that is not a plain address).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let err = |code, msg: &str| Err(FieldError::new("email", code, msg));
        let trimmed = raw.trim();
        let normalized = crate::domain::lowercase::to_lowercase(trimmed);
        if normalized.is_empty() {
            return err("required", "Email is required.");
        }
        if normalized.chars().count() > EMAIL_MAX_CHARS {
            return err("too_long", "Email must be at most 254 characters.");
        }
        if normalized
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return err(
                "invalid_format",
                "Email must not contain whitespace or control characters.",
            );
        }
        let mut parts = normalized.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return err("invalid_format", "Email must contain exactly one '@'.");
        };
        if local.is_empty() {
            return err("invalid_format", "Email must have a local part before '@'.");
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return err(
                "invalid_format",
                "Email must have a domain with a dot, such as example.com.",
            );
        }
        // ASCII is checked on the input as typed: lower-casing turns a few other characters
        // (the Kelvin sign) into ASCII letters. Lower-casing never makes nor removes an '@'.
        let (typed_local, typed_domain) = trimmed.split_once('@').unwrap_or_default();
        if !typed_local.is_ascii() || !is_dot_atom(local) {
            return err(
                "invalid_email",
                "Email must be a plain address: before the '@' only letters, digits, dots and \
                 !#$%&'*+-/=?^_`{|}~, with no dot at either end or twice in a row.",
            );
        }
        if !typed_domain.is_ascii() || !domain.split('.').all(is_ldh_label) {
            return err(
                "invalid_email",
                "Email's domain must be labels of letters, digits and inner hyphens, each at \
                 most 63 characters (an international domain in its xn-- form).",
            );
        }
        Ok(Self(normalized))
    }

    /// A log-safe form: the first character of the local part and the domain (`a***@example.com`).
    pub fn redacted(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or(("", &self.0));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A user's id: a UUID in its lower-case hyphenated form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(uuid::Uuid);

impl UserId {
    pub fn new_random() -> Result<Self, getrandom::Error> {
        Ok(Self(crate::domain::random::uuid_v4()?))
    }

    /// # Errors
    /// When `raw` is not a UUID.
    pub fn parse(raw: &str) -> Result<Self, uuid::Error> {
        uuid::Uuid::try_parse(raw).map(Self)
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A stored user as the core sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub password_hash: String,
    /// Bumped when the owner sets a password (change, reset), kept by a rehash: the writes
    /// that follow a password check are conditional on it (`migrations/0008_password_version.sql`).
    pub password_version: i64,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Whether the address was proved reachable (a verification link, or a reset through it).
    pub email_verified: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let e = Email::parse("  Alice@Example.COM ").unwrap();
        assert_eq!(e.as_ref(), "alice@example.com");
    }

    #[test]
    fn email_rules_are_enforced() {
        for bad in [
            "",
            "   ",
            "no-at.example.com",
            "two@@example.com",
            "a@b@example.com",
            "@example.com",
            "a@localhost",
            "a@example.",
            "a@.example.com",
            "a b@example.com",
            "a\u{7}@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("{}@example.com", "a".repeat(243));
        assert_eq!(long.len(), 255);
        assert_eq!(Email::parse(&long).unwrap_err().code, "too_long");
        assert!(Email::parse(&long[1..]).is_ok());
    }

    #[test]
    fn only_a_plain_address_is_accepted() {
        for good in [
            "a@example.com",
            "first.last@example.com",
            "o'brien+tag@mail.example.co.uk",
            "!#$%&'*+-/=?^_`{|}~@example.com",
            "x@xn--bcher-kva.example",
            "x@a-b.c-d.example",
            "x@1.2.3.example",
        ] {
            assert_eq!(Email::parse(good).map(|e| e.0), Ok(good.to_owned()));
        }
        let longest = format!("x@{}.example", "a".repeat(63));
        assert!(Email::parse(&longest).is_ok());
        for bad in [
            // A display name, a list, a quoted string, a comment, a domain literal.
            "victim<attacker@evil.example>",
            "<attacker@evil.example>",
            "a,b@example.com",
            "a;b@example.com",
            "x\"y@example.com",
            "\"x\"@example.com",
            "a(comment)@example.com",
            "a:b@example.com",
            "a\\b@example.com",
            "x@[127.0.0.1].example",
            // Dots out of place.
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            // Labels that are not LDH.
            "x@-a.example",
            "x@a-.example",
            "x@a_b.example",
            "x@a!b.example",
            "x@example.com>",
            &format!("x@{}.example", "a".repeat(64)),
            // Anything but ASCII, in either part.
            "jos\u{e9}@example.com",
            "x@b\u{fc}cher.example",
            "\u{212a}@example.com",
        ] {
            let e = Email::parse(bad).unwrap_err();
            assert_eq!((e.field, e.code), ("email", "invalid_email"), "{bad:?}");
        }
    }

    #[test]
    fn email_is_redacted_for_logs() {
        let e = Email::parse("alice@example.com").unwrap();
        assert_eq!(e.redacted(), "a***@example.com");
    }
}
