//! The console application: drains background answers, draws the panels,
//! and applies the commands they emitted once per frame.

use crate::k;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::backend::{Backend, Outbox};
use super::command::{Command, Done, Msg};
use super::state::{Conn, ConsoleState, Draft, Prefs, View};
use super::{desk, inbox};
use crate::client::{ApiClient, FeedItem};
use crate::model::{Incident, User};

/// Timers tick once a second; nothing else repaints without an event.
const TICK: Duration = Duration::from_secs(1);
const PREFS_KEY: &str = "jiejing_prefs";

pub struct ConsoleApp {
    pub state: ConsoleState,
    backend: Backend,
    rx: Receiver<Msg>,
    cancel: CancellationToken,
}

impl ConsoleApp {
    /// Starts the background link (queue, live feed, outbox) on `rt`.
    pub fn new(
        ctx: &egui::Context,
        rt: tokio::runtime::Handle,
        client: ApiClient,
        me: User,
        outbox: Outbox,
        demo: bool,
        prefs: Prefs,
    ) -> Self {
        let (tx, rx): (Sender<Msg>, Receiver<Msg>) = std::sync::mpsc::channel();
        let repaint = ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || repaint.request_repaint());
        let backend = Backend::new(client, rt, tx, wake, outbox);
        let cancel = CancellationToken::new();
        backend.start(cancel.clone(), me.role);
        ConsoleApp {
            state: ConsoleState::new(me, demo, prefs),
            backend,
            rx,
            cancel,
        }
    }

    /// Exports go to `dir` instead of a save dialog.
    pub fn export_to(&mut self, dir: std::path::PathBuf) {
        self.backend.export_to(dir);
    }

    /// As on a desktop without a file dialog: exports fall back to `dir`.
    pub fn export_without_dialog(&mut self, dir: std::path::PathBuf) {
        self.backend.export_without_dialog(dir);
    }

    pub fn load_prefs(storage: Option<&dyn eframe::Storage>) -> Prefs {
        storage
            .and_then(|s| eframe::get_value(s, PREFS_KEY))
            .unwrap_or_default()
    }

    fn handle(&mut self, msg: Msg, cmds: &mut Vec<Command>) {
        let lang = self.state.lang();
        let me = self.state.me.id;
        match msg {
            Msg::Queue(list) => {
                self.state.queue.calls.clear();
                for entry in list {
                    self.state.upsert_entry(entry);
                }
            }
            Msg::Feed(FeedItem::Connected) => self.state.connection.status = Conn::Live,
            Msg::Feed(FeedItem::Disconnected(why)) => self.state.connection.status = Conn::Reconnecting(why),
            Msg::Feed(FeedItem::Resync) => self.backend.reload(),
            Msg::Feed(FeedItem::Event(e)) => {
                if e.kind.starts_with("incident.")
                    && let Some(after) = e.after.clone().and_then(|v| serde_json::from_value::<Incident>(v).ok())
                {
                    if e.kind == "incident.created" && desk::is_new_p1(&after) && self.state.prefs.alert_sound {
                        super::alert::beep();
                    }
                    // A newer version of the call on the form (a colleague's
                    // edit, a lead's priority): untouched fields follow it.
                    if let Some(d) = &mut self.state.desk.draft
                        && d.incident_id == Some(after.id)
                    {
                        d.rebase(&after);
                    }
                    self.state.upsert(&after);
                } else if e.kind == "incident.supplemented"
                    && let Some(s) = e
                        .after
                        .clone()
                        .and_then(|v| serde_json::from_value::<crate::model::Supplement>(v).ok())
                {
                    // A colleague's line, or a duplicate merged into this call.
                    self.add_supplements(s.incident_id, vec![s]);
                } else if e.kind == "unit.status" {
                    cmds.push(Command::RefreshUnits);
                } else if e.kind.starts_with("followup.") {
                    // Another operator may have made the call back already.
                    cmds.push(Command::LoadFollowups);
                } else if e.kind.starts_with("rectification.") && self.state.me.is_lead() {
                    cmds.push(Command::LoadRectifications);
                } else if e.kind == "referral.returned" && self.state.me.is_lead() {
                    // The review queue is the lead's to answer: show it at once.
                    cmds.push(Command::LoadReferrals);
                } else if e.kind.starts_with("referral.")
                    && let Some(r) = e
                        .after
                        .clone()
                        .and_then(|v| serde_json::from_value::<crate::model::Referral>(v).ok())
                    && self.state.desk.last_referral.as_ref().is_some_and(|l| l.id == r.id)
                {
                    // The agency's progress stays visible to the call taker.
                    self.state.desk.last_referral = Some(r);
                }
            }
            Msg::Done {
                what,
                incident,
                referral,
            } => {
                let inc = *incident;
                self.state.notice(lang.tr(what.key()), false);
                match what {
                    w if w.keeps_the_call() && inc.holder.as_ref().is_some_and(|h| h.id == me) => {
                        let logging_new = self.state.desk.draft.as_ref().is_some_and(|d| d.incident_id.is_none());
                        let on_form = match &mut self.state.desk.draft {
                            Some(d) if d.incident_id == Some(inc.id) => {
                                d.rebase(&inc);
                                d.held_since = inc.held_since.or(d.held_since);
                                true
                            }
                            // A call just taken, or a new call just stored.
                            _ if matches!(what, Done::Claimed | Done::Resumed)
                                || what == Done::Saved && logging_new =>
                            {
                                self.state.set_call(Some(Draft::from_incident(&inc)));
                                true
                            }
                            // A late answer (a save, a warning read) about a
                            // call the operator has since left: its context
                            // must not replace the one on the form.
                            _ => false,
                        };
                        if on_form {
                            let phone = inc.caller.phone.as_ref().map(|p| p.to_string());
                            cmds.push(Command::LoadContext { id: inc.id, phone });
                        }
                    }
                    _ => {
                        // The call left this operator's hands: on to the next.
                        if self.state.desk.draft.as_ref().and_then(|d| d.incident_id) == Some(inc.id) {
                            self.state.set_call(None);
                        }
                    }
                }
                if referral.is_some() {
                    self.state.desk.last_referral = referral;
                }
                if what == Done::Dispatched {
                    self.state.desk.dispatched_by_me.insert(inc.id);
                    let notified: Vec<&str> = inc
                        .co_notify
                        .iter()
                        .map(|a| super::i18n::code_name(lang, a.as_str()))
                        .collect();
                    if !notified.is_empty() {
                        self.state.notice(
                            format!(
                                "{} · {} {}",
                                lang.tr(what.key()),
                                lang.tr(k!("co_notify")),
                                notified.join(" ")
                            ),
                            false,
                        );
                    }
                }
                if what == Done::Unlinked {
                    // The audit line that offered it has a successor to show.
                    self.state.lead.invalidate();
                }
                self.state.upsert(&inc);
            }
            Msg::Failed(f) => self.state.notice(super::i18n::failure_text(lang, &f), true),
            Msg::Queued => {
                self.state.notice(lang.tr(k!("queued_offline")), true);
                // The form moves on, and with it everything said about the call.
                self.state.set_call(None);
            }
            Msg::History(phone, h) => {
                if self.state.lead.selected.as_deref() == Some(phone.as_str()) {
                    self.state.lead.history = Some((*h).clone());
                }
                if self.state.desk.draft.as_ref().is_some_and(|d| d.phone.trim() == phone) {
                    self.state.desk.history = Some(*h);
                    self.state.desk.suggested_for.clear();
                }
            }
            Msg::Context { id, units, duplicates } => {
                if self.state.desk.draft.as_ref().and_then(|d| d.incident_id) == Some(id) {
                    self.state.desk.recommendation = Some(*units);
                    self.state.desk.duplicates = duplicates;
                }
            }
            Msg::Units(u) => self.state.units = u,
            Msg::Supplements(id, list) => self.add_supplements(id, list),
            Msg::Referrals(r) => {
                self.state.connection.status = Conn::Live;
                self.state.inbox.referrals = r;
            }
            Msg::Followups(f) => self.state.followups.tasks = f,
            Msg::Rectifications(r) => self.state.followups.rectifications = r,
            Msg::Qa(q) => self.state.lead.qa = Some(q),
            Msg::Outbox { pending } => self.state.connection.outbox_pending = pending,
            Msg::Stats(s) => self.state.lead.stats = Some(*s),
            Msg::Alerts(a) => self.state.lead.alerts = a,
            Msg::Users(u) => self.state.lead.users = u,
            Msg::SignedIn(ids) => self.state.lead.signed_in = ids,
            Msg::Nuisance(n) => self.state.lead.nuisance = n,
            Msg::Map(m) => self.state.lead.map = m,
            Msg::Audit(a) => self.state.lead.audit = a,
            Msg::LeadChanged => self.state.lead.invalidate(),
            Msg::SignedOut => self.state.signed_out = true,
            Msg::Exported { path, fallback } => {
                let what = if fallback {
                    k!("exported_fallback")
                } else {
                    k!("exported")
                };
                self.state
                    .notice(format!("{} {}", lang.tr(what), path.display()), false);
            }
            Msg::Dossier(d) => {
                if self.state.lead.selected.as_deref() == Some(d.phone.as_str()) {
                    self.state.lead.dossier = Some(*d);
                }
            }
        }
    }

    /// Supplements for the call on the form, each once, in order.
    fn add_supplements(&mut self, id: crate::model::IncidentId, list: Vec<crate::model::Supplement>) {
        if self.state.desk.draft.as_ref().and_then(|d| d.incident_id) != Some(id) {
            return;
        }
        for s in list {
            if !self.state.desk.supplements.iter().any(|x| x.id == s.id) {
                self.state.desk.supplements.push(s);
            }
        }
        self.state.desk.supplements.sort_by_key(|s| s.id);
    }

    /// One frame: answers in, panels drawn, commands out.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        let mut cmds = Vec::new();
        while let Ok(msg) = self.rx.try_recv() {
            self.handle(msg, &mut cmds);
        }
        if let Some(action) = desk::shortcut(ui.ctx(), &self.state) {
            desk::perform(&mut self.state, action, &mut cmds);
        }
        desk::flush_pending(&mut self.state, std::time::Instant::now(), &mut cmds);
        draw(ui, &mut self.state, &mut cmds);
        let lang = self.state.lang();
        for cmd in cmds {
            self.backend.apply(cmd, lang);
        }
        ui.ctx().request_repaint_after(TICK);
    }
}

/// Lays out the whole screen from the state; no I/O (the frame benchmark
/// runs exactly this).
pub fn draw(ui: &mut egui::Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let screen = (state.lang(), state.view, state.lead.tab);
    if state.notice.screen.replace(screen).is_some_and(|was| was != screen) {
        state.notice.current = None;
    }
    state.retriage();
    egui::Panel::top("top_bar").show(ui, |ui| desk::top_bar_ui(ui, state, cmds));
    if state.me.role == crate::model::Role::Agency {
        egui::CentralPanel::default_margins().show(ui, |ui| inbox::inbox_ui(ui, state, cmds));
        return;
    }
    if state.view == View::Lead && state.me.is_lead() {
        egui::Panel::right("lead_alerts")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| super::lead::alerts_ui(ui, state));
        egui::CentralPanel::default_margins().show(ui, |ui| super::lead::lead_ui(ui, state, cmds));
        return;
    }
    egui::Panel::left("queue")
        .resizable(true)
        .default_size(520.0)
        .show(ui, |ui| {
            desk::queue_ui(ui, state, cmds);
        });
    egui::Panel::right("triage")
        .resizable(true)
        .default_size(380.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().id_salt("triage_scroll").show(ui, |ui| {
                desk::triage_ui(ui, state, cmds);
                ui.separator();
                desk::units_ui(ui, state, cmds);
                ui.separator();
                desk::followups_ui(ui, state, cmds);
            });
        });
    egui::Panel::bottom("desk_map")
        .resizable(true)
        .default_size(300.0)
        .show(ui, |ui| desk::desk_map_ui(ui, state, cmds));
    egui::CentralPanel::default_margins().show(ui, |ui| desk::intake_ui(ui, state, cmds));
}

impl Drop for ConsoleApp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl eframe::App for ConsoleApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, PREFS_KEY, &self.state.prefs);
    }
}
