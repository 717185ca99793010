//! Follow-ups (回访) and rectifications (整改) over HTTP.

use axum::Json;
use axum::extract::State;
use chrono::Utc;

use super::auth::{Auth, FollowupWorkers, RectificationReaders};
use super::error::{ApiJson, ApiResult, ErrorBody};
use super::{ApiPath, ApiQuery, AppState};
use crate::api::{CloseRectificationRequest, FollowupQuery, FollowupRequest, RectificationQuery};
use crate::model::{Followup, FollowupChannel, FollowupOutcome, Rectification, Role};
use crate::store::FollowupFilter;

/// Follow-ups to make, oldest first: by phone for the staff; a gateway sees
/// only the SMS ones it sends.
#[utoipa::path(get, path = "/followups", tag = "followups", security(("bearer" = [])), params(FollowupQuery),
    responses((status = 200, body = Vec<Followup>), (status = 403, body = ErrorBody)))]
pub async fn followups(
    State(state): State<AppState>,
    auth: Auth<FollowupWorkers>,
    ApiQuery(q): ApiQuery<FollowupQuery>,
) -> ApiResult<Json<Vec<Followup>>> {
    let channel = if auth.user.role == Role::Gateway {
        Some(FollowupChannel::Sms)
    } else {
        q.channel
    };
    let filter = FollowupFilter {
        open_only: q.open.unwrap_or(true),
        channel,
        incident_id: q.incident_id,
    };
    Ok(Json(state.store.followups(&filter).await?))
}

/// Records what the caller said. A dissatisfied caller's reason opens a
/// rectification owed by the unit or agency within the working days the
/// centre allows (5 by default).
#[utoipa::path(post, path = "/followups/{id}/outcome", tag = "followups", security(("bearer" = [])),
    request_body = FollowupRequest,
    responses((status = 200, body = FollowupOutcome), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn record_followup(
    State(state): State<AppState>,
    auth: Auth<FollowupWorkers>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<FollowupRequest>,
) -> ApiResult<Json<FollowupOutcome>> {
    let out = state
        .store
        .record_followup(&auth.user, id, req.outcome, req.reason.as_deref(), Utc::now())
        .await?;
    state.hub.wake();
    Ok(Json(out))
}

/// Rectifications, soonest deadline first; an agency sees its own.
#[utoipa::path(get, path = "/rectifications", tag = "followups", security(("bearer" = [])), params(RectificationQuery),
    responses((status = 200, body = Vec<Rectification>), (status = 403, body = ErrorBody)))]
pub async fn rectifications(
    State(state): State<AppState>,
    auth: Auth<RectificationReaders>,
    ApiQuery(q): ApiQuery<RectificationQuery>,
) -> ApiResult<Json<Vec<Rectification>>> {
    let agency = if auth.user.role == Role::Agency {
        auth.user.agency
    } else {
        None
    };
    Ok(Json(
        state
            .store
            .rectifications(q.open.unwrap_or(true), agency, Utc::now())
            .await?,
    ))
}

/// Closes a rectification with what was done (a shift lead, or the agency
/// it is owed by).
#[utoipa::path(post, path = "/rectifications/{id}/close", tag = "followups", security(("bearer" = [])),
    request_body = CloseRectificationRequest,
    responses((status = 200, body = Rectification), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close_rectification(
    State(state): State<AppState>,
    auth: Auth<RectificationReaders>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<CloseRectificationRequest>,
) -> ApiResult<Json<Rectification>> {
    let r = state
        .store
        .close_rectification(&auth.user, id, &req.note, Utc::now())
        .await?;
    state.hub.wake();
    Ok(Json(r))
}
