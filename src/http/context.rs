//! The per-request context: the request id, the clock, the database round trips it made and
//! the structured log lines it wrote.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use super::{Clock, Pause};

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
    /// email: callers pass ids, reasons and redacted emails only. Written with [`log_fields!`].
    pub fn log(&self, level: &str, event: &str, fields: &[(&str, LogValue<'_>)]) {
        let mut line = Map::new();
        line.insert("level".into(), level.into());
        line.insert("event".into(), event.into());
        line.insert("request_id".into(), self.request_id.clone().into());
        line.insert("ts".into(), self.now_ms.into());
        for (name, value) in fields {
            if let Some(value) = value.to_json() {
                line.insert((*name).into(), value);
            }
        }
        self.lines.borrow_mut().push(Value::Object(line));
    }

    /// Records the request's own line: what was asked, the answer, how long it took, the
    /// database round trips it made (`db_calls`) and waited for (`db_ms`), the passwords it
    /// hashed to be stored (`new_password_hashes`), and where its session check was answered
    /// from (`session_cache`), if it made one through the cache.
    pub fn log_request(&self, method: &str, path: &str, status: u16) {
        let outcome = match status {
            200..=399 => "success",
            400..=499 => "client_error",
            _ => "server_error",
        };
        let (duration_ms, db_calls, db_ms) =
            (self.clock_ms() - self.now_ms, self.db_calls(), self.db_ms());
        let hashes = self.new_password_hashes();
        // Only when the request checked a session through the cache.
        let session_cache = IfSome(self.session_cache());
        let fields = crate::log_fields!({
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "db_calls": db_calls,
            "db_ms": db_ms,
            "new_password_hashes": hashes,
            "outcome": outcome,
            "session_cache": session_cache,
        });
        let level = if status >= 500 { "error" } else { "info" };
        self.log(level, "request", fields);
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

/// A log line's field value. Log lines are written at about eighty places: a slice of these is
/// a few stores per field, where `json!` built and inserted each value in line (3.6 KiB more of
/// the gzipped wasm, measured).
#[derive(Clone)]
pub enum LogValue<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Null,
    List(&'a [String]),
    /// No field at all ([`IfSome`]).
    Absent,
}

impl LogValue<'_> {
    fn to_json(&self) -> Option<Value> {
        Some(match self {
            LogValue::Str(s) => Value::from(*s),
            LogValue::Int(n) => Value::from(*n),
            LogValue::Bool(b) => Value::from(*b),
            LogValue::Null => Value::Null,
            LogValue::List(items) => items.iter().map(String::as_str).collect(),
            LogValue::Absent => return None,
        })
    }
}

/// A field written only when its value is there (an `Option` alone writes `null`).
pub struct IfSome<T>(pub Option<T>);

impl<T: ToLog> ToLog for IfSome<T> {
    fn to_log(&self) -> LogValue<'_> {
        self.0.as_ref().map_or(LogValue::Absent, ToLog::to_log)
    }
}

/// What can be a log field's value; [`log_fields!`] borrows each value, as `json!` does.
pub trait ToLog {
    fn to_log(&self) -> LogValue<'_>;
}

impl ToLog for str {
    fn to_log(&self) -> LogValue<'_> {
        LogValue::Str(self)
    }
}

impl ToLog for String {
    fn to_log(&self) -> LogValue<'_> {
        LogValue::Str(self)
    }
}

impl<T: ToLog + ?Sized> ToLog for &T {
    fn to_log(&self) -> LogValue<'_> {
        (**self).to_log()
    }
}

impl<T: ToLog> ToLog for Option<T> {
    fn to_log(&self) -> LogValue<'_> {
        self.as_ref().map_or(LogValue::Null, ToLog::to_log)
    }
}

impl ToLog for bool {
    fn to_log(&self) -> LogValue<'_> {
        LogValue::Bool(*self)
    }
}

impl ToLog for [String] {
    fn to_log(&self) -> LogValue<'_> {
        LogValue::List(self)
    }
}

impl ToLog for Vec<String> {
    fn to_log(&self) -> LogValue<'_> {
        self[..].to_log()
    }
}

macro_rules! log_int {
    ($($t:ty),*) => {$(
        impl ToLog for $t {
            fn to_log(&self) -> LogValue<'_> {
                LogValue::Int(*self as i64)
            }
        }
    )*};
}
log_int!(i64, u16, u32, u64, usize);

/// A log line's fields, written like `json!`'s flat object: `log_fields!({ "user_id": id })`.
#[macro_export]
macro_rules! log_fields {
    ({ $($name:literal : $value:expr),* $(,)? }) => {
        &[$(($name, $crate::http::ToLog::to_log(&$value))),*]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(ctx: &Ctx) -> Vec<serde_json::Value> {
        let lines = ctx.take_lines();
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_field_if_some_is_left_out_when_none_where_an_option_writes_null() {
        let ctx = Ctx::new("r".into(), 0);
        let (null, absent, present) = (None::<&str>, IfSome(None::<&str>), IfSome(Some("x")));
        ctx.log(
            "info",
            "e",
            crate::log_fields!({ "null": null, "absent": absent, "present": present }),
        );
        let line = &lines_of(&ctx)[0];
        assert_eq!(line["null"], serde_json::Value::Null);
        assert!(line.get("absent").is_none());
        assert_eq!(line["present"], "x");
    }

    #[test]
    fn request_lines_name_the_session_cache_only_when_it_was_asked() {
        let ctx = Ctx::new("r".into(), 0);
        ctx.log_request("GET", "/health", 200);
        ctx.note_session_cache("memory");
        ctx.log_request("GET", "/auth/me", 200);
        let lines = lines_of(&ctx);
        assert!(lines[0].get("session_cache").is_none());
        assert_eq!(lines[1]["session_cache"], "memory");
    }
}
