//! `MfaStore` on SQL: `mfa_totp`, `mfa_recovery_codes` and `mfa_tokens`. Every rule two
//! requests could race on is the condition of one statement (or of a batch, one transaction),
//! so exactly one of them passes.

use super::audit::{event_args, event_statements};
use super::exec::{first_row, query, rows_of, Columns, FromRow, IntoArg, Sql};
use super::{MfaStore, NewMfaToken, StoreError, TotpState, UserRow};
use crate::domain::{User, UserId};
use crate::store::events::Audit;
use crate::store::sql::audit as audit_sql;
use crate::store::sql::mfa as sql;

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
        let row: Option<UserIdRow> = first_row(
            self,
            query!(sql::SETUP, &user_id.to_string(), sealed, &now_ms),
        )
        .await?;
        Ok(row.is_some())
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
        let hashes =
            serde_json::to_string(code_hashes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The events hold if the confirmation set this (new) recovery set.
        let events = event_args(audit, &[(&user).into_arg(), batch.into_arg()]);
        let confirm = query!(sql::CONFIRM, &user, sealed, &step, &now_ms, batch);
        let drop_stale = query!(sql::DROP_STALE_RECOVERY_CODES, &user);
        let insert = query!(sql::INSERT_RECOVERY_CODES, &user, batch, &hashes);
        let mut statements = vec![confirm, drop_stale, insert];
        statements.extend(event_statements(audit_sql::IF_MFA_SET, &events));
        let results = self.batch(statements).await?;
        Ok(!rows_of::<UserIdRow>(&results, 0)?.is_empty())
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
            let row: Option<UserIdRow> = first_row(
                self,
                query!(
                    sql::ACCEPT_STEP,
                    &user,
                    sealed,
                    &step,
                    &now_ms,
                    &None::<String>
                ),
            )
            .await?;
            return Ok(row.is_some());
        };
        let hashes =
            serde_json::to_string(code_hashes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let results = self
            .batch(vec![
                query!(sql::ACCEPT_STEP, &user, sealed, &step, &now_ms, batch),
                query!(sql::DROP_STALE_RECOVERY_CODES, &user),
                query!(sql::INSERT_RECOVERY_CODES, &user, batch, &hashes),
            ])
            .await?;
        Ok(!rows_of::<UserIdRow>(&results, 0)?.is_empty())
    }

    async fn reseal_totp(
        &self,
        user_id: &UserId,
        old_sealed: &str,
        new_sealed: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let row: Option<UserIdRow> = first_row(
            self,
            query!(
                sql::RESEAL,
                &user_id.to_string(),
                old_sealed,
                new_sealed,
                &now_ms
            ),
        )
        .await?;
        Ok(row.is_some())
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
        let results = self.batch(statements).await?;
        Ok(!rows_of::<UserIdRow>(&results, disabled)?.is_empty())
    }

    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        code_hash: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError> {
        let user = user_id.to_string();
        let no_token = None::<String>;
        let spend = query!(sql::USE_RECOVERY_CODE, &user, code_hash, &now_ms, &no_token);
        let events = code_event_args(audit, &user, code_hash, &now_ms, &no_token);
        let mut statements: Vec<_> =
            event_statements(audit_sql::IF_RECOVERY_CODE_USABLE, &events).collect();
        let spent = statements.len();
        statements.push(spend);
        let results = self.batch(statements).await?;
        Ok(!rows_of::<UserIdRow>(&results, spent)?.is_empty())
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
        let results = self.batch(statements).await?;
        Ok(!rows_of::<TokenHashRow>(&results, 0)?.is_empty())
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
        let row: Option<UserIdRow> =
            first_row(self, query!(sql::CLAIM_TOKEN, token_hash, &now_ms)).await?;
        Ok(row.is_some())
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
        let spend = query!(sql::USE_RECOVERY_CODE, &user, code_hash, &now_ms, &token);
        let events = code_event_args(audit, &user, code_hash, &now_ms, &token);
        let mut statements: Vec<_> =
            event_statements(audit_sql::IF_RECOVERY_CODE_USABLE, &events).collect();
        let claim = query!(
            sql::CLAIM_TOKEN_WITH_RECOVERY_CODE,
            token_hash,
            &now_ms,
            code_hash
        );
        statements.extend([spend, claim]);
        let claimed = statements.len() - 1;
        let results = self.batch(statements).await?;
        Ok(!rows_of::<UserIdRow>(&results, claimed)?.is_empty())
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

/// The arguments of `audit`'s events about the spend of recovery code `code_hash` of `user`
/// at `now_ms` (by the verify of `mfa_token` hash `token`, if one), for
/// `audit_sql::IF_RECOVERY_CODE_USABLE`: placed just before the spend, under its condition, so
/// they are written exactly when the code is spent.
fn code_event_args<'a>(
    audit: &'a Audit,
    user: &'a String,
    code_hash: &'a str,
    now_ms: &'a i64,
    token: &'a Option<String>,
) -> Vec<Vec<super::exec::Arg<'a>>> {
    event_args(
        audit,
        &[
            user.into_arg(),
            code_hash.into_arg(),
            now_ms.into_arg(),
            token.into_arg(),
        ],
    )
}

/// The `user_id` a statement of `mfa_*` returns.
struct UserIdRow;

impl FromRow for UserIdRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        row.text("user_id").map(|_| UserIdRow)
    }
}
