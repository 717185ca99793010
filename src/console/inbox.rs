//! An agency's inbox: its referrals and the steps it takes on them, and the
//! rectifications dissatisfied callers opened against it.

use crate::k;
use egui::{RichText, Ui};

use super::command::Command;
use super::i18n::code_name;
use super::state::ConsoleState;

use super::desk::outcome_ui;
use super::widgets::*;

/// An agency account's referral inbox: accept, write feedback, close.
pub fn inbox_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    use crate::model::{ReferralStatus, ReferralStep};
    let lang = state.lang();
    ui.heading(lang.tr(k!("inbox")));
    outcome_ui(ui, state);
    let referrals = state.inbox.referrals.clone();
    let state = &mut *state;
    if due(&mut state.followups.rectifications_asked) {
        cmds.push(Command::LoadRectifications);
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        // Only when there are any: most days an agency owes none.
        if !state.followups.rectifications.is_empty() {
            super::lead::rectifications_ui(ui, state, cmds);
            ui.separator();
        }
        for r in &referrals {
            ui.separator();
            ui.horizontal(|ui| {
                ui.strong(&r.number);
                ui.label(code_name(lang, r.status.as_str()));
                crate::console::widgets::referral_deadline_ui(ui, lang, r, chrono::Utc::now());
                ui.label(RichText::new(crate::model::stats::local_time(r.created_at, "%m-%d %H:%M")).weak());
            });
            if let Some(f) = &r.feedback {
                ui.label(RichText::new(f).weak());
            }
            if let Some(note) = &r.review_note {
                // The lead insisted: why it is this agency's after all.
                ui.label(RichText::new(format!("{}: {note}", lang.tr(k!("review_note")))).color(AMBER));
            }
            ui.horizontal(|ui| match r.status {
                ReferralStatus::Sent => {
                    if ui.button(format!("{} {}", lang.tr(k!("accept")), r.number)).clicked() {
                        cmds.push(Command::ReferralStep(r.id, ReferralStep::Accept));
                    }
                }
                ReferralStatus::Accepted | ReferralStatus::Feedback => {
                    let text = state.inbox.feedback.entry(r.id).or_default();
                    let l = ui.label(format!("{} {}", lang.tr(k!("feedback")), r.number));
                    ui.add(
                        egui::TextEdit::singleline(text)
                            .id_salt(("feedback", r.id))
                            .desired_width(320.0),
                    )
                    .labelled_by(l.id);
                    if ui
                        .button(format!("{} {}", lang.tr(k!("send_feedback")), r.number))
                        .clicked()
                        && !text.trim().is_empty()
                    {
                        cmds.push(Command::ReferralStep(
                            r.id,
                            ReferralStep::Feedback(std::mem::take(text)),
                        ));
                    }
                    if ui.button(format!("{} {}", lang.tr(k!("close")), r.number)).clicked() {
                        cmds.push(Command::ReferralStep(r.id, ReferralStep::Close));
                    }
                }
                ReferralStatus::Closed | ReferralStatus::Returned | ReferralStatus::Withdrawn => {}
            });
            if matches!(r.status, ReferralStatus::Sent | ReferralStatus::Accepted) {
                return_ui(ui, state, r, cmds);
            }
        }
    });
}

/// Handing an order back to 110: why, in a word and a sentence.
fn return_ui(ui: &mut Ui, state: &mut ConsoleState, r: &crate::model::Referral, cmds: &mut Vec<Command>) {
    use crate::model::{ReferralStep, ReturnReason};
    let lang = state.lang();
    let (reason, note) = state
        .inbox
        .returning
        .entry(r.id)
        .or_insert((ReturnReason::NotOurs, String::new()));
    ui.horizontal(|ui| {
        egui::ComboBox::new(("return_reason", r.id), lang.tr(k!("return_reason")))
            .selected_text(code_name(lang, reason.as_str()))
            .show_ui(ui, |ui| {
                for x in ReturnReason::ALL {
                    ui.selectable_value(reason, *x, code_name(lang, x.as_str()));
                }
            });
        let l = ui.label(format!("{} {}", lang.tr(k!("return_note")), r.number));
        ui.add(
            egui::TextEdit::singleline(note)
                .id_salt(("return_note", r.id))
                .desired_width(260.0),
        )
        .labelled_by(l.id);
        if ui
            .add_enabled(
                !note.trim().is_empty(),
                egui::Button::new(format!("{} {}", lang.tr(k!("return_referral")), r.number)),
            )
            .clicked()
        {
            cmds.push(Command::ReferralStep(
                r.id,
                ReferralStep::Return {
                    reason: *reason,
                    note: std::mem::take(note),
                },
            ));
        }
    });
}
