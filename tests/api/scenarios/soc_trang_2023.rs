//! Sóc Trăng's published 2023 (reporting year 1 October 2022 to 30 September 2023) as a
//! seed: 16,109 cases received, 10,289 completed of the 12,411 enforceable, 82.90% against
//! a target of 82.80%; about 2,491 billion VND received, 640.5 billion collected of the 1,250
//! billion enforceable, 51.24% against a target of 45.80%. The cases go in through the API in
//! batches with their payments; 180 billion of the money arrives through three auctions,
//! each walked as an asset_seizure_auction whose payout is a payment on its case. The
//! enforcement report then comes out at the published rates.
//!
//! The auctions run under the only definition of asset_seizure_auction there is (Law
//! 106/2025), with the 2023 dates in their data; the split of the money between cases is this
//! scenario's, made to add up to the published totals.

use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::common::{add_agency, Run};
use crate::helpers::{backends, spawn, TestApp};

const OFFICE: &str = "THADS-ST";
const PROCURACY: &str = "VKS-ST";
const COURT: &str = "TAND-ST";
const AUCTIONEER: &str = "DGTS-ST";
const BILLION: i64 = 1_000_000_000;

/// One case of the year: its number, classification, amount due, when it was received and
/// what was paid on it directly (an amount and a day).
struct Seed {
    number: String,
    class: &'static str,
    due: i64,
    received: chrono::NaiveDate,
    paid: Option<(i64, chrono::NaiveDate)>,
}

/// The year's cases: 10,289 enforceable paid in full (300 billion), 2,122 enforceable still
/// open (950 billion, 160.5 billion of it paid directly; three of them of 80 billion each are
/// left for the auctions), 3,698 not yet enforceable (1,241 billion).
fn seeds() -> Vec<Seed> {
    let start = chrono::NaiveDate::from_ymd_opt(2022, 10, 1).unwrap();
    let day = |i: usize| start + chrono::Days::new((i % 300) as u64);
    let later = |i: usize| day(i) + chrono::Days::new(30);
    let mut out = Vec::with_capacity(16_109);
    let mut push = |class, due, paid: Option<i64>| {
        let i = out.len();
        out.push(Seed {
            number: format!("{}/2023/THA-ST", i + 1),
            class,
            due,
            received: day(i),
            paid: paid.map(|a| (a, later(i))),
        });
    };
    // Completed: 10,289 cases, 300,000,000,000 in all, each paid in full.
    let rest = 300 * BILLION - 10_288 * 29_000_000;
    push("enforceable", rest, Some(rest));
    for _ in 1..10_289 {
        push("enforceable", 29_000_000, Some(29_000_000));
    }
    // Open: three for the auctions, and 2,119 more with 710,000,000,000 due, 1,070 of them
    // paid 150,000,000 each.
    for _ in 0..3 {
        push("enforceable", 80 * BILLION, None);
    }
    for k in 0..2_119 {
        let due = if k == 2_118 { 710 * BILLION - 2_118 * 335_000_000 } else { 335_000_000 };
        push("enforceable", due, (k < 1_070).then_some(150_000_000));
    }
    // Not yet enforceable: 3,698 cases, 1,241,000,000,000 due.
    for k in 0..3_698 {
        let due = if k == 3_697 { 1_241 * BILLION - 3_697 * 335_000_000 } else { 335_000_000 };
        push("not_yet_enforceable", due, None);
    }
    out
}

fn case_json(s: &Seed) -> Value {
    let mut case = json!({
        "agency": OFFICE,
        "number": s.number,
        "judgment_ref": format!("Bản án số {}/DS-ST của Tòa án nhân dân tỉnh Sóc Trăng", s.number),
        "court": COURT,
        "court_name": "Tòa án nhân dân tỉnh Sóc Trăng",
        "category": "civil",
        "obligor": {"name": "Lý Văn Sơn", "id_number": "094080001234", "address": "Phường 1, thành phố Sóc Trăng"},
        "obligee": {"name": "Ngân hàng Nông nghiệp và Phát triển Nông thôn - Chi nhánh Sóc Trăng"},
        "amount_due": s.due.to_string(),
        "received_on": s.received.to_string(),
        "classification": s.class,
    });
    if let Some((amount, on)) = s.paid {
        case["payments"] =
            json!([{"amount": amount.to_string(), "paid_on": on.to_string(), "method": "transfer"}]);
    }
    case
}

/// Sells the asset seized on `case_id` at auction and pays the obligee `payout` from it.
async fn auction(app: &TestApp, officer: &str, case_id: &str, n: usize, payout: i64) {
    let request = json!({
        "workflow": "asset_seizure_auction",
        "case_id": case_id,
        "parties": {"enforcement": OFFICE, "procuracy": PROCURACY},
        "data": {"decision_number": format!("{}/QĐ-CCTHADS", 40 + n), "decision_date": "2023-03-01",
                 "asset_kind": "movable", "location": "Kho tang vật, thành phố Sóc Trăng", "needs_force": false}
    });
    let mut run = Run::start(app, officer, request, "decided").await;
    let seized = app
        .with_pdf(
            officer,
            "seizure_record",
            json!({"seized_on": "2023-03-10", "assets": [{"description": format!("Lô máy móc chế biến thủy sản số {n}"),
                   "quantity": "1", "unit": "lô", "declared_value": (payout + 5 * BILLION).to_string()}]}),
        )
        .await;
    run.step(officer, "record_seizure", seized, "seized").await;
    let price = json!({"price": payout.to_string(), "valued_on": "2023-03-20"});
    run.step(officer, "agree_price", price, "valued").await;
    let contract = json!({"auction_organisation": AUCTIONEER, "auction_contract_number": format!("{n}/2023/HĐDV-ĐG"),
                          "auction_contracted_on": "2023-04-03", "starting_price": payout.to_string()});
    run.step(officer, "contract_auction", contract, "auction_contracted").await;
    let auctioneer = app.token("dg-st", AUCTIONEER, &[lienganh::domain::Role::AuctionLiaison]);
    let sale = app
        .with_pdf(
            &auctioneer,
            "auction_record",
            json!({"auctioned_on": "2023-05-15", "sale_price": payout.to_string(), "money_received_on": "2023-05-18"}),
        )
        .await;
    run.step(&auctioneer, "record_sale", sale, "sold").await;
    run.step(
        officer,
        "pay_out",
        json!({"amount_paid": payout.to_string(), "paid_on": "2023-05-25"}),
        "paid_out",
    )
    .await;
}

#[tokio::test]
async fn the_report_comes_out_at_the_published_rates() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_agency(&app, OFFICE, "enforcement", "Cục Thi hành án dân sự tỉnh Sóc Trăng", None).await;
        add_agency(&app, PROCURACY, "procuracy", "Viện kiểm sát nhân dân tỉnh Sóc Trăng", None).await;
        add_agency(&app, COURT, "court", "Tòa án nhân dân tỉnh Sóc Trăng", None).await;
        add_agency(
            &app,
            AUCTIONEER,
            "auction_organisation",
            "Trung tâm Dịch vụ đấu giá tài sản tỉnh Sóc Trăng",
            None,
        )
        .await;
        let officer = app.token("chv-st", OFFICE, &[lienganh::domain::Role::EnforcementOfficer]);
        let head = app.token("tt-st", OFFICE, &[lienganh::domain::Role::EnforcementHead]);

        let seeds = seeds();
        assert_eq!(seeds.len(), 16_109);
        let mut ids = Vec::with_capacity(seeds.len());
        // Batches of 500: a thousand cases of this size are over the default limit of a body.
        for batch in seeds.chunks(500) {
            let body = json!({"cases": batch.iter().map(case_json).collect::<Vec<_>>()});
            let r = app.post("/api/v1/cases/batch", &officer, &body).await;
            let created: Value = r.json().await.unwrap();
            assert_eq!(created["created"], batch.len(), "{backend:?} {created}");
            ids.extend(created["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()));
        }
        // The three cases left for the auctions, 80 billion each: 60 billion each from a sale.
        for (n, case_id) in ids[10_289..10_292].iter().enumerate() {
            auction(&app, &officer, case_id, n + 1, 60 * BILLION).await;
        }
        let targets = json!({"cases_rate": "82.80", "money_rate": "45.80"});
        let r = app.put(&format!("/api/v1/targets/{OFFICE}/2023"), &head, &targets).await;
        assert!(r.status().is_success(), "{backend:?} {}", r.text().await.unwrap());

        let report: Value = app
            .get(&format!("/api/v1/reports/enforcement?agency={OFFICE}&year=2023"), &head)
            .await
            .json()
            .await
            .unwrap();
        let (cases, money) = (&report["cases"], &report["money"]);
        assert_eq!(
            [&cases["total"], &cases["enforceable"], &cases["completed"]],
            [&json!(16_109), &json!(12_411), &json!(10_289)],
            "{backend:?} {report}"
        );
        assert_eq!([&cases["rate"], &cases["target"], &cases["gap"]], ["82.90", "82.8", "0.10"], "{report}");
        let billions = |v: &Value| v.as_str().unwrap().parse::<Decimal>().unwrap() / Decimal::from(BILLION);
        assert_eq!(billions(&money["total"]), Decimal::from(2_491), "{report}");
        assert_eq!(billions(&money["enforceable"]), Decimal::from(1_250));
        assert_eq!(billions(&money["completed"]), Decimal::new(6_405, 1));
        assert_eq!([&money["rate"], &money["target"], &money["gap"]], ["51.24", "45.8", "5.44"], "{report}");

        // The auctions' share arrived as sales, on the cases they were for.
        let history: Value =
            app.get(&format!("/api/v1/cases/{}/history", ids[10_289]), &head).await.json().await.unwrap();
        let paid: Vec<(&str, &str)> = history["payments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["amount"].as_str().unwrap(), p["method"].as_str().unwrap()))
            .collect();
        assert_eq!(paid, [("60000000000", "asset_sale")], "{backend:?}");
    }
}
