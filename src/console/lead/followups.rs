//! The lead's follow-up tab: rectifications owed, with their deadlines,
//! and satisfaction per unit, agency, operator and category.

use super::*;
use crate::model::stats::SatisfactionRow;

pub fn followups_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    if due(&mut state.followups.rectifications_asked) {
        cmds.push(Command::LoadRectifications);
    }
    load_stats_when_stale(state, cmds);
    egui::ScrollArea::vertical().id_salt("lead_followups").show(ui, |ui| {
        rectifications_ui(ui, state, cmds);
        ui.separator();
        let Some(s) = &state.lead.stats else {
            ui.label(lang.tr(k!("loading")));
            return;
        };
        let f = &s.followups;
        ui.horizontal(|ui| {
            ui.strong(lang.tr(k!("followup_coverage")));
            ui.label(format!("{}/{} {}", f.done, f.opened, percent(f.coverage())));
            ui.strong(lang.tr(k!("satisfaction")));
            ui.label(format!(
                "{} ({} {} · {} {} · {} {})",
                percent(f.satisfaction()),
                lang.tr(k!("satisfied")),
                f.satisfied,
                lang.tr(k!("dissatisfied")),
                f.dissatisfied,
                lang.tr(k!("unreachable")),
                f.unreachable
            ));
        });
        for (key, rows, codes) in [
            (k!("by_unit"), &f.by_unit, false),
            (k!("by_agency"), &f.by_agency, true),
            (k!("by_operator"), &f.by_operator, false),
            (k!("by_category"), &f.by_category, true),
        ] {
            satisfaction_table(ui, lang, key, rows, codes);
        }
    });
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_owned(), |s| format!("{:.1}%", s * 100.0))
}

/// One breakdown; `codes` words the keys (agency and category codes) in
/// the operator's language.
fn satisfaction_table(ui: &mut Ui, lang: Lang, title: Key, rows: &[SatisfactionRow], codes: bool) {
    if rows.is_empty() {
        return;
    }
    ui.strong(lang.tr(title));
    egui::Grid::new(("satisfaction", title.as_str()))
        .striped(true)
        .show(ui, |ui| {
            for r in rows {
                ui.label(if codes {
                    code_name(lang, &r.key).to_owned()
                } else {
                    r.key.clone()
                });
                ui.label(r.done.to_string());
                let rate = r.satisfaction();
                let text = RichText::new(percent(rate));
                // Below 80 % reads as a problem at a glance.
                ui.label(if rate.is_some_and(|x| x < 0.8) {
                    text.color(RED).strong()
                } else {
                    text
                });
                ui.label(format!("{} {}", lang.tr(k!("dissatisfied")), r.dissatisfied));
                ui.end_row();
            }
        });
}

/// Open rectifications, soonest deadline first, each closed with a note:
/// all of them for a lead, its own for an agency (the service filters).
pub(crate) fn rectifications_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let now = Utc::now();
    let list = state.followups.rectifications.clone();
    ui.heading(format!("{} ({})", lang.tr(k!("rectifications")), list.len()));
    if list.is_empty() {
        ui.label(RichText::new(lang.tr(k!("no_rectifications"))).weak());
    }
    let units = &state.units;
    for r in &list {
        ui.group(|ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("#{}", r.incident_id));
                if let Some(u) = r.unit_id.and_then(|id| units.iter().find(|u| u.id == id)) {
                    ui.strong(&u.name);
                }
                if let Some(a) = r.agency {
                    ui.strong(code_name(lang, a.as_str()));
                }
                let left = (r.due_at - now).num_seconds();
                let due = format!("{} {}", lang.tr(k!("due_in")), local_time(r.due_at, "%m-%d %H:%M"));
                if left < 0 {
                    ui.label(
                        RichText::new(format!("{due} {}", lang.tr(k!("overdue"))))
                            .strong()
                            .color(RED),
                    );
                } else {
                    ui.label(due);
                }
            });
            ui.label(&r.reason);
            let note = state.followups.note.entry(r.id).or_default();
            ui.horizontal(|ui| {
                let l = ui.label(format!("{} #{}", lang.tr(k!("rectify_note")), r.id));
                ui.add(
                    egui::TextEdit::singleline(note)
                        .id_salt(("rectify_note", r.id))
                        .desired_width(320.0),
                )
                .labelled_by(l.id);
                if ui
                    .add_enabled(
                        !note.trim().is_empty(),
                        egui::Button::new(format!("{} #{}", lang.tr(k!("close_rectification")), r.id)),
                    )
                    .clicked()
                {
                    cmds.push(Command::CloseRectification {
                        id: r.id,
                        note: std::mem::take(note),
                    });
                }
            });
        });
    }
}
