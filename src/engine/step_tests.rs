use std::path::Path;

use serde_json::json;

use super::*;
use crate::engine::loader::parse_definition;

fn court_transfer() -> Definition {
    let text = include_str!("../../workflows/court_transfer.2008.toml");
    parse_definition(Path::new("court_transfer.2008.toml"), text).unwrap()
}

fn code(c: &str) -> AgencyCode {
    AgencyCode::parse(c).unwrap()
}

fn actor(agency: &str, roles: &[Role]) -> Actor {
    Actor { sub: "u".into(), name: "U".into(), agency: code(agency), roles: roles.to_vec() }
}

fn agency(c: &str, kind: AgencyKind, parent: Option<&str>) -> BoundAgency {
    BoundAgency { code: code(c), kind, parent: parent.map(code) }
}

fn bound() -> BTreeMap<String, BoundAgency> {
    BTreeMap::from([
        ("court".into(), agency("TAND-HN", AgencyKind::Court, None)),
        ("enforcement".into(), agency("THADS-HN", AgencyKind::Enforcement, None)),
        ("procuracy".into(), agency("VKS-HN", AgencyKind::Procuracy, None)),
    ])
}

fn parties() -> BTreeMap<String, AgencyCode> {
    codes(&bound())
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn creation(category: &str) -> Map<String, Value> {
    obj(
        json!({"judgment_number": "1/2026", "judgment_date": "2026-03-01", "effective_date": "2026-03-20", "category": category}),
    )
}

fn names(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::OpenDeadline { deadline, .. } => format!("open {deadline}"),
            Action::CloseDeadline { deadline } => format!("close {deadline}"),
            Action::SuspendDeadline { deadline } => format!("suspend {deadline}"),
            Action::ResumeDeadline { deadline } => format!("resume {deadline}"),
            Action::ExtendDeadline { deadline, by } => format!("extend {deadline} by {by}"),
            Action::Notify { slot, .. } => format!("notify {slot}"),
        })
        .collect()
}

const NONE: &Pending = &BTreeMap::new();
const NO_PARENTS: &BTreeMap<String, AgencyCode> = &BTreeMap::new();

fn cal() -> Calendar {
    Calendar::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/calendar/holidays.toml")).unwrap()
}

#[test]
fn start_opens_the_deadline_that_fits_the_category() {
    let def = court_transfer();
    let court = actor("TAND-HN", &[Role::CourtLiaison]);
    let d = start(&def, &bound(), &court, &creation("standard"), &cal()).unwrap();
    assert_eq!((d.from, d.to.as_str(), d.role), (None, "judgment_effective", Role::CourtLiaison));
    assert_eq!(
        d.actions[0],
        Action::OpenDeadline {
            deadline: "transfer".into(),
            responsible: code("TAND-HN"),
            escalate_slot: "procuracy".into(),
            escalate_to: Some(code("VKS-HN")),
            starts_at: Some("2026-03-20".into()),
            due_date: None,
        }
    );
    // The other parties learn of the new instance; the court that started it does not need to.
    assert_eq!(names(&d.actions[1..]), ["notify enforcement", "notify procuracy"]);
    let urgent = start(&def, &bound(), &court, &creation("urgent_measure"), &cal()).unwrap();
    assert_eq!(names(&urgent.actions), ["open transfer_urgent", "notify enforcement", "notify procuracy"]);
}

#[test]
fn start_checks_parties_and_who_starts() {
    let def = court_transfer();
    let court = actor("TAND-HN", &[Role::CourtLiaison]);
    let mut wrong_kind = bound();
    wrong_kind.insert("procuracy".into(), agency("CA-HN", AgencyKind::Police, None));
    wrong_kind.remove("court");
    let Err(Refusal::InvalidParties(errors)) =
        start(&def, &wrong_kind, &court, &creation("standard"), &cal())
    else {
        panic!("parties accepted")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["parties.court", "parties.procuracy"]);

    let head = actor("THADS-HN", &[Role::EnforcementHead]);
    assert_eq!(
        start(&def, &bound(), &head, &creation("standard"), &cal()),
        Err(Refusal::WrongAgency { slot: "court".into() })
    );
    let clerk = actor("TAND-HN", &[Role::Auditor]);
    assert!(matches!(
        start(&def, &bound(), &clerk, &creation("standard"), &cal()),
        Err(Refusal::WrongRole { .. })
    ));
}

#[test]
fn a_step_closes_the_left_deadlines_and_opens_the_entered_ones() {
    let def = court_transfer();
    let p = parties();
    let data = creation("standard");
    let head = actor("THADS-HN", &[Role::EnforcementHead]);
    let given = obj(json!({"decision_number": "9/QĐ", "decision_date": "2026-04-02"}));
    let inst =
        InstanceView { state: "registered", parties: &p, data: &data, pending: NONE, parents: NO_PARENTS };
    let d = fire(&def, inst, &head, "issue_decision", &given, &cal()).unwrap();
    assert_eq!(d.to, "decision_issued");
    assert_eq!(d.merged_data["decision_date"], "2026-04-02");
    assert_eq!(
        names(&d.actions),
        ["close enforcement_decision", "open assign_officer", "open send_decision"]
    );

    // The notification clock spans two states: assigning the officer keeps it running.
    let after = d.merged_data;
    let inst = InstanceView {
        state: "decision_issued",
        parties: &p,
        data: &after,
        pending: NONE,
        parents: NO_PARENTS,
    };
    let given = obj(json!({"officer_name": "A", "assigned_date": "2026-04-03"}));
    let d = fire(&def, inst, &head, "assign_officer", &given, &cal()).unwrap();
    assert_eq!(names(&d.actions), ["close assign_officer"]);
}

#[test]
fn refusals_name_their_reason() {
    let def = court_transfer();
    let p = parties();
    let data = creation("standard");
    let inst = InstanceView {
        state: "judgment_effective",
        parties: &p,
        data: &data,
        pending: NONE,
        parents: NO_PARENTS,
    };
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let none = Map::new();
    assert_eq!(
        fire(&def, inst, &officer, "fly", &none, &cal()),
        Err(Refusal::UnknownTransition("fly".into()))
    );
    assert_eq!(
        fire(&def, inst, &officer, "register", &none, &cal()),
        Err(Refusal::NotFromState { transition: "register".into(), state: "judgment_effective".into() })
    );
    assert_eq!(
        fire(&def, inst, &officer, "transfer", &none, &cal()),
        Err(Refusal::WrongAgency { slot: "court".into() })
    );
    let court = actor("TAND-HN", &[Role::CourtLiaison]);
    let Err(Refusal::InvalidData(errors)) = fire(&def, inst, &court, "transfer", &none, &cal()) else {
        panic!("empty data accepted")
    };
    assert_eq!(errors.len(), 3);
}

#[test]
fn available_lists_only_the_callers_steps() {
    let def = court_transfer();
    let p = parties();
    let data = creation("standard");
    let inst =
        InstanceView { state: "transferred", parties: &p, data: &data, pending: NONE, parents: NO_PARENTS };
    let names = |a: &Actor| available(&def, inst, a).into_iter().map(|t| t.name.as_str()).collect::<Vec<_>>();
    assert_eq!(names(&actor("THADS-HN", &[Role::EnforcementOfficer])), ["register", "return_to_court"]);
    assert!(names(&actor("TAND-HN", &[Role::CourtLiaison])).is_empty());
    assert!(names(&actor("THADS-LC", &[Role::EnforcementHead])).is_empty());
}

/// A small handover: the sender lists items, the receiver confirms them, a discrepancy needs
/// both to sign a resolution; a yearly review restarts its clock; a complex case goes to the
/// committee; entrustment between offices of one province is refused.
const HANDOVER: &str = r#"
id = "handover"
version = 1
valid_from = 2026-07-01
title_vi = "Giao nhận"
title_en = "Handover"
law = "Luật 106/2025/QH15"
initial_state = "open"

[[parties]]
slot = "sender"
kind = "police"
title_vi = "Bên giao"
title_en = "Sender"

[[parties]]
slot = "receiver"
kind = "enforcement"
title_vi = "Bên nhận"
title_en = "Receiver"

[[parties]]
slot = "other"
kind = "enforcement"
required = false
title_vi = "Cơ quan khác"
title_en = "Other office"

[[parties]]
slot = "committee"
kind = "steering_committee"
required = false
title_vi = "Ban chỉ đạo"
title_en = "Committee"

[[party_rules]]
rule = "different_province"
slots = ["receiver", "other"]
legal_basis = "Luật 106/2025/QH15"

[[states]]
name = "open"
title_vi = "Mở"
title_en = "Open"

[[states]]
name = "sent"
title_vi = "Đã giao"
title_en = "Sent"

[[states]]
name = "disputed"
title_vi = "Có chênh lệch"
title_en = "Disputed"

[[states]]
name = "stored"
title_vi = "Đã nhập kho"
title_en = "Stored"

[[states]]
name = "done"
title_vi = "Xong"
title_en = "Done"
terminal = true

[create]
party = "receiver"
roles = ["enforcement_officer"]

[[create.data]]
name = "complex"
type = "boolean"
title_vi = "Phức tạp"
title_en = "Complex"

[[create.data]]
name = "received_on"
type = "date"
required = false
title_vi = "Ngày nhận"
title_en = "Received on"

[[create.data]]
name = "protested_on"
type = "date"
required = false
title_vi = "Ngày kháng nghị"
title_en = "Protested on"

[[create.checks]]
field = "protested_on"
after_field = "received_on"
within_days = 15
legal_basis = "Điều 160"

[[transitions]]
name = "send"
title_vi = "Giao"
title_en = "Send"
from = ["open"]
to = "sent"
party = "sender"
roles = ["police_liaison"]

[[transitions.data]]
name = "items"
type = "items"
title_vi = "Danh mục"
title_en = "Items"

[[transitions]]
name = "confirm"
title_vi = "Xác nhận"
title_en = "Confirm"
from = ["sent"]
to = "stored"
party = "receiver"
roles = ["enforcement_officer"]
routes = [{ when = { discrepancy_in = "receipt" }, to = "disputed" }]

[[transitions.data]]
name = "receipt"
type = "receipt"
of = "items"
title_vi = "Biên bản nhận"
title_en = "Receipt"

[[transitions]]
name = "resolve"
title_vi = "Giải quyết chênh lệch"
title_en = "Resolve"
from = ["disputed"]
to = "stored"
signed_by = ["sender", "receiver"]
roles = ["police_liaison", "enforcement_officer"]

[[transitions.data]]
name = "resolution"
type = "text"
title_vi = "Kết quả"
title_en = "Resolution"

[[transitions]]
name = "review"
title_vi = "Rà soát"
title_en = "Review"
from = ["stored"]
to = "stored"
party = "receiver"
roles = ["enforcement_officer"]

[[transitions]]
name = "dispose"
title_vi = "Xử lý"
title_en = "Dispose"
from = ["stored"]
to = "done"
party = "receiver"
roles = ["enforcement_officer"]
guard = { field = "complex", is = false }

[[transitions]]
name = "dispose_complex"
title_vi = "Xử lý (phức tạp)"
title_en = "Dispose (complex)"
from = ["stored"]
to = "done"
party = "committee"
roles = ["steering_member"]
guard = { field = "complex", is = true }

[[deadlines]]
name = "resolve"
states = ["disputed"]
duration = 5
unit = "working_days"
responsible = "receiver"
escalate_to = "sender"
legal_basis = "operational"

[[deadlines]]
name = "review"
states = ["stored"]
duration = 12
unit = "months"
responsible = "receiver"
escalate_to = "sender"
restarted_by = ["review"]
legal_basis = "Thông tư 01/2017/TT-BTP"
"#;

fn handover() -> Definition {
    parse_definition(Path::new("handover.toml"), HANDOVER).unwrap()
}

fn handover_parties() -> BTreeMap<String, AgencyCode> {
    BTreeMap::from([("sender".into(), code("CA-HN")), ("receiver".into(), code("THADS-HN"))])
}

#[test]
fn a_discrepancy_routes_to_the_dispute_and_both_sides_must_sign() {
    let def = handover();
    let p = handover_parties();
    let police = actor("CA-HN", &[Role::PoliceLiaison]);
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let items = json!([{"description": "Xe máy", "quantity": "1", "unit": "chiếc"}, {"description": "Điện thoại", "quantity": "2", "unit": "chiếc"}]);
    let data = obj(json!({"complex": false, "items": items}));
    let inst = InstanceView { state: "sent", parties: &p, data: &data, pending: NONE, parents: NO_PARENTS };

    let all = obj(json!({"receipt": [{"item": 1, "status": "received"}, {"item": 2, "status": "received"}]}));
    assert_eq!(fire(&def, inst, &officer, "confirm", &all, &cal()).unwrap().to, "stored");
    let short = obj(
        json!({"receipt": [{"item": 1, "status": "received"}, {"item": 2, "status": "missing", "note": "thiếu 1"}]}),
    );
    let d = fire(&def, inst, &officer, "confirm", &short, &cal()).unwrap();
    assert_eq!(d.to, "disputed");
    assert_eq!(names(&d.actions), ["open resolve"]);

    // The police sign first, stating the resolution; the instance stays disputed.
    let disputed = d.merged_data;
    let inst =
        InstanceView { state: "disputed", parties: &p, data: &disputed, pending: NONE, parents: NO_PARENTS };
    let resolution = obj(json!({"resolution": "Biên bản bổ sung: 1 điện thoại chưa bàn giao"}));
    let first = fire(&def, inst, &police, "resolve", &resolution, &cal()).unwrap();
    assert_eq!(first.to, "disputed");
    assert_eq!(
        first.joint,
        Some(JointProgress { slot: "sender".into(), complete: false, proposal: Some(resolution.clone()) })
    );
    assert_eq!(names(&first.actions), ["notify receiver"]);
    // The proposal is recorded with the signature but is not the instance's data yet.
    assert_eq!(first.data[PROPOSAL]["resolution"], resolution["resolution"]);
    assert!(!first.merged_data.contains_key("resolution"));

    let signed = |slot: &str| Signature {
        slot: slot.into(),
        sub: "u".into(),
        name: "U".into(),
        agency: "X".into(),
        role: "r".into(),
        at: "t".into(),
        seq: 5,
    };
    let pending = BTreeMap::from([(
        "resolve".to_owned(),
        PendingJoint { proposal: resolution.clone(), signatures: vec![signed("sender")] },
    )]);
    let merged = first.merged_data;
    let inst = InstanceView {
        state: "disputed",
        parties: &p,
        data: &merged,
        pending: &pending,
        parents: NO_PARENTS,
    };
    // The police cannot sign twice, nor the receiver restate the data.
    assert!(matches!(
        fire(&def, inst, &police, "resolve", &Map::new(), &cal()),
        Err(Refusal::AlreadySigned(_))
    ));
    assert!(matches!(
        fire(&def, inst, &officer, "resolve", &resolution, &cal()),
        Err(Refusal::InvalidData(_))
    ));
    assert_eq!(available(&def, inst, &police).len(), 0);
    let last = fire(&def, inst, &officer, "resolve", &Map::new(), &cal()).unwrap();
    assert_eq!(last.to, "stored");
    assert_eq!(last.joint, Some(JointProgress { slot: "receiver".into(), complete: true, proposal: None }));
    // With the last signature the proposal becomes the step's data.
    assert_eq!(last.data, resolution);
    assert_eq!(last.merged_data["resolution"], resolution["resolution"]);
    assert_eq!(names(&last.actions), ["close resolve", "open review"]);
}

#[test]
fn guards_restarts_and_optional_parties() {
    let def = handover();
    let mut p = handover_parties();
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let simple = obj(json!({"complex": false}));
    let inst =
        InstanceView { state: "stored", parties: &p, data: &simple, pending: NONE, parents: NO_PARENTS };
    assert_eq!(
        names(&fire(&def, inst, &officer, "review", &Map::new(), &cal()).unwrap().actions),
        ["close review", "open review"]
    );
    let steps: Vec<&str> = available(&def, inst, &officer).iter().map(|t| t.name.as_str()).collect();
    assert_eq!(steps, ["review", "dispose"]);

    // A complex case is disposed of by the committee, which must then be bound.
    let complex = obj(json!({"complex": true}));
    let inst =
        InstanceView { state: "stored", parties: &p, data: &complex, pending: NONE, parents: NO_PARENTS };
    assert!(matches!(
        fire(&def, inst, &officer, "dispose", &Map::new(), &cal()),
        Err(Refusal::GuardFailed { .. })
    ));
    let member = actor("BCD-HN", &[Role::SteeringMember]);
    assert!(matches!(
        fire(&def, inst, &member, "dispose_complex", &Map::new(), &cal()),
        Err(Refusal::GuardFailed { .. })
    ));
    p.insert("committee".into(), code("BCD-HN"));
    let inst =
        InstanceView { state: "stored", parties: &p, data: &complex, pending: NONE, parents: NO_PARENTS };
    assert_eq!(fire(&def, inst, &member, "dispose_complex", &Map::new(), &cal()).unwrap().to, "done");
}

#[test]
fn party_rules_and_date_checks_are_enforced_at_the_start() {
    let def = handover();
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let mut parties = BTreeMap::from([
        ("sender".to_owned(), agency("CA-HN", AgencyKind::Police, None)),
        ("receiver".to_owned(), agency("THADS-HN", AgencyKind::Enforcement, None)),
    ]);
    let given = obj(json!({"complex": false, "received_on": "2026-08-01", "protested_on": "2026-08-16"}));
    assert!(start(&def, &parties, &officer, &given, &cal()).is_ok());
    let late = obj(json!({"complex": false, "received_on": "2026-08-01", "protested_on": "2026-08-17"}));
    let Err(Refusal::InvalidData(errors)) = start(&def, &parties, &officer, &late, &cal()) else {
        panic!("late accepted")
    };
    assert!(errors[0].reason.contains("16 days") && errors[0].reason.contains("Điều 160"), "{errors:?}");

    // A regional office of the same province is refused; another province's office is not.
    parties.insert("other".into(), agency("THADS-HN-KV1", AgencyKind::Enforcement, Some("THADS-HN")));
    let Err(Refusal::InvalidParties(errors)) = start(&def, &parties, &officer, &given, &cal()) else {
        panic!("same province accepted")
    };
    assert_eq!(errors[0].field, "parties.other");
    parties.insert("other".into(), agency("THADS-LC-KV2", AgencyKind::Enforcement, Some("THADS-LC")));
    assert!(start(&def, &parties, &officer, &given, &cal()).is_ok());
}

/// The handover with a committee that takes escalations when bound, and steps that suspend,
/// resume and extend the yearly review.
fn handover_with_clock_steps() -> Definition {
    let mut text = HANDOVER
        .replace(
            "escalate_to = \"sender\"\nlegal_basis = \"operational\"",
            "escalate_to = \"sender\"\nescalate_first_to = \"committee\"\nlegal_basis = \"operational\"",
        )
        .replace(
            "restarted_by = [\"review\"]\n",
            "restarted_by = [\"review\"]\nsuspended_by = [\"pause\"]\nresumed_by = [\"go_on\"]\n\
             extended_by = [\"extend\"]\nextension_field = \"extra\"\n",
        );
    for (name, data) in [("pause", ""), ("go_on", ""), ("extend", "extra")] {
        text.push_str(&format!(
            "\n[[transitions]]\nname = \"{name}\"\ntitle_vi = \"{name}\"\ntitle_en = \"{name}\"\n\
             from = [\"stored\"]\nto = \"stored\"\nparty = \"receiver\"\nroles = [\"enforcement_officer\"]\n"
        ));
        if !data.is_empty() {
            text.push_str(&format!(
                "\n[[transitions.data]]\nname = \"{data}\"\ntype = \"integer\"\ntitle_vi = \"Số ngày\"\ntitle_en = \"Days\"\n"
            ));
        }
    }
    parse_definition(Path::new("handover.toml"), &text).unwrap()
}

#[test]
fn an_escalation_goes_first_to_the_optional_slot_when_it_is_bound() {
    let def = handover_with_clock_steps();
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let data = obj(
        json!({"complex": false, "items": [{"description": "Xe máy", "quantity": "1", "unit": "chiếc"}]}),
    );
    let short = obj(json!({"receipt": [{"item": 1, "status": "missing", "note": "không có"}]}));
    let escalation = |p: &BTreeMap<String, AgencyCode>| {
        let inst =
            InstanceView { state: "sent", parties: p, data: &data, pending: NONE, parents: NO_PARENTS };
        let d = fire(&def, inst, &officer, "confirm", &short, &cal()).unwrap();
        match &d.actions[0] {
            Action::OpenDeadline { escalate_slot, escalate_to, .. } => {
                (escalate_slot.clone(), escalate_to.clone())
            }
            other => panic!("{other:?}"),
        }
    };
    let mut p = handover_parties();
    assert_eq!(escalation(&p), ("sender".into(), Some(code("CA-HN"))));
    p.insert("committee".into(), code("BCD-HN"));
    assert_eq!(escalation(&p), ("committee".into(), Some(code("BCD-HN"))));
}

#[test]
fn steps_named_by_a_deadline_suspend_resume_and_extend_it() {
    let def = handover_with_clock_steps();
    let p = handover_parties();
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let data = obj(json!({"complex": false}));
    let inst = InstanceView { state: "stored", parties: &p, data: &data, pending: NONE, parents: NO_PARENTS };
    let step =
        |name: &str, given: Value| fire(&def, inst, &officer, name, &obj(given), &cal()).unwrap().actions;
    assert_eq!(step("pause", json!({})), [Action::SuspendDeadline { deadline: "review".into() }]);
    assert_eq!(step("go_on", json!({})), [Action::ResumeDeadline { deadline: "review".into() }]);
    assert_eq!(
        step("extend", json!({"extra": 2})),
        [Action::ExtendDeadline { deadline: "review".into(), by: 2 }]
    );
    // A restart is not a suspension: it closes and opens.
    assert_eq!(names(&step("review", json!({}))), ["close review", "open review"]);
}
