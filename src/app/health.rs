//! What `/health` remembers between requests, per isolate: until when its last good answer
//! (database reachable, breaker closed) may be given again without asking D1 and KV
//! (`HEALTH_CHECK_TTL`). Only good answers are kept, and any storage failure this isolate sees
//! drops it at once, so a failing database shows at the next check here; another isolate sees
//! it at its own next check, at most `HEALTH_CHECK_TTL` seconds later.

use std::cell::Cell;

#[derive(Debug, Default)]
pub struct HealthMemory {
    healthy_until_ms: Cell<i64>,
}

impl HealthMemory {
    /// Whether a good answer from before still stands at `now_ms`.
    pub fn healthy_at(&self, now_ms: i64) -> bool {
        now_ms < self.healthy_until_ms.get()
    }

    /// A check found everything well at `now_ms`.
    pub fn record_healthy(&self, now_ms: i64, ttl_ms: i64) {
        self.healthy_until_ms.set(now_ms.saturating_add(ttl_ms));
    }

    /// A storage failure (or an open breaker) was seen: the next check asks again.
    pub fn forget(&self) {
        self.healthy_until_ms.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_answer_stands_for_its_ttl_until_a_failure_is_seen() {
        let h = HealthMemory::default();
        assert!(!h.healthy_at(0));
        h.record_healthy(1_000, 5_000);
        assert!(h.healthy_at(5_999));
        assert!(!h.healthy_at(6_000));
        h.record_healthy(10_000, 5_000);
        h.forget();
        assert!(!h.healthy_at(10_001));
        h.record_healthy(20_000, 0);
        assert!(!h.healthy_at(20_000));
    }
}
