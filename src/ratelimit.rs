//! Per-client-IP limits on the endpoints an abuser would hammer (register, login, forgot):
//! a small trait over Cloudflare's Rate Limiting binding (`worker_glue`), with an in-memory
//! counter for the native tests. The binding counts per Cloudflare location and approximately,
//! so the limits are set far above anything an honest client does; they stop floods, while the
//! per-account throttle and the email cap stay the exact limits.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

/// The answer of a limiter: `Ok(true)` to let the request through, `Ok(false)` when the key is
/// over its limit, `Err` when the limiter could not be asked (the message is for logs).
pub type Verdict<'a> = Pin<Box<dyn Future<Output = Result<bool, String>> + 'a>>;

/// Counts requests per key (`<endpoint>:<client IP>`).
pub trait IpRateLimiter {
    fn allow<'a>(&'a self, key: &'a str) -> Verdict<'a>;
}

/// Seconds a client over the limit is told to wait (`Retry-After`): the binding's period.
pub const RETRY_AFTER_SECS: u64 = 60;

/// A fixed count per key that never resets, for the native tests; `fail` makes it unreachable.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    pub limit: Cell<u32>,
    pub counts: RefCell<HashMap<String, u32>>,
    pub fail: Cell<bool>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self {
            limit: Cell::new(u32::MAX),
            counts: RefCell::default(),
            fail: Cell::new(false),
        }
    }
}

impl IpRateLimiter for MemoryRateLimiter {
    fn allow<'a>(&'a self, key: &'a str) -> Verdict<'a> {
        Box::pin(async move {
            if self.fail.get() {
                return Err("rate limiter unavailable".into());
            }
            let mut counts = self.counts.borrow_mut();
            let n = counts.entry(key.to_owned()).or_insert(0);
            *n = n.saturating_add(1);
            Ok(*n <= self.limit.get())
        })
    }
}
