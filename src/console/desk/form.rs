//! The intake form: the caller, the place, the narrative, the codes, supplements.

use super::*;

/// The intake form: caller, location, narrative and the operator's codes,
/// prefilled from the suggestion and always overridable.
pub fn intake_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let suggestion = state.desk.suggestion.clone();
    let focus_phone = std::mem::take(&mut state.desk.focus_phone);
    undo_ui(ui, state, cmds);
    let Some(draft) = state.desk.draft.as_mut() else {
        ui.label(lang.tr(k!("no_call")));
        // The outcome of the last action stays visible: the work-order number
        // is read to the caller after the form has moved on.
        outcome_ui(ui, state);
        return;
    };
    ui.horizontal(|ui| {
        ui.strong(lang.tr(k!("intake")));
        if let Some(id) = draft.incident_id {
            ui.label(format!("#{id}"));
        }
        if let Some(since) = draft.held_since {
            let secs = (Utc::now() - since).num_seconds().max(0);
            ui.label(format!("{} {}", lang.tr(k!("handling")), wait_text(secs)));
        }
    });
    if let Some(contact) = &draft.contact {
        // The only way back to a WeChat or web caller: shown, not editable.
        let label = match draft.channel {
            Some(Channel::Web) => lang.tr(k!("web_account")),
            _ => lang.tr(k!("wechat_id")),
        };
        ui.label(format!("{label}: {contact}"));
    }
    let before_phone = draft.phone.clone();
    let phone = field(ui, "draft_phone", lang.tr(k!("phone")), &mut draft.phone);
    if focus_phone {
        phone.request_focus();
    }
    field(ui, "draft_name", lang.tr(k!("name")), &mut draft.name);
    field(ui, "draft_callback", lang.tr(k!("callback")), &mut draft.callback);
    let keys = place_keys(ui, &mut state.desk);
    let Some(draft) = state.desk.draft.as_mut() else { return };
    let loc = field(ui, "draft_location", lang.tr(k!("location")), &mut draft.location);
    state.desk.location_field = Some(loc.id);
    if loc.changed() {
        state.desk.place_open = true;
        state.desk.place_pick = 0;
    }
    if state.desk.place_open {
        place_hints_ui(ui, &mut state.desk, &loc, keys);
    }
    let Some(draft) = state.desk.draft.as_mut() else { return };
    if let Some(j) = &draft.jurisdiction {
        let name = crate::model::gazetteer::Gazetteer::shared()
            .station_name(j)
            .unwrap_or_else(|| j.clone());
        ui.label(RichText::new(format!("{}: {name}", lang.tr(k!("jurisdiction")))).weak());
    }
    code_combo(
        ui,
        lang,
        "draft_channel",
        lang.tr(k!("channel")),
        &mut draft.channel,
        None,
    );
    let l = ui.label(lang.tr(k!("narrative")));
    ui.add(
        egui::TextEdit::multiline(&mut draft.narrative)
            .id_salt("draft_narrative")
            .desired_rows(4)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(l.id);
    if let Some(id) = draft.incident_id {
        supplements_ui(
            ui,
            lang,
            id,
            &state.desk.supplements,
            &mut state.desk.supplement_text,
            cmds,
        );
    }
    let Some(draft) = state.desk.draft.as_mut() else { return };
    code_combo(
        ui,
        lang,
        "draft_category",
        lang.tr(k!("category")),
        &mut draft.category,
        suggestion.as_ref().map(|s| s.category),
    );
    code_combo(
        ui,
        lang,
        "draft_agency",
        lang.tr(k!("agency")),
        &mut draft.agency,
        suggestion.as_ref().map(|s| s.agency),
    );
    code_combo(
        ui,
        lang,
        "draft_priority",
        lang.tr(k!("priority")),
        &mut draft.priority,
        suggestion.as_ref().map(|s| s.priority),
    );
    if phone.lost_focus() && draft.phone != before_phone || phone.lost_focus() && state.desk.history.is_none() {
        let p = draft.phone.trim().to_owned();
        if crate::model::CallerPhone::parse(&p).is_ok() {
            cmds.push(Command::History(p));
        }
    }
    ui.separator();
    actions_ui(ui, state, cmds);
}

/// The lines added to a call after its narrative, in order, and a field to
/// add one; what a merged duplicate's caller said shows with its call number.
pub(crate) fn supplements_ui(
    ui: &mut Ui,
    lang: Lang,
    id: crate::model::IncidentId,
    list: &[crate::model::Supplement],
    text: &mut String,
    cmds: &mut Vec<Command>,
) {
    for s in list {
        let when = crate::model::stats::local_time(s.at, "%H:%M");
        let who = match s.from_incident {
            Some(from) => format!("#{from} {}", lang.tr(k!("merged_caller"))),
            None => s.author.name.clone(),
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("{when} {who}：{}", s.text));
            // A merge found wrong is undone where its words show.
            if let Some(from) = s.from_incident
                && ui.small_button(format!("{} #{from}", lang.tr(k!("unlink")))).clicked()
            {
                cmds.push(Command::Act {
                    id: from,
                    then: Then::Unlink,
                    edits: None,
                });
            }
        });
    }
    let send = ui
        .horizontal(|ui| {
            let l = ui.label(lang.tr(k!("supplement")));
            let r = ui
                .add(
                    egui::TextEdit::singleline(text)
                        .id_salt("draft_supplement")
                        .desired_width((ui.available_width() - 110.0).clamp(80.0, 320.0)),
                )
                .labelled_by(l.id);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.button(lang.tr(k!("add_supplement"))).clicked() || enter
        })
        .inner;
    if send && !text.trim().is_empty() {
        cmds.push(Command::Supplement {
            id,
            text: std::mem::take(text).trim().to_owned(),
        });
    }
}

/// What the operator pressed in the location field while place names were
/// offered: read before the field draws, so Enter picks a name instead of
/// leaving the field.
#[derive(Debug, Clone, Copy, Default)]
struct PlaceKeys {
    down: bool,
    up: bool,
    enter: bool,
    escape: bool,
}

fn place_keys(ui: &mut Ui, desk: &mut crate::console::state::Desk) -> PlaceKeys {
    let focused = desk.location_field.is_some_and(|id| ui.memory(|m| m.has_focus(id)));
    if !desk.place_open || !focused {
        return PlaceKeys::default();
    }
    ui.input_mut(|i| PlaceKeys {
        down: i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown),
        up: i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp),
        enter: i.consume_key(egui::Modifiers::NONE, egui::Key::Enter),
        escape: i.consume_key(egui::Modifiers::NONE, egui::Key::Escape),
    })
}

/// The gazetteer's names completing what was typed, under the field:
/// ↓/↑ and Enter, or a click, put one in; Esc or leaving the field hides
/// them.
fn place_hints_ui(ui: &mut Ui, desk: &mut crate::console::state::Desk, field: &egui::Response, keys: PlaceKeys) {
    let Some(draft) = desk.draft.as_mut() else { return };
    let hints = crate::model::gazetteer::Gazetteer::shared().suggest(&draft.location, 6);
    if hints.is_empty() || keys.escape {
        desk.place_open = false;
        return;
    }
    if keys.down {
        desk.place_pick = (desk.place_pick + 1).min(hints.len() - 1);
    }
    if keys.up {
        desk.place_pick = desk.place_pick.saturating_sub(1);
    }
    let mut chosen = keys.enter.then_some(desk.place_pick.min(hints.len() - 1));
    let list = ui
        .vertical(|ui| {
            for (k, h) in hints.iter().enumerate() {
                let label = format!("{} · {}", h.name, h.context);
                if ui.selectable_label(k == desk.place_pick, label).clicked() {
                    chosen = Some(k);
                }
            }
        })
        .response;
    if let Some(k) = chosen {
        let h = &hints[k];
        let keep = draft.location.chars().count().saturating_sub(h.replaces);
        draft.location = draft.location.chars().take(keep).collect::<String>() + &h.name;
        desk.place_open = false;
        field.request_focus();
        return;
    }
    let over_list = ui.rect_contains_pointer(list.rect);
    if !field.has_focus() && !over_list {
        desk.place_open = false;
    }
}
