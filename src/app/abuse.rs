//! The per-client-IP limit in front of register, login (password or passkey), forgot and reset
//! (`RATE_LIMIT_BY_IP`).

use crate::log_fields;

use super::{App, Crypto, Route};
use crate::http::error::AppError;
use crate::http::{ApiRequest, Ctx};
use crate::limits::ratelimit::RETRY_AFTER_SECS;
use crate::store::{BreakerStore, SessionStore, UserStore};

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// Counts the request against its client IP (`CF-Connecting-IP`, which Cloudflare sets on
    /// every request from the internet) for the routes an abuser would flood.
    ///
    /// A request without that header (a service binding from another Worker) is not counted,
    /// and a limiter that cannot be asked lets the request through (logged): it guards against
    /// floods, and must not lock every user out on its own.
    ///
    /// # Errors
    /// `429 too_many_requests` with `Retry-After` when the client is over the limit.
    pub(super) async fn limit_ip(
        &self,
        route: Route,
        req: &ApiRequest,
        ctx: &Ctx,
    ) -> Result<(), AppError> {
        let scope = match route {
            Route::Register => "register",
            // A passkey login shares the password login's limit: both open sessions.
            Route::Login | Route::PasskeyLoginOptions | Route::PasskeyLogin => "login",
            Route::ForgotPassword => "forgot",
            // Anyone can have a reset link of their own account mailed, and each reset that
            // spends one hashes a password.
            Route::ResetPassword => "reset",
            // A second factor is guessed like a password: the same limit per client.
            Route::MfaVerify
            | Route::MfaSetup
            | Route::MfaConfirm
            | Route::MfaRecoveryCodes
            | Route::MfaDisable => "mfa",
            _ => return Ok(()),
        };
        if !self.config.rate_limit_by_ip {
            return Ok(());
        }
        let Some(ip) = req
            .get_header("cf-connecting-ip")
            .map(str::trim)
            .filter(|ip| !ip.is_empty())
        else {
            return Ok(());
        };
        let key = format!("{scope}:{}", crate::limits::ratelimit::client_of(ip));
        match self.ip_limiter.allow(&key).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                ctx.log("warn", "ip_rate_limited", log_fields!({ "route": scope }));
                Err(AppError::TooManyRequests {
                    retry_after: RETRY_AFTER_SECS,
                })
            }
            Err(cause) => {
                ctx.log(
                    "warn",
                    "ip_rate_limiter_unavailable",
                    log_fields!({ "route": scope, "cause": cause }),
                );
                Ok(())
            }
        }
    }
}
