//! Request bodies: JSON and form decoding with every content type, then field extraction.
#![no_main]
use edge_auth::http::{body_object, string_field, ApiRequest};
use libfuzzer_sys::fuzz_target;

const TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "text/plain",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let ct = TYPES[selector as usize % TYPES.len()];
    let req = ApiRequest::new("POST", "/auth/login")
        .header("content-type", ct)
        .body(body.to_vec());
    if let Ok(map) = body_object(&req, selector & 0x80 != 0) {
        for field in ["email", "password", "username", "refresh_token", "token"] {
            let _ = string_field(&map, field);
        }
    }
});
