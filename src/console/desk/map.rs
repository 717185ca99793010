//! The call taker's map under the form: the queue's calls, the units, and
//! the open call's place; a click opens a call or pins the open one's place.

use super::*;
use crate::console::map::{Layers, MapClick, Marker, map_controls_ui, map_ui};
use crate::model::geo::GeoData;

/// The queue's calls that have a position, as map markers.
pub(crate) fn queue_markers(state: &ConsoleState) -> Vec<Marker> {
    state
        .queue
        .calls
        .values()
        .filter_map(|e| {
            Some(Marker {
                id: e.id,
                at: e.at?,
                priority: e.priority,
            })
        })
        .collect()
}

pub fn desk_map_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    map_controls_ui(ui, lang, &mut state.map, false);
    let calls = queue_markers(state);
    let selected = state
        .desk
        .draft
        .as_ref()
        .and_then(|d| d.pin.or(d.at))
        .or_else(|| state.desk.recommendation.as_ref().and_then(|r| r.place.as_ref()?.at));
    let queue = &state.queue.calls;
    let describe = |id| queue.get(&id).map(|e| e.summary.clone()).unwrap_or_default();
    let click = map_ui(
        ui,
        lang,
        &mut state.map,
        &Layers {
            calls: &calls,
            units: &state.units,
            selected,
            recent: &[],
            describe: &describe,
        },
    );
    match click {
        Some(MapClick::Incident(id)) => open_from_map(state, id, cmds),
        Some(MapClick::Place(at)) => pin(state, at),
        None => {}
    }
}

/// A call clicked on the map opens as a click in the queue would: taken
/// when free, resumed when it is this operator's.
fn open_from_map(state: &mut ConsoleState, id: crate::model::IncidentId, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let Some(e) = state.queue.calls.get(&id) else { return };
    let open = state.desk.draft.as_ref().and_then(|d| d.incident_id) == Some(id);
    match &e.holder {
        None => cmds.push(Command::Claim(id)),
        Some(h) if h.id == state.me.id && !open => cmds.push(Command::Resume(id)),
        Some(h) if h.id != state.me.id => {
            let text = format!("{}: {}", lang.tr(k!("held_by")), h.name);
            state.notice(text, false);
        }
        Some(_) => {}
    }
}

/// The place of the open call, set by a click: saved with the next save or
/// action; an empty location line gets the county's name.
fn pin(state: &mut ConsoleState, at: crate::model::geo::GeoPoint) {
    let lang = state.lang();
    let Some(d) = state.desk.draft.as_mut() else { return };
    d.pin = Some(at);
    if d.location.trim().is_empty() {
        let county = GeoData::shared()
            .county_at(at)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        d.location = format!("{county}（{}）", lang.tr(k!("map_pin")));
    }
}
