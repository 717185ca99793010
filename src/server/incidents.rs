//! Intake and the incident lifecycle endpoints.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::Utc;

use super::auth::{Auth, Intakers, Staff};
use super::error::{ApiError, ApiJson, ApiResult, ErrorBody};
use super::{ApiPath, ApiQuery, AppState};
use crate::api::{
    CloseRequest, DispatchRequest, DuplicateCandidate, LinkRequest, ListQuery, MapQuery, QueueQuery, Recommendation,
    ReferRequest, ReferResponse, ReleaseRequest, SupplementRequest, UnlinkRequest,
};
use crate::model::address::ResolvedPlace;
use crate::model::duplicates::{self};
use crate::model::gazetteer;
use crate::model::{
    CallerPhone, Channel, Event, Incident, IncidentId, IncidentOp, IncidentPatch, IntakeRequest, Location,
    LocationSource, MapIncident, QueueEntry, Role, Status, Suggestion, Supplement,
};
use crate::store::{AuditFilter, IncidentFilter, Mutation};
use crate::triage::{self, HistoryStats, TriageInput};

/// Longest Idempotency-Key accepted.
const MAX_KEY_LEN: usize = 200;

/// Triage with the caller's history, so the suggestion carries a nuisance warning.
async fn suggest(
    state: &AppState,
    channel: Channel,
    text: &str,
    phone: Option<&CallerPhone>,
) -> ApiResult<Option<Suggestion>> {
    if text.is_empty() {
        return Ok(None);
    }
    let history = match phone {
        Some(p) => {
            let c = state.store.caller_counts(p, Utc::now()).await?;
            Some(HistoryStats {
                total_calls: c.total_calls,
                invalid_last_30d: c.invalid_last_30d,
                flagged: c.active_flags > 0,
            })
        }
        None => None,
    };
    Ok(Some(triage::triage(&TriageInput { channel, text, history })))
}

/// Where the call is: its position (the caller's share or the operator's
/// click), else the location text, else a place named in the narrative.
fn locate(state: &AppState, location: &Location, narrative: &str) -> Option<ResolvedPlace> {
    let by_position = match location.source {
        Some(LocationSource::Caller | LocationSource::Map) => location.point(),
        _ => None,
    };
    state
        .gazetteer
        .locate(&location.text, by_position)
        .or_else(|| state.gazetteer.locate(narrative, None))
}

/// Take in a call from any channel. Gateways post what they receive;
/// operators post a voice call they log by hand (it is then held by them).
/// A retry with the same `Idempotency-Key` returns the first incident (200)
/// instead of creating another.
#[utoipa::path(post, path = "/intake", tag = "intake", security(("bearer" = [])), request_body = IntakeRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key returns the same incident")),
    responses((status = 201, body = Incident, description = "Stored durably"), (status = 200, body = Incident, description = "Replay of an earlier request with this key"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn intake(
    State(state): State<AppState>,
    auth: Auth<Intakers>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<IntakeRequest>,
) -> ApiResult<(StatusCode, HeaderMap, Json<Incident>)> {
    let actor = &auth.user;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str().map(str::trim) {
            Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN => Some(k.to_owned()),
            _ => {
                return Err(ApiError::invalid(
                    "Idempotency-Key",
                    format!("Idempotency-Key must be 1–{MAX_KEY_LEN} visible ASCII characters"),
                ));
            }
        },
    };
    take_in(&state, actor, key, req, None).await
}

/// Stores an intake (the handler's checks done): place, triage, the
/// group commit; 201, or 200 for a replay of `key`. `point_from` says where
/// a position came from when the actor's role does not.
async fn take_in(
    state: &AppState,
    actor: &crate::model::User,
    key: Option<String>,
    req: IntakeRequest,
    point_from: Option<LocationSource>,
) -> ApiResult<(StatusCode, HeaderMap, Json<Incident>)> {
    let now = Utc::now();
    let mut new = req.parse(now)?;
    if new.location.point().is_some() {
        // A gateway passes on the caller's share; an operator's own intake
        // carries the point they set on the map.
        new.location.source = Some(point_from.unwrap_or(if actor.role == Role::Gateway {
            LocationSource::Caller
        } else {
            LocationSource::Map
        }));
    }
    let place = locate(state, &new.location, &new.narrative);
    new.location.settle(place.as_ref());
    new.suggestion = suggest(state, new.channel, &new.narrative, new.caller.phone.as_ref()).await?;
    let channel = new.channel;
    let out = state.store.intake(actor, key.as_deref(), new, now).await?;
    if !out.replayed {
        state.hub.wake();
        state.metrics.intake(channel);
    }
    let mut h = HeaderMap::new();
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/incidents/{}", out.incident.id)) {
        h.insert(header::LOCATION, loc);
    }
    let status = if out.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, h, Json(out.incident)))
}

/// The incident as a NENA Emergency Incident Data Object (NENA-STA-021.1
/// JSON, `eidoVersion` 1.0) for another centre or CAD: incident, call,
/// location (with a PIDF-LO point), caller, agencies, operators, the unit
/// dispatched, referrals, notes (narrative and supplements), the duplicate
/// link. README maps the fields and lists the gaps.
#[utoipa::path(get, path = "/incidents/{id}/eido", tag = "exchange", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "The EIDO"), (status = 404, body = ErrorBody)))]
pub async fn eido(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<serde_json::Value>> {
    let inc = state.store.incident(id).await?;
    let supplements = state.store.supplements(id).await?;
    let units = state.store.units().await?;
    let filter = crate::store::ReferralFilter {
        incident_id: Some(id),
        ..Default::default()
    };
    let referrals = state.store.referrals(&filter, Utc::now()).await?;
    let cx = crate::model::eido::ExportContext {
        agency: &state.config.centre_id,
        supplements: &supplements,
        unit: inc.unit_id.and_then(|u| units.iter().find(|x| x.id == u)),
        referrals: &referrals,
    };
    Ok(Json(crate::model::eido::to_eido(&inc, &cx)))
}

/// Take in an EIDO from another centre or a gateway as a call. Idempotent on
/// its incident tracking identifier (`$id`): sending it again returns the
/// incident made the first time (200). A 400 names the component at fault.
#[utoipa::path(post, path = "/intake/eido", tag = "exchange", security(("bearer" = [])), request_body = crate::model::eido::EidoIn,
    responses((status = 201, body = Incident, description = "Stored durably"), (status = 200, body = Incident, description = "This EIDO was taken in before"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn intake_eido(
    State(state): State<AppState>,
    auth: Auth<Intakers>,
    ApiJson(eido): super::error::OpenJson<crate::model::eido::EidoIn>,
) -> ApiResult<(StatusCode, HeaderMap, Json<Incident>)> {
    let req = eido.to_intake(Utc::now())?;
    // The tracking id can be long; its digest keeps the key within bounds
    // and the same for every retry.
    use sha2::Digest as _;
    let key = format!("eido:{}", hex::encode(sha2::Sha256::digest(eido.id.as_bytes())));
    // Another centre's position is the call's, whoever posts it.
    take_in(&state, &auth.user, Some(key), req, Some(LocationSource::Caller)).await
}

/// Incidents with a position for the map: every open one (waiting, worked,
/// dispatched, on scene) and every one of the last `hours`, newest first.
#[utoipa::path(get, path = "/map", tag = "incidents", security(("bearer" = [])), params(MapQuery),
    responses((status = 200, body = Vec<MapIncident>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn map(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiQuery(q): ApiQuery<MapQuery>,
) -> ApiResult<Json<Vec<MapIncident>>> {
    let hours = q.hours.unwrap_or(24);
    if !(1..=168).contains(&hours) {
        return Err(ApiError::invalid("hours", "hours must be between 1 and 168 (a week)"));
    }
    let since = Utc::now() - chrono::Duration::hours(hours);
    Ok(Json(state.store.map_incidents(since).await?))
}

/// Open incidents (new and in progress) from every channel, by priority then
/// waiting time, as queue rows; `GET /incidents/{id}` has the whole record.
#[utoipa::path(get, path = "/queue", tag = "incidents", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = Vec<QueueEntry>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn queue(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<([(header::HeaderName, HeaderValue); 1], Vec<u8>)> {
    let json = state
        .queue
        .current_json(&*state.store, |i: &QueueEntry| {
            q.channel.is_none_or(|c| i.channel == c)
                && q.status.is_none_or(|s| i.status == s)
                && q.category.is_none_or(|c| i.category == Some(c))
        })
        .await?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        json,
    ))
}

/// Incidents received in a time range, newest first.
#[utoipa::path(get, path = "/incidents", tag = "incidents", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<Incident>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Incident>>> {
    let limit = q.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit must be between 1 and 10000"));
    }
    let filter = IncidentFilter {
        statuses: q.status.into_iter().collect(),
        since: q.since,
        until: q.until,
        limit,
    };
    Ok(Json(state.store.incidents(&filter).await?))
}

/// One incident.
#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Incident), (status = 404, body = ErrorBody)))]
pub async fn get_incident(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(state.store.incident(id).await?))
}

pub(super) async fn run(
    state: &AppState,
    auth: &Auth<Staff>,
    id: IncidentId,
    version: Option<i64>,
    op: IncidentOp,
) -> ApiResult<Mutation> {
    let actor = &auth.user;
    let m = state.store.mutate(actor, id, version, op, Utc::now()).await?;
    state.hub.wake();
    Ok(m)
}

/// Edit an incident the caller holds. `version` must be the version edited;
/// a stale one gets 409. A new narrative is triaged again; a new location is
/// resolved to its jurisdiction again.
#[utoipa::path(patch, path = "/incidents/{id}", tag = "incidents", security(("bearer" = [])), request_body = IncidentPatch,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(patch): ApiJson<IncidentPatch>,
) -> ApiResult<Json<Incident>> {
    let version = patch.version;
    let mut parsed = patch.parse()?;
    if parsed.narrative.is_some() || parsed.location.is_some() || parsed.phone.is_some() || parsed.coords.is_some() {
        let current = state.store.incident(id).await?;
        let narrative = parsed.narrative.as_deref().unwrap_or(&current.narrative).to_owned();
        let location = parsed.location.as_deref().unwrap_or(&current.location.text).to_owned();
        let phone = match &parsed.phone {
            Some(p) => p.clone(),
            None => current.caller.phone.clone(),
        };
        if parsed.narrative.is_some() || parsed.phone.is_some() {
            parsed.suggestion = suggest(&state, current.channel, &narrative, phone.as_ref()).await?;
        }
        if parsed.location.is_some() || parsed.narrative.is_some() || parsed.coords.is_some() {
            let mut loc = Location {
                text: location,
                ..current.location.clone()
            };
            if let Some((lat, lon)) = parsed.coords {
                loc.lat = lat;
                loc.lon = lon;
                loc.source = lat.map(|_| LocationSource::Map);
            }
            let place = locate(&state, &loc, &narrative);
            loc.settle(place.as_ref());
            parsed.coords = Some((loc.lat, loc.lon));
            parsed.location_source = Some(loc.source);
            parsed.jurisdiction = Some(loc.jurisdiction);
        }
    }
    let m = run(
        &state,
        &auth,
        id,
        Some(version),
        IncidentOp::Update {
            patch: Box::new(parsed),
        },
    )
    .await?;
    Ok(Json(m.incident))
}

/// Take a call: it is held by you until you dispatch, refer, close or
/// release it. 409 when another operator holds it.
#[utoipa::path(post, path = "/incidents/{id}/claim", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Incident), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn claim(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(run(&state, &auth, id, None, IncidentOp::Claim).await?.incident))
}

/// Put a held call back in the queue (the holder, or a shift lead — with a
/// reason — for a call held by an operator who went away). The body may be
/// left out.
#[utoipa::path(post, path = "/incidents/{id}/release", tag = "incidents", security(("bearer" = [])),
    request_body = ReleaseRequest,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn release(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
    body: Option<ApiJson<ReleaseRequest>>,
) -> ApiResult<Json<Incident>> {
    let req = body.map(|b| b.0).unwrap_or_default();
    let op = IncidentOp::Release { reason: req.reason };
    Ok(Json(run(&state, &auth, id, req.version, op).await?.incident))
}

/// Dispatch a police unit; the unit is `assigned` until it signs for the
/// order (`/acknowledge`).
#[utoipa::path(post, path = "/incidents/{id}/dispatch", tag = "incidents", security(("bearer" = [])), request_body = DispatchRequest,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn dispatch(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(req): ApiJson<DispatchRequest>,
) -> ApiResult<Json<Incident>> {
    let op = IncidentOp::Dispatch {
        unit_id: req.unit_id,
        co_notify: req.co_notify,
    };
    Ok(Json(run(&state, &auth, id, req.version, op).await?.incident))
}

/// The dispatched unit signs for the order (签收) and sets off: the unit
/// goes from `assigned` to `en_route`. Recorded by whoever holds the radio
/// (a call taker or lead) or the unit's terminal through a staff account.
#[utoipa::path(post, path = "/incidents/{id}/acknowledge", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Incident), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(
        run(&state, &auth, id, None, IncidentOp::Acknowledge).await?.incident,
    ))
}

/// The operator holding the call marks the caller's nuisance warning read
/// (the call-quality review asks for it before a close as invalid).
#[utoipa::path(post, path = "/incidents/{id}/warning-read", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Incident), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn warning_read(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(
        run(&state, &auth, id, None, IncidentOp::ReadWarning).await?.incident,
    ))
}

/// The dispatched unit reports it is on scene.
#[utoipa::path(post, path = "/incidents/{id}/on-scene", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Incident), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn on_scene(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(run(&state, &auth, id, None, IncidentOp::OnScene).await?.incident))
}

/// The unit on scene has resolved it; the unit is available again.
#[utoipa::path(post, path = "/incidents/{id}/resolve", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Incident), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resolve_incident(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(run(&state, &auth, id, None, IncidentOp::Resolve).await?.incident))
}

/// Refer a non-police matter to a linked agency as a tracked work order.
#[utoipa::path(post, path = "/incidents/{id}/refer", tag = "incidents", security(("bearer" = [])), request_body = ReferRequest,
    responses((status = 200, body = ReferResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn refer(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(req): ApiJson<ReferRequest>,
) -> ApiResult<Json<ReferResponse>> {
    let m = run(&state, &auth, id, req.version, IncidentOp::Refer { agency: req.agency }).await?;
    let referral = m
        .referral
        .ok_or_else(|| ApiError::internal("refer", "the store made no referral for a referred incident"))?;
    Ok(Json(ReferResponse {
        incident: m.incident,
        referral,
    }))
}

/// Close without dispatch: invalid call, duplicate (link it instead), or advice given.
#[utoipa::path(post, path = "/incidents/{id}/close", tag = "incidents", security(("bearer" = [])), request_body = CloseRequest,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(req): ApiJson<CloseRequest>,
) -> ApiResult<Json<Incident>> {
    if req.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::invalid("note", "note is too long (at most 2000 characters)"));
    }
    let op = IncidentOp::Close {
        reason: req.reason,
        note: req.note,
    };
    Ok(Json(run(&state, &auth, id, req.version, op).await?.incident))
}

/// Link as a duplicate of another incident, which closes this one.
#[utoipa::path(post, path = "/incidents/{id}/link", tag = "incidents", security(("bearer" = [])), request_body = LinkRequest,
    responses((status = 200, body = Incident), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn link_duplicate(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(req): ApiJson<LinkRequest>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(
        run(&state, &auth, id, req.version, IncidentOp::LinkDuplicate { of: req.of })
            .await?
            .incident,
    ))
}

/// Add a timestamped line to an incident; the narrative is never overwritten.
#[utoipa::path(post, path = "/incidents/{id}/supplements", tag = "incidents", security(("bearer" = [])),
    request_body = SupplementRequest,
    responses((status = 201, body = Supplement), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_supplement(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(req): ApiJson<SupplementRequest>,
) -> ApiResult<(StatusCode, Json<Supplement>)> {
    let s = state
        .store
        .add_supplement(&auth.user, id, &req.text, Utc::now())
        .await?;
    state.hub.wake();
    Ok((StatusCode::CREATED, Json(s)))
}

/// An incident's supplements, oldest first (merged duplicates' narratives included).
#[utoipa::path(get, path = "/incidents/{id}/supplements", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Vec<Supplement>), (status = 404, body = ErrorBody)))]
pub async fn supplements(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Vec<Supplement>>> {
    state.store.incident(id).await?;
    Ok(Json(state.store.supplements(id).await?))
}

/// Undo a merge: the call is open again, held by whoever undid it (the
/// operator who linked it, or a shift lead).
#[utoipa::path(post, path = "/incidents/{id}/unlink", tag = "incidents", security(("bearer" = [])), request_body = UnlinkRequest,
    responses((status = 200, body = Incident), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn unlink_duplicate(
    State(state): State<AppState>,
    auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
    ApiJson(req): ApiJson<UnlinkRequest>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(
        run(&state, &auth, id, req.version, IncidentOp::Unlink).await?.incident,
    ))
}

/// Open calls at the same place and time that tell of the same kind of
/// incident, from any channel, best first (see [`crate::model::duplicates`]).
#[utoipa::path(get, path = "/incidents/{id}/duplicates", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Vec<DuplicateCandidate>), (status = 404, body = ErrorBody)))]
pub async fn duplicates(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Vec<DuplicateCandidate>>> {
    let inc = state.store.incident(id).await?;
    let window = chrono::Duration::minutes(duplicates::WINDOW_MINUTES);
    let filter = IncidentFilter {
        statuses: vec![Status::New, Status::InProgress, Status::Dispatched, Status::OnScene],
        since: Some(inc.received_at - window),
        until: Some(inc.received_at + window),
        limit: 2000,
    };
    let mut out: Vec<DuplicateCandidate> = state
        .store
        .incidents(&filter)
        .await?
        .into_iter()
        .filter_map(|o| {
            let evidence = duplicates::duplicate_evidence(&inc, &o)?;
            Some(DuplicateCandidate { incident: o, evidence })
        })
        .collect();
    out.sort_by(|a, b| {
        b.evidence
            .score
            .total_cmp(&a.evidence.score)
            .then(a.incident.id.cmp(&b.incident.id))
    });
    out.truncate(20);
    Ok(Json(out))
}

/// Units to dispatch, nearest first (see `Recommendation`), and how the
/// call's location was read.
#[utoipa::path(get, path = "/incidents/{id}/units", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Recommendation), (status = 404, body = ErrorBody)))]
pub async fn recommended_units(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Recommendation>> {
    let inc = state.store.incident(id).await?;
    let place = locate(&state, &inc.location, &inc.narrative);
    let jurisdiction = place.as_ref().and_then(|p| p.jurisdiction.clone());
    let at = inc.location.point().or(place.as_ref().and_then(|p| p.at));
    // A prefecture alone is too vague to send anyone by distance.
    let units = match &jurisdiction {
        Some(j) => gazetteer::recommend(state.store.units().await?, Some(&j.code), at, &inc),
        None => Vec::new(),
    };
    Ok(Json(Recommendation {
        jurisdiction,
        place,
        units,
    }))
}

/// The incident's history from the event log, oldest first.
#[utoipa::path(get, path = "/incidents/{id}/events", tag = "incidents", security(("bearer" = [])),
    responses((status = 200, body = Vec<Event>), (status = 404, body = ErrorBody)))]
pub async fn incident_events(
    State(state): State<AppState>,
    _auth: Auth<Staff>,
    ApiPath(id): ApiPath<IncidentId>,
) -> ApiResult<Json<Vec<Event>>> {
    state.store.incident(id).await?;
    let mut events = state
        .store
        .audit(&AuditFilter {
            incident_id: Some(id),
            limit: 5000,
            ..Default::default()
        })
        .await?;
    events.reverse();
    Ok(Json(events))
}
