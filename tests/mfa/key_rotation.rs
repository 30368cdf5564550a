//! A new `MFA_ENCRYPTION_KEY` with the old one in `MFA_ENCRYPTION_OLD_KEYS` (docs/mfa.md).

use crate::common::{config_with, Harness, NOW_MS};
use crate::{code, enrolled, harness, mfa_token, verify_at, ALICE, KEY, NEW_KEY, STEP_MS};
use edge_auth::app::mfa::secret_box;
use edge_auth::config::MfaKey;
use futures::executor::block_on;
use serde_json::json;

#[test]
fn a_row_under_an_old_key_opens_and_is_resealed_under_the_new_key_when_next_used() {
    // The rotation procedure of docs/mfa.md: the new key becomes MFA_ENCRYPTION_KEY and the
    // old one moves to MFA_ENCRYPTION_OLD_KEYS, in one deployment.
    let h = harness();
    let (_, secret, _) = enrolled(&h);
    let sealed = || -> String {
        let user = h.users.get(ALICE).unwrap();
        block_on(edge_auth::store::MfaStore::totp_state(&*h.users, &user.id))
            .unwrap()
            .unwrap()
            .sealed_secret
            .unwrap()
    };
    let old_id = MfaKey::parse(KEY).unwrap().id().to_owned();
    let new_id = MfaKey::parse(NEW_KEY).unwrap().id().to_owned();
    assert_eq!(secret_box::key_id(&sealed()), Some(old_id.as_str()));
    let rotated = h.elsewhere(config_with(&[
        ("MFA_ENCRYPTION_KEY", NEW_KEY),
        ("MFA_ENCRYPTION_OLD_KEYS", KEY),
    ]));
    let at = NOW_MS + STEP_MS;
    logs_in_with_a_code(&rotated, &secret, at);
    assert_eq!(secret_box::key_id(&sealed()), Some(new_id.as_str()));
    // With the old key removed, the row still opens: it was moved.
    let only_new = h.elsewhere(config_with(&[("MFA_ENCRYPTION_KEY", NEW_KEY)]));
    logs_in_with_a_code(&only_new, &secret, at + STEP_MS);
}

/// A login's two halves at `at`: the password, then the TOTP code of `secret`.
fn logs_in_with_a_code(h: &Harness, secret: &str, at: i64) {
    let t = mfa_token(h, at);
    let ok = verify_at(h, json!({"mfa_token": t, "code": code(secret, at)}), at);
    assert_eq!(ok.status, 200, "{}", ok.body_json());
}
