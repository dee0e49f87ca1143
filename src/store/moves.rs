//! Runs that move the running instances of one version of a workflow to another, and the
//! instances they walk.

use diesel::prelude::*;

use super::schema::{instance_migrations, instances};
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = instance_migrations)]
pub struct MoveRow {
    pub id: String,
    pub workflow_id: String,
    pub from_version: i32,
    pub to_version: i32,
    /// The state mapping, a JSON object.
    pub states: String,
    pub actor_sub: String,
    pub actor_name: String,
    pub actor_agency: String,
    pub started_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    /// The last instance a batch went through: the next batch starts after it.
    pub last_instance: Option<String>,
    pub moved: i64,
    pub refused: i64,
}

pub fn insert(conn: &mut DbConn, row: &MoveRow) -> QueryResult<()> {
    diesel::insert_into(instance_migrations::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<MoveRow>> {
    at_most_one(native!(conn, |c| instance_migrations::table.find(id).select(MoveRow::as_select()).load(c)))
}

/// Records a batch: the last instance it went through, how many moved and how many could not,
/// and the end of the run when nothing is left.
pub fn progress(
    conn: &mut DbConn,
    id: &str,
    last_instance: Option<&str>,
    (moved, refused): (i64, i64),
    at: i64,
    finished: bool,
) -> QueryResult<()> {
    diesel::update(instance_migrations::table.find(id))
        .set((
            instance_migrations::last_instance.eq(last_instance),
            instance_migrations::moved.eq(instance_migrations::moved + moved),
            instance_migrations::refused.eq(instance_migrations::refused + refused),
            instance_migrations::updated_at.eq(at),
            instance_migrations::finished_at.eq(finished.then_some(at)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The runs of a workflow not finished yet.
pub fn unfinished(conn: &mut DbConn, workflow: &str) -> QueryResult<Vec<MoveRow>> {
    native!(conn, |c| instance_migrations::table
        .filter(instance_migrations::workflow_id.eq(workflow))
        .filter(instance_migrations::finished_at.is_null())
        .select(MoveRow::as_select())
        .load(c))
}

/// The ids of the next `limit` running instances of a version, after `after`, in id order.
pub fn running_of_version(
    conn: &mut DbConn,
    workflow: &str,
    version: i32,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<String>> {
    native!(conn, |c| {
        let mut query = instances::table
            .filter(instances::workflow_id.eq(workflow))
            .filter(instances::workflow_version.eq(version))
            .filter(instances::closed_at.is_null())
            .select(instances::id)
            .order(instances::id.asc())
            .limit(limit)
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(instances::id.gt(after.to_owned()));
        }
        query.load(c)
    })
}
