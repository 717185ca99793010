//! The triage engine: from a narrative (and optionally the caller's history)
//! to a suggested category, agency and priority, with the reasons.
//!
//! Owns: the rules and their evaluation. Must not touch: I/O of any kind —
//! it is a pure function both the service and the console call.
//!
//! This is the minimal keyword table the incident service needs now; the full
//! engine (segmentation, negation, tense, editable rule file) replaces the
//! table behind the same [`triage`] signature.

use crate::model::{Agency, Category, Channel, Priority, Reason, Suggestion};

/// What the engine looks at.
#[derive(Debug, Clone, Copy)]
pub struct TriageInput<'a> {
    pub channel: Channel,
    pub text: &'a str,
    pub history: Option<HistoryStats>,
}

/// The parts of a caller's history that matter for triage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryStats {
    pub total_calls: i64,
    pub invalid_last_30d: i64,
    pub flagged: bool,
}

struct Cue {
    phrase: &'static str,
    category: Category,
    agency: Agency,
    priority: Priority,
    weight: f64,
}

const fn cue(phrase: &'static str, category: Category, agency: Agency, priority: Priority, weight: f64) -> Cue {
    Cue {
        phrase,
        category,
        agency,
        priority,
        weight,
    }
}

use Agency as A;
use Category as C;
use Priority as P;

const CUES: &[Cue] = &[
    cue("砍人", C::Criminal, A::Ambulance, P::P1, 3.0),
    cue("捅", C::Criminal, A::Ambulance, P::P1, 2.5),
    cue("抢劫", C::Criminal, A::None, P::P1, 3.0),
    cue("抢", C::Criminal, A::None, P::P2, 1.5),
    cue("被偷", C::Criminal, A::None, P::P3, 2.0),
    cue("偷", C::Criminal, A::None, P::P3, 1.2),
    cue("诈骗", C::Criminal, A::None, P::P3, 2.5),
    cue("骗", C::Criminal, A::None, P::P3, 1.2),
    cue("绑架", C::Criminal, A::None, P::P1, 3.0),
    cue("强奸", C::Criminal, A::Ambulance, P::P1, 3.0),
    cue("打架", C::PublicOrder, A::None, P::P2, 2.0),
    cue("吵架", C::PublicOrder, A::None, P::P3, 1.5),
    cue("噪音", C::PublicOrder, A::None, P::P3, 1.0),
    cue("赌博", C::PublicOrder, A::None, P::P3, 2.0),
    cue("群殴", C::MassIncident, A::None, P::P1, 3.0),
    cue("堵路", C::MassIncident, A::None, P::P2, 2.0),
    cue("围堵", C::MassIncident, A::None, P::P2, 2.0),
    cue("踩踏", C::MassIncident, A::Ambulance, P::P1, 3.0),
    cue("着火", C::DisasterAccident, A::Fire, P::P1, 3.0),
    cue("火灾", C::DisasterAccident, A::Fire, P::P1, 3.0),
    cue("爆炸", C::DisasterAccident, A::Fire, P::P1, 3.0),
    cue("车祸", C::DisasterAccident, A::None, P::P2, 2.5),
    cue("撞了", C::DisasterAccident, A::None, P::P3, 1.5),
    cue("追尾", C::DisasterAccident, A::None, P::P3, 2.0),
    cue("拿刀", C::OtherCrimeUrgent, A::None, P::P1, 2.5),
    cue("酒驾", C::OtherCrimeUrgent, A::None, P::P2, 2.5),
    cue("撬门", C::OtherCrimeUrgent, A::None, P::P2, 2.0),
    cue("跳楼", C::PublicSafetyHelp, A::None, P::P1, 3.0),
    cue("落水", C::PublicSafetyHelp, A::Fire, P::P1, 3.0),
    cue("走丢", C::PublicSafetyHelp, A::None, P::P2, 2.5),
    cue("警察打人", C::PoliceMisconduct, A::None, P::P2, 3.0),
    cue("充值", C::NonPolice, A::Telecom, P::P4, 2.0),
    cue("话费", C::NonPolice, A::Telecom, P::P4, 2.0),
    cue("宽带", C::NonPolice, A::Telecom, P::P4, 2.0),
    cue("停水", C::NonPolice, A::Utilities, P::P4, 2.0),
    cue("停电", C::NonPolice, A::Utilities, P::P4, 2.0),
    cue("暖气", C::NonPolice, A::Utilities, P::P4, 2.0),
    cue("施工", C::NonPolice, A::UrbanManagement, P::P4, 1.5),
    cue("假货", C::NonPolice, A::MarketRegulation, P::P4, 2.0),
    cue("开锁", C::NonPolice, A::CommercialService, P::P4, 2.0),
    cue("晕倒", C::NonPolice, A::Ambulance, P::P4, 2.0),
    cue("打车", C::NonPolice, A::Transport, P::P4, 1.5),
    cue("聊天", C::Invalid, A::None, P::P4, 2.0),
    cue("测试", C::Invalid, A::None, P::P4, 2.0),
];

/// Suggests a category, agency and priority for one narrative, with reasons.
pub fn triage(input: &TriageInput<'_>) -> Suggestion {
    let text = input.text;
    let mut scores: Vec<(Category, f64)> = Vec::new();
    let mut reasons = Vec::new();
    let mut best_cue: Option<&Cue> = None;
    let mut top_priority: Option<Priority> = None;
    for c in CUES {
        if let Some(byte_at) = text.find(c.phrase) {
            let start = text[..byte_at].chars().count();
            let span = (start, start + c.phrase.chars().count());
            match scores.iter_mut().find(|(cat, _)| *cat == c.category) {
                Some((_, s)) => *s += c.weight,
                None => scores.push((c.category, c.weight)),
            }
            reasons.push(Reason {
                keyword: c.phrase.into(),
                span: Some(span),
                rule: format!("cue: {}", c.category),
            });
            if best_cue.is_none_or(|b| c.weight > b.weight) {
                best_cue = Some(c);
            }
            if c.category.is_police() {
                // Safety bias: any police cue at P1 makes the call P1.
                top_priority = Some(top_priority.map_or(c.priority, |p| p.min(c.priority)));
            }
        }
    }
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = scores.iter().map(|s| s.1).sum();
    let (category, confidence) = match scores.first() {
        Some(&(cat, s)) => (cat, s / total.max(1.0)),
        None if text.trim().is_empty() => (C::Invalid, 0.3),
        None => (C::PublicOrder, 0.2),
    };
    let agency = best_cue
        .filter(|c| c.category == category)
        .map_or(A::None, |c| c.agency);
    let priority = if category.is_police() {
        top_priority.unwrap_or(P::P3)
    } else {
        P::P4
    };
    let nuisance_warning = input.history.and_then(|h| {
        if h.flagged {
            Some("caller is flagged as a nuisance caller".to_owned())
        } else {
            (h.invalid_last_30d >= 3).then(|| format!("caller has {} invalid calls in 30 days", h.invalid_last_30d))
        }
    });
    if let Some(w) = &nuisance_warning {
        reasons.push(Reason {
            keyword: String::new(),
            span: None,
            rule: w.clone(),
        });
    }
    Suggestion {
        category,
        agency,
        priority,
        confidence: (confidence * 100.0).round() / 100.0,
        runner_up: scores.get(1).map(|s| s.0),
        reasons,
        nuisance_warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, category: Category, priority: Priority, must_mention: &[&str]) {
        let s = triage(&TriageInput {
            channel: Channel::Voice,
            text,
            history: None,
        });
        assert_eq!((s.category, s.priority), (category, priority), "{s:#?}");
        for kw in must_mention {
            assert!(s.reasons.iter().any(|r| r.keyword == *kw), "missing {kw}: {s:#?}");
        }
    }

    #[test]
    fn knife_attack_is_p1() {
        check("有人在楼下砍人", Category::Criminal, Priority::P1, &["砍人"]);
    }

    #[test]
    fn top_up_is_referred() {
        check("我手机话费充值没到账", Category::NonPolice, Priority::P4, &["充值"]);
    }

    #[test]
    fn nuisance_warning_never_changes_category() {
        let history = HistoryStats {
            total_calls: 40,
            invalid_last_30d: 12,
            flagged: false,
        };
        let s = triage(&TriageInput {
            channel: Channel::Voice,
            text: "有人在楼下砍人",
            history: Some(history),
        });
        assert_eq!(s.category, Category::Criminal);
        assert!(s.nuisance_warning.as_deref().is_some_and(|w| w.contains("12")));
    }
}
