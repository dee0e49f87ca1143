//! Tokens of an identity provider that publishes its keys at a JWKS URL: a small JWKS server
//! runs inside each test, and its keys are rotated while the service runs.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, spawn_with, TestApp, SECRET};

/// What the JWKS server publishes, and how often it was asked.
#[derive(Clone)]
pub struct Provider {
    published: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    pub url: String,
}

impl Provider {
    /// A JWKS server on a free port publishing `keys`.
    pub async fn start(keys: Value) -> Self {
        let published = Arc::new(Mutex::new(json!({ "keys": keys })));
        let fetches = Arc::new(AtomicUsize::new(0));
        let state = (published.clone(), fetches.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let state = state.clone();
            App::new().route(
                "/jwks",
                web::get().to(move || {
                    let (published, fetches) = state.clone();
                    async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let body = published.lock().unwrap().clone();
                        HttpResponse::Ok().insert_header(("Cache-Control", "max-age=600")).json(body)
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { published, fetches, url: format!("http://127.0.0.1:{port}/jwks") }
    }

    pub fn publish(&self, keys: Value) {
        *self.published.lock().unwrap() = json!({ "keys": keys });
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-only-keys");
    std::fs::read(dir.join(name)).unwrap()
}

/// A test-only RSA key of the fixtures.
pub fn rsa(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture(name)).unwrap()
}

/// The public JWK of `key`, named `kid`, with `extra` members.
pub fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str, extra: Value) -> Value {
    let mut public = serde_json::to_value(Jwk::from_encoding_key(key, alg).unwrap()).unwrap();
    public["kid"] = json!(kid);
    public["use"] = json!("sig");
    for (name, value) in extra.as_object().unwrap() {
        public[name] = value.clone();
    }
    public
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "sub": "court-1", "name": "Trần Thị Bình", "agency": "TAND-HN", "roles": ["court_liaison"],
        "iat": now, "exp": now + 3600, "iss": "lienganh", "aud": "lienganh-api"
    });
    for (k, v) in overrides.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// A token signed by `key` with `alg`, naming `kid`.
pub fn token(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).unwrap()
}

async fn status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/instances", token).await.status().as_u16()
}

/// A token of a published key is accepted; the provider rotates its keys and a token of the
/// new key is accepted without a restart, while the retired key's are refused; a made-up kid
/// is refused; `aud` as a list holding the audience is accepted, and `nbf` in the future is not.
#[tokio::test]
async fn keys_published_at_a_jwks_url_are_used_and_rotated_without_a_restart() {
    let first = rsa("idp-rsa-private.pem");
    let second = rsa("other-rsa-private.pem");
    for backend in backends() {
        let provider = Provider::start(json!([jwk(&first, Algorithm::RS256, "k1", json!({}))])).await;
        let app = spawn_with(backend, |s| {
            s.jwt_jwks_url = Some(provider.url.clone());
            s.jwt_jwks_cooldown_seconds = 0;
        })
        .await;
        let what = format!("{backend:?}");
        assert_eq!(provider.fetches(), 0, "{what}: fetched when first used, not before");
        let good = token(Algorithm::RS256, &first, Some("k1"), &claims(json!({})));
        assert_eq!(status(&app, &good).await, 200, "{what}");
        assert_eq!(status(&app, &good).await, 200, "{what}");
        assert_eq!(provider.fetches(), 1, "{what}: the keys are kept while fresh");

        let listed = claims(json!({"aud": ["account", "lienganh-api"]}));
        assert_eq!(status(&app, &token(Algorithm::RS256, &first, Some("k1"), &listed)).await, 200, "{what}");
        let others = claims(json!({"aud": ["account", "another-service"]}));
        assert_eq!(status(&app, &token(Algorithm::RS256, &first, Some("k1"), &others)).await, 401, "{what}");
        let later = claims(json!({"nbf": chrono::Utc::now().timestamp() + 3600}));
        let r = app.get("/api/v1/instances", &token(Algorithm::RS256, &first, Some("k1"), &later)).await;
        expect_problem(r, 401, "unauthorized").await;

        let unknown = token(Algorithm::RS256, &first, Some("made-up"), &claims(json!({})));
        expect_problem(app.get("/api/v1/instances", &unknown).await, 401, "unauthorized").await;

        // The provider rotates: a new key, the old one retired.
        provider.publish(json!([jwk(&second, Algorithm::RS256, "k2", json!({}))]));
        let rotated = token(Algorithm::RS256, &second, Some("k2"), &claims(json!({})));
        assert_eq!(status(&app, &rotated).await, 200, "{what}: the new key without a restart");
        assert_eq!(status(&app, &good).await, 401, "{what}: the retired key");
        // The local tokens stay accepted beside the provider's.
        assert_eq!(status(&app, &app.court()).await, 200, "{what}");
    }
}

/// Tokens naming keys the provider never published cost it one fetch per cooldown, however
/// many arrive.
#[tokio::test]
async fn made_up_kids_fetch_the_keys_at_most_once_per_cooldown() {
    let key = rsa("idp-rsa-private.pem");
    let provider = Provider::start(json!([jwk(&key, Algorithm::RS256, "k1", json!({}))])).await;
    let app =
        spawn_with(crate::helpers::Backend::Sqlite, |s| s.jwt_jwks_url = Some(provider.url.clone())).await;
    let good = token(Algorithm::RS256, &key, Some("k1"), &claims(json!({})));
    assert_eq!(status(&app, &good).await, 200);
    for n in 0..25 {
        let bogus = token(Algorithm::RS256, &key, Some(&format!("bogus-{n}")), &claims(json!({})));
        assert_eq!(status(&app, &bogus).await, 401);
    }
    assert_eq!(provider.fetches(), 1);
    assert_eq!(status(&app, &good).await, 200);
}

/// Without any token naming a new key, the keys are fetched again once they are older than
/// their lifetime: a key the provider withdrew stops working.
#[tokio::test]
async fn stale_keys_are_fetched_again() {
    let key = rsa("idp-rsa-private.pem");
    let provider = Provider::start(json!([jwk(&key, Algorithm::RS256, "k1", json!({}))])).await;
    let app = spawn_with(crate::helpers::Backend::Sqlite, |s| {
        s.jwt_jwks_url = Some(provider.url.clone());
        s.jwt_jwks_refresh_seconds = 1;
        s.jwt_jwks_cooldown_seconds = 1;
    })
    .await;
    let good = token(Algorithm::RS256, &key, Some("k1"), &claims(json!({})));
    assert_eq!(status(&app, &good).await, 200);
    provider.publish(json!([]));
    assert_eq!(status(&app, &good).await, 200, "held while fresh");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(status(&app, &good).await, 401, "withdrawn at the provider");
    assert_eq!(provider.fetches(), 2);
}

/// Each published key checks its one algorithm, never the one a token's header asks for:
/// HS256 naming a published key (signed with its public parts, or with a shared secret the
/// JWKS lists), another algorithm than the key's, another key's signature, no kid, and bad
/// claims are all refused with 401.
#[tokio::test]
async fn forged_tokens_naming_published_keys_are_refused() {
    let key = rsa("idp-rsa-private.pem");
    let other = rsa("other-rsa-private.pem");
    let published = jwk(&key, Algorithm::RS256, "k1", json!({}));
    let modulus = URL_SAFE_NO_PAD.decode(published["n"].as_str().unwrap()).unwrap();
    let provider = Provider::start(json!([
        published,
        jwk(&other, Algorithm::PS256, "pss", json!({"alg": "PS256"})),
        {"kty": "oct", "kid": "shared", "k": URL_SAFE_NO_PAD.encode(SECRET), "alg": "HS256"},
    ]))
    .await;
    for backend in backends() {
        let app = spawn_with(backend, |s| {
            s.jwt_jwks_url = Some(provider.url.clone());
            s.jwt_jwks_cooldown_seconds = 0;
        })
        .await;
        let now = chrono::Utc::now().timestamp();
        let c = claims(json!({}));
        let good = token(Algorithm::RS256, &key, Some("k1"), &c);
        let resigned = |header: &str| {
            let rest = good.split_once('.').unwrap().1;
            format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header))
        };
        let forged: Vec<(&str, String)> = vec![
            (
                "HS256 with the key's modulus",
                token(Algorithm::HS256, &EncodingKey::from_secret(&modulus), Some("k1"), &c),
            ),
            (
                "HS256 naming a published shared secret",
                token(Algorithm::HS256, &EncodingKey::from_secret(b"another-secret"), Some("shared"), &c),
            ),
            ("RS512 header on an RS256 key", resigned(r#"{"alg":"RS512","kid":"k1","typ":"JWT"}"#)),
            ("RS256 for a PS256 key", token(Algorithm::RS256, &other, Some("pss"), &c)),
            ("another key's signature", token(Algorithm::RS256, &other, Some("k1"), &c)),
            ("no kid", token(Algorithm::RS256, &key, None, &c)),
            (
                "expired",
                token(
                    Algorithm::RS256,
                    &key,
                    Some("k1"),
                    &claims(json!({"exp": now - 3600, "iat": now - 7200})),
                ),
            ),
            (
                "wrong issuer",
                token(Algorithm::RS256, &key, Some("k1"), &claims(json!({"iss": "someone-else"}))),
            ),
            (
                "wrong audience",
                token(Algorithm::RS256, &key, Some("k1"), &claims(json!({"aud": "someone-else"}))),
            ),
            (
                "no known role",
                token(Algorithm::RS256, &key, Some("k1"), &claims(json!({"roles": ["offline_access"]}))),
            ),
        ];
        for (case, forged) in forged {
            let r = app.get("/api/v1/instances", &forged).await;
            assert_eq!(r.status(), 401, "{backend:?}: {case}");
            expect_problem(r, 401, "unauthorized").await;
        }
        assert_eq!(status(&app, &good).await, 200);
        let pss = token(Algorithm::PS256, &other, Some("pss"), &c);
        assert_eq!(status(&app, &pss).await, 200, "the algorithm the key declares");
        // The published shared secret is no key even when it is the local secret: HS256 is
        // checked against the local secret only, as a local token.
        let local_with_kid =
            token(Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()), Some("shared"), &c);
        assert_eq!(status(&app, &local_with_kid).await, 200);
        let app = spawn_with(backend, |s| {
            s.jwt_jwks_url = Some(provider.url.clone());
            s.jwt_local_tokens = false;
        })
        .await;
        assert_eq!(status(&app, &local_with_kid).await, 401, "{backend:?}: local tokens off");
        assert_eq!(status(&app, &good).await, 200, "{backend:?}: local tokens off");
    }
}

/// The agency and the roles read where the provider puts them: nested claims (Keycloak's
/// `realm_access.roles`), and groups with a prefix, other names left out.
#[tokio::test]
async fn agency_and_roles_are_read_from_the_configured_claims() {
    let key = rsa("idp-rsa-private.pem");
    let provider = Provider::start(json!([jwk(&key, Algorithm::RS256, "k1", json!({}))])).await;
    for backend in backends() {
        let app = spawn_with(backend, |s| {
            s.jwt_jwks_url = Some(provider.url.clone());
            s.jwt_agency_claim = "attributes.agency".into();
            s.jwt_roles_claim = "realm_access.roles".into();
        })
        .await;
        let nested = |agency: Value, roles: Value| {
            let mut c = claims(json!({"attributes": {"agency": agency}, "realm_access": {"roles": roles}}));
            let map = c.as_object_mut().unwrap();
            map.remove("agency");
            map.remove("roles");
            token(Algorithm::RS256, &key, Some("k1"), &c)
        };
        let admin = nested(json!("BTP"), json!(["offline_access", "uma_authorization", "admin"]));
        let r = app.post("/api/v1/agencies", &admin, &json!({"code": "THADS-DN", "kind": "enforcement", "name": "Thi hành án dân sự thành phố Đà Nẵng"})).await;
        assert_eq!(r.status(), 201, "{backend:?}: an admin by its nested role");
        let officer = nested(json!(["THADS-HN"]), json!(["enforcement_officer"]));
        assert_eq!(status(&app, &officer).await, 200, "{backend:?}: an agency as a one-item list");
        let r = app
            .post(
                "/api/v1/agencies",
                &officer,
                &json!({"code": "THADS-HP", "kind": "enforcement", "name": "x"}),
            )
            .await;
        assert_eq!(r.status(), 403, "{backend:?}: an officer is no admin");
        for (case, t) in [
            ("top-level claims only", token(Algorithm::RS256, &key, Some("k1"), &claims(json!({})))),
            ("no role of lienganh", nested(json!("THADS-HN"), json!(["offline_access"]))),
            ("no agency", nested(json!(null), json!(["admin"]))),
        ] {
            assert_eq!(status(&app, &t).await, 401, "{backend:?}: {case}");
        }

        let app = spawn_with(backend, |s| {
            s.jwt_jwks_url = Some(provider.url.clone());
            s.jwt_roles_claim = "groups".into();
            s.jwt_role_prefix = Some("lienganh:".into());
        })
        .await;
        let grouped = |groups: Value| {
            let mut c = claims(json!({ "groups": groups }));
            c.as_object_mut().unwrap().remove("roles");
            token(Algorithm::RS256, &key, Some("k1"), &c)
        };
        assert_eq!(
            status(&app, &grouped(json!(["staff", "lienganh:court_liaison"]))).await,
            200,
            "{backend:?}"
        );
        assert_eq!(
            status(&app, &grouped(json!(["court_liaison"]))).await,
            401,
            "{backend:?}: without the prefix"
        );
        assert_eq!(status(&app, &grouped(json!(["other:admin"]))).await, 401, "{backend:?}: another prefix");
    }
}
