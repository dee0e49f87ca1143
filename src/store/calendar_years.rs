//! Holiday years added or replaced through the API.

use diesel::prelude::*;

use super::schema::calendar_years;
use super::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = calendar_years)]
pub struct CalendarYearRow {
    pub year: i32,
    /// JSON of the year's calendar.
    pub data: String,
    pub updated_at: i64,
    pub updated_by: String,
}

pub fn all(conn: &mut DbConn) -> QueryResult<Vec<CalendarYearRow>> {
    calendar_years::table.order(calendar_years::year.asc()).select(CalendarYearRow::as_select()).load(conn)
}

/// Adds or replaces a year (portable: update, then insert if there was none).
pub fn put(conn: &mut DbConn, row: &CalendarYearRow) -> QueryResult<()> {
    let updated = diesel::update(calendar_years::table.find(row.year)).set(row).execute(conn)?;
    if updated == 0 {
        diesel::insert_into(calendar_years::table).values(row).execute(conn)?;
    }
    Ok(())
}
