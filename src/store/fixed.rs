//! Statements of fixed text: prepared once per connection, then only bound and run.
//!
//! Diesel prepares every UPDATE anew, and every INSERT whose row has optional columns, since
//! their text may vary with the values. On a step's path that is most of what it writes, and
//! on SQLite the parsing took a fifth of the writer's time. A [`Fixed`] statement binds every
//! column, NULL or not, so its text never varies and the connection's statement cache keeps it.

use std::borrow::Cow;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::Error;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Integer, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

use super::DbConn;

/// A value bound to one `?` of a [`Fixed`] statement: borrowed from the row it writes, or
/// owned by [`Writes`] until its statement is sent.
#[derive(Debug, Clone)]
pub enum Bind<'a> {
    Text(Cow<'a, str>),
    OptText(Option<Cow<'a, str>>),
    BigInt(i64),
    OptBigInt(Option<i64>),
    Integer(i32),
    OptInteger(Option<i32>),
    Bool(bool),
}

impl Bind<'_> {
    /// The same value, owning its text (not `ToOwned::to_owned`, which keeps the borrow).
    fn owned(&self) -> Bind<'static> {
        match self {
            Bind::Text(v) => Bind::Text(Cow::Owned(String::from(v.as_ref()))),
            Bind::OptText(v) => Bind::OptText(v.as_deref().map(|v| Cow::Owned(v.to_owned()))),
            Bind::BigInt(v) => Bind::BigInt(*v),
            Bind::OptBigInt(v) => Bind::OptBigInt(*v),
            Bind::Integer(v) => Bind::Integer(*v),
            Bind::OptInteger(v) => Bind::OptInteger(*v),
            Bind::Bool(v) => Bind::Bool(*v),
        }
    }
}

impl<'a> From<&'a str> for Bind<'a> {
    fn from(v: &'a str) -> Self {
        Bind::Text(Cow::Borrowed(v))
    }
}

impl<'a> From<&'a String> for Bind<'a> {
    fn from(v: &'a String) -> Self {
        Bind::Text(Cow::Borrowed(v))
    }
}

impl<'a> From<Option<&'a str>> for Bind<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Bind::OptText(v.map(Cow::Borrowed))
    }
}

impl<'a> From<&'a Option<String>> for Bind<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Bind::OptText(v.as_deref().map(Cow::Borrowed))
    }
}

impl From<i64> for Bind<'_> {
    fn from(v: i64) -> Self {
        Bind::BigInt(v)
    }
}

impl From<Option<i64>> for Bind<'_> {
    fn from(v: Option<i64>) -> Self {
        Bind::OptBigInt(v)
    }
}

impl From<i32> for Bind<'_> {
    fn from(v: i32) -> Self {
        Bind::Integer(v)
    }
}

impl From<Option<i32>> for Bind<'_> {
    fn from(v: Option<i32>) -> Self {
        Bind::OptInteger(v)
    }
}

impl From<bool> for Bind<'_> {
    fn from(v: bool) -> Self {
        Bind::Bool(v)
    }
}

/// SQL with a `?` for each value, written once for both backends (PostgreSQL gets `$1`...).
#[derive(Debug, Clone, Copy)]
pub struct Fixed<'a> {
    sql: &'a str,
    binds: &'a [Bind<'a>],
}

impl<'a> Fixed<'a> {
    pub fn new(sql: &'a str, binds: &'a [Bind<'a>]) -> Self {
        Self { sql, binds }
    }

    /// Runs it; the number of rows it changed.
    pub fn run(self, conn: &mut DbConn) -> QueryResult<usize> {
        native!(conn, |c| self.execute(c))
    }
}

/// Where writes go: straight to a connection, or into [`Writes`] to go with others.
pub trait Sink {
    /// Runs, or queues, one statement of fixed text.
    fn write(&mut self, sql: &str, binds: &[Bind<'_>]) -> QueryResult<()>;

    /// Sends what is queued, before a write that changes rows a queued one wrote.
    fn barrier(&mut self) -> QueryResult<()> {
        Ok(())
    }
}

impl Sink for DbConn {
    fn write(&mut self, sql: &str, binds: &[Bind<'_>]) -> QueryResult<()> {
        Fixed::new(sql, binds).run(self).map(|_| ())
    }
}

/// The most values one statement of [`Writes`] carries, below PostgreSQL's 65,535.
const VALUES_PER_STATEMENT: usize = 30_000;

/// The writes of one step, sent together. On PostgreSQL, where every statement is a round
/// trip, they are queued and sent as one statement when [`Writes::finish`] is called, each but
/// the last a data-modifying `WITH` of it. They run with one snapshot: none sees another's rows
/// (a foreign key is checked at the end of the statement, so it may), and of two that change
/// the same row only one would. A write that changes rows a queued one wrote is preceded by a
/// [`Sink::barrier`]. On SQLite, in process, each runs at once.
///
/// Each combination is a text of its own, prepared once per connection and kept: there are
/// few, as a step writes each table with one statement whose text depends only on its count of
/// rows.
///
/// It holds the connection: nothing can read through it while writes are queued, so no read
/// can miss one.
#[must_use = "queued writes are sent by `finish`"]
pub struct Writes<'c> {
    conn: &'c mut DbConn,
    statements: Vec<String>,
    values: Vec<Bind<'static>>,
}

impl<'c> Writes<'c> {
    pub fn new(conn: &'c mut DbConn) -> Self {
        Self { conn, statements: Vec::new(), values: Vec::new() }
    }

    /// Sends what is queued.
    pub fn finish(mut self) -> QueryResult<()> {
        self.flush()
    }

    fn flush(&mut self) -> QueryResult<()> {
        let Some((last, withs)) = self.statements.split_last() else { return Ok(()) };
        let sql = if withs.is_empty() {
            last.clone()
        } else {
            let withs: Vec<String> =
                withs.iter().enumerate().map(|(i, statement)| format!("w{i} AS ({statement})")).collect();
            format!("WITH {} {last}", withs.join(", "))
        };
        Fixed::new(&sql, &self.values).run(self.conn)?;
        self.statements.clear();
        self.values.clear();
        Ok(())
    }
}

impl Sink for Writes<'_> {
    fn barrier(&mut self) -> QueryResult<()> {
        self.flush()
    }

    fn write(&mut self, sql: &str, binds: &[Bind<'_>]) -> QueryResult<()> {
        if !matches!(self.conn, DbConn::Pg(_)) {
            return self.conn.write(sql, binds);
        }
        // Checked here, not only once the statements are joined: there two mismatches could
        // cancel out and shift values from one statement into another.
        if sql.matches('?').count() != binds.len() {
            return Err(mismatch(sql));
        }
        if self.values.len() + binds.len() > VALUES_PER_STATEMENT {
            self.flush()?;
        }
        self.statements.push(sql.to_owned());
        self.values.extend(binds.iter().map(Bind::owned));
        Ok(())
    }
}

/// The most rows one [`insert_rows`] statement carries: far below the bound values either
/// backend takes (SQLite 32,766, PostgreSQL 65,535) for any table here.
const ROWS_PER_STATEMENT: usize = 100;

/// Inserts rows in one statement rather than one each: on PostgreSQL every statement is a
/// round trip. `head` is `INSERT INTO t (a, b, c)`, `binds` the values row after row,
/// `columns` of them to a row. The text depends only on the number of rows, so each count is
/// prepared once per connection.
pub fn insert_rows(to: &mut impl Sink, head: &str, columns: usize, binds: &[Bind<'_>]) -> QueryResult<()> {
    if columns == 0 || !binds.len().is_multiple_of(columns) {
        return Err(mismatch(head));
    }
    for chunk in binds.chunks(columns * ROWS_PER_STATEMENT) {
        let row = format!("({})", vec!["?"; columns].join(", "));
        let sql = format!("{head} VALUES {}", vec![row; chunk.len() / columns].join(", "));
        to.write(&sql, chunk)?;
    }
    Ok(())
}

/// ` IN (?, ?, ...)` for `n` values.
pub fn in_list(n: usize) -> String {
    format!(" IN ({})", vec!["?"; n].join(", "))
}

impl<DB> QueryFragment<DB> for Fixed<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Integer> + HasSqlType<Bool>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    bool: ToSql<Bool, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut pieces = self.sql.split('?');
        out.push_sql(pieces.next().unwrap_or_default());
        let mut binds = self.binds.iter();
        for piece in pieces {
            let bind = binds.next().ok_or_else(|| mismatch(self.sql))?;
            match bind {
                Bind::Text(v) => out.push_bind_param::<Text, str>(v)?,
                Bind::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                Bind::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                Bind::OptBigInt(v) => out.push_bind_param::<Nullable<BigInt>, _>(v)?,
                Bind::Integer(v) => out.push_bind_param::<Integer, _>(v)?,
                Bind::OptInteger(v) => out.push_bind_param::<Nullable<Integer>, _>(v)?,
                Bind::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
            }
            out.push_sql(piece);
        }
        if binds.next().is_some() {
            return Err(mismatch(self.sql));
        }
        Ok(())
    }
}

fn mismatch(sql: &str) -> Error {
    Error::QueryBuilderError(format!("the values do not match the placeholders of: {sql}").into())
}

impl QueryId for Fixed<'_> {
    type QueryId = ();
    // Cached by its text, which never changes.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Conn> RunQueryDsl<Conn> for Fixed<'_> {}
