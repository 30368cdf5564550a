//! Published test vectors (and one fixed sealed secret) that the native tests and the wasm
//! tier (tests/wasm.rs, on the runtime's WebCrypto) both check, so the two implementations of
//! [`super::crypto::MfaCrypto`] are held to the same bytes. Constants only: nothing reaches the
//! Worker's wasm.

/// RFC 6238 Appendix B's shared secret for HMAC-SHA1: the ASCII of "12345678901234567890".
pub const TOTP_SEED: &[u8; 20] = b"12345678901234567890";

/// RFC 6238 Appendix B's SHA-1 rows: Unix time (seconds) and its 8-digit code.
pub const TOTP_SHA1_8_DIGITS: [(u64, &str); 6] = [
    (59, "94287082"),
    (1_111_111_109, "07081804"),
    (1_111_111_111, "14050471"),
    (1_234_567_890, "89005924"),
    (2_000_000_000, "69279037"),
    (20_000_000_000, "65353130"),
];

/// RFC 2202 §3, test case 2: HMAC-SHA1 of [`HMAC_MESSAGE`] under [`HMAC_KEY`].
pub const HMAC_KEY: &[u8] = b"Jefe";
pub const HMAC_MESSAGE: &[u8] = b"what do ya want for nothing?";
pub const HMAC_SHA1: &str = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";

/// The GCM specification's test case 16 (McGrew and Viega, "The Galois/Counter Mode of
/// Operation"): AES-256, a 96-bit IV, 60 bytes of plaintext, 20 bytes of associated data.
pub const GCM_KEY: &str = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
pub const GCM_IV: &str = "cafebabefacedbaddecaf888";
pub const GCM_AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
pub const GCM_PLAINTEXT: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
                                 1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
pub const GCM_CIPHERTEXT: &str = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
                                  8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
pub const GCM_TAG: &str = "76fc6ece0f4e1768cddf8853bb2d551b";

/// A TOTP secret sealed natively by [`super::secret_box`] (key [`SEALED_KEY`], user
/// [`SEALED_USER`], nonce [`SEALED_NONCE`]): the wasm tier opens it with WebCrypto.
pub const SEALED_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
pub const SEALED_USER: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
pub const SEALED_NONCE: [u8; 12] = *b"fixed nonce!";
pub const SEALED_SECRET: &[u8; 20] = b"twenty byte secret!!";
pub const SEALED: &str =
    "v1.JTKpF1lO.Zml4ZWQgbm9uY2Uhoqdvwt6x2H-L-qVnRAWXC3LCbhv2GEsb1n8JyMXLdVQFD7TC";

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of lower-case or upper-case hex `s` (test vectors only: panics on bad input).
///
/// # Panics
/// When `s` is not hex of an even length.
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
