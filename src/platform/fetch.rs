//! An HTTP request: the runtime's `Request` read into the core's [`ApiRequest`], the stores and
//! bindings of the request put together into an [`App`], and the core's [`ApiResponse`] built
//! back into the runtime's `Response`.

use crate::log_fields;
use std::rc::Rc;

use worker::worker_sys::web_sys;
use worker::{Context, Date, Env, Result};

use super::cache::CacheApiTier;
use super::console;
use super::d1::D1Store;
use super::env::isolate_with_keys;
use super::kv::KvBreaker;
use super::queue::dispatch_mail;
use super::rate_limit::IpLimiterBinding;
use super::signatures::WebCryptoVerifier;
use super::token_keys::WebCryptoKeys;
use super::webcrypto::WebCrypto;
use crate::app::health::HealthMemory;
use crate::app::mail::Outbox;
use crate::app::{App, Crypto};
use crate::config::names;
use crate::http::error::AppError;
use crate::http::{self, ApiRequest, ApiResponse, BodyTooLarge, Ctx, Pause, MAX_BODY_BYTES};
use crate::store::session_cache::{SessionCache, SessionMemory};

/// The Worker's cryptography: the runtime's `crypto.subtle` behind each of the core's traits.
pub struct WorkerCrypto;

impl Crypto for WorkerCrypto {
    type Mfa = WebCrypto;
    type Signatures = WebCryptoVerifier;
    type TokenKeys = WebCryptoKeys;
}

/// How much of an oversized chunked body is read and dropped before the stream is cancelled.
const DRAIN_LIMIT: usize = 1024 * 1024;

thread_local! {
    /// The isolate tier of the session cache (see `session_cache`).
    static SESSION_MEMORY: Rc<SessionMemory> = Rc::new(SessionMemory::default());
    /// `/health`'s last good check in this isolate.
    static HEALTH_MEMORY: Rc<HealthMemory> = Rc::new(HealthMemory::default());
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
    // The URL is read for its path, and for its origin as the passkeys' default relying
    // party only: an emailed link's origin is configuration (`APP_URL`, `PUBLIC_URL`), never
    // the request's Host.
    let url = req.url();
    let path = http::path_of_url(&url).to_owned();
    let body = match method.as_str() {
        "GET" | "HEAD" => Ok(Vec::new()),
        _ => read_body(&req, &headers).await,
    };
    let api_req = ApiRequest {
        method: method.clone(),
        path: path.clone(),
        query: http::query_of_url(&url).to_owned(),
        headers: core_headers(&headers),
        body,
        origin: http::origin_of_url(&url).to_owned(),
    };

    let outbox = Outbox::default();
    let resp = match isolate_with_keys(&env).await {
        Ok(isolate) => {
            let (cfg, keys) = (&isolate.config, &isolate.keys);
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
            let app: App<'_, _, _, _, WorkerCrypto> = App {
                config: cfg,
                keys,
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
            ctx.log("error", "config_invalid", log_fields!({ "cause": why }));
            let mut r = http::problem_response(&AppError::internal(why), &ctx.request_id);
            r.set_header("x-request-id", ctx.request_id.clone());
            r.set_header("x-content-type-options", "nosniff");
            r.set_header("cache-control", "no-store");
            r
        }
    };

    ctx.log_request(&method, &path, resp.status);
    dispatch_mail(outbox.take(), &env, &wctx, &ctx);
    console::log_lines(&ctx);
    to_worker(resp)
}
