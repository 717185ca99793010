//! The console's state: saved preferences apart from runtime state.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::command::Command;
use super::i18n::Lang;
use crate::api::{DuplicateCandidate, Recommendation};
use crate::model::geo::GeoPoint;
use crate::model::{
    Agency, CallerHistory, Category, Channel, Incident, IncidentId, IncidentPatch, IntakeRequest, Priority, QueueEntry,
    Referral, Suggestion, Unit, User,
};

/// Saved between runs (eframe storage).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub lang: Lang,
    pub alert_sound: bool,
    /// Waits past these turn amber, then red.
    pub amber_secs: i64,
    pub red_secs: i64,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            lang: Lang::Zh,
            alert_sound: true,
            amber_secs: 60,
            red_secs: 180,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Conn {
    Connecting,
    Live,
    Reconnecting(String),
}

/// The call on the intake form.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// `None` for a call being logged by hand that is not saved yet.
    pub incident_id: Option<IncidentId>,
    pub version: i64,
    pub channel: Option<Channel>,
    pub phone: String,
    pub name: String,
    pub callback: String,
    pub location: String,
    pub jurisdiction: Option<String>,
    pub narrative: String,
    pub category: Option<Category>,
    pub agency: Option<Agency>,
    pub priority: Option<Priority>,
    /// Idempotency key of a new call, fixed when the form opens so a retry
    /// is the same call.
    pub key: String,
    /// When the operator opened the form for a new call: the call's time,
    /// even when the outbox delivers it an hour later.
    pub opened_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The WeChat id or web account of a text-channel caller (read-only).
    pub contact: Option<String>,
    /// Since when this operator has held the call: the handling timer.
    pub held_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Agencies notified with the patrol; `None` follows the suggestion.
    pub co_notify: Option<Vec<Agency>>,
    /// The editable fields as the service last stored them: what an action
    /// compares the form with, so edits not yet saved go with it.
    pub stored: FormValues,
    /// The operator has marked the caller's nuisance warning read.
    pub warning_read: bool,
    /// The call came in with a nuisance warning (the caller's history
    /// may have changed since; the review judges by this one).
    pub warned: bool,
    /// Where the operator clicked on the map, not saved yet.
    pub pin: Option<GeoPoint>,
    /// The call's point as stored (the caller's share, a saved pin, or
    /// where its place name was read to be).
    pub at: Option<GeoPoint>,
}

/// The same text once the service has cleaned it (trimmed).
fn same_text(a: &str, b: &str) -> bool {
    a.trim() == b.trim()
}

/// The same number however it was typed ("0431-8888 6666", "043188886666").
fn same_phone(a: &str, b: &str) -> bool {
    use crate::model::CallerPhone;
    same_text(a, b) || matches!((CallerPhone::parse(a), CallerPhone::parse(b)), (Ok(x), Ok(y)) if x == y)
}

/// The fields of the form an operator edits, as shown (codes fall back on
/// the suggestion the form prefills them with).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormValues {
    pub phone: String,
    pub name: String,
    pub callback: String,
    pub location: String,
    pub narrative: String,
    pub category: Option<Category>,
    pub agency: Option<Agency>,
    pub priority: Option<Priority>,
}

impl FormValues {
    /// What the service holds for the call.
    pub fn stored(i: &Incident) -> Self {
        let phone = |p: &Option<crate::model::CallerPhone>| p.as_ref().map(|p| p.to_string()).unwrap_or_default();
        FormValues {
            phone: phone(&i.caller.phone),
            name: i.caller.name.clone().unwrap_or_default(),
            callback: phone(&i.caller.callback_number),
            location: i.location.text.clone(),
            narrative: i.narrative.clone(),
            category: i.category,
            agency: i.agency,
            priority: i.priority,
        }
    }
}

impl Draft {
    pub fn new_call() -> Self {
        Draft {
            channel: Some(Channel::Voice),
            key: format!("console-{}", hex::encode(rand::random::<[u8; 12]>())),
            opened_at: Some(chrono::Utc::now()),
            held_since: Some(chrono::Utc::now()),
            ..Default::default()
        }
    }

    pub fn from_incident(i: &Incident) -> Self {
        Draft {
            incident_id: Some(i.id),
            version: i.version,
            channel: Some(i.channel),
            phone: i.caller.phone.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            name: i.caller.name.clone().unwrap_or_default(),
            callback: i
                .caller
                .callback_number
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            location: i.location.text.clone(),
            jurisdiction: i.location.jurisdiction.clone(),
            narrative: i.narrative.clone(),
            category: i.category,
            agency: i.agency,
            priority: i.priority,
            key: String::new(),
            opened_at: None,
            contact: i.caller.wechat_id.clone().or_else(|| i.caller.web_account.clone()),
            held_since: i.held_since,
            co_notify: None,
            stored: FormValues::stored(i),
            warning_read: i.warning_read_at.is_some(),
            warned: i.suggestion.as_ref().is_some_and(|s| s.nuisance_warning.is_some()),
            pin: None,
            at: i.location.point(),
        }
    }

    /// Takes in a newer version of the call (a colleague's edit, a lead's
    /// new priority, this operator's own save): each field the operator
    /// has not touched follows the service, each one they have keeps their
    /// text, so neither side's change is lost. An older version (a late
    /// event) changes nothing.
    pub fn rebase(&mut self, after: &Incident) {
        if after.version < self.version {
            return;
        }
        let new = FormValues::stored(after);
        macro_rules! follow {
            ($($f:ident: $same:expr),+) => {$(
                // Untouched, or what the service stored from the operator's
                // own text once cleaned (trimmed, a number reformatted).
                if self.$f == self.stored.$f || $same(&self.$f, &new.$f) {
                    self.$f = new.$f.clone();
                }
            )+};
        }
        follow!(
            phone: same_phone,
            name: same_text,
            callback: same_phone,
            location: same_text,
            narrative: same_text,
            category: PartialEq::eq,
            agency: PartialEq::eq,
            priority: PartialEq::eq
        );
        self.stored = new;
        self.version = after.version;
        self.jurisdiction = after.location.jurisdiction.clone();
        self.warning_read = after.warning_read_at.is_some();
        self.warned = after.suggestion.as_ref().is_some_and(|s| s.nuisance_warning.is_some());
        self.at = after.location.point();
        if self.pin.is_some() && self.pin == self.at {
            self.pin = None;
        }
    }

    /// The form as the operator sees it, the codes prefilled from
    /// `codes_from` where the operator chose none.
    pub fn shown(&self, codes_from: Option<&Suggestion>) -> FormValues {
        FormValues {
            phone: self.phone.clone(),
            name: self.name.clone(),
            callback: self.callback.clone(),
            location: self.location.clone(),
            narrative: self.narrative.clone(),
            category: self.category.or(codes_from.map(|s| s.category)),
            agency: self.agency.or(codes_from.map(|s| s.agency)),
            priority: self.priority.or(codes_from.map(|s| s.priority)),
        }
    }

    /// The edit to save before an action on a stored call: only the fields
    /// the operator changed (`None` when there are none), checked as Save
    /// checks them. `codes_from` is the suggestion the form prefills the
    /// codes with: passed for a dispatch, so the unit goes out on the
    /// category the operator saw (and the call-quality review counts it as
    /// theirs); not for a close or a referral, whose own rule sets it.
    pub fn unsaved(&self, codes_from: Option<&Suggestion>) -> Result<Option<IncidentPatch>, crate::model::DomainError> {
        if self.incident_id.is_none() {
            return Ok(None);
        }
        let (shown, stored) = (self.shown(codes_from), &self.stored);
        let changed = |a: &String, b: &String, same: fn(&str, &str) -> bool| (!same(a, b)).then(|| a.clone());
        fn code<T: PartialEq + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
            a.filter(|a| Some(*a) != b)
        }
        let patch = IncidentPatch {
            version: self.version,
            phone: changed(&shown.phone, &stored.phone, same_phone),
            caller_name: changed(&shown.name, &stored.name, same_text),
            callback_number: changed(&shown.callback, &stored.callback, same_phone),
            location: changed(&shown.location, &stored.location, same_text),
            lat: self.pin.map(|p| p.lat),
            lon: self.pin.map(|p| p.lon),
            narrative: changed(&shown.narrative, &stored.narrative, same_text),
            category: code(shown.category, stored.category),
            agency: code(shown.agency, stored.agency),
            priority: code(shown.priority, stored.priority),
        };
        let untouched = [
            &patch.phone,
            &patch.caller_name,
            &patch.callback_number,
            &patch.location,
            &patch.narrative,
        ]
        .iter()
        .all(|f| f.is_none())
            && self.pin.is_none()
            && patch.category.is_none()
            && patch.agency.is_none()
            && patch.priority.is_none();
        if untouched {
            return Ok(None);
        }
        patch.clone().parse()?;
        Ok(Some(patch))
    }

    fn opt(s: &str) -> Option<String> {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    /// The intake for a new call; the same validation as the service runs
    /// before anything is sent, so the operator sees mistakes at once.
    pub fn to_intake(&self, suggestion: Option<&Suggestion>) -> Result<IntakeRequest, crate::model::DomainError> {
        let req = IntakeRequest {
            channel: self.channel.unwrap_or(Channel::Voice),
            phone: Self::opt(&self.phone),
            caller_name: Self::opt(&self.name),
            wechat_id: None,
            web_account: None,
            callback_number: Self::opt(&self.callback),
            location: Self::opt(&self.location),
            lat: self.pin.map(|p| p.lat),
            lon: self.pin.map(|p| p.lon),
            narrative: self.narrative.clone(),
            received_at: self.opened_at,
            disconnect: None,
            category: self.category.or(suggestion.map(|s| s.category)),
            agency: self.agency.or(suggestion.map(|s| s.agency)),
            priority: self.priority.or(suggestion.map(|s| s.priority)),
        };
        req.clone().parse(chrono::Utc::now())?;
        Ok(req)
    }

    pub fn to_patch(&self, suggestion: Option<&Suggestion>) -> Result<IncidentPatch, crate::model::DomainError> {
        let patch = IncidentPatch {
            version: self.version,
            phone: Some(self.phone.clone()),
            caller_name: Some(self.name.clone()),
            callback_number: Some(self.callback.clone()),
            location: Some(self.location.clone()),
            lat: self.pin.map(|p| p.lat),
            lon: self.pin.map(|p| p.lon),
            narrative: Some(self.narrative.clone()),
            category: self.category.or(suggestion.map(|s| s.category)),
            agency: self.agency.or(suggestion.map(|s| s.agency)),
            priority: self.priority.or(suggestion.map(|s| s.priority)),
        };
        patch.clone().parse()?;
        Ok(patch)
    }
}

/// A short message shown in place after an action.
#[derive(Debug, Clone)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    pub at: Instant,
}

/// A destructive action (close as invalid, merge) waiting for Enter.
#[derive(Debug, Clone)]
pub struct Confirm {
    /// The question's translation key.
    pub question: super::i18n::Key,
    pub command: Command,
    pub draft: Draft,
}

/// A confirmed destructive action not sent yet: until `due` the operator can
/// take it back and the call returns to the form as it was. Nothing reaches
/// the service before then, so a console that dies in the window leaves the
/// call open and held by its operator, never wrongly closed.
#[derive(Debug, Clone)]
pub struct Pending {
    pub command: Command,
    pub draft: Draft,
    pub due: Instant,
    /// What happens when it is sent (translation key), for the undo bar.
    pub done: super::i18n::Key,
}

/// How long a confirmed close or merge can be undone.
pub const UNDO_WINDOW: std::time::Duration = std::time::Duration::from_secs(8);

/// Which screen a shift lead is looking at (call takers have only the desk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    Desk,
    Lead,
}

/// The live queue as this console shows it.
pub struct QueueView {
    /// Open calls by id, as queue rows; `order` is the display order,
    /// rebuilt when dirty.
    pub calls: BTreeMap<IncidentId, QueueEntry>,
    pub order: Vec<IncidentId>,
    pub order_dirty: bool,
    /// The rows as last drawn, top to bottom.
    pub shown: Vec<IncidentId>,
    /// While the pointer is over the queue its rows stand still (a click
    /// must land on the call that was under the pointer): the order frozen
    /// then, and the rows that left the queue since, drawn greyed.
    pub frozen: Option<Vec<IncidentId>>,
    pub departed: BTreeMap<IncidentId, QueueEntry>,
    /// When the pointer last moved (or pressed) over the queue.
    pub pointer_busy_at: Option<Instant>,
    pub filter_channel: Option<Channel>,
    pub filter_status: Option<crate::model::Status>,
    pub filter_category: Option<Category>,
}

impl Default for QueueView {
    fn default() -> Self {
        QueueView {
            calls: BTreeMap::new(),
            order: Vec::new(),
            order_dirty: true,
            shown: Vec::new(),
            frozen: None,
            departed: BTreeMap::new(),
            pointer_busy_at: None,
            filter_channel: None,
            filter_status: None,
            filter_category: None,
        }
    }
}

/// The call on the operator's form and everything said about it.
pub struct Desk {
    pub draft: Option<Draft>,
    pub suggestion: Option<Suggestion>,
    /// The narrative the suggestion was computed for.
    pub suggested_for: String,
    pub history: Option<CallerHistory>,
    pub recommendation: Option<Recommendation>,
    pub duplicates: Vec<DuplicateCandidate>,
    /// Lines added to the call on the form, oldest first, and the one being typed.
    pub supplements: Vec<crate::model::Supplement>,
    pub supplement_text: String,
    pub last_referral: Option<Referral>,
    /// A close or merge asking to be confirmed, and a confirmed one waiting
    /// out its undo window.
    pub confirm: Option<Confirm>,
    pub pending: Option<Pending>,
    /// [`UNDO_WINDOW`], shorter in tests.
    pub undo_window: std::time::Duration,
    /// Set by F1: the phone field takes the cursor on the next frame.
    pub focus_phone: bool,
    /// Calls this operator dispatched: the units on them are theirs to move on.
    pub dispatched_by_me: std::collections::HashSet<IncidentId>,
    /// The board lists every unit of the province, not only those out and
    /// those offered for the open call.
    pub all_units: bool,
    /// Place names completing the location line are offered (set as the
    /// operator types there, cleared on a choice, Esc or leaving the field).
    pub place_open: bool,
    /// The highlighted place name (arrow keys).
    pub place_pick: usize,
    /// The location field's id, to read its keys before it draws.
    pub location_field: Option<egui::Id>,
}

impl Default for Desk {
    fn default() -> Self {
        Desk {
            draft: None,
            suggestion: None,
            suggested_for: String::new(),
            history: None,
            recommendation: None,
            duplicates: Vec::new(),
            supplements: Vec::new(),
            supplement_text: String::new(),
            last_referral: None,
            confirm: None,
            pending: None,
            undo_window: UNDO_WINDOW,
            focus_phone: false,
            dispatched_by_me: Default::default(),
            all_units: false,
            place_open: false,
            place_pick: 0,
            location_field: None,
        }
    }
}

/// An agency account's referral inbox, and its feedback drafts.
#[derive(Default)]
pub struct Inbox {
    pub referrals: Vec<Referral>,
    pub feedback: std::collections::HashMap<crate::model::ReferralId, String>,
    /// A return being written: its reason and note.
    pub returning: std::collections::HashMap<crate::model::ReferralId, (crate::model::ReturnReason, String)>,
}

/// Follow-ups (回访) to make by phone, and for a lead the rectifications
/// they opened.
#[derive(Default)]
pub struct Followups {
    pub tasks: Vec<crate::model::Followup>,
    /// A dissatisfied caller's reason being typed, per follow-up.
    pub reason: std::collections::HashMap<i64, String>,
    pub asked: Option<std::time::Instant>,
    pub rectifications: Vec<crate::model::Rectification>,
    /// What was done, being typed, per rectification.
    pub note: std::collections::HashMap<i64, String>,
    pub rectifications_asked: Option<std::time::Instant>,
}

/// The link to the service, and the calls waiting to cross it.
pub struct Connection {
    pub status: Conn,
    pub outbox_pending: usize,
}

/// The outcome of the operator's last action, and the screen (language,
/// view, lead tab) it was given on: a notice does not follow the operator
/// to another screen.
#[derive(Default)]
pub struct NoticeLine {
    pub current: Option<Notice>,
    pub screen: Option<(crate::console::i18n::Lang, View, crate::console::lead::LeadTab)>,
}

/// Everything the console shows now; rebuilt from the service at start.
pub struct ConsoleState {
    pub me: User,
    pub demo: bool,
    pub prefs: Prefs,
    pub connection: Connection,
    pub notice: NoticeLine,
    pub view: View,
    pub queue: QueueView,
    pub desk: Desk,
    pub units: Vec<Unit>,
    pub inbox: Inbox,
    pub followups: Followups,
    pub lead: super::lead::LeadState,
    /// The map's view, shared by the desk and the lead's map.
    pub map: super::map::MapView,
    /// The session ended; the launcher returns to the sign-in screen.
    pub signed_out: bool,
}

impl ConsoleState {
    pub fn new(me: User, demo: bool, prefs: Prefs) -> Self {
        ConsoleState {
            me,
            demo,
            prefs,
            connection: Connection {
                status: Conn::Connecting,
                outbox_pending: 0,
            },
            notice: NoticeLine::default(),
            view: View::Desk,
            queue: QueueView::default(),
            desk: Desk::default(),
            units: Vec::new(),
            inbox: Inbox::default(),
            followups: Followups::default(),
            lead: Default::default(),
            map: Default::default(),
            signed_out: false,
        }
    }

    pub fn lang(&self) -> Lang {
        self.prefs.lang
    }

    /// Puts an incident where it belongs: in the queue while open, else out.
    pub fn upsert(&mut self, inc: &Incident) {
        self.upsert_entry(QueueEntry::from(inc));
    }

    pub fn upsert_entry(&mut self, entry: QueueEntry) {
        if entry.status.is_queued() {
            self.queue.departed.remove(&entry.id);
            self.queue.calls.insert(entry.id, entry);
        } else if let Some(gone) = self.queue.calls.remove(&entry.id)
            && self.queue.frozen.as_ref().is_some_and(|f| f.contains(&gone.id))
        {
            self.queue.departed.insert(gone.id, entry);
        }
        self.queue.order_dirty = true;
    }

    /// Priority first, then the longest wait.
    pub fn sorted_ids(&mut self) -> &[IncidentId] {
        if self.queue.order_dirty {
            let mut ids: Vec<&QueueEntry> = self.queue.calls.values().collect();
            ids.sort_by_key(|i| i.display_order());
            self.queue.order = ids.into_iter().map(|i| i.id).collect();
            self.queue.order_dirty = false;
        }
        &self.queue.order
    }

    /// Puts a call on the form (or none) and forgets what belonged to the
    /// previous one; the suggestion is recomputed from the new narrative.
    pub fn set_call(&mut self, draft: Option<Draft>) {
        // A work-order number stays readable after the referral (the form
        // moves on to no call) but never under another call's form, where
        // an operator could read the wrong number to a caller.
        if let Some(d) = &draft
            && self
                .desk
                .last_referral
                .as_ref()
                .is_some_and(|r| Some(r.incident_id) != d.incident_id)
        {
            self.desk.last_referral = None;
        }
        self.desk.draft = draft;
        // A question about the previous call must not be answered for this one.
        self.desk.confirm = None;
        self.desk.suggestion = None;
        self.desk.suggested_for.clear();
        self.desk.history = None;
        self.desk.recommendation = None;
        self.desk.duplicates.clear();
        self.desk.supplements.clear();
        self.desk.supplement_text.clear();
    }

    pub fn notice(&mut self, text: impl Into<String>, error: bool) {
        self.notice.current = Some(Notice {
            text: text.into(),
            error,
            at: Instant::now(),
        });
    }

    /// Re-runs triage when the narrative changed since the last run.
    pub fn retriage(&mut self) {
        let Some(d) = &self.desk.draft else { return };
        if d.narrative == self.desk.suggested_for {
            return;
        }
        self.desk.suggested_for = d.narrative.clone();
        self.desk.suggestion = (!d.narrative.trim().is_empty()).then(|| {
            let history = self.desk.history.as_ref().map(|h| crate::triage::HistoryStats {
                total_calls: h.total_calls,
                invalid_last_30d: h.invalid_last_30d,
                flagged: !h.flags.is_empty(),
            });
            crate::triage::triage(&crate::triage::TriageInput {
                channel: d.channel.unwrap_or(Channel::Voice),
                text: &d.narrative,
                history,
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IntakeRequest, UserRef};

    fn stored(narrative: &str, location: &str) -> Incident {
        let req: IntakeRequest = serde_json::from_value(serde_json::json!({
            "channel": "voice", "phone": "13804310001", "narrative": narrative, "location": location
        }))
        .expect("request");
        let now = chrono::Utc::now();
        let mut new = req.parse(now).expect("valid");
        new.suggestion = Some(crate::triage::triage(&crate::triage::TriageInput {
            channel: Channel::Voice,
            text: "有人打架",
            history: None,
        }));
        let mut i = Incident::taken_in(
            &new,
            Some(UserRef {
                id: 1,
                name: "ct".into(),
            }),
            now,
        );
        i.id = 9;
        i
    }

    #[test]
    fn only_what_the_operator_changed_goes_with_an_action() {
        let inc = stored("有人打架", "红旗街");
        let mut d = Draft::from_incident(&inc);
        let s = inc.suggestion.clone();
        assert!(d.unsaved(None).expect("valid").is_none(), "untouched");
        // A dispatch confirms the codes the form prefilled; a close does not.
        let codes = d.unsaved(s.as_ref()).expect("valid").expect("the codes");
        assert_eq!(
            (codes.category, codes.narrative),
            (s.as_ref().map(|s| s.category), None)
        );
        d.location = "红旗街万达广场北门 ".into();
        let p = d.unsaved(None).expect("valid").expect("the place");
        assert_eq!(
            (p.location.as_deref(), p.narrative, p.category),
            (Some("红旗街万达广场北门 "), None, None)
        );
    }

    #[test]
    fn a_hang_up_with_no_narrative_can_still_be_acted_on() {
        let mut inc = stored("有人打架", "");
        inc.narrative = String::new();
        let mut d = Draft::from_incident(&inc);
        assert!(d.unsaved(None).expect("nothing to check").is_none());
        d.location = "长春站".into();
        let p = d.unsaved(None).expect("a place alone is a valid edit").expect("patch");
        assert_eq!(p.narrative, None);
    }

    #[test]
    fn a_newer_version_fills_untouched_fields_and_keeps_the_operators() {
        let inc = stored("有人打架", "红旗街");
        let mut d = Draft::from_incident(&inc);
        d.narrative = "有人打架，有人流血".into();
        d.location = " 红旗街 8号 ".into();
        // The operator's own save comes back cleaned (trimmed), with a
        // colleague's priority.
        let mut after = inc.clone();
        after.version = inc.version + 1;
        after.location.text = "红旗街 8号".into();
        after.priority = Some(crate::model::Priority::P1);
        d.rebase(&after);
        assert_eq!(d.location, "红旗街 8号", "the cleaned text is the operator's");
        assert_eq!(d.priority, Some(crate::model::Priority::P1), "untouched: follows");
        assert_eq!(d.narrative, "有人打架，有人流血", "touched: kept");
        assert_eq!(d.unsaved(None).expect("valid").and_then(|p| p.location), None);
        // A late event about an older version changes nothing.
        let mut old = inc.clone();
        old.location.text = "别处".into();
        d.rebase(&old);
        assert_eq!(d.location, "红旗街 8号");
        assert_eq!(d.version, after.version);
    }
}
