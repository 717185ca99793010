//! The situation map, drawn offline from the bundled geodata (no tiles,
//! nothing fetched): division outlines and names, calls coloured by
//! priority (P1 blinking), units by status with a line to their call, the
//! open call's place, and for the shift lead a heat layer of recent calls.
//! Pan by dragging, zoom with the wheel or a pinch, hover for details.
//!
//! Owns: the map's view (centre, zoom, layers) and drawing. Must not touch:
//! the network (a click is returned as a [`MapClick`] for the caller to turn
//! into a command), the form.

use std::collections::HashMap;
use std::time::Duration;

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Shape, Stroke, Ui, pos2, vec2};

use crate::console::i18n::{Lang, code_name};
use crate::console::widgets::{priority_color, unit_color};
use crate::k;
use crate::model::geo::{GeoData, GeoPoint, Level};
use crate::model::{Category, IncidentId, MapIncident, Priority, Unit};

/// Where the map looks and what it shows; runtime state, not a preference.
#[derive(Debug, Clone, PartialEq)]
pub struct MapView {
    pub centre: GeoPoint,
    /// Screen points per degree of latitude; 0 fits the province on the
    /// next frame.
    pub scale: f32,
    /// The lead's heat layer of recent calls.
    pub heat: bool,
    /// Only this category in the heat layer; `None` for all.
    pub heat_category: Option<Category>,
    /// Where the map was last drawn on screen.
    pub rect: Option<Rect>,
}

impl MapView {
    /// Where `p` was drawn on the last frame, if the map was drawn.
    pub fn screen_pos(&self, p: GeoPoint) -> Option<Pos2> {
        let rect = self.rect?;
        Some(
            Projection {
                centre: self.centre,
                k: self.scale,
                origin: rect.center(),
            }
            .pos(p),
        )
    }
}

impl Default for MapView {
    fn default() -> Self {
        MapView {
            centre: GeoPoint::new(43.7, 126.2),
            scale: 0.0,
            heat: true,
            heat_category: None,
            rect: None,
        }
    }
}

/// A call on the map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker {
    pub id: IncidentId,
    pub at: GeoPoint,
    pub priority: Priority,
}

/// What a click on the map meant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MapClick {
    Incident(IncidentId),
    Place(GeoPoint),
}

/// What to draw besides the divisions.
pub struct Layers<'a> {
    pub calls: &'a [Marker],
    pub units: &'a [Unit],
    /// The open call's place: the operator's pin, its stored point, or where
    /// its text was read to be.
    pub selected: Option<GeoPoint>,
    /// Recent calls for the heat layer (the lead's map).
    pub recent: &'a [MapIncident],
    /// A line about a call for the hover tooltip.
    pub describe: &'a dyn Fn(IncidentId) -> String,
}

/// Jilin lies around 43.5° N: one cosine for the whole map keeps shapes
/// steady as it pans.
const COS_LAT: f32 = 0.7254;
/// How close (screen points) a click or hover must be to pick a marker.
const PICK: f32 = 9.0;
const HEAT_CELL: f32 = 18.0;

struct Projection {
    centre: GeoPoint,
    k: f32,
    origin: Pos2,
}

impl Projection {
    fn pos(&self, p: GeoPoint) -> Pos2 {
        pos2(
            self.origin.x + (p.lon - self.centre.lon) as f32 * self.k * COS_LAT,
            self.origin.y - (p.lat - self.centre.lat) as f32 * self.k,
        )
    }

    fn geo(&self, s: Pos2) -> GeoPoint {
        GeoPoint::new(
            self.centre.lat - f64::from((s.y - self.origin.y) / self.k),
            self.centre.lon + f64::from((s.x - self.origin.x) / (self.k * COS_LAT)),
        )
    }
}

/// The controls above the map: fit, zoom, and the lead's heat layer.
pub fn map_controls_ui(ui: &mut Ui, lang: Lang, view: &mut MapView, lead: bool) {
    ui.horizontal(|ui| {
        ui.strong(lang.tr(k!("map")));
        if ui.small_button(lang.tr(k!("map_fit"))).clicked() {
            view.scale = 0.0;
        }
        if ui.small_button("+").clicked() {
            view.scale *= 1.5;
        }
        if ui.small_button("−").clicked() {
            view.scale /= 1.5;
        }
        if lead {
            ui.checkbox(&mut view.heat, lang.tr(k!("map_heat")));
            egui::ComboBox::from_id_salt("heat_category")
                .selected_text(
                    view.heat_category
                        .map_or(lang.tr(k!("all")), |c| code_name(lang, c.as_str())),
                )
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut view.heat_category, None, lang.tr(k!("all")));
                    for c in Category::ALL {
                        ui.selectable_value(&mut view.heat_category, Some(*c), code_name(lang, c.as_str()));
                    }
                });
        }
    });
}

/// Draws the map in the space left and returns what was clicked.
pub fn map_ui(ui: &mut Ui, lang: Lang, view: &mut MapView, layers: &Layers) -> Option<MapClick> {
    let geo = GeoData::shared();
    let size = ui.available_size().max(vec2(200.0, 160.0));
    let (rect, resp) = ui.allocate_exact_size(size, Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    view.rect = Some(rect);
    painter.rect_filled(rect, 0.0, Color32::from_rgb(0xf4, 0xf1, 0xe8));
    if view.scale <= 0.0 || !view.scale.is_finite() {
        fit(view, geo, rect);
    }
    let mut proj = Projection {
        centre: view.centre,
        k: view.scale,
        origin: rect.center(),
    };
    if resp.dragged() {
        let d = resp.drag_delta();
        let moved = proj.geo(proj.origin - d);
        view.centre = moved;
        proj.centre = moved;
    }
    if let Some(hover) = resp.hover_pos() {
        let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = pinch * (scroll * 0.002).exp();
        if (factor - 1.0).abs() > 1e-4 {
            // The point under the pointer stays under it.
            let anchor = proj.geo(hover);
            view.scale = (view.scale * factor).clamp(20.0, 20_000.0);
            proj.k = view.scale;
            let drift = proj.geo(hover);
            view.centre = GeoPoint::new(
                view.centre.lat + anchor.lat - drift.lat,
                view.centre.lon + anchor.lon - drift.lon,
            );
            proj.centre = view.centre;
        }
    }
    let visible = |b: (GeoPoint, GeoPoint)| {
        let r = Rect::from_two_pos(proj.pos(b.0), proj.pos(b.1));
        r.intersects(rect)
    };
    for d in &geo.divisions {
        if !visible(d.bounds) {
            continue;
        }
        let stroke = match d.level {
            Level::Prefecture => Stroke::new(1.6, Color32::from_gray(90)),
            Level::County => Stroke::new(0.7, Color32::from_gray(165)),
        };
        for ring in &d.rings {
            let pts: Vec<Pos2> = ring.iter().map(|p| proj.pos(*p)).collect();
            painter.add(Shape::closed_line(pts, stroke));
        }
    }
    for d in &geo.divisions {
        let (show, font, colour) = match d.level {
            Level::Prefecture => (true, 13.0, Color32::from_gray(60)),
            Level::County => (view.scale > 260.0, 11.0, Color32::from_gray(120)),
        };
        let at = proj.pos(d.centre);
        if show && rect.contains(at) {
            let name = if d.level == Level::County {
                d.short_name()
            } else {
                &d.name
            };
            painter.text(at, Align2::CENTER_CENTER, name, FontId::proportional(font), colour);
        }
    }
    if view.heat && !layers.recent.is_empty() {
        heat_layer(&painter, &proj, rect, layers.recent, view.heat_category);
    }
    // Calls: the lower priorities first, so a P1 is never hidden.
    let now = ui.input(|i| i.time);
    let blink = (now * 2.0) as i64 % 2 == 0;
    let mut p1_shown = false;
    for p in Priority::ALL.iter().rev() {
        for m in layers.calls.iter().filter(|m| m.priority == *p) {
            let at = proj.pos(m.at);
            if !rect.contains(at) {
                continue;
            }
            let r = match m.priority {
                Priority::P1 => 6.0,
                Priority::P2 => 5.0,
                Priority::P3 => 4.0,
                Priority::P4 => 3.0,
            };
            painter.circle(at, r, priority_color(m.priority), Stroke::new(1.0, Color32::WHITE));
            if m.priority == Priority::P1 {
                p1_shown = true;
                if blink {
                    painter.circle_stroke(at, r + 4.0, Stroke::new(2.0, priority_color(Priority::P1)));
                }
            }
        }
    }
    if p1_shown {
        // A slow blink, not an animation: the map repaints twice a second
        // only while a P1 call is on it.
        ui.ctx().request_repaint_after(Duration::from_millis(500));
    }
    // Units, with a line to the call they are on when it is on the map.
    // A set: the lead's map holds thousands of calls and scores of units out.
    let wanted: std::collections::HashSet<IncidentId> = layers.units.iter().filter_map(|u| u.incident_id).collect();
    let targets: HashMap<IncidentId, GeoPoint> = if wanted.is_empty() {
        HashMap::new()
    } else {
        layers
            .calls
            .iter()
            .filter(|m| wanted.contains(&m.id))
            .map(|m| (m.id, m.at))
            .collect()
    };
    for u in layers.units {
        let Some(at) = u.at else { continue };
        let at = proj.pos(at);
        if let Some(to) = u.incident_id.and_then(|i| targets.get(&i)) {
            painter.line_segment([at, proj.pos(*to)], Stroke::new(1.2, unit_color(u.status)));
        }
        if rect.contains(at) {
            painter.rect_filled(Rect::from_center_size(at, vec2(7.0, 7.0)), 1.0, unit_color(u.status));
        }
    }
    if let Some(sel) = layers.selected {
        let at = proj.pos(sel);
        let blue = Color32::from_rgb(0x1f, 0x5f, 0xd0);
        painter.circle_stroke(at, 9.0, Stroke::new(2.5, blue));
        painter.line_segment([at - vec2(14.0, 0.0), at + vec2(14.0, 0.0)], Stroke::new(1.5, blue));
        painter.line_segment([at - vec2(0.0, 14.0), at + vec2(0.0, 14.0)], Stroke::new(1.5, blue));
    }
    let pick_call = |s: Pos2| {
        layers
            .calls
            .iter()
            .map(|m| (m, proj.pos(m.at).distance(s)))
            .filter(|(_, d)| *d <= PICK)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(m, _)| *m)
    };
    let pick_unit = |s: Pos2| {
        layers
            .units
            .iter()
            .filter_map(|u| Some((u, proj.pos(u.at?).distance(s))))
            .filter(|(_, d)| *d <= PICK)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(u, _)| u)
    };
    if let Some(hover) = resp.hover_pos().filter(|_| !resp.dragged()) {
        let call = pick_call(hover);
        let unit = pick_unit(hover);
        let place = proj.geo(hover);
        let county = geo.county_at(place).map(|d| d.name.clone());
        resp.clone().on_hover_ui_at_pointer(|ui| {
            if let Some(m) = call {
                ui.label(format!("#{} · {}", m.id, code_name(lang, m.priority.as_str())));
                ui.label((layers.describe)(m.id));
            }
            if let Some(u) = unit {
                let call = u.incident_id.map(|i| format!(" · #{i}")).unwrap_or_default();
                ui.label(format!("{} · {}{call}", u.name, code_name(lang, u.status.as_str())));
            }
            if call.is_none() && unit.is_none() {
                ui.label(format!(
                    "{} {:.4}, {:.4}",
                    county.as_deref().unwrap_or_default(),
                    place.lat,
                    place.lon
                ));
            }
        });
    }
    if resp.clicked()
        && let Some(at) = resp.interact_pointer_pos()
    {
        return Some(match pick_call(at) {
            Some(m) => MapClick::Incident(m.id),
            None => MapClick::Place(proj.geo(at)),
        });
    }
    None
}

/// Fits the province in `rect`.
fn fit(view: &mut MapView, geo: &GeoData, rect: Rect) {
    let (sw, ne) = geo.bounds();
    view.centre = GeoPoint::new((sw.lat + ne.lat) / 2.0, (sw.lon + ne.lon) / 2.0);
    let by_height = rect.height() / (ne.lat - sw.lat) as f32;
    let by_width = rect.width() / ((ne.lon - sw.lon) as f32 * COS_LAT);
    view.scale = by_height.min(by_width) * 0.95;
}

/// Calls of the last hours binned on a screen grid; a cell's colour deepens
/// with its count.
fn heat_layer(painter: &egui::Painter, proj: &Projection, rect: Rect, recent: &[MapIncident], only: Option<Category>) {
    let mut cells: HashMap<(i32, i32), u32> = HashMap::new();
    for i in recent {
        if only.is_some_and(|c| i.category != Some(c)) {
            continue;
        }
        let at = proj.pos(i.at);
        if !rect.contains(at) {
            continue;
        }
        let key = ((at.x / HEAT_CELL).floor() as i32, (at.y / HEAT_CELL).floor() as i32);
        *cells.entry(key).or_default() += 1;
    }
    let most = cells.values().copied().max().unwrap_or(1) as f32;
    for ((x, y), n) in cells {
        let t = (n as f32 / most).sqrt();
        let alpha = (40.0 + 150.0 * t) as u8;
        let colour = Color32::from_rgba_unmultiplied(0xe0, (0xa0 as f32 * (1.0 - t)) as u8, 0x20, alpha);
        let min = pos2(x as f32 * HEAT_CELL, y as f32 * HEAT_CELL);
        painter.rect_filled(Rect::from_min_size(min, vec2(HEAT_CELL, HEAT_CELL)), 2.0, colour);
    }
}
