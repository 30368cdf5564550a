//! The signed-in account: `GET /auth/me`, password change, and deletion. Changing the password
//! and deleting the account re-authenticate through the same password check as login.

use serde_json::json;

use super::guard::Guard;
use super::{rfc3339, to_json, App};
use crate::domain::{Password, User};
use crate::error::{AppError, FieldError};
use crate::http::{self, ApiRequest, ApiResponse, Ctx};
use crate::store::{BreakerStore, PasswordChange, SessionStore, UserStore};

impl<U: UserStore, S: SessionStore, B: BreakerStore> App<'_, U, S, B> {
    pub(super) async fn me(
        &self,
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let token = self.bearer_token(req, ctx)?;
        let state = self.session_state(&token, ctx, guard).await?;
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
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<i64, AppError> {
        let checked = self
            .authenticate(
                Some(&user.email),
                user.email.as_ref(),
                password,
                purpose,
                ctx,
                guard,
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
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (token, user) = self.bearer_user(req, ctx, guard).await?;
        let body = http::body_object(req, false)?;
        // The fields are checked before anything is hashed, so a bad request costs no attempt.
        let current = http::string_field(&body, "current_password");
        let new = http::string_field(&body, "new_password").map_err(|e| vec![e]);
        let new = new.and_then(|raw| {
            Password::parse(raw, Some(&user.email)).map_err(|errors| {
                errors
                    .into_iter()
                    .map(|e| FieldError::new("new_password", e.code, e.message))
                    .collect()
            })
        });
        let (current, new) = match (current, new) {
            (Ok(c), Ok(n)) => (c, n),
            (c, n) => {
                let mut errors: Vec<FieldError> = c.err().into_iter().collect();
                errors.extend(n.err().unwrap_or_default());
                return Err(AppError::Validation(errors));
            }
        };
        let version = self
            .reauthenticate(&user, current, "password_change", ctx, guard)
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
    pub(super) async fn delete_account(
        &self,
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (token, user) = self.bearer_user(req, ctx, guard).await?;
        let body = http::body_object(req, false)?;
        let password =
            http::string_field(&body, "password").map_err(|e| AppError::Validation(vec![e]))?;
        let version = self
            .reauthenticate(&user, password, "account_delete", ctx, guard)
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
