//! The keys' configuration: their text, their list, and errors that never show a key.

use super::*;

fn key_text(byte: u8) -> String {
    URL_SAFE_NO_PAD.encode([byte; 32])
}

fn keys(current: u8, old: &[u8]) -> MfaKeys {
    let old: Vec<String> = old.iter().map(|b| key_text(*b)).collect();
    MfaKeys::from_config(Some(&key_text(current)), Some(&old.join(","))).unwrap()
}

#[test]
fn key_configuration_errors_name_the_variable_never_the_key() {
    let short = URL_SAFE_NO_PAD.encode([7u8; 31]);
    let not_base64 = "this is not base64url at all!!!!!!!!!!!!!!!";
    assert_eq!(
        MfaKeys::from_config(None, None).unwrap_err(),
        KeyConfigError::Missing
    );
    assert_eq!(
        MfaKeys::from_config(Some("  "), None).unwrap_err(),
        KeyConfigError::Missing
    );
    let err = MfaKeys::from_config(Some(&short), None).unwrap_err();
    assert_eq!(err, KeyConfigError::Current(InvalidKey));
    assert_eq!(
        err.to_string(),
        "MFA_ENCRYPTION_KEY is not 32 bytes of base64url"
    );
    let old = format!("{},{not_base64}", key_text(3));
    let err = MfaKeys::from_config(Some(&key_text(1)), Some(&old)).unwrap_err();
    assert_eq!(err, KeyConfigError::Old(2, InvalidKey));
    let message = format!("{err} {err:?}");
    assert_eq!(
        err.to_string(),
        "MFA_ENCRYPTION_OLD_KEYS: entry 2 is not 32 bytes of base64url"
    );
    assert!(!message.contains("this is not"));
    // Neither a key set nor a key shows its bytes.
    let keys = keys(1, &[3]);
    let shown = format!("{keys:?}");
    assert!(!shown.contains(&key_text(1)) && !shown.contains(&key_text(3)));
    assert!(shown.contains(keys.current_id()));
}

#[test]
fn keys_are_read_padded_or_not_and_list_entries_are_trimmed() {
    let padded = base64::engine::general_purpose::URL_SAFE.encode([5u8; 32]);
    assert!(padded.ends_with('='));
    let key = MfaKey::parse(&format!(" {padded}\n")).unwrap();
    assert_eq!(key.id(), MfaKey::from_bytes([5; 32]).id());
    // Standard base64's `+` and `/` are not base64url.
    let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode([0xfb; 32]);
    assert!(standard.contains('+') || standard.contains('/'));
    assert_eq!(MfaKey::parse(&standard).unwrap_err(), InvalidKey);

    let list = format!(" {} , ,{}", key_text(2), key_text(1));
    let keys = MfaKeys::from_config(Some(&key_text(1)), Some(&list)).unwrap();
    // The current key listed as old too is kept once.
    assert_eq!(keys.old.len(), 1);
    assert_eq!(keys.old[0].id(), MfaKey::from_bytes([2; 32]).id());
}
