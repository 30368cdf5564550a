//! The session state behind `GET /auth/me` and `POST /auth/verify`, cached so that the hot path
//! makes no database trip in steady state.
//!
//! Three tiers, nearest first:
//! 1. the isolate's memory ([`SessionMemory`]), for at most `SESSION_MEMORY_TTL` seconds;
//! 2. the location's cache ([`LocationCache`], the Workers Cache API: one per Cloudflare
//!    location, shared by its isolates);
//! 3. D1, read through a Sessions API session that a read replica may serve.
//!
//! Every entry carries the time its D1 read was made, and is never used once that is
//! `SESSION_CACHE_TTL` seconds old, whichever tier it comes from: that is the bound on how
//! stale an answer can be (plus the replica's lag, see the README). A revocation in this
//! location (logout, reuse detection, password change or reset, a session revoked, the account
//! deleted, the address verified) purges the session's entry from this isolate's memory and
//! from the location's cache before it answers. `SESSION_CACHE_TTL=0` turns every tier off:
//! each check reads D1's primary, as v1 did.
//!
//! A purge leaves a mark for `SESSION_CACHE_TTL`, and while a mark is in force no state of its
//! session is used, whenever it was put: in the location's cache the mark has a key of its own
//! ([`mark_key`]), so a check that read D1 before the purge and puts its state after the mark
//! overwrites nothing, in whichever order the two puts land; that state is dead (its read is
//! `SESSION_CACHE_TTL` old) before the mark expires.
//!
//! Only the user view is cached (id, email, creation time, whether the address is verified) and
//! the session's expiry: never a password hash. An entry is only used for the `sub` it was
//! read for, and never past its session's own expiry.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::api_doc::UserView;
use crate::domain::User;

/// What a location cache call resolves to; `Err` carries a message for the logs only.
pub type CacheCall<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + 'a>>;

/// The per-location tier: the Workers Cache API in the Worker, a map in native tests.
/// Keys are a session id (its state) or its [`mark_key`] (its purge mark).
pub trait LocationCache {
    fn get<'a>(&'a self, key: &'a str) -> CacheCall<'a, Option<String>>;
    fn put<'a>(&'a self, key: &'a str, value: String, ttl_secs: u32) -> CacheCall<'a, ()>;
}

/// The location cache's key of a session's purge mark: apart from its state's, so that no put
/// of a state replaces a mark.
pub fn mark_key(session_id: &str) -> String {
    format!("purged/{session_id}")
}

/// One session's state as `/auth/me` and `/auth/verify` need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedSession {
    pub user_id: String,
    pub email: String,
    pub created_at: String,
    pub email_verified: bool,
    /// The session's absolute expiry (ms since the epoch).
    pub session_expires_ms: i64,
    /// When D1 was read (ms since the epoch): the entry is dead `SESSION_CACHE_TTL` later.
    pub read_ms: i64,
}

impl CachedSession {
    pub fn new(user: &User, session_expires_ms: i64, read_ms: i64) -> Self {
        Self {
            user_id: user.id.to_string(),
            email: user.email.as_ref().to_owned(),
            created_at: user.created_at.clone(),
            email_verified: user.email_verified,
            session_expires_ms,
            read_ms,
        }
    }

    /// The user view `/auth/me` answers with.
    pub fn view(&self) -> UserView {
        UserView {
            id: self.user_id.clone(),
            email: self.email.clone(),
            created_at: self.created_at.clone(),
            email_verified: self.email_verified,
        }
    }

    /// Whether this entry may answer for `user_id` at `now_ms`.
    fn usable(&self, user_id: &str, now_ms: i64, ttl_ms: i64) -> bool {
        self.user_id == user_id
            && now_ms < self.session_expires_ms
            && now_ms >= self.read_ms
            && now_ms - self.read_ms < ttl_ms
    }
}

/// Which tier answered a lookup (logged as `session_cache` on the request line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Memory,
    Location,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Memory => "memory",
            Tier::Location => "location",
        }
    }
}

/// Entries kept per isolate at most; past that, expired entries and marks are dropped, then the
/// live entries (a miss only costs a lookup in the next tier), and only then the oldest purge
/// marks in force, [`EVICTED_MARKS`] at a time: until the last of those would have expired,
/// every session without a slot counts as purged here (only D1's primary answers for it), so
/// no purge is forgotten early. A live entry is not kept while marks alone fill the map.
pub const MEMORY_CAPACITY: usize = 10_000;

/// Marks in force dropped at once when marks alone fill the memory: one scan of the map per
/// this many purges, not one per purge.
pub const EVICTED_MARKS: usize = MEMORY_CAPACITY / 10;

/// What the location cache holds under a purged session's [`mark_key`] until
/// `SESSION_CACHE_TTL` has passed (and what an earlier version put under the session id
/// itself, still read as a mark there).
pub const PURGED: &str = "purged";

#[derive(Debug, Clone)]
enum Slot {
    Live(CachedSession),
    /// Purged here: nothing is cached for this session until the slot expires.
    Purged,
}

/// The isolate's tier: one per isolate (the Worker keeps it in a thread local), entries kept
/// for at most `memory_ttl_ms` after they were put here, purge marks for `ttl_ms`.
#[derive(Debug, Default)]
pub struct SessionMemory {
    slots: RefCell<HashMap<String, (Slot, i64)>>,
    /// When the last purge mark dropped in force would have expired: until then, a session
    /// without a slot may be one of them.
    evicted_marks_until: Cell<i64>,
}

impl SessionMemory {
    fn get(&self, session_id: &str, now_ms: i64) -> Option<Slot> {
        match self.slots.borrow().get(session_id) {
            Some((slot, until_ms)) if now_ms < *until_ms => Some(slot.clone()),
            _ if now_ms < self.evicted_marks_until.get() => Some(Slot::Purged),
            _ => None,
        }
    }

    /// Keeps `slot` until `until_ms`, except a live entry over a purge mark still in force: a
    /// state read before the purge (a location read or a D1 read that raced it) must not
    /// outlive the mark, whichever path brings it here.
    fn put(&self, session_id: &str, slot: Slot, until_ms: i64, now_ms: i64) {
        let live = matches!(slot, Slot::Live(_));
        if live && matches!(self.get(session_id, now_ms), Some(Slot::Purged)) {
            return;
        }
        let mut slots = self.slots.borrow_mut();
        if slots.len() >= MEMORY_CAPACITY && !slots.contains_key(session_id) {
            slots.retain(|_, (_, until)| now_ms < *until);
            if slots.len() >= MEMORY_CAPACITY {
                slots.retain(|_, (kept, _)| matches!(kept, Slot::Purged));
            }
            if slots.len() >= MEMORY_CAPACITY {
                if live {
                    return;
                }
                self.evict_oldest_marks(&mut slots);
            }
        }
        slots.insert(session_id.to_owned(), (slot, until_ms));
    }

    /// Drops the marks that expire first, down to `MEMORY_CAPACITY - EVICTED_MARKS` (ties may
    /// take a few more), and makes every session without a slot count as purged until the
    /// last of them would have expired.
    fn evict_oldest_marks(&self, slots: &mut HashMap<String, (Slot, i64)>) {
        let keep = MEMORY_CAPACITY - EVICTED_MARKS;
        let Some(drop_count) = slots.len().checked_sub(keep).filter(|n| *n > 0) else {
            return;
        };
        let mut untils: Vec<i64> = slots.values().map(|(_, until)| *until).collect();
        let (_, last_dropped, _) = untils.select_nth_unstable(drop_count - 1);
        let last_dropped = *last_dropped;
        slots.retain(|_, (_, until)| *until > last_dropped);
        let evicted = self.evicted_marks_until.get().max(last_dropped);
        self.evicted_marks_until.set(evicted);
    }

    fn is_purged(&self, session_id: &str, now_ms: i64) -> bool {
        matches!(self.get(session_id, now_ms), Some(Slot::Purged))
    }

    /// Live entries and purge marks held (expired ones included until they are dropped).
    pub fn len(&self) -> usize {
        self.slots.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The tiers and their bounds, for one request.
pub struct SessionCache<'a> {
    pub memory: &'a SessionMemory,
    pub location: &'a dyn LocationCache,
    /// `SESSION_CACHE_TTL` in ms; 0 turns the cache off.
    pub ttl_ms: i64,
    /// `SESSION_MEMORY_TTL` in ms (never more than `ttl_ms`).
    pub memory_ttl_ms: i64,
}

/// What a lookup found, and what went wrong on the way (for the logs; a failing location cache
/// is a miss, never an error).
#[derive(Default)]
pub struct Lookup {
    pub hit: Option<(CachedSession, Tier)>,
    /// The session was purged in this location within `SESSION_CACHE_TTL` (a purge mark in
    /// either tier): a read replica may not have that revocation yet, so only D1's primary
    /// may say whether it is still active.
    pub purged: bool,
    pub location_error: Option<String>,
}

impl SessionCache<'_> {
    pub fn enabled(&self) -> bool {
        self.ttl_ms > 0
    }

    /// The cached state of `session_id` for `user_id`, nearest tier first, or a miss that says
    /// whether the session was purged here. A location hit is copied into the isolate's memory.
    pub async fn lookup(&self, session_id: &str, user_id: &str, now_ms: i64) -> Lookup {
        let mut out = Lookup::default();
        if !self.enabled() {
            return out;
        }
        match self.memory.get(session_id, now_ms) {
            Some(Slot::Live(entry)) if entry.usable(user_id, now_ms, self.ttl_ms) => {
                out.hit = Some((entry, Tier::Memory));
                return out;
            }
            Some(Slot::Purged) => {
                out.purged = true;
                return out;
            }
            _ => {}
        }
        let mark_key = mark_key(session_id);
        let (answer, mark) =
            futures_util::future::join(self.location.get(session_id), self.location.get(&mark_key))
                .await;
        // A revocation in this isolate may have purged the session while the read was on its
        // way: what the read brings is older than that purge, so the purge mark wins.
        out.purged = self.memory.is_purged(session_id, now_ms);
        match (answer, mark) {
            (Err(e), _) | (_, Err(e)) => out.location_error = Some(e),
            (Ok(raw), Ok(mark)) if mark.is_some() || raw.as_deref() == Some(PURGED) => {
                self.mark_purged(session_id, now_ms);
                out.purged = true;
            }
            (Ok(Some(raw)), Ok(None)) if !out.purged => {
                out.hit = self.take_in(session_id, &raw, user_id, now_ms);
            }
            (Ok(_), Ok(_)) => {}
        }
        out
    }

    /// A state the location's cache returned, if it may answer for `user_id` now (then it is
    /// also kept in memory).
    fn take_in(
        &self,
        session_id: &str,
        raw: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Option<(CachedSession, Tier)> {
        let entry = serde_json::from_slice::<CachedSession>(raw.as_bytes()).ok()?;
        if !entry.usable(user_id, now_ms, self.ttl_ms) {
            return None;
        }
        self.remember(session_id, &entry, now_ms);
        Some((entry, Tier::Location))
    }

    fn remember(&self, session_id: &str, entry: &CachedSession, now_ms: i64) {
        let until = (now_ms + self.memory_ttl_ms).min(entry.read_ms + self.ttl_ms);
        if until > now_ms {
            self.memory
                .put(session_id, Slot::Live(entry.clone()), until, now_ms);
        }
    }

    fn mark_purged(&self, session_id: &str, now_ms: i64) {
        self.memory
            .put(session_id, Slot::Purged, now_ms + self.ttl_ms, now_ms);
    }

    fn ttl_secs(&self) -> u32 {
        u32::try_from((self.ttl_ms + 999) / 1000).unwrap_or(u32::MAX)
    }

    /// Keeps a state just read from D1 in both tiers, unless the session was purged in this
    /// location since (a revocation that raced this check). Returns the location cache's error,
    /// if any (the answer stands either way).
    pub async fn store(
        &self,
        session_id: &str,
        entry: &CachedSession,
        now_ms: i64,
    ) -> Option<String> {
        if !self.enabled() || self.memory.is_purged(session_id, now_ms) {
            return None;
        }
        // Another isolate of this location may have purged it: its mark is in the location
        // cache. (A purge elsewhere can still land after this read: then this isolate's memory
        // may serve the state for up to `SESSION_MEMORY_TTL`, the README gives that window,
        // but no other isolate uses it, since the mark's key is not the state's.)
        match self.location.get(&mark_key(session_id)).await {
            Ok(Some(_)) => {
                self.mark_purged(session_id, now_ms);
                return None;
            }
            Ok(None) => {}
            Err(e) => return Some(e),
        }
        if self.memory.is_purged(session_id, now_ms) {
            return None;
        }
        self.remember(session_id, entry, now_ms);
        let value = serde_json::to_string(entry).unwrap_or_default();
        self.location
            .put(session_id, value, self.ttl_secs())
            .await
            .err()
    }

    /// Purges these sessions in this location: this isolate's memory and the location's cache
    /// hold a purge mark for `SESSION_CACHE_TTL`, so neither answers for them, and a check that
    /// read D1 before the purge cannot bring them back, whenever its put lands. Returns the
    /// location cache's errors, if any, for the logs.
    pub async fn purge(&self, session_ids: &[String], now_ms: i64) -> Vec<String> {
        let mut errors = Vec::new();
        if !self.enabled() {
            return errors;
        }
        for id in session_ids {
            self.mark_purged(id, now_ms);
            if let Err(e) = self
                .location
                .put(&mark_key(id), PURGED.to_owned(), self.ttl_secs())
                .await
            {
                errors.push(e);
            }
        }
        errors
    }
}

/// The location tier for native tests: a map, with the number of calls of each kind, and a
/// switch that makes every call fail.
#[derive(Debug, Default)]
pub struct MemoryLocationCache {
    pub entries: RefCell<HashMap<String, String>>,
    pub gets: std::cell::Cell<u32>,
    pub puts: std::cell::Cell<u32>,
    pub fail: std::cell::Cell<bool>,
    /// `Some(n)`: the get after `n` more gets yields once before answering, so a test can run
    /// another request in between (a revocation racing a check).
    pub yield_at_get: std::cell::Cell<Option<u32>>,
    /// When set, that paused get reads the map *before* it yields: like a Cache API read whose
    /// answer was on its way back while a purge ran, it returns what the map held before.
    pub read_before_yield: std::cell::Cell<bool>,
    /// While `Some`, puts are held there instead of landing, for a test to deliver
    /// ([`Self::deliver`]) in the order it chooses.
    pub held_puts: RefCell<Option<Vec<(String, String)>>>,
}

impl MemoryLocationCache {
    /// Lands a held put (its key and value), as the location's cache would once it arrives.
    pub fn deliver(&self, put: (String, String)) {
        self.entries.borrow_mut().insert(put.0, put.1);
    }

    /// Counts one call on `counter`, and fails it when `fail` is set.
    fn call(&self, counter: &std::cell::Cell<u32>) -> Result<(), String> {
        counter.set(counter.get() + 1);
        if self.fail.get() {
            Err("location cache unavailable".into())
        } else {
            Ok(())
        }
    }
}

impl LocationCache for MemoryLocationCache {
    fn get<'a>(&'a self, key: &'a str) -> CacheCall<'a, Option<String>> {
        Box::pin(async move {
            let counted = self.call(&self.gets);
            let read = || self.entries.borrow().get(key).cloned();
            let early = self.read_before_yield.get().then(read);
            match self.yield_at_get.get() {
                Some(0) => {
                    self.yield_at_get.set(None);
                    crate::http::yield_once().await;
                }
                Some(n) => self.yield_at_get.set(Some(n - 1)),
                None => {}
            }
            counted?;
            Ok(early.unwrap_or_else(read))
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: String, _ttl_secs: u32) -> CacheCall<'a, ()> {
        Box::pin(async move {
            self.call(&self.puts)?;
            if let Some(held) = &mut *self.held_puts.borrow_mut() {
                held.push((key.to_owned(), value));
                return Ok(());
            }
            self.entries.borrow_mut().insert(key.to_owned(), value);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(read_ms: i64) -> CachedSession {
        CachedSession {
            user_id: "u1".into(),
            email: "a@example.com".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            email_verified: false,
            session_expires_ms: 100_000,
            read_ms,
        }
    }

    fn cache<'a>(memory: &'a SessionMemory, location: &'a MemoryLocationCache) -> SessionCache<'a> {
        SessionCache {
            memory,
            location,
            ttl_ms: 30_000,
            memory_ttl_ms: 1_000,
        }
    }

    /// Every future here is ready at once (no real I/O), so polling once is enough.
    fn block_on<F: Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut cx = Context::from_waker(Waker::noop());
        match std::pin::pin!(f).poll(&mut cx) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("a cache call was not ready"),
        }
    }

    #[test]
    fn a_stored_entry_answers_from_memory_then_from_the_location_after_the_memory_bound() {
        let (memory, location) = (SessionMemory::default(), MemoryLocationCache::default());
        let c = cache(&memory, &location);
        assert!(block_on(c.store("s1", &entry(0), 0)).is_none());
        let gets = location.gets.get();
        let hit = block_on(c.lookup("s1", "u1", 500)).hit.unwrap();
        assert_eq!(hit.1, Tier::Memory);
        assert_eq!(location.gets.get(), gets);
        let hit = block_on(c.lookup("s1", "u1", 1_500)).hit.unwrap();
        assert_eq!(hit.1, Tier::Location);
        // The state and its purge mark, read together.
        assert_eq!(location.gets.get(), gets + 2);
        // Copied back into memory.
        assert_eq!(
            block_on(c.lookup("s1", "u1", 1_600)).hit.unwrap().1,
            Tier::Memory
        );
    }

    #[test]
    fn no_tier_answers_once_the_read_is_ttl_old_or_past_the_session_expiry() {
        let (memory, location) = (SessionMemory::default(), MemoryLocationCache::default());
        let c = cache(&memory, &location);
        block_on(c.store("s1", &entry(0), 0));
        assert!(block_on(c.lookup("s1", "u1", 29_999)).hit.is_some());
        assert!(block_on(c.lookup("s1", "u1", 30_000)).hit.is_none());
        let mut short = entry(0);
        short.session_expires_ms = 10_000;
        block_on(c.store("s2", &short, 0));
        assert!(block_on(c.lookup("s2", "u1", 9_999)).hit.is_some());
        assert!(block_on(c.lookup("s2", "u1", 10_000)).hit.is_none());
    }

    #[test]
    fn an_entry_answers_only_for_its_own_user() {
        let (memory, location) = (SessionMemory::default(), MemoryLocationCache::default());
        let c = cache(&memory, &location);
        block_on(c.store("s1", &entry(0), 0));
        assert!(block_on(c.lookup("s1", "u2", 10)).hit.is_none());
    }

    #[test]
    fn a_purge_empties_both_tiers() {
        let (memory, location) = (SessionMemory::default(), MemoryLocationCache::default());
        let c = cache(&memory, &location);
        block_on(c.store("s1", &entry(0), 0));
        assert!(block_on(c.purge(&["s1".to_owned()], 5)).is_empty());
        assert_eq!(location.entries.borrow()[&mark_key("s1")], PURGED);
        assert!(block_on(c.lookup("s1", "u1", 10)).hit.is_none());
        // A check that read D1 before the purge does not put the session back, in either tier.
        block_on(c.store("s1", &entry(0), 10));
        assert!(block_on(c.lookup("s1", "u1", 20)).hit.is_none());
        let elsewhere = SessionMemory::default();
        let seen = block_on(cache(&elsewhere, &location).lookup("s1", "u1", 20));
        assert!(seen.hit.is_none() && seen.purged);
        assert_eq!(location.entries.borrow()[&mark_key("s1")], PURGED);
    }

    #[test]
    fn a_purge_in_another_isolate_of_the_location_is_seen_through_the_location_cache() {
        let location = MemoryLocationCache::default();
        let (here, there) = (SessionMemory::default(), SessionMemory::default());
        let (c_here, c_there) = (cache(&here, &location), cache(&there, &location));
        block_on(c_there.purge(&["s1".to_owned()], 5));
        // A third isolate of the location learns of the purge from the location's cache.
        let third = SessionMemory::default();
        let seen = block_on(cache(&third, &location).lookup("s1", "u1", 10));
        assert!(seen.hit.is_none() && seen.purged);
        // This isolate read D1 (before the purge) and now tries to cache what it read.
        block_on(c_here.store("s1", &entry(0), 10));
        assert!(block_on(c_here.lookup("s1", "u1", 20)).hit.is_none());
        assert_eq!(location.entries.borrow()[&mark_key("s1")], PURGED);
        assert!(!location.entries.borrow().contains_key("s1"));
    }

    /// Isolate `a` read D1 (the session active) at 0 and puts that state; isolate `b` purged the
    /// session at 5. The location's cache receives the two puts in `order`.
    fn puts_landing(order: [usize; 2]) -> MemoryLocationCache {
        let location = MemoryLocationCache::default();
        let (a, b) = (SessionMemory::default(), SessionMemory::default());
        *location.held_puts.borrow_mut() = Some(Vec::new());
        block_on(cache(&a, &location).store("s1", &entry(0), 0));
        block_on(cache(&b, &location).purge(&["s1".to_owned()], 5));
        let mut held = location.held_puts.borrow_mut().take().unwrap();
        assert_eq!(held.len(), 2, "the state's put and the mark's");
        let (state, mark) = (held.remove(0), held.remove(0));
        assert_eq!((state.0.as_str(), mark.1.as_str()), ("s1", PURGED));
        let mut puts = [Some(state), Some(mark)];
        for i in order {
            location.deliver(puts[i].take().unwrap());
        }
        location
    }

    #[test]
    fn a_purge_wins_over_a_state_read_before_it_whichever_put_lands_last() {
        for (order, name) in [([0, 1], "state, then mark"), ([1, 0], "mark, then state")] {
            let location = puts_landing(order);
            // Any other isolate of the location, any time until the state is dead anyway.
            for now in [10, 1_000, 29_999] {
                let other = SessionMemory::default();
                let seen = block_on(cache(&other, &location).lookup("s1", "u1", now));
                assert!(seen.hit.is_none(), "{name}: served at {now}");
                assert!(seen.purged, "{name}: at {now}, not known as purged");
                // Nor does it keep the state for its next check.
                assert!(
                    block_on(cache(&other, &location).lookup("s1", "u1", now + 1))
                        .hit
                        .is_none()
                );
            }
        }
    }

    #[test]
    fn a_location_read_that_returns_after_a_purge_does_not_bring_the_session_back() {
        use std::task::{Context, Poll, Waker};
        let (memory, location) = (SessionMemory::default(), MemoryLocationCache::default());
        let c = cache(&memory, &location);
        let live = serde_json::to_string(&entry(0)).unwrap();
        location.entries.borrow_mut().insert("s1".into(), live);
        // The check's location read has its answer (the live entry) but has not resumed yet.
        location.yield_at_get.set(Some(0));
        location.read_before_yield.set(true);
        let mut check = std::pin::pin!(c.lookup("s1", "u1", 10));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(check.as_mut().poll(&mut cx).is_pending());
        // Meanwhile a logout in this isolate purges the session.
        assert!(block_on(c.purge(&["s1".to_owned()], 10)).is_empty());
        let Poll::Ready(raced) = check.as_mut().poll(&mut cx) else {
            panic!("still pending")
        };
        assert!(
            raced.hit.is_none(),
            "answered from a read older than the purge"
        );
        assert!(raced.purged);
        let next = block_on(c.lookup("s1", "u1", 20));
        assert!(
            next.hit.is_none(),
            "served {:?} after the purge",
            next.hit.map(|h| h.1)
        );
        assert!(next.purged);
    }

    #[test]
    fn memory_keeps_a_purge_mark_over_a_live_entry() {
        let memory = SessionMemory::default();
        memory.put("s1", Slot::Purged, 30_000, 0);
        memory.put("s1", Slot::Live(entry(0)), 1_000, 10);
        assert!(memory.is_purged("s1", 20));
        // Once the mark has expired, the slot takes a live entry again.
        memory.put("s1", Slot::Live(entry(30_000)), 31_000, 30_000);
        assert!(matches!(memory.get("s1", 30_001), Some(Slot::Live(_))));
    }

    #[test]
    fn ttl_zero_keeps_nothing_and_asks_nothing() {
        let (memory, location) = (SessionMemory::default(), MemoryLocationCache::default());
        let mut c = cache(&memory, &location);
        c.ttl_ms = 0;
        block_on(c.store("s1", &entry(0), 0));
        assert!(block_on(c.lookup("s1", "u1", 1)).hit.is_none());
        block_on(c.purge(&["s1".to_owned()], 1));
        assert_eq!((location.gets.get(), location.puts.get()), (0, 0));
        assert!(memory.is_empty());
    }

    #[test]
    fn a_failing_location_cache_is_a_miss_with_its_error() {
        let (memory, location) = (SessionMemory::default(), MemoryLocationCache::default());
        location.fail.set(true);
        let c = cache(&memory, &location);
        assert!(block_on(c.store("s1", &entry(0), 0)).is_some());
        // Nothing is kept when a purge elsewhere in the location cannot be ruled out.
        let miss = block_on(c.lookup("s1", "u1", 10));
        assert!(miss.hit.is_none());
        assert!(miss.location_error.is_some());
    }

    #[test]
    fn memory_stays_bounded() {
        let memory = SessionMemory::default();
        for i in 0..(MEMORY_CAPACITY + 10) {
            memory.put(&format!("s{i}"), Slot::Live(entry(0)), 1_000, 0);
        }
        assert!(memory.len() <= MEMORY_CAPACITY);
        // Purge marks, three times the capacity within one TTL, mixed with live entries.
        let (memory, location) = (SessionMemory::default(), MemoryLocationCache::default());
        let c = cache(&memory, &location);
        for i in 0..3 * MEMORY_CAPACITY as i64 {
            block_on(c.purge(&[format!("p{i}")], i));
            block_on(c.store(&format!("l{i}"), &entry(i), i));
            assert!(
                memory.len() <= MEMORY_CAPACITY,
                "{} after {i}",
                memory.len()
            );
        }
        // Every purge is still in force here, kept or dropped: none of them answers from a
        // state, and each is known as purged.
        let now = 3 * MEMORY_CAPACITY as i64;
        for i in [0, 1, MEMORY_CAPACITY as i64, now - 1] {
            let p = format!("p{i}");
            block_on(location.put(&p, serde_json::to_string(&entry(0)).unwrap(), 30)).unwrap();
            location.entries.borrow_mut().remove(&mark_key(&p));
            let seen = block_on(c.lookup(&p, "u1", now));
            assert!(seen.hit.is_none() && seen.purged, "{p}");
        }
        // Once the marks have expired, the next put into a full memory drops them all, and
        // the cache serves again.
        let later = now + 30_000;
        let mut fresh = 0;
        loop {
            block_on(c.store(&format!("f{fresh}"), &entry(later), later));
            fresh += 1;
            if memory.len() < MEMORY_CAPACITY / 2 {
                break;
            }
            assert!(fresh <= MEMORY_CAPACITY, "expired marks were not dropped");
        }
        assert_eq!(memory.len(), fresh);
        for id in ["f0".to_owned(), format!("f{}", fresh - 1)] {
            let hit = block_on(c.lookup(&id, "u1", later + 1)).hit;
            assert_eq!(hit.map(|h| h.1), Some(Tier::Memory), "{id}");
        }
    }

    #[test]
    fn expired_purge_marks_are_dropped_before_live_entries() {
        let memory = SessionMemory::default();
        for i in 0..MEMORY_CAPACITY / 2 {
            memory.put(&format!("p{i}"), Slot::Purged, 1_000, 0);
        }
        for i in 0..MEMORY_CAPACITY / 2 {
            memory.put(&format!("l{i}"), Slot::Live(entry(0)), 60_000, 0);
        }
        assert_eq!(memory.len(), MEMORY_CAPACITY);
        memory.put("new", Slot::Live(entry(2_000)), 60_000, 2_000);
        assert_eq!(memory.len(), MEMORY_CAPACITY / 2 + 1);
        assert!(matches!(memory.get("l0", 2_000), Some(Slot::Live(_))));
        assert!(matches!(memory.get("new", 2_000), Some(Slot::Live(_))));
        assert!(memory.get("p0", 2_000).is_none());
    }
}
