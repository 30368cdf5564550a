//! The signed-in account: `GET /auth/me`, password change, and deletion. Changing the password
//! and deleting the account re-authenticate through the same password check as login.

use serde_json::json;

use super::Call;
use super::{rfc3339, to_json, App};
use crate::domain::{Email, Password, User};
use crate::error::{AppError, FieldError};
use crate::http::{ApiResponse, Body, Ctx, Fields};
use crate::store::{BreakerStore, PasswordChange, SessionStore, UserStore};

/// The body of `POST /auth/password/change`. The new password follows the registration rules
/// for the signed-in account's email.
struct PasswordChangeBody {
    current_password: String,
    new_password: Password,
}

impl PasswordChangeBody {
    fn from_fields(f: &mut Fields, email: &Email) -> Result<Option<Self>, AppError> {
        let current_password = f.text("current_password");
        let new_password = f
            .text("new_password")
            .and_then(|raw| f.check_all(new_password(&raw, Some(email))));
        Ok(current_password
            .zip(new_password)
            .map(|(current_password, new_password)| Self {
                current_password,
                new_password,
            }))
    }
}

/// The body of `DELETE /auth/me`.
struct AccountDeletion {
    password: String,
}

impl Body for AccountDeletion {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(f.text("password").map(|password| Self { password }))
    }
}

/// A new password checked by the registration rules, its broken rules named `new_password`.
pub(super) fn new_password(raw: &str, email: Option<&Email>) -> Result<Password, Vec<FieldError>> {
    Password::parse(raw, email).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| FieldError::new("new_password", e.code, e.message))
            .collect()
    })
}

impl<U: UserStore, S: SessionStore, B: BreakerStore> App<'_, U, S, B> {
    pub(super) async fn me(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx) = (call.req, call.ctx);
        let token = self.bearer_token(req, ctx)?;
        let state = self.session_state(&token, call).await?;
        Ok(ApiResponse::json(200, &to_json(&state.view())))
    }

    /// Re-authenticates the bearer's user with `password`, as a login of that account would.
    /// Returns the version of the password it checked: the write that follows is conditional
    /// on it.
    async fn reauthenticate(
        &self,
        user: &User,
        password: &str,
        purpose: &str,
        call: &Call<'_, B>,
    ) -> Result<i64, AppError> {
        let guard = &call.guard;
        let checked = self
            .authenticate(
                Some(&user.email),
                user.email.as_ref(),
                password,
                purpose,
                call,
            )
            .await?;
        guard
            .call(|| self.users.clear_failures(&user.email))
            .await?;
        if checked.user.id != user.id {
            // The address now belongs to another account (this one was deleted meanwhile).
            return Err(AppError::InvalidCredentials);
        }
        Ok(checked.user.password_version)
    }

    /// A change or a deletion whose password was set by another request (a reset, a change)
    /// after its check: nothing was written, and the password it checked no longer works.
    fn overtaken(user: &User, event: &str, ctx: &Ctx) -> AppError {
        ctx.log(
            "info",
            event,
            json!({ "reason": "password_changed", "user_id": user.id.to_string() }),
        );
        AppError::InvalidCredentials
    }

    /// `POST /auth/password/change`: replaces the password and signs out every other session.
    pub(super) async fn change_password(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let (token, user) = self.bearer_user(call).await?;
        // The fields are checked before anything is hashed, so a bad request costs no attempt.
        let PasswordChangeBody {
            current_password: current,
            new_password: new,
        } = req.parse_with(false, |f| PasswordChangeBody::from_fields(f, &user.email))?;
        let current = current.as_str();
        let version = self
            .reauthenticate(&user, current, "password_change", call)
            .await?;
        let phc = self.new_password_hash(new.expose(), ctx).await?;
        let updated_at = rfc3339(ctx.now_ms);
        let change = PasswordChange {
            user_id: &user.id,
            phc: &phc,
            updated_at: &updated_at,
            keep_session: Some(&token.claims.sid),
            reason: "password_changed",
            now_ms: ctx.now_ms,
        };
        let Some(revoked) = guard
            .call(|| self.users.replace_password(&change, version))
            .await?
        else {
            return Err(Self::overtaken(&user, "password_change_failed", ctx));
        };
        self.purge_sessions(&revoked, ctx).await;
        ctx.log(
            "info",
            "password_changed",
            json!({
                "user_id": user.id.to_string(),
                "sid": token.claims.sid,
                "sessions_revoked": revoked.len(),
            }),
        );
        self.notify_password_changed(&user.email, ctx);
        Ok(ApiResponse::empty(204))
    }

    /// `DELETE /auth/me`: deletes the account and everything that hangs off it, at once.
    pub(super) async fn delete_account(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let (token, user) = self.bearer_user(call).await?;
        let AccountDeletion { password } = req.parse()?;
        let password = password.as_str();
        let version = self
            .reauthenticate(&user, password, "account_delete", call)
            .await?;
        let Some(session_ids) = guard
            .call(|| self.users.delete_user(&user.id, &user.email, version))
            .await?
        else {
            // Deleted by a concurrent request, or its password set since the check.
            return Err(Self::overtaken(&user, "account_delete_failed", ctx));
        };
        self.purge_sessions(&session_ids, ctx).await;
        ctx.log(
            "info",
            "account_deleted",
            json!({
                "user_id": user.id.to_string(),
                "sid": token.claims.sid,
                "email": user.email.redacted(),
            }),
        );
        Ok(ApiResponse::empty(204))
    }
}
