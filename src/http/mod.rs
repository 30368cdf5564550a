//! Framework-free HTTP types: the request the core handles, the response it returns, the
//! bearer token and the request id. The per-request context is in `context`, the one reader of
//! request bodies in `body`, problem rendering in `problem`, and the OAuth token-endpoint
//! conventions in `oauth`.

mod body;
mod context;
pub mod error;
pub mod oauth;
mod problem;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde_json::Value;

use crate::http::error::{AppError, TokenRejection};

pub use body::{parse_form, AnyObject, Body, Fields};
pub use context::{Ctx, IfSome, LogValue, ToLog};
pub use problem::{problem_response, render};

/// Request bodies over this many bytes get `413` before anything is parsed or hashed.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// `Authorization` headers over this many bytes are refused before parsing.
pub const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;
const MAX_REQUEST_ID_LEN: usize = 128;

/// An HTTP request as the core sees it. Header names are lower-case.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    /// The query string, without its `?` (empty when there is none).
    pub query: String,
    pub headers: Vec<(String, String)>,
    /// The body, or `PayloadTooLarge` when the edge stopped reading it at the limit.
    pub body: Result<Vec<u8>, BodyTooLarge>,
    /// The origin (`scheme://host[:port]`) of the request's URL: the passkeys' relying party
    /// when `WEBAUTHN_*` and `APP_URL` are unset. Empty when unknown.
    pub origin: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTooLarge;

impl ApiRequest {
    /// A request for `target`: a path, and after a `?` its query.
    pub fn new(method: &str, target: &str) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Ok(Vec::new()),
            origin: String::new(),
        }
    }

    pub fn origin(mut self, origin: &str) -> Self {
        origin.clone_into(&mut self.origin);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn json(self, body: &Value) -> Self {
        let mut req = self.header("content-type", "application/json");
        req.body = Ok(body.to_string().into_bytes());
        req
    }

    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        self.body = if bytes.len() > MAX_BODY_BYTES {
            Err(BodyTooLarge)
        } else {
            Ok(bytes)
        };
        self
    }

    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP response as the core produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// `body` serialized straight to the response's bytes: a documented type is written as
    /// itself, never built as a `Value` first.
    pub fn json(status: u16, body: &(impl serde::Serialize + ?Sized)) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec()),
        }
    }

    /// A JSON body that is already text (a document generated at build time).
    pub fn json_text(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_header(name, value);
        self
    }

    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
    }

    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A way to give the event loop a turn: long CPU work (a password hash) awaits it between
/// slices so that other requests sharing the isolate run in between. The Worker passes a
/// zero-delay timer; without one (native tests) a pause is a no-op.
pub type Pause = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>;

/// A pause for native code and tests: pending once (after asking to be polled again), then
/// ready, so an executor runs other tasks in between, as a zero-delay timer lets the Worker's
/// other requests run.
pub fn yield_once() -> YieldOnce {
    YieldOnce(false)
}

/// See [`yield_once`].
pub struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

/// A running clock in milliseconds since the Unix epoch (the Worker passes `Date::now`). It only
/// times what the request waits for (its duration, its database round trips); every decision
/// still uses `now_ms`, the time the request arrived.
pub type Clock = Rc<dyn Fn() -> i64>;

/// The origin (`scheme://authority`) of an absolute URL (`https://host:1/a?q` → `https://host:1`).
pub fn origin_of_url(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// The path of an absolute URL as the runtime serializes it (`https://host/a/b?q#f` → `/a/b`).
pub fn path_of_url(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let Some(start) = rest.find(['/', '?', '#']) else {
        return "/";
    };
    let path = &rest[start..];
    let end = path.find(['?', '#']).unwrap_or(path.len());
    if end == 0 {
        "/"
    } else {
        &path[..end]
    }
}

/// The query string of a request URL, without its `?` and any fragment.
pub fn query_of_url(url: &str) -> &str {
    let Some(start) = url.find('?') else {
        return "";
    };
    let query = &url[start + 1..];
    &query[..query.find('#').unwrap_or(query.len())]
}

/// The decoded value of `name` in a query string (`+` is a space), `None` when absent; the
/// first occurrence wins.
///
/// # Errors
/// When that value's percent escapes are malformed or not UTF-8.
pub fn query_param(query: &str, name: &str) -> Result<Option<String>, MalformedQuery> {
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if body::percent_decode(k).as_deref() == Some(name) {
            return body::percent_decode(v).map(Some).ok_or(MalformedQuery);
        }
    }
    Ok(None)
}

/// A query parameter whose percent escapes are malformed or not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedQuery;

/// The request headers the core reads (`ApiRequest::get_header`): the Worker copies only these
/// into an `ApiRequest`. A header the core starts reading must be added here
/// (`tests/logging.rs` checks the source against this list).
pub const REQUEST_HEADERS: [&str; 4] = [
    "authorization",
    "content-type",
    "user-agent",
    "cf-connecting-ip",
];

/// Echoes a well-formed incoming `X-Request-Id` (1–128 of `[A-Za-z0-9._:-]`), or makes a UUID.
pub fn request_id(incoming: Option<&str>) -> String {
    match incoming {
        Some(id)
            if (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)) =>
        {
            id.to_owned()
        }
        _ => crate::domain::random::uuid_v4()
            .map(|u| u.hyphenated().to_string())
            .unwrap_or_else(|_| "unavailable".to_owned()),
    }
}

/// Extracts the bearer token from `Authorization`, refusing oversized headers before parsing.
///
/// # Errors
/// `invalid_token` with the reason.
pub fn bearer_token(req: &ApiRequest) -> Result<&str, AppError> {
    let Some(value) = req.get_header("authorization") else {
        return Err(AppError::InvalidToken(TokenRejection::Missing));
    };
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(AppError::InvalidToken(TokenRejection::TooLarge));
    }
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AppError::InvalidToken(TokenRejection::Missing));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AppError::InvalidToken(TokenRejection::Malformed));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_echoed_only_when_well_formed() {
        assert_eq!(request_id(Some("abc-123._:X")), "abc-123._:X");
        for bad in ["", "has space", "ünï", "a/b", &"a".repeat(129)] {
            let id = request_id(Some(bad));
            assert_ne!(id, bad);
            assert!(uuid::Uuid::try_parse(&id).is_ok());
        }
        assert_eq!(request_id(Some(&"a".repeat(128))).len(), 128);
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_bounded() {
        let req = ApiRequest::new("GET", "/").header("authorization", "bearer abc");
        assert_eq!(bearer_token(&req).unwrap(), "abc");
        let req = ApiRequest::new("GET", "/").header("authorization", "Basic abc");
        assert!(matches!(
            bearer_token(&req),
            Err(AppError::InvalidToken(TokenRejection::Missing))
        ));
        let big = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_BYTES));
        let req = ApiRequest::new("GET", "/").header("authorization", &big);
        assert!(matches!(
            bearer_token(&req),
            Err(AppError::InvalidToken(TokenRejection::TooLarge))
        ));
    }
}

#[cfg(test)]
mod path_tests {
    use super::{origin_of_url, path_of_url};

    #[test]
    fn the_origin_of_a_url_is_its_scheme_and_authority() {
        assert_eq!(
            origin_of_url("http://localhost:8787/passkeys?x"),
            "http://localhost:8787"
        );
        assert_eq!(origin_of_url("https://a.example/"), "https://a.example");
        assert_eq!(origin_of_url("https://a.example"), "https://a.example");
    }

    #[test]
    fn the_path_of_a_url_is_what_url_parsing_gives() {
        for (url, path) in [
            ("https://auth.example.com/auth/me", "/auth/me"),
            (
                "http://127.0.0.1:8787/auth/sessions/abc?x=1#f",
                "/auth/sessions/abc",
            ),
            ("https://auth.example.com", "/"),
            ("https://auth.example.com?q=1", "/"),
            ("https://auth.example.com/", "/"),
            ("https://auth.example.com/a%20b/", "/a%20b/"),
            ("https://user:pw@auth.example.com:443/x", "/x"),
        ] {
            assert_eq!(path_of_url(url), path, "{url}");
        }
    }
}
