//! The inbox: notifications per agency, for everyone there or for some roles.

use diesel::prelude::*;

use super::fixed::{insert_rows, Bind, Sink};
use super::schema::notifications;
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: String,
    pub agency_code: String,
    /// `,role,role,` of the roles it is for; empty for everyone of the agency.
    pub roles: String,
    pub kind: String,
    pub instance_id: Option<String>,
    pub deadline_id: Option<String>,
    /// The reminder it delivers: unique, so a reminder fills an inbox once.
    pub reminder_id: Option<String>,
    pub subject: String,
    /// JSON: what the notification is about.
    pub payload: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
    pub read_by: Option<String>,
}

/// Inserts notifications, all in one statement.
pub fn insert_all(to: &mut impl Sink, rows: &[NotificationRow]) -> QueryResult<()> {
    let binds: Vec<Bind<'_>> = rows
        .iter()
        .flat_map(|row| {
            [
                (&row.id).into(),
                (&row.agency_code).into(),
                (&row.roles).into(),
                (&row.kind).into(),
                (&row.instance_id).into(),
                (&row.deadline_id).into(),
                (&row.reminder_id).into(),
                (&row.subject).into(),
                (&row.payload).into(),
                row.created_at.into(),
                row.read_at.into(),
                (&row.read_by).into(),
            ]
        })
        .collect();
    insert_rows(
        to,
        "INSERT INTO notifications (id, agency_code, roles, kind, instance_id, deadline_id, \
         reminder_id, subject, payload, created_at, read_at, read_by)",
        12,
        &binds,
    )
}

/// The `roles` column for a set of roles.
pub fn roles_column(roles: &[&str]) -> String {
    if roles.is_empty() {
        String::new()
    } else {
        format!(",{},", roles.join(","))
    }
}

/// A page of an agency's inbox for someone with these roles, newest first.
pub fn inbox(
    conn: &mut DbConn,
    agency: &str,
    roles: &[&str],
    unread_only: bool,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    let mut query = notifications::table
        .filter(notifications::agency_code.eq(agency.to_owned()))
        .select(NotificationRow::as_select())
        .into_boxed();
    let mut for_me = Box::new(notifications::roles.eq(""))
        as Box<dyn BoxableExpression<notifications::table, _, SqlType = diesel::sql_types::Bool>>;
    for role in roles {
        for_me = Box::new(for_me.or(notifications::roles.like(format!("%,{role},%"))));
    }
    query = query.filter(for_me);
    if unread_only {
        query = query.filter(notifications::read_at.is_null());
    }
    if let Some(before) = before {
        query = query.filter(notifications::id.lt(before.to_owned()));
    }
    query.order(notifications::id.desc()).limit(limit).load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<NotificationRow>> {
    at_most_one(notifications::table.find(id).select(NotificationRow::as_select()).load(conn))
}

/// Marks a notification read, once: the first reader is kept.
pub fn mark_read(conn: &mut DbConn, id: &str, by: &str, at: i64) -> QueryResult<()> {
    diesel::update(notifications::table.find(id).filter(notifications::read_at.is_null()))
        .set((notifications::read_at.eq(at), notifications::read_by.eq(by)))
        .execute(conn)
        .map(|_| ())
}

/// Every notification about an instance, oldest first.
pub fn of_instance(conn: &mut DbConn, instance_id: &str) -> QueryResult<Vec<NotificationRow>> {
    notifications::table
        .filter(notifications::instance_id.eq(instance_id))
        .order(notifications::id.asc())
        .select(NotificationRow::as_select())
        .load(conn)
}
