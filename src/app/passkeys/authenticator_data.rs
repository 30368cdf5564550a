//! Authenticator data (WebAuthn L3 §6.1): `rpIdHash`, flags, the signature counter, then the
//! attested credential data when AT is set and an extensions map when ED is set, and nothing
//! after them.

use minicbor::Decoder;

use super::cbor;
use super::PasskeyError;

/// The flags of byte 32.
pub mod flags {
    /// User present.
    pub const UP: u8 = 0x01;
    /// User verified.
    pub const UV: u8 = 0x04;
    /// Backup eligible.
    pub const BE: u8 = 0x08;
    /// Backed up (backup state).
    pub const BS: u8 = 0x10;
    /// Attested credential data included.
    pub const AT: u8 = 0x40;
    /// Extension data included.
    pub const ED: u8 = 0x80;
}

/// The longest credential id a relying party accepts (L3 §7.1: "at most 1023 bytes").
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// The credential an authenticator attests to at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential<'a> {
    /// The authenticator's model, all zeros under `attestation: "none"`.
    pub aaguid: [u8; 16],
    /// The credential id (1 to [`MAX_CREDENTIAL_ID_LEN`] bytes).
    pub credential_id: &'a [u8],
    /// The public key, a COSE_Key: the exact bytes of one well-formed CBOR map.
    pub public_key: &'a [u8],
}

/// Authenticator data, borrowed from the bytes it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData<'a> {
    /// SHA-256 of the RP ID the authenticator scoped the credential to.
    pub rp_id_hash: [u8; 32],
    /// The flags byte (see [`flags`]).
    pub flags: u8,
    /// The signature counter (0 for an authenticator that keeps none).
    pub sign_count: u32,
    /// Present exactly when AT is set.
    pub attested: Option<AttestedCredential<'a>>,
}

impl<'a> AuthenticatorData<'a> {
    /// Parses authenticator data.
    ///
    /// # Errors
    /// [`PasskeyError::MalformedAuthenticatorData`] for anything but exactly the 37-byte header,
    /// the parts its flags announce, and no more.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PasskeyError> {
        const BAD: PasskeyError = PasskeyError::MalformedAuthenticatorData;
        let (rp_id_hash, rest) = split::<32>(bytes).ok_or(BAD)?;
        let ([flags], rest) = split::<1>(rest).ok_or(BAD)?;
        let (counter, mut rest) = split::<4>(rest).ok_or(BAD)?;
        let attested = if flags & flags::AT != 0 {
            let (aaguid, after) = split::<16>(rest).ok_or(BAD)?;
            let (len, after) = split::<2>(after).ok_or(BAD)?;
            let len = usize::from(u16::from_be_bytes(len));
            if len == 0 || len > MAX_CREDENTIAL_ID_LEN || after.len() < len {
                return Err(BAD);
            }
            let (credential_id, after) = after.split_at(len);
            let key_len = one_map(after).ok_or(BAD)?;
            let (public_key, after) = after.split_at(key_len);
            rest = after;
            Some(AttestedCredential {
                aaguid,
                credential_id,
                public_key,
            })
        } else {
            None
        };
        if flags & flags::ED != 0 {
            let len = one_map(rest).ok_or(BAD)?;
            rest = rest.get(len..).ok_or(BAD)?;
        }
        if !rest.is_empty() {
            return Err(BAD);
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count: u32::from_be_bytes(counter),
            attested,
        })
    }

    /// Whether every bit of `flag` is set.
    #[must_use]
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// The first `N` bytes as an array, and the rest.
fn split<const N: usize>(bytes: &[u8]) -> Option<([u8; N], &[u8])> {
    let head = bytes.get(..N)?;
    Some((head.try_into().ok()?, bytes.get(N..)?))
}

/// The length of the well-formed CBOR map at the start of `bytes` (more bytes may follow).
fn one_map(bytes: &[u8]) -> Option<usize> {
    let mut d = Decoder::new(bytes);
    if !matches!(d.datatype(), Ok(minicbor::data::Type::Map)) {
        return None;
    }
    cbor::skip_item(&mut d).ok()?;
    Some(d.position())
}
