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
    /// Entries written before the field existed read as off.
    #[serde(default)]
    pub mfa_enabled: bool,
    /// The session's absolute expiry (ms since the epoch).
    pub session_expires_ms: i64,
    /// When D1 was read (ms since the epoch): the entry is dead `SESSION_CACHE_TTL` later.
    pub read_ms: i64,
}

impl CachedSession {
    pub fn new(user: &User, mfa_enabled: bool, session_expires_ms: i64, read_ms: i64) -> Self {
        Self {
            mfa_enabled,
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
            mfa_enabled: self.mfa_enabled,
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
mod tests;
