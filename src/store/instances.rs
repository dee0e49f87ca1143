//! Instances as stored, and who may see them.

use diesel::prelude::*;

use super::fixed::{in_list, insert_rows, Bind, Fixed, Sink};
use super::schema::{deadlines, instance_agencies, instances, pending_tasks};
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = instances)]
pub struct InstanceRow {
    pub id: String,
    pub workflow_id: String,
    pub workflow_version: i32,
    pub state: String,
    pub version: i64,
    /// JSON object: party slot to agency code.
    pub parties: String,
    /// JSON object: the data accumulated by the steps.
    pub data: String,
    pub case_id: Option<String>,
    pub reference_date: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_hash: String,
    /// JSON object: joint steps under way, transition to signatures.
    pub pending: String,
    pub started_by_instance: Option<String>,
    pub started_by_seq: Option<i64>,
    /// When it reached a terminal state; none while it runs.
    pub closed_at: Option<i64>,
}

/// Inserts an instance and the agencies that may see it.
pub fn insert(to: &mut impl Sink, row: &InstanceRow, agencies: &[&str]) -> QueryResult<()> {
    to.write(
        "INSERT INTO instances (id, workflow_id, workflow_version, state, version, parties, data, \
         case_id, reference_date, created_at, updated_at, last_hash, pending, started_by_instance, \
         started_by_seq, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            (&row.id).into(),
            (&row.workflow_id).into(),
            row.workflow_version.into(),
            (&row.state).into(),
            row.version.into(),
            (&row.parties).into(),
            (&row.data).into(),
            (&row.case_id).into(),
            (&row.reference_date).into(),
            row.created_at.into(),
            row.updated_at.into(),
            (&row.last_hash).into(),
            (&row.pending).into(),
            (&row.started_by_instance).into(),
            row.started_by_seq.into(),
            row.closed_at.into(),
        ],
    )?;
    let open = row.closed_at.is_none();
    let binds: Vec<Bind<'_>> =
        agencies.iter().flat_map(|agency| [(*agency).into(), (&row.id).into(), open.into()]).collect();
    insert_rows(to, "INSERT INTO instance_agencies (agency_code, instance_id, open)", 3, &binds)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<InstanceRow>> {
    at_most_one(native!(conn, |c| instances::table.find(id).select(InstanceRow::as_select()).load(c)))
}

/// A page of every instance, oldest first (ids are time-ordered), after the id `after`.
pub fn page_after(conn: &mut DbConn, after: Option<&str>, limit: i64) -> QueryResult<Vec<InstanceRow>> {
    let mut query = instances::table
        .select(InstanceRow::as_select())
        .order(instances::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(instances::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// The agencies that may see an instance, by code.
pub fn access_of(conn: &mut DbConn, id: &str) -> QueryResult<Vec<String>> {
    instance_agencies::table
        .filter(instance_agencies::instance_id.eq(id))
        .select(instance_agencies::agency_code)
        .order(instance_agencies::agency_code.asc())
        .load(conn)
}

/// What a link to another instance shows.
#[derive(Debug, Clone, Queryable)]
pub struct LinkRow {
    pub id: String,
    pub workflow_id: String,
    pub state: String,
    pub started_by_seq: Option<i64>,
}

/// The instances `id` started, oldest first.
pub fn follow_ups(conn: &mut DbConn, id: &str) -> QueryResult<Vec<LinkRow>> {
    native!(conn, |c| instances::table
        .filter(instances::started_by_instance.eq(id))
        .select((instances::id, instances::workflow_id, instances::state, instances::started_by_seq))
        .order(instances::id.asc())
        .load(c))
}

/// The instances `id`'s steps started, each with whether it is settled at `at`: ended, or
/// with a deadline open past its due time, or one closed as missed.
pub fn started_settled(conn: &mut DbConn, id: &str, at: i64) -> QueryResult<Vec<(String, String, bool)>> {
    use super::schema::deadlines;
    let rows: Vec<(String, String, Option<i64>)> = instances::table
        .filter(instances::started_by_instance.eq(id))
        .select((instances::id, instances::workflow_id, instances::closed_at))
        .order(instances::id.asc())
        .load(conn)?;
    let open: Vec<&str> = rows.iter().filter(|r| r.2.is_none()).map(|r| r.0.as_str()).collect();
    let late: Vec<String> = if open.is_empty() {
        Vec::new()
    } else {
        deadlines::table
            .filter(deadlines::instance_id.eq_any(&open))
            .filter(
                deadlines::status
                    .eq(super::deadlines::OPEN)
                    .and(deadlines::due_at.lt(at))
                    .or(deadlines::status.eq(super::deadlines::MISSED)),
            )
            .select(deadlines::instance_id)
            .distinct()
            .load(conn)?
    };
    Ok(rows
        .into_iter()
        .map(|(i, w, closed)| {
            let settled = closed.is_some() || late.contains(&i);
            (i, w, settled)
        })
        .collect())
}

/// Which of `ids` `agency` may see. Looked up by the few ids, never by the agency, whose
/// instances may be counted in hundreds of thousands.
pub fn visible_among(conn: &mut DbConn, agency: &str, ids: &[&str]) -> QueryResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    instance_agencies::table
        .filter(instance_agencies::agency_code.eq(agency))
        .filter(instance_agencies::instance_id.eq_any(ids))
        .select(instance_agencies::instance_id)
        .load(conn)
}

/// The new state of an instance after a step.
pub struct Advance<'a> {
    pub id: &'a str,
    pub expected_version: i64,
    pub state: &'a str,
    pub data: &'a str,
    pub updated_at: i64,
    pub last_hash: &'a str,
    pub pending: &'a str,
    /// Whether the step ends it (its new state is terminal).
    pub closes: bool,
}

/// Moves an instance on if it is still at `expected_version`; false if someone else moved it.
/// A step that ends it must then close it for every agency that sees it ([`close_access`]).
pub fn advance(conn: &mut DbConn, a: &Advance<'_>) -> QueryResult<bool> {
    let closed_at = a.closes.then_some(a.updated_at);
    let changed = Fixed::new(
        "UPDATE instances SET state = ?, version = ?, data = ?, updated_at = ?, last_hash = ?, \
         pending = ?, closed_at = ? WHERE id = ? AND version = ?",
        &[
            a.state.into(),
            (a.expected_version + 1).into(),
            a.data.into(),
            a.updated_at.into(),
            a.last_hash.into(),
            a.pending.into(),
            closed_at.into(),
            a.id.into(),
            a.expected_version.into(),
        ],
    )
    .run(conn)?;
    Ok(changed == 1)
}

/// Records that an instance continues under another version of its workflow.
pub fn move_to_version(to: &mut impl Sink, id: &str, version: i32) -> QueryResult<()> {
    to.write("UPDATE instances SET workflow_version = ? WHERE id = ?", &[version.into(), id.into()])
}

/// Records the agencies a step bound to an instance's slots: its parties as they are now, and
/// the new agencies' access to it (open: an instance that closes is closed for them after).
pub fn bind(to: &mut impl Sink, id: &str, parties: &str, agencies: &[&str]) -> QueryResult<()> {
    to.write("UPDATE instances SET parties = ? WHERE id = ?", &[parties.into(), id.into()])?;
    let binds: Vec<Bind<'_>> =
        agencies.iter().flat_map(|agency| [(*agency).into(), id.into(), true.into()]).collect();
    insert_rows(to, "INSERT INTO instance_agencies (agency_code, instance_id, open)", 3, &binds)
}

/// Closes an ended instance for the agencies that see it.
pub fn close_access(to: &mut impl Sink, id: &str, agencies: &[&str]) -> QueryResult<()> {
    if agencies.is_empty() {
        return Ok(());
    }
    // By the full key, in one statement: the access rows are keyed by agency first.
    let sql = format!(
        "UPDATE instance_agencies SET open = ? WHERE instance_id = ? AND agency_code{}",
        in_list(agencies.len())
    );
    let mut binds: Vec<Bind<'_>> = vec![false.into(), id.into()];
    binds.extend(agencies.iter().map(|agency| Bind::from(*agency)));
    to.write(&sql, &binds)
}

/// Closes the instances of `workflow` version `version` in `state`, a terminal state, that
/// are not closed yet; how many.
pub fn close_in_state(conn: &mut DbConn, workflow: &str, version: i32, state: &str) -> QueryResult<usize> {
    diesel::update(
        instances::table
            .filter(instances::workflow_id.eq(workflow))
            .filter(instances::workflow_version.eq(version))
            .filter(instances::state.eq(state))
            .filter(instances::closed_at.is_null()),
    )
    .set(instances::closed_at.eq(instances::updated_at.nullable()))
    .execute(conn)
}

/// Closes for every agency the instances that are closed, in one pass over the access rows.
pub fn close_access_of_closed(conn: &mut DbConn) -> QueryResult<usize> {
    let closed = instances::table.filter(instances::closed_at.is_not_null()).select(instances::id);
    diesel::update(
        instance_agencies::table
            .filter(instance_agencies::open.eq(true))
            .filter(instance_agencies::instance_id.eq_any(closed)),
    )
    .set(instance_agencies::open.eq(false))
    .execute(conn)
}

/// Takes a task a migration left to the service: true if it was pending. In the caller's
/// transaction, so that a task is gone exactly when its work is done.
pub fn take_pending_task(conn: &mut DbConn, name: &str) -> QueryResult<bool> {
    diesel::delete(pending_tasks::table.find(name)).execute(conn).map(|n| n == 1)
}

/// What to list.
#[derive(Debug, Default)]
pub struct ListFilter {
    /// Only instances this agency is a party to (the caller's own, unless they read all).
    pub visible_to: Option<String>,
    /// Only instances this agency is a party to (a filter the caller chose).
    pub party: Option<String>,
    pub workflow: Option<String>,
    pub state: Option<String>,
    /// Only ids before this one (ids are time-ordered, newest first).
    pub before: Option<String>,
    /// Only instances with an open deadline due before this instant.
    pub overdue_at: Option<i64>,
    /// Only running instances (true) or only ended ones (false).
    pub open: Option<bool>,
    pub limit: i64,
}

/// Applies the filters every listing shares to a boxed query over `instances`.
macro_rules! common_filters {
    ($query:expr, $f:expr) => {{
        let mut query = $query;
        if let Some(w) = &$f.workflow {
            query = query.filter(instances::workflow_id.eq(w.clone()));
        }
        if let Some(s) = &$f.state {
            query = query.filter(instances::state.eq(s.clone()));
        }
        if let Some(before) = &$f.before {
            query = query.filter(instances::id.lt(before.clone()));
        }
        if let Some(at) = $f.overdue_at {
            let overdue = deadlines::table
                .filter(deadlines::status.eq(super::deadlines::OPEN))
                .filter(deadlines::due_at.lt(at))
                .select(deadlines::instance_id);
            query = query.filter(instances::id.eq_any(overdue));
        }
        query.limit($f.limit)
    }};
}

/// A page of instances, newest first.
pub fn list(conn: &mut DbConn, f: &ListFilter) -> QueryResult<Vec<InstanceRow>> {
    // With an agency to go by, walk that agency's access index, so a page costs its own rows.
    let Some(agency) = f.visible_to.as_ref().or(f.party.as_ref()) else {
        let mut query =
            instances::table.select(InstanceRow::as_select()).order(instances::id.desc()).into_boxed();
        match f.open {
            Some(true) => query = query.filter(instances::closed_at.is_null()),
            Some(false) => query = query.filter(instances::closed_at.is_not_null()),
            None => {}
        }
        return common_filters!(query, f).load(conn);
    };
    let mut query = instances::table
        .inner_join(instance_agencies::table)
        .filter(instance_agencies::agency_code.eq(agency.clone()))
        .select(InstanceRow::as_select())
        .order(instance_agencies::instance_id.desc())
        .into_boxed();
    if let Some(open) = f.open {
        // With the agency, the access index's second column: a page costs its own rows.
        query = query.filter(instance_agencies::open.eq(open));
    }
    if let (Some(party), Some(_)) = (&f.party, &f.visible_to) {
        let other = diesel::alias!(instance_agencies as party_access);
        let of_party = other
            .filter(other.field(instance_agencies::agency_code).eq(party.clone()))
            .select(other.field(instance_agencies::instance_id));
        query = query.filter(instances::id.eq_any(of_party));
    }
    common_filters!(query, f).load(conn)
}
