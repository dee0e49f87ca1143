use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, spawn, SECRET};

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
        // The same claims, correctly signed, are accepted.
        assert_eq!(app.get("/api/v1/instances", &sign(SECRET, &claims(json!({})))).await.status(), 200);
    }
}
