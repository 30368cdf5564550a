use super::*;

fn entry(read_ms: i64) -> CachedSession {
    CachedSession {
        user_id: "u1".into(),
        email: "a@example.com".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        email_verified: false,
        mfa_enabled: false,
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
