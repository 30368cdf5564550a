//! edge-auth: an email + password auth service for Cloudflare Workers.
//!
//! This file holds only the module declarations. The Worker's entry points and bindings are in
//! `platform` (wasm32 only), the D1 store in `storage`; everything else is the core, plain Rust
//! that the native tests run.

pub mod api_doc;
pub mod app;
pub mod breaker;
pub mod config;
pub mod domain;
pub mod error;
pub mod health;
pub mod http;
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
pub mod lowercase;
pub mod mail;
pub mod password;
pub mod random;
pub mod ratelimit;
pub mod session_cache;
pub mod sql;
pub mod store;
pub mod throttle;
pub mod tokens;

#[cfg(target_arch = "wasm32")]
pub mod platform;
