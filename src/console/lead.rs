//! The shift lead's view: alerts, queue oversight with overrides, shift
//! statistics with charts, open referrals, nuisance callers with dossiers,
//! and the audit log. `*_ui` functions over [`LeadState`] that push
//! [`Command`]s; none of them does I/O.

use crate::k;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use egui::{Color32, RichText, Ui};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints, Points};

use super::command::{Command, ExportJob, Then};
use super::i18n::{Key, Lang, code_name};
use super::state::ConsoleState;
use super::widgets::{AMBER, GREEN, RED, first_words, priority_badge, priority_color, wait_label, wait_text};
use crate::model::stats::{Alerts, NuisanceCaller, ShiftStats, Timing, current_shift, local_time};
use crate::model::{
    AuditFilter, CallerFlagKind, CallerHistory, Category, Channel, Event, IncidentId, Priority, ReferralStatus, Role,
    User, UserId,
};

/// Data on a tab is re-read when it is older than this while the tab is shown.
const STALE: StdDuration = StdDuration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeadTab {
    #[default]
    Oversight,
    Stats,
    Referrals,
    Nuisance,
    Audit,
}

impl LeadTab {
    const ALL: [(LeadTab, Key); 5] = [
        (LeadTab::Oversight, k!("tab_oversight")),
        (LeadTab::Stats, k!("tab_stats")),
        (LeadTab::Referrals, k!("tab_referrals")),
        (LeadTab::Nuisance, k!("tab_nuisance")),
        (LeadTab::Audit, k!("tab_audit")),
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
}

impl RangePreset {
    const ALL: [(RangePreset, Key); 5] = [
        (RangePreset::CurrentShift, k!("range_shift")),
        (RangePreset::PreviousShift, k!("range_prev")),
        (RangePreset::Last24h, k!("range_24h")),
        (RangePreset::Last7d, k!("range_7d")),
        (RangePreset::Last30d, k!("range_30d")),
    ];

    pub fn bounds(self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let (start, end) = current_shift(now);
        match self {
            RangePreset::CurrentShift => (start, end),
            RangePreset::PreviousShift => (start - Duration::hours(12), start),
            RangePreset::Last24h => (now - Duration::hours(24), now),
            RangePreset::Last7d => (now - Duration::days(7), now),
            RangePreset::Last30d => (now - Duration::days(30), now),
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
    pub stats_asked: Option<Instant>,
    pub referrals_asked: Option<Instant>,
    pub nuisance_asked: Option<Instant>,
    pub audit_asked: Option<Instant>,
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
            stats_asked: None,
            referrals_asked: None,
            nuisance_asked: None,
            audit_asked: None,
        }
    }
}

impl LeadState {
    /// Forgets what was loaded, so the shown tab reloads on the next frame.
    pub fn invalidate(&mut self) {
        self.stats_asked = None;
        self.referrals_asked = None;
        self.nuisance_asked = None;
    }

    /// Operators a call can go to: staff accounts signed in now (a call
    /// handed to someone away from their desk would sit unanswered).
    fn operators(&self) -> impl Iterator<Item = &User> {
        self.users
            .iter()
            .filter(|u| Role::STAFF.contains(&u.role) && self.signed_in.contains(&u.id))
    }
}

/// True when `asked` is unset or older than [`STALE`]; marks it asked.
fn due(asked: &mut Option<Instant>) -> bool {
    if asked.is_some_and(|t| t.elapsed() < STALE) {
        return false;
    }
    *asked = Some(Instant::now());
    true
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
    if state.notice.is_some() {
        super::widgets::notice_ui(ui, state);
    } else {
        ui.label(" ");
    }
    ui.separator();
    match state.lead.tab {
        LeadTab::Oversight => oversight_ui(ui, state, cmds),
        LeadTab::Stats => stats_ui(ui, state, cmds),
        LeadTab::Referrals => referrals_ui(ui, state, cmds),
        LeadTab::Nuisance => nuisance_ui(ui, state, cmds),
        LeadTab::Audit => audit_ui(ui, state, cmds),
    }
}

/// Harassment waves, long waits and stale holds, in red until they clear.
/// Drawn in a side panel of its own, so alerts coming and going never move
/// the buttons the lead is about to click.
pub fn alerts_ui(ui: &mut Ui, state: &ConsoleState) {
    let lang = state.lang();
    let a = &state.lead.alerts;
    ui.strong(lang.tr(k!("alerts")));
    if a.is_empty() {
        ui.label(RichText::new(lang.tr(k!("no_alerts"))).color(GREEN));
        return;
    }
    let now = Utc::now();
    let alert = |ui: &mut Ui, text: String| {
        egui::Frame::new()
            .fill(Color32::from_rgb(0x5a, 0x14, 0x10))
            .inner_margin(4.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new(text).strong().color(Color32::WHITE));
            });
    };
    let window = crate::model::stats::AlertQuery::default().wave_mins;
    egui::ScrollArea::vertical().id_salt("alerts").show(ui, |ui| {
        for w in &a.waves {
            alert(
                ui,
                format!(
                    "{} {}: {} {} / {window} {}",
                    lang.tr(k!("alert_wave")),
                    w.phone,
                    w.calls,
                    lang.tr(k!("times")),
                    lang.tr(k!("minutes"))
                ),
            );
        }
        for h in &a.stale_holds {
            alert(
                ui,
                format!(
                    "{} #{} {} {}",
                    lang.tr(k!("alert_hold")),
                    h.incident_id,
                    h.holder.name,
                    wait_text((now - h.held_since).num_seconds().max(0))
                ),
            );
        }
        if let Some(oldest) = a.long_waits.iter().map(|w| w.received_at).min() {
            alert(
                ui,
                format!(
                    "{} ({}), {} {}",
                    lang.tr(k!("alert_wait")),
                    a.long_waits.len(),
                    lang.tr(k!("oldest_wait")),
                    wait_text((now - oldest).num_seconds().max(0)),
                ),
            );
            ui.horizontal_wrapped(|ui| {
                for w in &a.long_waits {
                    ui.label(RichText::new(format!("#{}", w.incident_id)).color(priority_color(w.priority)));
                }
            });
        }
    });
}

/// Every open call with its holder and how long they have held it, with the
/// lead's overrides.
pub fn oversight_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    override_form_ui(ui, state, cmds);
    let now = Utc::now();
    let ids = state.sorted_ids().to_vec();
    let (amber, red) = (state.prefs.amber_secs, state.prefs.red_secs);
    let on_shift: Vec<&str> = state.lead.operators().map(|u| u.name.as_str()).collect();
    ui.label(format!(
        "{}: {}",
        lang.tr(k!("on_shift")),
        if on_shift.is_empty() {
            "—".to_owned()
        } else {
            on_shift.join("、")
        }
    ));
    egui::ScrollArea::vertical().id_salt("oversight").show(ui, |ui| {
        egui::Grid::new("oversight_grid").striped(true).show(ui, |ui| {
            for key in [
                k!("id"),
                k!("priority"),
                k!("wait"),
                k!("summary"),
                k!("held_by"),
                k!("held_for"),
                k!("action"),
            ] {
                ui.strong(lang.tr(key));
            }
            ui.end_row();
            for id in ids {
                let Some(inc) = state.queue.get(&id) else { continue };
                let p = inc.priority;
                ui.label(format!("#{id}"));
                priority_badge(ui, p);
                wait_label(ui, (now - inc.received_at).num_seconds().max(0), amber, red);
                ui.label(first_words(lang, inc, 16));
                match (&inc.holder, inc.held_since) {
                    (Some(h), since) => {
                        ui.label(&h.name);
                        ui.label(since.map_or("-".into(), |s| wait_text((now - s).num_seconds().max(0))));
                    }
                    (None, _) => {
                        ui.label(RichText::new(lang.tr(k!("not_taken"))).weak());
                        ui.label("-");
                    }
                }
                ui.horizontal(|ui| {
                    if ui.button(format!("{} #{id}", lang.tr(k!("reassign")))).clicked() {
                        state.lead.editing = Some(Override {
                            incident_id: id,
                            kind: OverrideKind::Reassign(None),
                            reason: String::new(),
                        });
                    }
                    if ui.button(format!("{} #{id}", lang.tr(k!("set_priority")))).clicked() {
                        state.lead.editing = Some(Override {
                            incident_id: id,
                            kind: OverrideKind::Priority(p),
                            reason: String::new(),
                        });
                    }
                    if inc.holder.is_some() && ui.button(format!("{} #{id}", lang.tr(k!("free_call")))).clicked() {
                        state.lead.editing = Some(Override {
                            incident_id: id,
                            kind: OverrideKind::Release,
                            reason: String::new(),
                        });
                    }
                });
                ui.end_row();
            }
        });
    });
}

fn override_form_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let operators: Vec<(UserId, String)> = state.lead.operators().map(|u| (u.id, u.name.clone())).collect();
    let Some(edit) = &mut state.lead.editing else { return };
    let mut done = false;
    let mut problem = None;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal(|ui| {
            match &mut edit.kind {
                OverrideKind::Reassign(to) => {
                    let chosen = to
                        .and_then(|id| operators.iter().find(|(u, _)| *u == id))
                        .map_or(lang.tr(k!("choose")).to_owned(), |(_, n)| n.clone());
                    egui::ComboBox::new(
                        "reassign_to",
                        format!("{} #{}", lang.tr(k!("to_operator")), edit.incident_id),
                    )
                    .selected_text(chosen)
                    .show_ui(ui, |ui| {
                        for (id, name) in &operators {
                            ui.selectable_value(to, Some(*id), name);
                        }
                    });
                }
                OverrideKind::Release => {
                    ui.label(format!("{} #{}", lang.tr(k!("free_call")), edit.incident_id));
                }
                OverrideKind::Priority(p) => {
                    egui::ComboBox::new(
                        "set_priority",
                        format!("{} #{}", lang.tr(k!("set_priority")), edit.incident_id),
                    )
                    .selected_text(code_name(lang, p.as_str()))
                    .show_ui(ui, |ui| {
                        for v in Priority::ALL {
                            ui.selectable_value(p, *v, code_name(lang, v.as_str()));
                        }
                    });
                }
            }
            let l = ui.label(lang.tr(k!("reason")));
            ui.add(
                egui::TextEdit::singleline(&mut edit.reason)
                    .id_salt("override_reason")
                    .desired_width(260.0),
            )
            .labelled_by(l.id);
            if ui.button(lang.tr(k!("confirm"))).clicked() {
                let reason = edit.reason.trim().to_owned();
                match edit.kind {
                    _ if reason.is_empty() => problem = Some(lang.tr(k!("reason_needed"))),
                    OverrideKind::Reassign(None) => problem = Some(lang.tr(k!("to_operator"))),
                    OverrideKind::Reassign(Some(to)) => {
                        cmds.push(Command::Reassign {
                            id: edit.incident_id,
                            to,
                            reason,
                        });
                        done = true;
                    }
                    OverrideKind::Release => {
                        cmds.push(Command::FreeCall {
                            id: edit.incident_id,
                            reason,
                        });
                        done = true;
                    }
                    OverrideKind::Priority(priority) => {
                        cmds.push(Command::Reprioritise {
                            id: edit.incident_id,
                            priority,
                            reason,
                        });
                        done = true;
                    }
                }
            }
            if ui.button(lang.tr(k!("cancel"))).clicked() {
                done = true;
            }
        });
    });
    if done {
        state.lead.editing = None;
    }
    if let Some(p) = problem {
        state.notice(p, true);
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

fn timing_row(ui: &mut Ui, lang: Lang, key: Key, t: &Timing) {
    ui.label(lang.tr(key));
    ui.label(format!("{} {}", lang.tr(k!("median")), secs_text(lang, t.p50_secs)));
    ui.label(format!("{} {}", lang.tr(k!("p90")), secs_text(lang, t.p90_secs)));
    match (t.threshold_secs, t.share_within()) {
        (Some(th), Some(share)) => ui.label(format!(
            "{} ≤{th}{}: {} ({}/{})",
            lang.tr(k!("within_target")),
            lang.tr(k!("seconds_unit")),
            pct(share),
            t.within,
            t.judged
        )),
        _ => ui.label(format!("{} {}", lang.tr(k!("samples")), t.count)),
    };
    ui.end_row();
}

/// Shift statistics computed by the service, with charts.
pub fn stats_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let (from, to) = state.lead.range.bounds(Utc::now());
    ui.horizontal(|ui| {
        if range_ui(ui, lang, &mut state.lead.range) {
            state.lead.stats_asked = None;
        }
        if ui.button(lang.tr(k!("refresh"))).clicked() {
            state.lead.stats_asked = None;
        }
        if ui.button(lang.tr(k!("export_csv"))).clicked() {
            cmds.push(Command::Export(ExportJob::Incidents { from, to }));
        }
    });
    if due(&mut state.lead.stats_asked) {
        let (from, to) = state.lead.range.bounds(Utc::now());
        cmds.push(Command::LoadStats { from, to });
    }
    let Some(s) = &state.lead.stats else {
        ui.label(lang.tr(k!("loading")));
        return;
    };
    ui.label(
        RichText::new(format!(
            "{} ~ {}",
            local_time(s.from, "%m-%d %H:%M"),
            local_time(s.to, "%m-%d %H:%M")
        ))
        .weak(),
    );
    egui::ScrollArea::vertical().id_salt("stats").show(ui, |ui| {
        let c = &s.classes;
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!("{}: {}", lang.tr(k!("total_calls")), s.total));
            for (key, n) in [
                (k!("police_calls"), c.police),
                (k!("non_police_calls"), c.non_police),
                (k!("invalid_share"), c.invalid),
                (k!("unclassified"), c.unclassified),
            ] {
                ui.label(format!("{}: {} ({})", lang.tr(key), n, pct(c.share(n))));
            }
        });
        ui.horizontal_wrapped(|ui| {
            for ch in Channel::ALL {
                ui.label(format!(
                    "{}: {}",
                    code_name(lang, ch.as_str()),
                    s.by_channel.get(ch).copied().unwrap_or(0)
                ));
            }
            ui.separator();
            ui.label(format!(
                "{}: {} ({} {})",
                lang.tr(k!("queue_depth")),
                s.queue.depth,
                s.queue.unclaimed,
                lang.tr(k!("unclaimed"))
            ));
            ui.label(format!(
                "{}: {}",
                lang.tr(k!("oldest_wait")),
                s.queue.oldest_wait_secs.map_or("-".into(), wait_text)
            ));
        });
        egui::Grid::new("timings").striped(true).show(ui, |ui| {
            timing_row(ui, lang, k!("claim_delay"), &s.claim);
            timing_row(ui, lang, k!("dispatch_delay"), &s.dispatch);
            timing_row(ui, lang, k!("on_scene_delay"), &s.on_scene);
        });
        ui.separator();
        egui::Grid::new("operators").striped(true).show(ui, |ui| {
            for key in [k!("operator"), k!("handled"), k!("avg_handling"), k!("holding")] {
                ui.strong(lang.tr(key));
            }
            ui.end_row();
            for o in &s.operators {
                ui.label(&o.operator.name);
                ui.label(o.handled.to_string());
                ui.label(secs_text(lang, o.avg_handling_secs));
                ui.label(o.holding.to_string());
                ui.end_row();
            }
        });
        ui.separator();
        triage_agreement_ui(ui, lang, s);
        ui.separator();
        charts_ui(ui, lang, s);
    });
}

/// Where operators keep triage's suggestions and where they overrule them:
/// a low share tells the lead which kind of call triage should not be
/// trusted on yet.
fn triage_agreement_ui(ui: &mut Ui, lang: Lang, s: &ShiftStats) {
    ui.strong(lang.tr(k!("triage_agreement")));
    if s.triage_agreement.is_empty() {
        ui.label(RichText::new(lang.tr(k!("no_confirmed_calls"))).weak());
        return;
    }
    let (confirmed, kept) = s
        .triage_agreement
        .iter()
        .fold((0, 0), |(c, k), a| (c + a.confirmed, k + a.kept_category));
    ui.label(format!(
        "{} {kept}/{confirmed} ({:.0}%)",
        lang.tr(k!("kept_overall")),
        100.0 * kept as f64 / confirmed.max(1) as f64
    ));
    egui::Grid::new("triage_agreement").striped(true).show(ui, |ui| {
        for key in [
            k!("suggested_category"),
            k!("confirmed_calls"),
            k!("kept_category"),
            k!("kept_priority"),
        ] {
            ui.strong(lang.tr(key));
        }
        ui.end_row();
        for a in &s.triage_agreement {
            ui.label(code_name(lang, a.suggested.as_str()));
            ui.label(a.confirmed.to_string());
            let share = a.share();
            let color = if share >= 0.9 {
                GREEN
            } else if share >= 0.7 {
                AMBER
            } else {
                RED
            };
            ui.label(RichText::new(format!("{} ({:.0}%)", a.kept_category, share * 100.0)).color(color));
            ui.label(format!(
                "{} ({:.0}%)",
                a.kept_priority,
                100.0 * a.kept_priority as f64 / a.confirmed.max(1) as f64
            ));
            ui.end_row();
        }
    });
}

fn channel_color(c: Channel) -> Color32 {
    match c {
        Channel::Voice => Color32::from_rgb(0x3b, 0x7d, 0xd8),
        Channel::Sms => Color32::from_rgb(0x2e, 0x9d, 0x4f),
        Channel::Wechat => Color32::from_rgb(0x8b, 0xc3, 0x4a),
        Channel::Web => Color32::from_rgb(0xe6, 0x9b, 0x00),
    }
}

/// A chart that stays put: a wall of statistics is read, not explored, and a
/// stray scroll must not zoom it away.
fn still_plot(id: &str, height: f32) -> Plot<'static> {
    Plot::new(id)
        .height(height)
        // Room for three-digit counts from the first frame on.
        .y_axis_min_width(32.0)
        .y_grid_spacer(egui_plot::uniform_grid_spacer(count_steps))
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
}

/// Grid steps for a count axis: a round step (1, 2 or 5 × 10ⁿ) giving about
/// four labelled lines over the visible range, so 91 calls reads against
/// 0 · 25 · 50 · 75 · 100 rather than against a lone "100".
fn count_steps(input: egui_plot::GridInput) -> [f64; 3] {
    let span = (input.bounds.1 - input.bounds.0).abs().max(1.0);
    let step = nice_step(span / 4.0);
    [step, step * 5.0, step * 10.0]
}

/// The smallest 1, 2, 2.5 or 5 × 10ⁿ at least `raw` (and at least 1: counts are whole).
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw - 1e-9)
        .unwrap_or(10.0 * magnitude)
}

/// Axis labels for bars at 0, 1, 2…: the name of each bar at its index.
fn index_labels(names: Vec<String>) -> impl Fn(egui_plot::GridMark, &std::ops::RangeInclusive<f64>) -> String {
    move |m, _| {
        let i = m.value.round();
        if (m.value - i).abs() < 1e-6 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }
}

fn charts_ui(ui: &mut Ui, lang: Lang, s: &ShiftStats) {
    let height = 180.0;
    ui.strong(lang.tr(k!("calls_per_hour")));
    // The axis spans the whole range, hours still to come included, so the
    // shape of the shift so far reads at a glance.
    let span = (s.to - s.from).num_hours().max(1);
    let hour_labels: Vec<String> = (0..span)
        .map(|h| local_time(s.from + Duration::hours(h), "%H:00"))
        .collect();
    let x_range = [-0.5, span as f64 - 0.5];
    still_plot("calls_per_hour", height)
        // Top left: the newest hours are on the right.
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .include_y(0.0)
        .include_x(x_range[0])
        .include_x(x_range[1])
        .x_axis_formatter(index_labels(hour_labels.clone()))
        .show(ui, |plot| {
            let mut below: Vec<BarChart> = Vec::new();
            for ch in Channel::ALL {
                let bars = s
                    .hourly
                    .iter()
                    .enumerate()
                    .map(|(i, b)| Bar::new(i as f64, b.by_channel.get(ch).copied().unwrap_or(0) as f64).width(0.7))
                    .collect();
                let refs: Vec<&BarChart> = below.iter().collect();
                let chart = BarChart::new(code_name(lang, ch.as_str()), bars)
                    .color(channel_color(*ch))
                    .stack_on(&refs);
                below.push(chart);
            }
            for chart in below {
                plot.bar_chart(chart);
            }
        });

    ui.columns(2, |cols| {
        breakdown_ui(
            &mut cols[0],
            lang.tr(k!("by_category")),
            Category::ALL
                .iter()
                .map(|c| {
                    (
                        code_name(lang, c.as_str()).to_owned(),
                        s.by_category.get(c).copied().unwrap_or(0),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
        );
        breakdown_ui(
            &mut cols[1],
            lang.tr(k!("by_agency")),
            s.by_agency
                .iter()
                .map(|(a, n)| (code_name(lang, a.as_str()).to_owned(), *n))
                .collect(),
        );
    });

    ui.strong(lang.tr(k!("depth_over_time")));
    let points: PlotPoints = s
        .hourly
        .iter()
        .enumerate()
        .map(|(i, b)| [i as f64, b.queue_depth as f64])
        .collect();
    let markers: Vec<[f64; 2]> = points.points().iter().map(|p| [p.x, p.y]).collect();
    still_plot("queue_depth", height * 0.8)
        .include_y(0.0)
        .include_x(x_range[0])
        .include_x(x_range[1])
        .x_axis_formatter(index_labels(hour_labels))
        .show(ui, |plot| {
            plot.line(Line::new(lang.tr(k!("queue_depth")), points).color(RED).width(2.0));
            // A single hour is one point, which a line alone would not show.
            plot.points(Points::new(lang.tr(k!("queue_depth")), markers).color(RED).radius(3.0));
        });
}

/// Counts as labelled horizontal bars: names stay readable at any count,
/// which a plot's axis labels are not.
fn breakdown_ui(ui: &mut Ui, title: &str, mut rows: Vec<(String, i64)>) {
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    ui.strong(title);
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f32;
    if rows.is_empty() {
        ui.label(RichText::new("-").weak());
    }
    egui::Grid::new(title).show(ui, |ui| {
        for (name, n) in rows {
            ui.label(name);
            let full = 220.0;
            let (rect, _) = ui.allocate_exact_size(egui::vec2(full, 14.0), egui::Sense::hover());
            let mut bar = rect;
            bar.set_width(full * n as f32 / max);
            ui.painter().rect_filled(bar, 2.0, AMBER);
            ui.label(n.to_string());
            ui.end_row();
        }
    });
}

/// Every referral not closed yet, overdue first, with its age.
pub fn referrals_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    if due(&mut state.lead.referrals_asked) {
        cmds.push(Command::LoadReferrals);
    }
    let now = Utc::now();
    egui::ScrollArea::vertical().id_salt("lead_referrals").show(ui, |ui| {
        egui::Grid::new("referrals_grid").striped(true).show(ui, |ui| {
            for key in [
                k!("referral_number"),
                k!("agency"),
                k!("status"),
                k!("age"),
                k!("incident"),
            ] {
                ui.strong(lang.tr(key));
            }
            ui.end_row();
            for r in state.referrals.iter().filter(|r| r.status != ReferralStatus::Closed) {
                ui.label(&r.number);
                ui.label(code_name(lang, r.agency.as_str()));
                if r.overdue {
                    ui.label(
                        RichText::new(format!(
                            "{} {}",
                            code_name(lang, r.status.as_str()),
                            lang.tr(k!("overdue"))
                        ))
                        .strong()
                        .color(RED),
                    );
                } else {
                    ui.label(code_name(lang, r.status.as_str()));
                }
                ui.label(wait_text((now - r.created_at).num_seconds().max(0)));
                ui.label(format!("#{}", r.incident_id));
                ui.end_row();
            }
        });
    });
}

/// Numbers ranked by invalid calls, flags, and the dossier of one number.
pub fn nuisance_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.horizontal(|ui| {
        if range_ui(ui, lang, &mut state.lead.nuisance_range) {
            state.lead.nuisance_asked = None;
        }
        if ui.button(lang.tr(k!("refresh"))).clicked() {
            state.lead.nuisance_asked = None;
        }
    });
    if due(&mut state.lead.nuisance_asked) {
        let (from, to) = state.lead.nuisance_range.bounds(Utc::now());
        cmds.push(Command::LoadNuisance { from, to });
    }
    egui::Grid::new("nuisance_grid").striped(true).show(ui, |ui| {
        for key in [
            k!("phone"),
            k!("total_calls"),
            k!("invalid_share"),
            k!("wasted"),
            k!("flags"),
            k!("last_call"),
        ] {
            ui.strong(lang.tr(key));
        }
        ui.end_row();
        for n in &state.lead.nuisance {
            let phone = n.phone.to_string();
            let selected = state.lead.selected.as_deref() == Some(phone.as_str());
            if ui.selectable_label(selected, &phone).clicked() {
                state.lead.selected = Some(phone.clone());
                state.lead.history = None;
                state.lead.dossier = None;
                cmds.push(Command::History(phone.clone()));
            }
            ui.label(n.total_calls.to_string());
            ui.label(RichText::new(n.invalid_calls.to_string()).color(RED));
            ui.label(n.wasted_dispatches.to_string());
            ui.label(n.active_flags.to_string());
            ui.label(local_time(n.last_call_at, "%m-%d %H:%M"));
            ui.end_row();
        }
    });
    ui.separator();
    let Some(phone) = state.lead.selected.clone() else {
        return;
    };
    ui.horizontal(|ui| {
        ui.strong(&phone);
        if ui.button(format!("{} {phone}", lang.tr(k!("dossier_csv")))).clicked() {
            cmds.push(Command::Export(ExportJob::DossierCsv(phone.clone())));
        }
        if ui.button(format!("{} {phone}", lang.tr(k!("dossier_html")))).clicked() {
            cmds.push(Command::Export(ExportJob::DossierHtml(phone.clone())));
        }
        if ui.button(format!("{} {phone}", lang.tr(k!("view_dossier")))).clicked() {
            cmds.push(Command::LoadDossier(phone.clone()));
        }
    });
    if let Some(d) = &state.lead.dossier {
        dossier_ui(ui, lang, d);
    }
    if let Some(h) = &state.lead.history {
        for f in &h.flags {
            ui.horizontal(|ui| {
                ui.label(RichText::new(code_name(lang, f.flag.as_str())).color(RED));
                ui.label(&f.note);
                ui.label(RichText::new(&f.created_by.name).weak());
                if ui.button(format!("{} {}", lang.tr(k!("unflag")), f.id)).clicked() {
                    cmds.push(Command::Unflag {
                        id: f.id,
                        phone: phone.clone(),
                    });
                }
            });
        }
    }
    ui.horizontal(|ui| {
        let kind = &mut state.lead.flag_kind;
        egui::ComboBox::new("flag_kind", lang.tr(k!("flag_kind")))
            .selected_text(kind.map_or(lang.tr(k!("choose")), |k| code_name(lang, k.as_str())))
            .show_ui(ui, |ui| {
                for k in CallerFlagKind::ALL {
                    ui.selectable_value(kind, Some(*k), code_name(lang, k.as_str()));
                }
            });
        let l = ui.label(lang.tr(k!("note")));
        ui.add(
            egui::TextEdit::singleline(&mut state.lead.flag_note)
                .id_salt("flag_note")
                .desired_width(260.0),
        )
        .labelled_by(l.id);
        if ui.button(format!("{} {phone}", lang.tr(k!("flag")))).clicked() {
            match (state.lead.flag_kind, state.lead.flag_note.trim()) {
                (Some(kind), note) if !note.is_empty() => {
                    cmds.push(Command::Flag {
                        phone: phone.clone(),
                        kind,
                        note: note.to_owned(),
                    });
                    state.lead.flag_note.clear();
                }
                _ => state.notice(lang.tr(k!("reason_needed")), true),
            }
        }
    });
}

/// A caller's dossier on screen: every call, oldest first, with the lines
/// added to it later — what the printed dossier holds.
fn dossier_ui(ui: &mut Ui, lang: Lang, d: &crate::model::stats::Dossier) {
    ui.label(format!(
        "{} {} · {} {} · {} {}",
        lang.tr(k!("total_calls")),
        d.total_calls,
        lang.tr(k!("invalid_share")),
        d.invalid_calls,
        lang.tr(k!("wasted")),
        d.wasted_dispatches
    ));
    egui::ScrollArea::vertical()
        .id_salt("dossier")
        .max_height(320.0)
        .show(ui, |ui| {
            for i in &d.incidents {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(local_time(i.received_at, "%Y-%m-%d %H:%M")).monospace());
                    ui.label(format!("#{}", i.id));
                    ui.label(code_name(lang, i.channel.as_str()));
                    if let Some(c) = i.effective_category() {
                        ui.label(code_name(lang, c.as_str()));
                    }
                    ui.label(code_name(lang, i.status.as_str()));
                    ui.label(&i.narrative);
                });
                for s in d.supplements.iter().filter(|s| s.incident_id == i.id) {
                    ui.label(
                        RichText::new(format!(
                            "    + {} {}：{}",
                            local_time(s.at, "%H:%M"),
                            s.author.name,
                            s.text
                        ))
                        .weak(),
                    );
                }
            }
        });
}

/// The audit trail, filtered by operator, incident, action and time range.
pub fn audit_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let mut search = state.lead.audit_asked.is_none();
    ui.horizontal(|ui| {
        let users: Vec<(UserId, String)> = state.lead.users.iter().map(|u| (u.id, u.name.clone())).collect();
        let actor = &mut state.lead.audit_actor;
        egui::ComboBox::new("audit_actor", lang.tr(k!("operator")))
            .selected_text(
                actor
                    .and_then(|a| users.iter().find(|(id, _)| *id == a))
                    .map_or(lang.tr(k!("all")).to_owned(), |(_, n)| n.clone()),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(actor, None, lang.tr(k!("all")));
                for (id, name) in &users {
                    ui.selectable_value(actor, Some(*id), name);
                }
            });
        let l = ui.label(lang.tr(k!("incident")));
        ui.add(
            egui::TextEdit::singleline(&mut state.lead.audit_incident)
                .id_salt("audit_incident")
                .desired_width(70.0),
        )
        .labelled_by(l.id);
        let l = ui.label(lang.tr(k!("action")));
        ui.add(
            egui::TextEdit::singleline(&mut state.lead.audit_kind)
                .id_salt("audit_kind")
                .desired_width(160.0),
        )
        .labelled_by(l.id);
        range_ui(ui, lang, &mut state.lead.range);
        search |= ui.button(lang.tr(k!("search"))).clicked();
    });
    if search {
        state.lead.audit_asked = Some(Instant::now());
        let (since, until) = state.lead.range.bounds(Utc::now());
        let incident_id = state.lead.audit_incident.trim().trim_start_matches('#').parse().ok();
        cmds.push(Command::LoadAudit(AuditFilter {
            actor_id: state.lead.audit_actor,
            incident_id,
            kind_prefix: Some(state.lead.audit_kind.trim().to_owned()).filter(|k| !k.is_empty()),
            since: Some(since),
            until: Some(until),
            limit: 1000,
        }));
    }
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    let mut unlink = None;
    let events = &state.lead.audit;
    egui::ScrollArea::vertical()
        .id_salt("audit")
        .auto_shrink([false, false])
        .show_rows(ui, row_height, events.len(), |ui, rows| {
            for e in &events[rows] {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(local_time(e.at, "%m-%d %H:%M:%S")).monospace());
                    ui.label(e.actor.as_ref().map_or("-", |a| a.name.as_str()));
                    let action = code_name(lang, &e.kind);
                    ui.label(if action == "?" {
                        e.kind.clone()
                    } else {
                        action.to_owned()
                    });
                    if let Some(i) = e.incident_id {
                        ui.label(format!("#{i}"));
                        // A merge found wrong later is undone from its audit line.
                        if e.kind == "incident.linked"
                            && ui.small_button(format!("{} #{i}", lang.tr(k!("unlink")))).clicked()
                        {
                            unlink = Some(i);
                        }
                    }
                    if let Some(n) = &e.note {
                        ui.label(RichText::new(n).italics());
                    }
                });
            }
        });
    if let Some(id) = unlink {
        cmds.push(Command::Act { id, then: Then::Unlink });
    }
}

#[cfg(test)]
mod tests {
    use super::nice_step;

    #[test]
    fn count_axis_steps_are_round() {
        // 0–91 calls over four lines: 25 apiece; small counts never go below 1.
        assert_eq!(nice_step(91.0 / 4.0), 25.0);
        assert_eq!(nice_step(150.0 / 4.0), 50.0);
        assert_eq!(nice_step(3.0 / 4.0), 1.0);
        assert_eq!(nice_step(7.0 / 4.0), 2.0);
        assert_eq!(nice_step(4400.0 / 4.0), 2000.0);
    }
}
