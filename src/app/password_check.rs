//! The one password check that login and every re-authentication (password change, account
//! deletion) go through: the login throttle's reservation, the stored hash's verification at no
//! less than the failure floor, and the fresh hash every stored password gets.

use crate::log_fields;
use std::cell::Cell;
use std::rc::Rc;

use super::{redact_raw, App, Call, Crypto};
use crate::domain::{Email, User};
use crate::http::error::AppError;
use crate::http::Ctx;
use crate::limits::throttle;
use crate::password;
use crate::password::{PasswordHash, StoredHash};
use crate::store::events::EventKind;
use crate::store::{BreakerStore, LoginLookup, SessionStore, UserStore};

/// A fixed salt for the dummy work of a failed login (its result is thrown away).
pub(super) const DUMMY_SALT: &[u8; password::SALT_LEN] = b"edge-auth-dummy!";

/// A password check that passed: the account, its stored hash, whether it is disabled, and
/// the check's provisional `login_failed` event, for the caller to withdraw with the count
/// ([`LoginLookup::attempt_event`]).
pub(super) struct Authenticated {
    pub user: User,
    pub stored: StoredHash,
    /// Read with the reservation: a right password is then only the login's first half.
    pub mfa_enabled: bool,
    pub disabled: bool,
    pub attempt_event: Option<i64>,
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// The password check of login and of every re-authentication: the attempt is reserved
    /// against the account's throttle *before* hashing (so concurrent guesses cannot pass the
    /// limit), then the password is checked at no less than the configured cost. A success
    /// leaves the reservation for the caller to clear (`clear_failures`, or login's session
    /// creation, which does it in the same round trip). `purpose` names the caller in the
    /// audit log.
    ///
    /// # Errors
    /// `429 too_many_attempts` when throttled (nothing hashed), `401 invalid_credentials` for an
    /// unknown email or a wrong password, `503` when the database is unavailable.
    pub(super) async fn authenticate(
        &self,
        email: Option<&Email>,
        raw_email: &str,
        password: &str,
        purpose: &str,
        call: &Call<'_, B>,
    ) -> Result<Authenticated, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let throttle_config = &self.config.throttle;
        let origin = call.origin();
        let lookup = match email {
            Some(email) => Some(
                guard
                    .call(|| {
                        self.users.begin_login(
                            email,
                            ctx.now_ms,
                            throttle_config,
                            &origin,
                            EventKind::LoginFailed,
                        )
                    })
                    .await?,
            ),
            None => None,
        };
        let (user, failures, imported_hash_work, mfa_enabled, disabled, attempt_event) =
            match lookup {
                Some(LoginLookup {
                    user,
                    attempts,
                    imported_hash_work,
                    mfa_enabled,
                    disabled,
                    attempt_event,
                }) => {
                    if let throttle::Decision::Throttle { retry_after_secs } =
                        throttle::admit(attempts, ctx.now_ms, &self.config.throttle)
                    {
                        ctx.log(
                            "warn",
                            "login_throttled",
                            log_fields!({
                                "email": redact_raw(raw_email),
                                "purpose": purpose,
                                "retry_after": retry_after_secs,
                            }),
                        );
                        return Err(AppError::TooManyAttempts {
                            retry_after: retry_after_secs,
                        });
                    }
                    (
                        user,
                        Some(attempts.failures),
                        imported_hash_work,
                        mfa_enabled,
                        disabled,
                        attempt_event,
                    )
                }
                // No account to look up, but the failure costs what an unknown email's does.
                None => (
                    None,
                    None,
                    guard.call(|| self.users.imported_hash_work()).await?,
                    false,
                    false,
                    None,
                ),
            };
        let floor = password::failure_floor(
            self.config.login_failure_iterations,
            imported_hash_work,
            &self.config.hash_bounds(),
        );
        // The hashing this request did: other requests hash on the isolate in between.
        let work = Rc::new(Cell::new(0));
        let check = self.check_password(user, password, floor, ctx);
        match password::counting(work.clone(), check).await {
            Ok((user, stored)) => Ok(Authenticated {
                user,
                stored,
                mfa_enabled,
                disabled,
                attempt_event,
            }),
            Err(reason) => {
                ctx.log(
                    "info",
                    "login_failed",
                    log_fields!({
                        "reason": reason,
                        "purpose": purpose,
                        "email": redact_raw(raw_email),
                        "failures_in_window": failures,
                        "hash_iterations": work.get(),
                    }),
                );
                Err(AppError::InvalidCredentials)
            }
        }
    }

    /// Checks a password against a user's stored hash (ours, or one moved in from another
    /// service). Every failure costs at least `floor` iterations of PBKDF2
    /// ([`password::failure_floor`]: `LOGIN_FAILURE_ITERATIONS`, by default the configured
    /// count, or the costliest imported hash if that is more): an unknown email, an unreadable
    /// row or a refused hash run it as dummy work, and a wrong password on a cheaper stored hash
    /// (fewer iterations, or an imported bcrypt/Argon2/Django hash) is topped up to it, so no
    /// failure reason answers faster than another. The reason is for logs only.
    async fn check_password(
        &self,
        user: Option<Result<User, String>>,
        password: &str,
        floor: u32,
        ctx: &Ctx,
    ) -> Result<(User, StoredHash), &'static str> {
        let dummy = |iterations: u32| async move {
            if iterations > 0 {
                password::derive_yielding(password, DUMMY_SALT, iterations, || ctx.pause()).await;
            }
        };
        let user = match user {
            None => {
                dummy(floor).await;
                return Err("unknown_email");
            }
            Some(Err(why)) => {
                ctx.log("error", "stored_row_invalid", log_fields!({ "cause": why }));
                dummy(floor).await;
                return Err("stored_row_invalid");
            }
            Some(Ok(user)) => user,
        };
        let stored = match StoredHash::parse(&user.password_hash, &self.config.hash_bounds()) {
            Ok(h) => h,
            Err(e) => {
                ctx.log(
                    "error",
                    "stored_hash_refused",
                    log_fields!({ "user_id": user.id.to_string(), "reason": e.to_string() }),
                );
                dummy(floor).await;
                return Err("stored_hash_refused");
            }
        };
        if stored.verify_yielding(password, || ctx.pause()).await {
            Ok((user, stored))
        } else {
            password::pad_failure(password, stored.work_iterations(), floor, || ctx.pause()).await;
            Err("wrong_password")
        }
    }

    /// A fresh hash of `password` at the configured count, as stored (the PHC string): what
    /// register, the login rehash, a password change and a reset all store.
    pub(super) async fn new_password_hash(
        &self,
        password: &str,
        ctx: &Ctx,
    ) -> Result<String, AppError> {
        ctx.count_new_password_hash();
        let hash =
            PasswordHash::create_yielding(password, self.config.pbkdf2_iterations, || ctx.pause())
                .await
                .map_err(AppError::internal)?;
        Ok(hash.to_phc())
    }

    /// Re-authenticates the bearer's user with `password`, as a login of that account would.
    /// Returns the version of the password it checked: the write that follows is conditional
    /// on it.
    pub(super) async fn reauthenticate(
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
        // The check passed: it was no failed login, and what follows records its own event.
        guard
            .call(|| {
                self.users
                    .clear_failures(&user.email, checked.attempt_event)
            })
            .await?;
        if checked.user.id != user.id {
            // The address now belongs to another account (this one was deleted meanwhile).
            return Err(AppError::InvalidCredentials);
        }
        Ok(checked.user.password_version)
    }

    /// A change or a deletion whose password was set by another request (a reset, a change)
    /// after its check: nothing was written, and the password it checked no longer works.
    pub(super) fn overtaken(user: &User, event: &str, ctx: &Ctx) -> AppError {
        ctx.log(
            "info",
            event,
            log_fields!({ "reason": "password_changed", "user_id": user.id.to_string() }),
        );
        AppError::InvalidCredentials
    }
}
