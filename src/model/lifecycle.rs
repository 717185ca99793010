//! Every change of an incident's state: [`apply`] takes an operation, the
//! actor and the incident and returns the new incident or the exact error.

use super::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Everything that can happen to an incident after intake. Applied by
/// [`apply`], which checks the lifecycle and the actor's right to do it.
#[derive(Debug, Clone)]
pub enum IncidentOp {
    Claim,
    /// Back to the queue; a lead freeing another's call gives a reason.
    Release {
        reason: Option<String>,
    },
    /// A validated patch (see [`IncidentPatch::parse`]) with the recomputed
    /// suggestion when the narrative changed.
    Update {
        patch: Box<ParsedPatch>,
    },
    /// The store loads the unit in the same transaction and passes it to [`apply`].
    Dispatch {
        unit_id: UnitId,
        co_notify: Vec<Agency>,
    },
    /// The dispatched unit signs for the order and sets off.
    Acknowledge,
    /// The operator holding the call has read the caller's nuisance warning.
    ReadWarning,
    OnScene,
    Resolve,
    Refer {
        agency: Agency,
    },
    Close {
        reason: CloseReason,
        note: Option<String>,
    },
    LinkDuplicate {
        of: IncidentId,
    },
    /// Undoes a merge: the call is open again, held by the actor.
    Unlink,
    /// A shift lead hands a queued call to another operator.
    Reassign {
        to: UserRef,
        reason: String,
    },
    /// A shift lead raises or lowers a call's priority.
    Reprioritise {
        priority: Priority,
        reason: String,
    },
    /// A shift lead re-routes a returned referral to another agency: the
    /// incident stays referred, to the new agency, and a new work order is
    /// issued (see [`crate::model::review_referral`]).
    Reroute {
        agency: Agency,
        reason: String,
    },
    /// A shift lead takes a returned referral back: the call is queued
    /// again as police business, in its place by arrival time.
    TakeBack {
        reason: String,
    },
}

impl IncidentOp {
    /// The event kind recorded for this operation.
    pub fn event_kind(&self) -> &'static str {
        match self {
            IncidentOp::Claim => "incident.claimed",
            IncidentOp::Release { .. } => "incident.released",
            IncidentOp::Update { .. } => "incident.updated",
            IncidentOp::Dispatch { .. } => "incident.dispatched",
            IncidentOp::Acknowledge => "incident.acknowledged",
            IncidentOp::ReadWarning => "incident.warning_read",
            IncidentOp::OnScene => "incident.on_scene",
            IncidentOp::Resolve => "incident.resolved",
            IncidentOp::Refer { .. } => "incident.referred",
            IncidentOp::Close { .. } => "incident.closed",
            IncidentOp::LinkDuplicate { .. } => "incident.linked",
            IncidentOp::Unlink => "incident.unlinked",
            IncidentOp::Reassign { .. } => "incident.reassigned",
            IncidentOp::Reprioritise { .. } => "incident.reprioritised",
            IncidentOp::Reroute { .. } => "incident.rerouted",
            IncidentOp::TakeBack { .. } => "incident.taken_back",
        }
    }

    /// The reason recorded with the event, for operations that need one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            IncidentOp::Reassign { reason, .. }
            | IncidentOp::Reprioritise { reason, .. }
            | IncidentOp::Reroute { reason, .. }
            | IncidentOp::TakeBack { reason } => Some(reason),
            IncidentOp::Release { reason: Some(reason) } => Some(reason),
            _ => None,
        }
    }
}

/// Who is acting, with the role that decides what they may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    /// For `agency` accounts: the agency whose referrals they work.
    pub agency: Option<Agency>,
}

impl User {
    pub fn as_ref(&self) -> UserRef {
        UserRef {
            id: self.id,
            name: self.name.clone(),
        }
    }
    pub fn is_lead(&self) -> bool {
        Role::LEADS.contains(&self.role)
    }
}

/// Side effects a transition asks the store to carry out in the same transaction.
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    pub unit_status: Option<(UnitId, UnitStatus)>,
    pub referral: Option<Agency>,
}

/// Applies `op` to `inc` on behalf of `actor` at `now`: the whole incident
/// lifecycle lives here. `unit` is the unit named by a dispatch. On error
/// `inc` may be partly changed and must be discarded.
pub fn apply(
    inc: &mut Incident,
    op: IncidentOp,
    actor: &User,
    now: DateTime<Utc>,
    unit: Option<&Unit>,
) -> Result<Effects, DomainError> {
    use Status::*;
    let held_by_other = |inc: &Incident| inc.holder.as_ref().filter(|h| h.id != actor.id).map(|h| h.name.clone());
    // Working a call needs holding it; a lead may act on any call.
    let must_hold = |inc: &Incident| -> Result<(), DomainError> {
        if actor.is_lead() {
            return Ok(());
        }
        match &inc.holder {
            Some(h) if h.id == actor.id => Ok(()),
            Some(h) => Err(DomainError::conflict(
                "held_by_other",
                format!("another operator ({}) already holds this call", h.name),
            )),
            None => Err(DomainError::conflict(
                "not_claimed",
                "take (claim) the call before working on it",
            )),
        }
    };
    let illegal = |what: &str, status: Status| {
        DomainError::conflict("wrong_state", format!("cannot {what} an incident that is {status}"))
    };
    let mut effects = Effects::default();
    match op {
        IncidentOp::Claim => {
            if let Some(name) = held_by_other(inc) {
                return Err(DomainError::conflict(
                    "held_by_other",
                    format!("another operator ({name}) already holds this call"),
                ));
            }
            if inc.status.is_final() {
                return Err(illegal("claim", inc.status));
            }
            if inc.holder.is_none() {
                inc.holder = Some(actor.as_ref());
                inc.held_since = Some(now);
                inc.claimed_at.get_or_insert(now);
            }
            if inc.status == New {
                inc.status = InProgress;
            }
        }
        IncidentOp::Release { reason } => {
            if let Some(name) = held_by_other(inc) {
                if !actor.is_lead() {
                    return Err(DomainError::conflict(
                        "held_by_other",
                        format!("only {name} or a shift lead can release this call"),
                    ));
                }
                // Taking a call from a colleague is an override, reviewed later.
                require_reason(reason.as_deref().unwrap_or_default())?;
            }
            if inc.holder.is_none() {
                return Err(DomainError::conflict("not_held", "this call is not held by anyone"));
            }
            inc.holder = None;
            inc.held_since = None;
            if inc.status == InProgress {
                inc.status = New;
            }
        }
        IncidentOp::Update { patch } => {
            if inc.status.is_final() {
                return Err(illegal("edit", inc.status));
            }
            must_hold(inc)?;
            if let Some(p) = patch.phone {
                inc.caller.phone = p;
            }
            if let Some(n) = patch.caller_name {
                inc.caller.name = n;
            }
            if let Some(c) = patch.callback_number {
                inc.caller.callback_number = c;
            }
            if let Some(l) = patch.location {
                inc.location.text = l;
            }
            if let Some((lat, lon)) = patch.coords {
                inc.location.lat = lat;
                inc.location.lon = lon;
            }
            if let Some(source) = patch.location_source {
                inc.location.source = source;
            }
            if let Some(j) = patch.jurisdiction {
                inc.location.jurisdiction = j;
            }
            if let Some(n) = patch.narrative {
                inc.narrative = n;
            }
            if let Some(s) = patch.suggestion {
                inc.suggestion = Some(s);
            }
            if let Some(c) = patch.category {
                inc.category = Some(c);
                inc.category_set_at = Some(now);
            }
            if let Some(a) = patch.agency {
                inc.agency = Some(a);
            }
            if let Some(p) = patch.priority {
                inc.priority = Some(p);
            }
        }
        IncidentOp::Dispatch { unit_id, co_notify } => {
            let unit = unit
                .filter(|u| u.id == unit_id)
                .ok_or_else(|| DomainError::invalid("unit_id", format!("unit {unit_id} not found")))?;
            if !inc.status.is_queued() {
                return Err(illegal("dispatch", inc.status));
            }
            must_hold(inc)?;
            if unit.status != UnitStatus::Available {
                return Err(DomainError::conflict(
                    "unit_busy",
                    format!(
                        "unit {} is {} and cannot be dispatched; pick an available unit",
                        unit.name, unit.status
                    ),
                ));
            }
            if co_notify.contains(&Agency::None) {
                return Err(DomainError::invalid("co_notify", "\"none\" is not an agency to notify"));
            }
            inc.status = Dispatched;
            inc.dispatched_at = Some(now);
            inc.unit_id = Some(unit.id);
            inc.co_notify = co_notify;
            // Dispatching on a police suggestion the operator did not change
            // confirms it, as the form showed it prefilled.
            if let Some(s) = inc.suggestion.as_ref().filter(|s| s.category.is_police()) {
                inc.category.get_or_insert(s.category);
                if s.priority != Priority::P4 {
                    inc.priority.get_or_insert(s.priority);
                }
            }
            hand_off(inc, actor);
            effects.unit_status = Some((unit.id, UnitStatus::Assigned));
        }
        IncidentOp::Acknowledge => {
            if inc.status != Dispatched {
                return Err(illegal("acknowledge the order of", inc.status));
            }
            if inc.acknowledged_at.is_some() {
                return Err(DomainError::conflict(
                    "already_acknowledged",
                    "the unit has already signed for this order",
                ));
            }
            inc.acknowledged_at = Some(now);
            effects.unit_status = inc.unit_id.map(|u| (u, UnitStatus::EnRoute));
        }
        IncidentOp::ReadWarning => {
            if !inc.status.is_queued() {
                return Err(illegal("mark the warning read on", inc.status));
            }
            must_hold(inc)?;
            // Recorded even when the warning came after intake (a flag set
            // while the call waited): the console shows the live history.
            inc.warning_read_at.get_or_insert(now);
        }
        IncidentOp::OnScene => {
            if inc.status != Dispatched {
                return Err(illegal("mark on scene", inc.status));
            }
            inc.status = OnScene;
            inc.on_scene_at = Some(now);
            // A unit that reached the scene got the order, whether or not
            // its signature came through.
            inc.acknowledged_at.get_or_insert(now);
            effects.unit_status = inc.unit_id.map(|u| (u, UnitStatus::OnScene));
        }
        IncidentOp::Resolve => {
            if inc.status != OnScene {
                return Err(illegal("resolve", inc.status));
            }
            inc.status = Resolved;
            inc.closed_at = Some(now);
            effects.unit_status = inc.unit_id.map(|u| (u, UnitStatus::Available));
        }
        IncidentOp::Refer { agency } => {
            if !inc.status.is_queued() {
                return Err(illegal("refer", inc.status));
            }
            must_hold(inc)?;
            if agency == Agency::None {
                return Err(DomainError::invalid("agency", "choose the agency to refer to"));
            }
            inc.status = Referred;
            inc.agency = Some(agency);
            // A referral is a non-police matter by definition.
            inc.category.get_or_insert(Category::NonPolice);
            inc.closed_at = Some(now);
            hand_off(inc, actor);
            effects.referral = Some(agency);
        }
        IncidentOp::Close { reason, note } => {
            if !inc.status.is_queued() {
                return Err(illegal("close", inc.status));
            }
            must_hold(inc)?;
            if reason == CloseReason::Duplicate && inc.duplicate_of.is_none() {
                return Err(DomainError::invalid(
                    "reason",
                    "to close as duplicate, link the incident it duplicates",
                ));
            }
            if reason == CloseReason::Invalid {
                inc.category.get_or_insert(Category::Invalid);
            }
            close(inc, reason, note, now);
            hand_off(inc, actor);
        }
        IncidentOp::LinkDuplicate { of } => {
            if of == inc.id {
                return Err(DomainError::invalid("of", "an incident cannot duplicate itself"));
            }
            if !inc.status.is_queued() {
                return Err(illegal("link", inc.status));
            }
            must_hold(inc)?;
            inc.duplicate_of = Some(of);
            close(inc, CloseReason::Duplicate, Some(format!("duplicate of #{of}")), now);
            hand_off(inc, actor);
        }
        IncidentOp::Unlink => {
            if inc.status != Status::Closed || inc.close_reason != Some(CloseReason::Duplicate) {
                return Err(DomainError::conflict(
                    "not_linked",
                    "this call is not linked as a duplicate",
                ));
            }
            let linked_it = inc.handled_by.as_ref().is_some_and(|u| u.id == actor.id);
            if !linked_it && !actor.is_lead() {
                return Err(DomainError::forbidden(
                    "not_your_link",
                    "only the operator who linked this call or a shift lead can undo the link",
                ));
            }
            inc.status = InProgress;
            inc.duplicate_of = None;
            inc.close_reason = None;
            inc.close_note = None;
            inc.closed_at = None;
            inc.holder = Some(actor.as_ref());
            inc.held_since = Some(now);
        }
        IncidentOp::Reassign { to, reason } => {
            must_lead(actor, "reassign a call")?;
            require_reason(&reason)?;
            if !inc.status.is_queued() {
                return Err(illegal("reassign", inc.status));
            }
            if inc.holder.as_ref().is_some_and(|h| h.id == to.id) {
                return Err(DomainError::conflict(
                    "already_holds",
                    format!("{} already holds this call", to.name),
                ));
            }
            inc.holder = Some(to);
            inc.held_since = Some(now);
            inc.claimed_at.get_or_insert(now);
            inc.status = InProgress;
        }
        IncidentOp::Reroute { agency, reason } => {
            must_lead(actor, "re-route a referral")?;
            require_reason(&reason)?;
            if inc.status != Referred {
                return Err(illegal("re-route", inc.status));
            }
            if agency == Agency::None {
                return Err(DomainError::invalid("agency", "choose the agency to re-route to"));
            }
            inc.agency = Some(agency);
            effects.referral = Some(agency);
        }
        IncidentOp::TakeBack { reason } => {
            must_lead(actor, "take a referral back")?;
            require_reason(&reason)?;
            if inc.status != Referred {
                return Err(illegal("take back", inc.status));
            }
            inc.status = New;
            inc.agency = None;
            // The agency said it is police business: the call taker decides
            // the category afresh, with the suggestion still there to help.
            inc.category = None;
            inc.category_set_at = None;
            inc.closed_at = None;
            inc.holder = None;
            inc.held_since = None;
        }
        IncidentOp::Reprioritise { priority, reason } => {
            must_lead(actor, "change a call's priority")?;
            require_reason(&reason)?;
            if inc.status.is_final() {
                return Err(illegal("reprioritise", inc.status));
            }
            if inc.effective_priority() == priority && inc.priority.is_some() {
                return Err(DomainError::conflict(
                    "already_priority",
                    format!("the call is already {priority}"),
                ));
            }
            inc.priority = Some(priority);
        }
    }
    inc.version += 1;
    inc.updated_at = now;
    Ok(effects)
}

/// The call leaves the operator's hands: remember who disposed of it.
pub(super) fn hand_off(inc: &mut Incident, actor: &User) {
    inc.holder = None;
    inc.held_since = None;
    inc.handled_by = Some(actor.as_ref());
}

pub(super) fn must_lead(actor: &User, what: &str) -> Result<(), DomainError> {
    if actor.is_lead() {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            "lead_only",
            format!("only a shift lead can {what}"),
        ))
    }
}

/// A lead's override is audited; the reason is what makes it reviewable.
pub(super) fn require_reason(reason: &str) -> Result<(), DomainError> {
    let n = reason.trim().chars().count();
    if n == 0 {
        return Err(DomainError::invalid(
            "reason",
            "give a reason; it goes into the audit log",
        ));
    }
    if n > MAX_SHORT_FIELD_CHARS {
        return Err(DomainError::invalid("reason", "the reason is too long"));
    }
    Ok(())
}

pub(super) fn close(inc: &mut Incident, reason: CloseReason, note: Option<String>, now: DateTime<Utc>) {
    inc.status = Status::Closed;
    inc.close_reason = Some(reason);
    inc.close_note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    inc.closed_at = Some(now);
    if reason == CloseReason::Invalid {
        inc.category = Some(Category::Invalid);
    }
}
