//! The configuration, read from the Worker's vars and secrets once per isolate and parsed by the
//! core ([`Config::from_lookup`]).

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::config::Config;

thread_local! {
    /// The parsed configuration, once per isolate: vars and secrets cannot change under a
    /// running isolate (a new secret or var is a new deployment, which starts new isolates), so
    /// nothing is re-read or compared per request. A configuration that fails to parse is not
    /// kept, so every request answers `500` and logs why.
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
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

/// The isolate's configuration, parsed at its first use, or why it does not parse.
pub fn config(env: &Env) -> Result<Rc<Config>, String> {
    if let Some(cfg) = CONFIG.with(|cell| cell.borrow().clone()) {
        return Ok(cfg);
    }
    let cfg = Rc::new(Config::from_lookup(|n| lookup(env, n)).map_err(|e| e.to_string())?);
    // Once per isolate, as the configuration is parsed once: a setting that is ignored rather
    // than refused (the service runs without what it enables).
    if let Some(e) = &cfg.admin_api_key_error {
        let line = serde_json::json!({
            "level": "error",
            "event": "configuration_error",
            "name": e.name,
            "why": e.why,
        });
        worker::console_log!("{line}");
    }
    CONFIG.with(|cell| *cell.borrow_mut() = Some(cfg.clone()));
    Ok(cfg)
}

/// The isolate's configuration with its signing keys imported into WebCrypto and checked (a
/// private key whose `x` does not match is refused here, as the native parser refuses it).
pub async fn config_with_keys(env: &Env) -> Result<Rc<Config>, String> {
    let cfg = config(env)?;
    cfg.keys.ready().await.map_err(|e| {
        crate::config::ConfigError {
            name: crate::config::names::SIGNING_KEYS,
            why: e.to_string(),
        }
        .to_string()
    })?;
    Ok(cfg)
}
