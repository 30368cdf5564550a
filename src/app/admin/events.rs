//! `GET /admin/events`: the audit trail, newest first (`at`, then `id`), by user and/or type.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::users::{page_limit, param};
use crate::api_doc::{AdminEventList, AdminEventView};
use crate::app::{rfc3339, App, Call, Crypto};
use crate::domain::UserId;
use crate::http::error::{AppError, FieldError};
use crate::http::ApiResponse;
use crate::store::events::EventKind;
use crate::store::{BreakerStore, EventPage, EventRow, SessionStore, UserStore};

/// Where a page of events ends, and the filters it was read with: the opaque `next_cursor`
/// (base64url of this JSON). A cursor is refused under other filters, so a page never
/// continues a different listing.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    /// The user and type filters ("" for none).
    u: String,
    t: String,
    /// The last event's `at` (Unix ms) and id.
    a: i64,
    i: i64,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(raw: &str, user: &str, kind: &str) -> Result<Self, AppError> {
        let invalid = || {
            AppError::Validation(vec![FieldError::new(
                "cursor",
                "invalid_format",
                "cursor is not a cursor of this listing.",
            )])
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.u != user || cursor.t != kind {
            return Err(invalid());
        }
        Ok(cursor)
    }
}

fn view(row: EventRow) -> AdminEventView {
    AdminEventView {
        id: row.id.to_string(),
        at: rfc3339(row.at_ms),
        kind: row.kind,
        user_id: row.user_id,
        ip: row.ip,
        user_agent: row.user_agent,
        request_id: row.request_id,
    }
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// `GET /admin/events`: a page of events, newest first.
    pub(in crate::app) async fn admin_list_events(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (query, guard) = (call.req.query.as_str(), &call.guard);
        let limit = page_limit(query)?;
        let user = match param(query, "user_id")?.filter(|u| !u.is_empty()) {
            Some(raw) => UserId::parse(&raw).map(|id| id.to_string()).map_err(|_| {
                AppError::Validation(vec![FieldError::new(
                    "user_id",
                    "invalid_format",
                    "user_id is not a user id.",
                )])
            })?,
            None => String::new(),
        };
        let kind = param(query, "type")?.unwrap_or_default();
        let after = match param(query, "cursor")? {
            Some(raw) => Some(Cursor::decode(&raw, &user, &kind)?),
            None => None,
        };
        // A type that is none of ours names no event.
        if !kind.is_empty() && EventKind::parse(&kind).is_none() {
            return Ok(list(Vec::new(), None));
        }
        let page = EventPage {
            user_id: (!user.is_empty()).then_some(user.as_str()),
            kind: (!kind.is_empty()).then_some(kind.as_str()),
            after: after.map(|c| (c.a, c.i)),
            // One more than the page: whether a row follows.
            limit: limit + 1,
        };
        let mut rows = guard.call(|| self.users.list_events(&page)).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = match rows.last() {
            Some(last) if more => Some(
                Cursor {
                    u: user.clone(),
                    t: kind.clone(),
                    a: last.at_ms,
                    i: last.id,
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(list(rows, next))
    }
}

fn list(rows: Vec<EventRow>, next_cursor: Option<String>) -> ApiResponse {
    ApiResponse::json(
        200,
        &AdminEventList {
            events: rows.into_iter().map(view).collect(),
            next_cursor,
        },
    )
}
