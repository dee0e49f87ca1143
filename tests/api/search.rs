//! Search over HTTP on every backend: an instance found by the numbers its steps gave, typed
//! without diacritics, right after the step that gave them; a case found by its number, and by
//! its parties' names only for those who may see them, the showing recorded when the caller is
//! beyond the case's office; nothing ever found across agencies; the index written for what
//! was there before search; and the console's search box.

use lienganh::domain::Role;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::console::{add_user, Browser, PASSWORD};
use crate::helpers::{backends, expect_problem, register_data, spawn, transfer_request, Backend, TestApp};
use crate::scenarios::common::{add_agency, auditor, create, error_fields, error_reason, police};

/// The judgment of the transfer the tests search for, its register entry and its decision.
const JUDGMENT: &str = "45/2026/QĐ-PT";
const REGISTER: &str = "1024/NBA-2026";
const DECISION: &str = "Quyết định 45/QĐ-CCTHADS";

/// The obligor and obligee of the case the tests search for, and its numbers.
const OBLIGOR: &str = "Nguyễn Văn An";
const OBLIGOR_ID: &str = "001085012345";
const OBLIGEE: &str = "Trần Thị Bình";
const CASE_NUMBER: &str = "0318/THA";
const CASE_JUDGMENT: &str = "Bản án số 12/2026/DS-PT";

/// Asks the search with `query` as `token` (no token when none).
async fn ask(app: &TestApp, token: Option<&str>, query: &[(&str, &str)]) -> Response {
    let request = app.client.get(app.url("/api/v1/search")).query(query);
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.expect("request")
}

/// Searches `q` as `token`; expects 200 and returns the answer.
async fn search(app: &TestApp, token: &str, q: &str) -> Value {
    search_with(app, token, &[("q", q)]).await
}

/// Searches with `query` as `token`; expects 200 and returns the answer.
async fn search_with(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let r = ask(app, Some(token), query).await;
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{:?} search {query:?}: {body}", app.backend);
    serde_json::from_str(&body).unwrap()
}

/// The ids of what a search found, in the order given.
fn ids(found: &Value) -> Vec<String> {
    found["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {found}"))
        .iter()
        .map(|hit| hit["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids `token` finds by `q`.
async fn found_by(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    ids(&search(app, token, q).await)
}

const NONE: [String; 0] = [];

/// A record of a showing of personal data: reader, agency, roles, route.
type Read = (String, String, Value, String);

const NO_READS: [Read; 0] = [];

/// Starts a court transfer in Hà Nội of judgment `judgment` and walks it to the enforcement
/// decision: transferred, registered as `register`, decision `decision` issued. Returns its id.
async fn transfer_to_decision(app: &TestApp, judgment: &str, register: &str, decision: &str) -> String {
    let mut request = transfer_request("standard");
    request["data"]["judgment_number"] = json!(judgment);
    let id = create(app, &app.court(), &request).await["id"].as_str().unwrap().to_owned();
    let transfer = app.transfer_data(&format!("Bản án phúc thẩm {judgment}")).await;
    app.fire_ok(&id, &app.court(), "transfer", 1, transfer).await;
    let mut registered = register_data("2026-10-27");
    registered["register_number"] = json!(register);
    app.fire_ok(&id, &app.officer(), "register", 2, registered).await;
    let decided = json!({"decision_number": decision, "decision_date": "2026-10-29"});
    app.fire_ok(&id, &app.head(), "issue_decision", 3, decided).await;
    id
}

/// An evidence handover from the Hà Nội police to the Hà Nội office, of judgment `judgment`
/// and decision `decision`, as the office requests it. Returns its id.
async fn evidence_handover(app: &TestApp, judgment: &str, decision: &str) -> String {
    let request = json!({
        "workflow": "evidence_handover",
        "parties": {"police": "CA-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {"judgment_number": judgment, "decision_number": decision, "requested_on": "2026-11-16"}
    });
    create(app, &app.officer(), &request).await["id"].as_str().unwrap().to_owned()
}

/// A case of `office` numbered `number`, with the obligor and obligee of the tests.
fn case_of(office: &str, number: &str, obligor: &str) -> Value {
    let mut case = crate::cases::case(office, number, "2026-08-03", "5000000");
    case["judgment_ref"] = json!(CASE_JUDGMENT);
    case["court"] = json!("TAND-HN");
    case["obligor"] = json!({"name": obligor, "id_number": OBLIGOR_ID, "address": "Số 1, phố Hàng Bài"});
    case["obligee"] = json!({"name": OBLIGEE, "address": "Số 2, phố Tràng Tiền"});
    case
}

/// Opens `case` as `token`; returns its id.
async fn open_case(app: &TestApp, token: &str, case: &Value) -> String {
    let r = app.post("/api/v1/cases", token, case).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{:?} opening a case: {body}", app.backend);
    body["id"].as_str().unwrap().to_owned()
}

/// The records of who was shown the case's personal data, as `token` reads them: (reader,
/// agency, roles, route) each.
async fn reads_of(app: &TestApp, case_id: &str, token: &str) -> Vec<Read> {
    let r = app.get(&format!("/api/v1/cases/{case_id}/reads"), token).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{:?} reads of {case_id}: {body}", app.backend);
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["case_id"], case_id, "{r}");
            let s = |v: &Value| v.as_str().unwrap().to_owned();
            (s(&r["reader_sub"]), s(&r["reader_agency"]), r["reader_roles"].clone(), s(&r["route"]))
        })
        .collect()
}

fn lc_officer(app: &TestApp) -> String {
    app.token("officer-lc", "THADS-LC", &[Role::EnforcementOfficer])
}

/// A transfer is found by its judgment's number from its start, by its register entry right
/// after the register step (not before), and by the enforcement decision's number right after
/// the decision: typed without diacritics, in any case, with any separators, in any order;
/// every word must be found, and as a whole word.
#[tokio::test]
async fn numbers_are_found_without_diacritics_right_after_the_step_that_gives_them() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut request = transfer_request("standard");
        request["data"]["judgment_number"] = json!(JUDGMENT);
        let id = create(&app, &app.court(), &request).await["id"].as_str().unwrap().to_owned();

        // The judgment's number, given at the start, finds it at once.
        let found = search(&app, &app.court(), "45/2026").await;
        assert_eq!(found["words"], json!(["45", "2026"]), "{backend:?}");
        assert_eq!(ids(&found), [id.as_str()], "{backend:?} the court by the judgment's number: {found}");
        assert_eq!(found["items"][0]["state"], "judgment_effective", "{found}");
        assert_eq!(found["items"][0]["numbers"], json!([JUDGMENT]), "{found}");
        for q in ["45 2026 qd pt", "QĐ-PT 45/2026", "qđ pt 45"] {
            assert_eq!(found_by(&app, &app.officer(), q).await, [id.as_str()], "{backend:?} {q:?}");
        }
        // Neither the register entry nor the decision is there before their steps.
        assert_eq!(found_by(&app, &app.officer(), REGISTER).await, NONE, "{backend:?} before register");
        assert_eq!(found_by(&app, &app.officer(), "1024").await, NONE, "{backend:?} before register");
        assert_eq!(found_by(&app, &app.officer(), "quyet dinh 45").await, NONE, "{backend:?}");

        let transfer = app.transfer_data(&format!("Bản án phúc thẩm {JUDGMENT}")).await;
        app.fire_ok(&id, &app.court(), "transfer", 1, transfer).await;
        assert_eq!(found_by(&app, &app.officer(), "1024").await, NONE, "{backend:?} after transfer");

        let mut registered = register_data("2026-10-27");
        registered["register_number"] = json!(REGISTER);
        app.fire_ok(&id, &app.officer(), "register", 2, registered).await;
        // Right after the step's 200, by the register entry as written or in words.
        for q in [REGISTER, "1024 nba 2026", "1024", "NBA"] {
            assert_eq!(
                found_by(&app, &app.officer(), q).await,
                [id.as_str()],
                "{backend:?} {q:?} after register"
            );
        }
        assert_eq!(found_by(&app, &app.officer(), "quyet dinh 45").await, NONE, "{backend:?}");

        let decided = json!({"decision_number": DECISION, "decision_date": "2026-10-29"});
        app.fire_ok(&id, &app.head(), "issue_decision", 3, decided).await;
        let found = search(&app, &app.officer(), "quyet dinh 45").await;
        assert_eq!(found["words"], json!(["quyet", "dinh", "45"]), "{backend:?}");
        assert_eq!(ids(&found), [id.as_str()], "{backend:?} the office by the decision: {found}");
        let hit = &found["items"][0];
        assert_eq!(hit["kind"], "instance", "{hit}");
        assert_eq!(hit["workflow"], "court_transfer", "{hit}");
        assert_eq!(hit["workflow_version"], 2, "{hit}");
        assert!(hit["title"].as_str().is_some_and(|t| t.starts_with("Chuyển giao bản án")), "{hit}");
        assert_eq!(hit["state"], "decision_issued", "{hit}");
        // The numbers as written, in the order the definition declares them.
        assert_eq!(hit["numbers"], json!([JUDGMENT, REGISTER, DECISION]), "{hit}");
        assert_eq!(hit["agencies"], json!(["TAND-HN", "THADS-HN", "VKS-HN"]), "{hit}");
        assert_eq!(hit["matched_personal_data"], false, "{hit}");
        assert_eq!(hit["href"], format!("/api/v1/instances/{id}"), "{hit}");
        let r = app.get(hit["href"].as_str().unwrap(), &app.officer()).await;
        assert_eq!(r.status(), StatusCode::OK, "the href reads the instance");

        // Diacritics, case, separators and order do not matter.
        for q in [
            "Quyết định 45",
            "QUYẾT ĐỊNH 45",
            "quyet-dinh/45",
            "45 dinh quyet",
            "qđ ccthads",
            "45/QĐ-CCTHADS",
        ] {
            assert_eq!(found_by(&app, &app.head(), q).await, [id.as_str()], "{backend:?} {q:?}");
        }
        // Every word must be found, as a whole word: no prefix, no near miss.
        for q in ["quyet dinh 4", "quyet dinh 46", "quye", "dinh 45 cc", "45/2026/QĐ-PT 99", "102"] {
            assert_eq!(found_by(&app, &app.head(), q).await, NONE, "{backend:?} {q:?} found something");
        }
        // The court finds it by its judgment's number, and the procuracy by any of them.
        assert_eq!(found_by(&app, &app.court(), "45/2026").await, [id.as_str()], "{backend:?}");
        for q in ["45/2026", "quyet dinh 45", "1024 nba"] {
            assert_eq!(
                found_by(&app, &app.procuracy(), q).await,
                [id.as_str()],
                "{backend:?} procuracy {q:?}"
            );
        }
    }
}

/// Another agency never finds an instance it is not a party to, nor learns that there is one:
/// the Lào Cai court, office and procuracy, and the Hà Nội police, get an empty list for the
/// same words. The police find the instance they are a party to, and only that one, though
/// the office's transfer has the same numbers; admins and auditors find both.
#[tokio::test]
async fn an_instance_is_never_found_across_agencies() {
    for backend in backends() {
        let app = spawn(backend).await;
        let transfer = transfer_to_decision(&app, JUDGMENT, REGISTER, DECISION).await;
        let outsiders = [
            ("TAND-LC", app.token("court-lc", "TAND-LC", &[Role::CourtLiaison])),
            ("THADS-LC officer", lc_officer(&app)),
            ("THADS-LC head", app.token("head-lc", "THADS-LC", &[Role::EnforcementHead])),
            ("VKS-LC", app.token("vks-lc", "VKS-LC", &[Role::ProcuracyInspector])),
            ("CA-HN", police(&app)),
        ];
        let queries = ["quyet dinh 45", "45/2026", JUDGMENT, "1024 nba", "qd"];
        for (who, token) in &outsiders {
            for q in queries {
                let found = search(&app, token, q).await;
                assert_eq!(found["items"], json!([]), "{backend:?} {who} found {q:?}: {found}");
                assert!(!found.to_string().contains(&transfer), "{found}");
            }
        }

        // An evidence handover of the Hà Nội police, of a judgment and a decision numbered
        // like the transfer's.
        let evidence = evidence_handover(&app, "45/2026/HS-ST", DECISION).await;
        let police = police(&app);
        for q in ["45/2026", "45/2026/HS-ST", "hs st", "quyet dinh 45"] {
            assert_eq!(found_by(&app, &police, q).await, [evidence.as_str()], "{backend:?} CA-HN by {q:?}");
        }
        let found = search(&app, &police, "45/2026/HS-ST").await;
        let hit = &found["items"][0];
        assert_eq!(hit["workflow"], "evidence_handover", "{hit}");
        assert_eq!(hit["numbers"], json!(["45/2026/HS-ST", DECISION]), "{hit}");
        assert_eq!(hit["agencies"], json!(["CA-HN", "THADS-HN", "VKS-HN"]), "{hit}");
        // The transfer's own judgment number is not theirs to find.
        assert_eq!(found_by(&app, &police, JUDGMENT).await, NONE, "{backend:?} CA-HN by {JUDGMENT}");

        // The office is a party of both: newest first.
        let both = [evidence.clone(), transfer.clone()];
        assert_eq!(found_by(&app, &app.officer(), "quyet dinh 45").await, both, "{backend:?}");
        assert_eq!(found_by(&app, &app.procuracy(), "45/2026").await, both, "{backend:?}");
        // The court only of the transfer.
        assert_eq!(found_by(&app, &app.court(), "quyet dinh 45").await, [transfer.as_str()], "{backend:?}");
        // Those who read everything find both.
        for (who, token) in [("admin", app.admin()), ("auditor", auditor(&app))] {
            assert_eq!(found_by(&app, &token, "45/2026").await, both, "{backend:?} {who}");
        }
        // Lào Cai still finds nothing.
        for (who, token) in &outsiders[..4] {
            assert_eq!(found_by(&app, token, "quyet dinh 45").await, NONE, "{backend:?} {who}");
        }
    }
}

/// A case is found by its parties' names and ID number, without diacritics, only by those who
/// see its personal data: its own office (nothing recorded), and an auditor (the showing
/// recorded against the case, as the search's route). The police, the procuracy, another
/// province's office, the case's court and an admin never find it by a name; an admin finds
/// it by its number. Found by its number, a case shows no personal data and nothing is
/// recorded.
#[tokio::test]
async fn a_case_is_found_by_name_only_by_those_who_see_its_personal_data() {
    for backend in backends() {
        let app = spawn(backend).await;
        let case = open_case(&app, &app.officer(), &case_of("THADS-HN", CASE_NUMBER, OBLIGOR)).await;
        let read: Value =
            app.get(&format!("/api/v1/cases/{case}"), &app.officer()).await.json().await.unwrap();

        // The office's own officer, by the obligor's name, ID number, the obligee's name.
        let found = search(&app, &app.officer(), "nguyen van an").await;
        assert_eq!(found["words"], json!(["nguyen", "van", "an"]));
        assert_eq!(ids(&found), [case.as_str()], "{backend:?} the office by the obligor's name: {found}");
        let hit = &found["items"][0];
        assert_eq!(hit["kind"], "case", "{hit}");
        assert_eq!(hit["title"], CASE_NUMBER, "{hit}");
        assert_eq!(hit["numbers"], json!([CASE_NUMBER, CASE_JUDGMENT]), "{hit}");
        assert_eq!(hit["agencies"], json!(["THADS-HN"]), "{hit}");
        assert_eq!(hit["state"], read["status"], "{hit}");
        assert_eq!(hit["matched_personal_data"], true, "{hit}");
        assert_eq!(hit["href"], format!("/api/v1/cases/{case}"), "{hit}");
        assert!(hit.get("workflow").is_none(), "{hit}");
        // The reason it was found is not shown.
        assert!(!found.to_string().contains(OBLIGOR), "{found}");
        for q in [OBLIGOR, "NGUYEN VAN", OBLIGOR_ID, "tran thi binh", "Bình", "an nguyen"] {
            let found = search(&app, &app.officer(), q).await;
            assert_eq!(ids(&found), [case.as_str()], "{backend:?} the office by {q:?}");
            assert_eq!(found["items"][0]["matched_personal_data"], true, "{q:?}: {found}");
        }
        // Whole words only.
        for q in ["nguyen van a", "00108501234", "binh 9"] {
            assert_eq!(found_by(&app, &app.officer(), q).await, NONE, "{backend:?} {q:?}");
        }
        // Its own office's showing is its own business.
        assert_eq!(
            reads_of(&app, &case, &app.head()).await,
            NO_READS,
            "{backend:?} the office's search was recorded"
        );

        // Those who may not see the personal data never find the case by it.
        let others = [
            ("CA-HN police", police(&app)),
            ("VKS-HN inspector", app.procuracy()),
            ("TAND-HN court", app.court()),
            ("THADS-LC officer", lc_officer(&app)),
            ("admin", app.admin()),
        ];
        for (who, token) in &others {
            for q in ["nguyen van", OBLIGOR, OBLIGOR_ID, "tran thi binh"] {
                let found = search(&app, token, q).await;
                assert_eq!(found["items"], json!([]), "{backend:?} {who} found {q:?}: {found}");
            }
        }
        // Not even by its number, but for the admin, who lists every office's cases.
        for (who, token) in &others[..4] {
            assert_eq!(found_by(&app, token, CASE_NUMBER).await, NONE, "{backend:?} {who} by the number");
        }
        let found = search(&app, &app.admin(), CASE_NUMBER).await;
        assert_eq!(ids(&found), [case.as_str()], "{backend:?} the admin by the number: {found}");
        assert_eq!(found["items"][0]["matched_personal_data"], false, "{found}");
        assert_eq!(
            reads_of(&app, &case, &app.head()).await,
            NO_READS,
            "{backend:?} nothing shown, nothing recorded"
        );

        // An auditor finds it by a name, and that showing is recorded.
        let auditor = auditor(&app);
        let found = search(&app, &auditor, "nguyen van").await;
        assert_eq!(ids(&found), [case.as_str()], "{backend:?} the auditor by the name: {found}");
        assert_eq!(found["items"][0]["matched_personal_data"], true, "{found}");
        let recorded =
            ("audit-1".to_owned(), "TTCP".to_owned(), json!(["auditor"]), "GET /api/v1/search".to_owned());
        for token in [app.head(), app.admin(), auditor.clone()] {
            assert_eq!(reads_of(&app, &case, &token).await, std::slice::from_ref(&recorded), "{backend:?}");
        }
        // By the case's own number it is no showing of personal data: nothing more recorded.
        for q in [CASE_NUMBER, "12/2026/DS-PT", "ban an so 12"] {
            let found = search(&app, &auditor, q).await;
            assert_eq!(ids(&found), [case.as_str()], "{backend:?} the auditor by {q:?}");
            assert_eq!(found["items"][0]["matched_personal_data"], false, "{q:?}: {found}");
        }
        assert_eq!(reads_of(&app, &case, &app.head()).await, std::slice::from_ref(&recorded), "{backend:?}");
        // A search that finds nothing records nothing.
        assert_eq!(found_by(&app, &auditor, "nguyen van khong").await, NONE);
        assert_eq!(reads_of(&app, &case, &app.head()).await, [recorded], "{backend:?}");

        // A case opened in a batch is found as one opened alone.
        let batch = json!({"cases": [case_of("THADS-HN", "0319/THA", "Phạm Thị Dung")]});
        let r = app.post("/api/v1/cases/batch", &app.officer(), &batch).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{backend:?} {}", r.text().await.unwrap());
        let found = search(&app, &app.officer(), "pham thi dung").await;
        assert_eq!(found["items"].as_array().unwrap().len(), 1, "{backend:?} the batch's case: {found}");
        assert_eq!(found["items"][0]["title"], "0319/THA", "{found}");
        let found = search(&app, &app.officer(), "tran thi binh").await;
        assert_eq!(found["items"].as_array().unwrap().len(), 2, "{backend:?} both by the obligee: {found}");
        assert_eq!(found["items"][1]["id"], case.as_str(), "{backend:?} newest first: {found}");
    }
}

/// A regional office's case is found by name by the office above it, and that showing is
/// recorded; the regional office finds its own without a record, and not the case of the
/// office above it.
#[tokio::test]
async fn the_office_above_finds_a_regional_case_by_name_and_that_is_recorded() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_agency(&app, "THADS-HN-KV1", "enforcement", "Phòng THADS khu vực 1", Some("THADS-HN")).await;
        let regional = app.token("officer-kv1", "THADS-HN-KV1", &[Role::EnforcementOfficer]);
        let regional_head = app.token("head-kv1", "THADS-HN-KV1", &[Role::EnforcementHead]);
        let theirs = open_case(&app, &regional, &case_of("THADS-HN-KV1", "KV1-7", "Lê Văn Cường")).await;
        let above = open_case(&app, &app.officer(), &case_of("THADS-HN", CASE_NUMBER, OBLIGOR)).await;

        assert_eq!(found_by(&app, &regional, "le van cuong").await, [theirs.as_str()], "{backend:?}");
        assert_eq!(found_by(&app, &regional, "nguyen van an").await, NONE, "{backend:?} the office above's");
        assert_eq!(found_by(&app, &regional, "tran thi binh").await, [theirs.as_str()], "{backend:?}");
        assert_eq!(reads_of(&app, &theirs, &regional_head).await, NO_READS, "{backend:?} the office's own");

        // Both have the obligee's name: the office above finds both, newest first.
        assert_eq!(
            found_by(&app, &app.head(), "tran thi binh").await,
            [above.clone(), theirs.clone()],
            "{backend:?}"
        );
        let found = search(&app, &app.head(), "Lê Văn Cường").await;
        assert_eq!(ids(&found), [theirs.as_str()], "{backend:?} the office above by the name: {found}");
        assert_eq!(found["items"][0]["matched_personal_data"], true, "{found}");
        let shown = |sub: &str| {
            (
                sub.to_owned(),
                "THADS-HN".to_owned(),
                json!(["enforcement_head"]),
                "GET /api/v1/search".to_owned(),
            )
        };
        // Two showings by the head: the obligee's name, then the obligor's.
        assert_eq!(
            reads_of(&app, &theirs, &regional_head).await,
            [shown("head-1"), shown("head-1")],
            "{backend:?}"
        );
        // The office above's own case, searched by its own head: nothing recorded.
        assert_eq!(reads_of(&app, &above, &app.head()).await, NO_READS, "{backend:?}");
    }
}

/// A query with nothing to search by, or too long, is refused as invalid on `q`; a limit
/// outside 1 to 100, or no query at all, is malformed; no token, unauthorized.
#[tokio::test]
async fn queries_that_cannot_be_searched_are_refused() {
    for backend in backends() {
        let app = spawn(backend).await;
        let officer = app.officer();
        let too_long = "a".repeat(201);
        for q in ["", "   ", "/ -", "—…·", too_long.as_str()] {
            let r = ask(&app, Some(&officer), &[("q", q)]).await;
            let problem = expect_problem(r, 422, "validation_failed").await;
            assert_eq!(error_fields(&problem), ["q"], "{backend:?} {q:?}: {problem}");
            assert!(!error_reason(&problem, "q").is_empty(), "{problem}");
        }
        // 200 characters are taken, counted as characters, not bytes.
        let longest = "đ".repeat(200);
        assert_eq!(found_by(&app, &officer, &longest).await, NONE, "{backend:?}");
        let r = ask(&app, Some(&officer), &[("q", &"đ".repeat(201))]).await;
        expect_problem(r, 422, "validation_failed").await;

        for limit in ["0", "101", "-1"] {
            let r = ask(&app, Some(&officer), &[("q", "45"), ("limit", limit)]).await;
            let problem = expect_problem(r, 400, "malformed_request").await;
            assert!(problem["detail"].as_str().unwrap().contains("limit"), "{backend:?} {limit}: {problem}");
        }
        let r = ask(&app, Some(&officer), &[("q", "45"), ("limit", "many")]).await;
        expect_problem(r, 400, "malformed_request").await;
        for limit in ["1", "100"] {
            search_with(&app, &officer, &[("q", "45"), ("limit", limit)]).await;
        }
        expect_problem(ask(&app, Some(&officer), &[]).await, 400, "malformed_request").await;
        expect_problem(ask(&app, Some(&officer), &[("limit", "5")]).await, 400, "malformed_request").await;
        expect_problem(ask(&app, None, &[("q", "45")]).await, 401, "unauthorized").await;
        expect_problem(ask(&app, Some("not-a-token"), &[("q", "45")]).await, 401, "unauthorized").await;
    }
}

/// At most `limit` results, newest first; 20 unless asked otherwise.
#[tokio::test]
async fn results_are_newest_first_up_to_the_limit() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut started = Vec::new();
        for _ in 0..3 {
            started.push(app.start_transfer("standard").await["id"].as_str().unwrap().to_owned());
        }
        let newest_first: Vec<String> = started.iter().rev().cloned().collect();
        let court = app.court();
        let q = "125/2026/KDTM-PT";
        assert_eq!(found_by(&app, &court, q).await, newest_first, "{backend:?} no limit");
        let two = search_with(&app, &court, &[("q", q), ("limit", "2")]).await;
        assert_eq!(ids(&two), newest_first[..2], "{backend:?} limit=2: {two}");
        let one = search_with(&app, &court, &[("q", q), ("limit", "1")]).await;
        assert_eq!(ids(&one), newest_first[..1], "{backend:?} limit=1: {one}");
        let all = search_with(&app, &court, &[("q", q), ("limit", "100")]).await;
        assert_eq!(ids(&all), newest_first, "{backend:?} limit=100");

        // 20 unless asked otherwise.
        for _ in 0..19 {
            started.push(app.start_transfer("standard").await["id"].as_str().unwrap().to_owned());
        }
        let found = found_by(&app, &court, q).await;
        let newest_first: Vec<String> = started.iter().rev().cloned().collect();
        assert_eq!(found, newest_first[..20], "{backend:?} the default limit");
        let all = search_with(&app, &court, &[("q", q), ("limit", "100")]).await;
        assert_eq!(ids(&all), newest_first, "{backend:?} limit=100");
    }
}

/// What was there before search is indexed when the service starts with the task the
/// migration left: afterwards every search answers as it did when each step indexed its own.
#[tokio::test]
async fn what_was_there_before_search_is_indexed_at_startup() {
    for backend in backends() {
        let app = spawn(backend).await;
        let transfer = transfer_to_decision(&app, JUDGMENT, REGISTER, DECISION).await;
        let evidence = evidence_handover(&app, "45/2026/HS-ST", DECISION).await;
        let case = open_case(&app, &app.officer(), &case_of("THADS-HN", CASE_NUMBER, OBLIGOR)).await;
        let searches = [
            (app.officer(), "quyet dinh 45"),
            (app.officer(), "45/2026"),
            (app.officer(), "1024 nba"),
            (app.officer(), "nguyen van an"),
            (app.court(), "45/2026"),
            (police(&app), "45/2026"),
            (lc_officer(&app), "45/2026"),
            (app.admin(), "nguyen van an"),
            (app.admin(), CASE_NUMBER),
        ];
        let mut before = Vec::new();
        for (token, q) in &searches {
            before.push(search(&app, token, q).await);
        }
        assert_eq!(ids(&before[0]), [evidence.clone(), transfer.clone()], "{backend:?}");
        assert_eq!(ids(&before[3]), [case.as_str()], "{backend:?}");

        // As before search was: no words, the task left to do.
        app.sql("DELETE FROM search_terms; INSERT INTO pending_tasks (name) VALUES ('index_for_search');");
        for (token, q) in &searches {
            assert_eq!(found_by(&app, token, q).await, NONE, "{backend:?} {q:?} with the index emptied");
        }

        let settings = crate::helpers::settings_for(&app.database_url);
        let db = lienganh::store::Db::connect(&app.database_url, 1).unwrap();
        let registry = std::sync::Arc::new(lienganh::http::server::load_registry(&settings).unwrap());
        lienganh::http::server::finish_migrations(&db, &registry).unwrap();
        // A second start finds the task done and changes nothing.
        lienganh::http::server::finish_migrations(&db, &registry).unwrap();

        // Everything found again, by the same words, for the same agencies only.
        for ((token, q), was) in searches.iter().zip(&before) {
            let mut now = ids(&search(&app, token, q).await);
            let mut then = ids(was);
            now.sort();
            then.sort();
            assert_eq!(now, then, "{backend:?} {q:?} after indexing at startup");
        }
        // What starts afterwards is indexed by its own step, and is the newest.
        let mut request = transfer_request("standard");
        request["data"]["judgment_number"] = json!("77/2026/DS-PT");
        let later = create(&app, &app.court(), &request).await["id"].as_str().unwrap().to_owned();
        assert_eq!(found_by(&app, &app.court(), "2026").await, [later, transfer.clone()], "{backend:?}");
        // And the answers are the very same, order included: newest first.
        for ((token, q), was) in searches.iter().zip(&before) {
            let now = search(&app, token, q).await;
            assert_eq!(ids(&now), ids(was), "{backend:?} {q:?}: not newest first after indexing at startup");
            assert_eq!(&now, was, "{backend:?} {q:?}: the answer after indexing at startup differs");
        }
    }
}

/// Every console page has the search box; the search page lists what the signed-in user may
/// find, linked to its page, and nothing of another agency's.
#[tokio::test]
async fn the_console_searches_from_every_page() {
    let app = spawn(Backend::Sqlite).await;
    let transfer = transfer_to_decision(&app, JUDGMENT, REGISTER, DECISION).await;
    let case = open_case(&app, &app.officer(), &case_of("THADS-HN", CASE_NUMBER, OBLIGOR)).await;
    add_user(&app, "canbo.tha", "THADS-HN", &["enforcement_officer"]);
    add_user(&app, "canbo.lc", "THADS-LC", &["enforcement_officer"]);
    let mut officer = Browser::new(&app);
    assert_eq!(officer.sign_in("canbo.tha", PASSWORD).await.status, 303);

    let inbox = officer.get("/console/inbox").await;
    assert_eq!(inbox.status, 200);
    let form = inbox.body.split("<form").find(|f| f.contains(r#"class="search""#));
    let form = form.unwrap_or_else(|| panic!("no search form on the inbox: {}", inbox.body));
    let form = &form[..form.find("</form>").unwrap()];
    assert!(form.contains(r#"action="/console/search""#), "{form}");
    assert!(form.contains(r#"method="get""#), "{form}");
    assert!(form.contains(r#"name="q""#), "{form}");

    let page = officer.get("/console/search?q=quyet+dinh+45").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!(r#"href="/console/instances/{transfer}""#)), "{}", page.body);
    assert!(page.body.contains(DECISION), "the numbers it was found by: {}", page.body);
    assert!(page.body.contains(r#"class="search""#), "the search box on the search page too");
    // A case found by a name is marked so, and shows no personal data.
    let page = officer.get("/console/search?q=nguyen+van+an").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(CASE_NUMBER), "{}", page.body);
    assert!(page.body.contains("khớp thông tin cá nhân"), "{}", page.body);
    assert!(!page.body.contains(OBLIGOR), "{}", page.body);
    assert!(!page.body.contains(&case), "{}", page.body);

    let mut lao_cai = Browser::new(&app);
    assert_eq!(lao_cai.sign_in("canbo.lc", PASSWORD).await.status, 303);
    for q in ["quyet+dinh+45", "nguyen+van+an"] {
        let page = lao_cai.get(&format!("/console/search?q={q}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(!page.body.contains(&transfer), "{}", page.body);
        assert!(!page.body.contains(CASE_NUMBER), "{}", page.body);
        assert!(page.body.contains("Không tìm thấy"), "{}", page.body);
    }
}
