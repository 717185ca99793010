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

/// The unit board: by default the units out on calls and those offered for
/// the open call (a province has hundreds; a call taker needs these), every
/// unit on demand. Each with its status, its call and how long it has been
/// so. A shift lead moves any unit; a call taker only the units on the calls
/// they dispatched (the rest they see, so they know who is free).
pub fn units_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let now = Utc::now();
    ui.horizontal(|ui| {
        ui.strong(lang.tr(k!("unit_board")));
        let all = format!("{} ({})", lang.tr(k!("all_units")), state.units.len());
        ui.checkbox(&mut state.desk.all_units, all);
    });
    let offered: Vec<crate::model::UnitId> = state
        .desk
        .recommendation
        .as_ref()
        .map(|r| r.units.iter().take(6).map(|o| o.unit.id).collect())
        .unwrap_or_default();
    let shown: Vec<&Unit> = if state.desk.all_units {
        state.units.iter().collect()
    } else {
        let out = state
            .units
            .iter()
            .filter(|u| u.incident_id.is_some() || !matches!(u.status, UnitStatus::Available | UnitStatus::OffDuty));
        let near = offered
            .iter()
            .filter_map(|id| state.units.iter().find(|u| u.id == *id))
            .filter(|u| u.incident_id.is_none() && matches!(u.status, UnitStatus::Available | UnitStatus::OffDuty));
        out.chain(near).collect()
    };
    if shown.is_empty() {
        ui.label(RichText::new(lang.tr(k!("no_units_out"))).weak());
        return;
    }
    let row_height = ui.spacing().interact_size.y + ui.spacing().item_spacing.y;
    egui::ScrollArea::vertical()
        .id_salt("units")
        .max_height(row_height * 14.0)
        .show_rows(ui, row_height, shown.len(), |ui, rows| {
            for u in &shown[rows] {
                unit_row(ui, state, u, now, cmds);
            }
        });
}

fn unit_row(ui: &mut Ui, state: &ConsoleState, u: &Unit, now: chrono::DateTime<Utc>, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.horizontal(|ui| {
        let color = unit_color(u.status);
        ui.label(RichText::new("●").color(color));
        let may_move = state.me.is_lead() || u.incident_id.is_some_and(|i| state.desk.dispatched_by_me.contains(&i));
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
