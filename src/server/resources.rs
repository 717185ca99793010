//! Units, agencies, referrals, callback tasks, callers and the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Admins, Agencies, Auth, Leads, ReferralReaders, Staff};
use super::error::{ApiError, ApiJson, ApiResult, ErrorBody};
use super::{ApiPath, ApiQuery, AppState};
use crate::api::{
    AuditQuery, CallbackQuery, CloseCallbackRequest, FeedbackRequest, FlagRequest, PositionRequest, ReferralQuery,
    ReloadResponse, ReturnRequest, ReviewRequest, ThreeWayRequest, UnitStatusRequest,
};
use crate::model::{
    Agency, Callback, CallerFlag, CallerHistory, Event, Referral, ReferralId, ReferralStatus, ReferralStep,
    ReviewOutcome, Role, Unit, UnitId,
};
use crate::store::{AuditFilter, ReferralFilter};

/// Every unit with its status.
#[utoipa::path(get, path = "/units", tag = "units", security(("bearer" = [])),
    responses((status = 200, body = Vec<Unit>), (status = 403, body = ErrorBody)))]
pub async fn units(State(state): State<AppState>, _auth: Auth<Staff>) -> ApiResult<Json<Vec<Unit>>> {
    Ok(Json(state.store.units().await?))
}

/// Change a unit's status (e.g. back `available`, or `off_duty`). Only a
/// dispatch assigns a unit; moving an assigned unit `en_route` is its
/// signature for the order, recorded on the incident as `/acknowledge` is.
#[utoipa::path(post, path = "/units/{id}/status", tag = "units", security(("bearer" = [])), request_body = UnitStatusRequest,
    responses((status = 200, body = Unit), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_unit_status(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<UnitId>,
    ApiJson(req): ApiJson<UnitStatusRequest>,
) -> ApiResult<Json<Unit>> {
    use crate::model::UnitStatus;
    if req.status == UnitStatus::Assigned {
        return Err(ApiError::invalid(
            "status",
            "a unit is assigned by dispatching it to a call, not by hand",
        ));
    }
    let current = state.store.units().await?.into_iter().find(|u| u.id == id);
    if let Some(Unit {
        status: UnitStatus::Assigned,
        incident_id: Some(incident),
        ..
    }) = current
        && req.status == UnitStatus::EnRoute
    {
        super::incidents::run(&state, &auth, incident, None, crate::model::IncidentOp::Acknowledge).await?;
        let after = state.store.units().await?.into_iter().find(|u| u.id == id);
        return after
            .map(Json)
            .ok_or_else(|| ApiError::internal("units", "the unit vanished"));
    }
    let actor = &auth.user;
    let unit = state.store.set_unit_status(actor, id, req.status, Utc::now()).await?;
    state.hub.wake();
    Ok(Json(unit))
}

/// A unit's terminal reports where it is; the map and the distance to the
/// next call follow it. Status and call are unchanged.
#[utoipa::path(post, path = "/units/{id}/position", tag = "units", security(("bearer" = [])), request_body = PositionRequest,
    responses((status = 200, body = Unit), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_unit_position(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<UnitId>,
    ApiJson(req): ApiJson<PositionRequest>,
) -> ApiResult<Json<Unit>> {
    let at = crate::model::parse_point(req.lat, req.lon)?;
    let unit = state.store.set_unit_position(&auth.user, id, at, Utc::now()).await?;
    state.hub.wake();
    Ok(Json(unit))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AgencyInfo {
    pub code: Agency,
    pub name_zh: String,
    pub name_en: String,
}

/// The linked agencies calls can be referred to.
#[utoipa::path(get, path = "/agencies", tag = "referrals", security(("bearer" = [])),
    responses((status = 200, body = Vec<AgencyInfo>)))]
pub async fn agencies(_auth: Auth) -> Json<Vec<AgencyInfo>> {
    Json(
        Agency::ALL
            .iter()
            .filter(|a| **a != Agency::None)
            .map(|&a| AgencyInfo {
                code: a,
                name_zh: a.display_name_zh().into(),
                name_en: a.display_name_en().into(),
            })
            .collect(),
    )
}

/// Referral work orders, overdue first. An agency account sees only its own.
#[utoipa::path(get, path = "/referrals", tag = "referrals", security(("bearer" = [])), params(ReferralQuery),
    responses((status = 200, body = Vec<Referral>), (status = 403, body = ErrorBody)))]
pub async fn referrals(
    State(state): State<AppState>,
    auth: Auth<ReferralReaders>,
    ApiQuery(q): ApiQuery<ReferralQuery>,
) -> ApiResult<Json<Vec<Referral>>> {
    let user = &auth.user;
    let agency = if user.role == Role::Agency {
        user.agency
    } else {
        q.agency
    };
    let statuses = match (q.status, q.open) {
        (Some(s), _) => vec![s],
        (None, Some(true)) => ReferralStatus::ALL.iter().copied().filter(|s| !s.is_final()).collect(),
        (None, _) => Vec::new(),
    };
    let filter = ReferralFilter {
        agency,
        statuses,
        incident_id: q.incident_id,
    };
    Ok(Json(state.store.referrals(&filter, Utc::now()).await?))
}

async fn step(
    state: &AppState,
    auth: &Auth<Agencies>,
    id: ReferralId,
    step: ReferralStep,
) -> ApiResult<Json<Referral>> {
    step_as(state, &auth.user, id, step).await
}

async fn step_as(
    state: &AppState,
    actor: &crate::model::User,
    id: ReferralId,
    step: ReferralStep,
) -> ApiResult<Json<Referral>> {
    let r = state.store.referral_step(actor, id, step, Utc::now()).await?;
    state.hub.wake();
    Ok(Json(r))
}

/// The agency accepts the work order.
#[utoipa::path(post, path = "/referrals/{id}/accept", tag = "referrals", security(("bearer" = [])),
    responses((status = 200, body = Referral), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn accept_referral(
    State(state): State<AppState>,
    auth: Auth<Agencies>,
    ApiPath(id): ApiPath<ReferralId>,
) -> ApiResult<Json<Referral>> {
    step(&state, &auth, id, ReferralStep::Accept).await
}

/// The agency reports what it did.
#[utoipa::path(post, path = "/referrals/{id}/feedback", tag = "referrals", security(("bearer" = [])), request_body = FeedbackRequest,
    responses((status = 200, body = Referral), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn referral_feedback(
    State(state): State<AppState>,
    auth: Auth<Agencies>,
    ApiPath(id): ApiPath<ReferralId>,
    ApiJson(req): ApiJson<FeedbackRequest>,
) -> ApiResult<Json<Referral>> {
    step(&state, &auth, id, ReferralStep::Feedback(req.text)).await
}

/// The agency closes the work order.
#[utoipa::path(post, path = "/referrals/{id}/close", tag = "referrals", security(("bearer" = [])),
    responses((status = 200, body = Referral), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close_referral(
    State(state): State<AppState>,
    auth: Auth<Agencies>,
    ApiPath(id): ApiPath<ReferralId>,
) -> ApiResult<Json<Referral>> {
    step(&state, &auth, id, ReferralStep::Close).await
}

/// The agency hands the work order back (12345–110 linkage): not its
/// matter, or police must act first. It waits in the shift lead's review
/// queue; until an agency accepts, 110 still answers for the call.
#[utoipa::path(post, path = "/referrals/{id}/return", tag = "referrals", security(("bearer" = [])), request_body = ReturnRequest,
    responses((status = 200, body = Referral), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn return_referral(
    State(state): State<AppState>,
    auth: Auth<Agencies>,
    ApiPath(id): ApiPath<ReferralId>,
    ApiJson(req): ApiJson<ReturnRequest>,
) -> ApiResult<Json<Referral>> {
    let step = ReferralStep::Return {
        reason: req.reason,
        note: req.note,
    };
    step_as(&state, &auth.user, id, step).await
}

/// Records a three-way call (caller, 110 and the agency or 12345) that
/// settled whose matter the order is: its parties and time (staff).
#[utoipa::path(post, path = "/referrals/{id}/three-way", tag = "referrals", security(("bearer" = [])), request_body = ThreeWayRequest,
    responses((status = 200, body = Referral), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn three_way(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<ReferralId>,
    ApiJson(req): ApiJson<ThreeWayRequest>,
) -> ApiResult<Json<Referral>> {
    let r = state
        .store
        .record_three_way(&auth.user, id, &req.parties, Utc::now())
        .await?;
    state.hub.wake();
    Ok(Json(r))
}

/// The shift lead decides on a returned work order: insist (sent to the
/// same agency again with a fresh deadline), re-route to another agency
/// (a new order), or take the call back into the 110 queue.
#[utoipa::path(post, path = "/referrals/{id}/review", tag = "referrals", security(("bearer" = [])), request_body = ReviewRequest,
    responses((status = 200, body = ReviewOutcome), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn review_referral(
    State(state): State<AppState>,
    auth: Auth<Leads>,
    ApiPath(id): ApiPath<ReferralId>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> ApiResult<Json<ReviewOutcome>> {
    let review = req
        .into_review()
        .map_err(|(field, msg)| ApiError::invalid(field, msg))?;
    let outcome = state.store.review_referral(&auth.user, id, &review, Utc::now()).await?;
    state.hub.wake();
    Ok(Json(outcome))
}

/// Call-back tasks for calls that hung up or stayed silent.
#[utoipa::path(get, path = "/callbacks", tag = "incidents", security(("bearer" = [])), params(CallbackQuery),
    responses((status = 200, body = Vec<Callback>)))]
pub async fn callbacks(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> ApiResult<Json<Vec<Callback>>> {
    Ok(Json(state.store.callbacks(q.open.unwrap_or(true)).await?))
}

/// Close a call-back task with its outcome.
#[utoipa::path(post, path = "/callbacks/{id}/close", tag = "incidents", security(("bearer" = [])), request_body = CloseCallbackRequest,
    responses((status = 200, body = Callback), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close_callback(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<CloseCallbackRequest>,
) -> ApiResult<Json<Callback>> {
    let actor = &auth.user;
    let outcome = req.outcome.trim();
    if outcome.is_empty() || outcome.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "outcome",
            "write the outcome of the call back (1–2000 characters)",
        ));
    }
    let c = state.store.close_callback(actor, id, outcome, Utc::now()).await?;
    state.hub.wake();
    Ok(Json(c))
}

/// A caller's past incidents, invalid-call counts and flags.
#[utoipa::path(get, path = "/callers/{phone}", tag = "callers", security(("bearer" = [])),
    responses((status = 200, body = CallerHistory), (status = 400, body = ErrorBody)))]
pub async fn caller_history(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiPath(phone): ApiPath<String>,
) -> ApiResult<Json<CallerHistory>> {
    let phone = super::path_phone(&phone)?;
    Ok(Json(state.store.caller_history(&phone, Utc::now()).await?))
}

/// Flag a number as nuisance, abusive or false-report (shift leads).
#[utoipa::path(post, path = "/callers/{phone}/flags", tag = "callers", security(("bearer" = [])), request_body = FlagRequest,
    responses((status = 201, body = CallerFlag), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn add_flag(
    State(state): State<AppState>,
    auth: Auth<Leads>,
    ApiPath(phone): ApiPath<String>,
    ApiJson(req): ApiJson<FlagRequest>,
) -> ApiResult<(StatusCode, Json<CallerFlag>)> {
    let actor = &auth.user;
    let phone = super::path_phone(&phone)?;
    let note = req.note.trim();
    if note.is_empty() || note.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "note",
            "say why the number is flagged (1–2000 characters)",
        ));
    }
    let f = state.store.add_flag(actor, &phone, req.flag, note, Utc::now()).await?;
    state.hub.wake();
    Ok((StatusCode::CREATED, Json(f)))
}

/// Remove a caller flag (shift leads).
#[utoipa::path(delete, path = "/callers/flags/{id}", tag = "callers", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_flag(
    State(state): State<AppState>,
    auth: Auth<Leads>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let actor = &auth.user;
    state.store.remove_flag(actor, id, Utc::now()).await?;
    state.hub.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// The audit trail, newest first (shift leads and admins).
#[utoipa::path(get, path = "/audit", tag = "ops", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = Vec<Event>), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    _auth: Auth<Leads>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<Event>>> {
    if q.kind.as_ref().is_some_and(|k| k.chars().count() > 200) {
        return Err(ApiError::invalid("kind", "kind is too long (at most 200 characters)"));
    }
    let filter = AuditFilter {
        actor_id: q.actor_id,
        incident_id: q.incident_id,
        kind_prefix: q.kind,
        since: q.since,
        until: q.until,
        limit: match q.limit {
            None => 500,
            Some(n @ 1..=5000) => n,
            Some(_) => return Err(ApiError::invalid("limit", "limit must be between 1 and 5000")),
        },
    };
    Ok(Json(state.store.audit(&filter).await?))
}

/// Re-read the triage rule file (admins). A file with a mistake is refused
/// with its line, and the rules in use stay as they were.
#[utoipa::path(post, path = "/triage/reload", tag = "ops", security(("bearer" = [])),
    responses((status = 200, body = ReloadResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn reload_triage(State(state): State<AppState>, _auth: Auth<Admins>) -> ApiResult<Json<ReloadResponse>> {
    match super::load_triage(&state.config, state.store.as_ref()).await {
        Ok(phrases) => {
            tracing::info!(phrases, "triage rules reloaded");
            Ok(Json(ReloadResponse { phrases }))
        }
        Err(super::ServerError::Rules(e)) => Err(ApiError::invalid("rules", e.to_string())),
        Err(e) => Err(ApiError::internal("cannot reload triage", e)),
    }
}
