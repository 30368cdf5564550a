//! The bench floor: the least a workers-rs Worker does per request on this runtime. It answers
//! `200` to every request and writes one JSON log line per request with `console_log!`, with the
//! auth Worker's request-line fields (`level`, `event`, `request_id`, `ts`, `method`, `path`,
//! `status`, `duration_ms`, `outcome`), so that `make bench` can quote the auth Worker's figures
//! as ratios against what no Rust Worker can go below.

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
