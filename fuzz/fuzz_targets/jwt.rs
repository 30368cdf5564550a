//! Access tokens: arbitrary input never verifies and never panics.
#![no_main]
use edge_auth::tokens::signer::CompactKeys;
use libfuzzer_sys::fuzz_target;
use std::future::Future;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

type KeySet = edge_auth::tokens::KeySet<CompactKeys>;

static KEYS: OnceLock<KeySet> = OnceLock::new();

/// Runs a future of the native key backend, which never waits (RustCrypto computes in place).
fn at_once<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the native key backend does not wait"),
    }
}

fuzz_target!(|data: &[u8]| {
    let keys = KEYS.get_or_init(|| {
        let keys = KeySet::from_jwks_json(
            r#"[{"kty":"OKP","crv":"Ed25519","kid":"f","d":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}]"#,
        )
        .unwrap();
        at_once(keys.ready()).unwrap();
        keys
    });
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    assert!(at_once(keys.verify(text, now, "edge-auth", "edge-auth")).is_err());
    let _ = KeySet::from_jwks_json(text);
});
