use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use lienganh::config::Settings;
use lienganh::http::auth::JwtKeys;

use crate::helpers::{backends, expect_problem, spawn, spawn_with, SECRET};

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

fn sign(secret: &str, claims: &Value) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn bad_tokens_get_401() {
    for backend in backends() {
        let app = spawn(backend).await;
        let r = app.client.get(app.url("/api/v1/instances")).send().await.unwrap();
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        expect_problem(r, 401, "unauthorized").await;

        let now = chrono::Utc::now().timestamp();
        let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
        let forged = sign(SECRET, &claims(json!({})));
        let mut parts: Vec<&str> = forged.split('.').collect();
        let tampered_body = URL_SAFE_NO_PAD.encode(claims(json!({"agency": "THADS-HN"})).to_string());
        parts[1] = &tampered_body;
        let tampered = parts.join(".");
        let cases: Vec<(&str, String)> = vec![
            ("alg none", format!("{header_none}.{body}.")),
            ("wrong key", sign("another-secret-another-secret-another-secret", &claims(json!({})))),
            ("expired", sign(SECRET, &claims(json!({"exp": now - 3600, "iat": now - 7200})))),
            ("not yet valid", sign(SECRET, &claims(json!({"nbf": now + 3600})))),
            ("wrong audience", sign(SECRET, &claims(json!({"aud": "someone-else"})))),
            ("wrong issuer", sign(SECRET, &claims(json!({"iss": "someone-else"})))),
            ("unknown role", sign(SECRET, &claims(json!({"roles": ["judge"]})))),
            ("no roles", sign(SECRET, &claims(json!({"roles": []})))),
            ("tampered claims", tampered),
            ("garbage", "not-a-token".into()),
            ("HS384 with the right key", {
                let key = EncodingKey::from_secret(SECRET.as_bytes());
                encode(&Header::new(Algorithm::HS384), &claims(json!({})), &key).unwrap()
            }),
            ("HS512 with the right key", {
                let key = EncodingKey::from_secret(SECRET.as_bytes());
                encode(&Header::new(Algorithm::HS512), &claims(json!({})), &key).unwrap()
            }),
        ];
        for (what, token) in cases {
            let r = app.get("/api/v1/instances", &token).await;
            assert_eq!(r.status(), 401, "{backend:?} {what}");
            expect_problem(r, 401, "unauthorized").await;
        }
        // The same claims, correctly signed, are accepted; `aud` may be a list that holds ours.
        assert_eq!(app.get("/api/v1/instances", &sign(SECRET, &claims(json!({})))).await.status(), 200);
        let listed = sign(SECRET, &claims(json!({"aud": ["account", "lienganh-api"]})));
        assert_eq!(app.get("/api/v1/instances", &listed).await.status(), 200, "{backend:?} aud list");
    }
}

/// The test-only keys of `tests/fixtures/test-only-keys`.
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-only-keys").join(name)
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn sign_with(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    encode(&Header::new(alg), claims, key).unwrap()
}

/// Replaces a token's header, keeping its claims and signature.
fn with_header(token: &str, header: &str) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header))
}

/// What every public-key configuration must refuse, whatever the key: tokens of another key,
/// of an algorithm not pinned to the key, the key used as an HMAC secret, and bad claims.
fn forged_public_key_tokens(
    alg: Algorithm,
    key: &EncodingKey,
    public_pem: &[u8],
) -> Vec<(&'static str, String)> {
    let now = chrono::Utc::now().timestamp();
    let good = sign_with(alg, key, &claims(json!({})));
    let other_rsa = EncodingKey::from_rsa_pem(&pem("other-rsa-private.pem")).unwrap();
    let other_ed = EncodingKey::from_ed_pem(&pem("other-ed25519-private.pem")).unwrap();
    let mut tampered: Vec<&str> = good.split('.').collect();
    let tampered_body = URL_SAFE_NO_PAD.encode(claims(json!({"roles": ["admin"]})).to_string());
    tampered[1] = &tampered_body;
    let tampered = tampered.join(".");
    vec![
        ("signed by another RSA key", sign_with(Algorithm::RS256, &other_rsa, &claims(json!({})))),
        ("signed by another Ed25519 key", sign_with(Algorithm::EdDSA, &other_ed, &claims(json!({})))),
        ("alg switched to RS512", with_header(&good, r#"{"alg":"RS512","typ":"JWT"}"#)),
        ("alg switched to PS256", with_header(&good, r#"{"alg":"PS256","typ":"JWT"}"#)),
        (
            "alg switched to none",
            format!("{}.", with_header(&good, r#"{"alg":"none","typ":"JWT"}"#).rsplit_once('.').unwrap().0),
        ),
        ("alg switched to HS256", with_header(&good, r#"{"alg":"HS256","typ":"JWT"}"#)),
        (
            "key confusion: HS256 with the public key as secret",
            sign_with(Algorithm::HS256, &EncodingKey::from_secret(public_pem), &claims(json!({}))),
        ),
        ("expired", sign_with(alg, key, &claims(json!({"exp": now - 3600, "iat": now - 7200})))),
        ("not yet valid", sign_with(alg, key, &claims(json!({"nbf": now + 3600})))),
        ("wrong audience", sign_with(alg, key, &claims(json!({"aud": "someone-else"})))),
        ("wrong issuer", sign_with(alg, key, &claims(json!({"iss": "someone-else"})))),
        ("tampered claims", tampered),
        ("overlong name", sign_with(alg, key, &claims(json!({"name": "x".repeat(201)})))),
        ("control character in sub", sign_with(alg, key, &claims(json!({"sub": "a\u{0}b"})))),
    ]
}

/// An identity provider's RS256 or EdDSA public key, configured as a PEM file: its tokens are
/// accepted; every forgery gets 401 problem+json; local HS256 tokens stay accepted beside it,
/// each key pinned to its own algorithm.
#[tokio::test]
async fn identity_provider_tokens_are_checked_with_the_configured_public_key() {
    let setups = [
        (
            "idp-rsa-public.pem",
            None,
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&pem("idp-rsa-private.pem")),
        ),
        (
            "idp-ed25519-public.pem",
            None,
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(&pem("idp-ed25519-private.pem")),
        ),
        (
            "idp-rsa-public.pem",
            Some("RS256"),
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&pem("idp-rsa-private.pem")),
        ),
    ];
    for backend in backends() {
        for (public, configured, alg, key) in &setups {
            let key = key.as_ref().unwrap();
            let app = spawn_with(backend, |s| {
                s.jwt_public_key_file = Some(fixture(public));
                s.jwt_public_key_algorithm = configured.map(str::to_owned);
            })
            .await;
            let what = format!("{backend:?} {public} {alg:?}");
            let good = sign_with(*alg, key, &claims(json!({})));
            assert_eq!(app.get("/api/v1/instances", &good).await.status(), 200, "{what}");
            // No name: the subject stands for it.
            let mut unnamed = claims(json!({}));
            unnamed.as_object_mut().unwrap().remove("name");
            let r = app.get("/api/v1/instances", &sign_with(*alg, key, &unnamed)).await;
            assert_eq!(r.status(), 200, "{what} without a name");
            assert_eq!(app.get("/api/v1/instances", &sign(SECRET, &claims(json!({})))).await.status(), 200);
            // A token of the other public-key algorithm than the one configured.
            let (other_alg, other_key) = if *alg == Algorithm::EdDSA {
                (Algorithm::RS256, EncodingKey::from_rsa_pem(&pem("idp-rsa-private.pem")).unwrap())
            } else {
                (Algorithm::EdDSA, EncodingKey::from_ed_pem(&pem("idp-ed25519-private.pem")).unwrap())
            };
            let mut forged = forged_public_key_tokens(*alg, key, &pem(public));
            forged.push(("the other algorithm", sign_with(other_alg, &other_key, &claims(json!({})))));
            for (case, token) in forged {
                let r = app.get("/api/v1/instances", &token).await;
                assert_eq!(r.status(), 401, "{what}: {case}");
                expect_problem(r, 401, "unauthorized").await;
            }
        }
    }
}

/// With local tokens turned off, a token signed with the local secret is refused, and only the
/// identity provider's are accepted.
#[tokio::test]
async fn local_tokens_can_be_turned_off() {
    for backend in backends() {
        let app = spawn_with(backend, |s| {
            s.jwt_public_key_file = Some(fixture("idp-rsa-public.pem"));
            s.jwt_local_tokens = false;
        })
        .await;
        let local = sign(SECRET, &claims(json!({})));
        expect_problem(app.get("/api/v1/instances", &local).await, 401, "unauthorized").await;
        let key = EncodingKey::from_rsa_pem(&pem("idp-rsa-private.pem")).unwrap();
        let idp = sign_with(Algorithm::RS256, &key, &claims(json!({})));
        assert_eq!(app.get("/api/v1/instances", &idp).await.status(), 200);
    }
}

/// A configuration that could not check tokens safely stops the start with the reason.
#[test]
fn unsafe_key_settings_are_refused() {
    let base = || Settings { jwt_secret: Some(SECRET.into()), ..Settings::default() };
    let refused = |settings: Settings, expected: &str| match JwtKeys::from_settings(&settings) {
        Ok(_) => panic!("accepted, expected {expected:?}"),
        Err(e) => assert!(e.contains(expected), "{e}"),
    };
    let with_key = |file: &str, alg: Option<&str>| Settings {
        jwt_public_key_file: Some(fixture(file)),
        jwt_public_key_algorithm: alg.map(str::to_owned),
        ..base()
    };
    refused(with_key("idp-rsa-private.pem", None), "private key");
    refused(with_key("idp-rsa-public.pem", Some("HS256")), "does not fit");
    refused(with_key("idp-rsa-public.pem", Some("EdDSA")), "does not fit");
    refused(with_key("idp-ed25519-public.pem", Some("RS256")), "does not fit");
    refused(with_key("idp-rsa-public.pem", Some("XY999")), "unknown algorithm");
    refused(with_key("README.md", None), "exactly one PEM public key");
    refused(with_key("missing.pem", None), "cannot read");
    refused(Settings { jwt_local_tokens: false, ..base() }, "no token could be checked");

    let keys = JwtKeys::from_settings(&with_key("idp-ed25519-public.pem", None)).unwrap();
    assert_eq!(keys.algorithms(), [Algorithm::HS256, Algorithm::EdDSA]);
    let keys =
        JwtKeys::from_settings(&Settings { jwt_local_tokens: false, ..with_key("idp-rsa-public.pem", None) })
            .unwrap();
    assert_eq!(keys.algorithms(), [Algorithm::RS256]);
    let agency = lienganh::domain::AgencyCode::parse("BTP").unwrap();
    let issued =
        keys.issue("x", "x", &agency, &[lienganh::domain::Role::Admin], std::time::Duration::from_secs(60));
    assert!(issued.unwrap_err().contains("turned off"));
}
