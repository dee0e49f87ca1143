//! asset_seizure_auction: the Hà Nội enforcement office seizes a plot of land with a coercion
//! operation, has it valued by a valuation organisation, sells it through an auction
//! organisation after one failed round and a price reduction, pays the obligee (a payment
//! on the case, method asset_sale, which moves the money rate), hands the land over and the
//! land registry registers the buyer. A movable asset takes the shorter path: the parties
//! agree its price. The organisations see the instance only from the step that contracts them.

use lienganh::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{
    add_agency, add_coercion_agencies, auditor, deadline, error_reason, notified, police, Run, COMMUNE,
};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

const AUCTIONEER: &str = "DGTS-HN";
const OTHER_AUCTIONEER: &str = "DGTS-LC";
const VALUER: &str = "TDG-HN";
const REGISTRY: &str = "VPDKDD-HN";

async fn add_market_agencies(app: &TestApp) {
    add_coercion_agencies(app).await;
    add_agency(app, AUCTIONEER, "auction_organisation", "Công ty Đấu giá hợp danh Hà Nội", None).await;
    add_agency(
        app,
        OTHER_AUCTIONEER,
        "auction_organisation",
        "Trung tâm Dịch vụ đấu giá tài sản Lào Cai",
        None,
    )
    .await;
    add_agency(app, VALUER, "valuation_organisation", "Công ty Thẩm định giá Thăng Long", None).await;
    add_agency(app, REGISTRY, "land_registry", "Văn phòng Đăng ký đất đai Hà Nội", None).await;
}

fn auctioneer(app: &TestApp, agency: &str) -> String {
    app.token(&format!("dg-{}", agency.to_lowercase()), agency, &[Role::AuctionLiaison])
}
fn valuer(app: &TestApp) -> String {
    app.token("tdg-1", VALUER, &[Role::ValuationLiaison])
}
fn registry(app: &TestApp) -> String {
    app.token("dkdd-1", REGISTRY, &[Role::RegistryLiaison])
}

/// Opens the case the seizure enforces: 2,000,000,000 VND due, received this statistical year.
async fn open_case(app: &TestApp) -> String {
    let case = crate::cases::case("THADS-HN", "THA-77/2026", "2026-10-05", "2000000000");
    let r = app.post("/api/v1/cases", &app.officer(), &case).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn seizure(case_id: &str, asset_kind: &str, needs_force: bool) -> Value {
    let mut request = json!({
        "workflow": "asset_seizure_auction",
        "case_id": case_id,
        "parties": {"enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {
            "decision_number": "12/QĐ-CCTHA",
            "decision_date": "2026-10-20",
            "asset_kind": asset_kind,
            "location": "Thửa đất số 45, tờ bản đồ số 7, xã Đông Anh, thành phố Hà Nội",
            "needs_force": needs_force
        }
    });
    if needs_force {
        request["parties"]["police"] = json!("CA-HN");
        request["parties"]["commune"] = json!(COMMUNE);
        request["data"]["estimated_cost"] = json!("15000000");
    }
    if asset_kind == "real_estate" {
        request["parties"]["registry"] = json!(REGISTRY);
    }
    request
}

fn assets() -> Value {
    json!([{"description": "Quyền sử dụng 120 m² đất ở và nhà cấp 4", "quantity": "1", "unit": "thửa",
            "declared_value": "2400000000"}])
}

/// The money the enforcement report counts as completed for Hà Nội this statistical year.
async fn money_completed(app: &TestApp) -> (String, String) {
    let r = app.get("/api/v1/reports/enforcement?agency=THADS-HN&year=2027", &app.head()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["from"], "2026-10-01", "{body}");
    let m = &body["money"];
    (m["completed"].as_str().unwrap().to_owned(), m["rate"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn land_is_seized_valued_auctioned_twice_paid_out_and_registered() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_market_agencies(&app).await;
        let case_id = open_case(&app).await;
        let mut run =
            Run::start(&app, &app.officer(), seizure(&case_id, "real_estate", true), "decided").await;
        let id = run.id.clone();

        // Force is needed: the operation is a coercion plan of its own, linked both ways.
        let planned = run.step(&app.head(), "plan_operation", json!({}), "awaiting_operation").await;
        let started = &planned["links"]["started"];
        assert_eq!(started[0]["workflow"], "coercion_plan", "{backend:?} {planned}");
        let plan: Value = app
            .get(&format!("/api/v1/instances/{}", started[0]["id"].as_str().unwrap()), &police(&app))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(plan["data"]["measure"], "seize_property", "{backend:?} {plan}");
        assert_eq!(plan["data"]["case_reference"], "12/QĐ-CCTHA");
        assert_eq!(plan["case_id"], case_id.as_str(), "the operation enforces the same case");
        assert_eq!(plan["links"]["started_by"]["id"], id.as_str());

        let seized = app
            .with_pdf(
                &app.officer(),
                "seizure_record",
                json!({"seized_on": "2026-10-26", "assets": assets()}),
            )
            .await;
        run.step(&app.officer(), "record_seizure", seized, "seized").await;
        // Monday 26 October + 5 working days: Monday 2 November.
        assert_eq!(deadline(&app, &id, &app.officer(), "valuation_contract").await["due_date"], "2026-11-02");

        // The valuer sees nothing until it is contracted; then it sees, and it acts.
        let path = format!("/api/v1/instances/{id}");
        expect_problem(app.get(&path, &valuer(&app)).await, 404, "not_found").await;
        let contract = json!({"valuation_organisation": VALUER, "valuation_contract_number": "15/2026/HĐ-TĐG",
                              "valuation_contracted_on": "2026-10-29"});
        run.step(&app.officer(), "contract_valuation", contract, "valuation_contracted").await;
        assert_eq!(run.last["parties"]["valuer"], VALUER);
        assert_eq!(notified(&app, &id, 4), ["TDG-HN", "VKS-HN"], "{backend:?}");
        let certificate = app
            .with_pdf(
                &valuer(&app),
                "valuation_certificate",
                json!({"price": "2350000000", "valued_on": "2026-11-09"}),
            )
            .await;
        run.step(&valuer(&app), "report_valuation", certificate, "valued").await;
        assert_eq!(deadline(&app, &id, &app.officer(), "auction_contract").await["due_date"], "2026-11-19");

        let auction = json!({"auction_organisation": AUCTIONEER, "auction_contract_number": "31/2026/HĐDV-ĐG",
                             "auction_contracted_on": "2026-11-12", "starting_price": "2350000000"});
        run.step(&app.officer(), "contract_auction", auction, "auction_contracted").await;
        let held = deadline(&app, &id, &auctioneer(&app, AUCTIONEER), "auction_real_estate").await;
        assert_eq!(held["responsible"], AUCTIONEER, "{backend:?} {held}");
        // Another auction organisation sees nothing of it; the valuer may not sell.
        let no_sale = app
            .with_pdf(
                &auctioneer(&app, AUCTIONEER),
                "auction_record",
                json!({"auctioned_on": "2026-11-16", "no_sale_reason": "Không có người đăng ký tham gia"}),
            )
            .await;
        expect_problem(app.get(&path, &auctioneer(&app, OTHER_AUCTIONEER)).await, 404, "not_found").await;
        run.refused(&valuer(&app), "record_no_sale", no_sale.clone(), 403, "forbidden").await;
        run.step(&auctioneer(&app, AUCTIONEER), "record_no_sale", no_sale, "unsold").await;

        // A reduction round: the new starting price, exact, and the auction's clock again.
        let reduce = json!({"starting_price": "2115000000.25", "reduced_on": "2026-11-18"});
        run.step(&app.head(), "reduce_price", reduce, "auction_contracted").await;
        assert_eq!(run.last["data"]["starting_price"], "2115000000.25");
        let (before, _) = money_completed(&app).await;
        let sale = app
            .with_pdf(
                &auctioneer(&app, AUCTIONEER),
                "auction_record",
                json!({"auctioned_on": "2026-11-25", "sale_price": "2200000000", "money_received_on": "2026-11-26"}),
            )
            .await;
        run.step(&auctioneer(&app, AUCTIONEER), "record_sale", sale, "sold").await;
        // 10 days from 26 November end on Sunday 6 December: the next working day.
        assert_eq!(deadline(&app, &id, &app.officer(), "payout").await["due_date"], "2026-12-07");

        // The payout is a payment on the case, and the report counts it.
        let paid = json!({"amount_paid": "1500000000.25", "paid_on": "2026-11-30"});
        run.step(&app.officer(), "pay_out", paid, "paid_out").await;
        let case: Value =
            app.get(&format!("/api/v1/cases/{case_id}/history"), &app.officer()).await.json().await.unwrap();
        let payment = case["payments"].as_array().unwrap().last().cloned().unwrap();
        assert_eq!(
            (payment["amount"].as_str(), payment["method"].as_str()),
            (Some("1500000000.25"), Some("asset_sale")),
            "{backend:?} {case}"
        );
        let (after, rate) = money_completed(&app).await;
        let grew = after.parse::<rust_decimal::Decimal>().unwrap()
            - before.parse::<rust_decimal::Decimal>().unwrap();
        assert_eq!(grew.to_string(), "1500000000.25", "{backend:?} {before} -> {after}");
        assert_eq!(rate, "75.00", "{backend:?} 1,500,000,000.25 of the 2,000,000,000 due");

        // Land: the registry is told, and it registers the buyer.
        run.step(
            &app.officer(),
            "hand_over_land",
            json!({"handed_over_on": "2026-12-01"}),
            "awaiting_registration",
        )
        .await;
        assert_eq!(notified(&app, &id, 11), ["VKS-HN", "VPDKDD-HN"], "{backend:?}");
        let registered = json!({"registered_on": "2026-12-03", "certificate_number": "DA 123456"});
        let done = run.step(&registry(&app), "register_transfer", registered, "completed").await;
        assert_eq!(done["terminal"], true);
        run.verify(&app.procuracy(), 12).await;
        let roles: Vec<(String, String)> =
            run.history(&app.procuracy()).await.into_iter().map(|(t, a, _)| (t, a)).collect();
        let acting: Vec<(&str, &str)> = roles.iter().map(|(t, a)| (t.as_str(), a.as_str())).collect();
        assert_eq!(
            acting,
            [
                ("create", "THADS-HN"),
                ("plan_operation", "THADS-HN"),
                ("record_seizure", "THADS-HN"),
                ("contract_valuation", "THADS-HN"),
                ("report_valuation", VALUER),
                ("contract_auction", "THADS-HN"),
                ("record_no_sale", AUCTIONEER),
                ("reduce_price", "THADS-HN"),
                ("record_sale", AUCTIONEER),
                ("pay_out", "THADS-HN"),
                ("hand_over_land", "THADS-HN"),
                ("register_transfer", REGISTRY),
            ],
            "{backend:?}"
        );
    }
}

/// A movable asset whose price the parties agree: no valuer, no registry. What is refused on
/// the way: an organisation of the wrong kind, a second binding, a stale version, the wrong role.
#[tokio::test]
async fn a_movable_asset_at_an_agreed_price_and_what_is_refused() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_market_agencies(&app).await;
        let case_id = open_case(&app).await;
        let mut run = Run::start(&app, &app.officer(), seizure(&case_id, "movable", false), "decided").await;
        // No force: no operation to plan.
        run.refused(&app.head(), "plan_operation", json!({}), 422, "transition_not_allowed").await;
        let seized = app
            .with_pdf(
                &app.officer(),
                "seizure_record",
                json!({"seized_on": "2026-10-26", "assets": [
                {"description": "Xe ô tô Toyota Vios biển số 29A-123.45", "quantity": "1", "unit": "chiếc",
                 "declared_value": "350000000"}]}),
            )
            .await;
        run.step(&app.officer(), "record_seizure", seized, "seized").await;
        run.refused(&police(&app), "agree_price", json!({}), 404, "not_found").await;
        run.step(
            &app.officer(),
            "agree_price",
            json!({"price": "320000000", "valued_on": "2026-10-30"}),
            "valued",
        )
        .await;

        let auction = |org: &str| {
            json!({"auction_organisation": org, "auction_contract_number": "32/2026/HĐDV-ĐG",
                   "auction_contracted_on": "2026-11-05", "starting_price": "320000000"})
        };
        let body = run
            .refused(&app.officer(), "contract_auction", auction(REGISTRY), 422, "validation_failed")
            .await;
        assert!(error_reason(&body, "data.auction_organisation").contains("land_registry"), "{body}");
        let stale =
            app.fire(&run.id, &app.officer(), "contract_auction", run.version - 1, auction(AUCTIONEER)).await;
        expect_problem(stale, 409, "version_conflict").await;
        run.step(&app.officer(), "contract_auction", auction(AUCTIONEER), "auction_contracted").await;

        let sale = app
            .with_pdf(
                &auctioneer(&app, AUCTIONEER),
                "auction_record",
                json!({"auctioned_on": "2026-11-20", "sale_price": "335000000", "money_received_on": "2026-11-23"}),
            )
            .await;
        // The organisation not contracted does not see it; a document of another agency is refused.
        run.refused(&auctioneer(&app, OTHER_AUCTIONEER), "record_sale", sale.clone(), 404, "not_found").await;
        run.step(&auctioneer(&app, AUCTIONEER), "record_sale", sale, "sold").await;
        run.step(
            &app.officer(),
            "pay_out",
            json!({"amount_paid": "335000000", "paid_on": "2026-11-30"}),
            "paid_out",
        )
        .await;
        run.refused(
            &app.officer(),
            "hand_over_land",
            json!({"handed_over_on": "2026-12-01"}),
            422,
            "transition_not_allowed",
        )
        .await;
        let done =
            run.step(&app.officer(), "hand_over", json!({"handed_over_on": "2026-12-01"}), "completed").await;
        assert_eq!(done["terminal"], true);
        // Its movable clock: 30 days from the money received.
        assert_eq!(
            deadline(&app, &run.id, &app.officer(), "handover_movable").await["due_date"],
            "2026-12-23"
        );
        run.verify(&auditor(&app), 7).await;
    }
}
