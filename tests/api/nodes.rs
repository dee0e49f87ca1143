//! Several nodes over one database: started at once on an empty one, they all come up; their
//! readiness shows the definitions they loaded, so a node with other files stands out.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::helpers::{backends, unserved, Backend, TestApp, SECRET};
use crate::operations::lienganh;

/// A `lienganh serve` process and where it listens.
struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `count` nodes at the same moment over the app's database; waits for each to listen.
fn start_nodes(app: &TestApp, workflows: &[&std::path::Path]) -> Vec<Node> {
    let children: Vec<(Child, std::path::PathBuf)> = workflows
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let log = app.dir().join(format!("node-{i}.log"));
            let child = lienganh()
                .arg("serve")
                .current_dir(app.dir())
                .env("LIENGANH_DATABASE_URL", &app.database_url)
                .env("LIENGANH_BIND", "127.0.0.1:0")
                .env("LIENGANH_JWT_SECRET", SECRET)
                .env("LIENGANH_POOL_SIZE", "2")
                .env("LIENGANH_WORKFLOWS", dir)
                .env("LIENGANH_DOCUMENTS_URL", app.documents())
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            (child, log)
        })
        .collect();
    children
        .into_iter()
        .map(|(mut child, log)| {
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            let base = loop {
                match lines.next() {
                    Some(Ok(line)) => {
                        if let Some(base) = line.strip_prefix("lienganh is listening on ") {
                            break base.trim().to_owned();
                        }
                    }
                    _ => {
                        panic!("a node did not start: {}", std::fs::read_to_string(&log).unwrap_or_default())
                    }
                }
            };
            std::thread::spawn(move || lines.for_each(drop));
            Node { child, base }
        })
        .collect()
}

async fn ready(node: &Node) -> (u16, Value) {
    let r = reqwest::get(format!("{}/readyz", node.base)).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Two nodes started at once on an empty database both come up, the migrations applied once.
#[tokio::test]
async fn two_nodes_started_at_once_on_an_empty_database_both_come_up() {
    for backend in backends() {
        let app = unserved(backend);
        let workflows = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
        let nodes = start_nodes(&app, &[&workflows, &workflows]);
        let mut hashes = Vec::new();
        for node in &nodes {
            let (status, body) = ready(node).await;
            assert_eq!(status, 200, "{backend:?}: {body}");
            assert_eq!(body["status"], "ready");
            assert_eq!(body["migrations"], "applied");
            assert_eq!(body["database_reachable"], true);
            assert!(body["workflows"].as_u64().unwrap() > 10, "{body}");
            hashes.push(body["workflows_hash"].as_str().unwrap().to_owned());
            let alive: Value =
                reqwest::get(format!("{}/livez", node.base)).await.unwrap().json().await.unwrap();
            assert_eq!(alive["status"], "ok");
        }
        assert_eq!(hashes[0], hashes[1], "the same files, the same hash");
        assert_eq!(hashes[0].len(), 64);
        if backend == Backend::Postgres {
            // Each migration recorded once.
            let mut conn = lienganh::store::direct(&app.database_url).unwrap();
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            use diesel::RunQueryDsl;
            let twice: Count = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM (SELECT version FROM __diesel_schema_migrations \
                 GROUP BY version HAVING COUNT(*) > 1) AS repeated",
            )
            .get_result(&mut conn)
            .unwrap();
            assert_eq!(twice.n, 0);
        }
    }
}

/// A node whose workflow files differ shows another hash; a database behind the binary makes a
/// node not ready, never not alive.
#[tokio::test]
async fn a_node_with_other_definitions_stands_out_and_a_database_behind_it_is_not_ready() {
    let app = unserved(Backend::Sqlite);
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let other = app.dir().join("other-workflows");
    copy_dir(&shipped, &other);
    let file = other.join("court_transfer.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("# edited on one node only\n{text}")).unwrap();
    let nodes = start_nodes(&app, &[&shipped, &other]);
    let (a, b) = (ready(&nodes[0]).await.1, ready(&nodes[1]).await.1);
    assert_eq!(a["calendar_hash"], b["calendar_hash"], "the same calendar");
    assert_ne!(a["workflows_hash"], b["workflows_hash"], "other definitions, another hash");
    // The metrics label each node with its hashes, for an alert when nodes disagree.
    for (node, ready) in nodes.iter().zip([&a, &b]) {
        let text = reqwest::get(format!("{}/metrics", node.base)).await.unwrap().text().await.unwrap();
        let line = format!(
            "lienganh_definitions_info{{calendar_hash={},workflows_hash={}}} 1",
            ready["calendar_hash"], ready["workflows_hash"]
        );
        assert!(text.contains(&line), "{line} in {text}");
    }

    // A database behind this binary (restored from an older backup, say): not ready, saying
    // why, with Retry-After; alive all the same.
    {
        use diesel::RunQueryDsl;
        let mut conn = lienganh::store::direct(&app.database_url).unwrap();
        diesel::sql_query(
            "DELETE FROM __diesel_schema_migrations WHERE version = (SELECT MAX(version) FROM __diesel_schema_migrations)",
        )
        .execute(&mut conn)
        .unwrap();
    }
    let r = reqwest::get(format!("{}/readyz", nodes[0].base)).await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!((body["status"].as_str(), body["migrations"].as_str()), (Some("not_ready"), Some("pending")));
    assert!(body["reasons"][0].as_str().unwrap().contains("lienganh migrate"), "{body}");
    let alive = reqwest::get(format!("{}/livez", nodes[0].base)).await.unwrap();
    assert_eq!(alive.status(), 200);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Secrets read from files, as systemd's credentials or a container's secrets hold them: the
/// token secret, the metrics token and the database URL; one given both ways is refused.
#[tokio::test]
async fn secrets_are_read_from_files() {
    let app = unserved(Backend::Sqlite);
    let write = |name: &str, text: &str| {
        let path = app.dir().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let secret = write("jwt-secret", &format!("{SECRET}\n"));
    let metrics = write("metrics-token", "a-scraper-token-of-some-length\n");
    let url = write("database-url", &app.database_url);
    let log = app.dir().join("serve.log");
    let start = |extra: &[(&str, &str)]| {
        let mut cmd = lienganh();
        cmd.arg("serve")
            .current_dir(app.dir())
            .env("LIENGANH_BIND", "127.0.0.1:0")
            .env("LIENGANH_DATABASE_URL_FILE", &url)
            .env("LIENGANH_JWT_SECRET_FILE", &secret)
            .env("LIENGANH_METRICS_TOKEN_FILE", &metrics)
            .env("LIENGANH_DOCUMENTS_URL", app.documents())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    };
    let mut child = start(&[]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(base) = line.strip_prefix("lienganh is listening on ") {
                    break base.trim().to_owned();
                }
            }
            _ => panic!("serve did not start: {}", std::fs::read_to_string(&log).unwrap_or_default()),
        }
    };
    let node = Node { child, base };
    std::thread::spawn(move || lines.for_each(drop));
    let client = reqwest::Client::new();
    // A token signed with the secret in the file is accepted.
    let r =
        client.get(format!("{}/api/v1/agencies", node.base)).bearer_auth(app.admin()).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", std::fs::read_to_string(&log).unwrap_or_default());
    // The metrics need the token in the file.
    let r = client.get(format!("{}/metrics", node.base)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(format!("{}/metrics", node.base))
        .bearer_auth("a-scraper-token-of-some-length")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The database named in the file is the one used.
    assert!(std::path::Path::new(app.database_url.trim_start_matches("sqlite://")).exists());
    drop(node);

    // Given both ways: refused, saying so.
    let both =
        start(&[("LIENGANH_JWT_SECRET", "another-secret-given-in-the-environment")]).wait_with_output();
    let both = both.unwrap();
    assert!(!both.status.success());
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(said.contains("jwt_secret or jwt_secret_file, not both"), "{said}");
}
