//! An example Worker that protects routes with edge-auth, called through the `AUTH` service
//! binding (no public network hop, no shared secret): `GET /protected` stands for a sensitive
//! action and fails closed when edge-auth could not check revocation; `GET /profile` stands for
//! a read and accepts that answer; `GET /mfa-protected` is sensitive too and also demands a
//! second factor (`amr` holds `mfa`), else asks for a step-up (RFC 9470). Every other path is
//! passed to the auth Worker unchanged, so this Worker can also front it as a gateway.

use serde::Deserialize;
use serde_json::json;
use worker::{event, Context, Env, Headers, Method, Request, RequestInit, Response, Result};

/// The service binding's name in `wrangler.toml`.
const AUTH: &str = "AUTH";

/// What `POST /auth/verify` answers (fields this Worker uses).
#[derive(Debug, Deserialize)]
pub struct Verified {
    pub active: bool,
    pub sub: Option<String>,
    pub email: Option<String>,
    /// `false` when edge-auth could not check revocation (its database unreachable): the token's
    /// signature and claims are valid, but a logout may not be seen yet. Each route chooses.
    pub revocation_checked: Option<bool>,
    /// How the session was opened (RFC 8176): `["pwd"]` after a password, with `"mfa"` after a
    /// second factor or a passkey. Empty when an older edge-auth did not say.
    #[serde(default)]
    pub amr: Vec<String>,
}

/// The RFC 8176 method a route demands of a session, beyond a valid token.
pub const MFA: &str = "mfa";

/// Why a valid token is not enough for a route: its session was not opened with `method`, so
/// the user must sign in again with it (RFC 9470's step-up: `401` and
/// `WWW-Authenticate: Bearer error="insufficient_user_authentication"`).
#[derive(Debug, PartialEq, Eq)]
pub struct StepUp {
    pub method: &'static str,
}

/// Demands that the session behind an admitted token was opened with `method` (`"mfa"` for a
/// second factor). An answer without `amr` (an older edge-auth) has none.
pub fn require_amr(verified: &Verified, method: &'static str) -> Result<(), StepUp> {
    if verified.amr.iter().any(|m| m == method) {
        Ok(())
    } else {
        Err(StepUp { method })
    }
}

/// What a route does with an answer whose revocation could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnchecked {
    /// Sensitive routes: acting for a session that was logged out would be costly, so `503`.
    FailClosed,
    /// Reads: serving a token that is validly signed and unexpired is acceptable.
    Accept,
}

/// The decision about one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    Allow {
        revocation_checked: bool,
    },
    /// `401 invalid_token`.
    Refuse,
    /// `503 revocation_unchecked`: retry later.
    Unavailable,
}

/// The whole decision, pure: an inactive token is refused; an active one is allowed when its
/// session was checked, and otherwise as the route says. An answer without
/// `revocation_checked` (an older edge-auth) counts as unchecked.
pub fn admit(verified: &Verified, when_unchecked: WhenUnchecked) -> Admission {
    if !verified.active {
        return Admission::Refuse;
    }
    match (verified.revocation_checked, when_unchecked) {
        (Some(true), _) => Admission::Allow {
            revocation_checked: true,
        },
        (_, WhenUnchecked::Accept) => Admission::Allow {
            revocation_checked: false,
        },
        (_, WhenUnchecked::FailClosed) => Admission::Unavailable,
    }
}

/// A problem+json answer; a `401`'s `code` is also its RFC 6750 `error` (`invalid_token`, or
/// RFC 9470's `insufficient_user_authentication`).
fn problem(status: u16, code: &str, detail: &str) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/problem+json")?;
    match status {
        401 => headers.set("www-authenticate", &format!("Bearer error=\"{code}\""))?,
        503 => headers.set("retry-after", "5")?,
        _ => {}
    }
    let body = json!({"type": "about:blank", "status": status, "code": code, "detail": detail});
    Ok(Response::from_json(&body)?
        .with_status(status)
        .with_headers(headers))
}

/// The largest `Authorization` value edge-auth reads (its `MAX_AUTHORIZATION_BYTES`).
const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;

/// The token of an `Authorization: Bearer <token>` header, read as edge-auth reads it: the
/// scheme in any case, surrounding spaces ignored; `None` for anything else or an oversized
/// value (which edge-auth would refuse too).
fn bearer(header: &str) -> Option<&str> {
    if header.len() > MAX_AUTHORIZATION_BYTES {
        return None;
    }
    let (scheme, token) = header.trim().split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What a route demands: how to treat an unchecked answer, and a method its session must have
/// been opened with, if any.
#[derive(Debug, Clone, Copy)]
struct Route {
    when_unchecked: WhenUnchecked,
    requires: Option<&'static str>,
}

/// Asks edge-auth about the request's bearer token, then applies the route's choice.
async fn guarded(req: &Request, env: &Env, route: Route) -> Result<Response> {
    let header = req.headers().get("authorization")?.unwrap_or_default();
    let Some(token) = bearer(&header) else {
        return problem(401, "invalid_token", "A bearer token is required.");
    };
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(json!({ "token": token }).to_string().into()));
    // The host is ignored by a service binding; the path selects the endpoint.
    let call = Request::new_with_init("https://edge-auth/auth/verify", &init)?;
    let unavailable = || problem(503, "auth_unavailable", "The auth service did not answer.");
    let Ok(mut answer) = env.service(AUTH)?.fetch_request(call).await else {
        return unavailable();
    };
    match answer.status_code() {
        200 => {}
        // edge-auth refused the request itself (a token too large to be one, say): the token
        // is no good, and asking again would not change that.
        400..=499 => return problem(401, "invalid_token", "The access token is invalid."),
        _ => return unavailable(),
    }
    let Ok(verified) = answer.json::<Verified>().await else {
        return unavailable();
    };
    match admit(&verified, route.when_unchecked) {
        Admission::Refuse => problem(
            401,
            "invalid_token",
            "The access token is invalid or revoked.",
        ),
        Admission::Unavailable => problem(
            503,
            "revocation_unchecked",
            "The auth service cannot confirm the session right now; retry later.",
        ),
        Admission::Allow { revocation_checked } => {
            if let Some(method) = route.requires {
                if let Err(StepUp { method }) = require_amr(&verified, method) {
                    return problem(
                        401,
                        "insufficient_user_authentication",
                        &format!("Sign in again with a second factor (amr \"{method}\")."),
                    );
                }
            }
            Response::from_json(&json!({
                "message": "hello from a protected route",
                "sub": verified.sub,
                "email": verified.email,
                "amr": verified.amr,
                "revocation_checked": revocation_checked,
            }))
        }
    }
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let (when_unchecked, requires) = match req.path().as_str() {
        "/protected" => (WhenUnchecked::FailClosed, None),
        "/profile" => (WhenUnchecked::Accept, None),
        "/mfa-protected" => (WhenUnchecked::FailClosed, Some(MFA)),
        _ => return env.service(AUTH)?.fetch_request(req).await,
    };
    if req.method() != Method::Get {
        return problem(405, "method_not_allowed", "Use GET.");
    }
    let route = Route {
        when_unchecked,
        requires,
    };
    guarded(&req, &env, route).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(active: bool, revocation_checked: Option<bool>) -> Verified {
        Verified {
            active,
            sub: active.then(|| "user".to_owned()),
            email: None,
            revocation_checked,
            amr: vec!["pwd".to_owned()],
        }
    }

    #[test]
    fn the_bearer_token_is_read_as_edge_auth_reads_it() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER abc"), Some("abc"));
        assert_eq!(bearer("  bearer   abc  "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer   "), None);
        assert_eq!(bearer(""), None);
        let big = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_BYTES));
        assert_eq!(bearer(&big), None);
    }

    #[test]
    fn an_inactive_token_is_refused_on_every_route() {
        for route in [WhenUnchecked::FailClosed, WhenUnchecked::Accept] {
            assert_eq!(admit(&answer(false, None), route), Admission::Refuse);
        }
    }

    #[test]
    fn a_checked_token_is_allowed_on_every_route() {
        for route in [WhenUnchecked::FailClosed, WhenUnchecked::Accept] {
            assert_eq!(
                admit(&answer(true, Some(true)), route),
                Admission::Allow {
                    revocation_checked: true
                }
            );
        }
    }

    #[test]
    fn an_unchecked_token_fails_closed_on_sensitive_routes_and_passes_on_reads() {
        for unchecked in [Some(false), None] {
            let v = answer(true, unchecked);
            assert_eq!(admit(&v, WhenUnchecked::FailClosed), Admission::Unavailable);
            assert_eq!(
                admit(&v, WhenUnchecked::Accept),
                Admission::Allow {
                    revocation_checked: false
                }
            );
        }
    }

    fn with_amr(amr: &[&str]) -> Verified {
        Verified {
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
            ..answer(true, Some(true))
        }
    }

    #[test]
    fn a_session_opened_with_a_second_factor_meets_the_mfa_demand() {
        for amr in [
            &["pwd", "otp", "mfa"][..],
            &["pwd", "mfa"],
            &["hwk", "user", "mfa"],
        ] {
            assert_eq!(require_amr(&with_amr(amr), MFA), Ok(()), "{amr:?}");
        }
    }

    #[test]
    fn a_password_session_or_an_answer_without_amr_is_asked_to_step_up() {
        for amr in [&["pwd"][..], &[], &["MFA"], &["otp"]] {
            assert_eq!(
                require_amr(&with_amr(amr), MFA),
                Err(StepUp { method: "mfa" }),
                "{amr:?}"
            );
        }
    }

    #[test]
    fn the_verify_answer_deserializes_as_edge_auth_sends_it() {
        let v: Verified = serde_json::from_str(
            r#"{"active":true,"sub":"u","email":"a@b.co","sid":"s","exp":2,"iat":1,
                "iss":"edge-auth","aud":"edge-auth","revocation_checked":false}"#,
        )
        .unwrap();
        assert_eq!(admit(&v, WhenUnchecked::FailClosed), Admission::Unavailable);
        assert!(v.amr.is_empty(), "an answer without amr has none");
        let v: Verified = serde_json::from_str(
            r#"{"active":true,"sub":"u","revocation_checked":true,"amr":["pwd","otp","mfa"]}"#,
        )
        .unwrap();
        assert_eq!(v.amr, ["pwd", "otp", "mfa"]);
        assert_eq!(require_amr(&v, MFA), Ok(()));
        let v: Verified = serde_json::from_str(r#"{"active":false}"#).unwrap();
        assert_eq!(admit(&v, WhenUnchecked::Accept), Admission::Refuse);
    }
}
