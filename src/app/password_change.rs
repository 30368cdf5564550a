//! Password change: `POST /auth/password/change` re-authenticates the signed-in user, stores
//! the new password and signs out every other session.

use crate::log_fields;

use super::{rfc3339, App, Call, Crypto};
use crate::domain::Email;
use crate::http::error::{AppError, FieldError};
use crate::http::{ApiResponse, Fields};
use crate::password::Password;
use crate::store::events::EventKind;
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

/// A new password checked by the registration rules, its broken rules named `new_password`.
pub(super) fn new_password(raw: &str, email: Option<&Email>) -> Result<Password, Vec<FieldError>> {
    Password::parse(raw, email).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| FieldError::new("new_password", e.code, e.message))
            .collect()
    })
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
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
        let audit = call.audit(&[EventKind::PasswordChanged]);
        let change = PasswordChange {
            user_id: &user.id,
            phc: &phc,
            updated_at: &updated_at,
            keep_session: Some(&token.claims.sid),
            reason: "password_changed",
            now_ms: ctx.now_ms,
            audit: &audit,
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
            log_fields!({
                "user_id": user.id.to_string(),
                "sid": token.claims.sid,
                "sessions_revoked": revoked.len(),
            }),
        );
        self.notify_password_changed(&user.email, ctx);
        Ok(ApiResponse::empty(204))
    }
}
