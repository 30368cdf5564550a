//! What needs no account: the JWKS, the health check and the docs page. The OpenAPI document
//! the page shows is a static file of the entry module (`scripts/static-files.mjs`).

use super::Call;
use super::{App, Crypto};
use crate::api_doc::{Health, HealthChecks};
use crate::http::error::AppError;
use crate::http::ApiResponse;
use crate::store::{BreakerStore, SessionStore, UserStore};

/// The Swagger UI page; its script and styles are static assets under `/docs/`.
const DOCS_HTML: &str = include_str!("../api_doc/docs.html");

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    pub(super) fn jwks(&self) -> ApiResponse {
        ApiResponse::json_text(200, self.keys.jwks_text()).with_header(
            "cache-control",
            format!("public, max-age={}", self.config.jwks_max_age_secs),
        )
    }

    /// `GET /health`: the database (a ping through the breaker) and the breaker's state; a good
    /// answer is given again from this isolate's memory for `HEALTH_CHECK_TTL` seconds.
    pub(super) async fn health(&self, call: &Call<'_, B>) -> ApiResponse {
        let (ctx, guard) = (call.ctx, &call.guard);
        if self.health_memory.healthy_at(ctx.now_ms) {
            return Self::health_response(Ok(()), "closed");
        }
        let db = guard.call(|| self.users.ping()).await;
        let breaker = guard.state_name();
        if db.is_ok() && breaker == "closed" {
            self.health_memory
                .record_healthy(ctx.now_ms, self.config.health_check_ttl_secs * 1000);
        }
        Self::health_response(db, breaker)
    }

    fn health_response(db: Result<(), AppError>, breaker: &str) -> ApiResponse {
        let database = match &db {
            Ok(()) => "ok",
            Err(AppError::ServiceUnavailable { .. }) if breaker != "closed" => "unchecked",
            Err(_) => "failing",
        };
        let ok = db.is_ok();
        let body = Health {
            status: if ok { "ok" } else { "degraded" }.into(),
            checks: HealthChecks {
                database: database.into(),
                breaker: breaker.into(),
            },
        };
        let mut resp = ApiResponse::json(if ok { 200 } else { 503 }, &body);
        if let Err(AppError::ServiceUnavailable { retry_after }) = db {
            resp.set_header("retry-after", retry_after.to_string());
        }
        resp
    }
}

pub(super) fn docs_page() -> ApiResponse {
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
