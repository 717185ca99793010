//! Shift-lead endpoints: overrides on queued calls (reassign, priority),
//! shift statistics, call-quality review, alerts, the nuisance ranking and
//! caller dossiers.
//! Every one of them is refused with 403 to anyone but a shift lead or admin.

use axum::Json;
use axum::extract::State;
use chrono::{Duration, Utc};

use super::auth::{Auth, Leads};
use super::error::{ApiError, ApiJson, ApiResult, ErrorBody};
use super::{ApiPath, ApiQuery, AppState};
use crate::api::{NuisanceParams, PriorityRequest, QaParams, QaReviewRequest, ReassignRequest, StatsParams};
use crate::model::stats::{self, AlertQuery, Alerts, Dossier, NuisanceCaller, ShiftStats, StatsQuery};
use crate::model::{Incident, IncidentId, IncidentOp, QaCall, QaLimits, QaOperator, QaReview, Role};

/// Hand a queued call to another operator (shift leads).
#[utoipa::path(post, path = "/incidents/{id}/reassign", tag = "oversight", security(("bearer" = [])),
    request_body = ReassignRequest,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reassign(
    State(state): State<AppState>,
    auth: Auth<Leads>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(req): ApiJson<ReassignRequest>,
) -> ApiResult<Json<Incident>> {
    let actor = &auth.user;
    let users = state.store.users().await?;
    let to = users.iter().find(|u| u.id == req.to).ok_or_else(|| ApiError {
        field: Some("to".to_owned()),
        ..ApiError::not_found(format!("there is no user {}", req.to))
    })?;
    if !Role::STAFF.contains(&to.role) {
        return Err(ApiError::invalid(
            "to",
            format!("{} is a {} account and cannot take calls", to.name, to.role),
        ));
    }
    // A call handed to someone who is not at a desk would sit unanswered.
    if !state.store.signed_in(Utc::now()).await?.contains(&to.id) {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "not_signed_in",
            format!("{} is not signed in; reassign to an operator on shift", to.name),
        ));
    }
    let op = IncidentOp::Reassign {
        to: to.as_ref(),
        reason: req.reason,
    };
    let m = state.store.mutate(actor, id, None, op, Utc::now()).await?;
    state.hub.wake();
    Ok(Json(m.incident))
}

/// Raise or lower a call's priority, with a reason (shift leads).
#[utoipa::path(post, path = "/incidents/{id}/priority", tag = "oversight", security(("bearer" = [])),
    request_body = PriorityRequest,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reprioritise(
    State(state): State<AppState>,
    auth: Auth<Leads>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(req): ApiJson<PriorityRequest>,
) -> ApiResult<Json<Incident>> {
    let actor = &auth.user;
    let op = IncidentOp::Reprioritise {
        priority: req.priority,
        reason: req.reason,
    };
    let m = state.store.mutate(actor, id, None, op, Utc::now()).await?;
    state.hub.wake();
    Ok(Json(m.incident))
}

/// Statistics of calls received in a time range (shift leads).
#[utoipa::path(get, path = "/stats", tag = "oversight", security(("bearer" = [])), params(StatsParams),
    responses((status = 200, body = ShiftStats), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn shift_stats(
    State(state): State<AppState>,
    _auth: Auth<Leads>,
    ApiQuery(p): ApiQuery<StatsParams>,
) -> ApiResult<Json<ShiftStats>> {
    let now = Utc::now();
    let (shift_start, shift_end) = stats::current_shift(now);
    let t = &state.config.policy.thresholds;
    let q = StatsQuery::new(
        p.from.unwrap_or(shift_start),
        p.to.unwrap_or(shift_end),
        p.answer_secs.unwrap_or(t.answer),
        p.dispatch_secs.unwrap_or(t.dispatch),
    )?
    .with_kpis(
        p.ack_secs.unwrap_or(t.ack),
        p.out_secs.unwrap_or(t.out),
        p.feedback_secs.unwrap_or(t.feedback),
    )?;
    Ok(Json(state.store.stats(&q, now).await?))
}

/// The calls of a range reviewed, and the limits they were judged by.
async fn qa_review(state: &AppState, p: &QaParams) -> ApiResult<Vec<QaCall>> {
    let now = Utc::now();
    let (shift_start, shift_end) = stats::current_shift(now);
    let (from, to) = (p.from.unwrap_or(shift_start), p.to.unwrap_or(shift_end));
    if from >= to {
        return Err(ApiError::invalid("from", "the range must end after it starts"));
    }
    if to - from > Duration::days(31) {
        return Err(ApiError::invalid("to", "review at most 31 days at a time"));
    }
    let secs = |v: Option<i64>, field: &str, default: i64| match v.unwrap_or(default) {
        s @ 1..=86_400 => Ok(Duration::seconds(s)),
        _ => Err(ApiError::invalid(field, "a limit is between 1 and 86400 seconds")),
    };
    let t = &state.config.policy.thresholds;
    let limits = QaLimits {
        p1_dispatch: secs(p.p1_dispatch_secs, "p1_dispatch_secs", t.p1_dispatch)?,
        callback: secs(p.callback_secs, "callback_secs", t.callback)?,
    };
    Ok(state.store.qa_calls(from, to, &limits, now).await?)
}

/// Call-quality review (质检) of the calls received in a range: each call's
/// automatic checks (a place recorded before dispatch, a P1 dispatched
/// within 60 s, a hang-up called back within 10 min, a referral accepted by
/// its deadline) and its score (shift leads).
#[utoipa::path(get, path = "/qa/calls", tag = "oversight", security(("bearer" = [])), params(QaParams),
    responses((status = 200, body = Vec<QaCall>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn qa_calls(
    State(state): State<AppState>,
    _auth: Auth<Leads>,
    ApiQuery(p): ApiQuery<QaParams>,
) -> ApiResult<Json<Vec<QaCall>>> {
    let mut calls = qa_review(&state, &p).await?;
    if p.failed == Some(true) {
        calls.retain(|c| c.failed().next().is_some());
    }
    if p.sampled == Some(true) {
        calls.retain(|c| c.sampled);
    }
    Ok(Json(calls))
}

/// A shift lead's hand review of a call (抽检): a score 0–100 and what to
/// coach the operator on; a later review replaces it.
#[utoipa::path(post, path = "/qa/calls/{id}/review", tag = "oversight", security(("bearer" = [])),
    request_body = QaReviewRequest,
    responses((status = 200, body = QaReview), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn review_call(
    State(state): State<AppState>,
    auth: Auth<Leads>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(req): ApiJson<QaReviewRequest>,
) -> ApiResult<Json<QaReview>> {
    let r = state
        .store
        .review_call(&auth.user, id, req.score, &req.note, Utc::now())
        .await?;
    state.hub.wake();
    Ok(Json(r))
}

/// The review summed per operator, lowest score first (shift leads).
#[utoipa::path(get, path = "/qa/operators", tag = "oversight", security(("bearer" = [])), params(QaParams),
    responses((status = 200, body = Vec<QaOperator>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn qa_operators(
    State(state): State<AppState>,
    _auth: Auth<Leads>,
    ApiQuery(p): ApiQuery<QaParams>,
) -> ApiResult<Json<Vec<QaOperator>>> {
    Ok(Json(crate::model::qa_operators(&qa_review(&state, &p).await?)))
}

/// Harassment waves, calls waiting too long and calls held too long (shift leads).
#[utoipa::path(get, path = "/alerts", tag = "oversight", security(("bearer" = [])), params(AlertQuery),
    responses((status = 200, body = Alerts), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn alerts(
    State(state): State<AppState>,
    _auth: Auth<Leads>,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<Alerts>> {
    q.check()?;
    Ok(Json(state.store.alerts(&q, Utc::now()).await?))
}

/// Numbers ranked by invalid calls in a window (shift leads).
#[utoipa::path(get, path = "/callers/nuisance", tag = "oversight", security(("bearer" = [])), params(NuisanceParams),
    responses((status = 200, body = Vec<NuisanceCaller>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn nuisance(
    State(state): State<AppState>,
    _auth: Auth<Leads>,
    ApiQuery(p): ApiQuery<NuisanceParams>,
) -> ApiResult<Json<Vec<NuisanceCaller>>> {
    let to = p.to.unwrap_or_else(Utc::now);
    let from = p.from.unwrap_or(to - Duration::days(30));
    if from >= to {
        return Err(ApiError::invalid(
            "from",
            "the start of the window must be before its end",
        ));
    }
    let limit = p.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be between 1 and 1000"));
    }
    Ok(Json(state.store.nuisance_ranking(from, to, limit).await?))
}

/// Every call from one number with its totals and flags: the evidence for
/// the public-security bureau (shift leads).
#[utoipa::path(get, path = "/callers/{phone}/dossier", tag = "oversight", security(("bearer" = [])),
    responses((status = 200, body = Dossier), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn dossier(
    State(state): State<AppState>,
    _auth: Auth<Leads>,
    ApiPath(phone): ApiPath<String>,
) -> ApiResult<Json<Dossier>> {
    let phone = super::path_phone(&phone)?;
    Ok(Json(state.store.dossier(&phone, Utc::now()).await?))
}
