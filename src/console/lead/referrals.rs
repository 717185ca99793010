//! Open referrals across agencies, with their deadlines.

use super::*;

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
            for r in state
                .inbox
                .referrals
                .iter()
                .filter(|r| r.status != ReferralStatus::Closed)
            {
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
