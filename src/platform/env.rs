//! The configuration, read from the Worker's vars and secrets once per isolate and parsed by the
//! core ([`Config::from_lookup`]), and the access tokens' keys made from it.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use super::token_keys::WebCryptoKeys;
use crate::config::{names, Config, ConfigError};
use crate::tokens::{KeyError, KeySet};

/// What an isolate reads once: its configuration, and the access tokens' keys made from it
/// (imported into WebCrypto at their first use, and remembering the tokens they verified).
pub struct Isolate {
    pub config: Config,
    pub keys: KeySet<WebCryptoKeys>,
}

thread_local! {
    /// The parsed configuration and its keys, once per isolate: vars and secrets cannot change
    /// under a running isolate (a new secret or var is a new deployment, which starts new
    /// isolates), so nothing is re-read or compared per request. A configuration that fails to
    /// parse is not kept, so every request answers `500` and logs why.
    static ISOLATE: RefCell<Option<Rc<Isolate>>> = const { RefCell::new(None) };
}

/// A var or a secret, as text. Secrets and quoted vars are strings. A var written unquoted in
/// `wrangler.toml` (`REQUIRE_EMAIL_VERIFICATION = true`, `ACCESS_TOKEN_TTL = 300`) arrives as a
/// JSON value: it is read as its JSON text, so `true` and `300` mean what their quoted forms
/// mean, and anything else (`1.5`, an array, a table) is refused by the setting's own check at
/// start. (`Env::var` reads strings only: an unquoted var would silently be the default.)
fn lookup(env: &Env, name: &str) -> Option<String> {
    let value = worker::js_sys::Reflect::get(env, &name.into()).ok()?;
    if value.is_undefined() {
        return None;
    }
    value.as_string().or_else(|| {
        worker::js_sys::JSON::stringify(&value)
            .ok()
            .and_then(|text| text.as_string())
    })
}

/// The isolate's configuration and keys, parsed at their first use, or why they do not parse.
pub fn isolate(env: &Env) -> Result<Rc<Isolate>, String> {
    if let Some(isolate) = ISOLATE.with(|cell| cell.borrow().clone()) {
        return Ok(isolate);
    }
    let config = Config::from_lookup(|n| lookup(env, n)).map_err(|e| e.to_string())?;
    let keys = KeySet::new(config.keys.clone()).map_err(refused)?;
    // Once per isolate, as the configuration is parsed once: a setting that is ignored rather
    // than refused (the service runs without what it enables).
    if let Some(e) = &config.admin_api_key_error {
        let line = serde_json::json!({
            "level": "error",
            "event": "configuration_error",
            "name": e.name,
            "why": e.why,
        });
        worker::console_log!("{line}");
    }
    let isolate = Rc::new(Isolate { config, keys });
    ISOLATE.with(|cell| *cell.borrow_mut() = Some(isolate.clone()));
    Ok(isolate)
}

/// The isolate's configuration with its signing keys imported into WebCrypto and checked (a
/// private key whose `x` does not match is refused here, as the native backend refuses it).
pub async fn isolate_with_keys(env: &Env) -> Result<Rc<Isolate>, String> {
    let isolate = isolate(env)?;
    isolate.keys.ready().await.map_err(refused)?;
    Ok(isolate)
}

/// An unusable signing key, as the configuration error it is.
fn refused(e: KeyError) -> String {
    ConfigError {
        name: names::SIGNING_KEYS,
        why: e.to_string(),
    }
    .to_string()
}
