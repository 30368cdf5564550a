//! The audit trail's events: the contract's event types, and the request context an event is
//! built from. Events are written by the stores, in the same batch as the change they record
//! ([`Audit`] travels with the change): a batch that fails leaves neither, and a change that does
//! not happen (a lost race, a version that moved on) writes no event. How to record a new one:
//! docs/audit.md.

use crate::http::{ApiRequest, Ctx};

/// Longest `User-Agent` kept with a session or an event, in characters.
pub const USER_AGENT_MAX_CHARS: usize = 256;

macro_rules! event_kinds {
    ($($kind:ident => $name:literal,)*) => {
        /// An event type, by its wire name (`audit_events.type`, the listing's `type`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum EventKind {
            $($kind,)*
        }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$kind,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$kind => $name,)*
                }
            }
        }
    };
}

event_kinds! {
    UserRegistered => "user_registered",
    LoginSucceeded => "login_succeeded",
    LoginFailed => "login_failed",
    LoginThrottled => "login_throttled",
    MfaRequired => "mfa_required",
    MfaFailed => "mfa_failed",
    RefreshReuseDetected => "refresh_reuse_detected",
    PasswordChanged => "password_changed",
    PasswordReset => "password_reset",
    EmailVerified => "email_verified",
    MfaEnabled => "mfa_enabled",
    MfaDisabled => "mfa_disabled",
    RecoveryCodeUsed => "recovery_code_used",
    PasskeyAdded => "passkey_added",
    PasskeyRemoved => "passkey_removed",
    SessionRevoked => "session_revoked",
    AccountDeleted => "account_deleted",
    AccountDisabled => "account_disabled",
    AccountEnabled => "account_enabled",
    AdminUserUpdated => "admin_user_updated",
    AdminUserDeleted => "admin_user_deleted",
    AdminSessionsRevoked => "admin_sessions_revoked",
    AdminMfaRemoved => "admin_mfa_removed",
    AdminPasswordResetSent => "admin_password_reset_sent",
}

impl EventKind {
    /// The type with this wire name, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

/// The request an event comes from: its time, the client's address and user agent, and the
/// response's `X-Request-Id`. Nothing from the body: never a password, token, code or secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub at_ms: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
}

impl Origin {
    pub fn of(req: &ApiRequest, ctx: &Ctx) -> Self {
        Self {
            at_ms: ctx.now_ms,
            ip: non_empty(req.get_header("cf-connecting-ip")).map(str::to_owned),
            user_agent: user_agent(req),
            request_id: ctx.request_id.clone(),
        }
    }
}

/// The request's `User-Agent`, cut to [`USER_AGENT_MAX_CHARS`] characters; `None` when absent
/// or empty.
pub fn user_agent(req: &ApiRequest) -> Option<String> {
    non_empty(req.get_header("user-agent"))
        .map(|ua| ua.chars().take(USER_AGENT_MAX_CHARS).collect())
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// The events a change writes in its own batch, all about the account the change is about:
/// empty `kinds` write none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    pub origin: Origin,
    pub kinds: Vec<EventKind>,
}

impl Audit {
    /// No event (a change made off the request path, or by a test that is not about events).
    pub fn none() -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_distinct_wire_name_that_parses_back() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
        let mut names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
        assert_eq!(EventKind::parse("login"), None);
    }

    #[test]
    fn the_origin_keeps_the_client_address_and_at_most_256_characters_of_user_agent() {
        let req = ApiRequest {
            method: "POST".into(),
            path: "/auth/login".into(),
            query: String::new(),
            origin: String::new(),
            headers: vec![
                ("cf-connecting-ip".into(), "203.0.113.7".into()),
                ("user-agent".into(), "é".repeat(300)),
            ],
            body: Ok(Vec::new()),
        };
        let origin = Origin::of(&req, &Ctx::new("req-1".into(), 42));
        assert_eq!(origin.at_ms, 42);
        assert_eq!(origin.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(origin.user_agent, Some("é".repeat(256)));
        assert_eq!(origin.request_id, "req-1");
        let bare = ApiRequest {
            headers: vec![("user-agent".into(), String::new())],
            ..req
        };
        let origin = Origin::of(&bare, &Ctx::new("req-2".into(), 1));
        assert_eq!((origin.ip, origin.user_agent), (None, None));
    }
}
