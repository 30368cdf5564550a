//! Problem details (RFC 9457) written out: the one place an error becomes a response.

use serde_json::json;

use super::ApiResponse;
use crate::http::error::{AppError, Problem};

/// The response of a problem: its JSON members, `application/problem+json`, and its headers.
pub fn render(p: Problem, request_id: &str) -> ApiResponse {
    let mut body = json!({
        "type": "about:blank",
        "title": p.title,
        "status": p.status,
        "code": p.code,
        "detail": p.detail,
        "request_id": request_id,
    });
    if let Some(errors) = &p.errors {
        body["errors"] = json!(errors);
    }
    if let Some(oauth) = p.oauth {
        body["error"] = oauth.error.into();
        body["error_description"] = oauth.description.into();
    }
    if let Some(token) = p.mfa_token {
        body["mfa_token"] = token.into();
        body["mfa_methods"] = json!(crate::http::error::MFA_METHODS);
        // Outside the token endpoint too, the client reads the same member.
        if body.get("error").is_none() {
            body["error"] = p.code.into();
        }
    }
    let mut resp = ApiResponse::json(p.status, &body);
    resp.set_header("content-type", "application/problem+json");
    for (name, value) in p.headers {
        resp.set_header(name, value);
    }
    resp
}

/// The response of an error outside the token endpoints.
pub fn problem_response(err: &AppError, request_id: &str) -> ApiResponse {
    render(err.problem(), request_id)
}
