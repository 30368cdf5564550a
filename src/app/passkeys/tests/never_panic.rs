//! Property tests: no input makes a parser panic.

use proptest::prelude::*;

use super::{attestation, auth_data, bytes, cose_key, good_entries, p256_key, text};
use crate::app::passkeys::attestation::AttestationObject;
use crate::app::passkeys::authenticator_data::AuthenticatorData;
use crate::app::passkeys::cose;
use crate::app::passkeys::signature::der_to_raw_p256;

proptest! {
    #[test]
    fn the_parsers_never_panic(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = AttestationObject::parse(&input);
        let _ = AuthenticatorData::parse(&input);
        let _ = cose::parse(&input);
        let _ = der_to_raw_p256(&input);
    }

    #[test]
    fn mutated_attestation_objects_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
    ) {
        let key = cose_key(&p256_key());
        let mut d = auth_data();
        d[32] |= 0x40;
        d.extend([0; 16]);
        d.extend([0, 1, 9]);
        d.extend(&key);
        let mut o = attestation(&[good_entries()[0].clone(), good_entries()[1].clone(), (text("authData"), bytes(&d))]);
        for (at, value) in flips {
            let i = at.index(o.len());
            o[i] = value;
        }
        if let Ok(parsed) = AttestationObject::parse(&o) {
            if let Ok(data) = AuthenticatorData::parse(parsed.auth_data) {
                if let Some(c) = data.attested {
                    let _ = cose::parse(c.public_key);
                }
            }
        }
    }
}
