//! `apply` as a table: state × actor × operation → the new state, or the
//! exact error. The lifecycle is the heart of the service; these rows pin it
//! without HTTP or a database.

use chrono::{DateTime, Utc};

use super::*;

const NOW: &str = "2026-11-30T10:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW).expect("time").to_utc()
}

fn user(id: UserId, name: &str, role: Role) -> User {
    User {
        id,
        name: name.into(),
        role,
        agency: None,
    }
}

#[derive(Clone, Copy, Debug)]
enum State {
    New,
    Mine,
    Theirs,
    Dispatched,
    OnScene,
    ClosedDuplicate,
    ClosedInvalid,
}

fn incident(state: State) -> Incident {
    let req: IntakeRequest = serde_json::from_value(
        serde_json::json!({"channel": "voice", "phone": "13804310001", "narrative": "有人打架"}),
    )
    .expect("request");
    let mut inc = Incident::taken_in(&req.parse(now()).expect("valid"), None, now());
    inc.id = 5;
    let ct = user(1, "ct", Role::CallTaker).as_ref();
    let ct2 = user(2, "ct2", Role::CallTaker).as_ref();
    match state {
        State::New => {}
        State::Mine | State::Theirs => {
            inc.status = Status::InProgress;
            inc.holder = Some(if matches!(state, State::Mine) { ct } else { ct2 });
        }
        State::Dispatched | State::OnScene => {
            inc.status = if matches!(state, State::OnScene) {
                Status::OnScene
            } else {
                Status::Dispatched
            };
            inc.unit_id = Some(7);
            inc.handled_by = Some(ct);
        }
        State::ClosedDuplicate | State::ClosedInvalid => {
            inc.status = Status::Closed;
            inc.handled_by = Some(ct);
            if matches!(state, State::ClosedDuplicate) {
                inc.close_reason = Some(CloseReason::Duplicate);
                inc.duplicate_of = Some(3);
            } else {
                inc.close_reason = Some(CloseReason::Invalid);
            }
        }
    }
    inc
}

fn unit(status: UnitStatus) -> Unit {
    Unit {
        id: 7,
        code: "U7".into(),
        name: "巡逻1".into(),
        kind: UnitKind::Patrol,
        jurisdiction: "X".into(),
        status,
        incident_id: None,
        status_since: None,
        at: None,
        position_at: None,
    }
}

/// "status holder" after success, or the error's code ("invalid:field" for bad input).
fn outcome(state: State, actor: &User, op: IncidentOp, unit_status: UnitStatus) -> String {
    let mut inc = incident(state);
    let u = unit(unit_status);
    match apply(&mut inc, op, actor, now(), Some(&u)) {
        Ok(_) => format!(
            "{} {}",
            inc.status,
            inc.holder.as_ref().map_or("-", |h| h.name.as_str())
        ),
        Err(DomainError::Invalid { field, .. }) => format!("invalid:{field}"),
        Err(DomainError::Conflict { code, .. } | DomainError::Forbidden { code, .. }) => code.to_owned(),
    }
}

#[test]
fn the_lifecycle_table() {
    use IncidentOp as Op;
    use State::*;
    let ct = user(1, "ct", Role::CallTaker);
    let ct2 = user(2, "ct2", Role::CallTaker);
    let lead = user(9, "lead", Role::ShiftLead);
    let reason = |r: &str| r.to_owned();
    let dispatch = || Op::Dispatch {
        unit_id: 7,
        co_notify: vec![Agency::Fire],
    };
    let reassign = |to: &User, why: &str| Op::Reassign {
        to: to.as_ref(),
        reason: reason(why),
    };
    let free = UnitStatus::Available;
    let rows: Vec<(State, &User, Op, UnitStatus, &str)> = vec![
        // Claim: a free call, again by its holder, never another's or a closed one.
        (New, &ct, Op::Claim, free, "in_progress ct"),
        (Mine, &ct, Op::Claim, free, "in_progress ct"),
        (Theirs, &ct, Op::Claim, free, "held_by_other"),
        (ClosedInvalid, &ct, Op::Claim, free, "wrong_state"),
        // Release: by the holder; a lead frees another's call only with a reason.
        (New, &ct, Op::Release { reason: None }, free, "not_held"),
        (Mine, &ct, Op::Release { reason: None }, free, "new -"),
        (Theirs, &ct, Op::Release { reason: None }, free, "held_by_other"),
        (Theirs, &lead, Op::Release { reason: None }, free, "invalid:reason"),
        (
            Theirs,
            &lead,
            Op::Release {
                reason: Some(reason("went home")),
            },
            free,
            "new -",
        ),
        // Dispatch: held, queued, an available unit; it leaves the operator's hands.
        (New, &ct, dispatch(), free, "not_claimed"),
        (Mine, &ct, dispatch(), free, "dispatched -"),
        (Theirs, &ct, dispatch(), free, "held_by_other"),
        (Theirs, &lead, dispatch(), free, "dispatched -"),
        (Dispatched, &ct, dispatch(), free, "wrong_state"),
        (Mine, &ct, dispatch(), UnitStatus::EnRoute, "unit_busy"),
        (
            Mine,
            &ct,
            Op::Dispatch {
                unit_id: 7,
                co_notify: vec![Agency::None],
            },
            free,
            "invalid:co_notify",
        ),
        // On scene and resolved follow the dispatch, in order.
        (Mine, &ct, Op::OnScene, free, "wrong_state"),
        (Dispatched, &ct2, Op::OnScene, free, "on_scene -"),
        (OnScene, &ct2, Op::Resolve, free, "resolved -"),
        (Dispatched, &ct, Op::Resolve, free, "wrong_state"),
        // Refer, close and link end a held call.
        (
            Mine,
            &ct,
            Op::Refer {
                agency: Agency::Hotline12345,
            },
            free,
            "referred -",
        ),
        (Mine, &ct, Op::Refer { agency: Agency::None }, free, "invalid:agency"),
        (
            Theirs,
            &ct,
            Op::Refer {
                agency: Agency::Hotline12345,
            },
            free,
            "held_by_other",
        ),
        (
            Mine,
            &ct,
            Op::Close {
                reason: CloseReason::Invalid,
                note: None,
            },
            free,
            "closed -",
        ),
        (
            Mine,
            &ct,
            Op::Close {
                reason: CloseReason::Duplicate,
                note: None,
            },
            free,
            "invalid:reason",
        ),
        (Mine, &ct, Op::LinkDuplicate { of: 3 }, free, "closed -"),
        (Mine, &ct, Op::LinkDuplicate { of: 5 }, free, "invalid:of"),
        (Dispatched, &ct, Op::LinkDuplicate { of: 3 }, free, "wrong_state"),
        // Unlink: the operator who linked it, or a lead; only a linked call.
        (ClosedDuplicate, &ct, Op::Unlink, free, "in_progress ct"),
        (ClosedDuplicate, &ct2, Op::Unlink, free, "not_your_link"),
        (ClosedDuplicate, &lead, Op::Unlink, free, "in_progress lead"),
        (ClosedInvalid, &lead, Op::Unlink, free, "not_linked"),
        // A lead's overrides: leads only, with a reason, on an open call.
        (Mine, &ct, reassign(&ct2, "break"), free, "lead_only"),
        (Mine, &lead, reassign(&ct2, "  "), free, "invalid:reason"),
        (Mine, &lead, reassign(&ct2, "break"), free, "in_progress ct2"),
        (New, &lead, reassign(&ct2, "break"), free, "in_progress ct2"),
        (Mine, &lead, reassign(&ct, "break"), free, "already_holds"),
        (Dispatched, &lead, reassign(&ct2, "break"), free, "wrong_state"),
        (
            Mine,
            &lead,
            Op::Reprioritise {
                priority: Priority::P1,
                reason: reason("a child inside"),
            },
            free,
            "in_progress ct",
        ),
        (
            Mine,
            &ct,
            Op::Reprioritise {
                priority: Priority::P1,
                reason: reason("a child inside"),
            },
            free,
            "lead_only",
        ),
        (
            ClosedInvalid,
            &lead,
            Op::Reprioritise {
                priority: Priority::P1,
                reason: reason("a child inside"),
            },
            free,
            "wrong_state",
        ),
    ];
    let mut wrong = Vec::new();
    for (state, actor, op, unit_status, expected) in rows {
        let what = format!("{state:?} × {} × {op:?}", actor.name);
        let got = outcome(state, actor, op, unit_status);
        if got != expected {
            wrong.push(format!("{what}: expected {expected}, got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_change_bumps_the_version_and_a_refused_claim_changes_nothing() {
    let ct = user(1, "ct", Role::CallTaker);
    let mut inc = incident(State::New);
    let v = inc.version;
    apply(&mut inc, IncidentOp::Claim, &ct, now(), None).expect("claim");
    assert_eq!(inc.version, v + 1);
    assert_eq!(inc.claimed_at, Some(now()));
    let mut other = incident(State::Theirs);
    let before = other.clone();
    assert!(apply(&mut other, IncidentOp::Claim, &ct, now(), None).is_err());
    assert_eq!(other, before, "a refused claim changes nothing");
}
