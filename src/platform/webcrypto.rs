//! [`MfaCrypto`] on the runtime's WebCrypto (`crypto.subtle`): HMAC-SHA1 and AES-256-GCM come
//! from workerd itself, so the Worker's wasm carries no cipher for two-step verification. Keys
//! are imported raw and non-extractable for each call; the bytes passed in are copied into JS
//! arrays first, as WebCrypto may read them after the call returns.

use worker::js_sys::{Array, Object, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{Crypto, CryptoKey, SubtleCrypto};

use crate::app::mfa::crypto::{CryptoError, MfaCrypto, NONCE_LEN};

/// WebCrypto of the global scope (a Worker's, or Node's in the wasm tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct WebCrypto;

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    let crypto = Reflect::get(&worker::js_sys::global(), &"crypto".into())
        .ok()
        .filter(|c| c.is_object())
        .ok_or_else(|| CryptoError::Backend("no crypto in the global scope".into()))?;
    Ok(crypto.unchecked_into::<Crypto>().subtle())
}

/// The name of a rejection's `DOMException` (never its message, nor any bytes).
fn name_of(error: &JsValue) -> String {
    Reflect::get(error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn backend(error: JsValue) -> CryptoError {
    CryptoError::Backend(name_of(&error))
}

/// An algorithm dictionary: `{ name, ...members }`.
fn algorithm(name: &str, members: &[(&str, &JsValue)]) -> Result<Object, CryptoError> {
    let object = Object::new();
    Reflect::set(&object, &"name".into(), &name.into()).map_err(backend)?;
    for (key, value) in members {
        Reflect::set(&object, &(*key).into(), value).map_err(backend)?;
    }
    Ok(object)
}

async fn import(
    subtle: &SubtleCrypto,
    key: &[u8],
    algorithm: &Object,
    usage: &str,
) -> Result<CryptoKey, CryptoError> {
    let usages = Array::of1(&usage.into());
    let promise = subtle
        .import_key_with_object("raw", &Uint8Array::from(key), algorithm, false, &usages)
        .map_err(backend)?;
    let key = JsFuture::from(promise).await.map_err(backend)?;
    Ok(key.unchecked_into())
}

fn bytes_of(buffer: &JsValue) -> Vec<u8> {
    Uint8Array::new(buffer).to_vec()
}

fn aes_gcm(nonce: &[u8; NONCE_LEN], aad: &[u8]) -> Result<Object, CryptoError> {
    let iv: JsValue = Uint8Array::from(nonce.as_slice()).into();
    let aad: JsValue = Uint8Array::from(aad).into();
    algorithm(
        "AES-GCM",
        &[
            ("iv", &iv),
            ("additionalData", &aad),
            ("tagLength", &128.into()),
        ],
    )
}

impl MfaCrypto for WebCrypto {
    async fn hmac_sha1(&self, key: &[u8], message: &[u8]) -> Result<[u8; 20], CryptoError> {
        let subtle = subtle()?;
        let params = algorithm("HMAC", &[("hash", &"SHA-1".into())])?;
        let key = import(&subtle, key, &params, "sign").await?;
        let promise = subtle
            .sign_with_str_and_js_u8_array("HMAC", &key, &Uint8Array::from(message))
            .map_err(backend)?;
        let mac = JsFuture::from(promise).await.map_err(backend)?;
        bytes_of(&mac)
            .try_into()
            .map_err(|_| CryptoError::Backend("HMAC-SHA1 gave other than 20 bytes".into()))
    }

    async fn aes_256_gcm_seal(
        &self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let subtle = subtle()?;
        let key = import(&subtle, key, &algorithm("AES-GCM", &[])?, "encrypt").await?;
        let promise = subtle
            .encrypt_with_object_and_js_u8_array(
                &aes_gcm(nonce, aad)?,
                &key,
                &Uint8Array::from(plaintext),
            )
            .map_err(backend)?;
        Ok(bytes_of(&JsFuture::from(promise).await.map_err(backend)?))
    }

    async fn aes_256_gcm_open(
        &self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let subtle = subtle()?;
        let key = import(&subtle, key, &algorithm("AES-GCM", &[])?, "decrypt").await?;
        let promise = subtle
            .decrypt_with_object_and_js_u8_array(
                &aes_gcm(nonce, aad)?,
                &key,
                &Uint8Array::from(sealed),
            )
            .map_err(backend)?;
        // WebCrypto rejects a ciphertext that does not authenticate (or is shorter than its
        // tag) with an OperationError, and nothing else with that name once the key imported.
        match JsFuture::from(promise).await {
            Ok(plaintext) => Ok(bytes_of(&plaintext)),
            Err(e) if name_of(&e) == "OperationError" => Err(CryptoError::Unauthentic),
            Err(e) => Err(backend(e)),
        }
    }
}
