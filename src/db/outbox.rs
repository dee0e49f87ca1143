//! Effects decided by the engine, written in the step's transaction, delivered after commit.

use diesel::prelude::*;

use super::schema::outbox;
use super::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub instance_id: String,
    pub event_seq: i64,
    pub kind: String,
    /// JSON of the action.
    pub payload: String,
    pub created_at: i64,
    pub processed_at: Option<i64>,
}

pub fn insert_all(conn: &mut DbConn, rows: &[OutboxRow]) -> QueryResult<()> {
    // Row by row: multi-row VALUES is not portable through MultiConnection.
    for row in rows {
        diesel::insert_into(outbox::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// The effects recorded for one instance, in the order they were decided.
pub fn of_instance(conn: &mut DbConn, instance_id: &str) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::instance_id.eq(instance_id))
        .order((outbox::event_seq.asc(), outbox::id.asc()))
        .select(OutboxRow::as_select())
        .load(conn)
}
