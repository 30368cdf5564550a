//! Recovery codes: how they are typed, their single use, and a new set.

use crate::common::{assert_problem, NOW_MS};
use crate::{amr_of, code, enrolled, harness, mfa_token, post, verify_at, ALICE, STEP_MS};
use serde_json::json;

#[test]
fn recovery_codes_ignore_case_spaces_and_dashes_and_work_once() {
    let h = harness();
    let (_, _, codes) = enrolled(&h);
    let typed = codes[3].replace('-', " ").to_uppercase();
    let t = mfa_token(&h, NOW_MS);
    let ok = verify_at(&h, json!({"mfa_token": t, "recovery_code": typed}), NOW_MS);
    assert_eq!(ok.status, 200, "{}", ok.body_json());
    assert_eq!(
        amr_of(&h, ok.body_json()["access_token"].as_str().unwrap(), NOW_MS),
        json!(["pwd", "mfa"])
    );
    let mail = h.inbox(ALICE).last().unwrap().clone();
    assert_eq!(mail.subject, "A recovery code was used");
    assert!(mail.text.contains("(9 left)"), "{}", mail.text);
    let t = mfa_token(&h, NOW_MS);
    let spent = verify_at(
        &h,
        json!({"mfa_token": t, "recovery_code": codes[3]}),
        NOW_MS,
    );
    assert_problem(&spent, 401, "invalid_mfa_code");
}

#[test]
fn new_recovery_codes_need_a_totp_code_and_void_the_old_set() {
    let h = harness();
    let (token, secret, codes) = enrolled(&h);
    let at = NOW_MS + STEP_MS;
    let r = h.send_at(
        post(
            "/auth/mfa/recovery-codes",
            Some(&token),
            json!({"code": codes[0]}),
        ),
        at,
    );
    assert_problem(&r, 401, "invalid_mfa_code");
    let r = h.send_at(
        post(
            "/auth/mfa/recovery-codes",
            Some(&token),
            json!({"code": code(&secret, at)}),
        ),
        at,
    );
    assert_eq!(r.status, 200);
    let fresh = r.body_json()["recovery_codes"].clone();
    assert_eq!(fresh.as_array().unwrap().len(), 10);
    let t = mfa_token(&h, at);
    let old = verify_at(&h, json!({"mfa_token": t, "recovery_code": codes[1]}), at);
    assert_problem(&old, 401, "invalid_mfa_code");
    let new = verify_at(&h, json!({"mfa_token": t, "recovery_code": fresh[0]}), at);
    assert_eq!(new.status, 200);
}
