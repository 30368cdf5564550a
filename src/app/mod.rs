//! The route table and the service that runs it, over the storage traits. No platform type in here:
//! the same code runs on workerd (with D1/KV) and in native tests (the same SQL on SQLite).
//!
//! One module per feature, each an `impl App` block with the handlers of its routes and the
//! type of each body it reads (see [`crate::http::Body`]):
//! - `registration`, `login`, `sessions` (refresh, logout, the list of devices),
//!   `access_tokens` (the bearer check, `GET /auth/me`, `/auth/verify`), `password_change`,
//!   `password_reset`, `email_verification`, `account_deletion`, `discovery` (JWKS, health,
//!   OpenAPI, docs);
//! - shared by them: `password_check` (the one password check and the fresh hash),
//!   `email_tokens` (the tokens that emailed links carry), `guard` (database calls through the
//!   circuit breaker), `abuse` (the per-client-IP limit), `load_shedding` (the bound on hashing
//!   requests per isolate);
//! - `mfa`: two-step verification's core (TOTP, recovery codes, the sealed secret);
//! - `passkeys`: WebAuthn's checks and the passkey endpoints (registration, list, delete,
//!   passwordless login);
//! - off the request path: `cleanup` (the scheduled deletion of dead rows) and `consumer` (the
//!   mail queue's consumer: the account lookup, cap and token of a reset or verification mail).

mod abuse;
mod access_tokens;
mod account_deletion;
mod admin;
pub mod audit;
pub mod cleanup;
pub mod consumer;
pub mod crypto;
mod discovery;
mod email_tokens;
mod email_verification;
mod guard;
pub mod health;
mod load_shedding;
mod login;
pub mod mail;
pub mod mfa;
pub mod passkeys;
mod password_change;
mod password_check;
mod password_reset;
mod registration;
mod sessions;

use crate::log_fields;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::api_doc::UserView;
use crate::app::health::HealthMemory;
use crate::app::mail::Outbox;
use crate::config::Config;
use crate::domain::{Email, User};
use crate::http::error::{AppError, TokenRejection};
use crate::http::oauth;
use crate::http::{self, ApiRequest, ApiResponse, Ctx};
use crate::limits::ratelimit::IpRateLimiter;
use crate::store::session_cache::SessionCache;
use crate::store::{BreakerStore, PasskeyStore, SessionStore, UserStore};
use crate::tokens::KeySet;

pub use crypto::Crypto;
use guard::Guard;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Route {
    Register,
    Login,
    Refresh,
    Logout,
    Me,
    DeleteAccount,
    ChangePassword,
    ForgotPassword,
    ResetPassword,
    RequestVerification,
    VerifyEmail,
    ListSessions,
    RevokeOtherSessions,
    RevokeSession,
    Verify,
    MfaSetup,
    MfaConfirm,
    MfaVerify,
    MfaRecoveryCodes,
    MfaDisable,
    Jwks,
    Health,
    Docs,
    PasskeyRegisterOptions,
    PasskeyRegister,
    ListPasskeys,
    DeletePasskey,
    PasskeyLoginOptions,
    PasskeyLogin,
    AdminConsole,
    AdminListUsers,
    AdminGetUser,
    AdminUpdateUser,
    AdminDeleteUser,
    AdminRevokeSessions,
    AdminRemoveMfa,
    AdminSendReset,
    AdminListEvents,
}

/// The one route table: every path, and per method the handler. A `{id}` segment matches one
/// non-empty path segment, handed to the handler.
const ROUTES: &[(&str, &[(&str, Route)])] = &[
    ("/auth/register", &[("POST", Route::Register)]),
    ("/auth/login", &[("POST", Route::Login)]),
    ("/auth/refresh", &[("POST", Route::Refresh)]),
    ("/auth/logout", &[("POST", Route::Logout)]),
    (
        "/auth/me",
        &[("GET", Route::Me), ("DELETE", Route::DeleteAccount)],
    ),
    ("/auth/password/change", &[("POST", Route::ChangePassword)]),
    ("/auth/password/forgot", &[("POST", Route::ForgotPassword)]),
    ("/auth/password/reset", &[("POST", Route::ResetPassword)]),
    (
        "/auth/email/verification",
        &[("POST", Route::RequestVerification)],
    ),
    ("/auth/email/verify", &[("POST", Route::VerifyEmail)]),
    (
        "/auth/sessions",
        &[
            ("GET", Route::ListSessions),
            ("DELETE", Route::RevokeOtherSessions),
        ],
    ),
    ("/auth/sessions/{id}", &[("DELETE", Route::RevokeSession)]),
    ("/auth/verify", &[("POST", Route::Verify)]),
    ("/auth/mfa/totp/setup", &[("POST", Route::MfaSetup)]),
    ("/auth/mfa/totp/confirm", &[("POST", Route::MfaConfirm)]),
    ("/auth/mfa/verify", &[("POST", Route::MfaVerify)]),
    (
        "/auth/mfa/recovery-codes",
        &[("POST", Route::MfaRecoveryCodes)],
    ),
    ("/auth/mfa/totp", &[("DELETE", Route::MfaDisable)]),
    ("/.well-known/jwks.json", &[("GET", Route::Jwks)]),
    ("/health", &[("GET", Route::Health)]),
    ("/docs", &[("GET", Route::Docs)]),
    (
        "/auth/passkeys/register/options",
        &[("POST", Route::PasskeyRegisterOptions)],
    ),
    (
        "/auth/passkeys/register",
        &[("POST", Route::PasskeyRegister)],
    ),
    ("/auth/passkeys", &[("GET", Route::ListPasskeys)]),
    (
        "/auth/passkeys/login/options",
        &[("POST", Route::PasskeyLoginOptions)],
    ),
    ("/auth/passkeys/login", &[("POST", Route::PasskeyLogin)]),
    // After the fixed paths it would otherwise match (`login`, `register`).
    ("/auth/passkeys/{id}", &[("DELETE", Route::DeletePasskey)]),
    // Behind `admin::gate`, which answers every `/admin` path first.
    ("/admin", &[("GET", Route::AdminConsole)]),
    ("/admin/users", &[("GET", Route::AdminListUsers)]),
    (
        "/admin/users/{id}",
        &[
            ("GET", Route::AdminGetUser),
            ("PATCH", Route::AdminUpdateUser),
            ("DELETE", Route::AdminDeleteUser),
        ],
    ),
    (
        "/admin/users/{id}/sessions",
        &[("DELETE", Route::AdminRevokeSessions)],
    ),
    (
        "/admin/users/{id}/mfa",
        &[("DELETE", Route::AdminRemoveMfa)],
    ),
    (
        "/admin/users/{id}/password-reset",
        &[("POST", Route::AdminSendReset)],
    ),
    ("/admin/events", &[("GET", Route::AdminListEvents)]),
];

/// The route table as `(path, methods)`, for the OpenAPI consistency test.
pub fn routes() -> impl Iterator<Item = (&'static str, Vec<&'static str>)> {
    ROUTES
        .iter()
        .map(|(path, handlers)| (*path, handlers.iter().map(|(m, _)| *m).collect()))
}

/// Matches `path` against a route pattern; returns the `{id}` segment, if the pattern has one.
fn matches<'p>(pattern: &str, path: &'p str) -> Option<Option<&'p str>> {
    let Some((prefix, suffix)) = pattern.split_once("{id}") else {
        return (pattern == path).then_some(None);
    };
    let param = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!param.is_empty() && !param.contains('/')).then_some(Some(param))
}

/// The route of a request and its path parameter.
fn resolve<'p>(method: &str, path: &'p str) -> Result<(Route, Option<&'p str>), AppError> {
    let (param, handlers) = ROUTES
        .iter()
        .find_map(|(pattern, handlers)| matches(pattern, path).map(|p| (p, *handlers)))
        .ok_or(AppError::NotFound)?;
    match handlers.iter().find(|(m, _)| *m == method) {
        Some((_, route)) => Ok((*route, param)),
        None => Err(AppError::MethodNotAllowed(
            handlers.iter().map(|(m, _)| *m).collect(),
        )),
    }
}

/// One request as its handler sees it: the request, its context, the route's `{id}` segment,
/// and the circuit guard every database call of the request goes through.
pub(crate) struct Call<'r, B> {
    req: &'r ApiRequest,
    ctx: &'r Ctx,
    param: Option<&'r str>,
    guard: Guard<'r, B>,
}

/// The service: configuration plus the stores it talks to, borrowed for one request, on the
/// cryptography `C` of its build.
pub struct App<'a, U, S, B, C: Crypto> {
    pub config: &'a Config,
    /// The access tokens' keys (`JWT_SIGNING_KEYS`), one key set per isolate.
    pub keys: &'a KeySet<C::TokenKeys>,
    pub users: &'a U,
    pub sessions: &'a S,
    pub breaker_store: &'a B,
    /// The emails this request asks for; the caller sends them to the queue after the response.
    pub outbox: &'a Outbox,
    /// Counts register, login, forgot and reset per client IP (`RATE_LIMIT_BY_IP`).
    pub ip_limiter: &'a dyn IpRateLimiter,
    /// The session state behind `/auth/me` and `/auth/verify` (`SESSION_CACHE_TTL`).
    pub session_cache: &'a SessionCache<'a>,
    /// This isolate's last good health check (`HEALTH_CHECK_TTL`).
    pub health_memory: &'a HealthMemory,
}

impl<U: UserStore + PasskeyStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// Handles one request end to end: routing, the handler, error mapping and the common
    /// headers (the per-request log line is written by the caller, which times the request).
    /// Never fails: every error becomes a problem response.
    pub async fn handle(&self, req: ApiRequest, ctx: &Ctx) -> ApiResponse {
        #[cfg(feature = "test-hooks")]
        if let Some(resp) = self.test_hook(&req) {
            return resp;
        }
        let routed =
            admin::gate(self.config, &req, ctx).and_then(|()| resolve(&req.method, &req.path));
        let (result, token_endpoint) = match routed {
            Ok((route, param)) => {
                let call = Call {
                    req: &req,
                    ctx,
                    param,
                    guard: Guard::new(self.breaker_store, self.config, ctx, self.health_memory),
                };
                let token_endpoint = matches!(route, Route::Login | Route::Refresh);
                (self.dispatch(route, &call).await, token_endpoint)
            }
            Err(e) => (Err(e), false),
        };
        let mut resp = match result {
            Ok(resp) => resp,
            Err(err) => {
                if let AppError::Internal(cause) = &err {
                    ctx.log("error", "internal_error", log_fields!({ "cause": cause }));
                }
                let problem = if token_endpoint {
                    oauth::token_problem(&err)
                } else {
                    err.problem()
                };
                http::render(problem, &ctx.request_id)
            }
        };
        resp.set_header("x-request-id", ctx.request_id.clone());
        resp.set_header("x-content-type-options", "nosniff");
        if resp.get_header("cache-control").is_none() {
            resp.set_header("cache-control", "no-store");
        }
        resp
    }

    /// Test-only routes, compiled in with the `test-hooks` feature (never in `make worker`).
    #[cfg(feature = "test-hooks")]
    fn test_hook(&self, req: &ApiRequest) -> Option<ApiResponse> {
        match req.path.as_str() {
            "/__test/panic" => panic!("test-hooks: deliberate panic"),
            // One bare PBKDF2 at the configured count, for `make bench`.
            "/__test/hash" => {
                crate::password::derive(
                    "benchmark password",
                    password_check::DUMMY_SALT,
                    self.config.pbkdf2_iterations,
                );
                Some(ApiResponse::empty(204))
            }
            _ => None,
        }
    }

    async fn dispatch(&self, route: Route, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx) = (call.req, call.ctx);
        let admitted = match self.limit_ip(route, req, ctx).await {
            // An oversized body is refused on every route, before its handler runs: also on
            // the routes that read no body (the contract's 413 does not depend on the route).
            Ok(()) if req.body.is_err() => Err(AppError::PayloadTooLarge),
            Ok(()) => self.admit_to_hash(route, ctx),
            Err(e) => Err(e),
        };
        let handled = self.run_route(route, call);
        crate::password::queue::while_admitted(admitted?.as_ref(), || ctx.clock_ms(), handled).await
    }

    async fn run_route(&self, route: Route, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        match route {
            Route::Register => self.register(call).await,
            Route::Login => self.login(call).await,
            Route::Refresh => self.refresh(call).await,
            Route::Logout => self.logout(call).await,
            Route::Me => self.me(call).await,
            Route::DeleteAccount => self.delete_account(call).await,
            Route::ChangePassword => self.change_password(call).await,
            Route::ForgotPassword => self.forgot_password(call).await,
            Route::ResetPassword => self.reset_password(call).await,
            Route::RequestVerification => self.request_verification(call).await,
            Route::VerifyEmail => self.verify_email(call).await,
            Route::ListSessions => self.list_sessions(call).await,
            Route::RevokeOtherSessions => self.revoke_other_sessions(call).await,
            Route::RevokeSession => self.revoke_session(call).await,
            Route::Verify => self.verify(call).await,
            Route::MfaSetup => self.mfa_setup(call).await,
            Route::MfaConfirm => self.mfa_confirm(call).await,
            Route::MfaVerify => self.mfa_verify(call).await,
            Route::MfaRecoveryCodes => self.mfa_recovery_codes(call).await,
            Route::MfaDisable => self.mfa_disable(call).await,
            Route::Jwks => Ok(self.jwks()),
            Route::Health => Ok(self.health(call).await),
            Route::Docs => Ok(discovery::docs_page()),
            Route::PasskeyRegisterOptions
            | Route::PasskeyRegister
            | Route::ListPasskeys
            | Route::DeletePasskey => self.passkeys_of_user(route, call).await,
            Route::PasskeyLoginOptions => self.passkey_login_options(call).await,
            Route::PasskeyLogin => self.passkey_login(call).await,
            Route::AdminConsole => Ok(admin::console_page()),
            Route::AdminListUsers => self.admin_list_users(call).await,
            Route::AdminGetUser => self.admin_get_user(call).await,
            Route::AdminUpdateUser => self.admin_update_user(call).await,
            Route::AdminDeleteUser => self.admin_delete_user(call).await,
            Route::AdminRevokeSessions => self.admin_revoke_sessions(call).await,
            Route::AdminRemoveMfa => self.admin_remove_mfa(call).await,
            Route::AdminSendReset => self.admin_send_reset(call).await,
            Route::AdminListEvents => self.admin_list_events(call).await,
        }
    }
}

/// The user view that register, me and the v2 endpoints return.
fn user_view(user: &User, mfa_enabled: bool) -> UserView {
    UserView {
        id: user.id.to_string(),
        email: user.email.as_ref().to_owned(),
        created_at: user.created_at.clone(),
        email_verified: user.email_verified,
        mfa_enabled,
    }
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// RFC 3339 with millisecond precision, in UTC (`2026-11-26T07:45:34.123Z`).
pub fn rfc3339(ms: i64) -> String {
    utc(ms).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Logs why a token was refused (the client only learns `invalid_token`).
fn reject_token(ctx: &Ctx, reason: TokenRejection) -> AppError {
    ctx.log(
        "info",
        "token_rejected",
        log_fields!({ "reason": reason.as_str() }),
    );
    AppError::InvalidToken(reason)
}

/// A log-safe form of an email as typed, valid or not.
fn redact_raw(raw: &str) -> String {
    match Email::parse(raw) {
        Ok(e) => e.redacted(),
        Err(_) => "<invalid>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_an_id_segment_match_one_non_empty_segment() {
        assert_eq!(
            resolve("DELETE", "/auth/sessions/abc").unwrap(),
            (Route::RevokeSession, Some("abc"))
        );
        assert_eq!(
            resolve("GET", "/auth/sessions").unwrap(),
            (Route::ListSessions, None)
        );
        assert!(matches!(
            resolve("DELETE", "/auth/sessions/"),
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            resolve("DELETE", "/auth/sessions/a/b"),
            Err(AppError::NotFound)
        ));
        match resolve("GET", "/auth/sessions/abc") {
            Err(AppError::MethodNotAllowed(allow)) => assert_eq!(allow, vec!["DELETE"]),
            other => panic!("{other:?}"),
        }
        match resolve("PUT", "/auth/me") {
            Err(AppError::MethodNotAllowed(allow)) => assert_eq!(allow, vec!["GET", "DELETE"]),
            other => panic!("{other:?}"),
        }
    }
}
