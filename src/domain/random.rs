//! Randomness from `getrandom` (the `wasm_js` backend in the Worker, the OS natively).

/// Fills a fresh array with random bytes.
///
/// # Errors
/// When the platform's generator is unavailable.
pub fn bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// A random (version 4) UUID.
///
/// # Errors
/// When the platform's generator is unavailable.
pub fn uuid_v4() -> Result<uuid::Uuid, getrandom::Error> {
    Ok(uuid::Builder::from_random_bytes(bytes::<16>()?).into_uuid())
}
