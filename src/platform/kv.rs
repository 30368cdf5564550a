//! The circuit breaker's state in Workers KV, with a one-second isolate-local cache.

use std::cell::{Cell, OnceCell};

use super::js::Binding;
use crate::limits::breaker::BreakerState;
use crate::store::{BreakerStore, StoreError};

/// The KV key holding the breaker's state.
pub const BREAKER_KEY: &str = "breaker:d1";

/// How long an isolate reuses the breaker state it last read or wrote before reading KV again.
/// KV itself takes up to ~60 s to propagate, so one second of local reuse changes nothing for
/// other locations and saves a KV read on almost every request under load.
const BREAKER_CACHE_MS: i64 = 1_000;

thread_local! {
    static BREAKER_CACHE: Cell<Option<(i64, Option<BreakerState>)>> = const { Cell::new(None) };
}

/// The breaker's state in Workers KV. A missing binding behaves like a failing KV. The binding
/// is looked up at the first call, so requests that touch no database never build it.
pub struct KvBreaker {
    env: worker::Env,
    binding: &'static str,
    kv: OnceCell<Option<Binding>>,
    /// The request's clock, for the isolate-local cache.
    now_ms: i64,
}

impl KvBreaker {
    pub fn new(env: worker::Env, binding: &'static str, now_ms: i64) -> Self {
        Self {
            env,
            binding,
            kv: OnceCell::new(),
            now_ms,
        }
    }

    fn kv(&self) -> Result<&Binding, StoreError> {
        self.kv
            .get_or_init(|| Binding::of(&self.env, self.binding).ok())
            .as_ref()
            .ok_or_else(|| store_err("KV binding missing"))
    }

    fn remember(&self, state: Option<BreakerState>) {
        BREAKER_CACHE.with(|c| c.set(Some((self.now_ms, state))));
    }
}

/// A failed KV call: an outage as far as the breaker is concerned.
fn store_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl BreakerStore for KvBreaker {
    async fn load(&self) -> Result<Option<BreakerState>, StoreError> {
        let kv = self.kv()?;
        if let Some((at, state)) = BREAKER_CACHE.with(Cell::get) {
            if (0..BREAKER_CACHE_MS).contains(&(self.now_ms - at)) {
                return Ok(state);
            }
        }
        let text = kv
            .call("get", &[BREAKER_KEY.into()])
            .await
            .map_err(store_err)?
            .as_string();
        // An unreadable value is treated like an absent one: closed, and rewritten later.
        let state = text.and_then(|t| serde_json::from_slice(t.as_bytes()).ok());
        self.remember(state);
        Ok(state)
    }

    async fn save(&self, state: &BreakerState) -> Result<(), StoreError> {
        let json = serde_json::to_string(state).map_err(store_err)?;
        self.kv()?
            .call("put", &[BREAKER_KEY.into(), json.into()])
            .await
            .map_err(store_err)?;
        self.remember(Some(*state));
        Ok(())
    }
}
