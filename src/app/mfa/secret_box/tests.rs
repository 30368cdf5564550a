//! Sealing and opening TOTP secrets, key ids, and key rotation.

use futures::executor::block_on;

use sha2::{Digest, Sha256};

use super::*;
use crate::app::mfa::crypto::RustCrypto;
use crate::app::mfa::known_answers as kat;
use crate::config::MfaKey;

const USER: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER_USER: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

fn key_text(byte: u8) -> String {
    URL_SAFE_NO_PAD.encode([byte; 32])
}

fn keys(current: u8, old: &[u8]) -> MfaKeys {
    let old: Vec<String> = old.iter().map(|b| key_text(*b)).collect();
    MfaKeys::from_config(Some(&key_text(current)), Some(&old.join(","))).unwrap()
}

fn secret() -> TotpSecret {
    TotpSecret::from_bytes(*kat::TOTP_SEED)
}

fn seal_for(keys: &MfaKeys, user: &str) -> String {
    block_on(seal(&RustCrypto, keys, user, &secret())).unwrap()
}

fn open_for(keys: &MfaKeys, user: &str, stored: &str) -> Result<Opened, SecretBoxError> {
    block_on(open(&RustCrypto, keys, user, stored))
}

#[test]
fn a_sealed_secret_opens_for_its_user_and_holds_no_plaintext() {
    let keys = keys(1, &[]);
    let stored = seal_for(&keys, USER);
    let opened = open_for(&keys, USER, &stored).unwrap();
    assert_eq!(opened.secret.expose(), kat::TOTP_SEED);
    assert!(opened.current_key);

    let (prefix, body) = stored.rsplit_once('.').unwrap();
    assert_eq!(prefix, format!("v1.{}", keys.current_id()));
    let body = URL_SAFE_NO_PAD.decode(body).unwrap();
    assert_eq!(body.len(), 12 + 20 + 16);
    assert!(!body.windows(20).any(|w| w == kat::TOTP_SEED));
    assert!(!stored.contains(&secret().to_base32()));
}

#[test]
fn every_seal_draws_a_new_nonce() {
    let keys = keys(1, &[]);
    let (a, b) = (seal_for(&keys, USER), seal_for(&keys, USER));
    assert_ne!(a, b);
    let nonce = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s.rsplit_once('.').unwrap().1)
            .unwrap()[..12]
            .to_vec()
    };
    assert_ne!(nonce(&a), nonce(&b));
}

#[test]
fn a_secret_moved_to_another_users_row_does_not_open() {
    let keys = keys(1, &[]);
    let stored = seal_for(&keys, USER);
    assert_eq!(
        open_for(&keys, OTHER_USER, &stored).unwrap_err(),
        SecretBoxError::Unauthentic
    );
}

#[test]
fn an_altered_sealed_secret_does_not_open() {
    let keys = keys(1, &[]);
    let stored = seal_for(&keys, USER);
    let (prefix, body) = stored.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
    for i in [0, 12, bytes.len() - 1] {
        bytes[i] ^= 0x80;
        let altered = format!("{prefix}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            open_for(&keys, USER, &altered).unwrap_err(),
            SecretBoxError::Unauthentic,
            "byte {i}"
        );
        bytes[i] ^= 0x80;
    }
}

#[test]
fn malformed_stored_forms_are_refused_without_decrypting() {
    let keys = keys(1, &[]);
    let stored = seal_for(&keys, USER);
    let body = stored.rsplit_once('.').unwrap().1;
    let id = keys.current_id();
    for bad in [
        String::new(),
        "v1".into(),
        format!("v1.{id}"),
        format!("v2.{id}.{body}"),
        format!("v1.{id}.{body}="),
        format!("v1.{id}.{}", &body[..body.len() - 4]),
        format!("v1.{id}.{body}AAAA"),
        secret().to_base32(),
    ] {
        assert_eq!(
            open_for(&keys, USER, &bad).unwrap_err(),
            SecretBoxError::Malformed,
            "{bad:?}"
        );
    }
}

#[test]
fn the_key_id_is_derived_from_the_key() {
    let a = MfaKey::from_bytes([1; 32]);
    assert_eq!(a.id(), MfaKey::parse(&key_text(1)).unwrap().id());
    assert_eq!(a.id().len(), 8);
    assert_ne!(a.id(), MfaKey::from_bytes([2; 32]).id());
    // SHA-256("edge-auth mfa key id\0" ‖ key), first 6 bytes in base64url.
    let mut sha = Sha256::new();
    sha.update(b"edge-auth mfa key id\0");
    sha.update([1u8; 32]);
    assert_eq!(a.id(), URL_SAFE_NO_PAD.encode(&sha.finalize()[..6]));
    // What docs/mfa.md's one-liner prints for this key.
    assert_eq!(a.id(), "3GuypzkU");
    assert_eq!(key_id(&seal_for(&keys(1, &[]), USER)), Some(a.id()));
    assert_eq!(key_id("not sealed"), None);
}

#[test]
fn rotation_seals_new_rows_under_the_new_key_and_old_rows_stay_readable() {
    // Before: key 1 alone.
    let before = keys(1, &[]);
    let old_row = seal_for(&before, USER);

    // Step 1: key 2 becomes MFA_ENCRYPTION_KEY, key 1 moves to MFA_ENCRYPTION_OLD_KEYS.
    let during = keys(2, &[1]);
    let opened = open_for(&during, USER, &old_row).unwrap();
    assert_eq!(opened.secret.expose(), kat::TOTP_SEED);
    assert!(!opened.current_key);
    let new_row = seal_for(&during, USER);
    assert_eq!(key_id(&new_row), Some(during.current_id()));
    assert_ne!(key_id(&new_row), key_id(&old_row));
    assert!(open_for(&during, USER, &new_row).unwrap().current_key);

    // Step 2: an opened old row is sealed again under the current key.
    let resealed = block_on(seal(&RustCrypto, &during, USER, &opened.secret)).unwrap();
    assert_eq!(key_id(&resealed), Some(during.current_id()));

    // Step 3: once no row uses key 1, it leaves the list; rows still under it would not open.
    let after = keys(2, &[]);
    assert_eq!(
        open_for(&after, USER, &resealed).unwrap().secret.expose(),
        kat::TOTP_SEED
    );
    assert_eq!(
        open_for(&after, USER, &old_row).unwrap_err(),
        SecretBoxError::UnknownKey(key_id(&old_row).unwrap().into())
    );
}

#[test]
fn the_fixed_vector_is_what_native_sealing_gives() {
    let keys = MfaKeys::from_config(Some(kat::SEALED_KEY), None).unwrap();
    let secret = TotpSecret::from_bytes(*kat::SEALED_SECRET);
    let sealed = block_on(seal_with_nonce(
        &RustCrypto,
        &keys,
        kat::SEALED_USER,
        &secret,
        &kat::SEALED_NONCE,
    ))
    .unwrap();
    assert_eq!(sealed, kat::SEALED);
    let opened = open_for(&keys, kat::SEALED_USER, kat::SEALED).unwrap();
    assert_eq!(opened.secret.expose(), kat::SEALED_SECRET);
}
