//! Access tokens' Ed25519 on the runtime's WebCrypto ([`Ed25519Keys`]): workerd signs and
//! verifies, so the wasm carries no curve arithmetic nor SHA-512. The keys are imported once
//! per key set (once per isolate) and kept as `CryptoKey`s: a token check costs one `verify`.
//!
//! Each private key is imported from its seed (PKCS#8) and exported once as a JWK, which gives
//! the public key WebCrypto derives from it: compared with the configured `x` (a mismatch is
//! refused, as natively) or taking its place when none was configured.

use std::cell::RefCell;
use std::rc::Rc;

use worker::js_sys::futures::JsFuture;
use worker::js_sys::{self, Array, Function, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};

use crate::tokens::signer::{Ed25519Keys, KeyBytes, SignerError};
use crate::tokens::KeyError;

/// The fixed prefix of an Ed25519 private key in PKCS#8 (RFC 8410), before its 32-byte seed.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// [`Ed25519Keys`] on `globalThis.crypto.subtle`.
pub struct WebCryptoKeys {
    keys: Vec<KeyBytes>,
    imported: RefCell<Option<Rc<Imported>>>,
}

struct Imported {
    signing: JsValue,
    verifying: Vec<JsValue>,
    publics: Vec<[u8; 32]>,
}

impl WebCryptoKeys {
    async fn imported(&self) -> Result<Rc<Imported>, KeyError> {
        if let Some(imported) = self.imported.borrow().clone() {
            return Ok(imported);
        }
        let imported = Rc::new(self.import().await?);
        *self.imported.borrow_mut() = Some(imported.clone());
        Ok(imported)
    }

    async fn import(&self) -> Result<Imported, KeyError> {
        let subtle = subtle().map_err(|e| KeyError::Refused(0, e))?;
        let mut signing = None;
        let mut verifying = Vec::with_capacity(self.keys.len());
        let mut publics = Vec::with_capacity(self.keys.len());
        for (i, key) in self.keys.iter().enumerate() {
            let refused = |e: JsValue| KeyError::Refused(i, describe(&e));
            let public = match key.d {
                Some(d) => {
                    let derived = derived_public(&subtle, &d).await.map_err(refused)?;
                    if key.x.is_some_and(|x| x != derived) {
                        return Err(KeyError::Mismatch(i));
                    }
                    if i == 0 {
                        signing = Some(import_private(&subtle, &d, false).await.map_err(refused)?);
                    }
                    derived
                }
                None => key.x.ok_or(KeyError::Encoding(i))?,
            };
            let usages = Array::of1(&"verify".into());
            let args = [
                "raw".into(),
                bytes(&public),
                ed25519(),
                false.into(),
                usages.into(),
            ];
            verifying.push(call(&subtle, "importKey", &args).await.map_err(refused)?);
            publics.push(public);
        }
        Ok(Imported {
            signing: signing.ok_or(KeyError::FirstNotPrivate)?,
            verifying,
            publics,
        })
    }
}

impl Ed25519Keys for WebCryptoKeys {
    fn new(keys: Vec<KeyBytes>) -> Result<Self, KeyError> {
        Ok(Self {
            keys,
            imported: RefCell::new(None),
        })
    }

    fn publics(&self) -> Option<Vec<[u8; 32]>> {
        if let Some(imported) = self.imported.borrow().as_ref() {
            return Some(imported.publics.clone());
        }
        self.keys.iter().map(|k| k.x).collect()
    }

    async fn ready(&self) -> Result<Vec<[u8; 32]>, KeyError> {
        Ok(self.imported().await?.publics.clone())
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        let imported = self
            .imported()
            .await
            .map_err(|e| SignerError(e.to_string()))?;
        let subtle = subtle().map_err(SignerError)?;
        let args = [ed25519(), imported.signing.clone(), bytes(message)];
        let signature = call(&subtle, "sign", &args)
            .await
            .map_err(|e| SignerError(describe(&e)))?;
        Uint8Array::new(&signature)
            .to_vec()
            .try_into()
            .map_err(|_| SignerError("an Ed25519 signature of other than 64 bytes".into()))
    }

    async fn verify(
        &self,
        key: usize,
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<bool, SignerError> {
        let imported = self
            .imported()
            .await
            .map_err(|e| SignerError(e.to_string()))?;
        let public = imported
            .verifying
            .get(key)
            .ok_or_else(|| SignerError(format!("no key {key}")))?;
        let subtle = subtle().map_err(SignerError)?;
        let args = [ed25519(), public.clone(), bytes(signature), bytes(message)];
        let verified = call(&subtle, "verify", &args)
            .await
            .map_err(|e| SignerError(describe(&e)))?;
        Ok(verified.as_bool() == Some(true))
    }
}

/// The seed as a `CryptoKey` that signs.
async fn import_private(
    subtle: &JsValue,
    seed: &[u8; 32],
    extractable: bool,
) -> Result<JsValue, JsValue> {
    let mut pkcs8 = PKCS8_PREFIX.to_vec();
    pkcs8.extend_from_slice(seed);
    let usages = Array::of1(&"sign".into());
    let args = [
        "pkcs8".into(),
        bytes(&pkcs8),
        ed25519(),
        extractable.into(),
        usages.into(),
    ];
    call(subtle, "importKey", &args).await
}

/// The public key WebCrypto derives from a seed (the `x` of the private key's JWK).
async fn derived_public(subtle: &JsValue, seed: &[u8; 32]) -> Result<[u8; 32], JsValue> {
    let key = import_private(subtle, seed, true).await?;
    let jwk = call(subtle, "exportKey", &["jwk".into(), key]).await?;
    let x = Reflect::get(&jwk, &"x".into())?
        .as_string()
        .unwrap_or_default();
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(x)
        .ok()
        .and_then(|x| x.try_into().ok())
        .ok_or_else(|| JsValue::from_str("the exported JWK has no 32-byte x"))
}

fn ed25519() -> JsValue {
    let algorithm = Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(&algorithm, &"name".into(), &"Ed25519".into());
    algorithm.into()
}

fn subtle() -> Result<JsValue, String> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).unwrap_or_default();
    let subtle = Reflect::get(&crypto, &"subtle".into()).unwrap_or_default();
    if subtle.is_object() {
        Ok(subtle)
    } else {
        Err("crypto.subtle is not available".into())
    }
}

/// Calls `subtle[method](...args)` and awaits its promise.
async fn call(subtle: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = Reflect::get(subtle, &method.into())?.dyn_into()?;
    let args: Array = args.iter().collect();
    let promise = function.apply(subtle, &args)?;
    JsFuture::from(Promise::resolve(&promise)).await
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

/// An exception's name and message, for the log (never key bytes: WebCrypto's messages name
/// formats and algorithms only).
fn describe(e: &JsValue) -> String {
    let name = Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_else(|| "Error".into());
    let message = Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_default();
    format!("{name}: {message}")
}
