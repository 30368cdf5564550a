//! Recording audit events from a request: a handler names the events of its change, and the
//! store writes them in the change's own batch (`crate::store::events`).

use super::Call;
use crate::store::events::{Audit, EventKind, Origin};

impl<B> Call<'_, B> {
    /// The events `kinds`, from this request, for the store call that makes the change.
    pub(super) fn audit(&self, kinds: &[EventKind]) -> Audit {
        Audit {
            origin: self.origin(),
            kinds: kinds.to_vec(),
        }
    }

    /// This request, as the origin of an event.
    pub(super) fn origin(&self) -> Origin {
        Origin::of(self.req, self.ctx)
    }
}
