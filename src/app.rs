//! The route table and the handlers, over the storage traits. No `worker::` in here: the same
//! code runs on workerd (with D1/KV) and in native tests (with in-memory stores).

use std::cell::Cell;
use std::future::Future;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::api_doc::{Health, HealthChecks, TokenPair, UserView, VerifyResponse};
use crate::breaker::{self, BreakerState, Decision};
use crate::config::Config;
use crate::domain::{Email, Password, User, UserId};
use crate::error::{AppError, FieldError, TokenRejection};
use crate::http::{self, ApiRequest, ApiResponse, Ctx};
use crate::password::{self, PasswordHash};
use crate::store::{BreakerStore, NewSession, Rotation, SessionStore, StoreError, UserStore};
use crate::throttle;
use crate::tokens::{self, AccessClaims, VerifiedToken, ACCESS_TYPE};

/// A fixed salt for the dummy hash an unknown email costs (its result is thrown away).
const DUMMY_SALT: &[u8; password::SALT_LEN] = b"edge-auth-dummy!";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Register,
    Login,
    Refresh,
    Logout,
    Me,
    Verify,
    Jwks,
    Health,
    OpenApi,
    Docs,
}

/// The one route table: path, the methods it allows, and the handler.
const ROUTES: &[(&str, &[&str], Route)] = &[
    ("/auth/register", &["POST"], Route::Register),
    ("/auth/login", &["POST"], Route::Login),
    ("/auth/refresh", &["POST"], Route::Refresh),
    ("/auth/logout", &["POST"], Route::Logout),
    ("/auth/me", &["GET"], Route::Me),
    ("/auth/verify", &["POST"], Route::Verify),
    ("/.well-known/jwks.json", &["GET"], Route::Jwks),
    ("/health", &["GET"], Route::Health),
    ("/openapi.json", &["GET"], Route::OpenApi),
    ("/docs", &["GET"], Route::Docs),
];

/// The route table as `(path, methods)`, for the OpenAPI consistency test.
pub fn routes() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    ROUTES.iter().map(|(path, methods, _)| (*path, *methods))
}

/// The Swagger UI page; its script and styles are static assets under `/docs/`.
const DOCS_HTML: &str = include_str!("docs.html");

fn resolve(method: &str, path: &str) -> Result<Route, AppError> {
    let (_, allowed, route) = ROUTES
        .iter()
        .find(|(p, _, _)| *p == path)
        .ok_or(AppError::NotFound)?;
    if allowed.contains(&method) {
        Ok(*route)
    } else {
        Err(AppError::MethodNotAllowed(allowed))
    }
}

/// The service: configuration plus the stores it talks to, borrowed for one request.
pub struct App<'a, U, S, B> {
    pub config: &'a Config,
    pub users: &'a U,
    pub sessions: &'a S,
    pub breaker_store: &'a B,
}

impl<U: UserStore, S: SessionStore, B: BreakerStore> App<'_, U, S, B> {
    /// Handles one request end to end: routing, the handler, error mapping and the common
    /// headers (the per-request log line is written by the caller, which times the request).
    /// Never fails: every error becomes a problem response.
    pub async fn handle(&self, req: ApiRequest, ctx: &Ctx) -> ApiResponse {
        let guard = Guard {
            store: self.breaker_store,
            config: self.config,
            state: Cell::new(None),
            ctx,
        };
        #[cfg(feature = "test-hooks")]
        if let Some(resp) = self.test_hook(&req) {
            return resp;
        }
        let result = match resolve(&req.method, &req.path) {
            Ok(route) => self.dispatch(route, &req, ctx, &guard).await,
            Err(e) => Err(e),
        };
        let mut resp = match result {
            Ok(resp) => resp,
            Err(err) => {
                if let AppError::Internal(cause) = &err {
                    ctx.log("error", "internal_error", json!({ "cause": cause }));
                }
                http::problem_response(&err, &ctx.request_id)
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
                password::derive(
                    "benchmark password",
                    DUMMY_SALT,
                    self.config.pbkdf2_iterations,
                );
                Some(ApiResponse::empty(204))
            }
            _ => None,
        }
    }

    async fn dispatch(
        &self,
        route: Route,
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        match route {
            Route::Register => self.register(req, ctx, guard).await,
            Route::Login => self.login(req, ctx, guard).await,
            Route::Refresh => self.refresh(req, ctx, guard).await,
            Route::Logout => self.logout(req, ctx, guard).await,
            Route::Me => self.me(req, ctx, guard).await,
            Route::Verify => self.verify(req, ctx, guard).await,
            Route::Jwks => Ok(self.jwks()),
            Route::Health => Ok(self.health(guard).await),
            Route::OpenApi => Ok(ApiResponse::json(200, &crate::api_doc::document())
                .with_header("cache-control", "public, max-age=300")),
            Route::Docs => Ok(docs_page()),
        }
    }

    async fn register(
        &self,
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let body = http::body_object(req, false)?;
        let mut errors: Vec<FieldError> = Vec::new();
        let email = match http::string_field(&body, "email").and_then(Email::parse) {
            Ok(e) => Some(e),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let password = match http::string_field(&body, "password") {
            Ok(raw) => match Password::parse(raw, email.as_ref()) {
                Ok(p) => Some(p),
                Err(mut es) => {
                    errors.append(&mut es);
                    None
                }
            },
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let (Some(email), Some(password)) = (email, password) else {
            return Err(AppError::Validation(errors));
        };

        let hash = PasswordHash::create(password.expose(), self.config.pbkdf2_iterations)
            .map_err(AppError::internal)?;
        let user = User {
            id: UserId::new_random().map_err(AppError::internal)?,
            email,
            password_hash: hash.to_phc(),
            created_at: rfc3339(ctx.now_ms),
        };
        if !guard.call(|| self.users.insert_user(&user)).await? {
            ctx.log(
                "info",
                "register_rejected",
                json!({ "reason": "email_taken", "email": user.email.redacted() }),
            );
            return Err(AppError::EmailTaken);
        }
        ctx.log(
            "info",
            "user_registered",
            json!({ "user_id": user.id.to_string(), "email": user.email.redacted() }),
        );
        Ok(ApiResponse::json(201, &user_json(&user)).with_header("location", "/auth/me"))
    }

    async fn login(
        &self,
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let body = http::body_object(req, true)?;
        let is_form = body.contains_key("username") && !body.contains_key("email");
        let email_field = if is_form { "username" } else { "email" };
        let raw_email = http::string_field(&body, email_field);
        let raw_password = http::string_field(&body, "password");
        let (raw_email, raw_password) = match (raw_email, raw_password) {
            (Ok(e), Ok(p)) => (e, p),
            (e, p) => {
                let errors = [e.err(), p.err()].into_iter().flatten().collect();
                return Err(AppError::Validation(errors));
            }
        };

        // A malformed email cannot name an account: treat it as unknown, at the same cost.
        let email = Email::parse(raw_email).ok();
        let (user, attempts) = match &email {
            Some(email) => guard.call(|| self.users.find_for_login(email)).await?,
            None => (None, None),
        };
        // Throttled before any hashing, and whether or not the account exists, so a 429 says
        // nothing about the account and costs no CPU.
        if let throttle::Decision::Throttle { retry_after_secs } =
            throttle::check(attempts, ctx.now_ms, &self.config.throttle)
        {
            ctx.log(
                "warn",
                "login_throttled",
                json!({ "email": redact_raw(raw_email), "retry_after": retry_after_secs }),
            );
            return Err(AppError::TooManyAttempts {
                retry_after: retry_after_secs,
            });
        }
        let (user, stored) = match self.check_password(user, raw_password, ctx) {
            Ok(found) => found,
            Err(reason) => {
                let counted = match &email {
                    Some(email) => {
                        let window_ms = self.config.throttle.window_secs * 1000;
                        let a = guard
                            .call(|| self.users.record_failure(email, ctx.now_ms, window_ms))
                            .await?;
                        Some(a.failures)
                    }
                    None => None,
                };
                ctx.log(
                    "info",
                    "login_failed",
                    json!({
                        "reason": reason,
                        "email": redact_raw(raw_email),
                        "failures_in_window": counted,
                    }),
                );
                return Err(AppError::InvalidCredentials);
            }
        };
        if let (Some(email), Some(_)) = (&email, attempts) {
            guard.call(|| self.users.clear_failures(email)).await?;
        }

        if stored.needs_rehash(self.config.pbkdf2_iterations) {
            let fresh = PasswordHash::create(raw_password, self.config.pbkdf2_iterations)
                .map_err(AppError::internal)?;
            let (phc, updated_at) = (fresh.to_phc(), rfc3339(ctx.now_ms));
            guard
                .call(|| self.users.update_password_hash(&user.id, &phc, &updated_at))
                .await?;
            ctx.log(
                "info",
                "password_rehashed",
                json!({
                    "user_id": user.id.to_string(),
                    "from": stored.algorithm(),
                    "from_iterations": stored.iterations(),
                    "to_iterations": self.config.pbkdf2_iterations,
                }),
            );
        }

        let session_id = crate::random::uuid_v4()
            .map_err(AppError::internal)?
            .to_string();
        let (refresh_token, refresh_hash) =
            tokens::new_refresh_token().map_err(AppError::internal)?;
        let session = NewSession {
            id: session_id.clone(),
            user_id: user.id.clone(),
            refresh_hash,
            created_at: rfc3339(ctx.now_ms),
            expires_at_ms: ctx.now_ms + self.config.refresh_token_ttl_secs * 1000,
        };
        guard
            .call(|| self.sessions.create_session(&session))
            .await?;
        ctx.log(
            "info",
            "login_succeeded",
            json!({ "user_id": user.id.to_string(), "sid": session_id }),
        );
        self.token_pair(&user, &session_id, refresh_token, ctx)
    }

    /// Checks a password against a user's stored hash. Every failure costs the same work,
    /// `login_failure_iterations` of PBKDF2 (a dummy hash when there is no usable one, padding
    /// after a wrong password on a cheaper one), so the failure reasons take the same time.
    /// The reason is for logs only.
    fn check_password(
        &self,
        user: Option<User>,
        password: &str,
        ctx: &Ctx,
    ) -> Result<(User, password::StoredHash), &'static str> {
        let dummy = || password::derive(password, DUMMY_SALT, self.config.login_failure_iterations);
        let Some(user) = user else {
            dummy();
            return Err("unknown_email");
        };
        let stored =
            match password::StoredHash::parse(&user.password_hash, &self.config.hash_bounds()) {
                Ok(h) => h,
                Err(e) => {
                    ctx.log(
                        "error",
                        "stored_hash_refused",
                        json!({ "user_id": user.id.to_string(), "reason": e.to_string() }),
                    );
                    dummy();
                    return Err("stored_hash_refused");
                }
            };
        if stored.verify(password) {
            Ok((user, stored))
        } else {
            let floor = self.config.login_failure_iterations;
            password::pad_failure(password, stored.work_iterations(), floor);
            Err("wrong_password")
        }
    }

    /// The login/refresh response: a new access token for `sid` and the given refresh token.
    fn token_pair(
        &self,
        user: &User,
        sid: &str,
        refresh_token: String,
        ctx: &Ctx,
    ) -> Result<ApiResponse, AppError> {
        let access_token = self.issue_access_token(user, sid, ctx)?;
        Ok(ApiResponse::json(
            200,
            &to_json(&TokenPair {
                access_token,
                token_type: "Bearer".into(),
                expires_in: self.config.access_token_ttl_secs,
                refresh_token,
            }),
        ))
    }

    /// Reads the required `refresh_token` field of a JSON body.
    fn refresh_token_field(req: &ApiRequest) -> Result<String, AppError> {
        let body = http::body_object(req, false)?;
        http::string_field(&body, "refresh_token")
            .map(str::to_owned)
            .map_err(|e| AppError::Validation(vec![e]))
    }

    async fn refresh(
        &self,
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let presented = Self::refresh_token_field(req)?;
        let reject = |reason: &str, sid: Option<&str>| {
            ctx.log(
                "info",
                "refresh_rejected",
                json!({ "reason": reason, "sid": sid }),
            );
            AppError::InvalidGrant
        };
        let Some(old_hash) = tokens::refresh_token_hash(&presented) else {
            return Err(reject("malformed", None));
        };
        let (new_token, new_hash) = tokens::new_refresh_token().map_err(AppError::internal)?;
        let outcome = guard
            .call(|| self.sessions.rotate(&old_hash, &new_hash, ctx.now_ms))
            .await?;
        match outcome {
            Rotation::Rotated { session_id, user } => {
                ctx.log(
                    "info",
                    "refresh_succeeded",
                    json!({ "user_id": user.id.to_string(), "sid": session_id }),
                );
                self.token_pair(&user, &session_id, new_token, ctx)
            }
            Rotation::Spent {
                session_id,
                spent_at_ms,
            } => {
                let grace_ms = self.config.refresh_reuse_grace_secs * 1000;
                if ctx.now_ms - spent_at_ms < grace_ms {
                    // A concurrent refresh (two tabs, a retry) lost the race: refuse it, but
                    // keep the session that the winner just rotated.
                    return Err(reject("concurrent_refresh", Some(&session_id)));
                }
                let revoked = guard
                    .call(|| {
                        self.sessions
                            .revoke(&session_id, "reuse_detected", ctx.now_ms)
                    })
                    .await?;
                ctx.log(
                    "warn",
                    "refresh_reuse_detected",
                    json!({ "sid": session_id, "session_revoked": revoked }),
                );
                Err(AppError::InvalidGrant)
            }
            Rotation::Inactive => Err(reject("session_inactive", None)),
            Rotation::Unknown => Err(reject("unknown", None)),
        }
    }

    async fn logout(
        &self,
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let presented = Self::refresh_token_field(req)?;
        // RFC 7009: an unknown or already revoked token is not an error, so nothing is learned.
        if let Some(hash) = tokens::refresh_token_hash(&presented) {
            let revoked = guard
                .call(|| self.sessions.revoke_by_token(&hash, "logout", ctx.now_ms))
                .await?;
            if let Some(sid) = revoked {
                ctx.log("info", "logout", json!({ "sid": sid }));
            }
        }
        Ok(ApiResponse::empty(204))
    }

    fn issue_access_token(&self, user: &User, sid: &str, ctx: &Ctx) -> Result<String, AppError> {
        let claims = AccessClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: user.id.to_string(),
            email: user.email.as_ref().to_owned(),
            sid: sid.to_owned(),
            jti: crate::random::uuid_v4()
                .map_err(AppError::internal)?
                .to_string(),
            typ: ACCESS_TYPE.to_owned(),
        };
        self.config
            .keys
            .issue(&claims, utc(ctx.now_ms), self.config.access_token_ttl_secs)
            .map_err(AppError::internal)
    }

    /// Checks an access token's signature and claims (no database), logging why it fails.
    fn verify_token(&self, token: &str, ctx: &Ctx) -> Result<VerifiedToken, AppError> {
        self.config
            .keys
            .verify(
                token,
                utc(ctx.now_ms),
                &self.config.issuer,
                &self.config.audience,
            )
            .map_err(|reason| reject_token(ctx, reason))
    }

    /// The bearer token of a request, checked as [`Self::verify_token`] does.
    fn verify_bearer(&self, req: &ApiRequest, ctx: &Ctx) -> Result<VerifiedToken, AppError> {
        let token = http::bearer_token(req).map_err(|e| match e {
            AppError::InvalidToken(reason) => reject_token(ctx, reason),
            other => other,
        })?;
        self.verify_token(token, ctx)
    }

    async fn me(
        &self,
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let token = self.verify_bearer(req, ctx)?;
        let user = self.session_user(&token, ctx, guard).await?;
        Ok(ApiResponse::json(200, &user_json(&user)))
    }

    /// The user of a verified access token, if its session is still active (logout and reuse
    /// detection revoke access tokens at once, by `sid`).
    async fn session_user(
        &self,
        token: &VerifiedToken,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<User, AppError> {
        let revoked = || reject_token(ctx, TokenRejection::SessionRevoked);
        let id = UserId::parse(&token.claims.sub).map_err(|_| revoked())?;
        guard
            .call(|| {
                self.sessions
                    .active_session_user(&token.claims.sid, &id, ctx.now_ms)
            })
            .await?
            .ok_or_else(revoked)
    }

    /// Token introspection for other services: `{"active": false}` for anything `/auth/me` would
    /// reject, never a 5xx for a bad token. When the database cannot be asked (breaker open or
    /// storage failing) the answer rests on the signature alone and says so.
    async fn verify(
        &self,
        req: &ApiRequest,
        ctx: &Ctx,
        guard: &Guard<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let body = http::body_object(req, false)?;
        let raw = http::string_field(&body, "token").map_err(|e| AppError::Validation(vec![e]))?;
        let inactive = || ApiResponse::json(200, &to_json(&VerifyResponse::default()));
        let Ok(token) = self.verify_token(raw, ctx) else {
            return Ok(inactive());
        };
        let revocation_checked = match self.session_user(&token, ctx, guard).await {
            Ok(_) => true,
            Err(AppError::InvalidToken(_)) => return Ok(inactive()),
            Err(AppError::ServiceUnavailable { .. }) => {
                ctx.log(
                    "warn",
                    "verify_degraded",
                    json!({ "sid": token.claims.sid }),
                );
                false
            }
            Err(e) => return Err(e),
        };
        let c = token.claims;
        Ok(ApiResponse::json(
            200,
            &to_json(&VerifyResponse {
                active: true,
                sub: Some(c.sub),
                email: Some(c.email),
                sid: Some(c.sid),
                exp: Some(token.exp),
                iat: Some(token.iat),
                iss: Some(c.iss),
                aud: Some(c.aud),
                revocation_checked: Some(revocation_checked),
            }),
        ))
    }

    fn jwks(&self) -> ApiResponse {
        ApiResponse::json(200, &self.config.keys.jwks()).with_header(
            "cache-control",
            format!("public, max-age={}", self.config.jwks_max_age_secs),
        )
    }

    async fn health(&self, guard: &Guard<'_, B>) -> ApiResponse {
        let db = guard.call(|| self.users.ping()).await;
        let breaker = guard.state_name();
        let database = match &db {
            Ok(()) => "ok",
            Err(AppError::ServiceUnavailable { .. }) if breaker != "closed" => "unchecked",
            Err(_) => "failing",
        };
        let ok = db.is_ok();
        let body = to_json(&Health {
            status: if ok { "ok" } else { "degraded" }.into(),
            checks: HealthChecks {
                database: database.into(),
                breaker: breaker.into(),
            },
        });
        let mut resp = ApiResponse::json(if ok { 200 } else { 503 }, &body);
        if let Err(AppError::ServiceUnavailable { retry_after }) = db {
            resp.set_header("retry-after", retry_after.to_string());
        }
        resp
    }
}

/// Runs database calls through the circuit breaker. The breaker's state is read from its store
/// once per request and written back only when it changes.
struct Guard<'a, B> {
    store: &'a B,
    config: &'a Config,
    state: Cell<Option<BreakerState>>,
    ctx: &'a Ctx,
}

impl<B: BreakerStore> Guard<'_, B> {
    async fn current(&self) -> BreakerState {
        if let Some(s) = self.state.get() {
            return s;
        }
        let s = match self.store.load().await {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                // KV trouble must neither open the gate nor lock everyone out: the database
                // (and so the password check) still decides, as if the breaker were closed.
                self.ctx.log(
                    "warn",
                    "breaker_store_unavailable",
                    json!({ "cause": e.to_string() }),
                );
                BreakerState::default()
            }
        };
        self.state.set(Some(s));
        s
    }

    async fn transition(&self, from: BreakerState, to: Option<BreakerState>) {
        let Some(to) = to else { return };
        self.state.set(Some(to));
        if from.name() != to.name() {
            self.ctx.log(
                "warn",
                "breaker_state_changed",
                json!({ "from": from.name(), "to": to.name() }),
            );
        }
        if let Err(e) = self.store.save(&to).await {
            self.ctx.log(
                "warn",
                "breaker_store_unavailable",
                json!({ "cause": e.to_string() }),
            );
        }
    }

    /// The state's name as last seen (`closed` when it was never read).
    fn state_name(&self) -> &'static str {
        self.state.get().unwrap_or_default().name()
    }

    async fn call<T, F, Fut>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let now = self.ctx.now_secs();
        let cfg = &self.config.breaker;
        let state = self.current().await;
        let (decision, next) = breaker::before_call(state, now, cfg);
        if let Decision::Reject { retry_after_secs } = decision {
            return Err(AppError::ServiceUnavailable {
                retry_after: retry_after_secs,
            });
        }
        self.transition(state, next).await;
        let state = next.unwrap_or(state);
        match f().await {
            Ok(v) => {
                self.transition(state, breaker::on_success(state, now))
                    .await;
                Ok(v)
            }
            Err(e) => {
                self.ctx.log(
                    "error",
                    "storage_failure",
                    json!({ "cause": e.to_string() }),
                );
                let next = breaker::on_failure(state, now, cfg);
                self.transition(state, next).await;
                let retry_after = match next.unwrap_or(state) {
                    BreakerState::Open { .. } => cfg.cooldown_secs as u64,
                    _ => 1,
                };
                Err(AppError::ServiceUnavailable { retry_after })
            }
        }
    }
}

fn user_json(user: &User) -> Value {
    to_json(&UserView {
        id: user.id.to_string(),
        email: user.email.as_ref().to_owned(),
        created_at: user.created_at.clone(),
    })
}

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn docs_page() -> ApiResponse {
    let mut resp = ApiResponse::empty(200);
    resp.body = DOCS_HTML.as_bytes().to_vec();
    resp.set_header("content-type", "text/html; charset=utf-8");
    resp.set_header(
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         frame-ancestors 'none'",
    );
    resp
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
        json!({ "reason": reason.as_str() }),
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
