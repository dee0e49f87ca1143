use actix_web::{get, put, web, HttpResponse};

use super::problems::*;
use super::AppState;
use crate::engine::calendar::YearCalendar;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::service::calendar::{self, CalendarYear};

/// The holiday calendar, year by year: holidays, swaps, make-up working days and Tết.
#[utoipa::path(
    get,
    operation_id = "listCalendarYears",
    tag = "calendar",
    security(("bearer" = [])),
    responses((status = 200, body = [CalendarYear]), Unauthorized, Unavailable)
)]
#[get("/calendar/years")]
pub async fn years(state: web::Data<AppState>, _actor: Actor) -> ApiResult<HttpResponse> {
    let file = state.file_calendar.clone();
    let list = state.read(move |conn, _| calendar::years(conn, &file)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Adds or replaces a year of the calendar (admin only), without a release: every deadline
/// computed from then on uses it.
#[utoipa::path(
    put,
    operation_id = "putCalendarYear",
    tag = "calendar",
    request_body = YearCalendar,
    params(("year" = i32, Path, description = "The year, such as 2028")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = [CalendarYear]),
        BadRequest, Unauthorized, Forbidden, NotFound, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[put("/calendar/years/{year}")]
pub async fn put(
    state: web::Data<AppState>,
    actor: Actor,
    year: web::Path<String>,
    body: web::Json<YearCalendar>,
) -> ApiResult<HttpResponse> {
    let year: i32 = year.parse().map_err(|_| ApiError::not_found(format!("no calendar year {year:?}")))?;
    let file = state.file_calendar.clone();
    let body = body.into_inner();
    let updated = state.write(move |conn, _| calendar::put(conn, &actor, &file, year, body)).await?;
    state.calendar.store(std::sync::Arc::new(updated));
    let file = state.file_calendar.clone();
    let list = state.read(move |conn, _| calendar::years(conn, &file)).await?;
    Ok(HttpResponse::Ok().json(list))
}
