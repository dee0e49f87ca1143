//! Documents through HTTP: every declared document field refuses what it cannot take (and
//! takes nothing while refusing), uploads refuse what they cannot keep, downloads go to the
//! parties only (a read beyond the case's office and court recorded), `audit verify` names a
//! stored document altered or gone, and the uploads no step took go after a day.

use std::path::PathBuf;

use lienganh::domain::Role;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{backends, expect_problem, pdf, spawn, spawn_with, transfer_request, TestApp};
use crate::operations::lienganh;
use crate::scenarios::common::{add_coercion_agencies, auditor, create, error_fields, police, Run, COMMUNE};

const MIB: usize = 1024 * 1024;

/// A real 1×1 PNG, every chunk's CRC right.
const PNG: [u8; 70] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00,
    0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x64, 0x60, 0xF8, 0x5F, 0x0F, 0x00, 0x02,
    0x87, 0x01, 0x80, 0xEB, 0x47, 0xBA, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42,
    0x60, 0x82,
];

/// A small JPEG of its own (the JFIF header is what the type is read from).
fn jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00];
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    bytes
}

/// A PDF of exactly `size` bytes: its header, then padding.
fn pdf_of(size: usize) -> Vec<u8> {
    let mut bytes = format!("%PDF-1.4\n% {}\n", uuid::Uuid::new_v4()).into_bytes();
    bytes.resize(size, b' ');
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Uploads `bytes` said to be `media_type`, named `name`, as the agency of `token`; expects 201
/// and checks what the answer says of them. Returns the answer.
async fn upload(app: &TestApp, token: &str, bytes: &[u8], media_type: &str, name: &str) -> Value {
    let r = app
        .client
        .post(app.url("/api/v1/documents"))
        .query(&[("name", name)])
        .bearer_auth(token)
        .header("Content-Type", media_type)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{:?} upload of {name}: {body}", app.backend);
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, Some(format!("/api/v1/documents/{id}")), "{body}");
    assert_eq!(body["sha256"], sha256(bytes), "{body}");
    assert_eq!(body["size"], bytes.len(), "{body}");
    assert_eq!(body["media_type"], media_type, "{body}");
    assert_eq!(body["name"], name, "{body}");
    assert_eq!(body["used"], false, "{body}");
    assert!(body["uploaded_at"].as_str().unwrap().ends_with("+07:00"), "{body}");
    body
}

/// Uploads a small PDF of its own, named `name`; returns the answer.
async fn upload_pdf(app: &TestApp, token: &str, name: &str) -> Value {
    upload(app, token, &pdf(name), "application/pdf", name).await
}

fn id(document: &Value) -> String {
    document["id"].as_str().unwrap().to_owned()
}

/// What a step's event and its instance's data must keep of an uploaded document.
fn record(document: &Value) -> Value {
    json!({
        "id": document["id"],
        "sha256": document["sha256"],
        "name": document["name"],
        "media_type": document["media_type"],
        "size": document["size"],
    })
}

/// The declared document fields, each in the step that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// court_transfer (Law 106/2025) `transfer.judgment_file`: PDF, 20 MB.
    Judgment,
    /// court_transfer (Law 26/2008) `transfer.judgment_file`: PDF, 20 MB.
    Judgment2008,
    /// evidence_handover `hand_over.minutes_file`: PDF, JPEG or PNG, 20 MB, several.
    Minutes,
    /// procuracy_supervision `create.instrument_file`: PDF, 20 MB, required unless the instance
    /// that starts it holds the file.
    Instrument,
    /// procuracy_supervision `answer.reply_file`: PDF, 20 MB.
    Reply,
    /// coercion_plan (Law 106/2025) `approve.decision_file`: PDF, 20 MB.
    Decision,
    /// coercion_plan (Law 26/2008) `approve.decision_file`: PDF, 20 MB.
    Decision2008,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Judgment | Field::Judgment2008 => "judgment_file",
            Field::Minutes => "minutes_file",
            Field::Instrument => "instrument_file",
            Field::Reply => "reply_file",
            Field::Decision | Field::Decision2008 => "decision_file",
        }
    }

    fn transition(self) -> &'static str {
        match self {
            Field::Judgment | Field::Judgment2008 => "transfer",
            Field::Minutes => "hand_over",
            Field::Instrument => "create",
            Field::Reply => "answer",
            Field::Decision | Field::Decision2008 => "approve",
        }
    }

    /// The state the step leads to.
    fn to(self) -> &'static str {
        match self {
            Field::Judgment | Field::Judgment2008 => "transferred",
            Field::Minutes => "handed_over",
            Field::Instrument => "issued",
            Field::Reply => "answered",
            Field::Decision | Field::Decision2008 => "approved",
        }
    }

    /// The version of the definition the instance must run under.
    fn workflow_version(self) -> i64 {
        match self {
            Field::Judgment2008 | Field::Decision2008 => 1,
            // Each workflow's version under Law 106/2025, in force today.
            Field::Judgment | Field::Decision | Field::Minutes | Field::Instrument | Field::Reply => 2,
        }
    }

    fn multiple(self) -> bool {
        self == Field::Minutes
    }

    fn max_mb(self) -> usize {
        20
    }

    /// Who fires the step, and uploads its file.
    fn actor(self, app: &TestApp) -> String {
        match self {
            Field::Judgment | Field::Judgment2008 => app.court(),
            Field::Minutes => police(app),
            Field::Instrument => app.procuracy(),
            Field::Reply | Field::Decision | Field::Decision2008 => app.head(),
        }
    }

    /// Someone else of the actor's agency: an upload is the agency's, not its uploader's.
    fn colleague(self, app: &TestApp) -> String {
        match self {
            Field::Judgment | Field::Judgment2008 => app.token("court-2", "TAND-HN", &[Role::CourtLiaison]),
            Field::Minutes => app.token("police-2", "CA-HN", &[Role::PoliceLiaison]),
            Field::Instrument => app.token("vks-2", "VKS-HN", &[Role::ProcuracyInspector]),
            Field::Reply | Field::Decision | Field::Decision2008 => app.officer(),
        }
    }

    /// Someone of another agency, a party too.
    fn other(self, app: &TestApp) -> String {
        match self {
            Field::Judgment | Field::Judgment2008 | Field::Minutes | Field::Instrument => app.officer(),
            Field::Reply | Field::Decision | Field::Decision2008 => app.procuracy(),
        }
    }

    /// The step's data, without its file.
    fn data(self) -> Value {
        let transfer = |date: &str| {
            json!({
                "transfer_date": date,
                "method": "post",
                "documents": [{"description": "Bản án phúc thẩm 125/2026/KDTM-PT", "quantity": "1", "unit": "bản"}]
            })
        };
        match self {
            Field::Judgment => transfer("2026-10-25"),
            Field::Judgment2008 => transfer("2026-04-20"),
            Field::Minutes => json!({
                "items": [{"description": "Điện thoại di động Samsung", "quantity": "2", "unit": "chiếc", "seal": "NP-0415"}],
                "record_number": "78/BB-CA"
            }),
            Field::Instrument => json!({
                "instrument": "request",
                "document_number": "88/YC-VKS",
                "issued_on": "2026-11-02",
                "content": "Chậm ra quyết định thi hành án đối với 12 bản án đã nhận"
            }),
            Field::Reply => json!({
                "reply_number": "512/THADS-NV",
                "reply_date": "2026-11-16",
                "measures": "Đã ra 12 quyết định thi hành án"
            }),
            Field::Decision => json!({"approved_on": "2026-11-10"}),
            Field::Decision2008 => json!({"approved_on": "2026-05-04"}),
        }
    }

    /// `data` made invalid otherwise than by its file, and the field the refusal names. For
    /// the creation, a check of dates that comes after the documents are looked at.
    fn broken(self, mut data: Value) -> (Value, &'static str) {
        let (remove, path) = match self {
            Field::Judgment | Field::Judgment2008 => ("transfer_date", "data.transfer_date"),
            Field::Minutes => ("record_number", "data.record_number"),
            Field::Instrument => {
                data["reply_due"] = json!("2026-11-01");
                return (data, "data.reply_due");
            }
            Field::Reply => ("measures", "data.measures"),
            Field::Decision | Field::Decision2008 => ("approved_on", "data.approved_on"),
        };
        data.as_object_mut().unwrap().remove(remove);
        (data, path)
    }

    /// `data` naming `documents` in the field: the list for a field of several, else the one.
    fn with(self, mut data: Value, documents: &[&str]) -> Value {
        data[self.name()] = if self.multiple() { json!(documents) } else { json!(documents[0]) };
        data
    }

    /// The agencies the workflow needs beyond those every test has.
    async fn prepare(self, app: &TestApp) {
        if matches!(self, Field::Decision | Field::Decision2008) {
            add_coercion_agencies(app).await;
        }
    }

    /// A fresh instance walked to the state where the step can be fired (none for the
    /// creation).
    async fn spot(self, app: &TestApp) -> Spot<'_> {
        let run = match self {
            Field::Judgment | Field::Judgment2008 => {
                let date = if self == Field::Judgment { "2026-10-20" } else { "2026-04-02" };
                let mut request = transfer_request("standard");
                request["reference_date"] = json!(date);
                request["data"]["judgment_date"] = json!(date);
                request["data"]["effective_date"] = json!(date);
                Some(Run::start(app, &app.court(), request, "judgment_effective").await)
            }
            Field::Minutes => {
                let request = json!({
                    "workflow": "evidence_handover",
                    "parties": {"police": "CA-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
                    "data": {"judgment_number": "56/2026/HS-ST", "decision_number": "112/QĐ-THADS", "requested_on": "2026-11-16"}
                });
                let mut run = Run::start(app, &app.officer(), request, "requested").await;
                let schedule = json!({"handover_at": "2026-11-24T09:00:00+07:00", "place": "Kho vật chứng Công an thành phố Hà Nội"});
                run.step(&police(app), "schedule", schedule, "scheduled").await;
                Some(run)
            }
            Field::Instrument => None,
            Field::Reply => {
                let file = upload_pdf(app, &app.procuracy(), "yeu-cau.pdf").await;
                let request = supervision(Field::Instrument.with(Field::Instrument.data(), &[&id(&file)]));
                Some(Run::start(app, &app.procuracy(), request, "issued").await)
            }
            Field::Decision | Field::Decision2008 => {
                let date = if self == Field::Decision { "2026-11-10" } else { "2026-05-04" };
                let request = json!({
                    "workflow": "coercion_plan",
                    "reference_date": date,
                    "parties": {"enforcement": "THADS-HN", "police": "CA-HN", "procuracy": "VKS-HN", "commune": COMMUNE},
                    "data": {
                        "case_reference": "1520/QĐ-CTHADS",
                        "measure": "seize_property",
                        "location": "Thôn Đông, xã Đông Anh, thành phố Hà Nội",
                        "estimated_cost": "45000000",
                        "complex": false
                    }
                });
                Some(Run::start(app, &app.officer(), request, "drafted").await)
            }
        };
        if let Some(run) = &run {
            assert_eq!(run.last["workflow_version"], self.workflow_version(), "{self:?}: {}", run.last);
        }
        Spot { field: self, run }
    }
}

/// A procuracy_supervision creation request, from the Hà Nội procuracy to the Hà Nội office.
fn supervision(data: Value) -> Value {
    json!({
        "workflow": "procuracy_supervision",
        "parties": {"procuracy": "VKS-HN", "enforcement": "THADS-HN"},
        "data": data
    })
}

/// Where a field's step is fired: an instance at the state it is fired from, or, for a field
/// of the creation, the creation itself.
struct Spot<'a> {
    field: Field,
    run: Option<Run<'a>>,
}

impl Spot<'_> {
    async fn attempt(&self, app: &TestApp, data: Value) -> Response {
        let token = self.field.actor(app);
        match &self.run {
            Some(run) => app.fire(&run.id, &token, self.field.transition(), run.version, data).await,
            None => app.post("/api/v1/instances", &token, &supervision(data)).await,
        }
    }

    /// Fires the step with `data`, expecting a refusal that changes nothing; returns the
    /// problem.
    async fn refused(&self, app: &TestApp, data: Value, status: u16, code: &str) -> Value {
        let token = self.field.actor(app);
        match &self.run {
            Some(run) => run.refused(&token, self.field.transition(), data, status, code).await,
            None => {
                let before = supervisions(app).await;
                let problem = expect_problem(self.attempt(app, data).await, status, code).await;
                assert_eq!(supervisions(app).await, before, "a refused creation started an instance");
                problem
            }
        }
    }

    /// Fires the step with `data`, which it must take; returns the instance after it and the
    /// step's event.
    async fn taken(&mut self, app: &TestApp, data: Value) -> (Value, Value) {
        let token = self.field.actor(app);
        let (after, id) = match &mut self.run {
            Some(run) => {
                let after = run.step(&token, self.field.transition(), data, self.field.to()).await;
                (after, run.id.clone())
            }
            None => {
                let created = create(app, &token, &supervision(data)).await;
                assert_eq!(created["state"], "issued");
                let id = created["id"].as_str().unwrap().to_owned();
                (created, id)
            }
        };
        let r = app.get(&format!("/api/v1/instances/{id}/history"), &token).await;
        assert_eq!(r.status(), StatusCode::OK);
        let history: Value = r.json().await.unwrap();
        let event = history["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(event["transition"], self.field.transition(), "{history}");
        (after, event)
    }
}

/// The procuracy_supervision instances there are, as an auditor lists them.
async fn supervisions(app: &TestApp) -> usize {
    let r = app.get("/api/v1/instances?workflow=procuracy_supervision", &auditor(app)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page: Value = r.json().await.unwrap();
    page["items"].as_array().unwrap().len()
}

/// Checks that a document refusal names the field, once, and the document at fault.
fn names_the_document(problem: &Value, path: &str, document: &str) {
    assert_eq!(error_fields(problem), [path], "{problem}");
    let reason = problem["errors"][0]["reason"].as_str().unwrap();
    assert!(reason.contains(document), "{problem}");
}

/// Every refusal of a document field, then the step with a proper file. The proper file is
/// uploaded first and named in every refusal that can name it (with the bad one, in a field of
/// several; with the data otherwise broken, in a field of one): none of them may use it up.
async fn check_field(field: Field) {
    for backend in backends() {
        let max = field.max_mb() * MIB;
        let app = spawn_with(backend, |s| s.max_document_bytes = max + MIB).await;
        field.prepare(&app).await;
        let actor = field.actor(&app);
        let name = field.name();
        let path = format!("data.{name}");
        let data = field.data();
        let mut spot = field.spot(&app).await;
        // Uploaded by a colleague of the one who fires the step.
        let good = upload_pdf(&app, &field.colleague(&app), &format!("{name}.pdf")).await;
        let good_id = id(&good);
        // The data with `bad` in the field, beside the proper file in a field of several.
        let naming = |bad: &str| {
            if field.multiple() {
                field.with(data.clone(), &[&good_id, bad])
            } else {
                field.with(data.clone(), &[bad])
            }
        };

        // Missing.
        let problem = spot.refused(&app, data.clone(), 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), [path.as_str()], "{field:?}: {problem}");

        if field == Field::Instrument {
            // Only a start from an instance holding the file spares the creation its file: a
            // request cannot say it is one.
            let mut escalated = data.clone();
            escalated["file_in_origin"] = json!(true);
            let problem = spot.refused(&app, escalated, 422, "validation_failed").await;
            assert!(error_fields(&problem).contains(&"data.file_in_origin".to_owned()), "{problem}");
        }

        // Unknown.
        let unknown = uuid::Uuid::new_v4().to_string();
        let problem = spot.refused(&app, naming(&unknown), 422, "document_unknown").await;
        names_the_document(&problem, &path, &unknown);

        // Another agency's upload.
        let foreign = id(&upload_pdf(&app, &field.other(&app), "cua-co-quan-khac.pdf").await);
        let problem = spot.refused(&app, naming(&foreign), 422, "document_foreign").await;
        names_the_document(&problem, &path, &foreign);

        // Taken by the same step of another instance.
        let taken = upload_pdf(&app, &actor, "da-dung.pdf").await;
        let mut elsewhere = field.spot(&app).await;
        let (_, event) = elsewhere.taken(&app, field.with(data.clone(), &[&id(&taken)])).await;
        let recorded =
            if field.multiple() { event["data"][name][0].clone() } else { event["data"][name].clone() };
        assert_eq!(recorded, record(&taken), "{field:?}: {event}");
        let problem = spot.refused(&app, naming(&id(&taken)), 409, "document_used").await;
        names_the_document(&problem, &path, &id(&taken));

        // A type the field does not take.
        let wrong_types: Vec<Value> = if field.multiple() {
            vec![
                upload(
                    &app,
                    &actor,
                    "Biên bản giao nhận, bản đánh máy".as_bytes(),
                    "text/plain",
                    "bien-ban.txt",
                )
                .await,
            ]
        } else {
            vec![
                upload(&app, &actor, &PNG, "image/png", "anh-chup.png").await,
                upload(&app, &actor, &jpeg(), "image/jpeg", "anh-chup.jpg").await,
            ]
        };
        for wrong in &wrong_types {
            let problem = spot.refused(&app, naming(&id(wrong)), 422, "document_type_not_accepted").await;
            names_the_document(&problem, &path, &id(wrong));
        }

        // Larger than the field takes, by one byte.
        let large = upload(&app, &actor, &pdf_of(max + 1), "application/pdf", "qua-lon.pdf").await;
        let problem = spot.refused(&app, naming(&id(&large)), 422, "document_too_large").await;
        names_the_document(&problem, &path, &id(&large));

        // The proper file, with the rest of the data wrong.
        let (broken, broken_path) = field.broken(field.with(data.clone(), &[&good_id]));
        let problem = spot.refused(&app, broken, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), [broken_path], "{field:?}: {problem}");
        if field.multiple() {
            // The same document twice in the list.
            let twice = field.with(data.clone(), &[&good_id, &good_id]);
            let problem = spot.refused(&app, twice, 422, "validation_failed").await;
            assert_eq!(error_fields(&problem), [path.as_str()], "{problem}");
            // An empty list is no file at all.
            let problem = spot.refused(&app, field.with(data.clone(), &[]), 422, "validation_failed").await;
            assert_eq!(error_fields(&problem), [path.as_str()], "{problem}");
        }

        // Taken at last: the event and the instance keep what the upload was.
        let (documents, expected) = if field.multiple() {
            let png = upload(&app, &actor, &PNG, "image/png", "trang-2.png").await;
            (vec![good_id.clone(), id(&png)], json!([record(&good), record(&png)]))
        } else {
            (vec![good_id.clone()], record(&good))
        };
        let ids: Vec<&str> = documents.iter().map(String::as_str).collect();
        let (after, event) = spot.taken(&app, field.with(data.clone(), &ids)).await;
        assert_eq!(event["data"][name], expected, "{field:?} {backend:?}: {event}");
        assert_eq!(after["data"][name], expected, "{field:?} {backend:?}: {after}");
        assert_eq!(after["workflow_version"], field.workflow_version());
        // Taken once, it is used.
        let again = field.spot(&app).await;
        let problem = again.refused(&app, field.with(data.clone(), &[&good_id]), 409, "document_used").await;
        names_the_document(&problem, &path, &good_id);
    }
}

#[tokio::test]
async fn judgment_file_of_a_transfer_under_law_106() {
    check_field(Field::Judgment).await;
}

#[tokio::test]
async fn judgment_file_of_a_transfer_under_law_26_2008() {
    check_field(Field::Judgment2008).await;
}

#[tokio::test]
async fn minutes_file_of_an_evidence_handover() {
    check_field(Field::Minutes).await;
}

#[tokio::test]
async fn instrument_file_of_a_procuracy_supervision() {
    check_field(Field::Instrument).await;
}

#[tokio::test]
async fn reply_file_of_a_procuracy_supervision() {
    check_field(Field::Reply).await;
}

#[tokio::test]
async fn decision_file_of_a_coercion_plan_under_law_106() {
    check_field(Field::Decision).await;
}

#[tokio::test]
async fn decision_file_of_a_coercion_plan_under_law_26_2008() {
    check_field(Field::Decision2008).await;
}

/// A file of exactly the field's max_mb is taken.
#[tokio::test]
async fn a_file_of_exactly_max_mb_is_taken() {
    for backend in backends() {
        let field = Field::Judgment;
        let max = field.max_mb() * MIB;
        let app = spawn_with(backend, |s| s.max_document_bytes = max + MIB).await;
        let mut spot = field.spot(&app).await;
        let full = upload(&app, &app.court(), &pdf_of(max), "application/pdf", "ban-an-day-du.pdf").await;
        let (_, event) = spot.taken(&app, field.with(field.data(), &[&id(&full)])).await;
        assert_eq!(event["data"]["judgment_file"], record(&full), "{backend:?}");
    }
}

/// A `multipart/form-data` body, as a browser writes it: a plain field, then one file.
fn multipart(boundary: &str, file_name: &str, media_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nbiên bản\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: {media_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

async fn post_multipart(app: &TestApp, token: &str, body: Vec<u8>, boundary: &str) -> Response {
    app.client
        .post(app.url("/api/v1/documents"))
        .bearer_auth(token)
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Uploads refused: bytes that are not what they are said to be, a body over the service's
/// limit, an auditor's. A multipart upload keeps the part's file name.
#[tokio::test]
async fn uploads_are_refused_or_kept_as_they_are() {
    for backend in backends() {
        let max = 64 * 1024;
        let app = spawn_with(backend, |s| s.max_document_bytes = max).await;
        let court = app.court();

        // PNG bytes said to be a PDF, and the other way round.
        let problem = expect_problem(
            app.upload(&court, PNG.to_vec(), "application/pdf").await,
            415,
            "document_type_mismatch",
        )
        .await;
        assert!(problem["detail"].as_str().unwrap().contains("image/png"), "{problem}");
        expect_problem(app.upload(&court, pdf("sai loại"), "image/png").await, 415, "document_type_mismatch")
            .await;

        // Bytes of a type the service does not keep, said to be what they are.
        let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
        expect_problem(app.upload(&court, gif.to_vec(), "image/gif").await, 415, "unsupported_media_type")
            .await;
        // Nothing at all.
        expect_problem(app.upload(&court, Vec::new(), "application/pdf").await, 422, "validation_failed")
            .await;
        // No type said, or only "bytes": the type is read from them.
        for declared in [None, Some("application/octet-stream")] {
            let bytes = pdf("không nói loại");
            let mut request =
                app.client.post(app.url("/api/v1/documents")).bearer_auth(&court).body(bytes.clone());
            if let Some(declared) = declared {
                request = request.header("Content-Type", declared);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::CREATED, "{declared:?}");
            let document: Value = r.json().await.unwrap();
            assert_eq!(document["media_type"], "application/pdf", "{declared:?}: {document}");
            assert_eq!(document["sha256"], sha256(&bytes));
            assert_eq!(document["name"], "document", "{document}");
        }
        // A name given with its folders keeps only its last part.
        for (given, kept) in
            [(r"C:\Users\thu-ky\Bản án.pdf", "Bản án.pdf"), ("../../etc/passwd.pdf", "passwd.pdf")]
        {
            let r = app
                .client
                .post(app.url("/api/v1/documents"))
                .query(&[("name", given)])
                .bearer_auth(&court)
                .header("Content-Type", "application/pdf")
                .body(pdf(given))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED, "{given}");
            assert_eq!(r.json::<Value>().await.unwrap()["name"], kept, "{given}");
        }

        // One byte over the limit; the limit itself is kept.
        expect_problem(
            app.upload(&court, pdf_of(max + 1), "application/pdf").await,
            413,
            "payload_too_large",
        )
        .await;
        upload(&app, &court, &pdf_of(max), "application/pdf", "vua-du.pdf").await;

        // Auditors read; they upload nothing.
        expect_problem(
            app.upload(&auditor(&app), pdf("kiểm toán"), "application/pdf").await,
            403,
            "forbidden",
        )
        .await;
        // Nor do admins, whose agency may not even be on record, nor an agency not on record.
        let admin = app.upload(&app.admin(), b"{}".to_vec(), "text/plain").await;
        expect_problem(admin, 403, "forbidden").await;
        let stranger = app.token("court-x", "TAND-XX", &[lienganh::domain::Role::CourtLiaison]);
        let r = app.upload(&stranger, pdf("lạ"), "application/pdf").await;
        expect_problem(r, 403, "forbidden").await;
        let boundary = "lienganh-boundary-7f3a";
        let body = multipart(boundary, "kiem-toan.pdf", "application/pdf", &pdf("kiểm toán"));
        expect_problem(post_multipart(&app, &auditor(&app), body, boundary).await, 403, "forbidden").await;

        // Multipart: the part's file name, its bytes as they were.
        let bytes = pdf("biên bản");
        let body = multipart(boundary, "Biên bản giao nhận.pdf", "application/pdf", &bytes);
        let r = post_multipart(&app, &court, body, boundary).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{backend:?}");
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let document: Value = r.json().await.unwrap();
        assert_eq!(location, Some(format!("/api/v1/documents/{}", id(&document))));
        assert_eq!(document["name"], "Biên bản giao nhận.pdf", "{document}");
        assert_eq!(document["media_type"], "application/pdf");
        assert_eq!(document["size"], bytes.len());
        assert_eq!(document["sha256"], sha256(&bytes));
        assert_eq!(document["used"], false);
        // It is a document like any other: a step takes it.
        let mut spot = Field::Judgment.spot(&app).await;
        let (_, event) =
            spot.taken(&app, Field::Judgment.with(Field::Judgment.data(), &[&id(&document)])).await;
        assert_eq!(event["data"]["judgment_file"], record(&document));
        // Multipart is held to the same rules.
        let body = multipart(boundary, "anh.pdf", "application/pdf", &PNG);
        expect_problem(post_multipart(&app, &court, body, boundary).await, 415, "document_type_mismatch")
            .await;
        let body = multipart(boundary, "qua-lon.pdf", "application/pdf", &pdf_of(max + 1));
        expect_problem(post_multipart(&app, &court, body, boundary).await, 413, "payload_too_large").await;
    }
}

/// Downloads `document` as `token`; expects the exact bytes of `document` with the headers of an
/// attachment.
async fn downloads(app: &TestApp, token: &str, document: &Value, bytes: &[u8]) {
    let r = app.get(&format!("/api/v1/documents/{}", id(document)), token).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", app.backend);
    let header =
        |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("etag"), format!("\"{}\"", sha256(bytes)));
    let disposition = header("content-disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    // The name as given, in UTF-8 (RFC 8187), with an ASCII stand-in for older clients.
    let plain =
        disposition.split("filename=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
    assert!(!plain.is_empty() && plain.is_ascii(), "{disposition}");
    let encoded = disposition.split("filename*=UTF-8''").nth(1).unwrap_or_default();
    let encoded = encoded.split(';').next().unwrap_or_default().trim();
    assert_eq!(percent_decode(encoded), document["name"].as_str().unwrap(), "{disposition}");
    let got = r.bytes().await.unwrap();
    assert_eq!(got.as_ref(), bytes, "the bytes as uploaded");
}

/// `text` with its `%XX` escapes decoded, as UTF-8.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = text.get(i + 1..i + 3).filter(|_| bytes[i] == b'%');
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The reads of a case's personal data, as its office's head lists them: (who, agency, route).
async fn reads(app: &TestApp, case_id: &str) -> Vec<(String, String, String)> {
    let r = app.get(&format!("/api/v1/cases/{case_id}/reads"), &app.head()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page: Value = r.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |v: &Value| v.as_str().unwrap().to_owned();
            (s(&r["reader_sub"]), s(&r["reader_agency"]), s(&r["route"]))
        })
        .collect()
}

/// A document goes to those who can see an instance that took it, as it was uploaded; to
/// nobody before a step takes it. Downloads beyond the case's own office and court are
/// recorded among the case's reads of personal data.
#[tokio::test]
async fn downloads_go_to_the_parties_and_are_recorded_beyond_the_case() {
    for backend in backends() {
        let app = spawn(backend).await;
        let case = crate::cases::case("THADS-HN", "HN-77", "2026-08-03", "5000000");
        let r = app.post("/api/v1/cases", &app.officer(), &case).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let case_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

        let mut request = transfer_request("standard");
        request["case_id"] = json!(case_id);
        request["reference_date"] = json!("2026-10-20");
        request["data"]["effective_date"] = json!("2026-10-20");
        let mut run = Run::start(&app, &app.court(), request, "judgment_effective").await;
        let bytes = pdf("bản án");
        let document = upload(&app, &app.court(), &bytes, "application/pdf", "Bản án 125-2026.pdf").await;
        let path = format!("/api/v1/documents/{}", id(&document));

        // Before a step takes it, nobody downloads it, not even its uploader.
        for token in [app.court(), app.officer(), auditor(&app)] {
            expect_problem(app.get(&path, &token).await, 404, "not_found").await;
        }
        run.step(
            &app.court(),
            "transfer",
            Field::Judgment.with(Field::Judgment.data(), &[&id(&document)]),
            "transferred",
        )
        .await;
        // Refused downloads showed nothing, and recorded nothing.
        let before = reads(&app, &case_id).await;
        assert!(before.is_empty(), "{backend:?}: {before:?}");

        // The parties, and those who read everything.
        for token in [app.court(), app.officer(), app.head(), app.procuracy(), auditor(&app)] {
            downloads(&app, &token, &document, &bytes).await;
        }
        // Lào Cai's court and office are no party.
        let lao_cai_court = app.token("court-lc", "TAND-LC", &[Role::CourtLiaison]);
        let lao_cai_office = app.token("officer-lc", "THADS-LC", &[Role::EnforcementOfficer]);
        for token in [lao_cai_court, lao_cai_office] {
            expect_problem(app.get(&path, &token).await, 404, "not_found").await;
        }
        // No such document.
        let unknown = format!("/api/v1/documents/{}", uuid::Uuid::new_v4());
        expect_problem(app.get(&unknown, &app.court()).await, 404, "not_found").await;

        // The case's own court and office download as their own business; the procuracy and
        // the auditor are beyond them, and recorded.
        let after = reads(&app, &case_id).await;
        let route = "GET /api/v1/documents/{id}".to_owned();
        assert_eq!(
            after,
            [
                ("vks-1".to_owned(), "VKS-HN".to_owned(), route.clone()),
                ("audit-1".to_owned(), "TTCP".to_owned(), route),
            ],
            "{backend:?}: {after:?}"
        );
    }
}

/// The file that keeps the bytes of `sha256` in the app's documents folder.
fn stored(app: &TestApp, sha256: &str) -> PathBuf {
    app.dir().join("documents").join("sha256").join(&sha256[..2]).join(sha256)
}

/// Runs the binary with `args` over the app's database and documents folder: (exit code,
/// standard output, standard error).
fn cli(app: &TestApp, args: &[&str]) -> (Option<i32>, String, String) {
    let out = lienganh()
        .current_dir(app.dir())
        .env("LIENGANH_DATABASE_URL", &app.database_url)
        .env("LIENGANH_DOCUMENTS_URL", app.dir().join("documents"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `audit verify` re-hashes every stored document: it passes over sound ones, and names one
/// altered by a single byte and one deleted.
#[tokio::test]
async fn audit_verify_names_altered_and_missing_documents() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut spot = Field::Judgment.spot(&app).await;
        let used_bytes = pdf("bản án");
        let used = upload(&app, &app.court(), &used_bytes, "application/pdf", "ban-an.pdf").await;
        spot.taken(&app, Field::Judgment.with(Field::Judgment.data(), &[&id(&used)])).await;
        let unused_bytes = pdf("chưa dùng");
        upload(&app, &app.court(), &unused_bytes, "application/pdf", "chua-dung.pdf").await;
        let (used_sha, unused_sha) = (sha256(&used_bytes), sha256(&unused_bytes));
        assert!(stored(&app, &used_sha).is_file() && stored(&app, &unused_sha).is_file());
        let total = used_bytes.len() + unused_bytes.len();

        let (code, out, err) = cli(&app, &["audit", "verify"]);
        assert_eq!(code, Some(0), "{backend:?}: {out}{err}");
        assert!(
            out.contains(&format!(
                "verified 2 stored documents ({total} bytes) against their SHA-256: 0 broken\n"
            )),
            "{out}"
        );
        assert!(!out.contains("BROKEN"), "{out}");

        // One byte changed in one, the other gone.
        let mut altered = std::fs::read(stored(&app, &used_sha)).unwrap();
        altered[10] ^= 0x01;
        std::fs::write(stored(&app, &used_sha), &altered).unwrap();
        std::fs::remove_file(stored(&app, &unused_sha)).unwrap();

        let (code, out, err) = cli(&app, &["audit", "verify"]);
        assert_eq!(code, Some(1), "{backend:?}: {out}{err}");
        let broken: Vec<&str> = out.lines().filter(|l| l.starts_with("BROKEN")).collect();
        assert_eq!(broken.len(), 2, "{out}");
        let altered_line = format!("BROKEN document {used_sha}: ");
        let missing_line = format!("BROKEN document {unused_sha}: ");
        assert!(broken.iter().any(|l| l.starts_with(&altered_line) && l.contains("altered")), "{out}");
        assert!(broken.iter().any(|l| l.starts_with(&missing_line) && l.contains("missing")), "{out}");
        assert!(out.contains("verified 2 stored documents ("), "{out}");
        assert!(out.contains("against their SHA-256: 2 broken\n"), "{out}");
        // The histories themselves are sound: only the documents are broken.
        assert!(out.contains("): 0 broken\nverified 2 stored documents"), "{out}");
    }
}

/// Uploads no step took within a day are removed by the background jobs' pass; a used one
/// stays. The bytes go with the last upload that holds them.
#[tokio::test]
async fn unused_uploads_are_removed_after_a_day() {
    for backend in backends() {
        let app = spawn(backend).await;
        let court = app.court();
        // Alone with its bytes.
        let lone_bytes = pdf("một mình");
        let lone = upload(&app, &court, &lone_bytes, "application/pdf", "mot-minh.pdf").await;
        // Taken by a step; a second upload of the same bytes, never taken.
        let shared_bytes = pdf("dùng chung");
        let used = upload(&app, &court, &shared_bytes, "application/pdf", "ban-chinh.pdf").await;
        let twin = upload(&app, &court, &shared_bytes, "application/pdf", "ban-sao.pdf").await;
        let mut spot = Field::Judgment.spot(&app).await;
        spot.taken(&app, Field::Judgment.with(Field::Judgment.data(), &[&id(&used)])).await;
        // Two uploads of the same bytes, neither taken.
        let pair_bytes = pdf("cặp");
        let first = upload(&app, &court, &pair_bytes, "application/pdf", "cap-1.pdf").await;
        let second = upload(&app, &court, &pair_bytes, "application/pdf", "cap-2.pdf").await;
        let (lone_sha, shared_sha, pair_sha) =
            (sha256(&lone_bytes), sha256(&shared_bytes), sha256(&pair_bytes));
        for sha in [&lone_sha, &shared_sha, &pair_sha] {
            assert!(stored(&app, sha).is_file(), "{sha}");
        }

        // 23 hours on, nothing is old enough.
        let now = chrono::Utc::now();
        let at = |hours: i64| (now + chrono::Duration::hours(hours)).to_rfc3339();
        let (code, out, err) = cli(&app, &["remind", "--once", "--now", &at(23)]);
        assert_eq!(code, Some(0), "{backend:?}: {out}{err}");
        assert!(!out.contains("uploads no step took removed"), "{out}");
        for sha in [&lone_sha, &shared_sha, &pair_sha] {
            assert!(stored(&app, sha).is_file(), "{sha}");
        }

        // 25 hours on, the four uploads no step took are gone.
        let (code, out, err) = cli(&app, &["remind", "--once", "--now", &at(25)]);
        assert_eq!(code, Some(0), "{backend:?}: {out}{err}");
        assert!(out.contains("uploads no step took removed 4\n"), "{backend:?}: {out}{err}");
        assert!(err.is_empty() || !err.contains("were not removed"), "{err}");
        assert!(!stored(&app, &lone_sha).exists(), "{backend:?}: the bytes of the lone upload stay");
        assert!(!stored(&app, &pair_sha).exists(), "{backend:?}: the bytes of the pair stay");
        assert!(stored(&app, &shared_sha).is_file(), "{backend:?}: the used document's bytes are gone");

        // A step can no longer name them; the used one is still there, and downloads.
        let spot = Field::Judgment.spot(&app).await;
        for gone in [&lone, &twin, &first, &second] {
            let data = Field::Judgment.with(Field::Judgment.data(), &[&id(gone)]);
            let problem = spot.refused(&app, data, 422, "document_unknown").await;
            names_the_document(&problem, "data.judgment_file", &id(gone));
            expect_problem(
                app.get(&format!("/api/v1/documents/{}", id(gone)), &court).await,
                404,
                "not_found",
            )
            .await;
        }
        let r = app.get(&format!("/api/v1/documents/{}", id(&used)), &court).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.bytes().await.unwrap().as_ref(), shared_bytes.as_slice());

        // What remains verifies.
        let (code, out, err) = cli(&app, &["audit", "verify"]);
        assert_eq!(code, Some(0), "{backend:?}: {out}{err}");
        assert!(out.contains("verified 1 stored documents ("), "{out}");
    }
}
