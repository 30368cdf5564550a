//! The Worker's bindings called directly: `binding.method(args…)`, its promise awaited. Used
//! where `worker`'s wrapper would route the arguments or the answer through
//! serde-wasm-bindgen (KV `get`/`put`, the Rate Limiting binding's `limit`, the Queue's
//! `sendBatch`; D1 in `d1`): that crate's code was the last copy of a second
//! (de)serializer in the wasm, beside `serde_json`.

use worker::js_sys::futures::JsFuture;
use worker::js_sys::{Array, Function, Object, Promise, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::Env;

/// One binding of the Worker's `env`.
pub struct Binding(JsValue);

impl Binding {
    /// The binding `name`, or why there is none (the message names it, for the logs).
    pub fn of(env: &Env, name: &str) -> Result<Self, String> {
        let value = Reflect::get(env, &JsValue::from_str(name)).unwrap_or_default();
        if value.is_undefined() || value.is_null() {
            return Err(format!("binding `{name}` is missing"));
        }
        Ok(Self(value))
    }

    /// Calls `method` with `args` and awaits its answer when it is a promise.
    pub async fn call(&self, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
        let function: Function = Reflect::get(&self.0, &JsValue::from_str(method))
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| format!("the binding has no method `{method}`"))?;
        let args: Array = args.iter().collect();
        let answer = function.apply(&self.0, &args).map_err(|e| error_text(&e))?;
        // A promise (or any other value) resolved and awaited.
        JsFuture::from(Promise::resolve(&answer))
            .await
            .map_err(|e| error_text(&e))
    }
}

/// A plain JS object with these properties.
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in fields {
        // Setting a property of a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

/// A thrown or rejected JS value as text for the logs: an `Error`'s message, and its cause's
/// when it has one (D1's "D1_ERROR: …" carries the SQLite error there).
pub fn error_text(e: &JsValue) -> String {
    let message = |v: &JsValue| {
        v.dyn_ref::<worker::js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| v.as_string())
    };
    let mut text = message(e).unwrap_or_else(|| "the call failed".to_owned());
    if let Some(cause) = e
        .dyn_ref::<worker::js_sys::Error>()
        .and_then(|e| message(&e.cause()))
    {
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}
