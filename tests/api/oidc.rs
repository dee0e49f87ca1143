//! Signing in to the console through an OpenID provider: a small provider runs inside each test
//! (discovery, JWKS, token endpoint checking the PKCE verifier and the client's secret), and
//! the test plays the browser, and the provider's sign-in page, itself.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::console::{add_user, Browser, PASSWORD};
use crate::helpers::{backends, spawn_with, TestApp};
use crate::jwks::{jwk, rsa, token};

const CLIENT: &str = "lienganh-console";
const SECRET: &str = "the-client-secret";

/// What the provider gives at its token endpoint, and the PKCE challenge it was shown.
#[derive(Default)]
struct Minted {
    challenge: String,
    id_token: String,
}

struct Provider {
    issuer: String,
    minted: Arc<Mutex<Minted>>,
}

impl Provider {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let minted = Arc::new(Mutex::new(Minted::default()));
        let keys = json!({ "keys": [jwk(&rsa("idp-rsa-private.pem"), Algorithm::RS256, "k1", json!({}))] });
        let discovery = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
        });
        let shared = minted.clone();
        let server = HttpServer::new(move || {
            let (discovery, keys, minted) = (discovery.clone(), keys.clone(), shared.clone());
            App::new()
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(move || {
                        let d = discovery.clone();
                        async move { HttpResponse::Ok().json(d) }
                    }),
                )
                .route(
                    "/jwks",
                    web::get().to(move || {
                        let k = keys.clone();
                        async move { HttpResponse::Ok().json(k) }
                    }),
                )
                .route(
                    "/token",
                    web::post().to(move |req: HttpRequest, form: web::Form<Vec<(String, String)>>| {
                        let minted = minted.clone();
                        async move { token_endpoint(&req, &form, &minted.lock().unwrap()) }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { issuer, minted }
    }
}

/// The authorization code grant: the code, the redirect URL, the client's secret (basic) and
/// a verifier whose S256 is the challenge shown at the authorization endpoint.
fn token_endpoint(req: &HttpRequest, form: &[(String, String)], minted: &Minted) -> HttpResponse {
    let field =
        |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
    let basic = format!("Basic {}", STANDARD.encode(format!("{CLIENT}:{SECRET}")));
    let authorised = req.headers().get("authorization").is_some_and(|h| h.as_bytes() == basic.as_bytes());
    let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
    if !authorised
        || field("grant_type") != "authorization_code"
        || field("code") != "the-code"
        || verifier != minted.challenge
        || !field("redirect_uri").ends_with("/console/oidc/callback")
    {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    }
    HttpResponse::Ok().json(json!({"access_token": "x", "token_type": "Bearer", "id_token": minted.id_token}))
}

async fn console(backend: crate::helpers::Backend, provider: &Provider, local_passwords: bool) -> TestApp {
    let issuer = provider.issuer.clone();
    spawn_with(backend, |s| {
        s.oidc_issuer = Some(issuer);
        s.oidc_client_id = Some(CLIENT.into());
        s.oidc_client_secret = Some(SECRET.into());
        s.oidc_redirect_url = Some("http://lienganh.test/console/oidc/callback".into());
        s.oidc_name = "Keycloak Bộ Tư pháp".into();
        s.jwt_roles_claim = "realm_access.roles".into();
        s.console_local_passwords = local_passwords;
    })
    .await
}

/// The query of the provider's authorization URL the console sent the browser to.
struct Authorize {
    params: std::collections::HashMap<String, String>,
}

impl Authorize {
    fn get(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// Starts a sign-in: the console sends the browser to the provider with a fresh flow.
async fn leave_for_the_provider(browser: &mut Browser<'_>, provider: &Provider) -> Authorize {
    let page = browser.get("/console/oidc/start?next=/console/instances").await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = url::Url::parse(page.location.as_deref().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&format!("{}/authorize?", provider.issuer)), "{location}");
    let flow = page.cookie("lienganh_oidc").unwrap();
    assert_eq!(flow.http_only(), Some(true));
    assert_eq!(flow.path(), Some("/console/oidc"));
    let params = location.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    Authorize { params }
}

fn id_claims(provider: &Provider, nonce: &str, overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "iss": provider.issuer, "aud": CLIENT, "sub": "nguyen.van.an", "name": "Nguyễn Văn An",
        "iat": now, "exp": now + 300, "nonce": nonce, "agency": "THADS-HN",
        "realm_access": {"roles": ["offline_access", "enforcement_officer"]}
    });
    for (k, v) in overrides.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// The provider signs the user in: it will give `id_token` for the code.
fn provider_signs_in(provider: &Provider, authorize: &Authorize, id_token: String) {
    let mut minted = provider.minted.lock().unwrap();
    minted.challenge = authorize.get("code_challenge").to_owned();
    minted.id_token = id_token;
}

fn good_token(provider: &Provider, authorize: &Authorize, overrides: Value) -> String {
    token(
        Algorithm::RS256,
        &rsa("idp-rsa-private.pem"),
        Some("k1"),
        &id_claims(provider, authorize.get("nonce"), overrides),
    )
}

/// Signed in through the provider: the authorization request carries the client, a PKCE S256
/// challenge, a state and a nonce; back with the code, the console trades it (with the
/// verifier and the client's secret) for an ID token, opens a session for the user with the
/// agency and roles of its claims, and lands on the page asked for; the user acts on the
/// console as an officer; signing out ends the session.
#[tokio::test]
async fn the_console_signs_in_through_the_openid_provider() {
    let provider = Provider::start().await;
    for backend in backends() {
        let app = console(backend, &provider, true).await;
        let mut browser = Browser::new(&app);
        let login = browser.get("/console/login").await;
        assert!(login.body.contains("Đăng nhập qua Keycloak Bộ Tư pháp"), "{}", login.body);
        assert!(login.body.contains(r#"name="password""#), "local passwords stay beside it");

        let authorize = leave_for_the_provider(&mut browser, &provider).await;
        assert_eq!(authorize.get("response_type"), "code");
        assert_eq!(authorize.get("client_id"), CLIENT);
        assert_eq!(authorize.get("code_challenge_method"), "S256");
        assert_eq!(authorize.get("redirect_uri"), "http://lienganh.test/console/oidc/callback");
        assert!(authorize.get("scope").split(' ').any(|s| s == "openid"));
        for name in ["state", "nonce", "code_challenge"] {
            assert!(authorize.get(name).len() >= 43, "{name}");
        }
        provider_signs_in(&provider, &authorize, good_token(&provider, &authorize, json!({})));
        let back = browser
            .get(&format!("/console/oidc/callback?code=the-code&state={}", authorize.get("state")))
            .await;
        assert_eq!(
            (back.status, back.location.as_deref()),
            (303, Some("/console/instances")),
            "{}",
            back.body
        );
        assert!(browser.session().is_some());
        let page = browser.get("/console/instances").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Nguyễn Văn An"), "{}", page.body);
        let inbox = browser.get("/console/inbox").await;
        assert_eq!(inbox.status, 200);
        let csrf = inbox.csrf();
        assert_eq!(browser.post("/console/logout", &[("csrf", &csrf)]).await.status, 303);
        assert_eq!(browser.get("/console/inbox").await.status, 303, "signed out");

        // No password signs in as the provider's account.
        let mut other = Browser::new(&app);
        assert_eq!(other.sign_in("nguyen.van.an", PASSWORD).await.status, 401);
    }
}

/// A sign-in is refused (401, no session) when the state is not the flow's, the flow cookie is
/// missing or tampered with, or the ID token does not hold: signed by another key, in another
/// algorithm, for another client, by another issuer, expired, with another nonce, or naming no
/// role of lienganh; and a local account is never taken over by the provider's user of the
/// same name.
#[tokio::test]
async fn tampered_states_and_id_tokens_are_refused() {
    let provider = Provider::start().await;
    for backend in backends() {
        let app = console(backend, &provider, true).await;
        add_user(&app, "tran.thi.binh", "THADS-HN", &["enforcement_officer"]);
        let now = chrono::Utc::now().timestamp();
        type Tamper = Box<dyn Fn(&Provider, &Authorize) -> (String, Option<String>, bool)>;
        let with = |overrides: Value| -> Tamper {
            Box::new(move |p: &Provider, a: &Authorize| (good_token(p, a, overrides.clone()), None, false))
        };
        let cases: Vec<(&str, Tamper)> = vec![
            (
                "another state",
                Box::new(|p, a| (good_token(p, a, json!({})), Some("forged-state".into()), false)),
            ),
            ("no flow cookie", Box::new(|p, a| (good_token(p, a, json!({})), None, true))),
            (
                "another key",
                Box::new(|p, a| {
                    let c = id_claims(p, a.get("nonce"), json!({}));
                    (token(Algorithm::RS256, &rsa("other-rsa-private.pem"), Some("k1"), &c), None, false)
                }),
            ),
            (
                "HS256 with the client secret",
                Box::new(|p, a| {
                    let c = id_claims(p, a.get("nonce"), json!({}));
                    (
                        token(Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()), Some("k1"), &c),
                        None,
                        false,
                    )
                }),
            ),
            ("another client", with(json!({"aud": "another-client"}))),
            ("another issuer", with(json!({"iss": "https://elsewhere.example"}))),
            ("expired", with(json!({"exp": now - 600, "iat": now - 900}))),
            ("another nonce", with(json!({"nonce": "replayed"}))),
            ("no role", with(json!({"realm_access": {"roles": ["offline_access"]}}))),
            ("a local account's name", with(json!({"sub": "tran.thi.binh"}))),
        ];
        for (case, tamper) in cases {
            let mut browser = Browser::new(&app);
            let authorize = leave_for_the_provider(&mut browser, &provider).await;
            let (id_token, state, drop_cookie) = tamper(&provider, &authorize);
            provider_signs_in(&provider, &authorize, id_token);
            if drop_cookie {
                browser.cookies_mut().remove("lienganh_oidc");
            }
            let state = state.unwrap_or_else(|| authorize.get("state").to_owned());
            let back = browser.get(&format!("/console/oidc/callback?code=the-code&state={state}")).await;
            assert_eq!(back.status, 401, "{backend:?} {case}: {}", back.body);
            assert!(browser.session().is_none(), "{backend:?} {case}");
        }
        // A flow cookie altered by the browser is refused.
        let mut browser = Browser::new(&app);
        let authorize = leave_for_the_provider(&mut browser, &provider).await;
        provider_signs_in(&provider, &authorize, good_token(&provider, &authorize, json!({})));
        let flow = browser.cookies_mut().get_mut("lienganh_oidc").unwrap();
        flow.replace_range(flow.len() - 4.., "AAAA");
        let back = browser
            .get(&format!("/console/oidc/callback?code=the-code&state={}", authorize.get("state")))
            .await;
        assert_eq!(back.status, 401, "{backend:?} tampered flow cookie");
    }
}

/// With local passwords turned off, the sign-in page offers the provider only, and a posted
/// password is refused even for a user who has one.
#[tokio::test]
async fn local_passwords_can_be_turned_off() {
    let provider = Provider::start().await;
    let app = console(crate::helpers::Backend::Sqlite, &provider, false).await;
    add_user(&app, "tran.thi.binh", "THADS-HN", &["enforcement_officer"]);
    let mut browser = Browser::new(&app);
    let login = browser.get("/console/login").await;
    assert!(login.body.contains("/console/oidc/start"));
    assert!(!login.body.contains(r#"name="password""#));
    let posted = browser
        .post("/console/login", &[("username", "tran.thi.binh"), ("password", PASSWORD), ("csrf", "x")])
        .await;
    assert_eq!(posted.status, 403);
    assert!(browser.session().is_none());
}
