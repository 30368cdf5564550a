//! `SessionStore` on SQL: `sessions` and `spent_refresh_tokens`.

use super::audit::{event_args, event_statements};
use super::exec::{
    all_rows, first_row, ids_if_written, query, result_of, rows_of, Columns, FromRow, IdRow,
    IntoArg, Sql,
};
use super::{
    ActiveSession, NewSession, Read, Rotation, SessionInfo, SessionStore, StoreError, UserRow,
};
use crate::domain::amr::Amr;
use crate::domain::UserId;
use crate::store::events::Audit;
use crate::store::sql::audit as audit_sql;
use crate::store::sql::sessions as sql;

/// The session's columns of a row whose other columns are a [`UserRow`].
struct RotatedRow {
    session_id: String,
    amr: Amr,
}

impl FromRow for RotatedRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        let amr = Amr::from_json(&row.text("session_amr")?)
            .map_err(|_| StoreError::Corrupt("sessions.amr is not a list of methods".into()))?;
        Ok(RotatedRow {
            session_id: row.text("session_id")?,
            amr,
        })
    }
}

/// The session's columns of a row whose other columns are a [`UserRow`].
struct ActiveSessionRow {
    session_expires_at: f64,
    mfa_enabled: f64,
}

impl FromRow for ActiveSessionRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(ActiveSessionRow {
            session_expires_at: row.number("session_expires_at")?,
            mfa_enabled: row.number_or_zero("mfa_enabled")?,
        })
    }
}

struct TokenStateRow {
    session_id: String,
    spent_at: Option<f64>,
}

impl FromRow for TokenStateRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(TokenStateRow {
            session_id: row.text("session_id")?,
            spent_at: row.optional_number("spent_at")?,
        })
    }
}

struct SessionRow {
    id: String,
    created_at: String,
    last_used_at: Option<f64>,
    expires_at: f64,
    user_agent: Option<String>,
}

impl FromRow for SessionRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(SessionRow {
            id: row.text("id")?,
            created_at: row.text("created_at")?,
            last_used_at: row.optional_number("last_used_at")?,
            expires_at: row.number("expires_at")?,
            user_agent: row.optional_text("user_agent")?,
        })
    }
}

impl<D: Sql> SessionStore for D {
    async fn create_session(&self, s: &NewSession) -> Result<Option<Vec<String>>, StoreError> {
        let user_id = s.user_id.to_string();
        let amr = s.amr.to_json();
        let insert = query!(
            sql::INSERT,
            &s.id,
            &user_id,
            &s.refresh_hash,
            &s.created_at,
            &s.expires_at_ms,
            &s.user_agent,
            &s.password_version,
            &amr,
        );
        let limit = query!(
            sql::REVOKE_BEYOND_LIMIT,
            &user_id,
            &s.now_ms,
            &s.keep_at_most,
            &s.id,
        );
        let drop_ended = query!(
            sql::DROP_ENDED_BEYOND_LIMIT,
            &user_id,
            &s.now_ms,
            &s.keep_at_most,
        );
        // One round trip: the login's throttle row goes with the session's creation.
        let clear = s.clear_attempts_of.as_ref().map(|email| email.as_ref());
        let clear_attempts = query!(
            crate::store::sql::users::CLEAR_ATTEMPTS,
            clear.unwrap_or("")
        );
        let touch = query!(sql::TOUCH_LAST_LOGIN, &user_id, &s.created_at, &s.id);
        // The login's events, and the withdrawal of its check's provisional `login_failed`,
        // only if the session is created (after its insert).
        let withdraw = query!(audit_sql::WITHDRAW_IF_SESSION, &s.attempt_event, &s.id);
        let events = event_args(&s.audit, &[(&user_id).into_arg(), (&s.id).into_arg()]);
        let mut statements = Vec::with_capacity(7);
        if clear.is_some() {
            statements.push(clear_attempts);
        }
        let created = statements.len();
        statements.extend([insert, limit, drop_ended, touch]);
        if s.attempt_event.is_some() {
            statements.push(withdraw);
        }
        statements.extend(event_statements(audit_sql::IF_SESSION, &events));
        let results = self.batch(statements).await?;
        ids_if_written(&results, created, created + 1)
    }

    async fn rotate(&self, old: &str, new: &str, now_ms: i64) -> Result<Rotation, StoreError> {
        // One batch is one transaction, and D1 runs writes one at a time: of concurrent
        // rotations of one token, exactly one finds it current. The spend is recorded first,
        // then the session's current hash is swapped, both under the same condition.
        let record_spend = query!(sql::RECORD_SPEND, old, &now_ms);
        let swap = query!(sql::SWAP_REFRESH, old, new, &now_ms);
        let read_back = query!(sql::ROTATED, new);
        let results = self.batch(vec![record_spend, swap, read_back]).await?;
        if let Some((row, user)) = result_of(&results, 2)?.pair::<RotatedRow, UserRow>()? {
            return Ok(Rotation::Rotated {
                session_id: row.session_id,
                user: user.decode()?,
                amr: row.amr,
            });
        }
        // Not rotated: find out why, for reuse detection. The session a refresh token belongs
        // to: as its current token (`spent_at` NULL) or as a spent one.
        let state: Option<TokenStateRow> = first_row(self, query!(sql::TOKEN_STATE, old)).await?;
        Ok(match state {
            None => Rotation::Unknown,
            Some(TokenStateRow { spent_at: None, .. }) => Rotation::Inactive,
            Some(TokenStateRow {
                session_id,
                spent_at: Some(at),
            }) => Rotation::Spent {
                session_id,
                spent_at_ms: at as i64,
            },
        })
    }

    async fn revoke(
        &self,
        session_id: &str,
        reason: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError> {
        let events = event_args(audit, &[session_id.into_arg()]);
        let revoke = query!(sql::REVOKE, session_id, &now_ms, reason);
        let mut statements: Vec<_> =
            event_statements(audit_sql::IF_SESSION_NOT_REVOKED, &events).collect();
        let revoked = statements.len();
        statements.push(revoke);
        let results = self.batch(statements).await?;
        Ok(!rows_of::<IdRow>(&results, revoked)?.is_empty())
    }

    async fn revoke_by_token(
        &self,
        token_hash: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        // One statement: the session whose current or spent token this is, if still active.
        let row: Option<IdRow> = first_row(
            self,
            query!(sql::REVOKE_BY_TOKEN, token_hash, &now_ms, reason),
        )
        .await?;
        Ok(row.map(|r| r.id))
    }

    async fn active_session(
        &self,
        session_id: &str,
        user_id: &UserId,
        now_ms: i64,
        read: Read,
    ) -> Result<Option<ActiveSession>, StoreError> {
        let user_id = user_id.to_string();
        let stmt = query!(sql::ACTIVE, session_id, &user_id, &now_ms);
        self.read(stmt, read)
            .await?
            .pair::<ActiveSessionRow, UserRow>()?
            .map(|(row, user)| {
                Ok(ActiveSession {
                    expires_at_ms: row.session_expires_at as i64,
                    user: user.decode()?,
                    mfa_enabled: row.mfa_enabled != 0.0,
                })
            })
            .transpose()
    }

    async fn list_sessions(
        &self,
        user_id: &UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let rows: Vec<SessionRow> =
            all_rows(self, query!(sql::LIST, &user_id.to_string(), &now_ms)).await?;
        Ok(rows
            .into_iter()
            .map(|r| SessionInfo {
                id: r.id,
                created_at: r.created_at,
                last_used_at_ms: r.last_used_at.map(|t| t as i64),
                expires_at_ms: r.expires_at as i64,
                user_agent: r.user_agent,
            })
            .collect())
    }

    async fn revoke_user_session(
        &self,
        user_id: &UserId,
        session_id: &str,
        reason: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        let events = event_args(
            audit,
            &[
                session_id.into_arg(),
                (&user_id).into_arg(),
                (&now_ms).into_arg(),
            ],
        );
        let revoke = query!(sql::REVOKE_OF_USER, session_id, &user_id, &now_ms, reason);
        let mut statements: Vec<_> =
            event_statements(audit_sql::IF_ACTIVE_SESSION_OF, &events).collect();
        let revoked = statements.len();
        statements.push(revoke);
        let results = self.batch(statements).await?;
        Ok(!rows_of::<IdRow>(&results, revoked)?.is_empty())
    }

    async fn revoke_other_sessions(
        &self,
        user_id: &UserId,
        keep: &str,
        reason: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<Vec<String>, StoreError> {
        let user_id = user_id.to_string();
        let events = event_args(audit, &[(&user_id).into_arg(), keep.into_arg()]);
        let revoke = query!(sql::REVOKE_OTHERS, &user_id, keep, &now_ms, reason);
        let mut statements: Vec<_> =
            event_statements(audit_sql::IF_OTHER_SESSIONS, &events).collect();
        let revoked = statements.len();
        statements.push(revoke);
        let results = self.batch(statements).await?;
        let rows: Vec<IdRow> = rows_of(&results, revoked)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }
}
