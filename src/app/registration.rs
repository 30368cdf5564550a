//! Registration: `POST /auth/register` makes an account from an email and a password.

use crate::log_fields;

use super::{rfc3339, user_view, App, Call, Crypto};
use crate::domain::{Email, User, UserId};
use crate::http::error::AppError;
use crate::http::{ApiResponse, Body, Fields};
use crate::password::Password;
use crate::store::events::EventKind;
use crate::store::{BreakerStore, SessionStore, UserStore};

/// The body of `POST /auth/register`.
struct Registration {
    email: Email,
    password: Password,
}

impl Body for Registration {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        let email = f.text("email").and_then(|raw| f.check(Email::parse(&raw)));
        let password = f
            .text("password")
            .and_then(|raw| f.check_all(Password::parse(&raw, email.as_ref())));
        Ok(email
            .zip(password)
            .map(|(email, password)| Self { email, password }))
    }
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    pub(super) async fn register(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let Registration { email, password } = req.parse()?;
        let phc = self.new_password_hash(password.expose(), ctx).await?;
        let user = User {
            id: UserId::new_random().map_err(AppError::internal)?,
            email,
            password_hash: phc,
            password_version: 0,
            created_at: rfc3339(ctx.now_ms),
            email_verified: false,
        };
        let audit = call.audit(&[EventKind::UserRegistered]);
        if !guard.call(|| self.users.insert_user(&user, &audit)).await? {
            ctx.log(
                "info",
                "register_rejected",
                log_fields!({ "reason": "email_taken", "email": user.email.redacted() }),
            );
            return Err(AppError::EmailTaken);
        }
        ctx.log(
            "info",
            "user_registered",
            log_fields!({ "user_id": user.id.to_string(), "email": user.email.redacted() }),
        );
        self.send_welcome_verification(&user, ctx);
        Ok(ApiResponse::json(201, &user_view(&user, false)).with_header("location", "/auth/me"))
    }
}
