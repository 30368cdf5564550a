//! Passkey parsing: an attestation object, its authenticator data and COSE key, and an
//! assertion's authenticator data never panic, and what parses holds together: the credential
//! id and key are within the input, of the lengths WebAuthn allows, present exactly when AT is
//! set, and the key is one COSE map that parses on its own.
#![no_main]
use edge_auth::app::passkeys::attestation::AttestationObject;
use edge_auth::app::passkeys::authenticator_data::{
    flags, AuthenticatorData, MAX_CREDENTIAL_ID_LEN,
};
use edge_auth::app::passkeys::cose;
use libfuzzer_sys::fuzz_target;

fn check(auth_data: &[u8]) {
    let Ok(d) = AuthenticatorData::parse(auth_data) else {
        return;
    };
    assert_eq!(d.flags, auth_data[32]);
    assert_eq!(d.attested.is_some(), d.has(flags::AT));
    if let Some(c) = &d.attested {
        assert!((1..=MAX_CREDENTIAL_ID_LEN).contains(&c.credential_id.len()));
        assert!(!c.public_key.is_empty());
        assert!(37 + 18 + c.credential_id.len() + c.public_key.len() <= auth_data.len());
        if let Ok(key) = cose::parse(c.public_key) {
            assert_eq!(
                cose::algorithm_id(c.public_key),
                Ok(key.algorithm().cose_id())
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(o) = AttestationObject::parse(data) {
        assert!(o.auth_data.len() < data.len());
        check(o.auth_data);
    }
    check(data);
    let _ = cose::parse(data);
});
