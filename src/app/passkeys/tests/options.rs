//! The options' WebAuthn JSON forms.

use serde_json::json;

use crate::app::passkeys::options::{
    creation_options, request_options, CredentialDescriptor, RegistrationUser,
};

#[test]
fn creation_options_are_the_webauthn_json_form() {
    let options = creation_options(
        "example.com",
        "Example",
        RegistrationUser {
            handle: &[0xfb; 3],
            email: "ada@example.com",
        },
        &[0xff; 32],
        vec![
            CredentialDescriptor::new(&[1, 2], vec!["internal".into()]),
            CredentialDescriptor::new(&[3], vec![]),
        ],
    );
    let challenge = "_".repeat(42) + "8";
    assert_eq!(
        serde_json::to_value(&options).unwrap(),
        json!({"publicKey": {
            "rp": {"id": "example.com", "name": "Example"},
            "user": {"id": "-_v7", "name": "ada@example.com", "displayName": "ada@example.com"},
            "challenge": challenge,
            "pubKeyCredParams": [
                {"type": "public-key", "alg": -8},
                {"type": "public-key", "alg": -7},
                {"type": "public-key", "alg": -257},
            ],
            "excludeCredentials": [
                {"type": "public-key", "id": "AQI", "transports": ["internal"]},
                {"type": "public-key", "id": "Aw"},
            ],
            "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
            "attestation": "none",
        }})
    );
}

#[test]
fn request_options_are_the_webauthn_json_form() {
    assert_eq!(
        serde_json::to_value(request_options("example.com", &[0; 32])).unwrap(),
        json!({"publicKey": {
            "challenge": "A".repeat(43),
            "rpId": "example.com",
            "userVerification": "required",
            "allowCredentials": [],
        }})
    );
}
