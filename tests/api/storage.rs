//! Documents kept in an S3-compatible bucket, as several nodes keep them: the real binary
//! serving over one database and one bucket (two nodes on PostgreSQL, one on SQLite, which a
//! single node serves). Runs when `LIENGANH_TEST_S3_ENDPOINT` names an S3-compatible server
//! that takes any credentials (`.ci/run` starts one: moto's server, from PyPI); each test
//! makes a bucket of its own there.

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::Value;

use crate::helpers::{backends, pdf, transfer_request, unserved, Backend, TestApp};
use crate::operations::{lienganh, serve, Served};

/// The S3-compatible server the tests may use, if one is configured.
fn s3_endpoint() -> Option<String> {
    std::env::var("LIENGANH_TEST_S3_ENDPOINT").ok().filter(|e| !e.is_empty())
}

/// A bucket of the test's own, and what a node needs to keep its documents there.
struct Bucket {
    endpoint: String,
    name: String,
}

impl Bucket {
    async fn fresh(endpoint: &str) -> Bucket {
        let name = format!("lienganh-{}", uuid::Uuid::new_v4().simple());
        let r = reqwest::Client::new().put(format!("{endpoint}/{name}")).send().await.unwrap();
        assert!(r.status().is_success(), "create bucket {name}: {}", r.status());
        Bucket { endpoint: endpoint.to_owned(), name }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LIENGANH_DOCUMENTS_URL", format!("s3://{}/documents", self.name)),
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "lienganh-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "lienganh-test-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The bucket itself, as any S3 client reads it.
    fn client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(&self.name)
            .with_access_key_id("lienganh-test")
            .with_secret_access_key("lienganh-test-secret")
            .with_region("us-east-1")
            .build()
            .unwrap()
    }

    /// The object that holds the bytes of SHA-256 `sha256`.
    fn object(sha256: &str) -> Path {
        Path::from(format!("documents/sha256/{}/{sha256}", &sha256[..2]))
    }

    /// The bytes the bucket holds for `sha256`, if any.
    async fn bytes(&self, sha256: &str) -> Option<Vec<u8>> {
        match self.client().get(&Bucket::object(sha256)).await {
            Ok(got) => Some(got.bytes().await.unwrap().to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("read the bucket: {e}"),
        }
    }
}

fn start(app: &mut TestApp, bucket: &Bucket) -> (Served, String) {
    let env = bucket.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let served = serve(app, &pairs);
    let base = app.base.clone();
    (served, base)
}

/// Runs the binary with `args` over the app's database and the bucket.
fn run(app: &TestApp, bucket: &Bucket, args: &[&str]) -> (bool, String) {
    let mut cmd = lienganh();
    cmd.current_dir(app.dir()).env("LIENGANH_DATABASE_URL", &app.database_url).args(args);
    for (k, v) in bucket.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>) -> Value {
    let r = app.upload(token, bytes, "application/pdf").await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

/// Uploaded on one node, handed over with a step on the other, downloaded from both: the
/// bytes are in the bucket, not on either node. `audit verify` re-hashes them there and names
/// one changed in the bucket; an upload no step took is removed from the bucket after a day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_share_the_documents_of_one_bucket() {
    let Some(endpoint) = s3_endpoint() else {
        eprintln!("LIENGANH_TEST_S3_ENDPOINT is not set: the S3-compatible store is not tested");
        return;
    };
    for backend in backends() {
        let bucket = Bucket::fresh(&endpoint).await;
        let mut app = unserved(backend);
        let (_first, first) = start(&mut app, &bucket);
        // PostgreSQL serves several nodes; a SQLite database, one.
        let second = if backend == Backend::Postgres {
            let (node, base) = start(&mut app, &bucket);
            Some((node, base))
        } else {
            None
        };
        let other = second.as_ref().map_or(first.clone(), |(_, base)| base.clone());
        app.base = first.clone();
        app.seed_agencies().await;

        let bytes = pdf("Bản án 45/2026/DS-PT");
        let uploaded = upload(&app, &app.court(), bytes.clone()).await;
        let sha256 = uploaded["sha256"].as_str().unwrap().to_owned();
        // In the bucket itself, under its SHA-256.
        assert_eq!(
            bucket.bytes(&sha256).await.as_deref(),
            Some(bytes.as_slice()),
            "{backend:?}: in the bucket"
        );

        app.base = other.clone();
        let r = app.post("/api/v1/instances", &app.court(), &transfer_request("standard")).await;
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let mut data = crate::helpers::transfer_data("Bản án");
        data["judgment_file"] = uploaded["id"].clone();
        let r = app.fire(&id, &app.court(), "transfer", 1, data).await;
        assert_eq!(r.status(), 200, "{backend:?}: {}", r.text().await.unwrap());

        for base in [&first, &other] {
            app.base = base.clone();
            let r = app
                .get(&format!("/api/v1/documents/{}", uploaded["id"].as_str().unwrap()), &app.officer())
                .await;
            assert_eq!(r.status(), 200, "{backend:?} {base}");
            assert_eq!(r.headers()["etag"].to_str().unwrap(), format!("\"{sha256}\""));
            assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice(), "{backend:?} {base}");
        }
        // Nothing was kept on the nodes' disk.
        assert!(!app.dir().join("lienganh-documents").exists());
        let beside = app.dir().join("test.db.documents");
        assert!(!beside.exists(), "{backend:?}: no folder beside the database");

        let (ok, text) = run(&app, &bucket, &["audit", "verify"]);
        assert!(ok, "{backend:?}: {text}");
        assert!(text.contains("verified 1 stored documents"), "{text}");

        // A byte changed in the bucket is found.
        let mut changed = bytes.clone();
        changed[10] ^= 1;
        bucket.client().put(&Bucket::object(&sha256), PutPayload::from(changed)).await.unwrap();
        let (ok, text) = run(&app, &bucket, &["audit", "verify"]);
        assert!(!ok, "{backend:?}: an altered document passed: {text}");
        assert!(text.contains(&format!("BROKEN document {sha256}: altered")), "{text}");

        // An upload no step took is gone from the bucket a day later.
        let unused = upload(&app, &app.court(), pdf("không dùng")).await;
        let unused_sha = unused["sha256"].as_str().unwrap().to_owned();
        assert!(bucket.bytes(&unused_sha).await.is_some());
        let later = (chrono::Utc::now() + chrono::Duration::hours(25)).to_rfc3339();
        let (ok, text) = run(&app, &bucket, &["remind", "--once", "--now", &later]);
        assert!(ok, "{backend:?}: {text}");
        assert!(text.contains("uploads no step took removed 1"), "{text}");
        assert_eq!(bucket.bytes(&unused_sha).await, None, "{backend:?}: removed from the bucket");
        // The used one stays.
        assert!(bucket.bytes(&sha256).await.is_some());
        let r = app.get(&format!("/api/v1/documents/{}", unused["id"].as_str().unwrap()), &app.court()).await;
        assert_eq!(r.status(), 404);
    }
}
