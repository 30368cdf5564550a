//! The schemas of the admin API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user as the admin API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0b5e3d4c-8f1e-4a57-9d55-2f1f6a4f9c11", "email": "alice@example.com",
                          "created_at": "2026-11-26T08:00:00.000Z", "email_verified": true,
                          "mfa_enabled": false, "passkeys": 1, "disabled": false,
                          "last_login_at": "2026-12-01T09:30:00.000Z"}))]
pub struct AdminUserView {
    #[schema(format = "uuid")]
    pub id: String,
    pub email: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub email_verified: bool,
    /// Whether two-step verification is on.
    pub mfa_enabled: bool,
    /// How many passkeys the user has registered.
    pub passkeys: u32,
    /// A disabled account cannot log in or refresh.
    pub disabled: bool,
    /// When a session was last opened (password login, second factor, passkey); `null` before.
    #[schema(format = DateTime)]
    pub last_login_at: Option<String>,
}

/// `GET /admin/users` answer: a page of users, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminUserList {
    pub users: Vec<AdminUserView>,
    /// Opaque; pass it as `cursor` (with the same `email`) for the next page. `null` when no
    /// user follows.
    pub next_cursor: Option<String>,
}

/// An audit event as the admin API shows it. It never holds a password, a token, a code or a
/// secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "1042", "at": "2026-12-01T09:30:00.123Z", "type": "login_failed",
                          "user_id": "0b5e3d4c-8f1e-4a57-9d55-2f1f6a4f9c11", "ip": "203.0.113.7",
                          "user_agent": "Mozilla/5.0", "request_id": "5c79ecab-2c95-414f-a3f2-45c35f6d5375"}))]
pub struct AdminEventView {
    pub id: String,
    /// RFC 3339 with milliseconds.
    #[schema(format = DateTime)]
    pub at: String,
    /// One of the contract's event types, e.g. `login_failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The account the event is about (kept after the account is deleted).
    #[schema(format = "uuid")]
    pub user_id: String,
    /// The client's address; `null` when unknown.
    pub ip: Option<String>,
    /// At most 256 characters; `null` when the request sent none.
    pub user_agent: Option<String>,
    /// The `X-Request-Id` of the response to the request that made the change.
    pub request_id: String,
}

/// `GET /admin/events` answer: a page of events, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminEventList {
    pub events: Vec<AdminEventView>,
    /// Opaque; pass it as `cursor` (with the same `user_id` and `type`) for the next page.
    /// `null` when no event follows.
    pub next_cursor: Option<String>,
}

/// `PATCH /admin/users/{id}` body: each member optional (`{}` changes nothing), a boolean when
/// sent (`null` is `422`); other members are ignored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"disabled": true}))]
pub struct AdminUserUpdate {
    /// Disabling revokes every session at once and kills pending second-factor logins;
    /// enabling lets the account log in again.
    #[schema(nullable = false)]
    pub disabled: Option<bool>,
    #[schema(nullable = false)]
    pub email_verified: Option<bool>,
}
