//! The two-step verification endpoints: setup and confirm (turning it on), the login's second
//! half (`/auth/mfa/verify`), a new set of recovery codes, and turning it off. The contract's
//! "Two-step verification" section is the specification; docs/mfa.md has the design notes.

use crate::log_fields;

use super::factor::{now_secs, Used};
use super::{mfa_token, recovery_codes, secret_box, totp};
use crate::api_doc::{MfaSetupResponse, RecoveryCodes};
use crate::app::mail::MailKind;
use crate::app::{App, Call, Crypto};
use crate::domain::amr::Amr;
use crate::domain::User;
use crate::http::error::{AppError, FieldError};
use crate::http::{ApiResponse, Body, Fields};
use crate::store::events::EventKind;
use crate::store::{BreakerStore, SessionStore, UserStore};

/// Why the other sessions of a user ended when two-step verification was turned on.
const REVOKED_BY_MFA: &str = "mfa_enabled";

/// `{"password"}`: setting up.
struct PasswordBody {
    password: String,
}

impl Body for PasswordBody {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(f.text("password").map(|password| Self { password }))
    }
}

/// `{"code"}`: confirming, regenerating.
struct CodeBody {
    code: String,
}

impl Body for CodeBody {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(non_empty(f, "code").map(|code| Self { code }))
    }
}

/// `{"password", "code"}`: turning it off.
struct PasswordAndCode {
    password: String,
    code: String,
}

impl Body for PasswordAndCode {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        let password = f.text("password");
        let code = non_empty(f, "code");
        Ok(password
            .zip(code)
            .map(|(password, code)| Self { password, code }))
    }
}

/// The second factor of a verify: exactly one of a TOTP code or a recovery code.
enum Factor {
    Totp(String),
    RecoveryCode(String),
}

/// `{"mfa_token", "code"}` or `{"mfa_token", "recovery_code"}`.
struct VerifyBody {
    mfa_token: String,
    factor: Factor,
}

impl Body for VerifyBody {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        // Only an empty token is a broken body: any other string is looked up, and one that
        // names no live token (a blank one included) is `401 invalid_mfa_token`.
        let token = f.text("mfa_token").and_then(|token| {
            f.check(if token.is_empty() {
                Err(FieldError::new(
                    "mfa_token",
                    "required",
                    "mfa_token must not be empty.",
                ))
            } else {
                Ok(token)
            })
        });
        let factor = match (f.has("code"), f.has("recovery_code")) {
            (true, true) => {
                f.check::<()>(Err(FieldError::new(
                    "recovery_code",
                    "conflict",
                    "Send either code or recovery_code, not both.",
                )));
                None
            }
            (false, true) => non_empty(f, "recovery_code").map(Factor::RecoveryCode),
            _ => non_empty(f, "code").map(Factor::Totp),
        };
        Ok(token
            .zip(factor)
            .map(|(mfa_token, factor)| Self { mfa_token, factor }))
    }
}

/// A required string member that must not be empty (or blank).
pub(crate) fn non_empty(f: &mut Fields, field: &'static str) -> Option<String> {
    let value = f.text(field)?;
    f.check(if value.trim().is_empty() {
        Err(FieldError::new(
            field,
            "required",
            format!("{field} must not be empty."),
        ))
    } else {
        Ok(value)
    })
}

/// A new set of recovery codes: the codes shown once, the hashes stored, and the set's id.
fn new_recovery_set(user: &User) -> Result<(Vec<String>, Vec<String>, String), AppError> {
    let codes = recovery_codes::generate().map_err(AppError::internal)?;
    let user_id = user.id.to_string();
    let hashes = codes
        .iter()
        .map(|c| recovery_codes::hash(&user_id, c).ok_or_else(|| AppError::internal("bad code")))
        .collect::<Result<Vec<_>, _>>()?;
    let batch = crate::domain::random::uuid_v4()
        .map_err(AppError::internal)?
        .to_string();
    Ok((codes, hashes, batch))
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// `POST /auth/mfa/totp/setup`: a new pending secret (replacing a pending one).
    pub(crate) async fn mfa_setup(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let (_, user) = self.bearer_user(call).await?;
        let PasswordBody { password } = req.parse()?;
        self.reauthenticate(&user, &password, "mfa_setup", call)
            .await?;
        let keys = self.mfa_keys()?;
        let secret = totp::TotpSecret::generate().map_err(AppError::internal)?;
        let sealed = secret_box::seal(&C::Mfa::default(), keys, &user.id.to_string(), &secret)
            .await
            .map_err(AppError::internal)?;
        let stored = guard
            .call_boxed(Box::pin(
                self.users.setup_totp(&user.id, &sealed, ctx.now_ms),
            ))
            .await?;
        if !stored {
            return Err(AppError::MfaAlreadyEnabled);
        }
        ctx.log(
            "info",
            "mfa_setup",
            log_fields!({ "user_id": user.id.to_string() }),
        );
        let uri = totp::otpauth_uri(&self.config.mfa.issuer, user.email.as_ref(), &secret);
        Ok(ApiResponse::json(
            200,
            &MfaSetupResponse {
                secret: secret.to_base32(),
                otpauth_uri: uri,
            },
        ))
    }

    /// `POST /auth/mfa/totp/confirm`: a code of the pending secret turns it on; every other
    /// session of the user ends.
    pub(crate) async fn mfa_confirm(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let (token, user) = self.bearer_user(call).await?;
        let CodeBody { code } = req.parse()?;
        let state = self.totp_state(&user, call).await?;
        let sealed = match &state {
            Some(s) if s.enabled => return Err(AppError::MfaAlreadyEnabled),
            Some(s) => s.sealed_secret.clone().ok_or(AppError::MfaNotEnabled)?,
            None => return Err(AppError::MfaNotEnabled),
        };
        let last = state.as_ref().and_then(|s| s.last_accepted());
        let open = self.open_secret(&user, &sealed, call).await?;
        let step = totp::verify(&C::Mfa::default(), &open.secret, &code, now_secs(ctx), last)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::InvalidMfaCode)?;
        let (codes, hashes, batch) = new_recovery_set(&user)?;
        let enabled = guard
            .call_boxed(Box::pin(self.users.confirm_totp(
                &user.id,
                &open.sealed,
                step,
                ctx.now_ms,
                (&batch, &hashes),
                &call.audit(&[EventKind::MfaEnabled]),
            )))
            .await?;
        if !enabled {
            // A parallel confirm, setup or replay took the step or the secret first.
            return Err(AppError::InvalidMfaCode);
        }
        let mut revoked = guard
            .call_boxed(Box::pin(self.sessions.revoke_other_sessions(
                &user.id,
                &token.claims.sid,
                REVOKED_BY_MFA,
                ctx.now_ms,
                &call.audit(&[]),
            )))
            .await?;
        let count = revoked.len();
        // The caller's session stays, but its cached view says `mfa_enabled: false`.
        revoked.push(token.claims.sid.clone());
        self.purge_sessions(&revoked, ctx).await;
        ctx.log(
            "info",
            "mfa_enabled",
            log_fields!({ "user_id": user.id.to_string(), "sid": token.claims.sid, "sessions_revoked": count }),
        );
        self.notify(&user, MailKind::MfaEnabled, ctx);
        Ok(ApiResponse::json(
            200,
            &RecoveryCodes {
                recovery_codes: codes,
            },
        ))
    }

    /// `POST /auth/mfa/verify`: the second half of a login.
    pub(crate) async fn mfa_verify(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let VerifyBody { mfa_token, factor } = req.parse()?;
        let token_hash = mfa_token::hash(&mfa_token).ok_or(AppError::InvalidMfaToken)?;
        let user = guard
            .call_boxed(Box::pin(self.users.mfa_token_user(&token_hash, ctx.now_ms)))
            .await?
            .ok_or(AppError::InvalidMfaToken)?;
        let attempt = self
            .reserve_attempt(&user.email, "mfa_verify", call)
            .await?;
        let used = match &factor {
            Factor::Totp(code) => {
                let state = self.totp_state(&user, call).await?;
                match state {
                    Some(state) if self.accept_totp(&user, &state, code, None, call).await? => {
                        let claimed = guard
                            .call_boxed(Box::pin(
                                self.users.claim_mfa_token(&token_hash, ctx.now_ms),
                            ))
                            .await?;
                        if !claimed {
                            return Err(AppError::InvalidMfaToken);
                        }
                        Some(Used::Totp)
                    }
                    _ => None,
                }
            }
            Factor::RecoveryCode(code) => match recovery_codes::hash(&user.id.to_string(), code) {
                Some(code_hash) => guard
                    .call_boxed(Box::pin(self.users.claim_mfa_token_with_recovery_code(
                        &user.id,
                        &token_hash,
                        &code_hash,
                        ctx.now_ms,
                        &call.audit(&[EventKind::RecoveryCodeUsed]),
                    )))
                    .await?
                    .then_some(Used::RecoveryCode),
                None => None,
            },
        };
        let Some(used) = used else {
            self.log_wrong_code(&user, "mfa_verify", ctx);
            let counted = guard
                .call_boxed(Box::pin(
                    self.users.record_wrong_code(&token_hash, ctx.now_ms),
                ))
                .await?;
            return Err(match counted {
                Some(_) => AppError::InvalidMfaCode,
                // Used or dead meanwhile (a parallel verify won).
                None => AppError::InvalidMfaToken,
            });
        };
        let amr = match used {
            Used::Totp => Amr::totp(),
            Used::RecoveryCode => {
                self.notify_recovery_code_used(&user, call).await?;
                Amr::recovery_code()
            }
        };
        // The token was claimed for this password version; a change since then refuses the
        // session as the token itself would have been refused. The code was right: its
        // provisional `mfa_failed` goes with the session's creation.
        self.open_session(
            call,
            &user,
            amr,
            Some(user.email.clone()),
            attempt,
            AppError::InvalidMfaToken,
        )
        .await
    }

    /// `POST /auth/mfa/recovery-codes`: a current TOTP code buys ten new codes; the old ones
    /// stop working in the same write.
    pub(crate) async fn mfa_recovery_codes(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let (_, user) = self.bearer_user(call).await?;
        let CodeBody { code } = req.parse()?;
        let state = self
            .totp_state(&user, call)
            .await?
            .filter(|s| s.enabled)
            .ok_or(AppError::MfaNotEnabled)?;
        let attempt = self
            .reserve_attempt(&user.email, "mfa_recovery_codes", call)
            .await?;
        let (codes, hashes, batch) = new_recovery_set(&user)?;
        let accepted = self
            .accept_totp(&user, &state, &code, Some((&batch, &hashes)), call)
            .await?;
        if !accepted {
            self.log_wrong_code(&user, "mfa_recovery_codes", ctx);
            return Err(AppError::InvalidMfaCode);
        }
        guard
            .call_boxed(Box::pin(self.users.clear_failures(&user.email, attempt)))
            .await?;
        ctx.log(
            "info",
            "mfa_recovery_codes_replaced",
            log_fields!({ "user_id": user.id.to_string() }),
        );
        Ok(ApiResponse::json(
            200,
            &RecoveryCodes {
                recovery_codes: codes,
            },
        ))
    }

    /// `DELETE /auth/mfa/totp`: the password, then a TOTP or recovery code, turn it off.
    pub(crate) async fn mfa_disable(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let (token, user) = self.bearer_user(call).await?;
        let PasswordAndCode { password, code } = req.parse()?;
        self.reauthenticate(&user, &password, "mfa_disable", call)
            .await?;
        let state = self
            .totp_state(&user, call)
            .await?
            .filter(|s| s.enabled)
            .ok_or(AppError::MfaNotEnabled)?;
        self.check_second_factor(&user, &state, &code, "mfa_disable", call)
            .await?;
        let disabled = guard
            .call_boxed(Box::pin(self.users.disable_totp(
                &user.id,
                ctx.now_ms,
                &call.audit(&[EventKind::MfaDisabled]),
            )))
            .await?;
        if !disabled {
            return Err(AppError::MfaNotEnabled);
        }
        self.purge_sessions(std::slice::from_ref(&token.claims.sid), ctx)
            .await;
        ctx.log(
            "info",
            "mfa_disabled",
            log_fields!({ "user_id": user.id.to_string(), "sid": token.claims.sid }),
        );
        self.notify(&user, MailKind::MfaDisabled, ctx);
        Ok(ApiResponse::empty(204))
    }
}
