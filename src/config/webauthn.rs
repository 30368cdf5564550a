//! The passkeys' relying party: `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME`, `WEBAUTHN_ORIGINS`,
//! checked against each other and against `APP_URL`.

use super::{host_of, link_url, names, text, ConfigError, DEFAULT_WEBAUTHN_RP_NAME};

/// The relying party of passkeys: `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME`, `WEBAUTHN_ORIGINS`.
/// Unset, the RP ID and the origins are `APP_URL`'s host and origin, else the request's
/// ([`WebAuthnConfig::relying_party`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAuthnConfig {
    /// A lower-case host name (no scheme, port or path), or `None` for the request's host.
    pub rp_id: Option<String>,
    pub rp_name: String,
    /// Origins (`scheme://host[:port]`), each on the RP ID or a subdomain of it; empty for the
    /// request's origin.
    pub origins: Vec<String>,
}

impl WebAuthnConfig {
    /// The RP ID and the accepted origins of a request whose URL has origin `request_origin`
    /// (`scheme://host[:port]`): the configured ones, else the request's.
    pub fn relying_party(&self, request_origin: &str) -> (String, Vec<String>) {
        let rp_id = self.rp_id.clone().unwrap_or_else(|| {
            let authority = request_origin.split_once("://").map_or("", |(_, a)| a);
            host_of(authority).unwrap_or("").to_ascii_lowercase()
        });
        let origins = if self.origins.is_empty() {
            vec![request_origin.to_owned()]
        } else {
            self.origins.clone()
        };
        (rp_id, origins)
    }
}

/// The passkey settings, checked against each other: an origin the RP ID does not cover could
/// never register a passkey (browsers refuse), so it is a configuration error, not a silent
/// failure at the first ceremony.
pub(super) fn webauthn(
    get: &impl Fn(&str) -> Option<String>,
    app_url: Option<&str>,
) -> Result<WebAuthnConfig, ConfigError> {
    let app_origin = app_url.map(|u| {
        let (scheme, rest) = u.split_once("://").unwrap_or(("https", u));
        format!(
            "{scheme}://{}",
            &rest[..rest.find('/').unwrap_or(rest.len())]
        )
    });
    let app_host = app_origin
        .as_deref()
        .and_then(|o| o.split_once("://"))
        .and_then(|(_, a)| host_of(a))
        .map(str::to_ascii_lowercase);
    let rp_id = match get(names::WEBAUTHN_RP_ID).filter(|v| !v.trim().is_empty()) {
        Some(raw) => {
            let id = raw.trim();
            let valid = id.len() <= 253
                && id.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                });
            if !valid {
                return Err(ConfigError {
                    name: names::WEBAUTHN_RP_ID,
                    why: format!(
                        "{raw:?} is not a lower-case host name (no scheme, port or path; \
                         e.g. example.com)"
                    ),
                });
            }
            Some(id.to_owned())
        }
        None => app_host,
    };
    let mut origins = Vec::new();
    for raw in get(names::WEBAUTHN_ORIGINS).unwrap_or_default().split(',') {
        if raw.trim().is_empty() {
            continue;
        }
        let origin = link_url(
            &|_: &str| Some(raw.to_owned()),
            names::WEBAUTHN_ORIGINS,
            false,
        )?
        .unwrap_or_default();
        origins.push(origin);
    }
    if origins.is_empty() {
        origins.extend(app_origin);
    }
    if let Some(id) = &rp_id {
        for origin in &origins {
            let host = origin
                .split_once("://")
                .and_then(|(_, a)| host_of(a))
                .unwrap_or("")
                .to_ascii_lowercase();
            if host != *id && !host.ends_with(&format!(".{id}")) {
                return Err(ConfigError {
                    name: names::WEBAUTHN_ORIGINS,
                    why: format!(
                        "{origin:?} is not on the RP ID {id:?} or a subdomain of it (set \
                         WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS together)"
                    ),
                });
            }
        }
    }
    Ok(WebAuthnConfig {
        rp_id,
        rp_name: text(get, names::WEBAUTHN_RP_NAME, DEFAULT_WEBAUTHN_RP_NAME)
            .trim()
            .to_owned(),
        origins,
    })
}
