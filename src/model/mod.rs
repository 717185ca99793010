//! Domain types shared by the service and the console: incidents and their
//! lifecycle, referrals, follow-ups, units, callers, users, events.
//!
//! Owns: parsing input into valid values and every state transition, as pure
//! functions. Must not touch: I/O, SQL, HTTP or egui.

pub mod address;
pub mod backfill;
pub mod calendar;
mod caller;
mod codes;
pub mod duplicates;
pub mod eido;
mod event;
mod followup;
pub mod gazetteer;
pub mod geo;
mod incident;
mod intake;
mod lifecycle;
#[cfg(test)]
mod lifecycle_tests;
mod qa;
mod referral;
pub mod stats;

pub use caller::*;
pub use codes::*;
pub use event::*;
pub use followup::*;
pub use incident::*;
pub use intake::*;
pub use lifecycle::*;
pub use qa::*;
pub use referral::*;

pub type IncidentId = i64;
pub type UserId = i64;
pub type UnitId = i64;
pub type ReferralId = i64;
pub type EventId = i64;

/// A rule of the domain was broken; the message says what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The request is valid but the incident's current state forbids it.
    /// `code` is stable (the API's error code, which the console words in
    /// the operator's language); `message` is the English detail.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
}

impl DomainError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn phone_numbers() {
        for ok in [
            "13804310000",
            "+86 138-0431-0000",
            "043188886666",
            "88886666",
            "12345",
            "0086 15500001111",
        ] {
            assert!(CallerPhone::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "abc", "1380431000", "12804310000", "110x", "123", "0431"] {
            assert!(CallerPhone::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            CallerPhone::parse("+86 138-0431-0000").map(|p| p.as_str().to_owned()),
            Ok("13804310000".into())
        );
    }

    #[test]
    fn a_code_index_is_its_position_in_all() {
        assert!(Category::ALL.iter().enumerate().all(|(i, c)| c.index() == i));
        assert!(Agency::ALL.iter().enumerate().all(|(i, a)| a.index() == i));
        assert!(Priority::ALL.iter().enumerate().all(|(i, p)| p.index() == i));
        assert!(Channel::ALL.iter().enumerate().all(|(i, c)| c.index() == i));
    }

    #[test]
    fn acting_on_a_call_confirms_the_labels_it_was_shown() {
        let ct = User {
            id: 1,
            name: "ct".into(),
            role: Role::CallTaker,
            agency: None,
        };
        let now = Utc::now();
        let req: IntakeRequest =
            serde_json::from_value(serde_json::json!({"channel": "voice", "narrative": "有人打架"})).expect("request");
        let fresh = |suggested: Category, priority: Priority| {
            let mut new = req.clone().parse(now).expect("valid");
            new.suggestion = Some(Suggestion {
                category: suggested,
                agency: Agency::None,
                priority,
                confidence: 0.9,
                agency_confidence: 0.9,
                priority_confidence: 0.9,
                runner_up: None,
                reasons: vec![],
                nuisance_warning: None,
            });
            Incident::taken_in(&new, Some(ct.as_ref()), now)
        };
        let unit = Unit {
            id: 7,
            code: "U7".into(),
            name: "巡逻1".into(),
            kind: UnitKind::Patrol,
            jurisdiction: "X".into(),
            status: UnitStatus::Available,
            incident_id: None,
            status_since: None,
            at: None,
            position_at: None,
        };
        let dispatch = IncidentOp::Dispatch {
            unit_id: 7,
            co_notify: vec![],
        };
        // Dispatched on a police suggestion: its category and priority.
        let mut inc = fresh(Category::PublicOrder, Priority::P2);
        apply(&mut inc, dispatch.clone(), &ct, now, Some(&unit)).expect("dispatch");
        assert_eq!(
            (inc.category, inc.priority),
            (Some(Category::PublicOrder), Some(Priority::P2))
        );
        // The operator's own choice is never overwritten.
        let mut inc = fresh(Category::PublicOrder, Priority::P2);
        inc.category = Some(Category::Criminal);
        apply(&mut inc, dispatch.clone(), &ct, now, Some(&unit)).expect("dispatch");
        assert_eq!(inc.category, Some(Category::Criminal));
        // A police unit sent on a non-police suggestion: nothing is assumed.
        let mut inc = fresh(Category::NonPolice, Priority::P4);
        apply(&mut inc, dispatch, &ct, now, Some(&unit)).expect("dispatch");
        assert_eq!((inc.category, inc.priority), (None, None));
        // A referral is non-police; closing as invalid is invalid.
        let mut inc = fresh(Category::PublicOrder, Priority::P3);
        apply(
            &mut inc,
            IncidentOp::Refer {
                agency: Agency::Telecom,
            },
            &ct,
            now,
            None,
        )
        .expect("refer");
        assert_eq!(inc.category, Some(Category::NonPolice));
        let mut inc = fresh(Category::Criminal, Priority::P2);
        let close = IncidentOp::Close {
            reason: CloseReason::Invalid,
            note: None,
        };
        apply(&mut inc, close, &ct, now, None).expect("close");
        assert_eq!(inc.category, Some(Category::Invalid));
    }
}
