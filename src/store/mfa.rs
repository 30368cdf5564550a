//! `MfaStore` on SQL: `mfa_totp`, `mfa_recovery_codes` and `mfa_tokens`. Every rule two
//! requests could race on is the condition of one statement (or of a batch, one transaction),
//! so exactly one of them passes.

use super::audit::{event_args, event_statements};
use super::exec::{first_row, query, rows_of, Columns, FromRow, IntoArg, Sql, Statement};
use super::{StoreError, UserRow};
use crate::domain::{User, UserId};
use crate::store::events::Audit;
use crate::store::sql::audit as audit_sql;
use crate::store::sql::mfa as sql;

/// A user's TOTP row: `sealed_secret` is `None` while off; `enabled` is false while a setup is
/// pending (or off); `last_step` is the last accepted step (-1 before any), kept across
/// re-enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpState {
    pub sealed_secret: Option<String>,
    pub enabled: bool,
    pub last_step: i64,
}

impl TotpState {
    /// The last accepted step as [`crate::app::mfa::totp::verify`] takes it.
    pub fn last_accepted(&self) -> Option<u64> {
        u64::try_from(self.last_step).ok()
    }
}

/// The `mfa_token` of a login's first half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMfaToken<'a> {
    pub token_hash: &'a str,
    pub user_id: &'a UserId,
    pub password_version: i64,
    pub now_ms: i64,
    pub expires_at_ms: i64,
    pub audit: &'a Audit,
    /// The password check's provisional event ([`LoginLookup::attempt_event`]).
    pub withdraw: Option<i64>,
}

/// Two-step verification (`crate::store::sql::mfa`'s statements). Each write that two requests
/// could race on is conditional, and returns whether it happened: of concurrent ones, exactly
/// one does.
#[allow(async_fn_in_trait)]
pub trait MfaStore {
    /// User `user_id`'s TOTP row; `None` when never set up.
    async fn totp_state(&self, user_id: &UserId) -> Result<Option<TotpState>, StoreError>;
    /// Stores `sealed` as the pending secret (replacing a pending one) unless TOTP is enabled;
    /// `false` when it is.
    async fn setup_totp(
        &self,
        user_id: &UserId,
        sealed: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Enables the pending secret `sealed` (still the row's) with a code of `step` (after the
    /// last accepted one), and stores the code hashes of `new_set` as its recovery set (the
    /// set's id, the hashes), in one transaction, with `audit`'s events if it enabled it.
    async fn confirm_totp(
        &self,
        user_id: &UserId,
        sealed: &str,
        step: u64,
        now_ms: i64,
        new_set: (&str, &[String]),
        audit: &Audit,
    ) -> Result<bool, StoreError>;
    /// Accepts `step` of the enabled secret `sealed` (only after the last accepted one: replay);
    /// with `new_set`, the recovery codes are replaced in the same transaction.
    async fn accept_step(
        &self,
        user_id: &UserId,
        sealed: &str,
        step: u64,
        now_ms: i64,
        new_set: Option<(&str, &[String])>,
    ) -> Result<bool, StoreError>;
    /// Replaces `old_sealed` (under an old key) with `new_sealed` if the row still holds it.
    async fn reseal_totp(
        &self,
        user_id: &UserId,
        old_sealed: &str,
        new_sealed: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Turns TOTP off and drops the recovery codes, with `audit`'s events if it was on;
    /// `false` when it was not on.
    async fn disable_totp(
        &self,
        user_id: &UserId,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError>;
    /// Spends an unused recovery code of the current set (outside a login), with `audit`'s
    /// events if it did.
    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError>;
    async fn recovery_codes_left(&self, user_id: &UserId) -> Result<u32, StoreError>;
    /// Stores an `mfa_token` while the password is still at `password_version`; if it did,
    /// `token.audit`'s events (`mfa_required`) go with it and the password check's provisional
    /// event `token.withdraw` goes (the password was right).
    async fn insert_mfa_token(&self, token: &NewMfaToken<'_>) -> Result<bool, StoreError>;
    /// The user of a live `mfa_token` (unused, unexpired, fewer than 5 wrong codes, password
    /// unchanged).
    async fn mfa_token_user(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError>;
    /// Uses a live `mfa_token`; of concurrent claims exactly one gets `true`.
    async fn claim_mfa_token(&self, token_hash: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// Spends a recovery code and uses a live `mfa_token` together, or neither; `audit`'s
    /// events only if it did.
    async fn claim_mfa_token_with_recovery_code(
        &self,
        user_id: &UserId,
        token_hash: &str,
        code_hash: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError>;
    /// Counts a wrong code against a live `mfa_token`: the count, or `None` if it was not live.
    async fn record_wrong_code(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<u32>, StoreError>;
}

impl FromRow for TotpState {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(TotpState {
            sealed_secret: row.optional_text("sealed_secret")?,
            enabled: row.optional_number("enabled_at")?.is_some(),
            last_step: row.number("last_step")? as i64,
        })
    }
}

struct CountRow {
    count: f64,
}

impl FromRow for CountRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(CountRow {
            count: row.number("count(*)")?,
        })
    }
}

struct WrongCodesRow {
    wrong_codes: f64,
}

impl FromRow for WrongCodesRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(WrongCodesRow {
            wrong_codes: row.number("wrong_codes")?,
        })
    }
}

struct TokenHashRow;

impl FromRow for TokenHashRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        row.text("token_hash").map(|_| TokenHashRow)
    }
}

/// A step as bound: D1 numbers are doubles, which hold every step exactly.
fn step_arg(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

impl<D: Sql> MfaStore for D {
    async fn totp_state(&self, user_id: &UserId) -> Result<Option<TotpState>, StoreError> {
        first_row(self, query!(sql::STATE, &user_id.to_string())).await
    }

    async fn setup_totp(
        &self,
        user_id: &UserId,
        sealed: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        wrote(
            self,
            query!(sql::SETUP, &user_id.to_string(), sealed, &now_ms),
        )
        .await
    }

    async fn confirm_totp(
        &self,
        user_id: &UserId,
        sealed: &str,
        step: u64,
        now_ms: i64,
        (batch, code_hashes): (&str, &[String]),
        audit: &Audit,
    ) -> Result<bool, StoreError> {
        let user = user_id.to_string();
        let step = step_arg(step);
        let hashes = hashes_json(code_hashes)?;
        // The events hold if the confirmation set this (new) recovery set.
        let events = event_args(audit, &[(&user).into_arg(), batch.into_arg()]);
        let confirm = query!(sql::CONFIRM, &user, sealed, &step, &now_ms, batch);
        let drop_stale = query!(sql::DROP_STALE_RECOVERY_CODES, &user);
        let insert = query!(sql::INSERT_RECOVERY_CODES, &user, batch, &hashes);
        let mut statements = vec![confirm, drop_stale, insert];
        statements.extend(event_statements(audit_sql::IF_MFA_SET, &events));
        batch_wrote::<UserIdRow>(self, statements, 0).await
    }

    async fn accept_step(
        &self,
        user_id: &UserId,
        sealed: &str,
        step: u64,
        now_ms: i64,
        new_set: Option<(&str, &[String])>,
    ) -> Result<bool, StoreError> {
        let user = user_id.to_string();
        let step = step_arg(step);
        let Some((batch, code_hashes)) = new_set else {
            let no_set = None::<String>;
            let accept = query!(sql::ACCEPT_STEP, &user, sealed, &step, &now_ms, &no_set);
            return wrote(self, accept).await;
        };
        let hashes = hashes_json(code_hashes)?;
        let accept = query!(sql::ACCEPT_STEP, &user, sealed, &step, &now_ms, batch);
        let drop_stale = query!(sql::DROP_STALE_RECOVERY_CODES, &user);
        let insert = query!(sql::INSERT_RECOVERY_CODES, &user, batch, &hashes);
        batch_wrote::<UserIdRow>(self, vec![accept, drop_stale, insert], 0).await
    }

    async fn reseal_totp(
        &self,
        user_id: &UserId,
        old_sealed: &str,
        new_sealed: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let user = user_id.to_string();
        wrote(
            self,
            query!(sql::RESEAL, &user, old_sealed, new_sealed, &now_ms),
        )
        .await
    }

    async fn disable_totp(
        &self,
        user_id: &UserId,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError> {
        let user = user_id.to_string();
        // The events go first, while it is still on: they hold exactly when it is turned off.
        let events = event_args(audit, &[(&user).into_arg()]);
        let mut statements: Vec<_> = event_statements(audit_sql::IF_MFA_ON, &events).collect();
        let disabled = statements.len();
        let disable = query!(sql::DISABLE, &user, &now_ms);
        let drop_stale = query!(sql::DROP_STALE_RECOVERY_CODES, &user);
        statements.extend([disable, drop_stale]);
        batch_wrote::<UserIdRow>(self, statements, disabled).await
    }

    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError> {
        let user = user_id.to_string();
        spend_recovery_code(self, &user, code_hash, now_ms, &None, audit, None).await
    }

    async fn recovery_codes_left(&self, user_id: &UserId) -> Result<u32, StoreError> {
        let row: Option<CountRow> =
            first_row(self, query!(sql::RECOVERY_CODES_LEFT, &user_id.to_string())).await?;
        Ok(row.map_or(0, |r| r.count as u32))
    }

    async fn insert_mfa_token(&self, t: &NewMfaToken<'_>) -> Result<bool, StoreError> {
        let user = t.user_id.to_string();
        let insert = query!(
            sql::INSERT_TOKEN,
            t.token_hash,
            &user,
            &t.password_version,
            &t.now_ms,
            &t.expires_at_ms
        );
        // The events, and the withdrawal of the check's `login_failed`, only if the token is
        // stored (after its insert).
        let events = event_args(t.audit, &[(&user).into_arg(), t.token_hash.into_arg()]);
        let mut statements = vec![insert];
        let withdraw = query!(audit_sql::WITHDRAW_IF_MFA_TOKEN, &t.withdraw, t.token_hash);
        if t.withdraw.is_some() {
            statements.push(withdraw);
        }
        statements.extend(event_statements(audit_sql::IF_MFA_TOKEN, &events));
        batch_wrote::<TokenHashRow>(self, statements, 0).await
    }

    async fn mfa_token_user(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> =
            first_row(self, query!(sql::LIVE_TOKEN_USER, token_hash, &now_ms)).await?;
        row.map(UserRow::decode).transpose()
    }

    async fn claim_mfa_token(&self, token_hash: &str, now_ms: i64) -> Result<bool, StoreError> {
        wrote(self, query!(sql::CLAIM_TOKEN, token_hash, &now_ms)).await
    }

    async fn claim_mfa_token_with_recovery_code(
        &self,
        user_id: &UserId,
        token_hash: &str,
        code_hash: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError> {
        let user = user_id.to_string();
        let token = Some(token_hash.to_owned());
        let claim = query!(
            sql::CLAIM_TOKEN_WITH_RECOVERY_CODE,
            token_hash,
            &now_ms,
            code_hash
        );
        spend_recovery_code(self, &user, code_hash, now_ms, &token, audit, Some(claim)).await
    }

    async fn record_wrong_code(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<u32>, StoreError> {
        let row: Option<WrongCodesRow> =
            first_row(self, query!(sql::RECORD_WRONG_CODE, token_hash, &now_ms)).await?;
        Ok(row.map(|r| r.wrong_codes as u32))
    }
}

/// Runs a conditional statement of `mfa_*`: whether it wrote (returned its `user_id`).
async fn wrote(db: &impl Sql, stmt: Statement<'_>) -> Result<bool, StoreError> {
    let row: Option<UserIdRow> = first_row(db, stmt).await?;
    Ok(row.is_some())
}

/// Runs `statements` as one transaction: whether statement `written` (the write the others'
/// conditions follow) wrote (returned its row, a `T`).
async fn batch_wrote<T: FromRow>(
    db: &impl Sql,
    statements: Vec<Statement<'_>>,
    written: usize,
) -> Result<bool, StoreError> {
    let results = db.batch(statements).await?;
    Ok(!rows_of::<T>(&results, written)?.is_empty())
}

/// A recovery set's code hashes as `sql::INSERT_RECOVERY_CODES` binds them: one JSON array.
fn hashes_json(code_hashes: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(code_hashes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Spends recovery code `code_hash` of `user` at `now_ms` (by the verify of `mfa_token` hash
/// `token`, if one), then `then` (whose condition follows the spend), in one transaction:
/// whether the last statement wrote. `audit`'s events, for `audit_sql::IF_RECOVERY_CODE_USABLE`,
/// go just before the spend, under its condition, so they are written exactly when the code is
/// spent.
async fn spend_recovery_code(
    db: &impl Sql,
    user: &String,
    code_hash: &str,
    now_ms: i64,
    token: &Option<String>,
    audit: &Audit,
    then: Option<Statement<'_>>,
) -> Result<bool, StoreError> {
    let spend = query!(sql::USE_RECOVERY_CODE, user, code_hash, &now_ms, token);
    let events = event_args(
        audit,
        &[
            user.into_arg(),
            code_hash.into_arg(),
            (&now_ms).into_arg(),
            token.into_arg(),
        ],
    );
    let mut statements: Vec<_> =
        event_statements(audit_sql::IF_RECOVERY_CODE_USABLE, &events).collect();
    statements.push(spend);
    statements.extend(then);
    let last = statements.len() - 1;
    batch_wrote::<UserIdRow>(db, statements, last).await
}

/// The `user_id` a statement of `mfa_*` returns.
struct UserIdRow;

impl FromRow for UserIdRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        row.text("user_id").map(|_| UserIdRow)
    }
}
