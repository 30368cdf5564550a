//! edge-auth: an email + password auth service for Cloudflare Workers.
//!
//! This file holds only the Worker's entry points; everything else hands off to [`app::App`].

pub mod api_doc;
pub mod app;
pub mod breaker;
pub mod config;
pub mod domain;
pub mod error;
pub mod health;
pub mod http;
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
pub mod lowercase;
pub mod mail;
pub mod oauth;
pub mod password;
pub mod random;
pub mod ratelimit;
pub mod session_cache;
pub mod sql;
pub mod store;
pub mod throttle;
pub mod tokens;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
pub mod platform;
#[cfg(target_arch = "wasm32")]
mod storage;
#[cfg(target_arch = "wasm32")]
mod worker_glue;

#[cfg(target_arch = "wasm32")]
mod entry {
    use worker::worker_sys::web_sys;
    use worker::{event, Context, Env, MessageBatch, Result, ScheduleContext, ScheduledEvent};

    #[event(start)]
    fn start() {
        console_error_panic_hook::set_once();
    }

    #[event(fetch)]
    async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
        crate::worker_glue::handle(req, env, ctx).await
    }

    /// The mail queue's consumer (the same Worker produces and consumes).
    #[event(queue)]
    async fn consume(
        batch: MessageBatch<crate::mail::MailJob>,
        env: Env,
        _ctx: Context,
    ) -> Result<()> {
        crate::worker_glue::consume(batch, env).await;
        Ok(())
    }

    #[event(scheduled)]
    async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
        crate::worker_glue::scheduled(env).await;
    }
}
