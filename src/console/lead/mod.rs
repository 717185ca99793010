//! The shift lead's view: alerts, queue oversight with overrides, shift
//! statistics with charts, open referrals, follow-ups and rectifications,
//! nuisance callers with dossiers,
//! and the audit log. `*_ui` functions over [`LeadState`] that push
//! [`Command`]s; none of them does I/O.

use crate::k;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use egui::{Color32, RichText, Ui};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints, Points};

use crate::console::command::{Command, ExportJob, Then};
use crate::console::i18n::{Key, Lang, code_name};
use crate::console::state::ConsoleState;
use crate::console::widgets::{
    AMBER, GREEN, RED, due, due_every, first_words, priority_badge, priority_color, referral_deadline_ui, wait_label,
    wait_text,
};
use crate::model::stats::{Alerts, NuisanceCaller, ShiftStats, Timing, current_shift, local_time};
use crate::model::{
    AuditFilter, CallerFlagKind, CallerHistory, Category, Channel, Event, IncidentId, Priority, ReferralStatus, Role,
    User, UserId,
};

mod audit;
mod followups;
mod map;
mod nuisance;
mod oversight;
mod qa;
mod referrals;
mod stats;

pub use audit::*;
pub use followups::*;
pub use map::*;
pub use nuisance::*;
pub use oversight::*;
pub use qa::*;
pub use referrals::*;
pub use stats::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeadTab {
    #[default]
    Oversight,
    Stats,
    Referrals,
    Followups,
    Qa,
    Nuisance,
    Audit,
    Map,
}

impl LeadTab {
    const ALL: [(LeadTab, Key); 8] = [
        (LeadTab::Oversight, k!("tab_oversight")),
        (LeadTab::Stats, k!("tab_stats")),
        (LeadTab::Referrals, k!("tab_referrals")),
        (LeadTab::Followups, k!("tab_followups")),
        (LeadTab::Qa, k!("tab_qa")),
        (LeadTab::Nuisance, k!("tab_nuisance")),
        (LeadTab::Audit, k!("tab_audit")),
        (LeadTab::Map, k!("tab_map")),
    ];
}

/// The time ranges a lead picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RangePreset {
    #[default]
    CurrentShift,
    PreviousShift,
    Last24h,
    Last7d,
    Last30d,
    LastYear,
}

impl RangePreset {
    const ALL: [(RangePreset, Key); 6] = [
        (RangePreset::CurrentShift, k!("range_shift")),
        (RangePreset::PreviousShift, k!("range_prev")),
        (RangePreset::Last24h, k!("range_24h")),
        (RangePreset::Last7d, k!("range_7d")),
        (RangePreset::Last30d, k!("range_30d")),
        (RangePreset::LastYear, k!("range_year")),
    ];

    pub fn bounds(self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let (start, end) = current_shift(now);
        match self {
            RangePreset::CurrentShift => (start, end),
            RangePreset::PreviousShift => (start - Duration::hours(12), start),
            RangePreset::Last24h => (now - Duration::hours(24), now),
            RangePreset::Last7d => (now - Duration::days(7), now),
            RangePreset::Last30d => (now - Duration::days(30), now),
            RangePreset::LastYear => (now - Duration::days(365), now),
        }
    }

    fn key(self) -> Key {
        Self::ALL
            .iter()
            .find(|(r, _)| *r == self)
            .map_or(k!("range"), |(_, k)| *k)
    }
}

/// A lead's override being filled in: whom to, or which priority, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub incident_id: IncidentId,
    pub kind: OverrideKind,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OverrideKind {
    Reassign(Option<UserId>),
    Priority(Priority),
    /// Free a call another operator holds.
    Release,
}

/// Everything the lead view shows; plain data, filled by [`super::command::Msg`]s.
#[derive(Debug)]
pub struct LeadState {
    pub tab: LeadTab,
    /// The range of the statistics and the audit log.
    pub range: RangePreset,
    /// Nuisance callers are a pattern over weeks, not one shift.
    pub nuisance_range: RangePreset,
    pub stats: Option<ShiftStats>,
    pub alerts: Alerts,
    pub users: Vec<User>,
    /// Accounts signed in now, re-read with the alerts.
    pub signed_in: Vec<crate::model::UserId>,
    pub editing: Option<Override>,
    pub nuisance: Vec<NuisanceCaller>,
    /// The number whose history and flags are open on the nuisance tab.
    pub selected: Option<String>,
    pub history: Option<CallerHistory>,
    /// The selected number's dossier, read inside the console.
    pub dossier: Option<crate::model::stats::Dossier>,
    pub flag_kind: Option<CallerFlagKind>,
    pub flag_note: String,
    pub audit: Vec<Event>,
    pub audit_actor: Option<UserId>,
    pub audit_incident: String,
    pub audit_kind: String,
    /// When each tab's data was last asked for; `None` forces a load.
    /// The call-quality review of the range, once loaded.
    pub qa: Option<Vec<crate::model::QaCall>>,
    pub qa_asked: Option<Instant>,
    /// Hand reviews being written: score and coaching note, per call.
    pub qa_draft: std::collections::HashMap<crate::model::IncidentId, (i64, String)>,
    /// Notes and re-route targets typed for returned referrals.
    pub review_note: std::collections::HashMap<crate::model::ReferralId, String>,
    pub review_agency: std::collections::HashMap<crate::model::ReferralId, crate::model::Agency>,
    /// The parties of a three-way call being typed, per referral.
    pub three_way: std::collections::HashMap<crate::model::ReferralId, String>,
    pub stats_asked: Option<Instant>,
    pub referrals_asked: Option<Instant>,
    pub nuisance_asked: Option<Instant>,
    pub audit_asked: Option<Instant>,
    /// Open calls and the last 24 hours' for the map.
    pub map: Vec<crate::model::MapIncident>,
    pub map_asked: Option<Instant>,
    /// The call clicked on the map.
    pub map_selected: Option<crate::model::IncidentId>,
    /// The lead's own view of the map (the desk's has its own zoom).
    pub map_view: crate::console::map::MapView,
}

impl Default for LeadState {
    fn default() -> Self {
        LeadState {
            tab: LeadTab::default(),
            range: RangePreset::CurrentShift,
            nuisance_range: RangePreset::Last30d,
            stats: None,
            alerts: Alerts::default(),
            users: Vec::new(),
            signed_in: Vec::new(),
            editing: None,
            nuisance: Vec::new(),
            selected: None,
            history: None,
            dossier: None,
            flag_kind: None,
            flag_note: String::new(),
            audit: Vec::new(),
            audit_actor: None,
            audit_incident: String::new(),
            audit_kind: String::new(),
            qa: None,
            qa_asked: None,
            qa_draft: Default::default(),
            review_note: Default::default(),
            review_agency: Default::default(),
            three_way: Default::default(),
            stats_asked: None,
            referrals_asked: None,
            nuisance_asked: None,
            audit_asked: None,
            map: Vec::new(),
            map_asked: None,
            map_selected: None,
            map_view: Default::default(),
        }
    }
}

impl LeadState {
    /// Forgets what was loaded, so the shown tab reloads on the next frame.
    pub fn invalidate(&mut self) {
        self.stats_asked = None;
        self.referrals_asked = None;
        self.nuisance_asked = None;
        self.map_asked = None;
    }

    /// Operators a call can go to: staff accounts signed in now (a call
    /// handed to someone away from their desk would sit unanswered).
    fn operators(&self) -> impl Iterator<Item = &User> {
        self.users
            .iter()
            .filter(|u| Role::STAFF.contains(&u.role) && self.signed_in.contains(&u.id))
    }
}

fn secs_text(lang: Lang, s: Option<f64>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s < 60.0 => format!("{s:.0}{}", lang.tr(k!("seconds_unit"))),
        Some(s) => wait_text(s.round() as i64),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The whole lead view below the top bar.
pub fn lead_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.horizontal(|ui| {
        for (tab, key) in LeadTab::ALL {
            ui.selectable_value(&mut state.lead.tab, tab, lang.tr(key));
        }
    });
    // The line is kept even when empty, so a message arriving does not move
    // the buttons below under the lead's pointer.
    if state.notice.current.is_some() {
        super::widgets::notice_ui(ui, state);
    } else {
        ui.label(" ");
    }
    ui.separator();
    match state.lead.tab {
        LeadTab::Oversight => oversight_ui(ui, state, cmds),
        LeadTab::Stats => stats_ui(ui, state, cmds),
        LeadTab::Referrals => referrals_ui(ui, state, cmds),
        LeadTab::Followups => followups_ui(ui, state, cmds),
        LeadTab::Qa => qa_ui(ui, state, cmds),
        LeadTab::Nuisance => nuisance_ui(ui, state, cmds),
        LeadTab::Audit => audit_ui(ui, state, cmds),
        LeadTab::Map => lead_map_ui(ui, state, cmds),
    }
}

/// Asks for the range's statistics when what is shown is stale: after 30 s,
/// or ten minutes for a year, which takes the database seconds to read and
/// hardly moves in half a minute (刷新 asks at once).
fn load_stats_when_stale(state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let stale = match state.lead.range {
        RangePreset::LastYear => std::time::Duration::from_secs(600),
        _ => std::time::Duration::from_secs(30),
    };
    if due_every(&mut state.lead.stats_asked, stale) {
        let (from, to) = state.lead.range.bounds(Utc::now());
        cmds.push(Command::LoadStats { from, to });
    }
}

fn range_ui(ui: &mut Ui, lang: Lang, range: &mut RangePreset) -> bool {
    let before = *range;
    egui::ComboBox::new("lead_range", lang.tr(k!("range")))
        .selected_text(lang.tr(range.key()))
        .show_ui(ui, |ui| {
            for (r, key) in RangePreset::ALL {
                ui.selectable_value(range, r, lang.tr(key));
            }
        });
    *range != before
}
