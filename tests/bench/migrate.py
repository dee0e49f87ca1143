#!/usr/bin/env python3
"""Moving running instances across versions, timed: N court transfers started under the 2008
version through the API, a dry run over them all, then the move in batches.

    cargo build --release && N=20000 python3 tests/bench/migrate.py

Runs the binary of LIENGANH_BIN (target/release/lienganh by default) on a fresh SQLite
database in a temporary folder, with the shipped workflows. Prints what it measured; asserts
nothing about time. BATCH sets the batch size (200 by default).
"""

import concurrent.futures
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.environ.get("LIENGANH_BIN", "target/release/lienganh")
N = int(os.environ.get("N", "20000"))
BATCH = int(os.environ.get("BATCH", "200"))
PORT = 18099


def main():
    with tempfile.TemporaryDirectory() as work:
        env = dict(
            os.environ,
            LIENGANH_DATABASE_URL=f"sqlite://{work}/bench.db",
            LIENGANH_BIND=f"127.0.0.1:{PORT}",
            LIENGANH_JWT_SECRET="bench-secret-that-is-long-enough-for-hs256",
            LIENGANH_WORKFLOWS="workflows",
            LIENGANH_LOG="warn",
        )
        server = subprocess.Popen([BIN, "serve"], env=env)
        try:
            run(env)
        finally:
            server.terminate()
            server.wait()


def token(env, sub, agency, role):
    args = [BIN, "token", "--sub", sub, "--agency", agency, "--role", role]
    return subprocess.check_output(args, env=env).decode().strip()


def call(method, path, bearer, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", method=method, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=3600) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def run(env):
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    admin = token(env, "admin", "BTP", "admin")
    court = token(env, "court", "TAND-HN", "court_liaison")
    for code, kind in [("TAND-HN", "court"), ("THADS-HN", "enforcement"), ("VKS-HN", "procuracy")]:
        call("POST", "/api/v1/agencies", admin, {"code": code, "kind": kind, "name": code})
    start = {
        "workflow": "court_transfer",
        "reference_date": "2026-05-01",
        "parties": {"court": "TAND-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {
            "judgment_number": "125/2026/KDTM-PT",
            "judgment_date": "2026-04-20",
            "effective_date": "2026-05-01",
            "category": "standard",
        },
    }
    t = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: call("POST", "/api/v1/instances", court, start)[0], range(N)))
    print(f"started {codes.count(201)} court transfers under v1 in {time.monotonic() - t:.1f} s")

    path = "/api/v1/workflows/court_transfer/migrations"
    t = time.monotonic()
    status, dry = call("POST", path, admin, {"from_version": 1, "to_version": 2, "dry_run": True, "list": 10})
    print(f"dry run: {status}, {dry['moving']} would move, {dry['refused']} would not, {time.monotonic() - t:.2f} s")

    t = time.monotonic()
    status, done = call("POST", path, admin, {"from_version": 1, "to_version": 2, "batch_size": BATCH})
    elapsed = time.monotonic() - t
    batches = -(-N // BATCH)
    print(
        f"moved: {status}, {done['moved']} in {elapsed:.2f} s, {batches} batches of {BATCH}: "
        f"{1000 * elapsed / batches:.0f} ms a batch, {1e6 * elapsed / max(done['moved'], 1):.0f} µs an instance"
    )


if __name__ == "__main__":
    main()
