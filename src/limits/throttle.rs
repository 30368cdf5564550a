//! Login throttling per normalized account. Pure: `(state, now) -> decision`; the store (D1)
//! reserves each attempt atomically before any hashing; this decides on the count it returned.

use serde::{Deserialize, Serialize};

/// Limits: `max_failures` failed logins within `window_secs` lock the account for the rest of
/// that window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    pub max_failures: u32,
    pub window_secs: i64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window_secs: 15 * 60,
        }
    }
}

/// Failed attempts of one account in the current window. Times are Unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempts {
    pub failures: u32,
    pub window_start_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Throttle { retry_after_secs: u64 },
}

/// Whether an attempt whose reservation returned `reserved` (the count *including* this
/// attempt, see [`crate::store::UserStore::begin_login`]) may be checked: at most
/// `max_failures` attempts per window ever reach the password hash, however many run at once.
pub fn admit(reserved: Attempts, now_ms: i64, cfg: &ThrottleConfig) -> Decision {
    let window_end = reserved.window_start_ms + cfg.window_secs * 1000;
    if reserved.failures > cfg.max_failures && now_ms < window_end {
        let secs = (window_end - now_ms + 999) / 1000;
        Decision::Throttle {
            retry_after_secs: secs.max(1) as u64,
        }
    } else {
        Decision::Allow
    }
}

/// The state after one more failure at `now_ms` (a window of `window_ms` that has passed starts
/// over). The D1 store computes the same thing in one `INSERT … ON CONFLICT DO UPDATE`; this is
/// its reference.
pub fn after_failure(attempts: Option<Attempts>, now_ms: i64, window_ms: i64) -> Attempts {
    match attempts {
        Some(a) if now_ms < a.window_start_ms + window_ms => Attempts {
            failures: a.failures.saturating_add(1),
            window_start_ms: a.window_start_ms,
        },
        _ => Attempts {
            failures: 1,
            window_start_ms: now_ms,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: ThrottleConfig = ThrottleConfig {
        max_failures: 5,
        window_secs: 900,
    };
    const WINDOW_MS: i64 = 900_000;

    #[test]
    fn five_reservations_within_the_window_are_admitted_and_the_sixth_is_not() {
        let mut a = None;
        for i in 0..5 {
            let reserved = after_failure(a, 1_000 + i, WINDOW_MS);
            assert_eq!(admit(reserved, 1_000 + i, &CFG), Decision::Allow);
            a = Some(reserved);
        }
        let sixth = after_failure(a, 1_000 + 60_000, WINDOW_MS);
        assert_eq!(
            admit(sixth, 1_000 + 60_000, &CFG),
            Decision::Throttle {
                retry_after_secs: 840
            }
        );
        // Once the window has passed, a reservation starts a new count.
        let later = after_failure(Some(sixth), 1_000 + 900_000, WINDOW_MS);
        assert_eq!(later.failures, 1);
        assert_eq!(admit(later, 1_000 + 900_000, &CFG), Decision::Allow);
    }

    #[test]
    fn a_failure_after_the_window_starts_a_new_count() {
        let a = Some(Attempts {
            failures: 4,
            window_start_ms: 0,
        });
        assert_eq!(
            after_failure(a, 900_000, WINDOW_MS),
            Attempts {
                failures: 1,
                window_start_ms: 900_000
            }
        );
        assert_eq!(after_failure(a, 899_999, WINDOW_MS).failures, 5);
    }

    #[test]
    fn retry_after_is_never_zero() {
        let a = Attempts {
            failures: 6,
            window_start_ms: 0,
        };
        assert_eq!(
            admit(a, 899_999, &CFG),
            Decision::Throttle {
                retry_after_secs: 1
            }
        );
    }
}
