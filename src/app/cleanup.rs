//! The scheduled cleanup (a Cron Trigger): deletes rows that can no longer matter, in bounded
//! batches, and logs what it removed.
//!
//! - spent refresh tokens of sessions that have ended (revoked or expired): a replay of one is
//!   refused as unknown just as it was refused as spent;
//! - throttle rows whose window has passed (the next attempt would start a new count anyway);
//! - sessions that expired or were revoked more than `SESSION_RETENTION` ago (kept that long so
//!   the audit of "where was I signed in" outlives the session a little);
//! - email tokens that expired or were used, and forgot/verification request rows whose hour
//!   has passed.

use serde_json::json;

use crate::config::Config;
use crate::http::Ctx;
use crate::store::{CleanupStore, StoreError, EMAIL_CAP_WINDOW_MS};

/// Rows per DELETE statement.
pub const BATCH: u32 = 500;
/// Statements per table per run: a run deletes at most `BATCH * MAX_BATCHES` rows of a table,
/// and the next run carries on.
pub const MAX_BATCHES: u32 = 20;

/// What one run removed, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CleanupReport {
    pub sessions: u32,
    pub spent_refresh_tokens: u32,
    pub login_attempts: u32,
    pub email_tokens: u32,
    pub email_requests: u32,
    /// A table still had more to delete when its batches ran out, or a statement failed.
    pub incomplete: bool,
}

/// Deletes in batches until a batch comes back short or `MAX_BATCHES` have run.
async fn drain<F, Fut>(mut step: F, incomplete: &mut bool) -> Result<u32, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u32, StoreError>>,
{
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let n = step().await?;
        total += n;
        if n < BATCH {
            return Ok(total);
        }
    }
    *incomplete = true;
    Ok(total)
}

/// Runs one cleanup at `now_ms` and logs a `cleanup` line (or `cleanup_failed`).
pub async fn run<C: CleanupStore>(store: &C, config: &Config, ctx: &Ctx) -> CleanupReport {
    let now = ctx.now_ms;
    let retention_before = now - config.session_retention_secs * 1000;
    let window_before = now - config.throttle.window_secs * 1000;
    let mut r = CleanupReport::default();
    let mut incomplete = false;
    let result: Result<(), StoreError> = async {
        r.sessions = drain(
            || store.delete_sessions_ended_before(retention_before, BATCH),
            &mut incomplete,
        )
        .await?;
        r.spent_refresh_tokens = drain(
            || store.delete_spent_of_ended_sessions(now, BATCH),
            &mut incomplete,
        )
        .await?;
        r.login_attempts = drain(
            || store.delete_attempts_before(window_before, BATCH),
            &mut incomplete,
        )
        .await?;
        r.email_tokens = drain(
            || store.delete_dead_email_tokens(now, BATCH),
            &mut incomplete,
        )
        .await?;
        r.email_requests = drain(
            || store.delete_email_requests_before(now - EMAIL_CAP_WINDOW_MS, BATCH),
            &mut incomplete,
        )
        .await?;
        Ok(())
    }
    .await;
    r.incomplete = incomplete || result.is_err();
    let counts = json!({
        "sessions": r.sessions,
        "spent_refresh_tokens": r.spent_refresh_tokens,
        "login_attempts": r.login_attempts,
        "email_tokens": r.email_tokens,
        "email_requests": r.email_requests,
        "incomplete": r.incomplete,
    });
    match result {
        Ok(()) => ctx.log("info", "cleanup", counts),
        Err(e) => {
            let mut fields = counts;
            fields["cause"] = e.to_string().into();
            ctx.log("error", "cleanup_failed", fields);
        }
    }
    r
}
