//! Alerts and queue oversight: who holds what for how long, and the lead's
//! overrides (release, reassign, reprioritise) with their reasons.

use super::*;

/// Harassment waves, long waits and stale holds, in red until they clear.
/// Drawn in a side panel of its own, so alerts coming and going never move
/// the buttons the lead is about to click.
pub fn alerts_ui(ui: &mut Ui, state: &ConsoleState) {
    let lang = state.lang();
    let a = &state.lead.alerts;
    ui.strong(lang.tr(k!("alerts")));
    if a.is_empty() {
        ui.label(RichText::new(lang.tr(k!("no_alerts"))).color(GREEN));
        return;
    }
    let now = Utc::now();
    let alert = |ui: &mut Ui, text: String| {
        egui::Frame::new()
            .fill(Color32::from_rgb(0x5a, 0x14, 0x10))
            .inner_margin(4.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new(text).strong().color(Color32::WHITE));
            });
    };
    let window = crate::model::stats::AlertQuery::default().wave_mins;
    egui::ScrollArea::vertical().id_salt("alerts").show(ui, |ui| {
        for w in &a.waves {
            alert(
                ui,
                format!(
                    "{} {}: {} {} / {window} {}",
                    lang.tr(k!("alert_wave")),
                    w.phone,
                    w.calls,
                    lang.tr(k!("times")),
                    lang.tr(k!("minutes"))
                ),
            );
        }
        for h in &a.stale_holds {
            alert(
                ui,
                format!(
                    "{} #{} {} {}",
                    lang.tr(k!("alert_hold")),
                    h.incident_id,
                    h.holder.name,
                    wait_text((now - h.held_since).num_seconds().max(0))
                ),
            );
        }
        if let Some(oldest) = a.long_waits.iter().map(|w| w.received_at).min() {
            alert(
                ui,
                format!(
                    "{} ({}), {} {}",
                    lang.tr(k!("alert_wait")),
                    a.long_waits.len(),
                    lang.tr(k!("oldest_wait")),
                    wait_text((now - oldest).num_seconds().max(0)),
                ),
            );
            ui.horizontal_wrapped(|ui| {
                for w in &a.long_waits {
                    ui.label(RichText::new(format!("#{}", w.incident_id)).color(priority_color(w.priority)));
                }
            });
        }
    });
}

/// Every open call with its holder and how long they have held it, with the
/// lead's overrides.
pub fn oversight_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    override_form_ui(ui, state, cmds);
    let now = Utc::now();
    let ids = state.sorted_ids().to_vec();
    let (amber, red) = (state.prefs.amber_secs, state.prefs.red_secs);
    let on_shift: Vec<&str> = state.lead.operators().map(|u| u.name.as_str()).collect();
    ui.label(format!(
        "{}: {}",
        lang.tr(k!("on_shift")),
        if on_shift.is_empty() {
            "—".to_owned()
        } else {
            on_shift.join("、")
        }
    ));
    egui::ScrollArea::vertical().id_salt("oversight").show(ui, |ui| {
        egui::Grid::new("oversight_grid").striped(true).show(ui, |ui| {
            for key in [
                k!("id"),
                k!("priority"),
                k!("wait"),
                k!("summary"),
                k!("held_by"),
                k!("held_for"),
                k!("action"),
            ] {
                ui.strong(lang.tr(key));
            }
            ui.end_row();
            for id in ids {
                let Some(inc) = state.queue.calls.get(&id) else {
                    continue;
                };
                let p = inc.priority;
                ui.label(format!("#{id}"));
                priority_badge(ui, p);
                wait_label(ui, (now - inc.received_at).num_seconds().max(0), amber, red);
                ui.label(first_words(lang, inc, 16));
                match (&inc.holder, inc.held_since) {
                    (Some(h), since) => {
                        ui.label(&h.name);
                        ui.label(since.map_or("-".into(), |s| wait_text((now - s).num_seconds().max(0))));
                    }
                    (None, _) => {
                        ui.label(RichText::new(lang.tr(k!("not_taken"))).weak());
                        ui.label("-");
                    }
                }
                ui.horizontal(|ui| {
                    if ui.button(format!("{} #{id}", lang.tr(k!("reassign")))).clicked() {
                        state.lead.editing = Some(Override {
                            incident_id: id,
                            kind: OverrideKind::Reassign(None),
                            reason: String::new(),
                        });
                    }
                    if ui.button(format!("{} #{id}", lang.tr(k!("set_priority")))).clicked() {
                        state.lead.editing = Some(Override {
                            incident_id: id,
                            kind: OverrideKind::Priority(p),
                            reason: String::new(),
                        });
                    }
                    if inc.holder.is_some() && ui.button(format!("{} #{id}", lang.tr(k!("free_call")))).clicked() {
                        state.lead.editing = Some(Override {
                            incident_id: id,
                            kind: OverrideKind::Release,
                            reason: String::new(),
                        });
                    }
                });
                ui.end_row();
            }
        });
    });
}

pub(crate) fn override_form_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let operators: Vec<(UserId, String)> = state.lead.operators().map(|u| (u.id, u.name.clone())).collect();
    let Some(edit) = &mut state.lead.editing else { return };
    let mut done = false;
    let mut problem = None;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal(|ui| {
            match &mut edit.kind {
                OverrideKind::Reassign(to) => {
                    let chosen = to
                        .and_then(|id| operators.iter().find(|(u, _)| *u == id))
                        .map_or(lang.tr(k!("choose")).to_owned(), |(_, n)| n.clone());
                    egui::ComboBox::new(
                        "reassign_to",
                        format!("{} #{}", lang.tr(k!("to_operator")), edit.incident_id),
                    )
                    .selected_text(chosen)
                    .show_ui(ui, |ui| {
                        for (id, name) in &operators {
                            ui.selectable_value(to, Some(*id), name);
                        }
                    });
                }
                OverrideKind::Release => {
                    ui.label(format!("{} #{}", lang.tr(k!("free_call")), edit.incident_id));
                }
                OverrideKind::Priority(p) => {
                    egui::ComboBox::new(
                        "set_priority",
                        format!("{} #{}", lang.tr(k!("set_priority")), edit.incident_id),
                    )
                    .selected_text(code_name(lang, p.as_str()))
                    .show_ui(ui, |ui| {
                        for v in Priority::ALL {
                            ui.selectable_value(p, *v, code_name(lang, v.as_str()));
                        }
                    });
                }
            }
            let l = ui.label(lang.tr(k!("reason")));
            ui.add(
                egui::TextEdit::singleline(&mut edit.reason)
                    .id_salt("override_reason")
                    .desired_width(260.0),
            )
            .labelled_by(l.id);
            if ui.button(lang.tr(k!("confirm"))).clicked() {
                let reason = edit.reason.trim().to_owned();
                match edit.kind {
                    _ if reason.is_empty() => problem = Some(lang.tr(k!("reason_needed"))),
                    OverrideKind::Reassign(None) => problem = Some(lang.tr(k!("to_operator"))),
                    OverrideKind::Reassign(Some(to)) => {
                        cmds.push(Command::Reassign {
                            id: edit.incident_id,
                            to,
                            reason,
                        });
                        done = true;
                    }
                    OverrideKind::Release => {
                        cmds.push(Command::FreeCall {
                            id: edit.incident_id,
                            reason,
                        });
                        done = true;
                    }
                    OverrideKind::Priority(priority) => {
                        cmds.push(Command::Reprioritise {
                            id: edit.incident_id,
                            priority,
                            reason,
                        });
                        done = true;
                    }
                }
            }
            if ui.button(lang.tr(k!("cancel"))).clicked() {
                done = true;
            }
        });
    });
    if done {
        state.lead.editing = None;
    }
    if let Some(p) = problem {
        state.notice(p, true);
    }
}
