//! The audit trail on SQL: the statements of a change's events, for the stores to place in the
//! change's own batch (`sql::audit` says where), and the listing of events.

use super::exec::{all_rows, Arg, Columns, FromRow, IntoArg, Sql, Statement};
use super::StoreError;
use crate::domain::UserId;
use crate::store::events::Audit;
use crate::store::sql::audit as sql;

/// An audit event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub id: i64,
    pub at_ms: i64,
    /// Its type's wire name.
    pub kind: String,
    pub user_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
}

/// A page of the audit trail: newest first (`at`, then `id`), strictly after `after` (the
/// last row of the previous page), of one user and/or one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPage<'a> {
    pub user_id: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub after: Option<(i64, i64)>,
    pub limit: u32,
}

/// The audit trail's reads (its writes ride in the batches of the changes they record).
#[allow(async_fn_in_trait)]
pub trait AuditStore {
    async fn list_events(&self, page: &EventPage<'_>) -> Result<Vec<EventRow>, StoreError>;
    /// Writes `audit`'s events about user `user_id`, if it exists: for an action whose change
    /// is not in the database (a mail queued), so it has no batch of its own to ride in.
    async fn record_events(&self, user_id: &UserId, audit: &Audit) -> Result<(), StoreError>;
}

/// The arguments of each of `audit`'s events: `?1`–`?5` from the request and the type, then
/// `extra`, the values of the statement's own `?6`… (the user, the condition), in order.
pub(crate) fn event_args<'a>(audit: &'a Audit, extra: &[Arg<'a>]) -> Vec<Vec<Arg<'a>>> {
    let o = &audit.origin;
    audit
        .kinds
        .iter()
        .map(|kind| {
            let mut args = vec![
                (&o.at_ms).into_arg(),
                Arg::Text(kind.as_str()),
                (&o.ip).into_arg(),
                (&o.user_agent).into_arg(),
                (&o.request_id).into_arg(),
            ];
            args.extend_from_slice(extra);
            args
        })
        .collect()
}

/// One statement `sql` per event, with the arguments of [`event_args`].
pub(crate) fn event_statements<'a>(
    sql: &'static str,
    args: &'a [Vec<Arg<'a>>],
) -> impl Iterator<Item = Statement<'a>> + 'a {
    args.iter().map(move |params| Statement { sql, params })
}

impl FromRow for EventRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(EventRow {
            id: row.number("id")? as i64,
            at_ms: row.number("at")? as i64,
            kind: row.text("type")?,
            user_id: row.text("user_id")?,
            ip: row.optional_text("ip")?,
            user_agent: row.optional_text("user_agent")?,
            request_id: row.text("request_id")?,
        })
    }
}

/// Past every event: the cursor of a first page (`at` and `id` below 2^53, as D1's numbers).
const NEWEST: i64 = (1 << 53) - 1;

impl<D: Sql> AuditStore for D {
    async fn list_events(&self, page: &EventPage<'_>) -> Result<Vec<EventRow>, StoreError> {
        let (at, id) = page.after.unwrap_or((NEWEST, NEWEST));
        let head = [(&at).into_arg(), (&id).into_arg(), (&page.limit).into_arg()];
        let user = page.user_id.map_or(Arg::Null, Arg::Text);
        let kind = page.kind.map_or(Arg::Null, Arg::Text);
        let (sql, params): (&'static str, Vec<Arg<'_>>) = match (page.user_id, page.kind) {
            (None, None) => (sql::PAGE, head.to_vec()),
            (Some(_), None) => (sql::PAGE_OF_USER, [&head[..], &[user]].concat()),
            (None, Some(_)) => (sql::PAGE_OF_TYPE, [&head[..], &[Arg::Null, kind]].concat()),
            (Some(_), Some(_)) => (
                sql::PAGE_OF_USER_AND_TYPE,
                [&head[..], &[user, kind]].concat(),
            ),
        };
        all_rows(
            self,
            Statement {
                sql,
                params: &params,
            },
        )
        .await
    }

    async fn record_events(&self, user_id: &UserId, audit: &Audit) -> Result<(), StoreError> {
        let user = user_id.to_string();
        let events = event_args(audit, &[(&user).into_arg()]);
        self.batch(event_statements(sql::IF_USER, &events).collect())
            .await?;
        Ok(())
    }
}
