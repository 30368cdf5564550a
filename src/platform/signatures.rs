//! Passkey signatures verified by the runtime's WebCrypto (`crypto.subtle.importKey` and
//! `verify`): Ed25519, ECDSA P-256 with SHA-256 (the raw `r ‖ s` the core converted from DER),
//! RSASSA-PKCS1-v1_5 with SHA-256 (the key as a JWK). The wasm therefore carries no curve or
//! RSA arithmetic; workerd's is BoringSSL's. The same vectors run through this and through
//! RustCrypto natively (`tests/passkeys/signature_vectors.json`).

use worker::js_sys::futures::JsFuture;
use worker::js_sys::{self, Array, Function, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};

use crate::app::passkeys::{PublicKey, SignatureError, SignatureVerifier};

/// [`SignatureVerifier`] on `globalThis.crypto.subtle`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebCryptoVerifier;

impl SignatureVerifier for WebCryptoVerifier {
    async fn verify(
        &self,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, SignatureError> {
        // Lengths that cannot verify are refused here rather than left to the engine, where
        // some throw and others answer `false`.
        let (format, key_data, import_algorithm, verify_algorithm) = match key {
            PublicKey::Ed25519(raw) => {
                if signature.len() != 64 {
                    return Ok(false);
                }
                let algorithm = object(&[("name", "Ed25519".into())])?;
                ("raw", bytes(raw), algorithm.clone(), algorithm)
            }
            PublicKey::P256(point) => (
                "raw",
                bytes(point),
                object(&[("name", "ECDSA".into()), ("namedCurve", "P-256".into())])?,
                object(&[("name", "ECDSA".into()), ("hash", "SHA-256".into())])?,
            ),
            PublicKey::Rsa { n, e } => {
                if signature.len() != n.len() {
                    return Ok(false);
                }
                let jwk = object(&[
                    ("kty", "RSA".into()),
                    ("n", base64url(n).into()),
                    ("e", base64url(e).into()),
                    ("alg", "RS256".into()),
                    ("ext", true.into()),
                ])?;
                (
                    "jwk",
                    jwk.into(),
                    object(&[
                        ("name", "RSASSA-PKCS1-v1_5".into()),
                        ("hash", "SHA-256".into()),
                    ])?,
                    object(&[("name", "RSASSA-PKCS1-v1_5".into())])?,
                )
            }
        };
        let subtle = subtle()?;
        let usages = Array::of1(&"verify".into());
        let imported = call(
            &subtle,
            "importKey",
            &[
                format.into(),
                key_data,
                import_algorithm.into(),
                false.into(),
                usages.into(),
            ],
        )
        .await;
        let crypto_key = match imported {
            Ok(k) => k,
            // The key's bytes are not a key of its kind (a point off the curve): the
            // credential's fault, so a failed check rather than a failed runtime.
            Err(e) if error_name(&e).as_deref() == Some("DataError") => return Ok(false),
            Err(e) => return Err(SignatureError(describe(&e))),
        };
        let verified = call(
            &subtle,
            "verify",
            &[
                verify_algorithm.into(),
                crypto_key,
                bytes(signature),
                bytes(message),
            ],
        )
        .await
        .map_err(|e| SignatureError(describe(&e)))?;
        Ok(verified.as_bool() == Some(true))
    }
}

fn subtle() -> Result<JsValue, SignatureError> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).unwrap_or_default();
    let subtle = Reflect::get(&crypto, &"subtle".into()).unwrap_or_default();
    if subtle.is_object() {
        Ok(subtle)
    } else {
        Err(SignatureError("crypto.subtle is not available".into()))
    }
}

/// Calls `subtle[method](...args)` and awaits its promise.
async fn call(subtle: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = Reflect::get(subtle, &method.into())?.dyn_into()?;
    let args: Array = args.iter().collect();
    let promise = function.apply(subtle, &args)?;
    JsFuture::from(Promise::resolve(&promise)).await
}

fn object(members: &[(&str, JsValue)]) -> Result<Object, SignatureError> {
    let o = Object::new();
    for (name, value) in members {
        Reflect::set(&o, &(*name).into(), value).map_err(|e| SignatureError(describe(&e)))?;
    }
    Ok(o)
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

fn base64url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn error_name(e: &JsValue) -> Option<String> {
    Reflect::get(e, &"name".into()).ok()?.as_string()
}

/// An exception's name and message, for the log.
fn describe(e: &JsValue) -> String {
    let message = Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    format!(
        "{}: {message}",
        error_name(e).unwrap_or_else(|| "Error".into())
    )
}
