//! The unit board and the best available unit F2 dispatches.

use super::*;

/// A unit's status on the live board; a recommendation is made when the
/// call is opened, and units move on while the operator talks.
pub(crate) fn live_status(state: &ConsoleState, unit: &Unit) -> UnitStatus {
    state
        .units
        .iter()
        .find(|x| x.id == unit.id)
        .map_or(unit.status, |x| x.status)
}

/// The best recommended unit that is still available: what F2 dispatches.
pub(crate) fn best_available(state: &ConsoleState) -> Option<&Unit> {
    let rec = state.desk.recommendation.as_ref()?;
    rec.units
        .iter()
        .map(|o| &o.unit)
        .find(|u| live_status(state, u) == UnitStatus::Available)
}

/// The unit board: every unit with its status, its call and how long it has
/// been so. A shift lead moves any unit; a call taker only the units on the
/// calls they dispatched (the rest they see, so they know who is free).
pub fn units_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let now = Utc::now();
    ui.strong(lang.tr(k!("unit_board")));
    egui::ScrollArea::vertical().id_salt("units").show(ui, |ui| {
        for u in &state.units {
            ui.horizontal(|ui| {
                let color = unit_color(u.status);
                ui.label(RichText::new("●").color(color));
                let may_move =
                    state.me.is_lead() || u.incident_id.is_some_and(|i| state.desk.dispatched_by_me.contains(&i));
                if may_move {
                    let mut status = u.status;
                    let l = ui.label(&u.name);
                    egui::ComboBox::from_id_salt(("unit", u.id))
                        .selected_text(RichText::new(code_name(lang, status.as_str())).color(color))
                        .show_ui(ui, |ui| {
                            // Only a dispatch assigns a unit; signing for
                            // it is the button beside.
                            for s in UnitStatus::ALL.iter().filter(|s| **s != UnitStatus::Assigned) {
                                ui.selectable_value(&mut status, *s, code_name(lang, s.as_str()));
                            }
                        })
                        .response
                        .labelled_by(l.id);
                    if status != u.status {
                        cmds.push(Command::SetUnitStatus(u.id, status));
                    }
                } else {
                    ui.label(&u.name);
                    ui.label(RichText::new(code_name(lang, u.status.as_str())).color(color));
                }
                if let Some(i) = u.incident_id {
                    ui.label(format!("#{i}"));
                    // The order signed for as the patrol answers the radio.
                    if u.status == UnitStatus::Assigned
                        && ui
                            .small_button(lang.tr(k!("sign_for")))
                            .on_hover_text(format!("{} #{i}", u.name))
                            .clicked()
                    {
                        cmds.push(Command::Acknowledge(i));
                    }
                }
                if let Some(since) = u.status_since
                    && u.status != UnitStatus::Available
                {
                    ui.label(
                        RichText::new(wait_text((now - since).num_seconds().max(0)))
                            .monospace()
                            .weak(),
                    );
                }
            });
        }
    });
}
