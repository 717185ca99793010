//! The lead's map: every open call and unit of the centre, and a heat
//! layer of the last 24 hours by category.

use super::*;
use crate::console::map::{Layers, MapClick, Marker, map_controls_ui, map_ui};

pub fn lead_map_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    if due(&mut state.lead.map_asked) {
        cmds.push(Command::LoadMap { hours: 24 });
    }
    let calls: Vec<Marker> = state
        .lead
        .map
        .iter()
        .filter(|i| !i.status.is_final())
        .map(|i| Marker {
            id: i.id,
            at: i.at,
            priority: i.priority,
        })
        .collect();
    let out = state.units.iter().filter(|u| u.incident_id.is_some()).count();
    ui.horizontal(|ui| {
        map_controls_ui(ui, lang, &mut state.lead.map_view, true);
        ui.separator();
        ui.label(format!("{} {}", lang.tr(k!("map_open_calls")), calls.len()));
        ui.label(format!("{} {out}", lang.tr(k!("map_units_out"))));
        if ui.button(lang.tr(k!("refresh"))).clicked() {
            state.lead.map_asked = None;
        }
    });
    let selected = state
        .lead
        .map_selected
        .and_then(|id| state.lead.map.iter().find(|i| i.id == id));
    let mut take = None;
    if let Some(i) = selected {
        let category = i.category.map_or("-", |c| code_name(lang, c.as_str()));
        ui.horizontal(|ui| {
            ui.label(format!(
                "#{} · {} · {} · {} · {}",
                i.id,
                code_name(lang, i.priority.as_str()),
                category,
                code_name(lang, i.status.as_str()),
                local_time(i.received_at, "%H:%M:%S")
            ));
            // A waiting call nobody holds can be taken from here, at the desk.
            let free = state.queue.calls.get(&i.id).is_some_and(|e| e.holder.is_none());
            if free && ui.button(format!("{} #{}", lang.tr(k!("take")), i.id)).clicked() {
                take = Some(i.id);
            }
        });
    }
    let selected = selected.map(|i| i.at);
    let map = &state.lead.map;
    let describe = |id| {
        map.iter()
            .find(|i| i.id == id)
            .map(|i| {
                let category = i.category.map_or("-", |c| code_name(lang, c.as_str()));
                format!("{category} · {}", code_name(lang, i.status.as_str()))
            })
            .unwrap_or_default()
    };
    let click = map_ui(
        ui,
        lang,
        &mut state.lead.map_view,
        &Layers {
            calls: &calls,
            units: &state.units,
            selected,
            recent: map,
            describe: &describe,
        },
    );
    if let Some(MapClick::Incident(id)) = click {
        state.lead.map_selected = Some(id);
    }
    if let Some(id) = take {
        state.view = crate::console::state::View::Desk;
        cmds.push(Command::Claim(id));
    }
}
