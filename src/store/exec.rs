//! What the stores ask of a database: statements of [`crate::store::sql`]'s text with their arguments
//! ([`Statement`], built by `query!`), run one at a time or as one atomic batch ([`Sql`]), and
//! rows read column by column by name ([`Columns`], [`FromRow`]). D1 (`platform::d1`, the Worker)
//! and SQLite (`sqlite`, the native tests) both run them, so both run the same SQL the same way.
//!
//! Numbers are D1's: an argument is bound as a double (a JS number, which holds every timestamp
//! and count exactly) and a numeric column reads as one.

use super::{Read, StoreError, UserRow};

/// A value read from one column of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Number(f64),
    Text(String),
}

/// A value bound to one `?` of a statement: text (borrowed from the caller until the
/// statement has run), a number, or `NULL`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    Null,
    Number(f64),
    Text(&'a str),
}

/// A statement of [`crate::store::sql`] and its arguments, in the order of its `?N`s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statement<'a> {
    pub sql: &'static str,
    pub params: &'a [Arg<'a>],
}

/// What may be bound: text (borrowed for `'a`), a number, or `NULL` for `None`.
pub trait IntoArg<'a> {
    fn into_arg(self) -> Arg<'a>;
}

impl<'a> IntoArg<'a> for &'a str {
    fn into_arg(self) -> Arg<'a> {
        Arg::Text(self)
    }
}

impl<'a> IntoArg<'a> for &'a String {
    fn into_arg(self) -> Arg<'a> {
        Arg::Text(self)
    }
}

impl<'a> IntoArg<'a> for &i64 {
    fn into_arg(self) -> Arg<'a> {
        Arg::Number(*self as f64)
    }
}

impl<'a> IntoArg<'a> for &i32 {
    fn into_arg(self) -> Arg<'a> {
        Arg::Number(f64::from(*self))
    }
}

impl<'a> IntoArg<'a> for &u32 {
    fn into_arg(self) -> Arg<'a> {
        Arg::Number(f64::from(*self))
    }
}

impl<'a, T> IntoArg<'a> for &'a Option<T>
where
    &'a T: IntoArg<'a>,
{
    fn into_arg(self) -> Arg<'a> {
        self.as_ref().map_or(Arg::Null, IntoArg::into_arg)
    }
}

/// `query!(sql, args…)`: the [`Statement`] with its arguments, each an [`IntoArg`].
macro_rules! query {
    ($sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::store::exec::Statement {
            sql: $sql,
            params: &[$($crate::store::exec::IntoArg::into_arg($arg)),*],
        }
    };
}
pub(crate) use query;

/// A database that runs statements: one D1 round trip per call. Its rows are its own
/// ([`Columns`]), so that D1's are read in place, one property lookup per column.
#[allow(async_fn_in_trait)]
pub trait Sql {
    type Row: Columns;
    /// Runs a statement; its rows and how many rows it changed.
    async fn all(&self, stmt: Statement<'_>) -> Result<Outcome<Self::Row>, StoreError>;
    /// Runs a statement; its first row, if any (the only one that comes back).
    async fn first(&self, stmt: Statement<'_>) -> Result<Option<Self::Row>, StoreError>;
    /// Runs statements in order as one transaction (all or nothing, and no other write in
    /// between, as a D1 batch); their outcomes in order.
    async fn batch(&self, stmts: Vec<Statement<'_>>)
        -> Result<Vec<Outcome<Self::Row>>, StoreError>;
    /// A read of one statement, from the primary or from the nearest copy (`read`): a D1 read
    /// replica, which may lag behind the primary.
    async fn read(&self, stmt: Statement<'_>, read: Read)
        -> Result<Outcome<Self::Row>, StoreError>;
}

/// One statement's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<R> {
    pub rows: Vec<R>,
    /// How many rows it changed (0 when the database does not say).
    pub changes: u32,
}

impl<R> Default for Outcome<R> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            changes: 0,
        }
    }
}

impl<R: Columns> Outcome<R> {
    /// Its rows, each read as a `T`.
    pub fn read<T: FromRow>(&self) -> Result<Vec<T>, StoreError> {
        self.rows.iter().map(T::from_row).collect()
    }

    /// Its first row, read as two views of its columns (a session's own and its user's).
    pub fn pair<A: FromRow, B: FromRow>(&self) -> Result<Option<(A, B)>, StoreError> {
        self.rows
            .first()
            .map(|row| Ok((A::from_row(row)?, B::from_row(row)?)))
            .transpose()
    }
}

fn wrong(name: &str, expected: &str) -> StoreError {
    StoreError::Corrupt(format!("column {name}: expected {expected}"))
}

/// A row, read by column name. TEXT columns are text, INTEGER and REAL columns numbers.
pub trait Columns {
    /// The column `name`; `None` when the row has no such column.
    fn column(&self, name: &str) -> Option<Value>;

    /// A TEXT column that is never NULL.
    fn text(&self, name: &str) -> Result<String, StoreError> {
        match self.column(name) {
            Some(Value::Text(s)) => Ok(s),
            _ => Err(wrong(name, "text")),
        }
    }

    /// A TEXT column that may be NULL.
    fn optional_text(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.column(name) {
            Some(Value::Null) => Ok(None),
            Some(Value::Text(s)) => Ok(Some(s)),
            _ => Err(wrong(name, "text or NULL")),
        }
    }

    /// A numeric column that is never NULL.
    fn number(&self, name: &str) -> Result<f64, StoreError> {
        match self.column(name) {
            Some(Value::Number(n)) => Ok(n),
            _ => Err(wrong(name, "a number")),
        }
    }

    /// A numeric column that may be NULL.
    fn optional_number(&self, name: &str) -> Result<Option<f64>, StoreError> {
        match self.column(name) {
            Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(Some(n)),
            _ => Err(wrong(name, "a number or NULL")),
        }
    }

    /// A numeric column a query may leave out: 0 when absent.
    fn number_or_zero(&self, name: &str) -> Result<f64, StoreError> {
        match self.column(name) {
            None => Ok(0.0),
            Some(Value::Number(n)) => Ok(n),
            _ => Err(wrong(name, "a number")),
        }
    }
}

/// A row as a list of named values (SQLite's, natively).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(pub Vec<(String, Value)>);

impl Columns for Row {
    fn column(&self, name: &str) -> Option<Value> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// A row type read from a row: a column it needs that is missing or of the wrong type is
/// [`StoreError::Corrupt`], never a panic.
pub trait FromRow: Sized {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError>;
}

pub(crate) struct IdRow {
    pub id: String,
}

impl FromRow for IdRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(IdRow {
            id: row.text("id")?,
        })
    }
}

impl FromRow for UserRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(UserRow {
            id: row.text("id")?,
            email: row.text("email")?,
            password_hash: row.text("password_hash")?,
            password_version: row.number_or_zero("password_version")?,
            created_at: row.text("created_at")?,
            email_verified: row.number_or_zero("email_verified")?,
        })
    }
}

/// Runs a statement and reads its first row, if any.
pub(crate) async fn first_row<T: FromRow>(
    db: &impl Sql,
    stmt: Statement<'_>,
) -> Result<Option<T>, StoreError> {
    db.first(stmt).await?.as_ref().map(T::from_row).transpose()
}

/// Runs a statement and reads every row.
pub(crate) async fn all_rows<T: FromRow>(
    db: &impl Sql,
    stmt: Statement<'_>,
) -> Result<Vec<T>, StoreError> {
    db.all(stmt).await?.read()
}

/// Runs a statement and returns how many rows it changed.
pub(crate) async fn changes(db: &impl Sql, stmt: Statement<'_>) -> Result<u32, StoreError> {
    Ok(db.all(stmt).await?.changes)
}

/// The `i`th result of a batch.
pub(crate) fn result_of<R>(results: &[Outcome<R>], i: usize) -> Result<&Outcome<R>, StoreError> {
    results
        .get(i)
        .ok_or_else(|| StoreError::Unavailable("batch returned too few results".to_owned()))
}

/// The rows of the `i`th result of a batch.
pub(crate) fn rows_of<T: FromRow>(
    results: &[Outcome<impl Columns>],
    i: usize,
) -> Result<Vec<T>, StoreError> {
    result_of(results, i)?.read()
}

/// The ids that statement `ids` of a batch returned, if statement `written` (the one every
/// other statement's condition mirrors) returned a row; `None` when it wrote nothing.
pub(crate) fn ids_if_written<R: Columns>(
    results: &[Outcome<R>],
    written: usize,
    ids: usize,
) -> Result<Option<Vec<String>>, StoreError> {
    if rows_of::<IdRow>(results, written)?.is_empty() {
        return Ok(None);
    }
    let rows = rows_of::<IdRow>(results, ids)?;
    Ok(Some(rows.into_iter().map(|r| r.id).collect()))
}
