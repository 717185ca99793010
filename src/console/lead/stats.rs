//! Shift statistics: the figures, the timings, how often triage was kept,
//! and the charts.

use super::*;

pub(crate) fn timing_row(ui: &mut Ui, lang: Lang, key: Key, t: &Timing) {
    ui.label(lang.tr(key));
    ui.label(format!("{} {}", lang.tr(k!("median")), secs_text(lang, t.p50_secs)));
    ui.label(format!("{} {}", lang.tr(k!("p90")), secs_text(lang, t.p90_secs)));
    match (t.threshold_secs, t.share_within()) {
        (Some(th), Some(share)) => ui.label(format!(
            "{} ≤{th}{}: {} ({}/{})",
            lang.tr(k!("within_target")),
            lang.tr(k!("seconds_unit")),
            pct(share),
            t.within,
            t.judged
        )),
        _ => ui.label(format!("{} {}", lang.tr(k!("samples")), t.count)),
    };
    ui.end_row();
}

/// Shift statistics computed by the service, with charts.
pub fn stats_ui(ui: &mut Ui, state: &mut ConsoleState, cmds: &mut Vec<Command>) {
    let lang = state.lang();
    let (from, to) = state.lead.range.bounds(Utc::now());
    ui.horizontal(|ui| {
        if range_ui(ui, lang, &mut state.lead.range) {
            state.lead.stats_asked = None;
        }
        if ui.button(lang.tr(k!("refresh"))).clicked() {
            state.lead.stats_asked = None;
        }
        if ui.button(lang.tr(k!("export_csv"))).clicked() {
            cmds.push(Command::Export(ExportJob::Incidents { from, to }));
        }
    });
    load_stats_when_stale(state, cmds);
    let Some(s) = &state.lead.stats else {
        ui.label(lang.tr(k!("loading")));
        return;
    };
    // A range in days spans years: the year is said.
    let span_format = if s.by_day() { "%Y-%m-%d %H:%M" } else { "%m-%d %H:%M" };
    ui.label(
        RichText::new(format!(
            "{} ~ {}",
            local_time(s.from, span_format),
            local_time(s.to, span_format)
        ))
        .weak(),
    );
    egui::ScrollArea::vertical().id_salt("stats").show(ui, |ui| {
        let c = &s.classes;
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!("{}: {}", lang.tr(k!("total_calls")), s.total));
            for (key, n) in [
                (k!("police_calls"), c.police),
                (k!("non_police_calls"), c.non_police),
                (k!("invalid_share"), c.invalid),
                (k!("unclassified"), c.unclassified),
            ] {
                ui.label(format!("{}: {} ({})", lang.tr(key), n, pct(c.share(n))));
            }
        });
        ui.horizontal_wrapped(|ui| {
            for ch in Channel::ALL {
                ui.label(format!(
                    "{}: {}",
                    code_name(lang, ch.as_str()),
                    s.by_channel.get(ch).copied().unwrap_or(0)
                ));
            }
            ui.separator();
            ui.label(format!(
                "{}: {} ({} {})",
                lang.tr(k!("queue_depth")),
                s.queue.depth,
                s.queue.unclaimed,
                lang.tr(k!("unclaimed"))
            ));
            ui.label(format!(
                "{}: {}",
                lang.tr(k!("oldest_wait")),
                s.queue.oldest_wait_secs.map_or("-".into(), wait_text)
            ));
        });
        egui::Grid::new("timings").striped(true).show(ui, |ui| {
            timing_row(ui, lang, k!("claim_delay"), &s.claim);
            timing_row(ui, lang, k!("dispatch_delay"), &s.dispatch);
            timing_row(ui, lang, k!("on_scene_delay"), &s.on_scene);
            timing_row(ui, lang, k!("kpi_ack"), &s.kpis.ack);
            timing_row(ui, lang, k!("kpi_out"), &s.kpis.out);
            timing_row(ui, lang, k!("kpi_feedback"), &s.kpis.feedback);
            ui.label(lang.tr(k!("followup_coverage")));
            let f = &s.followups;
            ui.label(format!("{}/{}", f.done, f.opened));
            ui.label(format!(
                "{} {}",
                lang.tr(k!("satisfaction")),
                f.satisfaction().map_or_else(|| "-".to_owned(), pct)
            ));
            ui.label("");
            ui.end_row();
        });
        ui.separator();
        egui::Grid::new("operators").striped(true).show(ui, |ui| {
            for key in [k!("operator"), k!("handled"), k!("avg_handling"), k!("holding")] {
                ui.strong(lang.tr(key));
            }
            ui.end_row();
            for o in &s.operators {
                ui.label(&o.operator.name);
                ui.label(o.handled.to_string());
                ui.label(secs_text(lang, o.avg_handling_secs));
                ui.label(o.holding.to_string());
                ui.end_row();
            }
        });
        ui.separator();
        triage_agreement_ui(ui, lang, s);
        ui.separator();
        agency_work_ui(ui, lang, s);
        ui.separator();
        charts_ui(ui, lang, s);
    });
}

/// Each linked agency's orders of the range: accepted, handed back,
/// closed, overdue now, and its mean times to accept and to close.
pub(crate) fn agency_work_ui(ui: &mut Ui, lang: Lang, s: &ShiftStats) {
    ui.strong(lang.tr(k!("agency_work")));
    if s.agency_work.is_empty() {
        ui.label(RichText::new(lang.tr(k!("no_referrals_in_range"))).weak());
        return;
    }
    egui::Grid::new("agency_work").striped(true).show(ui, |ui| {
        for key in [
            k!("agency"),
            k!("referrals_sent"),
            k!("accepted_n"),
            k!("returned_n"),
            k!("closed_n"),
            k!("overdue"),
            k!("avg_accept"),
            k!("avg_close"),
        ] {
            ui.strong(lang.tr(key));
        }
        ui.end_row();
        for w in &s.agency_work {
            ui.label(code_name(lang, w.agency.as_str()));
            ui.label(w.sent.to_string());
            ui.label(w.accepted.to_string());
            ui.label(w.returned.to_string());
            ui.label(w.closed.to_string());
            if w.overdue > 0 {
                ui.label(RichText::new(w.overdue.to_string()).strong().color(RED));
            } else {
                ui.label("0");
            }
            ui.label(secs_text(lang, w.avg_accept_secs));
            ui.label(secs_text(lang, w.avg_close_secs));
            ui.end_row();
        }
    });
}

/// Where operators keep triage's suggestions and where they overrule them:
/// a low share tells the lead which kind of call triage should not be
/// trusted on yet.
pub(crate) fn triage_agreement_ui(ui: &mut Ui, lang: Lang, s: &ShiftStats) {
    ui.strong(lang.tr(k!("triage_agreement")));
    if s.triage_agreement.is_empty() {
        ui.label(RichText::new(lang.tr(k!("no_confirmed_calls"))).weak());
        return;
    }
    let (confirmed, kept) = s
        .triage_agreement
        .iter()
        .fold((0, 0), |(c, k), a| (c + a.confirmed, k + a.kept_category));
    ui.label(format!(
        "{} {kept}/{confirmed} ({:.0}%)",
        lang.tr(k!("kept_overall")),
        100.0 * kept as f64 / confirmed.max(1) as f64
    ));
    egui::Grid::new("triage_agreement").striped(true).show(ui, |ui| {
        for key in [
            k!("suggested_category"),
            k!("confirmed_calls"),
            k!("kept_category"),
            k!("kept_priority"),
        ] {
            ui.strong(lang.tr(key));
        }
        ui.end_row();
        for a in &s.triage_agreement {
            ui.label(code_name(lang, a.suggested.as_str()));
            ui.label(a.confirmed.to_string());
            let share = a.share();
            let color = if share >= 0.9 {
                GREEN
            } else if share >= 0.7 {
                AMBER
            } else {
                RED
            };
            ui.label(RichText::new(format!("{} ({:.0}%)", a.kept_category, share * 100.0)).color(color));
            ui.label(format!(
                "{} ({:.0}%)",
                a.kept_priority,
                100.0 * a.kept_priority as f64 / a.confirmed.max(1) as f64
            ));
            ui.end_row();
        }
    });
}

pub(crate) fn channel_color(c: Channel) -> Color32 {
    match c {
        Channel::Voice => Color32::from_rgb(0x3b, 0x7d, 0xd8),
        Channel::Sms => Color32::from_rgb(0x2e, 0x9d, 0x4f),
        Channel::Wechat => Color32::from_rgb(0x8b, 0xc3, 0x4a),
        Channel::Web => Color32::from_rgb(0xe6, 0x9b, 0x00),
    }
}

/// A chart that stays put: a wall of statistics is read, not explored, and a
/// stray scroll must not zoom it away.
pub(crate) fn still_plot(id: &str, height: f32) -> Plot<'static> {
    Plot::new(id)
        .height(height)
        // Room for three-digit counts from the first frame on.
        .y_axis_min_width(32.0)
        .y_grid_spacer(egui_plot::uniform_grid_spacer(count_steps))
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
}

/// Grid steps for a count axis: a round step (1, 2 or 5 × 10ⁿ) giving about
/// four labelled lines over the visible range, so 91 calls reads against
/// 0 · 25 · 50 · 75 · 100 rather than against a lone "100".
pub(crate) fn count_steps(input: egui_plot::GridInput) -> [f64; 3] {
    let span = (input.bounds.1 - input.bounds.0).abs().max(1.0);
    let step = nice_step(span / 4.0);
    [step, step * 5.0, step * 10.0]
}

/// The smallest 1, 2, 2.5 or 5 × 10ⁿ at least `raw` (and at least 1: counts are whole).
pub(crate) fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw - 1e-9)
        .unwrap_or(10.0 * magnitude)
}

/// Axis labels for bars at 0, 1, 2…: the name of each bar at its index.
pub(crate) fn index_labels(
    names: Vec<String>,
) -> impl Fn(egui_plot::GridMark, &std::ops::RangeInclusive<f64>) -> String {
    move |m, _| {
        let i = m.value.round();
        if (m.value - i).abs() < 1e-6 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    }
}

pub(crate) fn charts_ui(ui: &mut Ui, lang: Lang, s: &ShiftStats) {
    let height = 180.0;
    let daily = s.by_day();
    ui.strong(lang.tr(if daily {
        k!("calls_per_day")
    } else {
        k!("calls_per_hour")
    }));
    // The axis spans the whole range, hours still to come included, so the
    // shape of the shift so far reads at a glance.
    // Bars are hours, or days for a range over a month.
    let step = s.bucket_hours.max(1);
    let origin = crate::model::stats::bucket_origin(s.from, step);
    let span = ((s.to - origin).num_minutes() + step * 60 - 1)
        .div_euclid(step * 60)
        .max(1);
    let format = if daily { "%m-%d" } else { "%H:00" };
    let hour_labels: Vec<String> = (0..span)
        .map(|h| local_time(origin + Duration::hours(h * step), format))
        .collect();
    let x_range = [-0.5, span as f64 - 0.5];
    still_plot("calls_per_hour", height)
        // Top left: the newest hours are on the right.
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .include_y(0.0)
        .include_x(x_range[0])
        .include_x(x_range[1])
        .x_axis_formatter(index_labels(hour_labels.clone()))
        .show(ui, |plot| {
            let mut below: Vec<BarChart> = Vec::new();
            for ch in Channel::ALL {
                let bars = s
                    .hourly
                    .iter()
                    .enumerate()
                    .map(|(i, b)| Bar::new(i as f64, b.by_channel.get(ch).copied().unwrap_or(0) as f64).width(0.7))
                    .collect();
                let refs: Vec<&BarChart> = below.iter().collect();
                let chart = BarChart::new(code_name(lang, ch.as_str()), bars)
                    .color(channel_color(*ch))
                    .stack_on(&refs);
                below.push(chart);
            }
            for chart in below {
                plot.bar_chart(chart);
            }
        });

    ui.columns(2, |cols| {
        breakdown_ui(
            &mut cols[0],
            lang.tr(k!("by_category")),
            Category::ALL
                .iter()
                .map(|c| {
                    (
                        code_name(lang, c.as_str()).to_owned(),
                        s.by_category.get(c).copied().unwrap_or(0),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
        );
        breakdown_ui(
            &mut cols[1],
            lang.tr(k!("by_agency")),
            s.by_agency
                .iter()
                .map(|(a, n)| (code_name(lang, a.as_str()).to_owned(), *n))
                .collect(),
        );
    });

    ui.strong(lang.tr(if daily {
        k!("depth_by_day")
    } else {
        k!("depth_over_time")
    }));
    let points: PlotPoints = s
        .hourly
        .iter()
        .enumerate()
        .map(|(i, b)| [i as f64, b.queue_depth as f64])
        .collect();
    let markers: Vec<[f64; 2]> = points.points().iter().map(|p| [p.x, p.y]).collect();
    still_plot("queue_depth", height * 0.8)
        .include_y(0.0)
        .include_x(x_range[0])
        .include_x(x_range[1])
        .x_axis_formatter(index_labels(hour_labels))
        .show(ui, |plot| {
            plot.line(Line::new(lang.tr(k!("queue_depth")), points).color(RED).width(2.0));
            // A single hour is one point, which a line alone would not show.
            plot.points(Points::new(lang.tr(k!("queue_depth")), markers).color(RED).radius(3.0));
        });
}

/// Counts as labelled horizontal bars: names stay readable at any count,
/// which a plot's axis labels are not.
pub(crate) fn breakdown_ui(ui: &mut Ui, title: &str, mut rows: Vec<(String, i64)>) {
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    ui.strong(title);
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f32;
    if rows.is_empty() {
        ui.label(RichText::new("-").weak());
    }
    egui::Grid::new(title).show(ui, |ui| {
        for (name, n) in rows {
            ui.label(name);
            let full = 220.0;
            let (rect, _) = ui.allocate_exact_size(egui::vec2(full, 14.0), egui::Sense::hover());
            let mut bar = rect;
            bar.set_width(full * n as f32 / max);
            ui.painter().rect_filled(bar, 2.0, AMBER);
            ui.label(n.to_string());
            ui.end_row();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::nice_step;

    #[test]
    fn count_axis_steps_are_round() {
        // 0–91 calls over four lines: 25 apiece; small counts never go below 1.
        assert_eq!(nice_step(91.0 / 4.0), 25.0);
        assert_eq!(nice_step(150.0 / 4.0), 50.0);
        assert_eq!(nice_step(3.0 / 4.0), 1.0);
        assert_eq!(nice_step(7.0 / 4.0), 2.0);
        assert_eq!(nice_step(4400.0 / 4.0), 2000.0);
    }
}
