//! `make import` takes only the addresses registration takes: a row whose email is not a plain
//! address (a display name, a list, a quoted string) is refused with its reason, and the rest of
//! the source goes in.
#![cfg(not(target_arch = "wasm32"))]

use edge_auth::import::{plan, IdMap, SourceRow};
use edge_auth::password::HashBounds;

const BCRYPT: &str = "$2b$04$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC";

fn row(n: usize, email: &str) -> SourceRow {
    SourceRow {
        row: n,
        email: Some(email.into()),
        hash: Some(BCRYPT.into()),
        ..SourceRow::default()
    }
}

#[test]
fn rows_whose_email_is_not_a_plain_address_are_refused_with_the_reason() {
    let rows = vec![
        row(1, "victim<attacker@evil.example>"),
        row(2, "a,b@example.com"),
        row(3, "x\"y@example.com"),
        row(4, "ok@example.com"),
        row(5, "x@-bad-.example"),
    ];
    let bounds = HashBounds {
        pbkdf2_max_iterations: 10_000_000,
        bcrypt_max_cost: 13,
    };
    let mut n = 0;
    let p = plan(
        &rows,
        &bounds,
        &mut IdMap::default(),
        "2026-11-26T12:00:00.000Z",
        || {
            n += 1;
            format!("00000000-0000-4000-8000-{n:012}")
        },
    );
    let imported: Vec<&str> = p.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(imported, ["ok@example.com"]);
    let refused: Vec<(usize, &str)> = p
        .refused
        .iter()
        .map(|r| (r.row, r.reason.as_str()))
        .collect();
    assert_eq!(
        refused.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3, 5]
    );
    for (row, reason) in refused {
        assert!(
            reason.starts_with("invalid email (invalid_email): "),
            "row {row}: {reason}"
        );
    }
}
