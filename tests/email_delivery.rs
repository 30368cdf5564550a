//! The mail queue (contract v2, "Email delivery"): forgot's request path does the same work
//! for a known and an unknown address, and the queue's consumer, fed the jobs, looks the account
//! up, applies the cap, makes the token and sends, retrying what failed; no token in a job or
//! a log line. Over the SQLite store, with the queue and the mailer faked.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::email::*;
use common::*;
use edge_auth::app::mail::Outcome;
use edge_auth::http::ApiRequest;
use serde_json::{json, Value};

#[test]
fn forgot_answers_known_and_unknown_addresses_alike_and_mails_only_the_account() {
    let h = registered();
    h.hold_queue.set(true);
    let request_path = |email: &str, rid: &str| {
        let (before, rows) = (h.users.calls.get(), h.users.email_requests());
        let (counts, sends) = (h.users.counts(), h.users.email_sends());
        let r = h.send(
            ApiRequest::new("POST", "/auth/password/forgot")
                .header("x-request-id", rid)
                .json(&json!({ "email": email })),
        );
        // Both write a request row, so both commit a write (an unknown address that wrote
        // nothing would answer measurably faster), and nothing else: no token, no count of
        // sent emails; the account is first looked up by the queue's consumer.
        assert_eq!(h.users.email_requests(), rows + 1, "{email}");
        assert_eq!(
            h.users.email_requests_of(email, "password_reset"),
            Some((1, NOW_MS))
        );
        assert_eq!(
            (h.users.counts(), h.users.email_sends()),
            (counts, sends),
            "{email}"
        );
        (r, h.users.calls.get() - before)
    };
    let (known, known_calls) = request_path(ALICE, "rid-known");
    let (unknown, unknown_calls) = request_path("nobody@example.com", "rid-unknown");
    assert_eq!(known.status, 202);
    assert_eq!(unknown.status, 202);
    assert_eq!(known.body, unknown.body);
    assert_eq!(known.get_header("cache-control"), Some("no-store"));
    assert_eq!(
        known_calls, unknown_calls,
        "the same database round trips either way"
    );
    assert_eq!(known_calls, 1);
    // One job each, the same but for the address and the request id, and no token in either.
    let jobs: Vec<Value> = h
        .queue
        .jobs
        .borrow()
        .iter()
        .map(|j| serde_json::to_value(j).unwrap())
        .collect();
    let expected =
        |to: &str, rid: &str| json!({"kind": "password_reset", "to": to, "request_id": rid});
    assert_eq!(
        jobs,
        [
            expected(ALICE, "rid-known"),
            expected("nobody@example.com", "rid-unknown")
        ]
    );
    assert_eq!(
        subjects(&h, ALICE),
        ["Verify your email address"],
        "nothing is sent on the request path"
    );

    // The consumer looks the address up: a token and a mail for the account, a log line (with
    // the address redacted) and nothing else for the unknown address.
    assert_eq!(h.consume_at(NOW_MS), [Outcome::Sent, Outcome::NotSent]);
    assert!(h.inbox("nobody@example.com").is_empty());
    let not_issued = h.events("email_token_not_issued");
    assert_eq!(not_issued.len(), 1);
    assert_eq!(not_issued[0]["reason"], "unknown_email");
    assert_eq!(not_issued[0]["email"], "n***@example.com");
    assert_eq!(not_issued[0]["origin_request_id"], "rid-unknown");
    let issued = h.events("email_token_issued");
    assert_eq!(issued.last().unwrap()["origin_request_id"], "rid-known");
    let mail = h.inbox(ALICE).pop().unwrap();
    assert_eq!(mail.subject, "Reset your password");
    assert_eq!(mail.from, "noreply@example.com");
    let link = link(&mail);
    assert!(
        link.starts_with(&format!("{ORIGIN}/reset-password?token=")),
        "{link}"
    );
    assert_eq!(token_of(&link).len(), 43, "256 bits, base64url");
    assert!(mail.html.contains(&link));
    assert!(!serde_json::to_string(&*h.logs.borrow())
        .unwrap()
        .contains("nobody@example.com"));
    // The email is normalized as at registration.
    h.hold_queue.set(false);
    assert_eq!(forgot(&h, "  ALICE@Example.com ").status, 202);
    assert_eq!(h.inbox(ALICE).len(), 3, "verification + two resets");
}

#[test]
fn the_consumer_retries_a_job_while_the_database_is_unavailable() {
    let h = registered();
    h.hold_queue.set(true);
    assert_eq!(forgot(&h, ALICE).status, 202);
    h.users.fail.set(true);
    assert_eq!(h.consume_at(NOW_MS), [Outcome::Retry]);
    assert_eq!(h.queue.jobs.borrow().len(), 1, "the message stays queued");
    assert_eq!(subjects(&h, ALICE), ["Verify your email address"]);
    let failed = h.events("email_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (&failed[0]["stage"], &failed[0]["retry"]),
        (&json!("token"), &json!(true))
    );
    assert_eq!(failed[0]["to"], "a***@example.com");
    // The queue delivers it again once the database is back.
    h.users.fail.set(false);
    assert_eq!(h.consume_at(NOW_MS + 30_000), [Outcome::Sent]);
    assert!(h.queue.jobs.borrow().is_empty());
    let token = reset_token(&h, ALICE);
    assert_eq!(
        reset_at(&h, &token, NEW_PASSWORD, NOW_MS + 60_000).status,
        204
    );
}

#[test]
fn a_retried_job_makes_a_fresh_token_that_voids_the_one_whose_mail_failed() {
    let h = registered();
    h.hold_queue.set(true);
    forgot(&h, ALICE);
    let reset_hashes = |h: &Harness| -> Vec<String> {
        h.users
            .email_tokens()
            .iter()
            .filter(|(_, t)| t.purpose == "password_reset" && t.used_at_ms.is_none())
            .map(|(hash, _)| hash.clone())
            .collect()
    };
    h.mailer.fail.set(true);
    assert_eq!(h.consume_at(NOW_MS), [Outcome::Retry]);
    let first = reset_hashes(&h);
    assert_eq!(first.len(), 1, "stored before the send failed");
    h.mailer.fail.set(false);
    assert_eq!(h.consume_at(NOW_MS + 30_000), [Outcome::Sent]);
    let second = reset_hashes(&h);
    assert_eq!(second.len(), 1, "never two usable tokens");
    assert_ne!(first, second);
    let token = reset_token(&h, ALICE);
    assert_eq!(
        reset_at(&h, &token, NEW_PASSWORD, NOW_MS + 60_000).status,
        204
    );
}

/// A job whose sends keep failing is retried until the queue gives up (then it goes to the
/// dead-letter queue): its own deliveries count once toward the hourly cap, so they never reach
/// it. Counted per delivery, the cap's sixth delivery was acknowledged as capped instead.
#[test]
fn a_job_whose_sends_keep_failing_counts_once_and_is_retried_every_time() {
    let h = registered();
    h.hold_queue.set(true);
    forgot(&h, ALICE);
    h.mailer.fail.set(true);
    let deliveries = h.config.email.max_per_hour + 3;
    for i in 0..deliveries {
        let outcome = h.consume_at(NOW_MS + i64::from(i) * 30_000);
        assert_eq!(outcome, [Outcome::Retry], "delivery {i}");
    }
    assert_eq!(h.events("email_failed").len(), deliveries as usize);
    assert!(h.events("email_capped").is_empty());
    let resets = |h: &Harness| -> Vec<u32> {
        let sends = h.users.email_sends().into_iter();
        sends
            .filter(|s| s.1 == "password_reset")
            .map(|s| s.2)
            .collect()
    };
    assert_eq!(resets(&h), [1]);
    // The job goes out at last (counted already); another request's job is another message.
    h.mailer.fail.set(false);
    forgot(&h, ALICE);
    let outcomes = h.consume_at(NOW_MS + 600_000);
    assert_eq!(outcomes, [Outcome::Sent, Outcome::Sent]);
    assert_eq!(resets(&h), [2]);
}

/// Jobs queued by an earlier version carried their link's origin (`link_base`), taken from
/// the request's Host unless `APP_URL` was set, or the whole link: the origin is this Worker's
/// configuration all the same.
#[test]
fn a_job_queued_by_an_earlier_version_gets_a_link_on_the_configured_origin_only() {
    let h = registered();
    let queue = |job: Value| {
        h.queue
            .jobs
            .borrow_mut()
            .push(serde_json::from_value(job).unwrap())
    };
    queue(json!({"kind": "password_reset", "to": ALICE,
                 "link_base": "https://attacker.example", "request_id": "old-base"}));
    assert_eq!(h.consume_at(NOW_MS), [Outcome::Sent]);
    let made = link(&h.inbox(ALICE).pop().unwrap());
    assert!(
        made.starts_with(&format!("{ORIGIN}/reset-password?token=")),
        "{made}"
    );
    // A link made with its token by an earlier version: sent as it is on the configured
    // origin, dropped (and logged) on any other.
    let ours = format!("{ORIGIN}/reset-password?token=abc");
    queue(json!({"kind": "password_reset", "to": ALICE, "link": ours,
                 "valid_for_secs": 1800, "request_id": "old-link"}));
    queue(json!({"kind": "password_reset", "to": ALICE,
                 "link": "https://attacker.example/reset-password?token=def",
                 "valid_for_secs": 1800, "request_id": "old-foreign"}));
    assert_eq!(h.consume_at(NOW_MS), [Outcome::Sent, Outcome::NotSent]);
    let sent: Vec<String> = h.inbox(ALICE).iter().map(link).collect();
    assert_eq!(sent.last().unwrap(), &ours);
    assert!(!sent.iter().any(|l| l.contains("attacker.example")));
    let dropped = h.events("email_dropped");
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0]["origin_request_id"], "old-foreign");
    assert_eq!(dropped[0]["level"], "error");
}

/// Neither `APP_URL` nor `PUBLIC_URL`: no link can be made without guessing a host, so none
/// is: nothing is queued, the answers are the same, and each email not sent is an error line.
#[test]
fn without_a_configured_origin_no_link_is_queued_or_sent() {
    let h = Harness::with_config(config_with(&[("PUBLIC_URL", "")]));
    assert_eq!(h.config.email.link_origin(), None);
    assert_eq!(h.register(ALICE, PASSWORD).status, 201);
    assert_eq!(forgot(&h, ALICE).status, 202);
    let access = h.token(ALICE);
    assert_eq!(ask_verification(&h, &access).status, 202);
    assert!(h.queue.jobs.borrow().is_empty());
    assert!(h.events("email_queued").is_empty());
    assert!(h.mailer.sent.borrow().is_empty());
    let lines = h.events("mail_link_unconfigured");
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["email_verification", "password_reset", "email_verification"]
    );
    assert!(lines.iter().all(|l| l["level"] == "error"));
    // A job already queued (by a Worker that had an origin) is not sent either.
    h.queue.jobs.borrow_mut().push(
        serde_json::from_value(json!({"kind": "password_reset", "to": ALICE, "request_id": "q"}))
            .unwrap(),
    );
    assert_eq!(h.consume_at(NOW_MS), [Outcome::NotSent]);
    assert_eq!(h.events("mail_link_unconfigured").len(), 4);
    assert!(h.mailer.sent.borrow().is_empty());
    // The notice of a password change has no link: it goes out.
    let r = h.send(
        ApiRequest::new("POST", "/auth/password/change")
            .header("authorization", &format!("Bearer {access}"))
            .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
    );
    assert_eq!(r.status, 204);
    assert_eq!(subjects(&h, ALICE), ["Your password was changed"]);
}

#[test]
fn no_token_reaches_a_log_line_even_when_sending_fails() {
    let h = registered();
    forgot(&h, ALICE);
    h.mailer.fail.set(true);
    forgot(&h, ALICE);
    h.mailer.fail.set(false);
    assert_eq!(h.events("email_failed").len(), 1);
    assert_eq!(h.events("email_sent").len(), 2);
    // The failed job is the last one queued: its token is in the failure's cause, scrubbed.
    let failed = &h.events("email_failed")[0];
    assert!(failed["cause"].as_str().unwrap().contains("[redacted]"));
    let tokens: Vec<String> = h.inbox(ALICE).iter().map(|m| token_of(&link(m))).collect();
    let logs = serde_json::to_string(&*h.logs.borrow()).unwrap();
    for t in &tokens {
        assert!(!logs.contains(t.as_str()), "token in the logs");
    }
    assert!(
        !logs.contains("alice@example.com"),
        "only redacted addresses"
    );
}

#[test]
fn a_queue_failure_never_fails_the_request() {
    let h = registered();
    h.queue.fail.set(true);
    assert_eq!(forgot(&h, ALICE).status, 202);
    assert_eq!(h.events("email_queue_failed").len(), 1);
    assert_eq!(subjects(&h, ALICE), ["Verify your email address"]);
}
