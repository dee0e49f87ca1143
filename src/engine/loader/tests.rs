use std::path::Path;

use super::*;
use crate::engine::registry::Registry;

const VALID: &str = r#"
id = "demo"
version = 1
valid_from = 2026-07-01
title_vi = "Thử"
title_en = "Demo"
law = "Luật 106/2025/QH15"
initial_state = "open"

[[parties]]
slot = "court"
kind = "court"
title_vi = "Tòa án"
title_en = "Court"

[[states]]
name = "open"
title_vi = "Mở"
title_en = "Open"

[[states]]
name = "done"
title_vi = "Xong"
title_en = "Done"
terminal = true

[create]
party = "court"
roles = ["court_liaison"]

[[transitions]]
name = "finish"
title_vi = "Kết thúc"
title_en = "Finish"
from = ["open"]
to = "done"
party = "court"
roles = ["court_liaison"]

[[deadlines]]
name = "finish"
title_vi = "Hạn finish"
title_en = "Limit finish"
states = ["open"]
duration = 5
unit = "working_days"
responsible = "court"
escalate_to = "court"
legal_basis = "Điều 1"
"#;

fn problems(text: &str) -> Vec<(usize, String)> {
    match parse_definition(Path::new("demo.toml"), text) {
        Ok(_) => vec![],
        Err(errors) => errors.into_iter().map(|e| (e.line, e.reason)).collect(),
    }
}

/// The line in `text` holding `needle`, counted from 1.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn assert_refused(text: &str, needle: &str, reason: &str) {
    let found = problems(text);
    let line = line_of(text, needle);
    assert!(
        found.iter().any(|(l, r)| *l == line && r.contains(reason)),
        "expected line {line} ({needle}) to say {reason:?}; got {found:?}"
    );
}

#[test]
fn the_valid_file_loads() {
    assert_eq!(problems(VALID), vec![]);
}

#[test]
fn unknown_states_are_refused_at_their_line() {
    let text = VALID.replace("to = \"done\"", "to = \"closed\"");
    assert_refused(&text, "to = \"closed\"", "unknown state \"closed\"");
    let text = VALID.replace("states = [\"open\"]", "states = [\"waiting\"]");
    assert_refused(&text, "states = [\"waiting\"]", "unknown state \"waiting\"");
}

#[test]
fn unreachable_states_are_refused() {
    let text = VALID.replace(
        "[create]",
        "[[states]]\nname = \"limbo\"\ntitle_vi = \"x\"\ntitle_en = \"x\"\nterminal = true\n\n[create]",
    );
    assert_refused(&text, "name = \"limbo\"", "unreachable");
}

#[test]
fn transitions_without_a_role_are_refused() {
    let text = VALID.replace(
        "from = [\"open\"]\nto = \"done\"\nparty = \"court\"\nroles = [\"court_liaison\"]",
        "from = [\"open\"]\nto = \"done\"\nparty = \"court\"\nroles = []",
    );
    assert_refused(&text, "name = \"finish\"", "no allowed role");
    let text = VALID
        .replace("roles = [\"court_liaison\"]\n\n[[transitions]]", "roles = [\"judge\"]\n\n[[transitions]]");
    assert_refused(&text, "roles = [\"judge\"]", "unknown role \"judge\"");
}

#[test]
fn a_step_nobody_could_take_is_refused() {
    // The court's step given to the police: no police liaison acts for a court.
    let text = VALID.replace(
        "party = \"court\"\nroles = [\"court_liaison\"]\n\n[[deadlines]]",
        "party = \"court\"\nroles = [\"police_liaison\"]\n\n[[deadlines]]",
    );
    assert_refused(&text, "name = \"finish\"", "role police_liaison cannot act for a court agency");
    let text = VALID.replace(
        "roles = [\"court_liaison\"]\n\n[[transitions]]",
        "roles = [\"auditor\"]\n\n[[transitions]]",
    );
    assert_refused(&text, "party = \"court\"", "role auditor cannot act");
}

#[test]
fn unknown_agency_kinds_are_refused() {
    let text = VALID.replace("kind = \"court\"", "kind = \"ministry\"");
    assert_refused(&text, "kind = \"ministry\"", "unknown agency kind \"ministry\"");
}

#[test]
fn duplicate_names_are_refused() {
    let text = VALID
        .replace("[create]", "[[states]]\nname = \"open\"\ntitle_vi = \"x\"\ntitle_en = \"x\"\n\n[create]");
    let found = problems(&text);
    let second =
        text.lines().enumerate().filter(|(_, l)| l.contains("name = \"open\"")).nth(1).unwrap().0 + 1;
    assert!(
        found.iter().any(|(l, r)| *l == second && r.contains("duplicate state name \"open\"")),
        "{found:?}"
    );
}

#[test]
fn other_mistakes_are_refused_with_their_line() {
    assert_refused(
        &VALID.replace("unit = \"working_days\"", "unit = \"weeks\""),
        "unit = \"weeks\"",
        "unknown unit",
    );
    assert_refused(
        &VALID.replace("legal_basis = \"Điều 1\"", "legal_basis = \" \""),
        "legal_basis = \" \"",
        "cite the article",
    );
    assert_refused(&VALID.replace("law = ", "colour = \"red\"\nlaw = "), "colour", "unknown field `colour`");
    assert_refused(&VALID.replace("duration = 5", "duration = \"5\""), "duration = \"5\"", "invalid type");
    assert_refused(
        &VALID.replace("valid_from = 2026-07-01", "valid_from = \"2026-07-01\""),
        "valid_from",
        "invalid type",
    );
    assert_refused(
        &VALID.replace(
            "party = \"court\"\nroles = [\"court_liaison\"]\n\n[[transitions]]",
            "party = \"judge\"\nroles = [\"court_liaison\"]\n\n[[transitions]]",
        ),
        "party = \"judge\"",
        "unknown party slot",
    );
    assert_refused(
        &VALID
            .replace("escalate_to = \"court\"", "escalate_to = \"court\"\nescalate_first_to = \"steering\""),
        "escalate_first_to",
        "unknown party slot",
    );
    assert_refused(
        &VALID.replace("escalate_to = \"court\"", "escalate_to = \"court\"\nextended_by = [\"finish\"]"),
        "extended_by",
        "extended_by and extension_field go together",
    );
}

#[test]
fn overlapping_versions_are_refused() {
    let v2 = VALID.replace("version = 1", "version = 2");
    let files = [(Path::new("a.toml"), VALID), (Path::new("b.toml"), v2.as_str())];
    let errors = Registry::from_sources(files).unwrap_err();
    assert!(errors[0].reason.contains("still in force"), "{errors:?}");

    let v1 = VALID.replace("valid_from = 2026-07-01", "valid_from = 2020-01-01\nvalid_until = 2026-06-30");
    let files = [(Path::new("a.toml"), v1.as_str()), (Path::new("b.toml"), v2.as_str())];
    let registry = Registry::from_sources(files).unwrap();
    let on = |d: &str| registry.in_force("demo", d.parse().unwrap()).map(|d| d.version);
    assert_eq!((on("2026-06-30"), on("2026-07-01"), on("2019-12-31")), (Some(1), Some(2), None));
}

#[test]
fn the_shipped_workflows_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let registry = Registry::load_dir(&dir).unwrap();
    assert!(registry.versions("court_transfer").is_some_and(|v| v.len() == 2));
    for def in registry.all() {
        for d in &def.deadlines {
            assert!(!d.legal_basis.trim().is_empty(), "{} {}", def.id, d.name);
        }
    }
}

/// VALID with a datetime and a money field on its step, and `tail` appended.
fn meaning(tail: &str) -> String {
    let step = "roles = [\"court_liaison\"]\n\n[[deadlines]]";
    let fields = "roles = [\"court_liaison\"]\n\n[[transitions.data]]\nname = \"at\"\ntype = \"datetime\"\n\
                  title_vi = \"Lúc\"\ntitle_en = \"At\"\n\n[[transitions.data]]\nname = \"paid\"\ntype = \"money\"\n\
                  title_vi = \"Tiền\"\ntitle_en = \"Paid\"\n\n[[deadlines]]";
    format!("{}\n{tail}", VALID.replace(step, fields))
}

#[test]
fn what_a_workflow_means_to_reports_and_pages_is_checked() {
    let coercion = "[coercion]\noffice = \"court\"\n\n[coercion.states]\ndrafting = [\"open\"]\nexecuted = [\"done\"]\n\n\
                    [coercion.fields]\nscheduled_at = \"at\"\n";
    assert_eq!(problems(&meaning(coercion)), vec![]);
    let def = parse_definition(Path::new("demo.toml"), &meaning(coercion)).unwrap();
    let declared = def.coercion.unwrap();
    assert_eq!(declared.stage("done"), Some(OperationStage::Executed));
    assert_eq!(declared.stage("open"), Some(OperationStage::Drafting));

    let unstaged = meaning(&coercion.replace("executed = [\"done\"]\n", ""));
    assert_refused(&unstaged, "[coercion]", "puts state \"done\" under no stage");
    let twice = meaning(&coercion.replace("executed = [\"done\"]", "executed = [\"done\", \"open\"]"));
    assert_refused(&twice, "executed = [", "is under both drafting and executed");
    let wrong_type = meaning(&coercion.replace("scheduled_at = \"at\"", "scheduled_at = \"paid\""));
    assert_refused(&wrong_type, "scheduled_at = \"paid\"", "is not a datetime field");
    assert_refused(
        &meaning("[coercion]\noffice = \"court\"\n\n[coercion.states]\nlater = [\"open\"]\n"),
        "later",
        "unknown field",
    );

    // A reply deadline names an instrument of a supervision the workflow declares.
    let reply =
        meaning("").replace("legal_basis = \"Điều 1\"", "legal_basis = \"Điều 1\"\nreply_to = \"request\"");
    assert_refused(&reply, "reply_to", "the workflow needs [supervision]");

    // A payment says how the money was collected.
    let paying =
        |case: &str| meaning("").replace("to = \"done\"\n", &format!("to = \"done\"\ncase = {case}\n"));
    assert_eq!(problems(&paying("{ payment = \"paid\", method = \"coercion\" }")), vec![]);
    assert_refused(&paying("{ payment = \"paid\" }"), "case = ", "needs its method");
    assert_refused(
        &paying("{ payment = \"paid\", method = \"barter\" }"),
        "case = ",
        "case.method must be one of",
    );
    // An amount off what is owed, a fact recorded, a case entrusted: each names what it takes.
    assert_eq!(problems(&paying("{ reduce_due = \"paid\", on = \"at\" }")), vec![]);
    assert_refused(&paying("{ reduce_due = \"at\" }"), "case = ", "case.reduce_due must name a money field");
    let record = "{ record = { field = \"paid\", title_vi = \"Ghi\", title_en = \"Noted\" } }";
    assert_eq!(problems(&paying(record)), vec![]);
    assert_refused(
        &paying(&record.replace("\"paid\"", "\"unpaid\"")),
        "case = ",
        "case.record names unknown field",
    );
    assert_refused(&paying("{ entrust_to = \"court\" }"), "case = ", "needs case.number");
    assert_refused(
        &paying("{ entrust_to = \"court\", number = \"at\" }"),
        "case = ",
        "case.entrust_to must name an enforcement slot",
    );
}

/// The demo with an optional auction organisation that `finish` binds by a party field.
fn with_binding(slot_required: bool, field: &str) -> String {
    let party = format!(
        "[[parties]]\nslot = \"auctioneer\"\nkind = \"auction_organisation\"\nrequired = {slot_required}\ntitle_vi = \"Tổ chức đấu giá\"\ntitle_en = \"Auctioneer\"\n\n[[states]]"
    );
    VALID.replacen("[[states]]", &party, 1).replace(
        "party = \"court\"\nroles = [\"court_liaison\"]\n\n[[deadlines]]",
        &format!("party = \"court\"\nroles = [\"court_liaison\"]\n\n{field}\n\n[[deadlines]]"),
    )
}

#[test]
fn a_party_field_binds_an_optional_slot_on_a_step() {
    let field = "[[transitions.data]]\nname = \"auctioneer_code\"\ntype = \"party\"\nslot = \"auctioneer\" # here\ntitle_vi = \"Mã\"\ntitle_en = \"Code\"";
    assert_eq!(problems(&with_binding(false, field)), vec![]);
    let def = parse_definition(Path::new("demo.toml"), &with_binding(false, field)).unwrap();
    assert!(def.bound_by_step("auctioneer"));
    assert!(!def.bound_by_step("court"));
    assert_refused(&with_binding(true, field), "auctioneer\" # here", "must be optional");
    let unknown = field.replace("slot = \"auctioneer\"", "slot = \"buyer\"");
    assert_refused(&with_binding(false, &unknown), "slot = \"buyer\"", "binds unknown party slot \"buyer\"");
    let missing = field.replace("\nslot = \"auctioneer\" # here", "");
    assert_refused(
        &with_binding(false, &missing),
        "name = \"auctioneer_code\"",
        "must name the slot it binds",
    );
    let not_party = field.replace("type = \"party\"", "type = \"text\"");
    assert_refused(
        &with_binding(false, &not_party),
        "name = \"auctioneer_code\"",
        "only a party field has `slot`",
    );
}

#[test]
fn a_lead_time_names_a_datetime_and_cites_its_basis() {
    let step = "party = \"court\"\nroles = [\"court_liaison\"]\n\n[[deadlines]]";
    let with = |before: &str| {
        VALID.replace(step, &format!("party = \"court\"\nroles = [\"court_liaison\"]\n{before}\n\n[[transitions.data]]\nname = \"at\"\ntype = \"datetime\"\ntitle_vi = \"Lúc\"\ntitle_en = \"At\"\n\n[[deadlines]]"))
    };
    assert_eq!(problems(&with("before = { field = \"at\", hours = 24, legal_basis = \"Điều 48\" }")), vec![]);
    assert_refused(
        &with("before = { field = \"when\", hours = 24, legal_basis = \"Điều 48\" }"),
        "before = {",
        "before.field \"when\" is not a datetime field",
    );
    assert_refused(
        &with("before = { field = \"at\", hours = 24, legal_basis = \" \" }"),
        "before = {",
        "legal_basis is empty",
    );
}

#[test]
fn a_field_seen_by_some_parties_only_names_them_and_goes_nowhere_else() {
    let field = |extra: &str| {
        format!("[[transitions.data]]\nname = \"secret\"\ntype = \"text\"\nvisible_to = [\"court\"] # here\n{extra}title_vi = \"Kín\"\ntitle_en = \"Secret\"")
    };
    assert_eq!(problems(&with_binding(false, &field(""))), vec![]);
    let def = parse_definition(Path::new("demo.toml"), &with_binding(false, &field(""))).unwrap();
    let mut data = serde_json::Map::new();
    data.insert("secret".into(), "x".into());
    data.insert("other".into(), "y".into());
    let mut seen = data.clone();
    def.withhold(&mut seen, |slot| slot == "court");
    assert_eq!(seen, data, "the court sees it");
    def.withhold(&mut seen, |slot| slot == "auctioneer");
    assert_eq!(seen.keys().collect::<Vec<_>>(), ["other"], "the auctioneer does not");

    let unknown = field("").replace("[\"court\"]", "[\"buyer\"]");
    assert_refused(&with_binding(false, &unknown), "visible_to", "visible to unknown party slot \"buyer\"");
    assert_refused(
        &with_binding(false, &field("searchable = true\n")),
        "name = \"secret\"",
        "cannot be searchable",
    );
    let document = field("").replace("type = \"text\"", "type = \"document\"");
    assert_refused(&with_binding(false, &document), "name = \"secret\"", "cannot have visible_to");
    // Declared again elsewhere without it: the value would show there.
    let again = format!(
        "{}\n\n[[transitions]]\nname = \"again\"\ntitle_vi = \"Lại\"\ntitle_en = \"Again\"\nfrom = [\"open\"]\nto = \"open\"\nparty = \"court\"\nroles = [\"court_liaison\"]\n\n[[transitions.data]]\nname = \"secret\" # again\ntype = \"text\"\ntitle_vi = \"Kín\"\ntitle_en = \"Secret\"",
        field("")
    );
    assert_refused(
        &with_binding(false, &again),
        "name = \"secret\" # again",
        "declared again with other visible_to",
    );
    // Carried to a follow-up: another instance's parties would see it.
    let carried = format!(
        "{}\n\n[[transitions.starts]]\nworkflow = \"other\"\nparties = {{ court = \"court\" }}\ndata = {{ note = \"secret\" }}",
        field("")
    );
    assert_refused(&with_binding(false, &carried), "data = { note", "only some parties may see");
}

#[test]
fn a_step_waits_for_what_its_workflow_starts_and_starts_what_its_data_names() {
    let starts = "[[transitions.starts]]\nworkflow = \"other\"\nif_given = \"asked\" # given\nparties = { court = \"court\" }";
    let asked = "[[transitions.data]]\nname = \"asked\"\ntype = \"text\"\nrequired = false\ntitle_vi = \"Hỏi\"\ntitle_en = \"Asked\"";
    let finish = "party = \"court\"\nroles = [\"court_liaison\"]\n\n[[deadlines]]";
    let with = |waits: &str, step: &str| {
        VALID.replace(
            finish,
            &format!("party = \"court\"\nroles = [\"court_liaison\"]\n{waits}\n\n{step}\n\n[[deadlines]]"),
        )
    };
    let both = format!("{asked}\n\n{starts}");
    assert_eq!(problems(&with("waits_for = [\"other\"]", &both)), vec![]);
    assert_refused(
        &with("waits_for = [\"another\"]", &both),
        "waits_for",
        "waits for \"another\", which no step of this workflow starts",
    );
    assert_refused(
        &with("", starts),
        "if_given",
        "starts.if_given names \"asked\", which is not data of this step",
    );
}

#[test]
fn an_operational_figure_is_labelled_as_such() {
    let operational = VALID
        .replace("legal_basis = \"Điều 1\"", "legal_basis = \"Operational choice: the law says at once\"");
    assert_refused(&operational, "legal_basis = \"Operational", "say so with operational = true");
    let labelled = operational.replace("at once\"", "at once\"\noperational = true");
    assert_eq!(problems(&labelled), vec![]);
    let def = parse_definition(Path::new("demo.toml"), &labelled).unwrap();
    assert!(def.deadlines[0].operational);
}

#[test]
fn a_version_under_law_106_2025_cites_it() {
    let old_only =
        VALID.replace("legal_basis = \"Điều 1\"", "legal_basis = \"Điều 36 Luật THADS 26/2008/QH12\"");
    assert_refused(&old_only, "legal_basis = \"Điều 36", "in force under Law 106/2025/QH15: cite it");
    let carried = old_only.replace(
        "legal_basis = \"Điều 36 Luật THADS 26/2008/QH12\"",
        "legal_basis = \"Luật THADS 106/2025/QH15 (carried over from Điều 36 Luật THADS 26/2008/QH12)\"",
    );
    assert_eq!(problems(&carried), vec![]);
    // A version that ended with the old law keeps the old citations.
    let before =
        old_only.replace("valid_from = 2026-07-01", "valid_from = 2009-07-01\nvalid_until = 2026-06-30");
    assert_eq!(problems(&before), vec![]);
}

#[test]
fn a_transitional_rule_names_earlier_versions_and_their_states() {
    let rule = |from: &str, stay: &str| {
        format!(
            "{VALID}\n[transitional]\nfrom_versions = [{from}]\nstay = [{stay}]\n\
             legal_basis = \"Operational choice: the transitional article was not at hand\"\noperational = true\n"
        )
    };
    assert_refused(&rule("2", ""), "from_versions = [2]", "is not earlier than this version 1");
    let unlabelled = rule("", "").replace("operational = true\n", "");
    assert_refused(&unlabelled, "legal_basis = \"Operational", "say so with operational = true");

    let v1 = VALID.replace("valid_from = 2026-07-01", "valid_from = 2020-01-01\nvalid_until = 2026-06-30");
    let v2 = rule("1", "\"nowhere\"").replace("version = 1", "version = 2");
    let files = [(Path::new("a.toml"), v1.as_str()), (Path::new("b.toml"), v2.as_str())];
    let errors = Registry::from_sources(files).unwrap_err();
    assert!(errors[0].reason.contains("stay names \"nowhere\""), "{errors:?}");
    let v3 = rule("1", "").replace("version = 1", "version = 3");
    let files = [(Path::new("b.toml"), v3.as_str())];
    let errors = Registry::from_sources(files).unwrap_err();
    assert!(errors[0].reason.contains("names version 1 of \"demo\", which is not defined"), "{errors:?}");
}

#[test]
fn a_step_records_yes_or_no_facts_its_guards_may_read() {
    let records = VALID.replace(
        "party = \"court\"\nroles = [\"court_liaison\"]\n\n[[deadlines]]",
        "party = \"court\"\nroles = [\"court_liaison\"]\nguard = { field = \"checked\", is = false }\nrecords = { checked = true }\n\n[[deadlines]]",
    );
    assert_eq!(problems(&records), vec![]);
    let def = parse_definition(Path::new("demo.toml"), &records).unwrap();
    assert_eq!(def.transitions[0].records.get("checked"), Some(&true));
    // Not a fact if the step takes it as data, or the workflow declares it otherwise.
    let taken = records.replace(
        "records = { checked = true }",
        "records = { checked = true }\n\n[[transitions.data]]\nname = \"checked\"\ntype = \"boolean\"\ntitle_vi = \"x\"\ntitle_en = \"x\"",
    );
    assert_refused(&taken, "name = \"finish\"", "which the step also takes as data");
    let typed = records.replace("records = { checked = true }", "records = { Checked = true }");
    assert_refused(&typed, "name = \"finish\"", "a field name is lower-case");
}
