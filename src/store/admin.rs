//! `AdminStore` on SQL: the admin API's reads and changes of accounts.

use super::audit::{event_args, event_statements};
use super::exec::{
    all_rows, first_row, ids_if_written, query, rows_of, Columns, FromRow, IdRow, IntoArg, Sql,
    Statement,
};
use super::StoreError;
use crate::domain::UserId;
use crate::store::events::Audit;
use crate::store::sql::admin as sql;
use crate::store::sql::audit as audit_sql;

/// A user as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUserRow {
    pub id: String,
    pub email: String,
    pub created_at: String,
    pub email_verified: bool,
    pub disabled: bool,
    /// When a session was last opened (RFC 3339), if ever.
    pub last_login_at: Option<String>,
    pub mfa_enabled: bool,
    /// How many passkeys the user has registered.
    pub passkeys: u32,
    /// The password's version (not shown): a deletion is made at the version it read.
    pub password_version: i64,
}

/// What a PATCH of an account sets: each flag `None` keeps its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    pub disabled: Option<bool>,
    pub email_verified: Option<bool>,
    pub updated_at: String,
    pub now_ms: i64,
    /// The events of the action, written if the user exists (`admin_user_updated`).
    pub audit: Audit,
    /// The events of a change of `disabled` (`account_disabled`, `account_enabled`), written
    /// only if the flag changes.
    pub flipped: Audit,
}

/// The admin API's reads and changes of accounts (`users`, and what hangs off them).
#[allow(async_fn_in_trait)]
pub trait AdminStore {
    /// The admin view of a user, if it exists.
    async fn admin_user(&self, id: &UserId) -> Result<Option<AdminUserRow>, StoreError>;
    /// At most `limit` users whose email starts with `email_prefix` (literally), oldest first
    /// (`created_at`, then `id`), after the position `after` (`(created_at, id)`; `None` from
    /// the start).
    async fn admin_users_page(
        &self,
        email_prefix: &str,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<AdminUserRow>, StoreError>;
    /// Sets an account's flags in one transaction; disabling it also revokes every session and
    /// kills its pending second-factor logins. The new view and the revoked session ids, or
    /// `None` when the user does not exist.
    async fn set_user_flags(
        &self,
        id: &UserId,
        change: &FlagChange,
    ) -> Result<Option<(AdminUserRow, Vec<String>)>, StoreError>;
    /// Revokes every session of the user not already revoked, with `audit`'s events (if the
    /// user exists) and `revoked`'s (if it revoked any); their ids.
    async fn revoke_all_sessions(
        &self,
        id: &UserId,
        reason: &str,
        now_ms: i64,
        audit: &Audit,
        revoked: &Audit,
    ) -> Result<Vec<String>, StoreError>;
    /// Removes the user's two-step verification (TOTP on or being set up, the recovery codes,
    /// the pending second-factor logins) in one transaction, with `audit`'s events (if the
    /// user exists) and `turned_off`'s (if it was on); whether it was on.
    async fn remove_mfa(
        &self,
        id: &UserId,
        audit: &Audit,
        turned_off: &Audit,
    ) -> Result<bool, StoreError>;
}

impl FromRow for AdminUserRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(AdminUserRow {
            id: row.text("id")?,
            email: row.text("email")?,
            created_at: row.text("created_at")?,
            email_verified: row.number("email_verified")? != 0.0,
            disabled: row.number("disabled")? != 0.0,
            last_login_at: row.optional_text("last_login_at")?,
            mfa_enabled: row.number("mfa_enabled")? != 0.0,
            passkeys: row.number("passkeys")? as u32,
            password_version: row.number("password_version")? as i64,
        })
    }
}

impl<D: Sql> AdminStore for D {
    async fn admin_user(&self, id: &UserId) -> Result<Option<AdminUserRow>, StoreError> {
        first_row(self, query!(sql::VIEW, &id.to_string())).await
    }

    async fn admin_users_page(
        &self,
        email_prefix: &str,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<AdminUserRow>, StoreError> {
        let (created_at, id) = after.unwrap_or(("", ""));
        all_rows(
            self,
            query!(sql::PAGE, email_prefix, created_at, id, &limit),
        )
        .await
    }

    async fn set_user_flags(
        &self,
        id: &UserId,
        change: &FlagChange,
    ) -> Result<Option<(AdminUserRow, Vec<String>)>, StoreError> {
        let id = id.to_string();
        let disabled = change.disabled.map(i32::from);
        let verified = change.email_verified.map(i32::from);
        // The events first, read before the update: the action's while the user exists, the
        // flag's while it still differs from the value the update sets.
        let events = event_args(&change.audit, &[(&id).into_arg()]);
        let flipped = match &disabled {
            Some(to) => event_args(&change.flipped, &[(&id).into_arg(), to.into_arg()]),
            None => Vec::new(),
        };
        let mut statements: Vec<Statement<'_>> = event_statements(audit_sql::IF_USER, &events)
            .chain(event_statements(audit_sql::IF_DISABLED_CHANGES, &flipped))
            .collect();
        let update = statements.len();
        let update_flags = query!(
            sql::UPDATE_FLAGS,
            &id,
            &disabled,
            &verified,
            &change.updated_at
        );
        let revoke = query!(sql::REVOKE_IF_DISABLED, &id, &change.now_ms);
        let kill = query!(sql::KILL_MFA_TOKENS_IF_DISABLED, &id);
        let view = query!(sql::VIEW, &id);
        statements.extend([update_flags, revoke, kill, view]);
        let results = self.batch(statements).await?;
        let Some(revoked) = ids_if_written(&results, update, update + 1)? else {
            return Ok(None);
        };
        let view = rows_of::<AdminUserRow>(&results, update + 3)?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Unavailable("the view returned no row".into()))?;
        Ok(Some((view, revoked)))
    }

    async fn revoke_all_sessions(
        &self,
        id: &UserId,
        reason: &str,
        now_ms: i64,
        audit: &Audit,
        revoked: &Audit,
    ) -> Result<Vec<String>, StoreError> {
        let id = id.to_string();
        let revoke = query!(sql::REVOKE_ALL, &id, &now_ms, reason);
        // The events before the revocation, under its condition: `revoked`'s while a session
        // is not revoked (`IF_OTHER_SESSIONS` keeping none), so only if it revokes one.
        let events = event_args(audit, &[(&id).into_arg()]);
        let revoked = event_args(revoked, &[(&id).into_arg(), "".into_arg()]);
        let mut statements: Vec<Statement<'_>> = event_statements(audit_sql::IF_USER, &events)
            .chain(event_statements(audit_sql::IF_OTHER_SESSIONS, &revoked))
            .collect();
        let revoking = statements.len();
        statements.push(revoke);
        let results = self.batch(statements).await?;
        let rows: Vec<IdRow> = rows_of(&results, revoking)?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn remove_mfa(
        &self,
        id: &UserId,
        audit: &Audit,
        turned_off: &Audit,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let args = [(&id).into_arg()];
        // The events between the read of whether it is on and the deletions, which they
        // precede: `turned_off`'s only while it is still on.
        let events = event_args(audit, &args);
        let off = event_args(turned_off, &args);
        let statements = std::iter::once(Statement {
            sql: sql::MFA_ON,
            params: &args,
        })
        .chain(event_statements(audit_sql::IF_USER, &events))
        .chain(event_statements(audit_sql::IF_MFA_ON, &off))
        .chain(sql::REMOVE_MFA.map(|sql| Statement { sql, params: &args }))
        .collect();
        let results = self.batch(statements).await?;
        Ok(!rows_of::<IdRow>(&results, 0)?.is_empty())
    }
}
