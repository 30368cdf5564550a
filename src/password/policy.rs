//! The password policy: what a new password must be before it is hashed and stored.

use secrecy::{ExposeSecret, SecretString};

use crate::domain::Email;
use crate::domain::FieldError;

/// Password length bounds in Unicode code points (NIST 800-63B, ASVS 6.2).
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// A password that satisfies the registration policy. Never trimmed, truncated or case-changed,
/// and wrapped so that it cannot be logged by accident.
#[derive(Debug)]
pub struct Password(SecretString);

impl Password {
    /// Checks the registration policy: 8–128 code points, not a common password, not the email.
    ///
    /// # Errors
    /// One [`FieldError`] per broken rule, all on `password`.
    pub fn parse(raw: &str, email: Option<&Email>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            errors.push(FieldError::new(
                "password",
                "too_short",
                "Password must be at least 8 characters.",
            ));
        }
        if chars > PASSWORD_MAX_CHARS {
            errors.push(FieldError::new(
                "password",
                "too_long",
                "Password must be at most 128 characters.",
            ));
        }
        if super::blocklist::is_common(raw) {
            errors.push(FieldError::new(
                "password",
                "too_common",
                "This password is too common; choose another.",
            ));
        }
        if let Some(email) = email {
            if crate::domain::lowercase::to_lowercase(raw.trim()) == email.as_ref() {
                errors.push(FieldError::new(
                    "password",
                    "equals_email",
                    "Password must not be the email address.",
                ));
            }
        }
        if errors.is_empty() {
            Ok(Self(SecretString::from(raw)))
        } else {
            Err(errors)
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_length_counts_code_points_not_bytes() {
        // 8 code points of 4 bytes each: long enough.
        assert!(Password::parse("🔑🔑🔑🔑🔑🔑🔑🔑", None).is_ok());
        let short = Password::parse("🔑🔑🔑🔑🔑🔑🔑", None).unwrap_err();
        assert_eq!(short[0].code, "too_short");
        let long = "x1".repeat(64) + "y";
        assert_eq!(
            Password::parse(&long, None).unwrap_err()[0].code,
            "too_long"
        );
        assert!(Password::parse(&"x1".repeat(64), None).is_ok());
    }

    #[test]
    fn password_is_kept_verbatim() {
        let p = Password::parse("  Spaces Kept  ", None).unwrap();
        assert_eq!(p.expose(), "  Spaces Kept  ");
    }

    #[test]
    fn password_equal_to_email_is_rejected() {
        let email = Email::parse("someone@example.com").unwrap();
        let errs = Password::parse("Someone@Example.com", Some(&email)).unwrap_err();
        assert!(errs.iter().any(|e| e.code == "equals_email"));
    }

    #[test]
    fn common_password_is_rejected() {
        let errs = Password::parse("password123", None).unwrap_err();
        assert!(errs.iter().any(|e| e.code == "too_common"));
    }
}
