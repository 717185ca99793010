//! Referrals across agencies: the returned ones waiting for the lead's
//! decision (12345–110 linkage), then every open order with its deadline.

use super::*;
use crate::model::{Agency, Referral, ReferralReview};

/// Returned referrals first, each with the agency's reason and the three
/// decisions; then every order not finished, with the deadline of its
/// stage (accept, feedback, close) and whether 110 still answers for it.
pub fn referrals_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    if due(&mut state.lead.referrals_asked) {
        cmds.push(Command::LoadReferrals);
    }
    let now = Utc::now();
    let returned: Vec<Referral> = state
        .inbox
        .referrals
        .iter()
        .filter(|r| r.status == ReferralStatus::Returned)
        .cloned()
        .collect();
    egui::ScrollArea::vertical().id_salt("lead_referrals").show(ui, |ui| {
        ui.heading(format!("{} ({})", lang.tr(k!("returned_for_review")), returned.len()));
        if returned.is_empty() {
            ui.label(RichText::new(lang.tr(k!("no_returns"))).weak());
        }
        for r in &returned {
            review_ui(ui, state, r, now, cmds);
        }
        ui.separator();
        ui.heading(lang.tr(k!("open_referrals")));
        egui::Grid::new("referrals_grid").striped(true).show(ui, |ui| {
            for key in [
                k!("referral_number"),
                k!("agency"),
                k!("status"),
                k!("deadline"),
                k!("age"),
                k!("incident"),
            ] {
                ui.strong(lang.tr(key));
            }
            ui.end_row();
            for r in state
                .inbox
                .referrals
                .iter()
                .filter(|r| !r.status.is_final() && r.status != ReferralStatus::Returned)
            {
                ui.label(&r.number);
                ui.label(code_name(lang, r.agency.as_str()));
                ui.label(code_name(lang, r.status.as_str()));
                referral_deadline_ui(ui, lang, r, now);
                ui.label(wait_text((now - r.created_at).num_seconds().max(0)));
                ui.label(format!("#{}", r.incident_id));
                ui.end_row();
            }
        });
    });
}

/// One returned order: what the agency said, a note, and the decisions.
fn review_ui(ui: &mut Ui, state: &mut ConsoleState, r: &Referral, now: DateTime<Utc>, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.group(|ui| {
        ui.horizontal_wrapped(|ui| {
            ui.strong(&r.number);
            ui.label(code_name(lang, r.agency.as_str()));
            ui.label(format!("#{}", r.incident_id));
            if let Some(reason) = r.return_reason {
                ui.label(RichText::new(code_name(lang, reason.as_str())).strong().color(AMBER));
            }
            if let Some(at) = r.returned_at {
                ui.label(RichText::new(wait_text((now - at).num_seconds().max(0))).weak());
            }
        });
        if let Some(note) = &r.return_note {
            ui.label(note);
        }
        three_way_ui(ui, state, r, cmds);
        let note = state.lead.review_note.entry(r.id).or_default();
        ui.horizontal(|ui| {
            let l = ui.label(format!("{} {}", lang.tr(k!("review_note")), r.number));
            ui.add(
                egui::TextEdit::singleline(note)
                    .id_salt(("review_note", r.id))
                    .desired_width(360.0),
            )
            .labelled_by(l.id);
        });
        let ready = !note.trim().is_empty();
        let note = note.trim().to_owned();
        let target = *state
            .lead
            .review_agency
            .entry(r.id)
            .or_insert(if r.agency == Agency::Hotline12345 {
                Agency::Utilities
            } else {
                Agency::Hotline12345
            });
        let mut chosen = target;
        ui.horizontal(|ui| {
            let review = |review| Command::ReviewReferral(r.id, review);
            if ui
                .add_enabled(
                    ready,
                    egui::Button::new(format!("{} {}", lang.tr(k!("insist")), r.number)),
                )
                .clicked()
            {
                cmds.push(review(ReferralReview::Insist { note: note.clone() }));
            }
            egui::ComboBox::new(("reroute_to", r.id), lang.tr(k!("reroute_to")))
                .selected_text(code_name(lang, chosen.as_str()))
                // All eleven agencies at once: no scrolling for the one wanted.
                .height(400.0)
                .show_ui(ui, |ui| {
                    for a in Agency::ALL.iter().filter(|a| **a != Agency::None && **a != r.agency) {
                        ui.selectable_value(&mut chosen, *a, code_name(lang, a.as_str()));
                    }
                });
            if ui
                .add_enabled(
                    ready,
                    egui::Button::new(format!("{} {}", lang.tr(k!("reroute")), r.number)),
                )
                .clicked()
            {
                cmds.push(review(ReferralReview::Reroute {
                    agency: chosen,
                    note: note.clone(),
                }));
            }
            if ui
                .add_enabled(
                    ready,
                    egui::Button::new(format!("{} {}", lang.tr(k!("take_back")), r.number)),
                )
                .clicked()
            {
                cmds.push(review(ReferralReview::TakeBack { note: note.clone() }));
            }
        });
        state.lead.review_agency.insert(r.id, chosen);
    });
}

/// A three-way call (caller, 110, the agency or 12345) when whose matter it
/// is stays unclear: who took part is recorded with the time.
fn three_way_ui(ui: &mut Ui, state: &mut ConsoleState, r: &Referral, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    if let (Some(parties), Some(at)) = (&r.three_way_parties, r.three_way_at) {
        ui.label(
            RichText::new(format!(
                "{}: {parties} · {}",
                lang.tr(k!("three_way")),
                local_time(at, "%m-%d %H:%M")
            ))
            .color(GREEN),
        );
        return;
    }
    let parties = state.lead.three_way.entry(r.id).or_default();
    ui.horizontal(|ui| {
        let l = ui.label(format!("{} {}", lang.tr(k!("three_way_parties")), r.number));
        ui.add(
            egui::TextEdit::singleline(parties)
                .id_salt(("three_way", r.id))
                .hint_text(lang.tr(k!("three_way_hint")))
                .desired_width(240.0),
        )
        .labelled_by(l.id);
        if ui
            .add_enabled(
                !parties.trim().is_empty(),
                egui::Button::new(format!("{} {}", lang.tr(k!("record_three_way")), r.number)),
            )
            .clicked()
        {
            cmds.push(Command::ThreeWay(r.id, std::mem::take(parties)));
        }
    });
}
