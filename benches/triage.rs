//! Triage speed: latency per narrative and suggestions per second, with
//! segmentation alone as the reference measured in the same run (the ratio
//! says what the rules and the model add on top of jieba).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jiejing::model::Channel;
use jiejing::triage::{Engine, TriageInput};

fn narratives() -> Vec<String> {
    let corpus = jiejing::triage::learn::builtin_rows().expect("corpus");
    corpus.into_iter().map(|r| r.text).collect()
}

fn bench(c: &mut Criterion) {
    let started = Instant::now();
    let engine = Engine::builtin();
    let load = started.elapsed();
    let texts = narratives();
    let jieba = jieba_rs::Jieba::new();

    let mut g = c.benchmark_group("triage");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("segmentation only (reference)", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % texts.len();
            black_box(jieba.cut(black_box(&texts[i]), false));
        })
    });
    g.bench_function("full suggestion", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % texts.len();
            black_box(engine.triage(&TriageInput {
                channel: Channel::Voice,
                text: black_box(&texts[i]),
                history: None,
            }));
        })
    });
    g.finish();

    // A plain summary with the ratio, measured over the whole corpus.
    let rounds = 20;
    let t = Instant::now();
    for _ in 0..rounds {
        for text in &texts {
            black_box(jieba.cut(text, false));
        }
    }
    let seg = t.elapsed();
    let t = Instant::now();
    for _ in 0..rounds {
        for text in &texts {
            black_box(engine.triage(&TriageInput {
                channel: Channel::Voice,
                text,
                history: None,
            }));
        }
    }
    let full = t.elapsed();
    let n = (rounds * texts.len()) as f64;
    let per = full.as_secs_f64() / n;
    eprintln!(
        "\ntriage summary: engine load {:.0} ms; {:.1} µs per narrative ({:.0} suggestions/s on one core); \
         {:.2}× the time of segmentation alone ({:.1} µs)",
        load.as_secs_f64() * 1e3,
        per * 1e6,
        1.0 / per,
        full.as_secs_f64() / seg.as_secs_f64(),
        seg.as_secs_f64() / n * 1e6,
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
