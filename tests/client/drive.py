"""Drives lienganh through a client generated from its committed OpenAPI document.

    drive.py check DOCUMENT PACKAGE   every operation of DOCUMENT, with every status it
                                      documents, is in the generated PACKAGE, and every answer
                                      the document types (every error: a Problem, or the body
                                      it names) is parsed into that model
    drive.py walk                     a court transfer from start to end against CLIENT_BASE,
                                      with the tokens in TOKEN_* (see tests/client/run)

Only the generated package talks to the service: its operations, its models, its Problem.
"""

import json
import os
import re
import sys
import uuid
from io import BytesIO
from itertools import pairwise
from pathlib import Path

PASSED = 0


def ok(condition, what):
    """Counts a check; stops the run on the first that fails."""
    global PASSED
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        print(f"client: {PASSED} passed, 1 failed")
        sys.exit(1)
    PASSED += 1


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def generated_operations(package):
    """(method, path) -> (module name, statuses it parses, statuses parsed as a Problem)."""
    found = {}
    for module in sorted((package / "api").rglob("*.py")):
        if module.name == "__init__.py":
            continue
        text = module.read_text(encoding="utf-8")
        method = re.search(r'"method": "(\w+)"', text)
        url = re.search(r'"url": "([^"]*)"', text)
        if not (method and url):
            continue
        parse = text[text.index("def _parse_response") : text.index("def _build_response")]
        statuses = set(re.findall(r"response\.status_code == (\d+)", parse))
        models = dict(re.findall(r"response_(\d+) = (\w+)\.from_dict\(", parse))
        found[(method.group(1), url.group(1))] = (module.stem, statuses, models)
    return found


def documented_model(response):
    """The schema a JSON answer names by reference, as a generated class name would spell it."""
    for content_type, media in response.get("content", {}).items():
        if content_type == "application/json" or content_type.endswith("+json"):
            ref = media.get("schema", {}).get("$ref", "")
            return ref.rsplit("/", 1)[-1].replace("_", "").lower() or None
    return None


def check(document, package):
    """Nothing the document says is missing from the generated client."""
    doc = json.loads(Path(document).read_text(encoding="utf-8"))
    generated = generated_operations(Path(package))
    operations = problems = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            operations += 1
            name = op["operationId"]
            got = generated.get((method, path))
            ok(got is not None, f"{name} ({method.upper()} {path}) is not in the generated client")
            module, statuses, models = got
            ok(module == snake(name), f"{name} is generated as {module}")
            documented = {s for s in op["responses"] if s.isdigit()}
            ok(documented == statuses, f"{name}: documents {sorted(documented)}, parses {sorted(statuses)}")
            for status, response in op["responses"].items():
                want = documented_model(response)
                got = models.get(status, "").lower()
                if int(status) >= 400:
                    # Every error answer is typed: a Problem, or the model the document names.
                    ok(want is not None, f"{name}: error {status} names no schema")
                    problems += want == "problem"
                ok(
                    want is None or got == want,
                    f"{name}: {status} is parsed as {got or 'nothing'}, not {want}",
                )
    ok(len(generated) == operations, f"{len(generated)} operations generated for {operations} documented")
    print(
        f"{operations} operations, each with every documented status typed ({problems} errors as a Problem)"
    )


def walk():
    from lienganh_client import AuthenticatedClient
    from lienganh_client.api.agencies import create_agency
    from lienganh_client.api.documents import download_document, upload_document
    from lienganh_client.api.instances import (
        create_instance,
        fire_transition,
        get_instance,
        get_instance_history,
        list_available_transitions,
        verify_instance_history,
    )
    from lienganh_client.models import (
        CreateAgency,
        CreateInstance,
        Document,
        ErrorCode,
        FireTransition,
        History,
        Instance,
        Problem,
        UploadForm,
        Verification,
    )
    from lienganh_client.types import File

    base = os.environ["CLIENT_BASE"]
    as_ = {
        who: AuthenticatedClient(base_url=base, token=os.environ[f"TOKEN_{who.upper()}"], timeout=30.0)
        for who in ["admin", "court", "officer", "head", "regional", "procuracy"]
    }

    # The agencies of a Hà Nội transfer, the regional office under the provincial one.
    for code, kind, name, parent in [
        ("TAND-HN", "court", "Tòa án nhân dân thành phố Hà Nội", None),
        ("THADS-HN", "enforcement", "Thi hành án dân sự thành phố Hà Nội", None),
        ("VKS-HN", "procuracy", "Viện kiểm sát nhân dân thành phố Hà Nội", None),
        ("THADS-HN-KV1", "enforcement", "Phòng Thi hành án dân sự khu vực 1", "THADS-HN"),
    ]:
        body = {"code": code, "kind": kind, "name": name} | ({"parent": parent} if parent else {})
        r = create_agency.sync_detailed(client=as_["admin"], body=CreateAgency.from_dict(body))
        ok(r.status_code == 201 and r.parsed.code == code, f"agency {code}: {r.status_code} {r.content!r}")
        ok(r.headers.get("location") == f"/api/v1/agencies/{code}", f"Location of {code}")

    # The court starts the transfer; its judgment took effect after 1 July 2026, so the
    # version of Law 106/2025 governs it.
    r = create_instance.sync_detailed(
        client=as_["court"],
        body=CreateInstance.from_dict(
            {
                "workflow": "court_transfer",
                "parties": {"court": "TAND-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
                "data": {
                    "judgment_number": "125/2026/KDTM-PT",
                    "judgment_date": "2026-10-05",
                    "effective_date": "2026-10-20",
                    "category": "standard",
                },
                "reference_date": "2026-10-20",
            }
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    ok(r.status_code == 201 and isinstance(r.parsed, Instance), f"create: {r.status_code} {r.content!r}")
    instance = r.parsed
    ok(
        (instance.state, instance.version, instance.workflow_version) == ("judgment_effective", 1, 2),
        "created",
    )
    ok(r.headers.get("etag") == '"1"', f"ETag of the new instance: {r.headers.get('etag')}")
    ok(r.headers.get("location") == f"/api/v1/instances/{instance.id}", "Location of the instance")

    # The judgment's file, uploaded by the court as one part of a multipart body.
    pdf = b"%PDF-1.4\n% Ban an phuc tham 125/2026/KDTM-PT\n%%EOF\n"
    r = upload_document.sync_detailed(
        client=as_["court"],
        body=UploadForm(file=File(payload=BytesIO(pdf), file_name="ban-an.pdf", mime_type="application/pdf")),
    )
    ok(r.status_code == 201 and isinstance(r.parsed, Document), f"upload: {r.status_code} {r.content!r}")
    ok((r.parsed.media_type, r.parsed.size) == ("application/pdf", len(pdf)), "the document as kept")
    judgment_file = r.parsed.id

    steps = [
        (
            "court",
            "transfer",
            {
                "judgment_file": judgment_file,
                "transfer_date": "2026-10-25",
                "method": "in_person",
                "documents": [
                    {"description": "Bản án phúc thẩm 125/2026/KDTM-PT", "quantity": "2", "unit": "bản"}
                ],
            },
            "transferred",
        ),
        (
            "officer",
            "register",
            {
                "received_date": "2026-10-27",
                "register_number": "1024/NBA",
                "receipt": [{"item": 1, "status": "received"}],
            },
            "registered",
        ),
        (
            "head",
            "issue_decision",
            {"decision_number": "88/QĐ-THADS", "decision_date": "2026-10-29"},
            "decision_issued",
        ),
        (
            "head",
            "assign_officer",
            {
                "regional_office": "THADS-HN-KV1",
                "officer_name": "Nguyễn Văn An",
                "assigned_date": "2026-10-30",
            },
            "officer_assigned",
        ),
        (
            "regional",
            "send_decision",
            {"sent_date": "2026-10-30", "dispatch_number": "91/THADS", "service_channel": "vneid"},
            "decision_sent",
        ),
    ]
    for i, (who, transition, data, to) in enumerate(steps):
        version = i + 1
        # Each step is one the caller is offered now.
        r = list_available_transitions.sync_detailed(instance.id, client=as_[who])
        ok(r.status_code == 200, f"transitions before {transition}: {r.status_code}")
        ok(transition in [t.name for t in r.parsed], f"{transition} is offered to {who}")
        body = FireTransition.from_dict({"transition": transition, "expected_version": version, "data": data})
        r = fire_transition.sync_detailed(instance.id, client=as_[who], body=body)
        ok(
            r.status_code == 200 and isinstance(r.parsed, Instance),
            f"{transition}: {r.status_code} {r.content!r}",
        )
        ok((r.parsed.state, r.parsed.version) == (to, version + 1), f"{transition} moves to {to}")
        ok(r.headers.get("etag") == f'"{version + 1}"', f"ETag after {transition}")

        if transition == "transfer":
            # The office decided on what it read before the transfer: its step is refused, as
            # a typed Problem, whether the version came in the body or in If-Match.
            register = FireTransition.from_dict(
                {"transition": "register", "expected_version": 1, "data": steps[1][2]}
            )
            r = fire_transition.sync_detailed(instance.id, client=as_["officer"], body=register)
            ok(
                r.status_code == 409 and isinstance(r.parsed, Problem),
                f"stale version: {r.status_code} {r.content!r}",
            )
            ok(r.parsed.code == ErrorCode.VERSION_CONFLICT, f"stale version: {r.parsed.code}")
            ok(r.headers.get("content-type") == "application/problem+json", "a problem's content type")
            register = FireTransition.from_dict({"transition": "register", "data": steps[1][2]})
            r = fire_transition.sync_detailed(
                instance.id, client=as_["officer"], body=register, if_match='"1"'
            )
            ok(r.status_code == 412 and isinstance(r.parsed, Problem), f"stale If-Match: {r.status_code}")
            ok(r.parsed.code == ErrorCode.PRECONDITION_FAILED, f"stale If-Match: {r.parsed.code}")
            # A court may not register for the office.
            register = FireTransition.from_dict(
                {"transition": "register", "expected_version": 2, "data": steps[1][2]}
            )
            r = fire_transition.sync_detailed(instance.id, client=as_["court"], body=register)
            ok(
                r.status_code == 403 and r.parsed.code == ErrorCode.FORBIDDEN,
                f"court registers: {r.status_code}",
            )

    r = get_instance.sync_detailed(instance.id, client=as_["procuracy"])
    ok(r.status_code == 200 and isinstance(r.parsed, Instance), f"read at the end: {r.status_code}")
    done = r.parsed
    ok((done.state, done.terminal, done.version) == ("decision_sent", True, 6), "ended in decision_sent")
    ok(done.data["decision_number"] == "88/QĐ-THADS", "the decision's number is kept")
    ok(done.data["judgment_file"]["id"] == judgment_file, "the judgment's file is kept")
    r = list_available_transitions.sync_detailed(instance.id, client=as_["head"])
    ok(r.status_code == 200 and r.parsed == [], "nothing is left to fire")
    # The judgment's file, taken by the transfer, downloaded by the office as the same bytes.
    r = download_document.sync_detailed(judgment_file, client=as_["officer"])
    ok(r.status_code == 200 and r.parsed.payload.read() == pdf, f"download: {r.status_code}")
    ok(r.headers.get("content-type") == "application/pdf", "sent as the type read from its bytes")

    r = get_instance_history.sync_detailed(instance.id, client=as_["court"])
    ok(r.status_code == 200 and isinstance(r.parsed, History), f"history: {r.status_code}")
    events = r.parsed.events
    expected = ["create"] + [s[1] for s in steps]
    ok([e.transition for e in events] == expected, f"history: {[e.transition for e in events]}")
    ok([e.seq for e in events] == list(range(1, 7)), "events numbered in order")
    ok(
        all(b.prev_hash == a.hash_ for a, b in pairwise(events)),
        "each event chained to the one before",
    )
    actors = [(e.actor.agency, e.actor.role) for e in events]
    ok(
        actors
        == [
            ("TAND-HN", "court_liaison"),
            ("TAND-HN", "court_liaison"),
            ("THADS-HN", "enforcement_officer"),
            ("THADS-HN", "enforcement_head"),
            ("THADS-HN", "enforcement_head"),
            ("THADS-HN-KV1", "enforcement_officer"),
        ],
        f"who took each step: {actors}",
    )
    ok(events[-1].to_state == "decision_sent", "the last event ends the transfer")

    r = verify_instance_history.sync_detailed(instance.id, client=as_["court"])
    ok(r.status_code == 200 and isinstance(r.parsed, Verification), f"verify: {r.status_code}")
    ok(r.parsed.valid and r.parsed.events == 6, f"the history verifies: {r.parsed.to_dict()}")
    ok(r.parsed.head_hash == events[-1].hash_, "the verified head is the last event")

    # An id that names no instance is a Problem too.
    r = get_instance.sync_detailed(str(uuid.uuid4()), client=as_["court"])
    ok(r.status_code == 404 and r.parsed.code == ErrorCode.NOT_FOUND, f"an unknown instance: {r.status_code}")
    print(f"court transfer {instance.id} walked to its end through the generated client")


def main():
    if sys.argv[1:2] == ["check"] and len(sys.argv) == 4:
        check(sys.argv[2], sys.argv[3])
    elif sys.argv[1:] == ["walk"]:
        walk()
    else:
        sys.exit(__doc__)
    print(f"client: {PASSED} passed, 0 failed")


if __name__ == "__main__":
    main()
