use std::cell::Cell;
use std::path::Path;

use chrono::{DateTime, NaiveDate};
use serde_json::json;

use super::*;
use crate::engine::calendar::Due;
use crate::engine::loader::parse_definition;
use crate::engine::plan::{Closing, DeadlineOp, Opening, ReminderKind};
use crate::engine::start::{start, Origin};

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
    bound().into_iter().map(|(slot, a)| (slot, a.code)).collect()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn creation(category: &str) -> Map<String, Value> {
    obj(
        json!({"judgment_number": "1/2026", "judgment_date": "2026-03-01", "effective_date": "2026-03-20", "category": category}),
    )
}

fn cal() -> Calendar {
    Calendar::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/calendar/holidays.toml")).unwrap()
}

fn micros(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_micros()
}

fn day(raw: &str) -> NaiveDate {
    raw.parse().unwrap()
}

/// Runs `f` in a world at `at` with the shipped definitions, ids numbered from 1.
fn at<T>(at: &str, f: impl FnOnce(&World<'_>) -> T) -> T {
    let registry = Registry::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows")).unwrap();
    let calendar = cal();
    let agencies = BTreeMap::new();
    let next = Cell::new(0);
    let ids = move || {
        next.set(next.get() + 1);
        format!("id{}", next.get())
    };
    let documents = BTreeMap::new();
    f(&World {
        registry: &registry,
        calendar: &calendar,
        agencies: &agencies,
        documents: &documents,
        at: micros(at),
        ids: &ids,
    })
}

/// Noon on a working day, after every date of the scenarios' data.
const NOON: &str = "2026-04-02T12:00:00+07:00";

const NONE: &Pending = &BTreeMap::new();
const NO_PARENTS: &BTreeMap<String, AgencyCode> = &BTreeMap::new();

/// An instance at version 3 in `state`.
fn view<'a>(
    state: &'a str,
    parties: &'a BTreeMap<String, AgencyCode>,
    data: &'a Map<String, Value>,
    pending: &'a Pending,
    deadlines: &'a [RunningDeadline],
) -> InstanceView<'a> {
    InstanceView {
        id: "i1",
        version: 3,
        last_hash: "h3",
        state,
        parties,
        data,
        pending,
        parents: NO_PARENTS,
        case_id: None,
        deadlines,
        case: None,
        started: &[],
    }
}

fn origin() -> Origin<'static> {
    Origin { id: "i1", case_id: None, reference_date: day("2026-03-20"), started_by: None }
}

/// A running deadline named `name` whose last day is `last_day`.
fn running(name: &str, last_day: &str) -> RunningDeadline {
    RunningDeadline {
        id: format!("d-{name}"),
        name: name.into(),
        due: cal().due_on(day(last_day)).value,
        starts_at: micros("2026-03-20T09:00:00+07:00"),
        suspended_at: None,
        escalates: true,
        sent: Vec::new(),
    }
}

/// What a plan does, in words: its deadline operations, then who it tells (by slot).
fn names(plan: &Plan, parties: &BTreeMap<String, AgencyCode>) -> Vec<String> {
    let mut out = Vec::new();
    for op in &plan.deadlines {
        match op {
            DeadlineOp::Open(o) => out.push(format!("open {}", o.name)),
            DeadlineOp::Close(c) => out.push(format!("close {}", c.name)),
            DeadlineOp::Restart { closing, opening } => {
                out.push(format!("close {}", closing.name));
                out.push(format!("open {}", opening.name));
            }
            DeadlineOp::Suspend { name, .. } => out.push(format!("suspend {name}")),
            DeadlineOp::Resume(r) => out.push(format!("resume {}", r.name)),
            DeadlineOp::Extend { by, rescheduling } => {
                out.push(format!("extend {} by {by}", rescheduling.name))
            }
            DeadlineOp::Restate(o) => out.push(format!("restate {}", o.name)),
        }
    }
    for n in &plan.notices {
        let slot = parties.iter().find(|(_, a)| **a == n.agency).map_or("?", |(s, _)| s.as_str());
        out.push(format!("notify {slot}"));
    }
    out
}

fn opening(plan: &Plan, i: usize) -> &Opening {
    match &plan.deadlines[i] {
        DeadlineOp::Open(o) | DeadlineOp::Restart { opening: o, .. } => o,
        other => panic!("{other:?}"),
    }
}

fn state_after(plan: &Plan) -> &str {
    &plan.event.to_state
}

/// The instance's data after a step.
fn data_after(plan: &Plan) -> &Map<String, Value> {
    match &plan.instance {
        InstanceWrite::Advance(a) => &a.data,
        InstanceWrite::Start(n) => &n.data,
    }
}

#[test]
fn start_opens_the_deadline_that_fits_the_category() {
    let def = court_transfer();
    let court = actor("TAND-HN", &[Role::CourtLiaison]);
    let plan = at("2026-03-21T12:00:00+07:00", |w| {
        start(&def, &bound(), &court, &creation("standard"), origin(), w)
    })
    .unwrap();
    assert_eq!(
        (plan.event.from_state.as_deref(), state_after(&plan), plan.role()),
        (None, "judgment_effective", "court_liaison")
    );
    let transfer = opening(&plan, 0);
    assert_eq!(
        (transfer.name.as_str(), &transfer.responsible_agency, transfer.escalate_agency.as_ref()),
        ("transfer", &code("TAND-HN"), Some(&code("VKS-HN")))
    );
    // The clock starts from the effective date in the data; 30 days end on Sunday 19 April,
    // so the last day is Monday 20 April, and the limit passes at its end.
    assert_eq!(transfer.starts_at, micros("2026-03-20T00:00:00+07:00"));
    assert_eq!(
        transfer.due,
        Due {
            at: DateTime::from_timestamp_micros(micros("2026-04-21T00:00:00+07:00")).unwrap(),
            last_day: day("2026-04-20")
        }
    );
    let reminders: Vec<(ReminderKind, Option<u32>, i64)> =
        transfer.reminders.iter().map(|r| (r.kind, r.working_days_before, r.fire_at)).collect();
    assert_eq!(
        reminders,
        [
            (ReminderKind::Before, Some(3), micros("2026-04-15T08:00:00+07:00")),
            (ReminderKind::Before, Some(1), micros("2026-04-17T08:00:00+07:00")),
            (ReminderKind::Due, None, micros("2026-04-20T08:00:00+07:00")),
            (ReminderKind::Escalation, None, micros("2026-04-21T00:00:00+07:00")),
        ]
    );
    // The procuracy takes no step here: its whole office is told.
    assert_eq!(transfer.escalate_roles, []);
    // The other parties learn of the new instance; the court that started it does not need to.
    assert_eq!(names(&plan, &parties())[1..], ["notify enforcement", "notify procuracy"]);
    let urgent =
        at(NOON, |w| start(&def, &bound(), &court, &creation("urgent_measure"), origin(), w)).unwrap();
    assert_eq!(
        names(&urgent, &parties()),
        ["open transfer_urgent", "notify enforcement", "notify procuracy"]
    );
    // An hour limit runs from the step itself: 24 hours later, reminded at that time.
    let hours = opening(&urgent, 0);
    assert_eq!(hours.due.at.timestamp_micros(), micros("2026-04-03T12:00:00+07:00"));
    assert_eq!(hours.reminders[0].fire_at, micros("2026-04-03T12:00:00+07:00"));
    // The first event covers the instance's identity and begins the chain.
    assert_eq!((plan.event.seq, plan.event.prev_hash.as_str()), (1, crate::engine::history::GENESIS));
    assert_eq!(plan.event.hash.len(), 64);
}

#[test]
fn start_checks_parties_and_who_starts() {
    let def = court_transfer();
    let court = actor("TAND-HN", &[Role::CourtLiaison]);
    let mut wrong_kind = bound();
    wrong_kind.insert("procuracy".into(), agency("CA-HN", AgencyKind::Police, None));
    wrong_kind.remove("court");
    let Err(Refusal::InvalidParties(errors)) =
        at(NOON, |w| start(&def, &wrong_kind, &court, &creation("standard"), origin(), w))
    else {
        panic!("parties accepted")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["parties.court", "parties.procuracy"]);

    let head = actor("THADS-HN", &[Role::EnforcementHead]);
    assert_eq!(
        at(NOON, |w| start(&def, &bound(), &head, &creation("standard"), origin(), w)),
        Err(Refusal::WrongAgency { slot: "court".into() })
    );
    let clerk = actor("TAND-HN", &[Role::Auditor]);
    assert!(matches!(
        at(NOON, |w| start(&def, &bound(), &clerk, &creation("standard"), origin(), w)),
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
    let decision_due = [running("enforcement_decision", "2026-04-06")];
    let inst = view("registered", &p, &data, NONE, &decision_due);
    let plan = at(NOON, |w| fire(&def, inst, &head, ("issue_decision", 3), &given, None, w)).unwrap();
    assert_eq!(state_after(&plan), "decision_issued");
    assert_eq!(data_after(&plan)["decision_date"], "2026-04-02");
    assert_eq!(names(&plan, &p), ["close enforcement_decision", "open assign_officer", "open send_decision"]);
    // Taken before its due time, the decision's deadline is met.
    assert_eq!(
        plan.deadlines[0],
        DeadlineOp::Close(Closing {
            id: "d-enforcement_decision".into(),
            name: "enforcement_decision".into(),
            met: true
        })
    );
    // Two working days from the decision's date: Friday 3 and Monday 6 April.
    assert_eq!(opening(&plan, 1).due.last_day, day("2026-04-06"));
    // The step's event follows the instance's last one in its chain.
    assert_eq!((plan.event.seq, plan.event.prev_hash.as_str()), (4, "h3"));
    let InstanceWrite::Advance(advance) = &plan.instance else { panic!("a step advances") };
    assert_eq!((advance.expected_version, advance.version(), advance.closes), (3, 4, false));

    // The notification clock spans two states: assigning the officer keeps it running.
    let after = data_after(&plan).clone();
    let still = [running("assign_officer", "2026-04-06"), running("send_decision", "2026-04-07")];
    let inst = view("decision_issued", &p, &after, NONE, &still);
    let given = obj(json!({"officer_name": "A", "assigned_date": "2026-04-03"}));
    // Taken after its due time, the officer's deadline is missed.
    let late =
        at("2026-04-07T09:00:00+07:00", |w| fire(&def, inst, &head, ("assign_officer", 3), &given, None, w))
            .unwrap();
    assert_eq!(names(&late, &p), ["close assign_officer"]);
    assert_eq!(
        late.deadlines[0],
        DeadlineOp::Close(Closing {
            id: "d-assign_officer".into(),
            name: "assign_officer".into(),
            met: false
        })
    );
}

#[test]
fn refusals_name_their_reason() {
    let def = court_transfer();
    let p = parties();
    let data = creation("standard");
    let inst = view("judgment_effective", &p, &data, NONE, &[]);
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let none = Map::new();
    let fire_at = |a: &Actor, t: &str, v: i64, data: &Map<String, Value>| {
        at(NOON, |w| fire(&def, inst, a, (t, v), data, None, w))
    };
    assert_eq!(fire_at(&officer, "register", 2, &none), Err(Refusal::Stale { version: 3, expected: 2 }));
    assert_eq!(fire_at(&officer, "fly", 3, &none), Err(Refusal::UnknownTransition("fly".into())));
    assert_eq!(
        fire_at(&officer, "register", 3, &none),
        Err(Refusal::NotFromState { transition: "register".into(), state: "judgment_effective".into() })
    );
    assert_eq!(fire_at(&officer, "transfer", 3, &none), Err(Refusal::WrongAgency { slot: "court".into() }));
    let court = actor("TAND-HN", &[Role::CourtLiaison]);
    let Err(Refusal::InvalidData(errors)) = fire_at(&court, "transfer", 3, &none) else {
        panic!("empty data accepted")
    };
    assert_eq!(errors.len(), 4);
    assert!(errors.iter().any(|e| e.field == "data.judgment_file"), "{errors:?}");
}

#[test]
fn available_lists_only_the_callers_steps() {
    let def = court_transfer();
    let p = parties();
    let data = creation("standard");
    let inst = view("transferred", &p, &data, NONE, &[]);
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
title_vi = "Hạn resolve"
title_en = "Limit resolve"
states = ["disputed"]
duration = 5
unit = "working_days"
responsible = "receiver"
escalate_to = "sender"
legal_basis = "operational"
operational = true

[[deadlines]]
name = "review"
title_vi = "Hạn review"
title_en = "Limit review"
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
    let inst = view("sent", &p, &data, NONE, &[]);
    let step = |inst, a: &Actor, t: &str, given: &Map<String, Value>| {
        at(NOON, |w| fire(&def, inst, a, (t, 3), given, None, w))
    };

    let all = obj(json!({"receipt": [{"item": 1, "status": "received"}, {"item": 2, "status": "received"}]}));
    assert_eq!(state_after(&step(inst, &officer, "confirm", &all).unwrap()), "stored");
    let short = obj(
        json!({"receipt": [{"item": 1, "status": "received"}, {"item": 2, "status": "missing", "note": "thiếu 1"}]}),
    );
    let plan = step(inst, &officer, "confirm", &short).unwrap();
    assert_eq!(state_after(&plan), "disputed");
    assert_eq!(names(&plan, &p), ["open resolve"]);

    // The police sign first, stating the resolution; the instance stays disputed.
    let disputed = data_after(&plan).clone();
    let resolve_due = [running("resolve", "2026-04-09")];
    let inst = view("disputed", &p, &disputed, NONE, &resolve_due);
    let resolution = obj(json!({"resolution": "Biên bản bổ sung: 1 điện thoại chưa bàn giao"}));
    let first = step(inst, &police, "resolve", &resolution).unwrap();
    assert_eq!(state_after(&first), "disputed");
    assert_eq!(names(&first, &p), ["notify receiver"]);
    // The proposal is recorded with the signature but is not the instance's data yet.
    assert_eq!(first.event.data[PROPOSAL]["resolution"], resolution["resolution"]);
    let InstanceWrite::Advance(signed_once) = &first.instance else { panic!("a step advances") };
    assert!(!signed_once.data.contains_key("resolution"));
    let pending = &signed_once.pending["resolve"];
    assert_eq!(pending.proposal, resolution);
    assert_eq!(
        pending.signatures.iter().map(|s| (s.slot.as_str(), s.agency.as_str(), s.seq)).collect::<Vec<_>>(),
        [("sender", "CA-HN", 4)]
    );

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
    let merged = signed_once.data.clone();
    let inst = view("disputed", &p, &merged, &pending, &resolve_due);
    // The police cannot sign twice, nor the receiver restate the data.
    assert!(matches!(step(inst, &police, "resolve", &Map::new()), Err(Refusal::AlreadySigned(_))));
    assert!(matches!(step(inst, &officer, "resolve", &resolution), Err(Refusal::InvalidData(_))));
    assert_eq!(available(&def, inst, &police).len(), 0);
    let last = step(inst, &officer, "resolve", &Map::new()).unwrap();
    assert_eq!(state_after(&last), "stored");
    // With the last signature the proposal becomes the step's data, and the joint step is done.
    assert_eq!(last.event.data, Value::Object(resolution.clone()));
    assert_eq!(data_after(&last)["resolution"], resolution["resolution"]);
    let InstanceWrite::Advance(done) = &last.instance else { panic!("a step advances") };
    assert!(done.pending.is_empty());
    assert_eq!(names(&last, &p), ["close resolve", "open review"]);
}

#[test]
fn guards_restarts_and_optional_parties() {
    let def = handover();
    let mut p = handover_parties();
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let simple = obj(json!({"complex": false}));
    let review_due = [running("review", "2027-03-01")];
    let inst = view("stored", &p, &simple, NONE, &review_due);
    let plan = at(NOON, |w| fire(&def, inst, &officer, ("review", 3), &Map::new(), None, w)).unwrap();
    assert_eq!(names(&plan, &p), ["close review", "open review"]);
    // A restart meets the running clock and starts the next one from the step: 12 months on.
    let DeadlineOp::Restart { closing, opening } = &plan.deadlines[0] else { panic!("a restart") };
    assert!(closing.met);
    assert_eq!(opening.due.last_day, day("2027-04-02"));
    let steps: Vec<&str> = available(&def, inst, &officer).iter().map(|t| t.name.as_str()).collect();
    assert_eq!(steps, ["review", "dispose"]);

    // A complex case is disposed of by the committee, which must then be bound.
    let complex = obj(json!({"complex": true}));
    let inst = view("stored", &p, &complex, NONE, &[]);
    let none = Map::new();
    assert!(matches!(
        at(NOON, |w| fire(&def, inst, &officer, ("dispose", 3), &none, None, w)),
        Err(Refusal::GuardFailed { .. })
    ));
    let member = actor("BCD-HN", &[Role::SteeringMember]);
    assert!(matches!(
        at(NOON, |w| fire(&def, inst, &member, ("dispose_complex", 3), &none, None, w)),
        Err(Refusal::GuardFailed { .. })
    ));
    p.insert("committee".into(), code("BCD-HN"));
    let inst = view("stored", &p, &complex, NONE, &[]);
    let done = at(NOON, |w| fire(&def, inst, &member, ("dispose_complex", 3), &none, None, w)).unwrap();
    assert_eq!(state_after(&done), "done");
    let InstanceWrite::Advance(advance) = &done.instance else { panic!("a step advances") };
    assert!(advance.closes, "a terminal state closes the instance");
}

#[test]
fn party_rules_and_date_checks_are_enforced_at_the_start() {
    let def = handover();
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let mut parties = BTreeMap::from([
        ("sender".to_owned(), agency("CA-HN", AgencyKind::Police, None)),
        ("receiver".to_owned(), agency("THADS-HN", AgencyKind::Enforcement, None)),
    ]);
    let begin = |parties: &BTreeMap<String, BoundAgency>, given: &Map<String, Value>| {
        at(NOON, |w| start(&def, parties, &officer, given, origin(), w))
    };
    let given = obj(json!({"complex": false, "received_on": "2026-08-01", "protested_on": "2026-08-16"}));
    assert!(begin(&parties, &given).is_ok());
    // The 15 days end on Sunday 16 August, so on Monday 17: the Tuesday is late.
    let monday = obj(json!({"complex": false, "received_on": "2026-08-01", "protested_on": "2026-08-17"}));
    assert!(begin(&parties, &monday).is_ok(), "a limit ending on a rest day ends on the next working day");
    let late = obj(json!({"complex": false, "received_on": "2026-08-01", "protested_on": "2026-08-18"}));
    let Err(Refusal::InvalidData(errors)) = begin(&parties, &late) else { panic!("late accepted") };
    let reason = &errors[0].reason;
    assert!(reason.contains("17 days") && reason.contains("ends on 2026-08-17"), "{errors:?}");
    assert!(reason.contains("Điều 160"), "{errors:?}");

    // A regional office of the same province is refused; another province's office is not.
    parties.insert("other".into(), agency("THADS-HN-KV1", AgencyKind::Enforcement, Some("THADS-HN")));
    let Err(Refusal::InvalidParties(errors)) = begin(&parties, &given) else {
        panic!("same province accepted")
    };
    assert_eq!(errors[0].field, "parties.other");
    parties.insert("other".into(), agency("THADS-LC-KV2", AgencyKind::Enforcement, Some("THADS-LC")));
    assert!(begin(&parties, &given).is_ok());
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
        let inst = view("sent", p, &data, NONE, &[]);
        let plan = at(NOON, |w| fire(&def, inst, &officer, ("confirm", 3), &short, None, w)).unwrap();
        let o = opening(&plan, 0);
        (o.escalate_agency.clone(), o.escalate_roles.clone())
    };
    let mut p = handover_parties();
    assert_eq!(escalation(&p), (Some(code("CA-HN")), vec![Role::EnforcementOfficer, Role::PoliceLiaison]));
    p.insert("committee".into(), code("BCD-HN"));
    assert_eq!(escalation(&p), (Some(code("BCD-HN")), vec![Role::SteeringMember]));
}

#[test]
fn steps_named_by_a_deadline_suspend_resume_and_extend_it() {
    let def = handover_with_clock_steps();
    let p = handover_parties();
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let data = obj(json!({"complex": false}));
    let review = running("review", "2026-09-30");
    let step = |when: &str, name: &str, given: Value, r: &RunningDeadline| {
        let deadlines = [r.clone()];
        let inst = view("stored", &p, &data, NONE, &deadlines);
        at(when, |w| fire(&def, inst, &officer, (name, 3), &obj(given), None, w)).unwrap().deadlines
    };
    let paused = step(NOON, "pause", json!({}), &review);
    assert_eq!(paused, [DeadlineOp::Suspend { id: "d-review".into(), name: "review".into() }]);

    // Resumed five days after it stopped: its last day moves five days, to Monday 5 October.
    let suspended = RunningDeadline { suspended_at: Some(micros(NOON)), ..review.clone() };
    let resumed = step("2026-04-07T09:00:00+07:00", "go_on", json!({}), &suspended);
    let [DeadlineOp::Resume(r)] = &resumed[..] else { panic!("{resumed:?}") };
    assert_eq!(r.due.last_day, day("2026-10-05"));
    // A running clock is not resumed, a suspended one is not suspended again nor extended.
    assert_eq!(step(NOON, "go_on", json!({}), &review), []);
    assert_eq!(step(NOON, "pause", json!({}), &suspended), []);
    assert_eq!(step(NOON, "extend", json!({"extra": 2}), &suspended), []);

    // Extended by 2 of its unit (months), counted from its current last day.
    let extended = step(NOON, "extend", json!({"extra": 2}), &review);
    let [DeadlineOp::Extend { by: 2, rescheduling }] = &extended[..] else { panic!("{extended:?}") };
    assert_eq!(rescheduling.due.last_day, day("2026-11-30"));
    // A restart is not a suspension: it closes and opens.
    let restarted = step(NOON, "review", json!({}), &review);
    assert!(matches!(&restarted[..], [DeadlineOp::Restart { .. }]));
}

#[test]
fn a_deadline_moved_again_sends_only_what_falls_due_anew() {
    let def = handover_with_clock_steps();
    let p = handover_parties();
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    let data = obj(json!({"complex": false}));
    // Missed on 31 March: its last-day notice and its escalation went out.
    let missed = RunningDeadline {
        sent: vec![ReminderKind::Due, ReminderKind::Escalation],
        ..running("review", "2026-03-31")
    };
    let deadlines = [missed];
    let inst = view("stored", &p, &data, NONE, &deadlines);
    let plan =
        at(NOON, |w| fire(&def, inst, &officer, ("extend", 3), &obj(json!({"extra": 1})), None, w)).unwrap();
    let [DeadlineOp::Extend { rescheduling, .. }] = &plan.deadlines[..] else { panic!("{plan:?}") };
    // One more month: 30 April is a holiday, 1 May too, then the weekend: Monday 4 May.
    assert_eq!(rescheduling.due.last_day, day("2026-05-04"));
    let kinds: Vec<ReminderKind> = rescheduling.reminders.iter().map(|r| r.kind).collect();
    // Its new times are ahead: the reminders before it, the last day and the escalation again.
    assert_eq!(
        kinds,
        [ReminderKind::Before, ReminderKind::Before, ReminderKind::Due, ReminderKind::Escalation]
    );
    // Resumed to a due time already past, it sends nothing it has sent.
    let gone = RunningDeadline {
        suspended_at: Some(micros("2026-03-30T10:00:00+07:00")),
        sent: vec![ReminderKind::Due, ReminderKind::Escalation],
        ..running("review", "2026-03-31")
    };
    let deadlines = [gone];
    let inst = view("stored", &p, &data, NONE, &deadlines);
    let plan =
        at("2026-03-30T15:00:00+07:00", |w| fire(&def, inst, &officer, ("go_on", 3), &Map::new(), None, w))
            .unwrap();
    let [DeadlineOp::Resume(r)] = &plan.deadlines[..] else { panic!("{plan:?}") };
    assert_eq!(r.due.last_day, day("2026-03-31"));
    assert_eq!(
        r.reminders.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [ReminderKind::Due, ReminderKind::Escalation]
    );
}

#[test]
fn a_case_change_is_decided_before_anything_is_written() {
    let def =
        parse_definition(Path::new("coercion_plan.toml"), include_str!("../../workflows/coercion_plan.toml"))
            .unwrap();
    let p = BTreeMap::from([
        ("enforcement".to_owned(), code("THADS-HN")),
        ("police".to_owned(), code("CA-HN")),
        ("procuracy".to_owned(), code("VKS-HN")),
        ("commune".to_owned(), code("UBND-X")),
    ]);
    let data = obj(json!({"complex": false, "scheduled_at": "2026-04-01T08:00:00+07:00"}));
    let execution = obj(json!({"executed_at": "2026-04-01T10:30:00+07:00", "amount_collected": "1200000000",
                                "actual_cost": "38500000", "result": "Đã kê biên"}));
    let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
    // The office acting is the instance's enforcement party.
    let fire_on = |holder: &CaseHolder, who: &Actor| {
        let mut parties = p.clone();
        parties.insert("enforcement".to_owned(), who.agency.clone());
        let inst = InstanceView {
            case_id: Some("c1"),
            case: Some(holder),
            ..view("scheduled", &parties, &data, NONE, &[])
        };
        at(NOON, |w| fire(&def, inst, who, ("execute", 3), &execution, None, w))
    };
    let here = CaseHolder { number: "1520".into(), office: code("THADS-HN"), above: vec![], units: vec![] };
    let change = fire_on(&here, &officer).unwrap().case.unwrap();
    assert_eq!(
        (change.payment, change.on, change.seq),
        (Some((Money::parse("1200000000").unwrap(), PaymentMethod::Coercion)), day("2026-04-01"), 4)
    );
    // An office that neither holds the case nor is above the one that does is refused.
    let elsewhere = CaseHolder {
        number: "1520".into(),
        office: code("THADS-LC"),
        above: vec![code("TCTHADS")],
        units: vec![code("THADS-LC-KV1")],
    };
    assert_eq!(
        fire_on(&elsewhere, &officer),
        Err(Refusal::CaseNotYours {
            case: "1520".into(),
            office: code("THADS-LC"),
            agency: code("THADS-HN")
        })
    );
    let regional = CaseHolder {
        number: "1520".into(),
        office: code("THADS-HN-KV1"),
        above: vec![code("THADS-HN")],
        units: vec![],
    };
    assert!(fire_on(&regional, &officer).is_ok(), "the office above may act on it");
    let provincial = CaseHolder {
        number: "1520".into(),
        office: code("THADS-HN"),
        above: vec![code("TCTHADS")],
        units: vec![code("THADS-HN-KV1")],
    };
    let regional_officer = actor("THADS-HN-KV1", &[Role::EnforcementOfficer]);
    assert!(fire_on(&provincial, &regional_officer).is_ok(), "a regional office acts for the provincial one");
}
