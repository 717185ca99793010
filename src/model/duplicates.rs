//! Whether two open calls report the same event: the rule behind the
//! duplicate candidates an operator may merge.
//!
//! A candidate needs the same place *and* the same kind of incident, within
//! a short window. "Same district" alone is not a place: a crowd at a gate
//! and a gas explosion two streets away are different events, so a match on
//! the jurisdiction alone must be backed by similar words.

use super::Incident;
pub use super::codes::DuplicateReason;

/// Calls this close in time may be duplicates of each other.
pub const WINDOW_MINUTES: i64 = 30;
/// Coordinates this close (metres) count as the same place.
pub const SAME_PLACE_METRES: f64 = 500.0;
/// Character-bigram overlap (Dice) from which two narratives tell the same thing.
const SIMILAR_TEXT: f64 = 0.2;

/// The evidence that `other` reports the same event as `inc` (on the wire,
/// beside the candidate incident).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DuplicateEvidence {
    /// Higher is more likely the same event.
    pub score: f64,
    pub reasons: Vec<DuplicateReason>,
    /// How far apart the two calls came in, in minutes.
    pub minutes_apart: i64,
    /// Distance between the two, when both have coordinates.
    pub metres: Option<f64>,
}

pub fn metres_between(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().asin()
}

/// Dice overlap of the character bigrams of the words (punctuation and
/// spaces split, so "。有" is not a bigram).
pub fn text_similarity(a: &str, b: &str) -> f64 {
    fn bigrams(s: &str) -> std::collections::HashSet<(char, char)> {
        s.split(|c: char| !c.is_alphanumeric())
            .flat_map(|w| {
                let cs: Vec<char> = w.chars().collect();
                cs.windows(2).map(|p| (p[0], p[1])).collect::<Vec<_>>()
            })
            .collect()
    }
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    2.0 * x.intersection(&y).count() as f64 / (x.len() + y.len()) as f64
}

/// `None` when `other` is not a plausible duplicate of `inc`.
pub fn duplicate_evidence(inc: &Incident, other: &Incident) -> Option<DuplicateEvidence> {
    if other.id == inc.id {
        return None;
    }
    let minutes_apart = (inc.received_at - other.received_at).num_minutes().abs();
    if minutes_apart > WINDOW_MINUTES {
        return None;
    }
    let same_caller = matches!((&inc.caller.phone, &other.caller.phone), (Some(a), Some(b)) if a == b);
    let metres = match (
        inc.location.lat,
        inc.location.lon,
        other.location.lat,
        other.location.lon,
    ) {
        (Some(la), Some(lo), Some(lb), Some(ob)) => Some(metres_between((la, lo), (lb, ob))),
        _ => None,
    };
    let text = |s: &str| s.trim().to_owned();
    let same_place = metres.is_some_and(|m| m <= SAME_PLACE_METRES)
        || !inc.location.text.trim().is_empty() && text(&inc.location.text) == text(&other.location.text);
    let same_area = matches!(
        (&inc.location.jurisdiction, &other.location.jurisdiction),
        (Some(a), Some(b)) if a == b
    );
    let same_kind = inc.effective_category().is_some() && inc.effective_category() == other.effective_category();
    let similarity = text_similarity(&inc.narrative, &other.narrative);
    let similar = similarity >= SIMILAR_TEXT;
    let plausible = same_caller || same_place && (same_kind || similar) || same_area && similar;
    if !plausible {
        return None;
    }
    let mut reasons = Vec::new();
    let mut score = 0.0;
    if same_caller {
        reasons.push(DuplicateReason::SameCaller);
        score += 2.0;
    }
    if same_place {
        reasons.push(DuplicateReason::SamePlace);
        score += 2.0;
    } else if same_area {
        reasons.push(DuplicateReason::SameArea);
        score += 1.0;
    }
    if same_kind {
        reasons.push(DuplicateReason::SameKind);
        score += 0.5;
    }
    if similar {
        reasons.push(DuplicateReason::SimilarText);
    }
    score += 2.0 * similarity;
    // Of two otherwise equal candidates, the closer in time.
    score += 0.5 * (1.0 - minutes_apart as f64 / WINDOW_MINUTES as f64);
    Some(DuplicateEvidence {
        score,
        reasons,
        minutes_apart,
        metres,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, IntakeRequest};

    fn call(id: i64, minutes: i64, place: &str, area: &str, category: Category, text: &str) -> Incident {
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
            .expect("time")
            .to_utc();
        let at = t0 + chrono::Duration::minutes(minutes);
        let req: IntakeRequest = serde_json::from_value(serde_json::json!({
            "channel": "voice", "phone": format!("1380431{id:04}"), "location": place, "narrative": text,
        }))
        .expect("request");
        let mut inc = Incident::taken_in(&req.parse(at).expect("valid"), None, at);
        inc.id = id;
        inc.location.jurisdiction = Some(area.to_owned());
        inc.category = Some(category);
        inc
    }

    #[test]
    fn the_same_place_and_kind_within_the_window_is_a_candidate() {
        use Category::*;
        let fight = call(
            1,
            0,
            "长春站北口",
            "CC-KC-01",
            PublicOrder,
            "长春站北口有人打架，好几个人",
        );
        let again = call(2, 12, "长春站北口", "CC-KC-01", PublicOrder, "火车站这边打起来了");
        let e = duplicate_evidence(&again, &fight).expect("a candidate");
        assert_eq!(e.reasons, [DuplicateReason::SamePlace, DuplicateReason::SameKind]);
        assert_eq!(e.minutes_apart, 12);
        // An hour later it is another event.
        let later = call(3, 75, "长春站北口", "CC-KC-01", PublicOrder, "火车站这边打起来了");
        assert!(duplicate_evidence(&later, &fight).is_none());
    }

    #[test]
    fn the_same_district_alone_is_not_the_same_event() {
        use Category::*;
        let crowd = call(
            1,
            0,
            "欧亚卖场正门",
            "CC-CY-02",
            MassIncident,
            "商场门口聚集了一百多人在拉横幅",
        );
        let gas = call(
            2,
            5,
            "西安大路",
            "CC-CY-02",
            DisasterAccident,
            "饭店燃气罐爆了，有人受伤",
        );
        let crash = call(3, 7, "人民大街", "CC-CY-02", DisasterAccident, "两辆车在路口撞了");
        let fire = call(4, 9, "欧亚卖场", "CC-CY-02", DisasterAccident, "卖场三楼冒烟起火了");
        assert!(duplicate_evidence(&gas, &crowd).is_none());
        assert!(
            duplicate_evidence(&crash, &gas).is_none(),
            "same category, different place and words"
        );
        assert!(duplicate_evidence(&fire, &crash).is_none());
        // The same fire told in other words from across the district is one.
        let smoke = call(
            5,
            11,
            "卖场对面",
            "CC-CY-02",
            DisasterAccident,
            "欧亚卖场三楼那边冒黑烟了，像是起火了",
        );
        let e = duplicate_evidence(&smoke, &fire).expect("same fire");
        assert_eq!(
            e.reasons,
            [
                DuplicateReason::SameArea,
                DuplicateReason::SameKind,
                DuplicateReason::SimilarText
            ]
        );
    }

    #[test]
    fn the_same_caller_calling_again_is_a_candidate() {
        use Category::*;
        let first = call(7, 0, "", "CC-NG-01", Criminal, "有人撬我家门");
        let mut again = call(8, 20, "", "CC-NG-02", PublicOrder, "怎么还没来人");
        again.caller.phone = first.caller.phone.clone();
        let e = duplicate_evidence(&again, &first).expect("the same caller");
        assert_eq!(e.reasons, [DuplicateReason::SameCaller]);
    }
}
