//! Cases, their hash-chained history, their payments, the record of who was shown their
//! personal data, and the targets of the offices.

use diesel::prelude::*;

use super::schema::{
    case_events, cases, instance_agencies, instances, payments, personal_data_reads, targets,
};
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: String,
    pub agency_code: String,
    pub number: String,
    pub judgment_ref: String,
    pub court_code: Option<String>,
    pub court_name: String,
    pub category: String,
    /// JSON of the obligor (personal data).
    pub obligor: String,
    /// JSON of the obligee (personal data).
    pub obligee: String,
    pub amount_due: String,
    pub collected: String,
    pub received_on: String,
    pub classification: String,
    pub status: String,
    pub closed_on: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_hash: String,
}

/// What a change of a case writes back, if the case is still at `expected_version`.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true)]
pub struct CaseChange {
    pub amount_due: String,
    pub collected: String,
    pub classification: String,
    pub status: String,
    pub closed_on: Option<String>,
    pub version: i64,
    pub updated_at: i64,
    pub last_hash: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_events)]
pub struct CaseEventRow {
    pub case_id: String,
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_sub: String,
    pub actor_name: String,
    pub actor_agency: String,
    pub actor_role: String,
    pub kind: String,
    /// JSON object: what the event records.
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payments)]
pub struct PaymentRow {
    pub id: String,
    pub case_id: String,
    pub agency_code: String,
    pub case_seq: i64,
    pub amount: String,
    pub paid_on: String,
    pub method: String,
    pub reverses: Option<String>,
    pub instance_id: Option<String>,
    pub instance_seq: Option<i64>,
    pub note: Option<String>,
    pub recorded_at: i64,
    pub recorded_by: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = targets)]
pub struct TargetRow {
    pub agency_code: String,
    pub year: i32,
    pub cases_rate: String,
    pub money_rate: String,
    pub set_by: String,
    pub set_at: i64,
}

pub fn insert(conn: &mut DbConn, row: &CaseRow) -> QueryResult<()> {
    diesel::insert_into(cases::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<CaseRow>> {
    at_most_one(cases::table.find(id).select(CaseRow::as_select()).load(conn))
}

/// Writes a change if the case is still at `expected_version`; false if it moved on.
pub fn change(conn: &mut DbConn, id: &str, expected_version: i64, change: &CaseChange) -> QueryResult<bool> {
    let n = diesel::update(cases::table.filter(cases::id.eq(id)).filter(cases::version.eq(expected_version)))
        .set(change)
        .execute(conn)?;
    Ok(n == 1)
}

/// Whether `agency` is a party to an instance of the case.
pub fn agency_takes_part(conn: &mut DbConn, case_id: &str, agency: &str) -> QueryResult<bool> {
    let linked = instances::table.filter(instances::case_id.eq(case_id)).select(instances::id);
    diesel::select(diesel::dsl::exists(
        instance_agencies::table
            .filter(instance_agencies::agency_code.eq(agency))
            .filter(instance_agencies::instance_id.eq_any(linked)),
    ))
    .get_result(conn)
}

/// What a list of cases may be narrowed by.
#[derive(Debug, Default)]
pub struct ListFilter {
    /// The offices whose cases are listed (all when `None`).
    pub agencies: Option<Vec<String>>,
    pub status: Option<String>,
    pub classification: Option<String>,
    /// Only those received on or after / on or before (ISO dates).
    pub received_from: Option<String>,
    pub received_to: Option<String>,
    /// Keyset: the id of the last case of the previous page.
    pub after: Option<String>,
    pub limit: i64,
}

/// A page of cases ordered by id (ids are time-ordered UUIDs, so oldest first).
pub fn list(conn: &mut DbConn, f: &ListFilter) -> QueryResult<Vec<CaseRow>> {
    let mut q = cases::table.select(CaseRow::as_select()).into_boxed();
    if let Some(agencies) = &f.agencies {
        q = q.filter(cases::agency_code.eq_any(agencies.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(cases::status.eq(s.clone()));
    }
    if let Some(c) = &f.classification {
        q = q.filter(cases::classification.eq(c.clone()));
    }
    if let Some(d) = &f.received_from {
        q = q.filter(cases::received_on.ge(d.clone()));
    }
    if let Some(d) = &f.received_to {
        q = q.filter(cases::received_on.le(d.clone()));
    }
    if let Some(after) = &f.after {
        q = q.filter(cases::id.gt(after.clone()));
    }
    q.order(cases::id.asc()).limit(f.limit).load(conn)
}

pub fn insert_event(conn: &mut DbConn, row: &CaseEventRow) -> QueryResult<()> {
    diesel::insert_into(case_events::table).values(row).execute(conn).map(|_| ())
}

pub fn events(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<CaseEventRow>> {
    case_events::table
        .filter(case_events::case_id.eq(case_id))
        .order(case_events::seq.asc())
        .select(CaseEventRow::as_select())
        .load(conn)
}

pub fn insert_payment(conn: &mut DbConn, row: &PaymentRow) -> QueryResult<()> {
    diesel::insert_into(payments::table).values(row).execute(conn).map(|_| ())
}

pub fn payments_of(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<PaymentRow>> {
    payments::table
        .filter(payments::case_id.eq(case_id))
        .order((payments::case_seq.asc(), payments::id.asc()))
        .select(PaymentRow::as_select())
        .load(conn)
}

pub fn upsert_target(conn: &mut DbConn, row: &TargetRow) -> QueryResult<()> {
    let existing = at_most_one(
        targets::table.find((&row.agency_code, row.year)).select(TargetRow::as_select()).load(conn),
    )?;
    match existing {
        Some(_) => diesel::update(targets::table.find((&row.agency_code, row.year)))
            .set((
                targets::cases_rate.eq(&row.cases_rate),
                targets::money_rate.eq(&row.money_rate),
                targets::set_by.eq(&row.set_by),
                targets::set_at.eq(row.set_at),
            ))
            .execute(conn)
            .map(|_| ()),
        None => diesel::insert_into(targets::table).values(row).execute(conn).map(|_| ()),
    }
}

pub fn targets_of(conn: &mut DbConn, agencies: &[String], year: i32) -> QueryResult<Vec<TargetRow>> {
    targets::table
        .filter(targets::agency_code.eq_any(agencies))
        .filter(targets::year.eq(year))
        .select(TargetRow::as_select())
        .load(conn)
}

/// One showing of a case's personal data to someone beyond its office and court.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = personal_data_reads)]
pub struct PersonalDataReadRow {
    pub id: String,
    pub case_id: String,
    pub read_at: i64,
    pub reader_sub: String,
    pub reader_name: String,
    pub reader_agency: String,
    /// Comma-separated.
    pub reader_roles: String,
    pub route: String,
}

pub fn insert_read(conn: &mut DbConn, row: &PersonalDataReadRow) -> QueryResult<()> {
    diesel::insert_into(personal_data_reads::table).values(row).execute(conn).map(|_| ())
}

/// A page of a case's reads, oldest first (ids are time-ordered UUIDs), after the id `after`.
pub fn reads_of(
    conn: &mut DbConn,
    case_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<PersonalDataReadRow>> {
    let mut q = personal_data_reads::table
        .filter(personal_data_reads::case_id.eq(case_id))
        .select(PersonalDataReadRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(personal_data_reads::id.gt(after.to_owned()));
    }
    q.order(personal_data_reads::id.asc()).limit(limit).load(conn)
}
