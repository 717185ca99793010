//! The lead's call-quality tab (质检): each operator's score over the
//! range, lowest first, and the calls that failed a check.

use super::*;
use crate::model::qa_operators;

/// How many failed calls the tab lists; the export has them all.
const LISTED: usize = 100;

/// The review's range: the lead's, but at most the last month, which is
/// as far as one review reaches (the service's limit).
fn qa_bounds(range: RangePreset) -> (DateTime<Utc>, DateTime<Utc>) {
    let (from, to) = range.bounds(Utc::now());
    (from.max(to - Duration::days(31)), to)
}

pub fn qa_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let (from, to) = qa_bounds(state.lead.range);
    ui.horizontal(|ui| {
        if range_ui(ui, lang, &mut state.lead.range) {
            state.lead.qa_asked = None;
        }
        if ui.button(lang.tr(k!("refresh"))).clicked() {
            state.lead.qa_asked = None;
        }
        if ui.button(lang.tr(k!("export_qa"))).clicked() {
            cmds.push(Command::Export(ExportJob::Qa { from, to }));
        }
    });
    if state.lead.range == RangePreset::LastYear {
        ui.label(lang.tr(k!("qa_month_only")));
    }
    if due(&mut state.lead.qa_asked) {
        let (from, to) = qa_bounds(state.lead.range);
        cmds.push(Command::LoadQa { from, to });
    }
    let Some(calls) = state.lead.qa.clone() else {
        ui.label(lang.tr(k!("loading")));
        return;
    };
    let calls = &calls;
    egui::ScrollArea::vertical().id_salt("lead_qa").show(ui, |ui| {
        sampled_ui(ui, state, calls, (from, to), cmds);
        ui.separator();
        ui.strong(lang.tr(k!("qa_operators")));
        egui::Grid::new("qa_operators").striped(true).show(ui, |ui| {
            for key in [k!("operator"), k!("qa_calls_n"), k!("qa_score"), k!("qa_p1_late")] {
                ui.strong(lang.tr(key));
            }
            ui.end_row();
            for o in qa_operators(calls) {
                ui.label(&o.operator.name);
                ui.label(o.calls.to_string());
                let score = RichText::new(o.score.map_or_else(|| "-".to_owned(), |s| format!("{s:.0}")));
                ui.label(if o.score.is_some_and(|s| s < 80.0) {
                    score.color(RED).strong()
                } else {
                    score
                });
                ui.label(o.p1_late.to_string());
                ui.end_row();
            }
        });
        ui.separator();
        ui.strong(lang.tr(k!("qa_failed_calls")));
        egui::Grid::new("qa_failed").striped(true).show(ui, |ui| {
            for c in calls.iter().filter(|c| c.failed().next().is_some()).take(LISTED) {
                ui.label(format!("#{}", c.incident_id));
                priority_badge(ui, c.priority);
                ui.label(local_time(c.received_at, "%m-%d %H:%M"));
                ui.label(c.operator.as_ref().map(|o| o.name.as_str()).unwrap_or("-"));
                let failed: Vec<&str> = c.failed().map(|f| code_name(lang, f.as_str())).collect();
                ui.label(RichText::new(failed.join("、")).color(RED));
                ui.end_row();
            }
        });
    });
}

/// The calls drawn for a hand review (2 % of calls and every late P1) not
/// reviewed yet: a score and a coaching note each.
fn sampled_ui(
    ui: &mut Ui,
    state: &mut ConsoleState,
    calls: &[crate::model::QaCall],
    (from, to): (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
    cmds: &mut Vec<Command>,
) {
    let lang = state.lang();
    let waiting: Vec<&crate::model::QaCall> = calls.iter().filter(|c| c.sampled && c.review.is_none()).collect();
    let reviewed = calls.iter().filter(|c| c.review.is_some()).count();
    ui.strong(format!(
        "{} ({}) · {} {reviewed}",
        lang.tr(k!("qa_sampled")),
        waiting.len(),
        lang.tr(k!("qa_reviewed"))
    ));
    if waiting.is_empty() {
        ui.label(RichText::new(lang.tr(k!("qa_no_sampled"))).weak());
    }
    for c in waiting.into_iter().take(LISTED) {
        ui.group(|ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("#{}", c.incident_id));
                priority_badge(ui, c.priority);
                ui.label(local_time(c.received_at, "%m-%d %H:%M"));
                ui.label(c.operator.as_ref().map(|o| o.name.as_str()).unwrap_or("-"));
                let failed: Vec<&str> = c.failed().map(|f| code_name(lang, f.as_str())).collect();
                if !failed.is_empty() {
                    ui.label(RichText::new(failed.join("、")).color(RED));
                }
            });
            // Start from the automatic score: the lead adjusts what it missed.
            let start = c.score.map_or(100, |s| s.round() as i64);
            let (score, note) = state
                .lead
                .qa_draft
                .entry(c.incident_id)
                .or_insert((start, String::new()));
            ui.horizontal(|ui| {
                ui.add(egui::Slider::new(score, 0..=100).text(format!(
                    "{} #{}",
                    lang.tr(k!("qa_hand_score")),
                    c.incident_id
                )));
                let l = ui.label(format!("{} #{}", lang.tr(k!("qa_coaching")), c.incident_id));
                ui.add(
                    egui::TextEdit::singleline(note)
                        .id_salt(("qa_note", c.incident_id))
                        .desired_width(280.0),
                )
                .labelled_by(l.id);
                if ui
                    .add_enabled(
                        !note.trim().is_empty(),
                        egui::Button::new(format!("{} #{}", lang.tr(k!("qa_save_review")), c.incident_id)),
                    )
                    .clicked()
                {
                    cmds.push(Command::ReviewCall {
                        id: c.incident_id,
                        score: *score,
                        note: std::mem::take(note),
                        from,
                        to,
                    });
                }
            });
        });
    }
}
