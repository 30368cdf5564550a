//! Load shedding in front of the routes that hash a password: at most `MAX_HASH_QUEUE` of them
//! per isolate, the one hashing and those waiting their turn (`password::queue`). One more would
//! wait behind every hash before it, a quarter-second each: it answers `503` with `Retry-After: 1`
//! at once instead, before its body is read and before any hash.

use crate::log_fields;

use super::{App, Crypto, Route};
use crate::http::error::AppError;
use crate::http::Ctx;
use crate::password::queue::{self, Admitted};
use crate::store::{BreakerStore, SessionStore, UserStore};

/// A client told to come back in this many seconds finds a queue that has moved on: a few
/// hashes' time at most.
pub const RETRY_AFTER_SECS: u64 = 1;

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// Admits a request of a route that hashes to this isolate's queue (`None` for the other
    /// routes); the admission lasts as long as the returned value.
    ///
    /// # Errors
    /// `503 service_unavailable` with `Retry-After: 1` when `MAX_HASH_QUEUE` are admitted.
    pub(super) fn admit_to_hash(
        &self,
        route: Route,
        ctx: &Ctx,
    ) -> Result<Option<Admitted>, AppError> {
        let name = match route {
            Route::Register => "register",
            Route::Login => "login",
            Route::ChangePassword => "password_change",
            Route::ResetPassword => "password_reset",
            Route::DeleteAccount => "delete_account",
            Route::MfaSetup => "mfa_setup",
            Route::MfaDisable => "mfa_disable",
            _ => return Ok(None),
        };
        let lock = queue::isolate_lock();
        match lock.admit(self.config.max_hash_queue, ctx.clock_ms()) {
            Some(admitted) => Ok(Some(admitted)),
            None => {
                ctx.log(
                    "warn",
                    "hash_queue_full",
                    log_fields!({ "route": name, "admitted": lock.admitted() }),
                );
                Err(AppError::ServiceUnavailable {
                    retry_after: RETRY_AFTER_SECS,
                })
            }
        }
    }
}
