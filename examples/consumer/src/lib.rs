//! An example Worker that protects `GET /protected` with edge-auth, called through the `AUTH`
//! service binding (no public network hop, no shared secret). Every other path is passed to the
//! auth Worker unchanged, so this Worker can also front it as a gateway.

use serde::Deserialize;
use serde_json::json;
use worker::{event, Context, Env, Headers, Method, Request, RequestInit, Response, Result};

/// The service binding's name in `wrangler.toml`.
const AUTH: &str = "AUTH";

/// What `POST /auth/verify` answers (fields this Worker uses).
#[derive(Deserialize)]
struct Verified {
    active: bool,
    sub: Option<String>,
    email: Option<String>,
    /// `false` when edge-auth could not check revocation (its database unreachable): the token's
    /// signature and claims are valid, but a logout may not be seen yet. Callers choose.
    revocation_checked: Option<bool>,
}

fn problem(status: u16, code: &str, detail: &str) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/problem+json")?;
    headers.set("www-authenticate", "Bearer")?;
    let body = json!({"type": "about:blank", "status": status, "code": code, "detail": detail});
    Ok(Response::from_json(&body)?
        .with_status(status)
        .with_headers(headers))
}

async fn protected(req: &Request, env: &Env) -> Result<Response> {
    let bearer = req.headers().get("authorization")?.unwrap_or_default();
    let Some(token) = bearer
        .strip_prefix("Bearer ")
        .or_else(|| bearer.strip_prefix("bearer "))
    else {
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
    let mut answer = env.service(AUTH)?.fetch_request(call).await?;
    if answer.status_code() != 200 {
        return problem(503, "auth_unavailable", "The auth service did not answer.");
    }
    let verified: Verified = answer.json().await?;
    if !verified.active {
        return problem(
            401,
            "invalid_token",
            "The access token is invalid or revoked.",
        );
    }
    Response::from_json(&json!({
        "message": "hello from a protected route",
        "sub": verified.sub,
        "email": verified.email,
        "revocation_checked": verified.revocation_checked,
    }))
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    if req.path() == "/protected" {
        if req.method() != Method::Get {
            return problem(405, "method_not_allowed", "Use GET.");
        }
        return protected(&req, &env).await;
    }
    env.service(AUTH)?.fetch_request(req).await
}
