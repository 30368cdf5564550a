//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 6 digits, 30 s
//! steps, the current step and one either side. Time is passed in: `SystemTime::now` panics on
//! wasm32-unknown-unknown, and tests choose their instant.
//!
//! Replay (RFC 6238 §5.2): verification returns the step it accepted, and a step at or before
//! the user's last accepted one is never accepted again. The store makes that check-and-write
//! one conditional statement (`crate::store::sql::mfa::ACCEPT_STEP`); [`is_fresh`] is the same rule
//! here, so a code is not even compared against a step the store would refuse.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox};
use subtle::ConstantTimeEq;

use super::crypto::{CryptoError, MfaCrypto};

/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps accepted on either side of the current one (clock drift, a code typed at a step's
/// end).
pub const WINDOW: u64 = 1;
/// Bytes of a secret: 160 bits, RFC 4226's recommended length and the size of SHA-1's output.
pub const SECRET_LEN: usize = 20;

/// A TOTP shared secret. Its `Debug` hides the bytes.
pub struct TotpSecret(SecretBox<[u8; SECRET_LEN]>);

impl TotpSecret {
    /// A fresh random secret.
    ///
    /// # Errors
    /// When the platform's generator is unavailable.
    pub fn generate() -> Result<Self, getrandom::Error> {
        Ok(Self::from_bytes(
            crate::domain::random::bytes::<SECRET_LEN>()?,
        ))
    }

    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    pub fn expose(&self) -> &[u8; SECRET_LEN] {
        self.0.expose_secret()
    }

    /// The form an authenticator app is given: base32, no padding (32 characters).
    pub fn to_base32(&self) -> String {
        base32(self.expose())
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

/// The step that Unix time `unix_secs` falls in.
pub fn step_at(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// Whether `step` may still be accepted after `last_accepted` (`None`: no step accepted yet):
/// a step once accepted, and every earlier one, is refused.
pub fn is_fresh(step: u64, last_accepted: Option<u64>) -> bool {
    last_accepted.is_none_or(|last| step > last)
}

/// The HOTP value (RFC 4226 §5.3) of `secret` at counter `step`, as `digits` decimal digits
/// with leading zeros. `digits` is 6 for our codes; RFC 6238's vectors use 8.
///
/// # Errors
/// When the HMAC fails.
///
/// # Panics
/// When `digits` is not between 1 and 9 (a programming error: the callers pass constants).
pub async fn code_at<C: MfaCrypto>(
    crypto: &C,
    secret: &[u8],
    step: u64,
    digits: u32,
) -> Result<String, CryptoError> {
    assert!((1..=9).contains(&digits), "digits out of range");
    let mac = crypto.hmac_sha1(secret, &step.to_be_bytes()).await?;
    // Dynamic truncation: the low nibble of the last byte picks four bytes, top bit cleared.
    let offset = usize::from(mac[19] & 0x0f);
    let word = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    let value = word % 10u32.pow(digits);
    Ok(format!("{value:0width$}", width = digits as usize))
}

/// The code a user typed, reduced to its digits: spaces are ignored (apps show "123 456");
/// anything else but exactly [`DIGITS`] ASCII digits is malformed (`None`).
pub fn parse_code(input: &str) -> Option<String> {
    let code: String = input.chars().filter(|c| *c != ' ').collect();
    (code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// Checks `input` against `secret` at Unix time `now_secs`: the current step and [`WINDOW`]
/// either side, skipping every step that is not [fresh](is_fresh) after `last_accepted`.
/// Returns the step it matched (the earliest, should two match), which the caller must then
/// record as accepted, conditionally, before it counts as a success; `None` for a wrong,
/// malformed or replayed code.
///
/// # Errors
/// When the HMAC fails.
pub async fn verify<C: MfaCrypto>(
    crypto: &C,
    secret: &TotpSecret,
    input: &str,
    now_secs: u64,
    last_accepted: Option<u64>,
) -> Result<Option<u64>, CryptoError> {
    let Some(code) = parse_code(input) else {
        return Ok(None);
    };
    let current = step_at(now_secs);
    for step in current.saturating_sub(WINDOW)..=current.saturating_add(WINDOW) {
        if !is_fresh(step, last_accepted) {
            continue;
        }
        let expected = code_at(crypto, secret.expose(), step, DIGITS).await?;
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, upper case, without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u16, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u16::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(
                BASE32_ALPHABET[usize::from((buffer >> bits) & 31)],
            ));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[usize::from((buffer << (5 - bits)) & 31)],
        ));
    }
    out
}

/// The `otpauth://` URI an authenticator app scans (Google Authenticator's key URI format):
/// `otpauth://totp/<issuer>:<email>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`,
/// exactly these five parameters. Issuer and email are percent-encoded (everything but RFC
/// 3986's unreserved characters, so `@` is `%40` and a space `%20`); the `:` between them is
/// literal.
pub fn otpauth_uri(issuer: &str, email: &str, secret: &TotpSecret) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{email}?secret={secret}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        email = percent_encode(email),
        secret = secret.to_base32(),
    )
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
