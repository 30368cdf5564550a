//! Request bodies: JSON and form decoding with every content type, then field extraction.
#![no_main]
use edge_auth::http::ApiRequest;
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
    let _ = req.parse_with(selector & 0x80 != 0, |f| {
        let read: Vec<_> = ["email", "password", "username", "refresh_token", "token"]
            .into_iter()
            .map(|field| f.text(field))
            .collect();
        Ok(read.into_iter().collect::<Option<Vec<_>>>())
    });
});
