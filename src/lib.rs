//! edge-auth: an email + password auth service for Cloudflare Workers.
//!
//! This file holds only the module declarations. The Worker's entry points and bindings are in
//! `platform` (wasm32 only); everything else is the core, plain Rust that the native tests run.

pub mod api_doc;
pub mod app;
pub mod config;
pub mod domain;
pub mod http;
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
pub mod limits;
pub mod password;
pub mod store;
pub mod tokens;

#[cfg(target_arch = "wasm32")]
pub mod platform;
