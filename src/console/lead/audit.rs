//! The audit log, filtered by operator, kind or call.

use super::*;

/// The audit trail, filtered by operator, incident, action and time range.
pub fn audit_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let mut search = state.lead.audit_asked.is_none();
    ui.horizontal(|ui| {
        let users: Vec<(UserId, String)> = state.lead.users.iter().map(|u| (u.id, u.name.clone())).collect();
        let actor = &mut state.lead.audit_actor;
        egui::ComboBox::new("audit_actor", lang.tr(k!("operator")))
            .selected_text(
                actor
                    .and_then(|a| users.iter().find(|(id, _)| *id == a))
                    .map_or(lang.tr(k!("all")).to_owned(), |(_, n)| n.clone()),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(actor, None, lang.tr(k!("all")));
                for (id, name) in &users {
                    ui.selectable_value(actor, Some(*id), name);
                }
            });
        let l = ui.label(lang.tr(k!("incident")));
        ui.add(
            egui::TextEdit::singleline(&mut state.lead.audit_incident)
                .id_salt("audit_incident")
                .desired_width(70.0),
        )
        .labelled_by(l.id);
        let l = ui.label(lang.tr(k!("action")));
        ui.add(
            egui::TextEdit::singleline(&mut state.lead.audit_kind)
                .id_salt("audit_kind")
                .desired_width(160.0),
        )
        .labelled_by(l.id);
        range_ui(ui, lang, &mut state.lead.range);
        search |= ui.button(lang.tr(k!("search"))).clicked();
    });
    if search {
        state.lead.audit_asked = Some(Instant::now());
        let (since, until) = state.lead.range.bounds(Utc::now());
        let incident_id = state.lead.audit_incident.trim().trim_start_matches('#').parse().ok();
        cmds.push(Command::LoadAudit(AuditFilter {
            actor_id: state.lead.audit_actor,
            incident_id,
            kind_prefix: Some(state.lead.audit_kind.trim().to_owned()).filter(|k| !k.is_empty()),
            since: Some(since),
            until: Some(until),
            limit: 1000,
        }));
    }
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    let mut unlink = None;
    let events = &state.lead.audit;
    egui::ScrollArea::vertical()
        .id_salt("audit")
        .auto_shrink([false, false])
        .show_rows(ui, row_height, events.len(), |ui, rows| {
            for e in &events[rows] {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(local_time(e.at, "%m-%d %H:%M:%S")).monospace());
                    ui.label(e.actor.as_ref().map_or("-", |a| a.name.as_str()));
                    let action = code_name(lang, &e.kind);
                    ui.label(if action == "?" {
                        e.kind.clone()
                    } else {
                        action.to_owned()
                    });
                    if let Some(i) = e.incident_id {
                        ui.label(format!("#{i}"));
                        // A merge found wrong later is undone from its audit line.
                        if e.kind == "incident.linked"
                            && ui.small_button(format!("{} #{i}", lang.tr(k!("unlink")))).clicked()
                        {
                            unlink = Some(i);
                        }
                    }
                    if let Some(n) = &e.note {
                        ui.label(RichText::new(n).italics());
                    }
                });
            }
        });
    if let Some(id) = unlink {
        cmds.push(Command::Act {
            id,
            then: Then::Unlink,
            edits: None,
        });
    }
}
