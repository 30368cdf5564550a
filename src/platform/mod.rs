pub mod webcrypto;
