//! The admin API's gate: every `/admin/` request, and the console page `GET /admin`, pass here
//! before routing. Without a usable `ADMIN_API_KEY` none of them exists (`404`), so a
//! deployment that does not use the API does not show it; with one, an `/admin/` request must
//! carry it as `Authorization: Bearer <key>`, or it is `401` whatever its path, method or body.
//! A user's access token is just another wrong credential here.
//!
//! The routes behind the gate: `users` (the accounts and what an operator does to them),
//! `events` (the audit trail) and `console` (the page that calls them).

mod console;
mod events;
mod users;

pub(super) use console::console_page;

use crate::log_fields;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::http::error::{AppError, TokenRejection};
use crate::http::{ApiRequest, Ctx, MAX_AUTHORIZATION_BYTES};

/// The console page's path; the API's paths are under `/admin/`.
pub const CONSOLE_PATH: &str = "/admin";
const API_PREFIX: &str = "/admin/";

/// Lets a request through to routing, or answers it: `404` for the console and every `/admin/`
/// path while the admin API is off, `401 invalid_token` for an `/admin/` request without the
/// key. Other paths pass untouched.
///
/// # Errors
/// `404 not_found` or `401 invalid_token` (with `WWW-Authenticate: Bearer`), as above.
pub(super) fn gate(config: &Config, req: &ApiRequest, ctx: &Ctx) -> Result<(), AppError> {
    let console = req.path == CONSOLE_PATH;
    if !console && !req.path.starts_with(API_PREFIX) {
        return Ok(());
    }
    let Some(key) = &config.admin_api_key else {
        return Err(AppError::NotFound);
    };
    // The page itself holds nothing: the operator types the key into it.
    if console || presents(req, key) {
        return Ok(());
    }
    ctx.log(
        "warn",
        "admin_key_refused",
        log_fields!({ "path": req.path }),
    );
    Err(AppError::InvalidToken(TokenRejection::Missing))
}

/// Whether the request's bearer credential is the key. The comparison is of the two SHA-256
/// digests, in constant time: neither the key's bytes nor its length show in the timing.
fn presents(req: &ApiRequest, key: &SecretString) -> bool {
    let Some(value) = req.get_header("authorization") else {
        return false;
    };
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return false;
    }
    let Some((scheme, presented)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let presented = Sha256::digest(presented.trim().as_bytes());
    let expected = Sha256::digest(key.expose_secret().as_bytes());
    presented.ct_eq(&expected).into()
}
