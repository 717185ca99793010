//! Follow-ups (回访) by phone: callers to ring back now that their call is
//! dealt with, and what they said. A dissatisfied caller's reason is
//! required: it opens the rectification the lead follows.

use super::*;
use crate::model::Satisfaction;

/// How many follow-ups the desk lists at once; the oldest come first.
const SHOWN: usize = 5;

pub fn followups_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    if due(&mut state.followups.asked) {
        cmds.push(Command::LoadFollowups);
    }
    let tasks: Vec<crate::model::Followup> = state.followups.tasks.iter().take(SHOWN).cloned().collect();
    ui.strong(format!(
        "{} ({})",
        lang.tr(k!("followups")),
        state.followups.tasks.len()
    ));
    if tasks.is_empty() {
        ui.label(RichText::new(lang.tr(k!("no_followups"))).weak());
        return;
    }
    let now = Utc::now();
    for f in &tasks {
        ui.group(|ui| {
            ui.horizontal_wrapped(|ui| {
                priority_badge(ui, f.priority);
                ui.label(format!("#{}", f.incident_id));
                if let Some(p) = &f.phone {
                    ui.strong(p.to_string());
                }
                if let Some(c) = f.category {
                    ui.label(code_name(lang, c.as_str()));
                }
                if let Some(a) = f.agency {
                    ui.label(code_name(lang, a.as_str()));
                }
                ui.label(RichText::new(wait_text((now - f.created_at).num_seconds().max(0))).weak());
            });
            let reason = state.followups.reason.entry(f.id).or_default();
            ui.horizontal(|ui| {
                let l = ui.label(format!("{} #{}", lang.tr(k!("dissatisfied_reason")), f.id));
                ui.add(
                    egui::TextEdit::singleline(reason)
                        .id_salt(("followup_reason", f.id))
                        .desired_width(200.0),
                )
                .labelled_by(l.id);
            });
            let has_reason = !reason.trim().is_empty();
            let mut record = |outcome: Satisfaction, reason: Option<String>| {
                cmds.push(Command::RecordFollowup {
                    id: f.id,
                    outcome,
                    reason,
                })
            };
            ui.horizontal(|ui| {
                if ui.button(format!("{} #{}", lang.tr(k!("satisfied")), f.id)).clicked() {
                    record(Satisfaction::Satisfied, None);
                }
                if ui
                    .add_enabled(
                        has_reason,
                        egui::Button::new(format!("{} #{}", lang.tr(k!("dissatisfied")), f.id)),
                    )
                    .clicked()
                {
                    let text = state.followups.reason.remove(&f.id).unwrap_or_default();
                    record(Satisfaction::Dissatisfied, Some(text));
                }
                if ui.button(format!("{} #{}", lang.tr(k!("unreachable")), f.id)).clicked() {
                    record(Satisfaction::Unreachable, None);
                }
            });
        });
    }
}
