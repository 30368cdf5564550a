//! Authenticator data and its attested credential.

use super::{auth_data, bytes, head};
use crate::app::passkeys::authenticator_data::AuthenticatorData;
use crate::app::passkeys::PasskeyError;

#[test]
fn authenticator_data_shorter_than_its_fixed_part_or_its_flags_announce_is_malformed() {
    let d = auth_data();
    for len in 0..d.len() {
        assert_eq!(
            AuthenticatorData::parse(&d[..len]),
            Err(PasskeyError::MalformedAuthenticatorData)
        );
    }
    assert_eq!(AuthenticatorData::parse(&d).unwrap().sign_count, 1);

    // AT set: aaguid, id length, id, then a COSE map; each cut short.
    let key = [head(5, 1), head(0, 3), head(1, 7)].concat();
    let mut attested = d.clone();
    attested[32] |= 0x40;
    attested.extend([0; 16]);
    attested.extend([0, 2, 9, 9]);
    attested.extend(&key);
    let parsed = AuthenticatorData::parse(&attested).unwrap();
    let credential = parsed.attested.unwrap();
    assert_eq!(credential.credential_id, [9, 9]);
    assert_eq!(credential.public_key, key);
    for len in d.len()..attested.len() {
        assert_eq!(
            AuthenticatorData::parse(&attested[..len]),
            Err(PasskeyError::MalformedAuthenticatorData),
            "{len}"
        );
    }
}

#[test]
fn credential_ids_of_zero_or_more_than_1023_bytes_are_malformed() {
    let key = [head(5, 1), head(0, 3), head(1, 7)].concat();
    let with_id = |len: usize| {
        let mut d = auth_data();
        d[32] |= 0x40;
        d.extend([0; 16]);
        d.extend((len as u16).to_be_bytes());
        d.extend(vec![1; len]);
        d.extend(&key);
        d
    };
    assert!(AuthenticatorData::parse(&with_id(1023)).is_ok());
    for len in [0, 1024, 0xffff] {
        assert_eq!(
            AuthenticatorData::parse(&with_id(len)),
            Err(PasskeyError::MalformedAuthenticatorData)
        );
    }
}

#[test]
fn a_credential_key_that_is_not_a_map_is_malformed() {
    for key in [head(4, 0), bytes(&[1]), vec![0xbf, 0xff]] {
        let mut d = auth_data();
        d[32] |= 0x40;
        d.extend([0; 16]);
        d.extend([0, 1, 9]);
        d.extend(&key);
        assert_eq!(
            AuthenticatorData::parse(&d),
            Err(PasskeyError::MalformedAuthenticatorData)
        );
    }
}
