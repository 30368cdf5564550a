//! Passkeys' core against a software authenticator: every check of WebAuthn L3 §7.1 and §7.2
//! that the contract lists fails on exactly its own tampering, for each algorithm; the counter
//! rule; the signature vectors that the wasm tier runs through WebCrypto; the endpoints over
//! SQLite (`api`). The ceremonies' checks are in `registration` and `authentication`; this file
//! holds the relying party and the verify calls they share.

mod api;
mod authentication;
mod authenticator;
#[path = "../common/mod.rs"]
mod common;
mod registration;
mod vectors;

use authenticator::{
    Assertion, Authenticator, Registration, CHALLENGE, ORIGIN, RP_ID, USER_HANDLE,
};
use edge_auth::app::passkeys::registration::RegistrationCheck;
use edge_auth::app::passkeys::rustcrypto::RustCryptoVerifier;
use edge_auth::app::passkeys::{
    verify_authentication, verify_registration, Algorithm, AuthenticationResponse, NewCredential,
    PasskeyError, RegistrationResponse, RelyingParty, StoredCredential,
};
use futures::executor::block_on;

fn origins() -> Vec<String> {
    vec!["https://other.example.com".into(), ORIGIN.into()]
}

fn register_with(
    r: &Registration,
    algorithms: &[Algorithm],
) -> Result<NewCredential, PasskeyError> {
    let origins = origins();
    let response = RegistrationResponse::from_json(&r.to_json())?;
    verify_registration(
        &response,
        &RegistrationCheck {
            rp: RelyingParty {
                id: RP_ID,
                origins: &origins,
            },
            challenge: &CHALLENGE,
            algorithms,
        },
    )
}

fn register(r: &Registration) -> Result<NewCredential, PasskeyError> {
    register_with(r, &Algorithm::ALL)
}

/// An assertion by `signer`, checked against `stored` (the credential `a` registered, with
/// stored counter `stored_count`).
fn authenticate(
    assertion: &Assertion,
    signer: &Authenticator,
    stored_key: &[u8],
    stored_count: u32,
) -> Result<u32, PasskeyError> {
    let origins = origins();
    let response = AuthenticationResponse::from_json(&assertion.to_json(signer))?;
    let stored = StoredCredential {
        credential_id: &signer.credential_id,
        public_key: stored_key,
        sign_count: stored_count,
        user_handle: &USER_HANDLE,
    };
    let rp = RelyingParty {
        id: RP_ID,
        origins: &origins,
    };
    block_on(verify_authentication(
        &response,
        &stored,
        &rp,
        &CHALLENGE,
        &RustCryptoVerifier,
    ))
    .map(|a| a.sign_count)
}

fn algorithms() -> [Authenticator; 3] {
    Algorithm::ALL.map(|a| Authenticator::new(a, 1))
}
