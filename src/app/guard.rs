//! Runs database calls through the circuit breaker. The breaker's state is read from its store
//! once per request and written back only when it changes.

use crate::log_fields;
use std::cell::Cell;
use std::future::Future;

use crate::app::health::HealthMemory;
use crate::config::Config;
use crate::http::error::AppError;
use crate::http::Ctx;
use crate::limits::breaker::{self, BreakerState, Decision};
use crate::store::{BreakerStore, StoreError};

pub(super) struct Guard<'a, B> {
    store: &'a B,
    config: &'a Config,
    state: Cell<Option<BreakerState>>,
    ctx: &'a Ctx,
    /// Forgotten on every storage failure, so `/health` asks again.
    health: &'a HealthMemory,
}

impl<'a, B: BreakerStore> Guard<'a, B> {
    pub(super) fn new(
        store: &'a B,
        config: &'a Config,
        ctx: &'a Ctx,
        health: &'a HealthMemory,
    ) -> Self {
        Self {
            store,
            config,
            state: Cell::new(None),
            ctx,
            health,
        }
    }

    async fn current(&self) -> BreakerState {
        if let Some(s) = self.state.get() {
            return s;
        }
        let s = match self.store.load().await {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                // KV trouble must neither open the gate nor lock everyone out: the database
                // (and so the password check) still decides, as if the breaker were closed.
                self.ctx.log(
                    "warn",
                    "breaker_store_unavailable",
                    log_fields!({ "cause": e.to_string() }),
                );
                BreakerState::default()
            }
        };
        self.state.set(Some(s));
        s
    }

    async fn transition(&self, from: BreakerState, to: Option<BreakerState>) {
        let Some(to) = to else { return };
        self.state.set(Some(to));
        if from.name() != to.name() {
            self.ctx.log(
                "warn",
                "breaker_state_changed",
                log_fields!({ "from": from.name(), "to": to.name() }),
            );
        }
        if let Err(e) = self.store.save(&to).await {
            self.ctx.log(
                "warn",
                "breaker_store_unavailable",
                log_fields!({ "cause": e.to_string() }),
            );
        }
    }

    /// The state's name as last seen (`closed` when it was never read).
    pub(super) fn state_name(&self) -> &'static str {
        self.state.get().unwrap_or_default().name()
    }

    /// Runs one database call, unless the breaker is open.
    ///
    /// # Errors
    /// `503 service_unavailable` when the breaker refuses the call or the store is unavailable
    /// (which counts toward opening it); `500 internal_error` when the store answered with a row
    /// that does not decode: bad data is not an outage, so it never counts toward the breaker.
    pub(super) async fn call<T, F, Fut>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        // Only the call itself is generic: the breaker's bookkeeping before and after is one
        // copy of code, not one per call site (a copy per call site costs about 1 KB of wasm each).
        let (state, now) = self.admit().await?;
        match self.ctx.db_call(f()).await {
            Ok(v) => {
                self.succeeded(state, now).await;
                Ok(v)
            }
            Err(e) => Err(self.failed(state, now, e).await),
        }
    }

    /// The breaker's verdict before a call: the state the call runs under and the time it was
    /// taken at, or the `503` that refuses it.
    /// [`Self::call`] with the store's future boxed: one copy of the breaker's bookkeeping per
    /// result type rather than one per call site, which keeps the wasm of the many small store
    /// calls of two-step verification small.
    pub(super) async fn call_boxed<'f, T>(
        &self,
        f: std::pin::Pin<Box<dyn Future<Output = Result<T, StoreError>> + 'f>>,
    ) -> Result<T, AppError> {
        self.call(|| f).await
    }

    async fn admit(&self) -> Result<(BreakerState, i64), AppError> {
        let now = self.ctx.now_secs();
        let state = self.current().await;
        let (decision, next) = breaker::before_call(state, now, &self.config.breaker);
        if let Decision::Reject { retry_after_secs } = decision {
            self.health.forget();
            return Err(AppError::ServiceUnavailable {
                retry_after: retry_after_secs,
            });
        }
        self.transition(state, next).await;
        Ok((next.unwrap_or(state), now))
    }

    async fn succeeded(&self, state: BreakerState, now: i64) {
        self.transition(state, breaker::on_success(state, now))
            .await;
    }

    /// What a failed call answers, after the breaker has counted it (or not: bad data).
    async fn failed(&self, state: BreakerState, now: i64, e: StoreError) -> AppError {
        match e {
            StoreError::Corrupt(why) => {
                self.succeeded(state, now).await;
                self.ctx
                    .log("error", "stored_row_invalid", log_fields!({ "cause": why }));
                AppError::internal("a stored row does not decode")
            }
            StoreError::Unavailable(cause) => {
                let cfg = &self.config.breaker;
                self.health.forget();
                self.ctx
                    .log("error", "storage_failure", log_fields!({ "cause": cause }));
                let next = breaker::on_failure(state, now, cfg);
                self.transition(state, next).await;
                let retry_after = match next.unwrap_or(state) {
                    BreakerState::Open { .. } => cfg.cooldown_secs as u64,
                    _ => 1,
                };
                AppError::ServiceUnavailable { retry_after }
            }
        }
    }
}
