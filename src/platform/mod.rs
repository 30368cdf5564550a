//! The runtime boundary: the only code that names the Workers runtime (`worker`, its
//! `wasm_bindgen`, `js_sys` and `web_sys`), so that the core around it is plain Rust over traits
//! and runs in the native tests (the store on SQLite, fakes for the other bindings). Compiled for wasm32 only.
//!
//! This file holds the Worker's entry points; each hands off to one module:
//! - `fetch`: an HTTP request, the runtime's `Request` and `Response` to and from the core's
//!   types, and the request's [`App`](crate::app::App) put together;
//! - `queue`: the mail Queue, produced after a response and consumed by the same Worker;
//! - `scheduled`: the Cron Trigger's cleanup;
//! - `env`: the configuration, read from the vars and secrets once per isolate;
//! - `console`: the log lines each of those wrote, out to the runtime's console.
//!
//! One file per binding: `d1` (the executor of the store's SQL), `kv` (the breaker's state),
//! `cache` (the session cache's Cache API tier), `queue` (the producer), `send_email`,
//! `rate_limit` (Rate Limiting), and `js` (a binding's method called directly); `webcrypto`
//! (HMAC, AES-GCM), `signatures` (Ed25519, ECDSA P-256, RSASSA-PKCS1-v1_5) and `token_keys`
//! (access tokens' Ed25519) are the runtime's `crypto.subtle` behind the core's crypto traits.

mod cache;
mod console;
mod d1;
mod env;
mod fetch;
pub(crate) mod js;
mod kv;
mod queue;
mod rate_limit;
mod scheduled;
mod send_email;
pub mod signatures;
pub mod token_keys;
pub mod webcrypto;

use worker::worker_sys::web_sys;
use worker::{event, Context, Env, MessageBatch, Result, ScheduleContext, ScheduledEvent};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    fetch::handle(req, env, ctx).await
}

/// The mail queue's consumer (the same Worker produces and consumes).
#[event(queue)]
async fn consume(
    batch: MessageBatch<crate::app::mail::MailJob>,
    env: Env,
    _ctx: Context,
) -> Result<()> {
    queue::consume(batch, env).await;
    Ok(())
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    scheduled::run(env).await;
}
