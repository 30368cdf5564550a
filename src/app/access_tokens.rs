//! Access tokens on the way in: the bearer check every protected endpoint starts with,
//! `GET /auth/me`, and `/auth/verify`, the token introspection other services and Workers call.

use crate::log_fields;

use super::{reject_token, utc, App, Call, Crypto};
use crate::api_doc::VerifyResponse;
use crate::domain::{User, UserId};
use crate::http;
use crate::http::error::{AppError, TokenRejection};
use crate::http::{ApiRequest, ApiResponse, Body, Ctx, Fields};
use crate::store::session_cache::CachedSession;
use crate::store::{ActiveSession, BreakerStore, Read, SessionStore, UserStore};
use crate::tokens::VerifiedToken;

/// The body of `POST /auth/verify`.
struct Introspection {
    token: String,
}

impl Body for Introspection {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(f.text("token").map(|token| Self { token }))
    }
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    pub(super) async fn me(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx) = (call.req, call.ctx);
        let token = self.bearer_token(req, ctx).await?;
        let state = self.session_state(&token, call).await?;
        Ok(ApiResponse::json(200, &state.view()))
    }

    /// Checks an access token's signature and claims (no database), logging why it fails.
    async fn verify_token(&self, token: &str, ctx: &Ctx) -> Result<VerifiedToken, AppError> {
        self.keys
            .verify(
                token,
                utc(ctx.now_ms),
                &self.config.issuer,
                &self.config.audience,
            )
            .await
            .map_err(|reason| reject_token(ctx, reason))
    }

    /// The bearer token of a request and its user, if its session is still active: what every
    /// endpoint that needs a signed-in user starts with.
    ///
    /// # Errors
    /// `401 invalid_token` for a missing or bad token or an ended session; `503` when the
    /// session cannot be checked.
    pub(super) async fn bearer_user(
        &self,
        call: &Call<'_, B>,
    ) -> Result<(VerifiedToken, User), AppError> {
        let (req, ctx) = (call.req, call.ctx);
        let token = self.bearer_token(req, ctx).await?;
        let user = self.session_user(&token, call).await?;
        Ok((token, user))
    }

    /// The request's bearer token, its signature and claims checked (no database).
    pub(super) async fn bearer_token(
        &self,
        req: &ApiRequest,
        ctx: &Ctx,
    ) -> Result<VerifiedToken, AppError> {
        let raw = http::bearer_token(req).map_err(|e| match e {
            AppError::InvalidToken(reason) => reject_token(ctx, reason),
            other => other,
        })?;
        self.verify_token(raw, ctx).await
    }

    /// The user of a verified access token, if its session is still active (logout, reuse
    /// detection, a password change and the list of devices revoke access tokens at once, by
    /// `sid`), read from D1's primary: what the endpoints that change the account start with.
    async fn session_user(
        &self,
        token: &VerifiedToken,
        call: &Call<'_, B>,
    ) -> Result<User, AppError> {
        let ctx = call.ctx;
        let id = UserId::parse(&token.claims.sub)
            .map_err(|_| reject_token(ctx, TokenRejection::SessionRevoked))?;
        let found = self
            .read_session(&token.claims.sid, &id, Read::Primary, call)
            .await?
            .ok_or_else(|| reject_token(ctx, TokenRejection::SessionRevoked))?;
        Ok(found.user)
    }

    async fn read_session(
        &self,
        sid: &str,
        id: &UserId,
        read: Read,
        call: &Call<'_, B>,
    ) -> Result<Option<ActiveSession>, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        guard
            .call(|| self.sessions.active_session(sid, id, ctx.now_ms, read))
            .await
    }

    /// The state of a verified access token's session, for `/auth/me` and `/auth/verify`:
    /// through the session cache (isolate memory, then the location's cache), else from D1,
    /// where a read replica may answer; a session the replica does not know (yet) is asked of
    /// the primary before it is refused. A session purged in this location is asked of the
    /// primary only: a lagging replica may not have its revocation yet, and would answer with
    /// the state the purge was for.
    pub(super) async fn session_state(
        &self,
        token: &VerifiedToken,
        call: &Call<'_, B>,
    ) -> Result<CachedSession, AppError> {
        let ctx = call.ctx;
        let cache = self.session_cache;
        let sid = &token.claims.sid;
        let mut purged = false;
        if cache.enabled() {
            let lookup = cache.lookup(sid, &token.claims.sub, ctx.now_ms).await;
            if let Some(e) = lookup.location_error {
                ctx.log("warn", "session_cache_failed", log_fields!({ "cause": e }));
            }
            if let Some((state, tier)) = lookup.hit {
                ctx.note_session_cache(tier.as_str());
                return Ok(state);
            }
            ctx.note_session_cache("miss");
            purged = lookup.purged;
        }
        let id = UserId::parse(&token.claims.sub)
            .map_err(|_| reject_token(ctx, TokenRejection::SessionRevoked))?;
        let found = if cache.enabled() && !purged {
            match self.read_session(sid, &id, Read::Nearest, call).await? {
                Some(found) => Some(found),
                None => self.read_session(sid, &id, Read::Primary, call).await?,
            }
        } else {
            self.read_session(sid, &id, Read::Primary, call).await?
        };
        // Refused (and logged) only once the primary has said so too.
        let found = found.ok_or_else(|| reject_token(ctx, TokenRejection::SessionRevoked))?;
        let state = CachedSession::new(
            &found.user,
            found.mfa_enabled,
            found.expires_at_ms,
            ctx.now_ms,
        );
        if let Some(e) = cache.store(sid, &state, ctx.now_ms).await {
            ctx.log("warn", "session_cache_failed", log_fields!({ "cause": e }));
        }
        Ok(state)
    }

    /// Purges revoked (or changed) sessions from the session cache of this location, before the
    /// request that revoked them answers.
    pub(super) async fn purge_sessions(&self, session_ids: &[String], ctx: &Ctx) {
        for e in self.session_cache.purge(session_ids, ctx.now_ms).await {
            ctx.log("warn", "session_cache_failed", log_fields!({ "cause": e }));
        }
    }

    /// Token introspection for other services: `{"active": false}` for anything `/auth/me` would
    /// reject, never a 5xx for a bad token. When the database cannot be asked (breaker open or
    /// storage failing) the answer rests on the signature alone and says so.
    pub(super) async fn verify(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx) = (call.req, call.ctx);
        let Introspection { token } = req.parse()?;
        let raw = token.as_str();
        let inactive = || ApiResponse::json(200, &VerifyResponse::default());
        let Ok(token) = self.verify_token(raw, ctx).await else {
            return Ok(inactive());
        };
        let (revocation_checked, email_verified) = match self.session_state(&token, call).await {
            Ok(state) => (true, state.email_verified),
            Err(AppError::InvalidToken(_)) => return Ok(inactive()),
            Err(AppError::ServiceUnavailable { .. }) => {
                ctx.log(
                    "warn",
                    "verify_degraded",
                    log_fields!({ "sid": token.claims.sid }),
                );
                (false, token.claims.email_verified)
            }
            Err(e) => return Err(e),
        };
        let c = token.claims;
        Ok(ApiResponse::json(
            200,
            &VerifyResponse {
                active: true,
                sub: Some(c.sub),
                email: Some(c.email),
                email_verified: Some(email_verified),
                sid: Some(c.sid),
                exp: Some(token.exp),
                iat: Some(token.iat),
                iss: Some(c.iss),
                aud: Some(c.aud),
                amr: Some(c.amr),
                revocation_checked: Some(revocation_checked),
            },
        ))
    }
}
