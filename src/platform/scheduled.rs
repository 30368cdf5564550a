//! The Cron Trigger: the scheduled cleanup of rows that can no longer matter (the decisions are
//! the core's, in `app::cleanup`).

use crate::log_fields;
use worker::{Date, Env};

use super::console;
use super::d1::D1Store;
use super::env::isolate;
use crate::config::names;
use crate::http::{self, Ctx};

/// One run of the cleanup, on the D1 store.
pub async fn run(env: Env) {
    let ctx = Ctx::new(http::request_id(None), Date::now().as_millis() as i64);
    match (isolate(&env), env.d1(names::DB)) {
        (Ok(isolate), Ok(db)) => {
            crate::app::cleanup::run(&D1Store(db), &isolate.config, &ctx).await;
        }
        (Err(why), _) => ctx.log("error", "config_invalid", log_fields!({ "cause": why })),
        (_, Err(e)) => ctx.log(
            "error",
            "cleanup_failed",
            log_fields!({ "cause": e.to_string() }),
        ),
    }
    console::log_lines(&ctx);
}
