//! The scheduled cleanup (a Cron Trigger): deletes rows that can no longer matter, in bounded
//! batches, and logs what it removed.
//!
//! - spent refresh tokens of sessions that have ended (revoked or expired): a replay of one is
//!   refused as unknown just as it was refused as spent;
//! - throttle rows whose window has passed (the next attempt would start a new count anyway);
//! - sessions that expired or were revoked more than `SESSION_RETENTION` ago (kept that long so
//!   the audit of "where was I signed in" outlives the session a little);
//! - email tokens that expired or were used, and forgot/verification request rows whose hour
//!   has passed;
//! - passkey challenges that expired unused.
//! - `mfa_tokens` that expired (a login's second half that never came, or came and used it).
//! - audit events older than `AUDIT_RETENTION_DAYS`.

use crate::log_fields;

use crate::config::Config;
use crate::http::{Ctx, IfSome};
use crate::store::{CleanupStore, StoreError, EMAIL_CAP_WINDOW_MS};

/// Rows per DELETE statement.
pub const BATCH: u32 = 1000;
/// DELETE statements per run, over all tables: under the 50 D1 queries that one invocation of
/// a Worker on the Free plan may make. A run deletes at most `BATCH * MAX_STATEMENTS` rows, and
/// the next run (every 10 minutes, `wrangler.toml`) carries on.
pub const MAX_STATEMENTS: u32 = 45;

/// What one run removed, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CleanupReport {
    pub sessions: u32,
    pub spent_refresh_tokens: u32,
    pub login_attempts: u32,
    pub email_tokens: u32,
    pub email_requests: u32,
    pub passkey_challenges: u32,
    pub mfa_tokens: u32,
    pub audit_events: u32,
    /// A table still had more to delete when the run's statements ran out, or a statement
    /// failed.
    pub incomplete: bool,
}

/// The tables, in the order a round visits them: sessions first, so that their spent tokens
/// go by cascade before the spent tokens' own pass.
#[derive(Clone, Copy)]
enum Table {
    Sessions,
    SpentRefreshTokens,
    LoginAttempts,
    EmailTokens,
    EmailRequests,
    PasskeyChallenges,
    MfaTokens,
    AuditEvents,
}

const TABLES: [Table; 8] = [
    Table::Sessions,
    Table::SpentRefreshTokens,
    Table::LoginAttempts,
    Table::EmailTokens,
    Table::EmailRequests,
    Table::PasskeyChallenges,
    Table::MfaTokens,
    Table::AuditEvents,
];

/// The cut-offs of one run.
struct Cutoffs {
    now: i64,
    retention_before: i64,
    window_before: i64,
    audit_before: i64,
}

/// One batch of `table`; how many rows it deleted, added to the report too.
async fn delete_batch<C: CleanupStore>(
    store: &C,
    table: Table,
    at: &Cutoffs,
    r: &mut CleanupReport,
) -> Result<u32, StoreError> {
    let (n, total) = match table {
        Table::Sessions => (
            store
                .delete_sessions_ended_before(at.retention_before, BATCH)
                .await?,
            &mut r.sessions,
        ),
        Table::SpentRefreshTokens => (
            store.delete_spent_of_ended_sessions(at.now, BATCH).await?,
            &mut r.spent_refresh_tokens,
        ),
        Table::LoginAttempts => (
            store
                .delete_attempts_before(at.window_before, BATCH)
                .await?,
            &mut r.login_attempts,
        ),
        Table::EmailTokens => (
            store.delete_dead_email_tokens(at.now, BATCH).await?,
            &mut r.email_tokens,
        ),
        Table::EmailRequests => (
            store
                .delete_email_requests_before(at.now - EMAIL_CAP_WINDOW_MS, BATCH)
                .await?,
            &mut r.email_requests,
        ),
        Table::PasskeyChallenges => (
            store
                .delete_expired_passkey_challenges(at.now, BATCH)
                .await?,
            &mut r.passkey_challenges,
        ),
        Table::MfaTokens => (
            store.delete_expired_mfa_tokens(at.now, BATCH).await?,
            &mut r.mfa_tokens,
        ),
        Table::AuditEvents => (
            store
                .delete_audit_events_before(at.audit_before, BATCH)
                .await?,
            &mut r.audit_events,
        ),
    };
    *total += n;
    Ok(n)
}

/// Rounds that visit every table still in `pending`, one batch each, until each comes back
/// short or the run's statements are spent; `pending` keeps the tables that may have more.
async fn rounds<C: CleanupStore>(
    store: &C,
    at: &Cutoffs,
    pending: &mut Vec<Table>,
    r: &mut CleanupReport,
) -> Result<(), StoreError> {
    let mut statements = 0;
    while !pending.is_empty() && statements < MAX_STATEMENTS {
        let round = std::mem::take(pending);
        for (i, &table) in round.iter().enumerate() {
            if statements == MAX_STATEMENTS {
                pending.extend_from_slice(&round[i..]);
                break;
            }
            statements += 1;
            let full = match delete_batch(store, table, at, r).await {
                Ok(n) => n == BATCH,
                Err(e) => {
                    pending.extend_from_slice(&round[i..]);
                    return Err(e);
                }
            };
            if full {
                pending.push(table);
            }
        }
    }
    Ok(())
}

/// Runs one cleanup at `now_ms` and logs a `cleanup` line (or `cleanup_failed`). Rounds visit
/// every table that still has dead rows, so a flood in one table cannot starve the others.
pub async fn run<C: CleanupStore>(store: &C, config: &Config, ctx: &Ctx) -> CleanupReport {
    let now = ctx.now_ms;
    let at = Cutoffs {
        now,
        retention_before: now - config.session_retention_secs * 1000,
        window_before: now - config.throttle.window_secs * 1000,
        audit_before: now - config.audit_retention_days * 86_400_000,
    };
    let mut r = CleanupReport::default();
    let mut pending = TABLES.to_vec();
    let result = rounds(store, &at, &mut pending, &mut r).await;
    r.incomplete = !pending.is_empty() || result.is_err();
    let error = result.as_ref().err().map(ToString::to_string);
    let cause = IfSome(error.as_deref());
    let fields = log_fields!({
        "sessions": r.sessions,
        "spent_refresh_tokens": r.spent_refresh_tokens,
        "login_attempts": r.login_attempts,
        "email_tokens": r.email_tokens,
        "email_requests": r.email_requests,
        "passkey_challenges": r.passkey_challenges,
        "mfa_tokens": r.mfa_tokens,
        "audit_events": r.audit_events,
        "incomplete": r.incomplete,
        "cause": cause,
    });
    match error {
        None => ctx.log("info", "cleanup", fields),
        Some(_) => ctx.log("error", "cleanup_failed", fields),
    }
    r
}
