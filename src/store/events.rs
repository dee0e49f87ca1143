//! The append-only event log.

use diesel::prelude::*;

use super::fixed::Sink;
use super::schema::events;
use super::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub instance_id: String,
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_sub: String,
    pub actor_name: String,
    pub actor_agency: String,
    pub actor_role: String,
    pub transition: String,
    pub from_state: Option<String>,
    pub to_state: String,
    /// JSON object: the data given with the step.
    pub data: String,
    pub comment: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

pub fn insert(to: &mut impl Sink, row: &EventRow) -> QueryResult<()> {
    to.write(
        "INSERT INTO events (instance_id, seq, occurred_at, actor_sub, actor_name, actor_agency, \
         actor_role, transition, from_state, to_state, data, comment, prev_hash, hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            (&row.instance_id).into(),
            row.seq.into(),
            row.occurred_at.into(),
            (&row.actor_sub).into(),
            (&row.actor_name).into(),
            (&row.actor_agency).into(),
            (&row.actor_role).into(),
            (&row.transition).into(),
            (&row.from_state).into(),
            (&row.to_state).into(),
            (&row.data).into(),
            (&row.comment).into(),
            (&row.prev_hash).into(),
            (&row.hash).into(),
        ],
    )
}

/// The events of an instance up to `last_seq`, oldest first.
pub fn of_instance(conn: &mut DbConn, instance_id: &str, last_seq: i64) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::instance_id.eq(instance_id))
        .filter(events::seq.le(last_seq))
        .order(events::seq.asc())
        .select(EventRow::as_select())
        .load(conn)
}
