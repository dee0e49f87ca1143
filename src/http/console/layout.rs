//! The shell of every console page: the header with what the signed-in user may open, the
//! language switch and signing out; and the page shown when something is refused.

use maud::{html, Markup, DOCTYPE};

use super::i18n::Lang;
use super::session::Signed;
use crate::domain::Role;
use crate::error::{ApiError, ErrorCode};
use crate::service::deadlines::Deadline;

/// The style sheet and script, inside the binary.
pub const CSS: &str = include_str!("assets/console.css");
pub const JS: &str = include_str!("assets/console.js");

/// A whole page: `title`, and `body` inside the shell.
pub fn page(lang: Lang, signed: Option<&Signed>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (lang.t("app")) }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { (lang.t("skip")) }
                header.top {
                    a.brand href="/console/" { (lang.t("app")) }
                    @if let Some(signed) = signed {
                        nav aria-label=(lang.t("app")) {
                            a href="/console/inbox" { (lang.t("inbox")) }
                            a href="/console/instances" { (lang.t("instances")) }
                            a href="/console/new" { (lang.t("new_instance")) }
                            @if signed.actor.has_role(Role::ProcuracyInspector) {
                                a href="/console/procuracy" { (lang.t("procuracy")) }
                            }
                            @if signed.actor.has_role(Role::SteeringMember) || signed.actor.has_role(Role::SteeringChair) {
                                a href="/console/steering" { (lang.t("steering")) }
                            }
                            @if signed.actor.has_role(Role::Admin) {
                                a href="/console/admin/users" { (lang.t("users")) }
                            }
                        }
                        (super::search::search_box(lang))
                        span.who { (signed.actor.name) " · " (signed.actor.agency) }
                    }
                    a href={ "/console/lang/" (lang.other().code()) } lang=(lang.other().code()) { (lang.t("language")) }
                    @if let Some(signed) = signed {
                        form method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(signed.csrf);
                            button type="submit" { (lang.t("sign_out")) }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The header row of a table, each column named by its text's key.
pub fn columns(lang: Lang, keys: &[&'static str]) -> Markup {
    html! { thead { tr { @for k in keys { th scope="col" { (lang.t(k)) } } } } }
}

/// A deadline's last day, its legal basis on hover, and a red mark when it is overdue.
pub fn due(lang: Lang, d: &Deadline) -> Markup {
    html! {
        span.basis title=(basis(lang, d)) { (lang.day(&d.due_date)) }
        @if d.overdue { " " span.badge.late { (lang.t("overdue")) } }
    }
}

/// A deadline's legal basis as people read it: its figure labelled when it is the
/// definition's operational choice rather than the law's.
pub fn basis(lang: Lang, d: &Deadline) -> String {
    if d.operational {
        format!("{} — {}", lang.t("operational_choice"), d.legal_basis)
    } else {
        d.legal_basis.clone()
    }
}

/// The page of a refusal: what was refused and why, in the user's language where it can.
pub fn error_page(lang: Lang, e: &ApiError) -> Markup {
    let heading = match e.code {
        ErrorCode::NotFound => lang.t("not_found"),
        ErrorCode::Forbidden => lang.t("forbidden"),
        _ => lang.t("error"),
    };
    let detail = match e.code {
        ErrorCode::VersionConflict => lang.t("stale").to_owned(),
        _ => e.detail.clone(),
    };
    page(
        lang,
        None,
        heading,
        html! {
            h1 { (heading) }
            p.problem role="alert" { (detail) }
            @for field in &e.errors {
                p.problem { (field.field) ": " (field.reason) }
            }
            p { a href="/console/" { (lang.t("back")) } }
        },
    )
}
