//! The reports as tables for the spreadsheets offices keep: one description of each report's
//! columns (a key for the CSV's header, a Vietnamese title for the workbook's, what the cell
//! holds), written as CSV by [`super::export`] and as XLSX by [`super::xlsx`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::error::ApiResult;
use crate::service::agencies;
use crate::store::DbConn;

/// What a cell holds, which decides how the CSV writes it and how the workbook stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Date(NaiveDate),
    Count(i64),
    /// An amount in VND.
    Money(Decimal),
    /// A rate or a gap in percent, written with its two places.
    Rate(Decimal),
    /// A target in percent, written as it was set.
    Target(Decimal),
    Empty,
}

impl Cell {
    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    fn rate(v: Option<Decimal>) -> Cell {
        v.map_or(Cell::Empty, Cell::Rate)
    }

    fn target(v: Option<Decimal>) -> Cell {
        v.map_or(Cell::Empty, Cell::Target)
    }

    fn count(v: Option<i64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Count)
    }
}

/// A column of a report's table: its key (the CSV's header), its Vietnamese title (the
/// workbook's header) and what it holds for a row.
pub struct Column<R> {
    pub key: &'static str,
    pub title: &'static str,
    pub value: fn(&R) -> Cell,
}

/// A report as rows of cells under its columns' keys and titles.
#[derive(Debug, Clone)]
pub struct Table {
    /// The worksheet's name in the workbook.
    pub sheet: &'static str,
    pub keys: Vec<&'static str>,
    pub titles: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    fn of<R>(sheet: &'static str, columns: &[Column<R>], rows: &[R]) -> Table {
        Table {
            sheet,
            keys: columns.iter().map(|c| c.key).collect(),
            titles: columns.iter().map(|c| c.title).collect(),
            rows: rows.iter().map(|r| columns.iter().map(|c| (c.value)(r)).collect()).collect(),
        }
    }
}

/// The agency code the enforcement table gives the whole country, and its name.
const COUNTRY: (&str, &str) = ("*", "Toàn quốc");

/// A row of the enforcement report: the scope, or one office of it.
struct Office {
    agency: String,
    name: String,
    parent: String,
    from: NaiveDate,
    to: NaiveDate,
    cases: CaseFigures,
    money: MoneyFigures,
}

const ENFORCEMENT: &[Column<Office>] = &[
    Column { key: "agency", title: "Mã cơ quan", value: |o| Cell::text(&o.agency) },
    Column { key: "agency_name", title: "Tên cơ quan", value: |o| Cell::text(&o.name) },
    Column { key: "parent", title: "Mã cơ quan cấp trên", value: |o| Cell::text(&o.parent) },
    Column { key: "from", title: "Từ ngày", value: |o| Cell::Date(o.from) },
    Column { key: "to", title: "Đến ngày", value: |o| Cell::Date(o.to) },
    Column {
        key: "cases_total", title: "Tổng số việc thụ lý", value: |o| Cell::Count(o.cases.total)
    },
    Column {
        key: "cases_carried_over",
        title: "Số việc năm trước chuyển sang",
        value: |o| Cell::Count(o.cases.carried_over),
    },
    Column { key: "cases_new", title: "Số việc thụ lý mới", value: |o| Cell::Count(o.cases.new) },
    Column {
        key: "cases_enforceable",
        title: "Số việc có điều kiện thi hành",
        value: |o| Cell::Count(o.cases.enforceable),
    },
    Column {
        key: "cases_not_yet_enforceable",
        title: "Số việc chưa có điều kiện thi hành",
        value: |o| Cell::Count(o.cases.not_yet_enforceable),
    },
    Column {
        key: "cases_unclassified",
        title: "Số việc chưa phân loại",
        value: |o| Cell::Count(o.cases.unclassified),
    },
    Column {
        key: "cases_completed",
        title: "Số việc thi hành xong",
        value: |o| Cell::Count(o.cases.completed),
    },
    Column {
        key: "cases_terminated", title: "Số việc đình chỉ", value: |o| Cell::Count(o.cases.terminated)
    },
    Column {
        key: "cases_entrusted", title: "Số việc ủy thác", value: |o| Cell::Count(o.cases.entrusted)
    },
    Column {
        key: "cases_rate", title: "Tỷ lệ xong về việc (%)", value: |o| Cell::rate(o.cases.rate)
    },
    Column {
        key: "cases_target", title: "Chỉ tiêu về việc (%)", value: |o| Cell::target(o.cases.target)
    },
    Column {
        key: "cases_gap",
        title: "Chênh lệch so với chỉ tiêu về việc (%)",
        value: |o| Cell::rate(o.cases.gap),
    },
    Column {
        key: "money_total", title: "Tổng số tiền thụ lý (đồng)", value: |o| Cell::Money(o.money.total)
    },
    Column {
        key: "money_carried_over",
        title: "Số tiền năm trước chuyển sang (đồng)",
        value: |o| Cell::Money(o.money.carried_over),
    },
    Column {
        key: "money_new", title: "Số tiền thụ lý mới (đồng)", value: |o| Cell::Money(o.money.new)
    },
    Column {
        key: "money_enforceable",
        title: "Số tiền có điều kiện thi hành (đồng)",
        value: |o| Cell::Money(o.money.enforceable),
    },
    Column {
        key: "money_not_yet_enforceable",
        title: "Số tiền chưa có điều kiện thi hành (đồng)",
        value: |o| Cell::Money(o.money.not_yet_enforceable),
    },
    Column {
        key: "money_unclassified",
        title: "Số tiền chưa phân loại (đồng)",
        value: |o| Cell::Money(o.money.unclassified),
    },
    Column {
        key: "money_completed",
        title: "Số tiền thi hành xong (đồng)",
        value: |o| Cell::Money(o.money.completed),
    },
    Column {
        key: "money_rate", title: "Tỷ lệ xong về tiền (%)", value: |o| Cell::rate(o.money.rate)
    },
    Column {
        key: "money_target", title: "Chỉ tiêu về tiền (%)", value: |o| Cell::target(o.money.target)
    },
    Column {
        key: "money_gap",
        title: "Chênh lệch so với chỉ tiêu về tiền (%)",
        value: |o| Cell::rate(o.money.gap),
    },
];

/// A row of the coordination report: a step and its responsible agency, or a procuracy
/// instrument.
struct Coordination {
    kind: &'static str,
    from: NaiveDate,
    to: NaiveDate,
    workflow: String,
    item: String,
    responsible: String,
    responsible_name: String,
    on_time: i64,
    late: i64,
    open_now: i64,
    overdue_now: i64,
    median_seconds: Option<i64>,
    p90_seconds: Option<i64>,
    title: String,
}

const COORDINATION: &[Column<Coordination>] = &[
    Column { key: "kind", title: "Loại", value: |r| Cell::text(r.kind) },
    Column { key: "from", title: "Từ ngày", value: |r| Cell::Date(r.from) },
    Column { key: "to", title: "Đến ngày", value: |r| Cell::Date(r.to) },
    Column { key: "workflow", title: "Quy trình", value: |r| Cell::text(&r.workflow) },
    Column {
        key: "deadline_or_instrument", title: "Thời hạn hoặc văn bản", value: |r| Cell::text(&r.item)
    },
    Column {
        key: "responsible_agency",
        title: "Mã cơ quan chịu trách nhiệm",
        value: |r| Cell::text(&r.responsible),
    },
    Column {
        key: "responsible_agency_name",
        title: "Tên cơ quan chịu trách nhiệm",
        value: |r| Cell::text(&r.responsible_name),
    },
    Column { key: "on_time", title: "Đúng hạn", value: |r| Cell::Count(r.on_time) },
    Column { key: "late", title: "Trễ hạn", value: |r| Cell::Count(r.late) },
    Column {
        key: "open_now", title: "Đang thực hiện hoặc chưa trả lời", value: |r| Cell::Count(r.open_now)
    },
    Column { key: "overdue_now", title: "Đang quá hạn", value: |r| Cell::Count(r.overdue_now) },
    Column {
        key: "median_seconds",
        title: "Thời gian trung vị (giây)",
        value: |r| Cell::count(r.median_seconds),
    },
    Column {
        key: "p90_seconds",
        title: "Thời gian phân vị 90 (giây)",
        value: |r| Cell::count(r.p90_seconds),
    },
    Column { key: "title", title: "Tên thời hạn", value: |r| Cell::text(&r.title) },
];

/// The names of the agencies `codes` name, by code.
fn names<'a>(conn: &mut DbConn, codes: impl Iterator<Item = &'a str>) -> ApiResult<BTreeMap<String, String>> {
    agencies::names(conn, &codes.collect::<Vec<_>>())
}

/// The enforcement report as a table: the whole scope first, then each office when they were
/// asked for, each with its name beside its code.
pub fn enforcement_table(conn: &mut DbConn, report: &EnforcementReport) -> ApiResult<Table> {
    let offices = report.offices.iter().flatten();
    let names =
        names(conn, report.agency.as_deref().into_iter().chain(offices.clone().map(|o| o.agency.as_str())))?;
    let name = |code: &str| names.get(code).cloned().unwrap_or_default();
    let line =
        |(agency, name): (&str, String), parent: &str, cases: &CaseFigures, money: &MoneyFigures| Office {
            agency: agency.to_owned(),
            name,
            parent: parent.to_owned(),
            from: report.from,
            to: report.to,
            cases: cases.clone(),
            money: money.clone(),
        };
    let scope = match report.agency.as_deref() {
        Some(a) => (a, name(a)),
        None => (COUNTRY.0, COUNTRY.1.to_owned()),
    };
    let mut rows = vec![line(scope, "", &report.cases, &report.money)];
    for o in offices {
        let parent = o.parent.as_deref().unwrap_or("");
        rows.push(line((&o.agency, name(&o.agency)), parent, &o.cases, &o.money));
    }
    Ok(Table::of("Báo cáo thi hành án", ENFORCEMENT, &rows))
}

/// The coordination report as a table: a row per step and responsible agency, then a row per
/// procuracy instrument.
pub fn coordination_table(conn: &mut DbConn, report: &CoordinationReport) -> ApiResult<Table> {
    let names = names(conn, report.steps.iter().map(|s| s.responsible_agency.as_str()))?;
    let (from, to) = (report.from, report.to);
    let steps = report.steps.iter().map(|s| Coordination {
        kind: "step",
        from,
        to,
        workflow: s.workflow.clone(),
        item: s.deadline.clone(),
        responsible: s.responsible_agency.clone(),
        responsible_name: names.get(&s.responsible_agency).cloned().unwrap_or_default(),
        on_time: s.on_time,
        late: s.late,
        open_now: s.open_now,
        overdue_now: s.overdue_now,
        median_seconds: s.median_seconds,
        p90_seconds: s.p90_seconds,
        title: s.title.clone(),
    });
    let instruments = report.procuracy_instruments.iter().map(|i| Coordination {
        kind: "instrument",
        from,
        to,
        workflow: i.workflow.clone(),
        item: i.instrument.clone(),
        responsible: String::new(),
        responsible_name: String::new(),
        on_time: i.answered_on_time,
        late: i.answered_late,
        open_now: i.unanswered,
        overdue_now: i.unanswered_overdue,
        median_seconds: None,
        p90_seconds: None,
        title: String::new(),
    });
    let rows: Vec<Coordination> = steps.chain(instruments).collect();
    Ok(Table::of("Báo cáo phối hợp", COORDINATION, &rows))
}
