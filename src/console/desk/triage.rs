//! The triage panel: the suggestion, its reasons, the danger banner, co-notification.

use super::*;

/// The suggestion, the caller's history, duplicates and units.
pub fn triage_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let warned_at_intake = state.desk.draft.as_ref().is_some_and(|d| d.warned);
    if let Some(h) = &state.desk.history {
        // The live history, or the warning the call came in with (which the
        // call-quality review judges by, even if the flag was lifted since).
        if h.nuisance_warning().is_some() || warned_at_intake {
            egui::Frame::new().fill(RED).inner_margin(6.0).show(ui, |ui| {
                ui.label(
                    RichText::new(lang.tr(k!("nuisance_banner")))
                        .strong()
                        .color(Color32::WHITE),
                );
                if let Some(f) = h.flags.first() {
                    ui.label(
                        RichText::new(format!("{}: {}", code_name(lang, f.flag.as_str()), f.note))
                            .color(Color32::WHITE),
                    );
                }
                // Read, then judged as usual: the call-quality review asks
                // for it before a call from this number is closed as invalid.
                if let Some(d) = state.desk.draft.as_ref()
                    && let Some(id) = d.incident_id
                {
                    if d.warning_read {
                        ui.label(RichText::new(lang.tr(k!("warning_read_done"))).color(Color32::WHITE));
                    } else if ui.button(lang.tr(k!("mark_warning_read"))).clicked() {
                        cmds.push(Command::ReadWarning(id));
                    }
                }
            });
        }
        ui.label(format!(
            "{}: {} {} · {} {}",
            lang.tr(k!("history")),
            h.total_calls,
            lang.tr(k!("calls")),
            h.invalid_calls,
            lang.tr(k!("invalid_calls"))
        ));
    }
    ui.strong(lang.tr(k!("triage")));
    match &state.desk.suggestion {
        None => {
            ui.label("—");
        }
        Some(s) => {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(s.priority.as_str())
                        .strong()
                        .color(Color32::WHITE)
                        .background_color(priority_color(s.priority)),
                );
                ui.label(RichText::new(code_name(lang, s.category.as_str())).strong());
                // Never "100%": the model's probability, floored, is what the
                // reliability table calibrates; certainty it is not.
                let pct = (s.confidence * 100.0).floor().clamp(0.0, 99.0);
                ui.label(format!("{} {pct:.0}%", lang.tr(k!("confidence"))));
                ui.label(format!("→ {}", code_name(lang, s.agency.as_str())));
                if let Some(r) = s.runner_up {
                    ui.label(
                        RichText::new(format!("{}: {}", lang.tr(k!("runner_up")), code_name(lang, r.as_str()))).weak(),
                    );
                }
            });
            // The detector's verdict stands out: a call taker must not read a
            // life threat as a routine referral.
            if let Some(r) = s.reasons.iter().find(|r| r.rule.starts_with(DANGER_TO_LIFE)) {
                // The phrases that fired, or (from the model alone) the
                // engine's own words after the marker.
                let why = if r.keyword.is_empty() {
                    // From the model alone: its words, translated, after the
                    // marker the banner already says.
                    let full = reason_text(lang, r);
                    full.split_once('：')
                        .or_else(|| full.split_once(": "))
                        .map_or(full.clone(), |(_, why)| why.to_owned())
                } else {
                    r.keyword.replace('+', " · ")
                };
                ui.label(
                    RichText::new(format!("{} {why}", lang.tr(k!("danger_to_life"))))
                        .strong()
                        .color(Color32::WHITE)
                        .background_color(RED),
                );
            }
            if let Some(d) = &state.desk.draft {
                let spans: Vec<(usize, usize)> = s
                    .reasons
                    .iter()
                    .filter(|r| {
                        ["cue", "danger", DANGER_TO_LIFE, "model"]
                            .iter()
                            .any(|p| r.rule.starts_with(p))
                    })
                    .filter_map(|r| r.span)
                    .chain(danger_spans(&d.narrative, &s.reasons))
                    .collect();
                ui.label(highlighted(ui, &d.narrative, &spans));
            }
            ui.collapsing(lang.tr(k!("reasons")), |ui| {
                for r in &s.reasons {
                    ui.label(reason_text(lang, r));
                }
            });
        }
    }
    if !state.desk.duplicates.is_empty() {
        ui.separator();
        ui.strong(lang.tr(k!("duplicates")));
        let mut link = None;
        for (n, d) in state.desk.duplicates.iter().take(5).enumerate() {
            // "同一地点 · 12 分钟前 · 同类": why the operator should look.
            let mut why: Vec<String> = d
                .evidence
                .reasons
                .iter()
                .map(|r| code_name(lang, r.as_str()).to_owned())
                .collect();
            why.insert(
                1.min(why.len()),
                format!("{} {}", d.evidence.minutes_apart, lang.tr(k!("minutes_ago"))),
            );
            if let Some(m) = d.evidence.metres {
                why.push(format!("{m:.0} {}", lang.tr(k!("metres"))));
            }
            ui.horizontal(|ui| {
                priority_badge(ui, d.incident.effective_priority());
                ui.label(format!(
                    "#{} {}",
                    d.incident.id,
                    d.incident.narrative.chars().take(16).collect::<String>()
                ));
            });
            ui.horizontal(|ui| {
                ui.label(RichText::new(why.join(" · ")).weak());
                if state.desk.draft.as_ref().and_then(|x| x.incident_id).is_some() {
                    let label = if n == 0 {
                        format!("{} #{}", lang.tr(k!("link_duplicate")), d.incident.id)
                    } else {
                        format!("{} #{}", lang.tr(k!("link_to")), d.incident.id)
                    };
                    if ui.small_button(label).clicked() {
                        link = Some(d.incident.id);
                    }
                }
            });
        }
        if let Some(of) = link {
            ask_link(state, of);
        }
    }
    let co = state
        .desk
        .draft
        .as_ref()
        .map(|d| co_notify(d, state.desk.suggestion.as_ref()))
        .unwrap_or_default();
    if state.desk.recommendation.is_some() && state.desk.draft.as_ref().and_then(|x| x.incident_id).is_some() {
        ui.separator();
        co_notify_ui(ui, state, &co);
    }
    let mut chosen = None;
    if let Some(rec) = &state.desk.recommendation {
        ui.strong(lang.tr(k!("units")));
        place_ui(ui, lang, rec);
        if rec.units.is_empty() {
            ui.label(lang.tr(k!("no_units")));
        }
        let id = state.desk.draft.as_ref().and_then(|x| x.incident_id);
        let best = best_available(state).map(|u| u.id);
        for offer in rec.units.iter().take(6) {
            let u = &offer.unit;
            let status = live_status(state, u);
            ui.horizontal(|ui| {
                ui.label(format!("{} · {}", u.name, code_name(lang, u.kind.as_str())));
                if let Some(d) = offer.distance_m {
                    ui.label(RichText::new(distance_text(d)).monospace());
                }
                if status != UnitStatus::Available {
                    // Shown so the operator knows it is near, not offered.
                    ui.label(RichText::new(code_name(lang, status.as_str())).color(unit_color(status)));
                } else if let Some(id) = id {
                    let plus: String = co.iter().map(|a| format!(" + {}", a.as_str())).collect();
                    let label = if best == Some(u.id) {
                        format!("{} {}{plus}", lang.tr(k!("dispatch")), u.name)
                    } else {
                        format!("{} {}{plus}", lang.tr(k!("dispatch_unit")), u.name)
                    };
                    if ui.small_button(label).clicked() {
                        chosen = Some((
                            id,
                            Then::Dispatch {
                                unit_id: u.id,
                                co_notify: co.clone(),
                            },
                        ));
                    }
                }
            });
        }
    }
    if let Some((id, then)) = chosen {
        match act(state, id, then) {
            Ok(c) => cmds.push(c),
            Err(e) => state.notice(crate::console::i18n::domain_error(lang, &e), true),
        }
    }
}

/// How the call's location was read: the division and station, the words
/// that decided it, and a warning when the reading is vague or missing.
fn place_ui(ui: &mut Ui, lang: Lang, rec: &crate::api::Recommendation) {
    let Some(p) = &rec.place else {
        ui.label(RichText::new(lang.tr(k!("place_unresolved"))).color(AMBER));
        return;
    };
    let division = [p.prefecture.as_ref(), p.county.as_ref()]
        .into_iter()
        .flatten()
        .map(|d| d.name.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let station = rec
        .jurisdiction
        .as_ref()
        .map(|j| j.station.as_str())
        .unwrap_or_default();
    let how = code_name(lang, p.how.as_str());
    let line = format!("{division} {station} · {how}: {}", p.matched);
    if p.confidence < 0.5 {
        ui.label(RichText::new(format!("{line} · {}", lang.tr(k!("place_vague")))).color(AMBER));
    } else {
        ui.label(RichText::new(line).weak());
    }
}

/// "850 m", "12.4 km".
pub(crate) fn distance_text(metres: f64) -> String {
    if metres < 1_000.0 {
        format!("{:.0} m", (metres / 10.0).round() * 10.0)
    } else {
        format!("{:.1} km", metres / 1_000.0)
    }
}

/// Every phrase the danger detector combined ("棍子+拿着+流血"), located in
/// the narrative: the reason carries one span, the operator should see all.
pub(crate) fn danger_spans(narrative: &str, reasons: &[crate::model::Reason]) -> Vec<(usize, usize)> {
    let chars: Vec<char> = narrative.chars().collect();
    reasons
        .iter()
        .filter(|r| r.rule.starts_with(DANGER_TO_LIFE))
        .flat_map(|r| r.keyword.split('+'))
        .filter_map(|word| {
            let start = crate::triage::find_chars(&chars, word)?;
            Some((start, start + word.chars().count()))
        })
        .collect()
}

/// 119 or 120 notified with the patrol when the call (or its suggestion)
/// names them: one action for a fire with people trapped.
pub(crate) fn co_notify(draft: &Draft, suggestion: Option<&Suggestion>) -> Vec<Agency> {
    if let Some(chosen) = &draft.co_notify {
        return chosen.clone();
    }
    draft
        .agency
        .or(suggestion.map(|s| s.agency))
        .filter(|a| matches!(a, Agency::Fire | Agency::Ambulance))
        .into_iter()
        .collect()
}

/// 119 and 120 to tick beside the dispatch: preset from the call, changed
/// with one click, sent in the same action as the patrol.
pub(crate) fn co_notify_ui(ui: &mut Ui, state: &mut ConsoleState, current: &[Agency]) {
    let lang = state.lang();
    let Some(draft) = state.desk.draft.as_mut() else { return };
    const BOXES: [Agency; 2] = [Agency::Fire, Agency::Ambulance];
    ui.horizontal(|ui| {
        ui.label(lang.tr(k!("co_notify")));
        for agency in BOXES {
            let mut on = current.contains(&agency);
            if ui.checkbox(&mut on, code_name(lang, agency.as_str())).changed() {
                let mut chosen: Vec<Agency> = current.iter().copied().filter(|a| *a != agency).collect();
                if on {
                    chosen.push(agency);
                    chosen.sort_by_key(|a| BOXES.iter().position(|b| b == a));
                }
                draft.co_notify = Some(chosen);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_of_a_danger_reason_is_highlighted() {
        let reasons = vec![crate::model::Reason {
            keyword: "棍子+拿着+流血".into(),
            span: Some((8, 10)),
            rule: format!("{DANGER_TO_LIFE}: a weapon used and blood"),
        }];
        let text = "村口有人打架，手里拿着棍子，已经有人流血了";
        let spans = danger_spans(text, &reasons);
        let words: Vec<String> = spans
            .iter()
            .map(|(a, b)| text.chars().skip(*a).take(b - a).collect())
            .collect();
        assert_eq!(words, ["棍子", "拿着", "流血"]);
        assert!(danger_spans("短", &reasons).is_empty());
    }
}
