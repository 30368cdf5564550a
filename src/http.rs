//! Framework-free HTTP types: the request the core handles, the response it returns, the
//! per-request context (id, clock, log lines), body decoding and problem rendering.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde_json::{json, Map, Value};

use crate::error::{AppError, FieldError, TokenRejection};

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
    pub headers: Vec<(String, String)>,
    /// The body, or `PayloadTooLarge` when the edge stopped reading it at the limit.
    pub body: Result<Vec<u8>, BodyTooLarge>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTooLarge;

impl ApiRequest {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Ok(Vec::new()),
        }
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
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
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

/// The request headers the core reads (`ApiRequest::get_header`): the Worker copies only these
/// into an `ApiRequest`. A header the core starts reading must be added here
/// (`tests/logging.rs` checks the source against this list).
pub const REQUEST_HEADERS: [&str; 4] = [
    "authorization",
    "content-type",
    "user-agent",
    "cf-connecting-ip",
];

/// Per-request context: the request id, the clock reading and the structured log lines.
pub struct Ctx {
    pub request_id: String,
    /// Milliseconds since the Unix epoch when the request arrived.
    pub now_ms: i64,
    lines: RefCell<Vec<Value>>,
    db_calls: Cell<u32>,
    session_cache: Cell<Option<&'static str>>,
    db_ms: Cell<i64>,
    new_password_hashes: Cell<u32>,
    pause: Option<Pause>,
    clock: Option<Clock>,
}

impl Ctx {
    pub fn new(request_id: String, now_ms: i64) -> Self {
        Self {
            request_id,
            now_ms,
            lines: RefCell::new(Vec::new()),
            db_calls: Cell::new(0),
            session_cache: Cell::new(None),
            db_ms: Cell::new(0),
            new_password_hashes: Cell::new(0),
            pause: None,
            clock: None,
        }
    }

    /// The same context, with a running clock for the durations in the request's log line.
    /// Without one (most native tests) the clock stands still at `now_ms`, so they read `0`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The running clock's reading (`now_ms` without a clock).
    pub fn clock_ms(&self) -> i64 {
        self.clock.as_ref().map_or(self.now_ms, |clock| clock())
    }

    /// The same context, with the event-loop pause that long CPU work awaits.
    pub fn with_pause(mut self, pause: Pause) -> Self {
        self.pause = Some(pause);
        self
    }

    /// Gives the event loop a turn (a no-op without a pause).
    pub fn pause(&self) -> Pin<Box<dyn Future<Output = ()>>> {
        match &self.pause {
            Some(pause) => pause(),
            None => Box::pin(std::future::ready(())),
        }
    }

    /// Awaits one database round trip, counting it and the milliseconds spent waiting for it
    /// (the request's log line reports both totals).
    pub async fn db_call<T>(&self, call: impl Future<Output = T>) -> T {
        self.db_calls.set(self.db_calls.get() + 1);
        let started = self.clock_ms();
        let out = call.await;
        let waited = (self.clock_ms() - started).max(0);
        self.db_ms.set(self.db_ms.get() + waited);
        out
    }

    /// Database round trips made so far by this request.
    pub fn db_calls(&self) -> u32 {
        self.db_calls.get()
    }

    /// Where this request's session check was answered from (`memory`, `location` or `miss`),
    /// reported on the request's log line.
    pub fn note_session_cache(&self, source: &'static str) {
        self.session_cache.set(Some(source));
    }

    pub fn session_cache(&self) -> Option<&'static str> {
        self.session_cache.get()
    }

    /// Milliseconds this request has spent awaiting the database so far.
    pub fn db_ms(&self) -> i64 {
        self.db_ms.get()
    }

    /// Counts one password hashed to be stored (register, a change, a reset, a login's
    /// rehash), reported on the request's log line: the CPU a request spent is visible per
    /// request, and a request refused before its hash shows 0.
    pub fn count_new_password_hash(&self) {
        self.new_password_hashes
            .set(self.new_password_hashes.get() + 1);
    }

    /// Passwords this request has hashed to be stored so far.
    pub fn new_password_hashes(&self) -> u32 {
        self.new_password_hashes.get()
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }

    /// Records one structured log line. `fields` must never hold a secret, token, hash or full
    /// email: callers pass ids, reasons and redacted emails only.
    pub fn log(&self, level: &str, event: &str, fields: Value) {
        let mut line = Map::new();
        line.insert("level".into(), level.into());
        line.insert("event".into(), event.into());
        line.insert("request_id".into(), self.request_id.clone().into());
        line.insert("ts".into(), self.now_ms.into());
        if let Value::Object(extra) = fields {
            line.extend(extra);
        }
        self.lines.borrow_mut().push(Value::Object(line));
    }

    /// Records the request's own line: what was asked, the answer, how long it took, the
    /// database round trips it made (`db_calls`) and waited for (`db_ms`), the passwords it
    /// hashed to be stored (`new_password_hashes`), and where its session check was answered
    /// from (`session_cache`), if it made one through the cache.
    pub fn log_request(&self, method: &str, path: &str, status: u16) {
        let mut line = json!({
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": self.clock_ms() - self.now_ms,
            "db_calls": self.db_calls(),
            "db_ms": self.db_ms(),
            "new_password_hashes": self.new_password_hashes(),
            "outcome": match status {
                200..=399 => "success",
                400..=499 => "client_error",
                _ => "server_error",
            },
        });
        if let Some(source) = self.session_cache() {
            line["session_cache"] = source.into();
        }
        self.log(
            if status >= 500 { "error" } else { "info" },
            "request",
            line,
        );
    }

    /// The lines logged so far, as JSON text, one per line.
    pub fn take_lines(&self) -> Vec<String> {
        self.lines
            .borrow_mut()
            .drain(..)
            .map(|v| v.to_string())
            .collect()
    }
}

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
        _ => crate::random::uuid_v4()
            .map(|u| u.hyphenated().to_string())
            .unwrap_or_else(|_| "unavailable".to_owned()),
    }
}

/// Renders an error as RFC 9457 problem details with the contract's extra members and headers.
pub fn problem_response(err: &AppError, request_id: &str) -> ApiResponse {
    let p = err.problem();
    let mut body = json!({
        "type": "about:blank",
        "title": p.title,
        "status": p.status,
        "code": p.code,
        "detail": p.detail,
        "request_id": request_id,
    });
    if let AppError::Validation(errors) = err {
        body["errors"] = serde_json::to_value(errors).unwrap_or(Value::Null);
    }
    let mut resp = ApiResponse::json(p.status, &body);
    resp.set_header("content-type", "application/problem+json");
    match err {
        AppError::MethodNotAllowed(allow) => resp.set_header("allow", allow.join(", ")),
        AppError::ServiceUnavailable { retry_after }
        | AppError::TooManyAttempts { retry_after }
        | AppError::TooManyRequests { retry_after } => {
            resp.set_header("retry-after", retry_after.to_string());
        }
        AppError::InvalidToken(TokenRejection::Missing) => {
            resp.set_header("www-authenticate", "Bearer");
        }
        AppError::InvalidToken(_) => {
            resp.set_header("www-authenticate", "Bearer error=\"invalid_token\"");
        }
        _ => {}
    }
    resp
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Decodes a request body into a JSON object. `allow_form` also accepts
/// `application/x-www-form-urlencoded`, mapped to an object of strings.
///
/// # Errors
/// `413` when the body was over the limit, `400 malformed_request` for a wrong content type,
/// invalid UTF-8, invalid JSON or form, or JSON that is not an object.
pub fn body_object(req: &ApiRequest, allow_form: bool) -> Result<Map<String, Value>, AppError> {
    let bytes = req.body.as_ref().map_err(|_| AppError::PayloadTooLarge)?;
    let media = media_type(req.get_header("content-type").unwrap_or(""));
    let is_form = media == "application/x-www-form-urlencoded";
    if media != "application/json" && !(allow_form && is_form) {
        return Err(AppError::MalformedRequest(if allow_form {
            "Content-Type must be application/json or application/x-www-form-urlencoded"
        } else {
            "Content-Type must be application/json"
        }));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| AppError::MalformedRequest("not UTF-8"))?;
    if is_form {
        return parse_form(text).ok_or(AppError::MalformedRequest("invalid form encoding"));
    }
    match serde_json::from_slice::<Value>(text.as_bytes()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AppError::MalformedRequest(
            "the JSON body must be an object",
        )),
        Err(_) => Err(AppError::MalformedRequest("invalid JSON")),
    }
}

/// Strict `application/x-www-form-urlencoded` decoding: bad percent escapes or invalid UTF-8
/// after decoding are errors, not silently replaced. A repeated name keeps its first value.
pub fn parse_form(text: &str) -> Option<Map<String, Value>> {
    let mut map = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k)?, percent_decode(v)?);
        map.entry(k).or_insert(Value::String(v));
    }
    Some(map)
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// Takes a required string field from a decoded body.
///
/// # Errors
/// A [`FieldError`] `required` when absent or null, `invalid_type` when not a string.
pub fn string_field<'a>(
    body: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, FieldError> {
    match body.get(field) {
        None | Some(Value::Null) => Err(FieldError::new(
            field,
            "required",
            format!("{field} is required."),
        )),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(FieldError::new(
            field,
            "invalid_type",
            format!("{field} must be a string."),
        )),
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
    fn form_decoding_is_strict() {
        let m = parse_form("username=a%40b.com&password=p+w%21&password=second").unwrap();
        assert_eq!(m["username"], "a@b.com");
        assert_eq!(m["password"], "p w!");
        assert!(parse_form("a=%zz").is_none());
        assert!(
            parse_form("a=%ff").is_none(),
            "invalid UTF-8 after decoding"
        );
        assert!(parse_form("a=%4").is_none());
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
    use super::path_of_url;

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
