//! The Rate Limiting binding (`[[ratelimits]]`, `IP_RATE_LIMITER`) behind the core's per-IP
//! limit ([`IpRateLimiter`]).

use worker::Env;

use super::js::{self, Binding};
use crate::config::names;
use crate::limits::ratelimit::{IpRateLimiter, Verdict};

/// The Rate Limiting binding, looked up when a request is counted (a missing binding is an error
/// the caller logs).
pub struct IpLimiterBinding(pub Env);

impl IpRateLimiter for IpLimiterBinding {
    fn allow<'a>(&'a self, key: &'a str) -> Verdict<'a> {
        Box::pin(async move {
            let limiter = Binding::of(&self.0, names::IP_RATE_LIMITER)?;
            let outcome = limiter
                .call("limit", &[js::object(&[("key", key.into())])])
                .await?;
            worker::js_sys::Reflect::get(&outcome, &"success".into())
                .ok()
                .and_then(|success| success.as_bool())
                .ok_or_else(|| "the rate limiter's answer has no `success`".to_owned())
        })
    }
}
