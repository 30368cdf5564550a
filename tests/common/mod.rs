//! The native test harness: the whole router and handlers over the SQLite store (the D1 SQL
//! and migrations) and fakes of the rest, with an injected clock. Shared by every native API test file; `email` holds the email tests' helpers.
#![allow(dead_code)]

pub mod email;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_compact::{KeyPair, Seed};
use edge_auth::app::crypto::NativeCrypto;
use edge_auth::app::health::HealthMemory;
use edge_auth::app::mail::{self, Mail, MemoryMailer, MemoryQueue, Outbox, Outcome};
use edge_auth::app::{consumer, App};
use edge_auth::config::Config;
use edge_auth::domain::{Email, User, UserId};
use edge_auth::http::{ApiRequest, ApiResponse, Ctx};
use edge_auth::limits::ratelimit::MemoryRateLimiter;
use edge_auth::store::session_cache::{MemoryLocationCache, SessionCache, SessionMemory};
use edge_auth::store::{Faulty, MemoryBreaker, Sqlite};
use edge_auth::tokens::signer::CompactKeys;
use edge_auth::tokens::KeySet;
use futures::executor::block_on;
use serde_json::{json, Value};
use std::rc::Rc;

pub const ITERATIONS: u32 = 1_000;

/// A user row as the store would hold it, for `Sqlite::put_raw`: any stored hash, as written.
pub fn stored_user(email: &str, password_hash: String) -> User {
    User {
        id: UserId::new_random().unwrap(),
        email: Email::parse(email).unwrap(),
        password_hash,
        password_version: 0,
        created_at: "2020-01-01T00:00:00.000Z".into(),
        email_verified: false,
    }
}
pub const NOW_MS: i64 = 1_800_000_000_000;
pub const PASSWORD: &str = "correct horse battery";

pub fn jwk(kid: &str, byte: u8) -> Value {
    let pair = KeyPair::from_seed(Seed::new([byte; 32]));
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
           "d": URL_SAFE_NO_PAD.encode([byte; 32]), "x": URL_SAFE_NO_PAD.encode(*pair.pk)})
}

/// The configuration of the tests: cheap hashes, a signing key, the Worker's public origin
/// `ORIGIN`, and `extra` (which may override them; an empty value unsets a var).
pub fn config_with(extra: &[(&str, &str)]) -> Config {
    let keys = json!([jwk("k1", 7)]).to_string();
    Config::from_lookup(|name| {
        if let Some((_, v)) = extra.iter().find(|(n, _)| *n == name) {
            return Some(v.to_string());
        }
        match name {
            "JWT_SIGNING_KEYS" => Some(keys.clone()),
            "PBKDF2_ITERATIONS" => Some(ITERATIONS.to_string()),
            "PUBLIC_URL" => Some(ORIGIN.to_owned()),
            _ => None,
        }
    })
    .unwrap()
}

/// The database of the tests: SQLite with the D1 migrations, failing on demand.
pub type Db = Faulty<Sqlite>;

pub struct Harness {
    pub config: Config,
    /// The access tokens' keys, from `config`'s, kept as the Worker keeps them per isolate.
    pub keys: KeySet<CompactKeys>,
    /// The database; `users` and `sessions` are the same one, named for what a test looks at.
    pub users: Rc<Db>,
    pub sessions: Rc<Db>,
    pub breaker: MemoryBreaker,
    pub logs: std::cell::RefCell<Vec<Value>>,
    /// Jobs handed to the queue, and the mail its consumer sent (the inbox).
    pub queue: MemoryQueue,
    pub mailer: MemoryMailer,
    /// Per-IP counts (no limit unless a test sets one).
    pub ip_limiter: MemoryRateLimiter,
    /// The session cache's tiers: this isolate's memory and the location's cache.
    pub session_memory: SessionMemory,
    pub location_cache: MemoryLocationCache,
    /// `/health`'s memory in this isolate.
    pub health_memory: HealthMemory,
    /// While set, jobs stay in the queue until a test runs [`Self::consume`].
    pub hold_queue: std::cell::Cell<bool>,
}

/// The Worker's public origin, `PUBLIC_URL` in the tests' configuration (links point here
/// unless `APP_URL` is set).
pub const ORIGIN: &str = "https://auth.example.test";

impl Harness {
    pub fn new() -> Self {
        Self::with_config(config_with(&[]))
    }

    pub fn with_config(config: Config) -> Self {
        Self::on_db(config, Rc::new(Db::default()))
    }

    /// The service in another Cloudflare location: the same database, its own caches.
    pub fn elsewhere(&self, config: Config) -> Self {
        Self::on_db(config, self.users.clone())
    }

    fn on_db(config: Config, db: Rc<Db>) -> Self {
        Self {
            keys: KeySet::new(config.keys.clone()).unwrap(),
            config,
            sessions: db.clone(),
            users: db,
            breaker: MemoryBreaker::default(),
            logs: Default::default(),
            queue: MemoryQueue::default(),
            mailer: MemoryMailer::default(),
            ip_limiter: MemoryRateLimiter::default(),
            session_memory: SessionMemory::default(),
            location_cache: MemoryLocationCache::default(),
            health_memory: HealthMemory::default(),
            hold_queue: Default::default(),
        }
    }

    pub fn send_at(&self, req: ApiRequest, now_ms: i64) -> ApiResponse {
        let ctx = Ctx::new(
            edge_auth::http::request_id(req.get_header("x-request-id")),
            now_ms,
        );
        self.send_with(req, ctx)
    }

    /// The session cache's tiers of this harness, bounded as configured.
    pub fn session_cache(&self) -> SessionCache<'_> {
        SessionCache {
            memory: &self.session_memory,
            location: &self.location_cache,
            ttl_ms: self.config.session_cache_ttl_secs * 1000,
            memory_ttl_ms: self.config.session_memory_ttl_secs * 1000,
        }
    }

    /// The service over this harness's stores, for one request.
    pub fn app<'a>(
        &'a self,
        outbox: &'a Outbox,
        session_cache: &'a SessionCache<'a>,
    ) -> App<'a, Db, Db, MemoryBreaker, NativeCrypto> {
        App {
            config: &self.config,
            keys: &self.keys,
            users: &*self.users,
            sessions: &*self.sessions,
            breaker_store: &self.breaker,
            outbox,
            ip_limiter: &self.ip_limiter,
            session_cache,
            health_memory: &self.health_memory,
        }
    }

    /// Sends a request with a context of the test's own (a pause hook, say).
    pub fn send_with(&self, req: ApiRequest, ctx: Ctx) -> ApiResponse {
        let outbox = Outbox::default();
        let session_cache = self.session_cache();
        let app = self.app(&outbox, &session_cache);
        let (method, path) = (req.method.clone(), req.path.clone());
        let resp = block_on(app.handle(req, &ctx));
        // The request's own line, as the Worker writes it.
        ctx.log_request(&method, &path, resp.status);
        // As the Worker does once the response is built: the jobs go to the queue, and (here at
        // once, unless held) its consumer handles them.
        block_on(mail::flush(&self.queue, &outbox.take(), &ctx));
        if !self.hold_queue.get() {
            self.consume(&ctx);
        }
        self.keep_logs(&ctx);
        resp
    }

    /// Runs the queue's consumer on every job waiting (at the context's time), as the Worker's
    /// `#[event(queue)]` does; a job it retries stays in the queue. Returns the outcomes.
    pub fn consume(&self, ctx: &Ctx) -> Vec<Outcome> {
        let jobs = std::mem::take(&mut *self.queue.jobs.borrow_mut());
        let mut outcomes = Vec::new();
        for job in jobs {
            // One id per message, the same on each of its deliveries, as a Queue's.
            let message_id = format!("qm-{}-{}", job.request_id, job.kind.as_str());
            let outcome = block_on(consumer::process(
                &job,
                &*self.users,
                &self.mailer,
                &self.config.email,
                &message_id,
                ctx,
            ));
            if !outcome.acknowledged() {
                self.queue.jobs.borrow_mut().push(job);
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Runs the consumer at `now_ms` and keeps its log lines.
    pub fn consume_at(&self, now_ms: i64) -> Vec<Outcome> {
        let ctx = Ctx::new("consumer".into(), now_ms);
        let outcomes = self.consume(&ctx);
        self.keep_logs(&ctx);
        outcomes
    }

    pub fn keep_logs(&self, ctx: &Ctx) {
        for line in ctx.take_lines() {
            self.logs
                .borrow_mut()
                .push(serde_json::from_str(&line).unwrap());
        }
    }

    pub fn send(&self, req: ApiRequest) -> ApiResponse {
        self.send_at(req, NOW_MS)
    }

    pub fn register(&self, email: &str, password: &str) -> ApiResponse {
        self.send(
            ApiRequest::new("POST", "/auth/register")
                .json(&json!({"email": email, "password": password})),
        )
    }

    pub fn login(&self, email: &str, password: &str) -> ApiResponse {
        self.login_at(email, password, NOW_MS)
    }

    pub fn login_at(&self, email: &str, password: &str, now_ms: i64) -> ApiResponse {
        self.send_at(
            ApiRequest::new("POST", "/auth/login")
                .json(&json!({"email": email, "password": password})),
            now_ms,
        )
    }

    pub fn token(&self, email: &str) -> String {
        let r = self.login(email, PASSWORD);
        assert_eq!(r.status, 200, "{:?}", r.body_json());
        r.body_json()["access_token"].as_str().unwrap().to_owned()
    }

    pub fn me(&self, token: &str, now_ms: i64) -> ApiResponse {
        self.send_at(
            ApiRequest::new("GET", "/auth/me").header("authorization", &format!("Bearer {token}")),
            now_ms,
        )
    }

    /// The mail sent to `to` so far, oldest first.
    pub fn inbox(&self, to: &str) -> Vec<Mail> {
        self.mailer
            .sent
            .borrow()
            .iter()
            .filter(|m| m.to == to)
            .cloned()
            .collect()
    }

    pub fn events(&self, name: &str) -> Vec<Value> {
        self.logs
            .borrow()
            .iter()
            .filter(|l| l["event"] == name)
            .cloned()
            .collect()
    }
}

pub fn assert_problem(resp: &ApiResponse, status: u16, code: &str) {
    assert_eq!(resp.status, status, "body: {}", resp.body_json());
    assert_eq!(
        resp.get_header("content-type"),
        Some("application/problem+json")
    );
    let body = resp.body_json();
    assert_eq!(body["code"], code);
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], "about:blank");
    assert_eq!(
        body["request_id"].as_str(),
        resp.get_header("x-request-id"),
        "request_id must equal X-Request-Id"
    );
}

pub fn error_fields(resp: &ApiResponse) -> Vec<(String, String)> {
    resp.body_json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
