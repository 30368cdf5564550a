//! Headers: X-Request-Id sanitizing and Authorization parsing.
#![no_main]
use edge_auth::http::{bearer_token, request_id, ApiRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let id = request_id(Some(text));
    assert!((1..=128).contains(&id.len()));
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)));
    let req = ApiRequest::new("GET", "/auth/me").header("authorization", text);
    if let Ok(token) = bearer_token(&req) {
        assert!(!token.is_empty() && text.len() <= 8 * 1024);
    }
});
