//! One console frame's CPU time with 10,000 queued calls, against an empty
//! frame of the same egui context measured in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use jiejing::console::app::draw;
use jiejing::console::state::{ConsoleState, Draft, Prefs};
use jiejing::model::{Channel, Incident, IntakeRequest, Role, User};
use jiejing::triage::{TriageInput, triage};

fn queue(n: usize) -> Vec<Incident> {
    let texts = [
        "有人在楼下打架",
        "手机话费充值没到账",
        "有人拿刀在楼下砍人",
        "家里停水两天了",
        "陪我唠会嗑",
    ];
    (0..n)
        .map(|k| {
            let text = texts[k % texts.len()];
            let new = IntakeRequest {
                channel: Channel::ALL[k % 4],
                phone: Some(format!("138{k:08}")),
                caller_name: None,
                wechat_id: Some(format!("wx{k}")),
                web_account: Some(format!("user{k}")),
                callback_number: None,
                location: Some("红旗街".into()),
                lat: None,
                lon: None,
                narrative: text.into(),
                received_at: Some(Utc::now() - chrono::Duration::seconds(k as i64)),
                disconnect: None,
                category: None,
                agency: None,
                priority: None,
            };
            let mut new = new.parse(Utc::now()).expect("valid intake");
            new.suggestion = Some(triage(&TriageInput {
                channel: Channel::Voice,
                text,
                history: None,
            }));
            Incident {
                id: k as i64 + 1,
                ..Incident::taken_in(&new, None, Utc::now())
            }
        })
        .collect()
}

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1400.0, 900.0))),
        ..Default::default()
    }
}

/// Mean time of one call of `f` over 50 rounds.
fn per_frame(mut f: impl FnMut()) -> Duration {
    let rounds = 50;
    let t = Instant::now();
    for _ in 0..rounds {
        f();
    }
    t.elapsed() / rounds
}

fn summary(what: &str, with: &str, full: Duration, empty: Duration) {
    eprintln!(
        "\n{what} summary: {:.2} ms per frame {with} ({:.1}× an empty frame of {:.3} ms); target under 4 ms",
        full.as_secs_f64() * 1e3,
        full.as_secs_f64() / empty.as_secs_f64(),
        empty.as_secs_f64() * 1e3,
    );
}

fn bench(c: &mut Criterion) {
    let ctx = egui::Context::default();
    jiejing::console::install_fonts(&ctx);
    let me = User {
        id: 1,
        name: "接警员".into(),
        role: Role::CallTaker,
        agency: None,
    };
    let mut state = ConsoleState::new(me, true, Prefs::default());
    for i in queue(10_000) {
        state.upsert(&i);
    }
    state.desk.draft = Some(Draft {
        narrative: "有人拿刀在楼下砍人，地上好多血".into(),
        ..Draft::new_call()
    });
    // Warm up: fonts, layout caches.
    for _ in 0..3 {
        black_box(ctx.run_ui(input(), |ui| draw(ui, &mut state, &mut Vec::new())));
    }
    let mut g = c.benchmark_group("console frame");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("empty frame (reference)", |b| {
        b.iter(|| {
            black_box(ctx.run_ui(input(), |ui| {
                ui.label("x");
            }))
        })
    });
    g.bench_function("10,000 queued calls", |b| {
        b.iter(|| black_box(ctx.run_ui(input(), |ui| draw(ui, &mut state, &mut Vec::new()))))
    });
    g.finish();

    let empty = per_frame(|| {
        black_box(ctx.run_ui(input(), |ui| {
            ui.label("x");
        }));
    });
    let full = per_frame(|| {
        black_box(ctx.run_ui(input(), |ui| draw(ui, &mut state, &mut Vec::new())));
    });
    summary("console frame", "with 10,000 queued calls", full, empty);
}

/// The situation map alone, full screen, with 10,000 calls spread over the
/// province and the heat layer of the same calls, against the empty frame.
fn map(c: &mut Criterion) {
    use jiejing::console::i18n::Lang;
    use jiejing::console::map::{Layers, MapView, Marker, map_ui};
    use jiejing::model::geo::{GeoData, GeoPoint};
    use jiejing::model::{MapIncident, Priority, Status};
    let ctx = egui::Context::default();
    jiejing::console::install_fonts(&ctx);
    let (sw, ne) = GeoData::shared().bounds();
    // A fixed low-discrepancy spread: repeatable without a random source.
    let calls: Vec<Marker> = (0..10_000)
        .map(|k| {
            let (a, b) = ((k as f64 * 0.618_034) % 1.0, (k as f64 * 0.754_877) % 1.0);
            Marker {
                id: k as i64 + 1,
                at: GeoPoint::new(sw.lat + a * (ne.lat - sw.lat), sw.lon + b * (ne.lon - sw.lon)),
                priority: Priority::ALL[k % 4],
            }
        })
        .collect();
    let recent: Vec<MapIncident> = calls
        .iter()
        .map(|m| MapIncident {
            id: m.id,
            at: m.at,
            priority: m.priority,
            category: None,
            status: Status::New,
            received_at: Utc::now(),
        })
        .collect();
    let describe = |_| String::new();
    let mut view = MapView::default();
    let frame = |view: &mut MapView| {
        ctx.run_ui(input(), |ui| {
            map_ui(
                ui,
                Lang::Zh,
                view,
                &Layers {
                    calls: &calls,
                    units: &[],
                    selected: None,
                    recent: &recent,
                    describe: &describe,
                },
            );
        })
    };
    for _ in 0..3 {
        black_box(frame(&mut view));
    }
    let mut g = c.benchmark_group("map frame");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("10,000 calls and their heat", |b| {
        b.iter(|| black_box(frame(&mut view)))
    });
    g.finish();
    let empty = per_frame(|| {
        black_box(ctx.run_ui(input(), |ui| {
            ui.label("x");
        }));
    });
    let full = per_frame(|| {
        black_box(frame(&mut view));
    });
    summary("map frame", "with 10,000 calls and their heat layer", full, empty);
}

criterion_group!(benches, bench, map);
criterion_main!(benches);
