//! Translation between `worker::Request`/`Response` and the core's HTTP types, the
//! construction of the D1/KV stores from the Worker's bindings, and the mail bindings: the
//! Queue that carries the core's mail jobs and the `send_email` binding its consumer sends with
//! (the consumer's decisions are the core's, in `app::consumer`).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;
use worker::worker_sys::web_sys;
use worker::{
    console_log, Cache, Context, Date, Env, Headers, MessageBatch, MessageExt, Response, Result,
    SendEmail, SendEmailBuilder,
};

use crate::app::App;
use crate::bindings::{self, Binding};
use crate::config::{names, Config};
use crate::error::AppError;
use crate::health::HealthMemory;
use crate::http::{self, ApiRequest, ApiResponse, BodyTooLarge, Ctx, Pause, MAX_BODY_BYTES};
use crate::mail::{self, Mail, MailJob, MailQueue, Mailer, Outbox};
use crate::ratelimit::{IpRateLimiter, Verdict};
use crate::session_cache::{CacheCall, LocationCache, SessionCache, SessionMemory};
use crate::storage::{D1Store, KvBreaker};

/// How much of an oversized chunked body is read and dropped before the stream is cancelled.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// The location tier of the session cache: a named Workers Cache API cache, keyed by a URL
/// that only this Worker uses.
const SESSION_CACHE_NAME: &str = "edge-auth-sessions";
const SESSION_CACHE_KEY: &str = "https://session-cache.edge-auth.internal/";

thread_local! {
    /// The isolate tier of the session cache (see `session_cache`).
    static SESSION_MEMORY: Rc<SessionMemory> = Rc::new(SessionMemory::default());
    /// `/health`'s last good check in this isolate.
    static HEALTH_MEMORY: Rc<HealthMemory> = Rc::new(HealthMemory::default());
    /// The opened Cache API cache, once per isolate.
    static LOCATION_CACHE: RefCell<Option<Rc<Cache>>> = const { RefCell::new(None) };

    /// The parsed configuration, once per isolate: vars and secrets cannot change under a
    /// running isolate (a new secret or var is a new deployment, which starts new isolates), so
    /// nothing is re-read or compared per request. A configuration that fails to parse is not
    /// kept, so every request answers `500` and logs why.
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

/// A var or a secret, as text. Secrets and quoted vars are strings. A var written unquoted in
/// `wrangler.toml` (`REQUIRE_EMAIL_VERIFICATION = true`, `ACCESS_TOKEN_TTL = 300`) arrives as a
/// JSON value: it is read as its JSON text, so `true` and `300` mean what their quoted forms
/// mean, and anything else (`1.5`, an array, a table) is refused by the setting's own check at
/// start. (`Env::var` reads strings only: an unquoted var was silently the default.)
fn lookup(env: &Env, name: &str) -> Option<String> {
    let value = worker::js_sys::Reflect::get(env, &name.into()).ok()?;
    if value.is_undefined() {
        return None;
    }
    value.as_string().or_else(|| {
        worker::js_sys::JSON::stringify(&value)
            .ok()
            .and_then(|text| text.as_string())
    })
}

fn config(env: &Env) -> std::result::Result<Rc<Config>, String> {
    if let Some(cfg) = CONFIG.with(|cell| cell.borrow().clone()) {
        return Ok(cfg);
    }
    let cfg = Rc::new(Config::from_lookup(|n| lookup(env, n)).map_err(|e| e.to_string())?);
    CONFIG.with(|cell| *cell.borrow_mut() = Some(cfg.clone()));
    Ok(cfg)
}

/// A zero-delay timer: awaiting it lets the isolate run other requests' callbacks, which a
/// password hash does between its slices.
fn pause() -> Pause {
    Rc::new(|| Box::pin(worker::Delay::from(std::time::Duration::ZERO)))
}

/// Keeps at most `MAX_BODY_BYTES`: a larger body is refused without being buffered or parsed.
/// The excess of a chunked body is read and dropped up to `DRAIN_LIMIT` (so the connection
/// stays usable, which `wrangler dev`'s proxy needs), and past that the stream is cancelled.
async fn read_body(
    req: &web_sys::Request,
    headers: &web_sys::Headers,
) -> std::result::Result<Vec<u8>, BodyTooLarge> {
    let declared = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(BodyTooLarge);
    }
    if declared.is_some() {
        // A declared length within the limit: the runtime enforces it, so one read takes the
        // whole body (a stream that breaks midway is judged like any body: what arrived).
        let Ok(promise) = req.array_buffer() else {
            return Ok(Vec::new());
        };
        let body = match worker::wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(buf) => worker::js_sys::Uint8Array::new(&buf).to_vec(),
            Err(_) => Vec::new(),
        };
        // Whatever carried it (a service binding's hand-made request, say), never more.
        return if body.len() > MAX_BODY_BYTES {
            Err(BodyTooLarge)
        } else {
            Ok(body)
        };
    }
    let Some(raw) = req.body() else {
        return Ok(Vec::new());
    };
    let mut stream = wasm_streams::ReadableStream::from_raw(raw);
    let mut reader = stream.get_reader();
    let mut body = Vec::new();
    let mut seen = 0usize;
    // A read error (client gone) ends the body; what arrived is then judged like any body.
    while let Ok(Some(chunk)) = reader.read().await {
        let chunk = worker::js_sys::Uint8Array::new(&chunk);
        seen += chunk.length() as usize;
        if seen > DRAIN_LIMIT {
            let _ = reader.cancel().await;
            break;
        }
        if seen <= MAX_BODY_BYTES {
            body.extend_from_slice(&chunk.to_vec());
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(BodyTooLarge);
    }
    Ok(body)
}

/// The request headers the core reads, copied one by one: cheaper than walking every header a
/// browser sends.
fn core_headers(headers: &web_sys::Headers) -> Vec<(String, String)> {
    http::REQUEST_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(name).ok().flatten()?;
            Some(((*name).to_owned(), value))
        })
        .collect()
}

/// The core's response as the runtime's, built directly (one `Headers`, one `Response`).
fn to_worker(resp: ApiResponse) -> Result<web_sys::Response> {
    let headers = web_sys::Headers::new()?;
    for (name, value) in &resp.headers {
        headers.append(name, value)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(resp.status);
    init.set_headers_headers(&headers);
    Ok(if resp.body.is_empty() {
        web_sys::Response::new_with_opt_str_and_init(None, &init)?
    } else {
        // A JS-owned copy of the bytes: the response never points into the wasm memory.
        let bytes = worker::js_sys::Uint8Array::from(resp.body.as_slice());
        web_sys::Response::new_with_opt_buffer_source_and_init(Some(&bytes), &init)?
    })
}

/// The session cache's location tier on the Workers Cache API (per Cloudflare location). The
/// cache is opened at the first lookup that misses the isolate's memory, then kept. A key is a
/// session id or its purge mark's key (`session_cache::mark_key`), each its own URL.
struct CacheApiTier;

impl CacheApiTier {
    async fn cache() -> Rc<Cache> {
        if let Some(cache) = LOCATION_CACHE.with(|c| c.borrow().clone()) {
            return cache;
        }
        let cache = Rc::new(Cache::open(SESSION_CACHE_NAME.to_owned()).await);
        LOCATION_CACHE.with(|c| *c.borrow_mut() = Some(cache.clone()));
        cache
    }

    fn url(key: &str) -> String {
        format!("{SESSION_CACHE_KEY}{key}")
    }
}

impl LocationCache for CacheApiTier {
    fn get<'a>(&'a self, key: &'a str) -> CacheCall<'a, Option<String>> {
        Box::pin(async move {
            let cache = Self::cache().await;
            match cache.get(Self::url(key), false).await {
                Ok(Some(mut resp)) => resp.text().await.map(Some).map_err(|e| e.to_string()),
                Ok(None) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: String, ttl_secs: u32) -> CacheCall<'a, ()> {
        Box::pin(async move {
            let cache = Self::cache().await;
            let headers = Headers::new();
            headers
                .set("cache-control", &format!("max-age={ttl_secs}"))
                .map_err(|e| e.to_string())?;
            let resp = Response::ok(value)
                .map_err(|e| e.to_string())?
                .with_headers(headers);
            cache
                .put(Self::url(key), resp)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The producer side of the `EMAIL_QUEUE` Queue.
struct QueueProducer(Binding);

impl MailQueue for QueueProducer {
    async fn enqueue(&self, jobs: &[MailJob]) -> std::result::Result<(), String> {
        // Each body is the job's JSON parsed into a JS object: the consumer reads it back
        // through its JSON text (`mail_job`).
        let mut messages = Vec::with_capacity(jobs.len());
        for job in jobs {
            let json = serde_json::to_string(job).map_err(|e| e.to_string())?;
            let body = worker::js_sys::JSON::parse(&json).map_err(|e| bindings::error_text(&e))?;
            // `json`, as `worker`'s `send_batch` set it: the body stays readable to anything
            // that inspects the queue (the dashboard, a pull consumer), whatever the
            // compatibility flags say the default is.
            messages.push(bindings::object(&[
                ("body", body),
                ("contentType", "json".into()),
            ]));
        }
        let messages: worker::js_sys::Array = messages.iter().collect();
        self.0.call("sendBatch", &[messages.into()]).await.map(drop)
    }
}

/// The `send_email` binding, in its `{from, to, subject, text, html}` builder form.
struct EmailBinding(SendEmail);

impl Mailer for EmailBinding {
    async fn send(&self, m: &Mail) -> std::result::Result<String, String> {
        let message = SendEmailBuilder::builder(&m.from, &m.to, &m.subject)
            .text(&m.text)
            .html(&m.html)
            .build();
        match self.0.send_with_builder(&message).await {
            Ok(sent) => Ok(sent.message_id()),
            Err(e) => Err(String::from(e.message())),
        }
    }
}

/// The Rate Limiting binding (`[[ratelimits]]`), looked up when a request is counted (a missing
/// binding is an error the caller logs).
struct IpLimiterBinding(Env);

impl IpRateLimiter for IpLimiterBinding {
    fn allow<'a>(&'a self, key: &'a str) -> Verdict<'a> {
        Box::pin(async move {
            let limiter = Binding::of(&self.0, names::IP_RATE_LIMITER)?;
            let outcome = limiter
                .call("limit", &[bindings::object(&[("key", key.into())])])
                .await?;
            worker::js_sys::Reflect::get(&outcome, &"success".into())
                .ok()
                .and_then(|success| success.as_bool())
                .ok_or_else(|| "the rate limiter's answer has no `success`".to_owned())
        })
    }
}

/// Sends a request's mail jobs to the queue once the response is on its way (`waitUntil`), so
/// neither the queue's latency nor whether there was a job shows in the response time.
fn dispatch_mail(jobs: Vec<MailJob>, env: &Env, wctx: &Context, ctx: &Ctx) {
    if jobs.is_empty() {
        return;
    }
    let producer = match Binding::of(env, names::EMAIL_QUEUE) {
        Ok(q) => QueueProducer(q),
        Err(e) => {
            ctx.log(
                "error",
                "email_queue_failed",
                json!({ "jobs": jobs.len(), "cause": e }),
            );
            return;
        }
    };
    let (request_id, now_ms) = (ctx.request_id.clone(), ctx.now_ms);
    wctx.wait_until(async move {
        let ctx = Ctx::new(request_id, now_ms);
        mail::flush(&producer, &jobs, &ctx).await;
        for line in ctx.take_lines() {
            console_log!("{line}");
        }
    });
}

/// One request. It takes the runtime's own `Request`: `worker::Request` would read the
/// request's `cf` object on every request (a JSON parse in the runtime), which this Worker
/// never uses, and its URL, which `handle` reads once itself.
pub async fn handle(req: web_sys::Request, env: Env, wctx: Context) -> Result<web_sys::Response> {
    let started = Date::now().as_millis() as i64;
    let headers = req.headers();
    let incoming_id = headers.get("x-request-id").ok().flatten();
    let ctx = Ctx::new(http::request_id(incoming_id.as_deref()), started)
        .with_pause(pause())
        .with_clock(Rc::new(|| Date::now().as_millis() as i64));
    // The raw method: `worker::Method` maps unknown methods (QUERY, PROPFIND…) to GET, which
    // would route them as GETs instead of answering 405.
    let method = req.method();
    // The URL is read for its path only: an emailed link's origin is configuration
    // (`APP_URL`, `PUBLIC_URL`), never the request's Host.
    let url = req.url();
    let path = http::path_of_url(&url).to_owned();
    let body = match method.as_str() {
        "GET" | "HEAD" => Ok(Vec::new()),
        _ => read_body(&req, &headers).await,
    };
    let api_req = ApiRequest {
        method: method.clone(),
        path: path.clone(),
        headers: core_headers(&headers),
        body,
    };

    let outbox = Outbox::default();
    let resp = match config(&env) {
        Ok(cfg) => {
            let db = D1Store(env.d1(names::DB)?);
            let breaker_store = KvBreaker::new(env.clone(), names::KV, started);
            let ip_limiter = IpLimiterBinding(env.clone());
            let memory = SESSION_MEMORY.with(Rc::clone);
            let health_memory = HEALTH_MEMORY.with(Rc::clone);
            let session_cache = SessionCache {
                memory: &memory,
                location: &CacheApiTier,
                ttl_ms: cfg.session_cache_ttl_secs * 1000,
                memory_ttl_ms: cfg.session_memory_ttl_secs * 1000,
            };
            let app = App {
                config: &cfg,
                users: &db,
                sessions: &db,
                breaker_store: &breaker_store,
                outbox: &outbox,
                ip_limiter: &ip_limiter,
                session_cache: &session_cache,
                health_memory: &health_memory,
            };
            app.handle(api_req, &ctx).await
        }
        Err(why) => {
            ctx.log("error", "config_invalid", json!({ "cause": why }));
            let mut r = http::problem_response(&AppError::internal(why), &ctx.request_id);
            r.set_header("x-request-id", ctx.request_id.clone());
            r.set_header("x-content-type-options", "nosniff");
            r.set_header("cache-control", "no-store");
            r
        }
    };

    ctx.log_request(&method, &path, resp.status);
    dispatch_mail(outbox.take(), &env, &wctx, &ctx);
    for line in ctx.take_lines() {
        console_log!("{line}");
    }
    to_worker(resp)
}

/// The `EMAIL_QUEUE` consumer: hands each job to the core ([`crate::app::consumer::process`]:
/// account lookup, hourly cap, token, send), acknowledging what is done with and retrying what
/// failed (after `max_retries` the queue moves it to the dead-letter queue). A body that is not
/// a job is dropped with a log line: retrying cannot fix it. Never fails as a whole, so one bad
/// message never makes the others retry.
pub async fn consume(batch: MessageBatch<MailJob>, env: Env) {
    let ctx = Ctx::new(http::request_id(None), Date::now().as_millis() as i64);
    let setup = config(&env).and_then(|cfg| {
        let mailer = env.send_email(names::EMAIL).map_err(|e| e.to_string())?;
        let db = env.d1(names::DB).map_err(|e| e.to_string())?;
        Ok((cfg, EmailBinding(mailer), D1Store(db)))
    });
    // Raw messages, each body decoded here: with `iter()`, a body that does not decode comes
    // back as an error without its message, so it could be neither logged by id nor acked.
    for message in batch.raw_iter() {
        let (cfg, mailer, db) = match &setup {
            Ok(s) => s,
            Err(why) => {
                ctx.log(
                    "error",
                    "email_failed",
                    json!({ "queue_message_id": message.id(), "cause": why, "retry": true }),
                );
                message.retry();
                continue;
            }
        };
        match mail_job(&message.body()) {
            Ok(job) => {
                let id = message.id();
                let outcome =
                    crate::app::consumer::process(&job, db, mailer, &cfg.email, &id, &ctx).await;
                if outcome.acknowledged() {
                    message.ack();
                } else {
                    message.retry();
                }
            }
            Err(cause) => {
                ctx.log(
                    "error",
                    "email_dropped",
                    json!({ "queue_message_id": message.id(), "cause": cause }),
                );
                message.ack();
            }
        }
    }
    for line in ctx.take_lines() {
        console_log!("{line}");
    }
}

/// A queue message's body as a [`MailJob`]. The body is the object [`QueueProducer`] sent (or
/// an earlier version's producer, which sent the same object); it is read back through its JSON
/// text, with the same `serde_json` reader as every other JSON in the Worker (no second
/// deserializer in the wasm).
fn mail_job(body: &worker::wasm_bindgen::JsValue) -> std::result::Result<MailJob, String> {
    let text = worker::js_sys::JSON::stringify(body)
        .ok()
        .and_then(|t| t.as_string())
        .ok_or_else(|| "the body is not JSON".to_owned())?;
    serde_json::from_slice(text.as_bytes()).map_err(|e| e.to_string())
}

/// The Cron Trigger: the scheduled cleanup of rows that can no longer matter.
pub async fn scheduled(env: Env) {
    let ctx = Ctx::new(http::request_id(None), Date::now().as_millis() as i64);
    match (config(&env), env.d1(names::DB)) {
        (Ok(cfg), Ok(db)) => {
            crate::app::cleanup::run(&D1Store(db), &cfg, &ctx).await;
        }
        (Err(why), _) => ctx.log("error", "config_invalid", json!({ "cause": why })),
        (_, Err(e)) => ctx.log("error", "cleanup_failed", json!({ "cause": e.to_string() })),
    }
    for line in ctx.take_lines() {
        console_log!("{line}");
    }
}
