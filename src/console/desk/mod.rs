//! The call taker's desk: the top bar, the queue, the intake form, the
//! triage panel, the unit board, the follow-ups to make and the actions
//! with their keys. Each part
//! is a `*_ui` function over [`ConsoleState`] that draws and pushes
//! [`Command`]s; none of them does I/O.

use crate::k;
use chrono::Utc;
use egui::{Color32, RichText, Ui};

use crate::console::command::{Command, Then};
use crate::console::i18n::{Lang, code_name, reason_text};
use crate::console::state::{Conn, ConsoleState, Draft, View};
use crate::model::{
    Agency, Category, Channel, CloseReason, Incident, Priority, QueueEntry, Role, Status, Suggestion, Unit, UnitStatus,
};
use crate::triage::DANGER_TO_LIFE;

use crate::console::widgets::*;

mod actions;
mod followups;
mod form;
mod map;
mod queue;
mod triage;
mod units;

pub use actions::*;
pub use followups::*;
pub use form::*;
pub use map::*;
pub use queue::*;
pub use triage::*;
pub use units::*;

/// Ends the shift at this desk: refused while a call would be lost or left
/// half-done, otherwise the calls still held go back to the queue.
pub(crate) fn sign_out(state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    if state.connection.outbox_pending > 0 {
        return state.notice(lang.tr(k!("sign_out_outbox")), true);
    }
    if state
        .desk
        .draft
        .as_ref()
        .is_some_and(|d| d.incident_id.is_none() && !d.narrative.trim().is_empty())
        || state.desk.pending.is_some()
    {
        return state.notice(lang.tr(k!("sign_out_form")), true);
    }
    let me = state.me.id;
    let release = state
        .queue
        .calls
        .values()
        .filter(|e| e.holder.as_ref().is_some_and(|h| h.id == me))
        .map(|e| e.id)
        .collect();
    cmds.push(Command::SignOut { release });
}

/// Operator, connection, pending writes, clock, language, sound, sign-out.
pub fn top_bar_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.horizontal(|ui| {
        ui.heading(lang.tr(k!("app_title")));
        if state.demo {
            ui.label(
                RichText::new(lang.tr(k!("demo")))
                    .strong()
                    .color(Color32::WHITE)
                    .background_color(AMBER),
            );
        }
        ui.separator();
        ui.label(format!("{} · {}", state.me.name, state.me.role));
        ui.separator();
        let (text, color) = match &state.connection.status {
            Conn::Live => (lang.tr(k!("live")).to_owned(), GREEN),
            Conn::Connecting | Conn::Reconnecting(_) => (lang.tr(k!("reconnecting")).to_owned(), AMBER),
        };
        ui.label(RichText::new(format!("● {text}")).color(color));
        if state.connection.outbox_pending > 0 {
            ui.label(
                RichText::new(format!(
                    "{} {} {}",
                    lang.tr(k!("offline")),
                    state.connection.outbox_pending,
                    lang.tr(k!("pending_writes"))
                ))
                .color(RED),
            );
        }
        if state.me.is_lead() {
            ui.separator();
            ui.selectable_value(&mut state.view, View::Desk, lang.tr(k!("view_desk")));
            ui.selectable_value(&mut state.view, View::Lead, lang.tr(k!("view_lead")));
            let a = &state.lead.alerts;
            let n = a.waves.len() + a.long_waits.len() + a.stale_holds.len();
            if n > 0
                && ui
                    .button(
                        RichText::new(format!("{} {n}", lang.tr(k!("alerts"))))
                            .strong()
                            .color(Color32::WHITE)
                            .background_color(RED),
                    )
                    .clicked()
            {
                state.view = View::Lead;
                state.lead.tab = super::lead::LeadTab::Oversight;
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button(lang.tr(k!("sign_out"))).clicked() {
                sign_out(state, cmds);
            }
            if ui.button(lang.tr(k!("language"))).clicked() {
                state.prefs.lang = lang.toggled();
            }
            ui.checkbox(&mut state.prefs.alert_sound, lang.tr(k!("sound_on")));
            // The centre's clock, as on the lead's screens and in the
            // statistics, whatever zone this machine is set to.
            ui.label(crate::model::stats::local_time(Utc::now(), "%H:%M:%S"));
        });
    });
}
