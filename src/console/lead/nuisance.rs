//! Nuisance callers: the ranking over a range, flags, and a caller's dossier.

use super::*;

/// Numbers ranked by invalid calls, flags, and the dossier of one number.
pub fn nuisance_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    ui.horizontal(|ui| {
        if range_ui(ui, lang, &mut state.lead.nuisance_range) {
            state.lead.nuisance_asked = None;
        }
        if ui.button(lang.tr(k!("refresh"))).clicked() {
            state.lead.nuisance_asked = None;
        }
    });
    if due(&mut state.lead.nuisance_asked) {
        let (from, to) = state.lead.nuisance_range.bounds(Utc::now());
        cmds.push(Command::LoadNuisance { from, to });
    }
    egui::Grid::new("nuisance_grid").striped(true).show(ui, |ui| {
        for key in [
            k!("phone"),
            k!("total_calls"),
            k!("invalid_share"),
            k!("wasted"),
            k!("flags"),
            k!("last_call"),
        ] {
            ui.strong(lang.tr(key));
        }
        ui.end_row();
        for n in &state.lead.nuisance {
            let phone = n.phone.to_string();
            let selected = state.lead.selected.as_deref() == Some(phone.as_str());
            if ui.selectable_label(selected, &phone).clicked() {
                state.lead.selected = Some(phone.clone());
                state.lead.history = None;
                state.lead.dossier = None;
                cmds.push(Command::History(phone.clone()));
            }
            ui.label(n.total_calls.to_string());
            ui.label(RichText::new(n.invalid_calls.to_string()).color(RED));
            ui.label(n.wasted_dispatches.to_string());
            ui.label(n.active_flags.to_string());
            ui.label(local_time(n.last_call_at, "%m-%d %H:%M"));
            ui.end_row();
        }
    });
    ui.separator();
    let Some(phone) = state.lead.selected.clone() else {
        return;
    };
    ui.horizontal(|ui| {
        ui.strong(&phone);
        if ui.button(format!("{} {phone}", lang.tr(k!("dossier_csv")))).clicked() {
            cmds.push(Command::Export(ExportJob::DossierCsv(phone.clone())));
        }
        if ui.button(format!("{} {phone}", lang.tr(k!("dossier_html")))).clicked() {
            cmds.push(Command::Export(ExportJob::DossierHtml(phone.clone())));
        }
        if ui.button(format!("{} {phone}", lang.tr(k!("view_dossier")))).clicked() {
            cmds.push(Command::LoadDossier(phone.clone()));
        }
    });
    if let Some(d) = &state.lead.dossier {
        dossier_ui(ui, lang, d);
    }
    if let Some(h) = &state.lead.history {
        for f in &h.flags {
            ui.horizontal(|ui| {
                ui.label(RichText::new(code_name(lang, f.flag.as_str())).color(RED));
                ui.label(&f.note);
                ui.label(RichText::new(&f.created_by.name).weak());
                if ui.button(format!("{} {}", lang.tr(k!("unflag")), f.id)).clicked() {
                    cmds.push(Command::Unflag {
                        id: f.id,
                        phone: phone.clone(),
                    });
                }
            });
        }
    }
    ui.horizontal(|ui| {
        let kind = &mut state.lead.flag_kind;
        egui::ComboBox::new("flag_kind", lang.tr(k!("flag_kind")))
            .selected_text(kind.map_or(lang.tr(k!("choose")), |k| code_name(lang, k.as_str())))
            .show_ui(ui, |ui| {
                for k in CallerFlagKind::ALL {
                    ui.selectable_value(kind, Some(*k), code_name(lang, k.as_str()));
                }
            });
        let l = ui.label(lang.tr(k!("note")));
        ui.add(
            egui::TextEdit::singleline(&mut state.lead.flag_note)
                .id_salt("flag_note")
                .desired_width(260.0),
        )
        .labelled_by(l.id);
        if ui.button(format!("{} {phone}", lang.tr(k!("flag")))).clicked() {
            match (state.lead.flag_kind, state.lead.flag_note.trim()) {
                (Some(kind), note) if !note.is_empty() => {
                    cmds.push(Command::Flag {
                        phone: phone.clone(),
                        kind,
                        note: note.to_owned(),
                    });
                    state.lead.flag_note.clear();
                }
                _ => state.notice(lang.tr(k!("reason_needed")), true),
            }
        }
    });
}

/// A caller's dossier on screen: every call, oldest first, with the lines
/// added to it later — what the printed dossier holds.
pub(crate) fn dossier_ui(ui: &mut Ui, lang: Lang, d: &crate::model::stats::Dossier) {
    ui.label(format!(
        "{} {} · {} {} · {} {}",
        lang.tr(k!("total_calls")),
        d.total_calls,
        lang.tr(k!("invalid_share")),
        d.invalid_calls,
        lang.tr(k!("wasted")),
        d.wasted_dispatches
    ));
    egui::ScrollArea::vertical()
        .id_salt("dossier")
        .max_height(320.0)
        .show(ui, |ui| {
            for i in &d.incidents {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(local_time(i.received_at, "%Y-%m-%d %H:%M")).monospace());
                    ui.label(format!("#{}", i.id));
                    ui.label(code_name(lang, i.channel.as_str()));
                    if let Some(c) = i.effective_category() {
                        ui.label(code_name(lang, c.as_str()));
                    }
                    ui.label(code_name(lang, i.status.as_str()));
                    ui.label(&i.narrative);
                });
                for s in d.supplements.iter().filter(|s| s.incident_id == i.id) {
                    ui.label(
                        RichText::new(format!(
                            "    + {} {}：{}",
                            local_time(s.at, "%H:%M"),
                            s.author.name,
                            s.text
                        ))
                        .weak(),
                    );
                }
            }
        });
}
