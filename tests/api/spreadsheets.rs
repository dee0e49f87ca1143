//! The enforcement and coordination reports as the spreadsheets offices open: the XLSX read
//! back by an independent reader, the CSV by a CSV reader, both compared cell by cell with the
//! JSON, on every backend.

use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx};
use lienganh::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::cases::{case, import};
use crate::console::{add_user, Browser, PASSWORD};
use crate::helpers::{backends, expect_problem, spawn, TestApp};
use crate::reports::{answer, instrument};
use crate::scenarios::common::{add_agency, Run};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What a cell of the JSON report should be in the files.
#[derive(Debug, Clone)]
enum Expect {
    Text(String),
    Date(String),
    /// A figure as the JSON writes it; none for an empty cell.
    Number(Option<String>),
}

fn text(v: &Value) -> Expect {
    Expect::Text(v.as_str().unwrap_or_default().to_owned())
}

fn number(v: &Value) -> Expect {
    Expect::Number(match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    })
}

/// A report asked for with `Accept: accept`: its status, media type, file name and bytes.
async fn download(app: &TestApp, token: &str, path: &str, accept: &str) -> (String, String, Vec<u8>) {
    let r = app.client.get(app.url(path)).bearer_auth(token).header("Accept", accept).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let header = |name: &str| r.headers()[name].to_str().unwrap().to_owned();
    let (media_type, disposition) = (header("content-type"), header("content-disposition"));
    (media_type, disposition, r.bytes().await.unwrap().to_vec())
}

/// The CSV read back: a UTF-8 byte-order mark first, then under `keys` the expected rows.
fn check_csv(bytes: &[u8], keys: &[&str], rows: &[Vec<Expect>]) {
    let text = std::str::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{FEFF}').expect("a UTF-8 byte-order mark");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), keys);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), rows.len());
    for (record, row) in records.iter().zip(rows) {
        for ((key, field), expected) in keys.iter().zip(record.iter()).zip(row) {
            let want = match expected {
                Expect::Text(s) | Expect::Date(s) | Expect::Number(Some(s)) => s.as_str(),
                Expect::Number(None) => "",
            };
            assert_eq!(field, want, "CSV column {key}");
        }
    }
}

/// The workbook read back by an independent reader: one worksheet named `sheet`, `titles` on
/// its first row, then the expected rows: figures as numbers equal to the JSON's, each
/// formatted as Vietnamese readers write it, dates as dates, names as text.
fn check_xlsx(bytes: Vec<u8>, sheet: &str, titles: &[&str], rows: &[Vec<Expect>]) {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an XLSX workbook");
    assert_eq!(book.sheet_names(), [sheet]);
    let range = book.worksheet_range(sheet).unwrap();
    let styles = book.worksheet_style(sheet).unwrap();
    assert_eq!(range.get_size(), (rows.len() + 1, titles.len()));
    let cell = |r: usize, c: usize| range.get_value((r as u32, c as u32)).cloned().unwrap_or(Data::Empty);
    let format = |r: usize, c: usize| {
        let style = styles.get((r as u32, c as u32)).unwrap_or_else(|| panic!("no style at {r},{c}"));
        style.number_format.as_ref().map(|f| f.format_code.clone()).unwrap_or_default()
    };
    for (c, title) in titles.iter().enumerate() {
        assert_eq!(cell(0, c), Data::String((*title).to_owned()), "title of column {c}");
    }
    for (r, row) in (1..).zip(rows) {
        for (c, expected) in row.iter().enumerate() {
            let at = format!("row {r}, column {}", titles[c]);
            match expected {
                Expect::Text(s) if s.is_empty() => assert_eq!(cell(r, c), Data::Empty, "{at}"),
                Expect::Text(s) => assert_eq!(cell(r, c), Data::String(s.clone()), "{at}"),
                Expect::Date(d) => {
                    assert!(matches!(cell(r, c), Data::DateTime(_)), "{at}: a date");
                    assert_eq!(
                        cell(r, c).as_date().map(|d| d.to_string()).as_deref(),
                        Some(d.as_str()),
                        "{at}"
                    );
                    assert_eq!(format(r, c), "dd/mm/yyyy", "{at}");
                }
                Expect::Number(None) => assert_eq!(cell(r, c), Data::Empty, "{at}"),
                Expect::Number(Some(s)) => {
                    let Data::Float(stored) = cell(r, c) else {
                        panic!("{at}: {:?} is not a number", cell(r, c))
                    };
                    assert_eq!(stored, s.parse::<f64>().unwrap(), "{at}");
                    // Whole numbers with thousands marks, others with two decimal places, in
                    // the Vietnamese locale: 1.026.755.382.000 and 97,23.
                    let whole = !s.contains('.') && titles[c].find("(%)").is_none();
                    let expected = if whole { "[$-42A]#,##0" } else { "[$-42A]#,##0.00" };
                    assert_eq!(format(r, c), expected, "{at}: {s}");
                }
            }
        }
    }
}

async fn agency_name(app: &TestApp, code: &str) -> String {
    let agency: Value =
        app.get(&format!("/api/v1/agencies/{code}"), &app.admin()).await.json().await.unwrap();
    agency["name"].as_str().unwrap().to_owned()
}

const ENFORCEMENT_KEYS: &[&str] = &[
    "agency",
    "agency_name",
    "parent",
    "from",
    "to",
    "cases_total",
    "cases_carried_over",
    "cases_new",
    "cases_enforceable",
    "cases_not_yet_enforceable",
    "cases_unclassified",
    "cases_completed",
    "cases_terminated",
    "cases_entrusted",
    "cases_rate",
    "cases_target",
    "cases_gap",
    "money_total",
    "money_carried_over",
    "money_new",
    "money_enforceable",
    "money_not_yet_enforceable",
    "money_unclassified",
    "money_completed",
    "money_rate",
    "money_target",
    "money_gap",
];

const ENFORCEMENT_TITLES: &[&str] = &[
    "Mã cơ quan",
    "Tên cơ quan",
    "Mã cơ quan cấp trên",
    "Từ ngày",
    "Đến ngày",
    "Tổng số việc thụ lý",
    "Số việc năm trước chuyển sang",
    "Số việc thụ lý mới",
    "Số việc có điều kiện thi hành",
    "Số việc chưa có điều kiện thi hành",
    "Số việc chưa phân loại",
    "Số việc thi hành xong",
    "Số việc đình chỉ",
    "Số việc ủy thác",
    "Tỷ lệ xong về việc (%)",
    "Chỉ tiêu về việc (%)",
    "Chênh lệch so với chỉ tiêu về việc (%)",
    "Tổng số tiền thụ lý (đồng)",
    "Số tiền năm trước chuyển sang (đồng)",
    "Số tiền thụ lý mới (đồng)",
    "Số tiền có điều kiện thi hành (đồng)",
    "Số tiền chưa có điều kiện thi hành (đồng)",
    "Số tiền chưa phân loại (đồng)",
    "Số tiền thi hành xong (đồng)",
    "Tỷ lệ xong về tiền (%)",
    "Chỉ tiêu về tiền (%)",
    "Chênh lệch so với chỉ tiêu về tiền (%)",
];

/// The rows the enforcement report's JSON gives: the scope, then each office.
async fn enforcement_rows(app: &TestApp, report: &Value) -> Vec<Vec<Expect>> {
    let mut lines = vec![(report["agency"].clone(), Value::Null, &report["cases"], &report["money"])];
    for o in report["offices"].as_array().into_iter().flatten() {
        lines.push((o["agency"].clone(), o["parent"].clone(), &o["cases"], &o["money"]));
    }
    let mut rows = Vec::new();
    for (agency, parent, cases, money) in lines {
        let code = agency.as_str().unwrap();
        let mut row = vec![text(&agency), Expect::Text(agency_name(app, code).await), text(&parent)];
        row.push(Expect::Date(report["from"].as_str().unwrap().to_owned()));
        row.push(Expect::Date(report["to"].as_str().unwrap().to_owned()));
        for key in &ENFORCEMENT_KEYS[5..] {
            let (section, field) = key.split_once('_').unwrap();
            let figures = if section == "cases" { cases } else { money };
            row.push(number(&figures[field]));
        }
        rows.push(row);
    }
    rows
}

/// The enforcement report of a province and its regional office as XLSX and CSV: every cell
/// the JSON's figure, names beside codes, Vietnamese titles, numbers stored as numbers.
#[tokio::test]
async fn the_enforcement_report_as_xlsx_and_csv_holds_the_json_figures() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_agency(
            &app,
            "THADS-LC-KV1",
            "enforcement",
            "Phòng Thi hành án dân sự khu vực 1 - Lào Cai",
            Some("THADS-LC"),
        )
        .await;
        let officer = app.token("cb-lc", "THADS-LC", &[Role::EnforcementOfficer]);
        let mut big = case("THADS-LC", "L1", "2024-11-02", "1026755382000");
        big["payments"] =
            json!([{"amount": "385296980000", "paid_on": "2025-09-30", "method": "asset_sale"}]);
        let mut small = case("THADS-LC", "L2", "2024-12-02", "10000000");
        small["payments"] = json!([{"amount": "10000000", "paid_on": "2025-03-20", "method": "transfer"}]);
        let mut half = case("THADS-LC-KV1", "K1", "2025-05-01", "7000000.50");
        half["payments"] = json!([{"amount": "7000000.50", "paid_on": "2025-09-01", "method": "cash"}]);
        let mut waiting = case("THADS-LC-KV1", "K2", "2025-06-01", "2500000");
        waiting["classification"] = json!("not_yet_enforceable");
        import(&app, &officer, vec![big, small, half, waiting]).await;
        let head = app.token("ld-lc", "THADS-LC", &[Role::EnforcementHead]);
        let target = json!({"cases_rate": "84", "money_rate": "45"});
        assert_eq!(app.put("/api/v1/targets/THADS-LC/2025", &head, &target).await.status(), StatusCode::OK);

        let path = "/api/v1/reports/enforcement?agency=THADS-LC&year=2025&offices=true";
        let report: Value = app.get(path, &officer).await.json().await.unwrap();
        assert_eq!(report["money"]["enforceable"], "1026772382000.5");
        let rows = enforcement_rows(&app, &report).await;
        assert_eq!(rows.len(), 3, "the province, then THADS-LC and THADS-LC-KV1: {report}");
        let name = "enforcement-THADS-LC-2024-10-01-2025-09-30";

        for (path, accept) in [(format!("{path}&format=xlsx"), "*/*"), (path.to_owned(), XLSX)] {
            let (media_type, disposition, bytes) = download(&app, &officer, &path, accept).await;
            assert_eq!(media_type, XLSX);
            assert_eq!(disposition, format!("attachment; filename=\"{name}.xlsx\""));
            check_xlsx(bytes, "Báo cáo thi hành án", ENFORCEMENT_TITLES, &rows);
        }
        let (media_type, disposition, bytes) =
            download(&app, &officer, &format!("{path}&format=csv"), "*/*").await;
        assert_eq!(media_type, "text/csv; charset=utf-8");
        assert_eq!(disposition, format!("attachment; filename=\"{name}.csv\""));
        check_csv(&bytes, ENFORCEMENT_KEYS, &rows);

        // The whole country, for those who supervise: its row is named so.
        let vks = app.token("vks-lc", "VKS-LC", &[Role::ProcuracyInspector]);
        let (_, disposition, bytes) =
            download(&app, &vks, "/api/v1/reports/enforcement?year=2025&format=xlsx", "*/*").await;
        assert_eq!(disposition, "attachment; filename=\"enforcement-all-2024-10-01-2025-09-30.xlsx\"");
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("Báo cáo thi hành án").unwrap();
        assert_eq!(range.get_value((1, 0)), Some(&Data::String("*".into())));
        assert_eq!(range.get_value((1, 1)), Some(&Data::String("Toàn quốc".into())));
        let country: Value =
            app.get("/api/v1/reports/enforcement?year=2025", &vks).await.json().await.unwrap();
        let completed = country["cases"]["completed"].as_f64().unwrap();
        assert_eq!(completed, 2.0, "{country}");
        assert_eq!(range.get_value((1, 11)), Some(&Data::Float(completed)), "cases completed in the country");

        // The console offers both files beside each other, the workbook as the API gives it.
        add_user(&app, "lanhdao.lc", "THADS-LC", &["enforcement_head"]);
        let mut browser = Browser::new(&app);
        assert_eq!(browser.sign_in("lanhdao.lc", PASSWORD).await.status, 303);
        let page = browser.get("/console/reports?agency=THADS-LC&year=2025").await;
        for report in ["enforcement", "coordination"] {
            for extension in ["csv", "xlsx"] {
                let link =
                    format!(r#"href="/console/reports/{report}.{extension}?agency=THADS-LC&amp;year=2025""#);
                assert!(page.body.contains(&link), "{link}");
            }
            let file =
                browser.get(&format!("/console/reports/{report}.xlsx?agency=THADS-LC&year=2025")).await;
            assert_eq!(file.status, 200);
            assert_eq!(file.headers["content-type"], XLSX);
            let disposition = file.headers["content-disposition"].to_str().unwrap();
            assert!(
                disposition.starts_with(&format!("attachment; filename=\"{report}-THADS-LC-")),
                "{disposition}"
            );
            assert!(disposition.ends_with(".xlsx\""), "{disposition}");
            assert!(file.body.starts_with("PK"), "a zip archive, as XLSX workbooks are");
        }

        let r = app
            .client
            .get(app.url("/api/v1/reports/enforcement?agency=THADS-LC"))
            .bearer_auth(&officer)
            .header("Accept", "application/vnd.oasis.opendocument.spreadsheet")
            .send()
            .await
            .unwrap();
        expect_problem(r, 406, "not_acceptable").await;
        let r = app.get("/api/v1/reports/enforcement?format=ods", &officer).await;
        expect_problem(r, 400, "malformed_request").await;
    }
}

const COORDINATION_KEYS: &[&str] = &[
    "kind",
    "from",
    "to",
    "workflow",
    "deadline_or_instrument",
    "responsible_agency",
    "responsible_agency_name",
    "on_time",
    "late",
    "open_now",
    "overdue_now",
    "median_seconds",
    "p90_seconds",
    "title",
];

const COORDINATION_TITLES: &[&str] = &[
    "Loại",
    "Từ ngày",
    "Đến ngày",
    "Quy trình",
    "Thời hạn hoặc văn bản",
    "Mã cơ quan chịu trách nhiệm",
    "Tên cơ quan chịu trách nhiệm",
    "Đúng hạn",
    "Trễ hạn",
    "Đang thực hiện hoặc chưa trả lời",
    "Đang quá hạn",
    "Thời gian trung vị (giây)",
    "Thời gian phân vị 90 (giây)",
    "Tên thời hạn",
];

/// The coordination report as XLSX and CSV: a row per step and responsible agency (its name
/// beside its code), then one per procuracy instrument, every cell the JSON's.
#[tokio::test]
async fn the_coordination_report_as_xlsx_and_csv_holds_the_json_figures() {
    for backend in backends() {
        let app = spawn(backend).await;
        let request = instrument(&app, "request", "1/YC", "2026-12-20").await;
        let mut on_time = Run::start(&app, &app.procuracy(), request, "issued").await;
        on_time.step(&app.head(), "answer", answer(&app).await, "answered").await;
        let request = instrument(&app, "request", "2/YC", "2026-11-20").await;
        let mut late = Run::start(&app, &app.procuracy(), request, "issued").await;
        late.step(&app.head(), "answer", answer(&app).await, "answered").await;
        let request = instrument(&app, "recommendation", "3/KN", "2026-11-20").await;
        Run::start(&app, &app.procuracy(), request, "issued").await;

        let path = "/api/v1/reports/coordination?agency=THADS-HN";
        let report: Value = app.get(path, &app.head()).await.json().await.unwrap();
        let (from, to) = (&report["from"], &report["to"]);
        let mut rows = Vec::new();
        for s in report["steps"].as_array().unwrap() {
            let code = s["responsible_agency"].as_str().unwrap();
            rows.push(vec![
                Expect::Text("step".into()),
                Expect::Date(from.as_str().unwrap().into()),
                Expect::Date(to.as_str().unwrap().into()),
                text(&s["workflow"]),
                text(&s["deadline"]),
                text(&s["responsible_agency"]),
                Expect::Text(agency_name(&app, code).await),
                number(&s["on_time"]),
                number(&s["late"]),
                number(&s["open_now"]),
                number(&s["overdue_now"]),
                number(&s["median_seconds"]),
                number(&s["p90_seconds"]),
                text(&s["title"]),
            ]);
        }
        let instruments = report["procuracy_instruments"].as_array().unwrap();
        for i in instruments {
            rows.push(vec![
                Expect::Text("instrument".into()),
                Expect::Date(from.as_str().unwrap().into()),
                Expect::Date(to.as_str().unwrap().into()),
                Expect::Text("procuracy_supervision".into()),
                text(&i["instrument"]),
                Expect::Text(String::new()),
                Expect::Text(String::new()),
                number(&i["answered_on_time"]),
                number(&i["answered_late"]),
                number(&i["unanswered"]),
                number(&i["unanswered_overdue"]),
                Expect::Number(None),
                Expect::Number(None),
                Expect::Text(String::new()),
            ]);
        }
        assert_eq!(instruments.len(), 2, "{report}");
        assert!(report["steps"].as_array().unwrap().len() >= 2, "{report}");
        let name = format!("coordination-THADS-HN-{}-{}", from.as_str().unwrap(), to.as_str().unwrap());

        for (path, accept) in [(format!("{path}&format=xlsx"), "*/*"), (path.to_owned(), XLSX)] {
            let (media_type, disposition, bytes) = download(&app, &app.head(), &path, accept).await;
            assert_eq!(media_type, XLSX);
            assert_eq!(disposition, format!("attachment; filename=\"{name}.xlsx\""));
            check_xlsx(bytes, "Báo cáo phối hợp", COORDINATION_TITLES, &rows);
        }
        for (path, accept) in [(format!("{path}&format=csv"), "*/*"), (path.to_owned(), "text/csv")] {
            let (media_type, disposition, bytes) = download(&app, &app.head(), &path, accept).await;
            assert_eq!(media_type, "text/csv; charset=utf-8");
            assert_eq!(disposition, format!("attachment; filename=\"{name}.csv\""));
            check_csv(&bytes, COORDINATION_KEYS, &rows);
        }
    }
}
