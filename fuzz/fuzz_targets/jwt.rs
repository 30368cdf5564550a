//! Access tokens: arbitrary input never verifies and never panics.
#![no_main]
use edge_auth::tokens::KeySet;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static KEYS: OnceLock<KeySet> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let keys = KEYS.get_or_init(|| {
        KeySet::from_jwks_json(
            r#"[{"kty":"OKP","crv":"Ed25519","kid":"f","d":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}]"#,
        )
        .unwrap()
    });
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    assert!(keys.verify(text, now, "edge-auth", "edge-auth").is_err());
    let _ = KeySet::from_jwks_json(text);
});
