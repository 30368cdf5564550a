//! The bench floor: the least a workers-rs Worker does per request on this runtime. It answers
//! `200` to every request and writes one JSON log line per request with `console_log!`, with the
//! auth Worker's request-line fields (`level`, `event`, `request_id`, `ts`, `method`, `path`,
//! `status`, `duration_ms`, `outcome`), so that `make bench` can quote the auth Worker's figures
//! as ratios against what no Rust Worker can go below.
//!
//! With the `hash` feature (`make floor` builds it into `build-hash/`), `GET /hash` also runs a
//! PBKDF2-HMAC-SHA256 of 600,000 iterations (`?iterations=N`, 1 to 10,000,000; `&slice=N` for
//! slices other than the auth Worker's) the way the auth Worker's logins hash: the same loop
//! (`pbkdf2_block`), in the same slices, a zero `Delay` between them, one hash at a time per
//! isolate (the same lock, `hash_lock`). `make bench` logs in beside reads of our
//! Worker, then hashes here beside reads of `/`: what the same hashing loses to the same read
//! load in a Worker that does nothing else.
//! The plain floor stays without it, so that its size and cold start are a Worker's least.

#[cfg(all(target_arch = "wasm32", feature = "hash"))]
mod hash;

#[cfg(target_arch = "wasm32")]
mod entry {
    use worker::{console_log, event, js_sys, Context, Date, Env, Request, Response, Result};

    /// An echoed `X-Request-Id`, else a random one (as the auth Worker does; this one needs no
    /// cryptographic quality, only to tell lines apart).
    fn request_id(req: &Request) -> String {
        match req.headers().get("x-request-id").ok().flatten() {
            Some(id) if (1..=128).contains(&id.len()) => id,
            _ => format!(
                "{:013x}{:013x}",
                (js_sys::Math::random() * 2f64.powi(52)) as u64,
                (js_sys::Math::random() * 2f64.powi(52)) as u64
            ),
        }
    }

    #[event(fetch)]
    async fn fetch(req: Request, _env: Env, _ctx: Context) -> Result<Response> {
        let started = Date::now().as_millis() as i64;
        let request_id = request_id(&req);
        #[cfg(feature = "hash")]
        let response = if req.path() == "/hash" {
            super::hash::respond(&req).await?
        } else {
            Response::ok("ok")?
        };
        #[cfg(not(feature = "hash"))]
        let response = Response::ok("ok")?;
        let line = serde_json::json!({
            "level": "info",
            "event": "request",
            "request_id": request_id,
            "ts": started,
            "method": req.inner().method(),
            "path": req.path(),
            "status": response.status_code(),
            "duration_ms": Date::now().as_millis() as i64 - started,
            "outcome": "success",
        });
        console_log!("{line}");
        Ok(response)
    }
}
