//! The attestation object (WebAuthn L3 §6.5.4): a CBOR map of `fmt`, `attStmt` and `authData`.
//! The statement is checked to be a well-formed map and otherwise not read: the contract asks
//! for `attestation: "none"` and verifies no statement, whatever its format.

use minicbor::data::Type;
use minicbor::Decoder;

use super::cbor;
use super::PasskeyError;

/// An attestation object, borrowed from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationObject<'a> {
    /// The statement's format (`none`, `packed`, …).
    pub fmt: &'a str,
    /// The authenticator data, not yet parsed.
    pub auth_data: &'a [u8],
}

impl<'a> AttestationObject<'a> {
    /// Parses an attestation object. Keys other than the three are skipped (if well-formed).
    ///
    /// # Errors
    /// [`PasskeyError::MalformedAttestation`] when it is not one definite map with text keys,
    /// each of `fmt` (text), `attStmt` (a map) and `authData` (bytes) exactly once, and nothing
    /// after it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PasskeyError> {
        Self::read(bytes).ok_or(PasskeyError::MalformedAttestation)
    }

    fn read(bytes: &'a [u8]) -> Option<Self> {
        let mut d = Decoder::new(bytes);
        let entries = cbor::definite_map(&mut d).ok()?;
        let (mut fmt, mut statement, mut auth_data) = (None, false, None);
        for _ in 0..entries {
            if d.datatype().ok()? != Type::String {
                return None;
            }
            match d.str().ok()? {
                "fmt" if fmt.is_none() => fmt = Some(d.str().ok()?),
                "attStmt" if !statement => {
                    if d.datatype().ok()? != Type::Map {
                        return None;
                    }
                    cbor::skip_item(&mut d).ok()?;
                    statement = true;
                }
                "authData" if auth_data.is_none() => auth_data = Some(d.bytes().ok()?),
                "fmt" | "attStmt" | "authData" => return None,
                _ => cbor::skip_item(&mut d).ok()?,
            }
        }
        if d.position() != bytes.len() || !statement {
            return None;
        }
        Some(Self {
            fmt: fmt?,
            auth_data: auth_data?,
        })
    }
}
