//! Translation between `worker::Request`/`Response` and the core's HTTP types, and the
//! construction of the D1/KV stores from the Worker's bindings.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use serde_json::json;
use worker::{console_log, Date, Env, Headers, Method, Request, Response, Result};

use crate::app::App;
use crate::config::{names, Config};
use crate::error::AppError;
use crate::http::{self, ApiRequest, ApiResponse, BodyTooLarge, Ctx, MAX_BODY_BYTES};
use crate::storage::{D1Users, KvBreaker};

thread_local! {
    /// The parsed configuration, kept while the vars and the key secret are unchanged, so key
    /// parsing is not repeated on every request of a warm isolate.
    static CONFIG: RefCell<Option<(String, Rc<Config>)>> = const { RefCell::new(None) };
}

fn lookup(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
}

fn config(env: &Env) -> std::result::Result<Rc<Config>, String> {
    let settings = [
        names::SIGNING_KEYS,
        names::ISSUER,
        names::AUDIENCE,
        names::ACCESS_TOKEN_TTL,
        names::PBKDF2_ITERATIONS,
        names::PBKDF2_MAX_ITERATIONS,
        names::BREAKER_THRESHOLD,
        names::BREAKER_WINDOW,
        names::BREAKER_COOLDOWN,
        names::JWKS_MAX_AGE,
    ];
    let fingerprint: String = settings
        .iter()
        .map(|n| lookup(env, n).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\u{0}");
    CONFIG.with(|cell| {
        if let Some((fp, cfg)) = cell.borrow().as_ref() {
            if *fp == fingerprint {
                return Ok(cfg.clone());
            }
        }
        let cfg = Rc::new(Config::from_lookup(|n| lookup(env, n)).map_err(|e| e.to_string())?);
        *cell.borrow_mut() = Some((fingerprint, cfg.clone()));
        Ok(cfg)
    })
}

/// Reads at most `MAX_BODY_BYTES + 1` bytes: a larger body is refused without buffering it.
async fn read_body(req: &mut Request) -> std::result::Result<Vec<u8>, BodyTooLarge> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(BodyTooLarge);
    }
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new()); // no body
    };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { break };
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_BYTES {
            return Err(BodyTooLarge);
        }
    }
    Ok(body)
}

fn to_worker(resp: ApiResponse) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &resp.headers {
        headers.set(name, value)?;
    }
    let response = if resp.body.is_empty() {
        Response::empty()?
    } else {
        Response::from_bytes(resp.body)?
    };
    Ok(response.with_status(resp.status).with_headers(headers))
}

pub async fn handle(mut req: Request, env: Env) -> Result<Response> {
    let started = Date::now().as_millis() as i64;
    let incoming_id = req.headers().get("x-request-id").ok().flatten();
    let ctx = Ctx::new(http::request_id(incoming_id.as_deref()), started);
    let method = req.method();
    let path = req.path();
    let body = match method {
        Method::Post | Method::Put | Method::Patch => read_body(&mut req).await,
        _ => Ok(Vec::new()),
    };
    let api_req = ApiRequest {
        method: method.to_string(),
        path: path.clone(),
        headers: req
            .headers()
            .entries()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
        body,
    };

    let resp = match config(&env) {
        Ok(cfg) => {
            let app = App {
                config: &cfg,
                users: D1Users(env.d1(names::DB)?),
                breaker_store: KvBreaker(env.kv(names::KV).ok()),
            };
            app.handle(api_req, &ctx).await
        }
        Err(why) => {
            ctx.log("error", "config_invalid", json!({ "cause": why }));
            let mut r = http::problem_response(&AppError::internal(why), &ctx.request_id);
            r.set_header("x-request-id", ctx.request_id.clone());
            r.set_header("cache-control", "no-store");
            r
        }
    };

    let status = resp.status;
    let duration_ms = Date::now().as_millis() as i64 - started;
    ctx.log(
        if status >= 500 { "error" } else { "info" },
        "request",
        json!({
            "method": method.to_string(),
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "outcome": match status {
                200..=399 => "success",
                400..=499 => "client_error",
                _ => "server_error",
            },
        }),
    );
    for line in ctx.take_lines() {
        console_log!("{line}");
    }
    to_worker(resp)
}
