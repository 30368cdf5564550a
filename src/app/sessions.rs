//! Sessions: refresh-token rotation with reuse detection, logout, and the user's list of
//! devices (list, revoke one, revoke all but this one).

use crate::log_fields;

use super::Call;
use super::{rfc3339, App, Crypto};
use crate::api_doc::{SessionList, SessionView};
use crate::http::error::AppError;
use crate::http::oauth::RefreshGrant;
use crate::http::{ApiResponse, Body, Fields};
use crate::store::events::EventKind;
use crate::store::{BreakerStore, Rotation, SessionStore, UserStore};
use crate::tokens;

/// Why sessions revoked from the list of devices end (`sessions.revoked_reason`).
const REVOKED_BY_USER: &str = "revoked_by_user";

/// The body of `POST /auth/logout`.
struct Logout {
    refresh_token: String,
}

impl Body for Logout {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(f.text("refresh_token")
            .map(|refresh_token| Self { refresh_token }))
    }
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    pub(super) async fn refresh(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let RefreshGrant {
            refresh_token: presented,
        } = req.parse()?;
        let reject = |reason: &str, sid: Option<&str>| {
            ctx.log(
                "info",
                "refresh_rejected",
                log_fields!({ "reason": reason, "sid": sid }),
            );
            AppError::InvalidGrant
        };
        // A token of the wrong shape is refused before the database is asked.
        let Some(old_hash) = tokens::refresh_token_hash(&presented) else {
            return Err(reject("malformed", None));
        };
        let (new_token, new_hash) = tokens::new_refresh_token().map_err(AppError::internal)?;
        let outcome = guard
            .call(|| self.sessions.rotate(&old_hash, &new_hash, ctx.now_ms))
            .await?;
        match outcome {
            Rotation::Rotated {
                session_id,
                user,
                amr,
            } => {
                ctx.log(
                    "info",
                    "refresh_succeeded",
                    log_fields!({ "user_id": user.id.to_string(), "sid": session_id }),
                );
                // The session's way in, as its login stored it: a refresh proves no factor.
                self.token_pair(&user, &session_id, &amr, new_token, ctx)
                    .await
            }
            Rotation::Spent {
                session_id,
                spent_at_ms,
            } => {
                if within_reuse_grace(
                    ctx.now_ms,
                    spent_at_ms,
                    self.config.refresh_reuse_grace_secs,
                ) {
                    // A concurrent refresh (two tabs, a retry) lost the race: refuse it, but
                    // keep the session that the winner just rotated.
                    return Err(reject("concurrent_refresh", Some(&session_id)));
                }
                let audit = call.audit(&[EventKind::RefreshReuseDetected]);
                let revoked = guard
                    .call(|| {
                        self.sessions
                            .revoke(&session_id, "reuse_detected", ctx.now_ms, &audit)
                    })
                    .await?;
                self.purge_sessions(std::slice::from_ref(&session_id), ctx)
                    .await;
                ctx.log(
                    "warn",
                    "refresh_reuse_detected",
                    log_fields!({ "sid": session_id, "session_revoked": revoked }),
                );
                Err(AppError::InvalidGrant)
            }
            Rotation::Inactive => Err(reject("session_inactive", None)),
            Rotation::Unknown => Err(reject("unknown", None)),
        }
    }

    pub(super) async fn logout(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let Logout {
            refresh_token: presented,
        } = req.parse()?;
        // RFC 7009: an unknown or already revoked token is not an error, so nothing is learned.
        if let Some(hash) = tokens::refresh_token_hash(&presented) {
            let revoked = guard
                .call(|| self.sessions.revoke_by_token(&hash, "logout", ctx.now_ms))
                .await?;
            if let Some(sid) = revoked {
                self.purge_sessions(std::slice::from_ref(&sid), ctx).await;
                ctx.log("info", "logout", log_fields!({ "sid": sid }));
            }
        }
        Ok(ApiResponse::empty(204))
    }

    /// `GET /auth/sessions`: the caller's active sessions, newest first.
    pub(super) async fn list_sessions(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let (token, user) = self.bearer_user(call).await?;
        let sessions = guard
            .call(|| self.sessions.list_sessions(&user.id, ctx.now_ms))
            .await?;
        let sessions = sessions
            .into_iter()
            .map(|s| SessionView {
                current: s.id == token.claims.sid,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at_ms.map(rfc3339),
                expires_at: rfc3339(s.expires_at_ms),
                user_agent: s.user_agent,
            })
            .collect();
        Ok(ApiResponse::json(200, &SessionList { sessions }))
    }

    /// `DELETE /auth/sessions/{id}`: signs one of the caller's devices out at once.
    pub(super) async fn revoke_session(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let session_id = call.param.unwrap_or_default();
        let (_, user) = self.bearer_user(call).await?;
        let audit = call.audit(&[EventKind::SessionRevoked]);
        let revoked = guard
            .call(|| {
                self.sessions.revoke_user_session(
                    &user.id,
                    session_id,
                    REVOKED_BY_USER,
                    ctx.now_ms,
                    &audit,
                )
            })
            .await?;
        if !revoked {
            // Another user's session looks exactly like one that does not exist.
            return Err(AppError::NotFound);
        }
        self.purge_sessions(&[session_id.to_owned()], ctx).await;
        ctx.log(
            "info",
            "session_revoked",
            log_fields!({ "user_id": user.id.to_string(), "sid": session_id }),
        );
        Ok(ApiResponse::empty(204))
    }

    /// `DELETE /auth/sessions`: signs out every device but the caller's.
    pub(super) async fn revoke_other_sessions(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let (token, user) = self.bearer_user(call).await?;
        let audit = call.audit(&[EventKind::SessionRevoked]);
        let revoked = guard
            .call(|| {
                self.sessions.revoke_other_sessions(
                    &user.id,
                    &token.claims.sid,
                    REVOKED_BY_USER,
                    ctx.now_ms,
                    &audit,
                )
            })
            .await?;
        self.purge_sessions(&revoked, ctx).await;
        ctx.log(
            "info",
            "other_sessions_revoked",
            log_fields!({ "user_id": user.id.to_string(), "sid": token.claims.sid, "revoked": revoked.len() }),
        );
        Ok(ApiResponse::empty(204))
    }
}

/// Whether a spent token presented again is the loser of a concurrent refresh rather than a
/// replay: spent less than `grace_secs` ago. The winner's clock may be ahead of the loser's (the
/// spend looks to be in the future); that is still the same race. A grace of `0` is strict: every
/// second presentation is reuse.
fn within_reuse_grace(now_ms: i64, spent_at_ms: i64, grace_secs: i64) -> bool {
    grace_secs > 0 && now_ms - spent_at_ms < grace_secs * 1000
}

#[cfg(test)]
mod tests {
    use super::within_reuse_grace;

    #[test]
    fn a_zero_grace_treats_every_reuse_as_reuse_even_with_clock_skew() {
        assert!(!within_reuse_grace(1_000, 1_000, 0));
        assert!(!within_reuse_grace(1_000, 1_500, 0), "spent 'after' now");
        assert!(within_reuse_grace(1_000, 1_500, 10));
        assert!(within_reuse_grace(10_999, 1_000, 10));
        assert!(!within_reuse_grace(11_000, 1_000, 10));
    }
}
