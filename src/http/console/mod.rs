//! The web console, served by `lienganh serve` under `/console`: server-rendered pages for the
//! liaisons, officers, inspectors and steering committees, in Vietnamese first (English as a
//! switch). Every page works without JavaScript, and the little script there is ships inside
//! the binary with the style sheet: nothing is loaded from anywhere else. Pages call the same
//! use cases as the API, as the signed-in user.

mod admin;
pub mod forms;
pub mod i18n;
mod inbox;
mod instance;
pub mod layout;
mod login;
mod new;
mod oidc;
mod password;
mod posted;
mod procuracy;
mod record;
mod reports;
mod search;
pub mod session;
mod steering;

use actix_web::error::UrlencodedError;
use actix_web::http::header;
use actix_web::{get, middleware, web, HttpRequest, HttpResponse};

use crate::error::{ApiError, ErrorCode};
use i18n::{Lang, LANG_COOKIE};

/// All the console's routes, under `/console`, and `/` leading to it.
pub fn configure(max_body: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.route("/", web::get().to(to_console)).service(
            web::scope("/console")
                .wrap(security_headers())
                .app_data(web::FormConfig::default().limit(max_body).error_handler(form_error))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .route("", web::get().to(to_inbox))
                .route("/", web::get().to(to_inbox))
                .service(asset)
                .service(language)
                .service(login::login_page)
                .service(login::login)
                .service(login::logout)
                .service(oidc::start)
                .service(oidc::callback)
                .service(inbox::inbox_page)
                .service(inbox::mark_read)
                .service(instance::instances_page)
                .service(instance::instance_page)
                .service(instance::take_step)
                .service(instance::document_download)
                .service(record::record_page)
                .service(new::choose)
                .service(new::form_page)
                .service(new::start)
                .service(search::search_page)
                .service(procuracy::procuracy_page)
                .service(steering::calendar_page)
                .service(steering::make_feed)
                .service(steering::revoke_feed)
                .service(reports::reports_page)
                .service(reports::enforcement_csv)
                .service(reports::enforcement_xlsx)
                .service(reports::coordination_csv)
                .service(reports::coordination_xlsx)
                .service(admin::users_page)
                .service(admin::add_user)
                .service(admin::disable_user)
                .service(admin::enable_user)
                .service(admin::reset_password)
                .service(admin::decide_request)
                .service(password::password_page)
                .service(password::change_password),
        );
    }
}

/// What every console answer carries unless it says otherwise: only this server's own script,
/// style and images, no framing, no sniffing, no referrer outside, and pages with personal
/// data kept out of shared caches.
fn security_headers() -> middleware::DefaultHeaders {
    middleware::DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// A form that cannot be read is refused as a page in the user's language, never a bare status.
fn form_error(err: UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        UrlencodedError::Overflow { .. } => ApiError::new(ErrorCode::PayloadTooLarge, err.to_string()),
        UrlencodedError::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the form as application/x-www-form-urlencoded",
        ),
        other => ApiError::bad_request(other.to_string()),
    };
    session::ConsoleError::Api(api, Lang::of(req)).into()
}

/// A query string that does not read is refused as a page too.
fn query_error(err: actix_web::error::QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    session::ConsoleError::Api(ApiError::bad_request(err.to_string()), Lang::of(req)).into()
}

async fn to_console() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/")).finish()
}

async fn to_inbox() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/inbox")).finish()
}

#[get("/assets/{name}")]
async fn asset(name: web::Path<String>) -> HttpResponse {
    let (body, kind) = match name.as_str() {
        "console.css" => (layout::CSS, "text/css; charset=utf-8"),
        "console.js" => (layout::JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok().content_type(kind).insert_header((header::CACHE_CONTROL, "max-age=3600")).body(body)
}

/// Switches the language, and goes back where the user was (on the console only).
#[get("/lang/{code}")]
async fn language(req: HttpRequest, code: web::Path<String>) -> HttpResponse {
    let lang = if code.as_str() == "en" { Lang::En } else { Lang::Vi };
    let back = req
        .headers()
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.find("/console/").map(|at| r[at..].to_owned()))
        .filter(|path| !path.contains("//") && !path.starts_with("/console/lang/"))
        .unwrap_or_else(|| "/console/".into());
    HttpResponse::SeeOther()
        .cookie(session::cookie(&req, LANG_COOKIE, lang.code().to_owned(), "/"))
        .insert_header((header::LOCATION, back))
        .finish()
}

#[cfg(test)]
mod tests {
    /// Every text the console's pages ask for is in the table, in both languages.
    #[test]
    fn every_text_the_pages_use_is_translated() {
        let keys: Vec<&str> = super::i18n::keys().collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/console");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
            let texts = source.split(".t(\"").skip(1).map(|part| part.split('"').next().unwrap());
            let headers = source.split("columns(lang, &[").skip(1).flat_map(|part| {
                part.split(']').next().unwrap().split(',').map(|k| k.trim().trim_matches('"'))
            });
            // This test's own source names the call too: only keys are looked up.
            let is_key = |k: &&str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            for key in texts.chain(headers).filter(is_key) {
                if !keys.contains(&key) {
                    missing.push(key.to_owned());
                }
            }
        }
        assert!(missing.is_empty(), "no text for {missing:?}");
    }
}
