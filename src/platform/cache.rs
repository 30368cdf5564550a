//! The Cache API binding: the session cache's location tier (per Cloudflare location), a named
//! cache keyed by URLs that only this Worker uses.

use std::cell::RefCell;
use std::rc::Rc;

use worker::{Cache, Headers, Response};

use crate::store::session_cache::{CacheCall, LocationCache};

const SESSION_CACHE_NAME: &str = "edge-auth-sessions";
const SESSION_CACHE_KEY: &str = "https://session-cache.edge-auth.internal/";

thread_local! {
    /// The opened Cache API cache, once per isolate.
    static LOCATION_CACHE: RefCell<Option<Rc<Cache>>> = const { RefCell::new(None) };
}

/// The session cache's location tier on the Workers Cache API. The cache is opened at the first
/// lookup that misses the isolate's memory, then kept. A key is a session id or its purge mark's
/// key (`session_cache::mark_key`), each its own URL.
pub struct CacheApiTier;

impl CacheApiTier {
    async fn cache() -> Rc<Cache> {
        if let Some(cache) = LOCATION_CACHE.with(|c| c.borrow().clone()) {
            return cache;
        }
        let cache = Rc::new(Cache::open(SESSION_CACHE_NAME.to_owned()).await);
        LOCATION_CACHE.with(|c| *c.borrow_mut() = Some(cache.clone()));
        cache
    }

    fn url(key: &str) -> String {
        format!("{SESSION_CACHE_KEY}{key}")
    }
}

impl LocationCache for CacheApiTier {
    fn get<'a>(&'a self, key: &'a str) -> CacheCall<'a, Option<String>> {
        Box::pin(async move {
            let cache = Self::cache().await;
            match cache.get(Self::url(key), false).await {
                Ok(Some(mut resp)) => resp.text().await.map(Some).map_err(|e| e.to_string()),
                Ok(None) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: String, ttl_secs: u32) -> CacheCall<'a, ()> {
        Box::pin(async move {
            let cache = Self::cache().await;
            let headers = Headers::new();
            headers
                .set("cache-control", &format!("max-age={ttl_secs}"))
                .map_err(|e| e.to_string())?;
            let resp = Response::ok(value)
                .map_err(|e| e.to_string())?
                .with_headers(headers);
            cache
                .put(Self::url(key), resp)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
