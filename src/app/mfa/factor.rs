//! What the two-step endpoints share: the sealed secret opened (and moved to the current key),
//! a TOTP or recovery code checked behind the login throttle's reservation, the `mfa_token` of
//! a login's first half, and the mails.

use crate::log_fields;

use super::{mfa_token, recovery_codes, secret_box, totp};
use crate::app::mail::{MailJob, MailKind};
use crate::app::{App, Call, Crypto};
use crate::config::MfaKeys;
use crate::domain::{Email, User};
use crate::http::error::AppError;
use crate::http::Ctx;
use crate::limits::throttle;
use crate::store::events::EventKind;
use crate::store::{BreakerStore, NewMfaToken, SessionStore, TotpState, UserStore};

/// A secret opened for a check, and the stored form the conditional writes compare against
/// (the new one when the row was just moved to the current key).
pub(crate) struct OpenSecret {
    pub secret: totp::TotpSecret,
    pub sealed: String,
}

/// Which second factor a code was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Used {
    Totp,
    RecoveryCode,
}

/// Unix seconds of a request's time (never before 1970 on a sane clock).
pub(crate) fn now_secs(ctx: &Ctx) -> u64 {
    u64::try_from(ctx.now_ms / 1000).unwrap_or(0)
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// The keys that seal TOTP secrets.
    ///
    /// # Errors
    /// `500` (logged as a configuration error) when `MFA_ENCRYPTION_KEY` is unset.
    pub(crate) fn mfa_keys(&self) -> Result<&MfaKeys, AppError> {
        self.config.mfa.keys.as_ref().ok_or_else(|| {
            AppError::internal("configuration MFA_ENCRYPTION_KEY: missing (two-step verification)")
        })
    }

    /// User `user`'s TOTP row.
    pub(crate) async fn totp_state(
        &self,
        user: &User,
        call: &Call<'_, B>,
    ) -> Result<Option<TotpState>, AppError> {
        call.guard
            .call_boxed(Box::pin(self.users.totp_state(&user.id)))
            .await
    }

    /// Whether `user` signs in with a second factor.
    pub(crate) async fn mfa_enabled(
        &self,
        user: &User,
        call: &Call<'_, B>,
    ) -> Result<bool, AppError> {
        Ok(self
            .totp_state(user, call)
            .await?
            .is_some_and(|state| state.enabled))
    }

    /// Opens `sealed`, the secret of `user`; a row under an old key is sealed again under the
    /// current one, in one write conditional on the row still holding `sealed`.
    pub(crate) async fn open_secret(
        &self,
        user: &User,
        sealed: &str,
        call: &Call<'_, B>,
    ) -> Result<OpenSecret, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let keys = self.mfa_keys()?;
        let user_id = user.id.to_string();
        let opened = secret_box::open(&C::Mfa::default(), keys, &user_id, sealed)
            .await
            .map_err(AppError::internal)?;
        if opened.current_key {
            return Ok(OpenSecret {
                secret: opened.secret,
                sealed: sealed.to_owned(),
            });
        }
        let resealed = secret_box::seal(&C::Mfa::default(), keys, &user_id, &opened.secret)
            .await
            .map_err(AppError::internal)?;
        let written = guard
            .call_boxed(Box::pin(
                self.users
                    .reseal_totp(&user.id, sealed, &resealed, ctx.now_ms),
            ))
            .await?;
        ctx.log(
            "info",
            "mfa_secret_resealed",
            log_fields!({ "user_id": user_id, "key_id": keys.current_id(), "written": written }),
        );
        Ok(OpenSecret {
            secret: opened.secret,
            sealed: if written { resealed } else { sealed.to_owned() },
        })
    }

    /// Reserves one attempt against the account's login throttle, as a password check does:
    /// a wrong code stays counted as a failed login, and leaves its provisional `mfa_failed`
    /// event; a right one is cleared by the caller, who withdraws the event (returned).
    ///
    /// # Errors
    /// `429 too_many_attempts` when the account is throttled.
    pub(crate) async fn reserve_attempt(
        &self,
        email: &Email,
        purpose: &str,
        call: &Call<'_, B>,
    ) -> Result<Option<i64>, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let origin = call.origin();
        let lookup = guard
            .call_boxed(Box::pin(self.users.begin_login(
                email,
                ctx.now_ms,
                &self.config.throttle,
                &origin,
                EventKind::MfaFailed,
            )))
            .await?;
        if let throttle::Decision::Throttle { retry_after_secs } =
            throttle::admit(lookup.attempts, ctx.now_ms, &self.config.throttle)
        {
            ctx.log(
                "warn",
                "login_throttled",
                log_fields!({ "email": email.redacted(), "purpose": purpose, "retry_after": retry_after_secs }),
            );
            return Err(AppError::TooManyAttempts {
                retry_after: retry_after_secs,
            });
        }
        Ok(lookup.attempt_event)
    }

    /// A TOTP code checked against `user`'s enabled secret and its step accepted (once: a
    /// replay, or the loser of two parallel uses, gets `false`). With `new_set`, the recovery
    /// codes are replaced in the same write.
    pub(crate) async fn accept_totp(
        &self,
        user: &User,
        state: &TotpState,
        code: &str,
        new_set: Option<(&str, &[String])>,
        call: &Call<'_, B>,
    ) -> Result<bool, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let Some(sealed) = state.sealed_secret.as_deref().filter(|_| state.enabled) else {
            return Ok(false);
        };
        if totp::parse_code(code).is_none() {
            return Ok(false);
        }
        let open = self.open_secret(user, sealed, call).await?;
        let step = totp::verify(
            &C::Mfa::default(),
            &open.secret,
            code,
            now_secs(ctx),
            state.last_accepted(),
        )
        .await
        .map_err(AppError::internal)?;
        let Some(step) = step else {
            return Ok(false);
        };
        guard
            .call_boxed(Box::pin(self.users.accept_step(
                &user.id,
                &open.sealed,
                step,
                ctx.now_ms,
                new_set,
            )))
            .await
    }

    /// The second factor of a change to the account (disable, delete): a TOTP or a recovery
    /// code, behind the throttle's reservation. A wrong code is a failed login of the account
    /// and `401 invalid_mfa_code`; a right one clears the failures.
    pub(crate) async fn check_second_factor(
        &self,
        user: &User,
        state: &TotpState,
        code: &str,
        purpose: &str,
        call: &Call<'_, B>,
    ) -> Result<Used, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let attempt = self.reserve_attempt(&user.email, purpose, call).await?;
        let used = if totp::parse_code(code).is_some() {
            self.accept_totp(user, state, code, None, call)
                .await?
                .then_some(Used::Totp)
        } else if let Some(hash) = recovery_codes::hash(&user.id.to_string(), code) {
            guard
                .call_boxed(Box::pin(self.users.use_recovery_code(
                    &user.id,
                    &hash,
                    ctx.now_ms,
                    &call.audit(&[EventKind::RecoveryCodeUsed]),
                )))
                .await?
                .then_some(Used::RecoveryCode)
        } else {
            None
        };
        let Some(used) = used else {
            self.log_wrong_code(user, purpose, ctx);
            return Err(AppError::InvalidMfaCode);
        };
        guard
            .call_boxed(Box::pin(self.users.clear_failures(&user.email, attempt)))
            .await?;
        if used == Used::RecoveryCode {
            self.notify_recovery_code_used(user, call).await?;
        }
        Ok(used)
    }

    pub(crate) fn log_wrong_code(&self, user: &User, purpose: &str, ctx: &Ctx) {
        ctx.log(
            "info",
            "login_failed",
            log_fields!({
                "reason": "wrong_mfa_code",
                "purpose": purpose,
                "user_id": user.id.to_string(),
            }),
        );
    }

    /// The first half of a login of an account with two-step verification: a new `mfa_token`
    /// (stored while the password is still at the version the check read), as the `403`. The
    /// token's batch records `mfa_required` and withdraws the password check's provisional
    /// event `attempt_event` (the password was right).
    pub(crate) async fn mfa_required(
        &self,
        user: &User,
        attempt_event: Option<i64>,
        call: &Call<'_, B>,
    ) -> Result<AppError, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let (token, hash) = mfa_token::generate().map_err(AppError::internal)?;
        let audit = call.audit(&[EventKind::MfaRequired]);
        let new_token = NewMfaToken {
            token_hash: &hash,
            user_id: &user.id,
            password_version: user.password_version,
            now_ms: ctx.now_ms,
            expires_at_ms: ctx.now_ms + self.config.mfa.token_ttl_secs * 1000,
            audit: &audit,
            withdraw: attempt_event,
        };
        let stored = guard
            .call_boxed(Box::pin(self.users.insert_mfa_token(&new_token)))
            .await?;
        if !stored {
            // The password was changed (or the account deleted) while this login hashed.
            return Ok(Self::overtaken(user, "login_failed", ctx));
        }
        ctx.log(
            "info",
            "mfa_required",
            log_fields!({ "user_id": user.id.to_string() }),
        );
        Ok(AppError::MfaRequired { mfa_token: token })
    }

    /// A notice mail to `user` (no link, no token).
    pub(crate) fn notify(&self, user: &User, kind: MailKind, ctx: &Ctx) {
        self.outbox.push(MailJob {
            kind,
            to: user.email.as_ref().to_owned(),
            link: None,
            valid_for_secs: None,
            request_id: ctx.request_id.clone(),
        });
    }

    /// "A recovery code was used (N left)".
    pub(crate) async fn notify_recovery_code_used(
        &self,
        user: &User,
        call: &Call<'_, B>,
    ) -> Result<(), AppError> {
        let left = call
            .guard
            .call_boxed(Box::pin(self.users.recovery_codes_left(&user.id)))
            .await?;
        self.notify(user, MailKind::RecoveryCodeUsed { left }, call.ctx);
        Ok(())
    }
}
