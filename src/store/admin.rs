//! `AdminStore` on SQL: the admin API's reads and changes of accounts.

use super::exec::{
    all_rows, first_row, ids_if_written, query, rows_of, Columns, FromRow, IdRow, IntoArg, Sql,
    Statement,
};
use super::{AdminStore, AdminUserRow, FlagChange, StoreError};
use crate::domain::UserId;
use crate::store::sql::admin as sql;

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
        let results = self
            .batch(vec![
                query!(
                    sql::UPDATE_FLAGS,
                    &id,
                    &disabled,
                    &verified,
                    &change.updated_at
                ),
                query!(sql::REVOKE_IF_DISABLED, &id, &change.now_ms),
                query!(sql::KILL_MFA_TOKENS_IF_DISABLED, &id),
                query!(sql::VIEW, &id),
            ])
            .await?;
        let Some(revoked) = ids_if_written(&results, 0, 1)? else {
            return Ok(None);
        };
        let view = rows_of::<AdminUserRow>(&results, 3)?
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
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<IdRow> = all_rows(
            self,
            query!(sql::REVOKE_ALL, &id.to_string(), &now_ms, reason),
        )
        .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn remove_mfa(&self, id: &UserId) -> Result<bool, StoreError> {
        let id = id.to_string();
        let args = [(&id).into_arg()];
        let statements = std::iter::once(sql::MFA_ON)
            .chain(sql::REMOVE_MFA)
            .map(|sql| Statement { sql, params: &args })
            .collect();
        let results = self.batch(statements).await?;
        Ok(!rows_of::<IdRow>(&results, 0)?.is_empty())
    }
}
