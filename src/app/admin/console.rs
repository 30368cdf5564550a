//! The admin console, `GET /admin`: one static page that calls only the public admin API with
//! the key the operator types in (kept in `sessionStorage`). Its script and style are served
//! outside `/admin/` (`/admin.js`, `/admin.css`, built by `scripts/static-files.mjs`), so that
//! every `/admin/` path is the API's and needs the key.

use crate::http::ApiResponse;

const CONSOLE_HTML: &str = include_str!("console.html");

/// Scripts, styles and requests from this origin only; no inline code, no framing, no form
/// posted anywhere: the page holds the admin key.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The console page (reached only through the gate, so only while the admin API is on).
pub(in crate::app) fn console_page() -> ApiResponse {
    let mut resp = ApiResponse::empty(200);
    resp.body = CONSOLE_HTML.as_bytes().to_vec();
    resp.set_header("content-type", "text/html; charset=utf-8");
    resp.set_header("content-security-policy", CSP);
    resp.set_header("referrer-policy", "no-referrer");
    resp
}
