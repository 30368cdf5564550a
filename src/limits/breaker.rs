//! The circuit breaker's state machine. Pure: `(state, now) -> (decision, new state)`.
//! Workers KV only loads and stores the state (`platform::kv`); time is passed in.

use serde::{Deserialize, Serialize};

/// Circuit-breaker limits, in seconds and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    pub threshold: u32,
    pub window_secs: i64,
    pub cooldown_secs: i64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            threshold: 5,
            window_secs: 60,
            cooldown_secs: 30,
        }
    }
}

/// The stored state. Times are Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "StoredState")]
pub enum BreakerState {
    /// Calls go through; `failures` consecutive failures since `since`.
    Closed { failures: u32, since: i64 },
    /// Calls are refused until `opened_at + cooldown`.
    Open { opened_at: i64 },
    /// One trial call started at `trial_at`; others are refused until it reports or times out.
    HalfOpen { trial_at: i64 },
}

/// The stored JSON read as one flat object (the same text as the tagged form): serde's tagged
/// enums buffer the whole object first, which was a second reader's worth of wasm.
#[derive(Deserialize)]
struct StoredState {
    state: String,
    failures: Option<u32>,
    since: Option<i64>,
    opened_at: Option<i64>,
    trial_at: Option<i64>,
}

impl TryFrom<StoredState> for BreakerState {
    type Error = &'static str;

    fn try_from(s: StoredState) -> Result<Self, Self::Error> {
        match (
            s.state.as_str(),
            s.failures,
            s.since,
            s.opened_at,
            s.trial_at,
        ) {
            ("closed", Some(failures), Some(since), _, _) => Ok(Self::Closed { failures, since }),
            ("open", _, _, Some(opened_at), _) => Ok(Self::Open { opened_at }),
            ("half_open", _, _, _, Some(trial_at)) => Ok(Self::HalfOpen { trial_at }),
            _ => Err("not a breaker state"),
        }
    }
}

impl Default for BreakerState {
    fn default() -> Self {
        Self::Closed {
            failures: 0,
            since: 0,
        }
    }
}

impl BreakerState {
    /// The name `/health` reports: `closed`, `open` or `half_open`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Closed { .. } => "closed",
            Self::Open { .. } => "open",
            Self::HalfOpen { .. } => "half_open",
        }
    }
}

/// What to do with a call that needs the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Allowed as the one trial after a cooldown.
    Trial,
    Reject {
        retry_after_secs: u64,
    },
}

/// A trial that has not reported back within this many cooldowns (the Worker was evicted, say)
/// no longer blocks the next trial.
const TRIAL_TIMEOUT_COOLDOWNS: i64 = 1;

/// Decides whether a database call may run now. Returns the new state when it changes.
pub fn before_call(
    state: BreakerState,
    now: i64,
    cfg: &BreakerConfig,
) -> (Decision, Option<BreakerState>) {
    match state {
        BreakerState::Closed { .. } => (Decision::Allow, None),
        BreakerState::Open { opened_at } => {
            let reopen_at = opened_at + cfg.cooldown_secs;
            if now >= reopen_at {
                (
                    Decision::Trial,
                    Some(BreakerState::HalfOpen { trial_at: now }),
                )
            } else {
                (
                    Decision::Reject {
                        retry_after_secs: (reopen_at - now).max(1) as u64,
                    },
                    None,
                )
            }
        }
        BreakerState::HalfOpen { trial_at } => {
            let expires = trial_at + cfg.cooldown_secs * TRIAL_TIMEOUT_COOLDOWNS;
            if now >= expires {
                (
                    Decision::Trial,
                    Some(BreakerState::HalfOpen { trial_at: now }),
                )
            } else {
                (
                    Decision::Reject {
                        retry_after_secs: (expires - now).max(1) as u64,
                    },
                    None,
                )
            }
        }
    }
}

/// Records a successful call: a trial closes the breaker, and a failure streak ends.
pub fn on_success(state: BreakerState, now: i64) -> Option<BreakerState> {
    match state {
        BreakerState::Closed { failures: 0, .. } => None,
        _ => Some(BreakerState::Closed {
            failures: 0,
            since: now,
        }),
    }
}

/// Records a failed call: past the threshold within the window the breaker opens; a failed
/// trial re-opens it.
pub fn on_failure(state: BreakerState, now: i64, cfg: &BreakerConfig) -> Option<BreakerState> {
    match state {
        BreakerState::Closed { failures, since } => {
            let (failures, since) = if failures == 0 || now - since > cfg.window_secs {
                (1, now)
            } else {
                (failures + 1, since)
            };
            if failures >= cfg.threshold {
                Some(BreakerState::Open { opened_at: now })
            } else {
                Some(BreakerState::Closed { failures, since })
            }
        }
        BreakerState::HalfOpen { .. } => Some(BreakerState::Open { opened_at: now }),
        // A call that was let through before the breaker opened elsewhere: stay open.
        BreakerState::Open { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: BreakerConfig = BreakerConfig {
        threshold: 5,
        window_secs: 60,
        cooldown_secs: 30,
    };

    fn fail_n(mut s: BreakerState, n: u32, now: i64) -> BreakerState {
        for _ in 0..n {
            if let Some(next) = on_failure(s, now, &CFG) {
                s = next;
            }
        }
        s
    }

    #[test]
    fn closed_breaker_opens_after_threshold_failures() {
        let s = fail_n(BreakerState::default(), 4, 100);
        assert_eq!(
            s,
            BreakerState::Closed {
                failures: 4,
                since: 100
            }
        );
        assert_eq!(before_call(s, 100, &CFG).0, Decision::Allow);
        let s = fail_n(s, 1, 101);
        assert_eq!(s, BreakerState::Open { opened_at: 101 });
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let s = fail_n(BreakerState::default(), 4, 100);
        let s = fail_n(s, 1, 161);
        assert_eq!(
            s,
            BreakerState::Closed {
                failures: 1,
                since: 161
            }
        );
    }

    #[test]
    fn success_resets_the_count() {
        let s = fail_n(BreakerState::default(), 4, 100);
        let s = on_success(s, 101).unwrap();
        assert_eq!(
            s,
            BreakerState::Closed {
                failures: 0,
                since: 101
            }
        );
        assert_eq!(on_success(s, 102), None, "no write when nothing changes");
        assert_eq!(fail_n(s, 4, 103).name(), "closed");
    }

    #[test]
    fn open_breaker_rejects_until_cooldown_then_allows_one_trial() {
        let open = BreakerState::Open { opened_at: 100 };
        assert_eq!(
            before_call(open, 110, &CFG),
            (
                Decision::Reject {
                    retry_after_secs: 20
                },
                None
            )
        );
        let (d, next) = before_call(open, 130, &CFG);
        assert_eq!(d, Decision::Trial);
        let half = next.unwrap();
        assert_eq!(half, BreakerState::HalfOpen { trial_at: 130 });
        // While the trial runs, everyone else waits.
        assert!(matches!(
            before_call(half, 131, &CFG).0,
            Decision::Reject { .. }
        ));
    }

    #[test]
    fn trial_success_closes_and_failure_reopens() {
        let half = BreakerState::HalfOpen { trial_at: 130 };
        assert_eq!(on_success(half, 131).unwrap().name(), "closed");
        assert_eq!(
            on_failure(half, 131, &CFG),
            Some(BreakerState::Open { opened_at: 131 })
        );
    }

    #[test]
    fn a_trial_that_never_reports_is_replaced() {
        let half = BreakerState::HalfOpen { trial_at: 130 };
        let (d, next) = before_call(half, 160, &CFG);
        assert_eq!(d, Decision::Trial);
        assert_eq!(next, Some(BreakerState::HalfOpen { trial_at: 160 }));
    }

    #[test]
    fn state_round_trips_through_json() {
        for s in [
            BreakerState::default(),
            BreakerState::Open { opened_at: 5 },
            BreakerState::HalfOpen { trial_at: 7 },
        ] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<BreakerState>(&json).unwrap(), s);
        }
    }

    #[test]
    fn the_stored_text_is_the_tagged_form_and_anything_else_is_refused() {
        // The text earlier versions wrote (and still write) reads back; extra fields are
        // ignored, a missing one or an unknown state is no state (treated as closed upstream).
        let read = |t: &str| serde_json::from_str::<BreakerState>(t).ok();
        assert_eq!(
            serde_json::to_string(&BreakerState::Closed {
                failures: 2,
                since: 9
            })
            .unwrap(),
            r#"{"state":"closed","failures":2,"since":9}"#
        );
        assert_eq!(
            read(r#"{"state":"closed","failures":2,"since":9}"#),
            Some(BreakerState::Closed {
                failures: 2,
                since: 9
            })
        );
        assert_eq!(
            read(r#"{"opened_at":5,"state":"open","failures":1}"#),
            Some(BreakerState::Open { opened_at: 5 })
        );
        assert_eq!(
            read(r#"{"state":"half_open","trial_at":7}"#),
            Some(BreakerState::HalfOpen { trial_at: 7 })
        );
        for bad in [
            r#"{"state":"closed","failures":2}"#,
            r#"{"state":"open"}"#,
            r#"{"state":"ajar","opened_at":5}"#,
            r#"{"opened_at":5}"#,
            r#"{"state":"open","opened_at":"5"}"#,
            "[]",
        ] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }
}
