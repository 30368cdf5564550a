//! Fakes of what SQLite cannot be, for the native tests: a database that fails on demand and
//! a read replica that lags ([`Faulty`], over a real one), and the breaker's KV
//! ([`MemoryBreaker`]).

use std::cell::{Cell, RefCell};
use std::ops::Deref;

use super::exec::{Outcome, Sql, Statement};
use super::{BreakerStore, Read, StoreError};
use crate::limits::breaker::BreakerState;

/// A database `E` with injected faults: while `fail` is set every call fails as an unreachable
/// database does; `calls` counts the calls (D1 round trips); `session_reads` records where each
/// read that may go to a replica asked to read, since one SQLite copy answers them all; while
/// `replica_lags` is set, a read of the nearest copy finds nothing, as a replica that has not
/// caught up. The rest is `E`'s (through `Deref`).
#[derive(Default)]
pub struct Faulty<E> {
    pub db: E,
    pub fail: Cell<bool>,
    pub calls: Cell<u32>,
    pub session_reads: RefCell<Vec<Read>>,
    pub replica_lags: Cell<bool>,
}

impl<E> Faulty<E> {
    pub fn new(db: E) -> Self {
        Self {
            db,
            fail: Cell::new(false),
            calls: Cell::new(0),
            session_reads: RefCell::new(Vec::new()),
            replica_lags: Cell::new(false),
        }
    }

    fn enter(&self) -> Result<(), StoreError> {
        self.calls.set(self.calls.get() + 1);
        if self.fail.get() {
            Err(StoreError::Unavailable("injected failure".into()))
        } else {
            Ok(())
        }
    }
}

impl<E> Deref for Faulty<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.db
    }
}

impl<E: Sql> Sql for Faulty<E> {
    type Row = E::Row;

    async fn all(&self, stmt: Statement<'_>) -> Result<Outcome<E::Row>, StoreError> {
        self.enter()?;
        self.db.all(stmt).await
    }

    async fn first(&self, stmt: Statement<'_>) -> Result<Option<E::Row>, StoreError> {
        self.enter()?;
        self.db.first(stmt).await
    }

    async fn batch(&self, stmts: Vec<Statement<'_>>) -> Result<Vec<Outcome<E::Row>>, StoreError> {
        self.enter()?;
        self.db.batch(stmts).await
    }

    async fn read(&self, stmt: Statement<'_>, read: Read) -> Result<Outcome<E::Row>, StoreError> {
        self.enter()?;
        self.session_reads.borrow_mut().push(read);
        if read == Read::Nearest && self.replica_lags.get() {
            return Ok(Outcome::default());
        }
        self.db.read(stmt, read).await
    }
}

/// In-memory breaker state for tests. `fail` makes KV calls fail.
#[derive(Default)]
pub struct MemoryBreaker {
    pub state: RefCell<Option<BreakerState>>,
    pub fail: Cell<bool>,
}

impl BreakerStore for MemoryBreaker {
    async fn load(&self) -> Result<Option<BreakerState>, StoreError> {
        if self.fail.get() {
            return Err(StoreError::Unavailable("kv down".into()));
        }
        Ok(*self.state.borrow())
    }

    async fn save(&self, state: &BreakerState) -> Result<(), StoreError> {
        if self.fail.get() {
            return Err(StoreError::Unavailable("kv down".into()));
        }
        *self.state.borrow_mut() = Some(*state);
        Ok(())
    }
}
