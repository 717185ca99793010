//! The triage engine's quality bar and its command-line contract.

use std::io::Write as _;
use std::process::{Command, Stdio};

use jiejing::model::{Agency, Category, Channel, Priority, Suggestion};
use jiejing::triage::{Engine, TriageInput, eval};

const DEV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/triage/dev.jsonl");
const REVIEW: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/triage/review.jsonl");

fn labelled(path: &str) -> Vec<eval::Labelled> {
    let source = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    eval::parse_labelled(&source).expect("labelled file parses")
}

/// The targets of issue #11, checked on narratives no rule or model was
/// ever tuned on. A rule or corpus edit that overfits fails here.
struct Targets {
    category: f64,
    macro_f1: f64,
    agency_non_police: f64,
    priority: f64,
    p1_recall: f64,
    /// P1 calls suggested `non_police`/`invalid` with confidence >= 0.9.
    confident_misses: usize,
}

const TARGETS: Targets = Targets {
    category: 0.92,
    macro_f1: 0.90,
    agency_non_police: 0.90,
    priority: 0.88,
    p1_recall: 0.97,
    confident_misses: 0,
};

/// Not every target is met on every set yet: each set's floor is what the
/// engine reaches now less 0.01, so a change that loses ground fails. Raise
/// them as the engine improves; never lower one to make a change pass.
/// Any corpus edit reshuffles training and moves a figure by up to ±0.02
/// (assets/triage/DATA.md): a floor that fails after one is a reason to
/// score the edit on held-out training batches (`triage --eval
/// assets/triage/batch-tN.jsonl --folds 1`) before deciding it. (The fifth
/// and sixth rounds of data lowered floors by one row each — blind-c's P1
/// recall twice and its priority, blind-d's P1 recall, review's agency
/// once — after the held-out batches favoured them: DATA.md.)
const FLOORS: &[(&str, Targets)] = &[
    (
        "tests/data/blind-a.jsonl",
        Targets {
            category: 0.942,
            macro_f1: 0.945,
            agency_non_police: 0.938,
            priority: 0.908,
            p1_recall: 0.978,
            confident_misses: 0,
        },
    ),
    (
        "tests/data/blind-b.jsonl",
        Targets {
            category: 0.914,
            macro_f1: 0.917,
            agency_non_police: 0.928,
            priority: 0.89,
            p1_recall: 0.99,
            confident_misses: 0,
        },
    ),
    (
        "tests/data/blind-c.jsonl",
        Targets {
            category: 0.899,
            macro_f1: 0.897,
            agency_non_police: 0.939,
            priority: 0.866,
            p1_recall: 0.946,
            confident_misses: 1,
        },
    ),
    (
        "tests/data/blind-d.jsonl",
        Targets {
            category: 0.945,
            macro_f1: 0.946,
            agency_non_police: 0.969,
            priority: 0.914,
            p1_recall: 0.957,
            confident_misses: 0,
        },
    ),
    (
        "tests/data/blind-e.jsonl",
        Targets {
            category: 0.914,
            macro_f1: 0.912,
            agency_non_police: 0.855,
            priority: 0.899,
            p1_recall: 0.967,
            confident_misses: 0,
        },
    ),
    (
        "tests/data/blind-f.jsonl",
        Targets {
            category: 0.893,
            macro_f1: 0.901,
            agency_non_police: 0.907,
            priority: 0.848,
            p1_recall: 0.978,
            confident_misses: 0,
        },
    ),
    (
        "tests/data/blind-g.jsonl",
        Targets {
            category: 0.938,
            macro_f1: 0.945,
            agency_non_police: 0.907,
            priority: 0.89,
            p1_recall: 0.99,
            confident_misses: 0,
        },
    ),
    (
        "tests/data/blind-h.jsonl",
        Targets {
            category: 0.929,
            macro_f1: 0.939,
            agency_non_police: 0.917,
            priority: 0.889,
            p1_recall: 0.978,
            confident_misses: 0,
        },
    ),
];

const REVIEW_FLOOR: Targets = Targets {
    category: 0.96,
    macro_f1: 0.962,
    agency_non_police: 0.947,
    priority: 0.935,
    p1_recall: 0.972,
    confident_misses: 0,
};

fn assert_meets(name: &str, report: &eval::Report, floor: &Targets) {
    eprintln!("{name}\n{report}");
    let figures = |t: &Targets| {
        [
            ("category accuracy", report.category_accuracy, t.category),
            ("macro-F1", report.macro_f1, t.macro_f1),
            (
                "agency on non_police",
                report.agency_accuracy_non_police,
                t.agency_non_police,
            ),
            ("priority accuracy", report.priority_accuracy, t.priority),
            ("P1 recall", report.p1_recall, t.p1_recall),
        ]
    };
    for (what, got, target) in figures(&TARGETS) {
        if got < target {
            eprintln!("{name}: {what} {got:.3} is still below the target {target:.2}");
        }
    }
    let failed: Vec<String> = figures(floor)
        .iter()
        .filter(|(_, got, want)| got < want)
        .map(|(what, got, want)| format!("{what} {got:.3} < {want:.3}"))
        .collect();
    assert!(failed.is_empty(), "{name}: {}", failed.join("; "));
    assert!(
        report.p1_confidently_not_police <= floor.confident_misses,
        "{name}: {} life-threatening calls confidently referred away (floor {})",
        report.p1_confidently_not_police,
        floor.confident_misses
    );
}

#[test]
fn blind_batches_stay_above_their_floors() {
    let engine = Engine::builtin();
    for (file, floor) in FLOORS {
        let rows = labelled(&format!("{}/{file}", env!("CARGO_MANIFEST_DIR")));
        assert!(rows.len() >= 300, "{file} holds {} rows", rows.len());
        assert_meets(file, &eval::evaluate(&engine, &rows), floor);
    }
}

#[test]
fn independent_review_set_stays_above_its_floor() {
    let report = eval::evaluate(&Engine::builtin(), &labelled(REVIEW));
    assert!(report.n >= 200, "the review set is there");
    assert_meets("review.jsonl", &report, &REVIEW_FLOOR);
}

/// A text as the leakage check compares it: letters and digits only, since
/// "打错了 不好意思" and "打错了，不好意思" teach the model the same thing.
fn letters_and_digits(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).collect()
}

#[test]
fn blind_and_review_rows_never_reach_training() {
    let corpus = jiejing::triage::learn::builtin_rows().expect("corpus");
    let trained: std::collections::HashSet<String> = corpus.iter().map(|r| letters_and_digits(&r.text)).collect();
    let blind = FLOORS
        .iter()
        .map(|(file, _)| format!("{}/{file}", env!("CARGO_MANIFEST_DIR")));
    for path in blind.chain([REVIEW.to_owned()]) {
        let leaked: Vec<String> = labelled(&path)
            .into_iter()
            .filter(|r| trained.contains(&letters_and_digits(&r.text)))
            .map(|r| r.id)
            .collect();
        assert!(leaked.is_empty(), "{path}: rows in the training corpus: {leaked:?}");
    }
}

#[test]
fn the_models_generalise_under_cross_validation() {
    // Every row of the dev set is scored by models trained without it.
    let corpus = jiejing::triage::learn::builtin_rows().expect("corpus");
    let cv = eval::cross_validate(jiejing::triage::rules::BUILTIN_RULES, &corpus, &labelled(DEV), 3).expect("cv");
    eprintln!("{cv}");
    assert!(
        cv.category_accuracy >= 0.85,
        "cross-validated category accuracy {:.3}",
        cv.category_accuracy
    );
    assert!(cv.p1_recall >= 0.95, "cross-validated P1 recall {:.3}", cv.p1_recall);
}

/// What the engine suggests for a narrative, without caller history.
fn suggest(engine: &Engine, channel: Channel, text: &str) -> Suggestion {
    engine.triage(&TriageInput {
        channel,
        text,
        history: None,
    })
}

/// Phrases that name a danger to life in words a rule writer might not
/// have listed; each fires a composition of the detector.
const DANGER_PHRASES: &[&str] = &[
    "，孩子掉井里了，喊不应",
    "，屋里就一个老太太，门缝往外冒烟",
    "，有个人拿着刀在超市里晃，好多人",
    "，我不方便说话，他又回来了，手里有刀",
    "，车翻了，司机卡在里面出不来",
    "，一个小孩被人捂着嘴拽上车了",
];

#[test]
fn adding_a_danger_phrase_never_lowers_the_priority() {
    let engine = Engine::builtin();
    let rows = labelled(DEV);
    for row in rows.iter().step_by(4) {
        let before = suggest(&engine, row.channel, &row.text);
        for phrase in DANGER_PHRASES {
            let text = format!("{}{phrase}", row.text);
            let after = suggest(&engine, row.channel, &text);
            assert!(
                after.priority <= before.priority && after.priority == Priority::P1,
                "{text}: {:?} became {:?}",
                before.priority,
                after.priority
            );
            assert!(after.category.is_police(), "{text}: {:?}", after.category);
            assert!(
                after
                    .reasons
                    .iter()
                    .any(|r| r.rule.starts_with("possible danger to life")),
                "{text}: {:#?}",
                after.reasons
            );
        }
    }
}

#[test]
fn indirect_life_threats_are_p1_police_matters() {
    // The calls issue #11 found referred to a locksmith or a hotline.
    let engine = Engine::builtin();
    for text in [
        "我是跑出租的，后座那人拿个硬东西顶着我腰，让我往郊区开，我现在不敢停车",
        "高速上一辆拉化工原料的罐车翻了，往外淌东西，司机还在驾驶室里没动静",
        "我家孩子掉村头那口枯井里了，听着还有哭声，我们够不着",
        "小区停车场一辆车里锁着个小孩，太阳底下晒着，孩子满头汗都哭不出声了",
        "邻居家就一个一岁多的孩子在屋，门锁着，屋里一股糊味儿往外冒烟",
        "刚才桥上有个人翻过栏杆跳河里了，人在水里扑腾",
        "一个男的把放学的小女孩拽上面包车开走了",
        "饭店里有个男的掏出一把枪比划，一屋子人",
    ] {
        let s = suggest(&engine, Channel::Voice, text);
        assert!(
            s.category.is_police() && s.priority == Priority::P1,
            "{text}: {:?} {:?} {:?} {:#?}",
            s.category,
            s.agency,
            s.priority,
            s.reasons
        );
    }
}

#[test]
fn a_plain_lock_out_is_still_a_referral() {
    let engine = Engine::builtin();
    for text in [
        "我出门忘带钥匙了，门锁上进不去，能帮我找个开锁的吗",
        "钥匙锁车里了，车里没人，帮我找个开锁的",
    ] {
        let s = suggest(&engine, Channel::Voice, text);
        assert_eq!(
            (s.category, s.agency, s.priority),
            (Category::NonPolice, Agency::CommercialService, Priority::P4),
            "{text}: {:#?}",
            s.reasons
        );
    }
}

fn run_triage(args: &[&str], input: &[u8]) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jiejing"))
        .arg("triage")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jiejing triage");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::Builder::new()
        .name("stdin-writer".into())
        .spawn(move || stdin.write_all(&input))
        .expect("writer thread");
    let out = child.wait_with_output().expect("output");
    writer.join().expect("join").expect("write stdin");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_streams_one_line_per_input_in_order() {
    let mut input = Vec::new();
    input.extend_from_slice(
        "{\"id\":\"a\",\"channel\":\"voice\",\"text\":\"邻居被人用刀砍伤了，流了好多血，砍人的还在楼道里\"}\n"
            .as_bytes(),
    );
    input.extend_from_slice(b"{\"id\":\"b\",\"channel\":\"sms\",\"text\":\"\"}\n");
    input.extend_from_slice(b"{\"id\":\"c\",\"channel\":\"sms\",\"text\":\"\xff\xfe broken\"}\n");
    input.extend_from_slice("{\"id\":\"d\",\"channel\":\"fax\",\"text\":\"x\"}\n".as_bytes());
    input.extend_from_slice(b"not json at all\n");
    input.extend_from_slice("{\"id\":\"e\",\"channel\":\"wechat\",\"text\":\"🚓🚓🚓[表情]\"}\n".as_bytes());
    let long = "我家楼下有人吵架".repeat(100_000 / 24);
    input.extend_from_slice(format!("{{\"id\":\"f\",\"channel\":\"web\",\"text\":\"{long}\"}}\n").as_bytes());
    input.extend_from_slice(
        "{\"id\":7,\"channel\":\"voice\",\"text\":\"手机话费充值没到账\",\"invalid_calls_30d\":5}".as_bytes(),
    );
    let (ok, stdout, stderr) = run_triage(&[], &input);
    assert!(ok, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 8, "{stdout}");
    assert_eq!(
        (
            lines[0]["id"].as_str(),
            lines[0]["category"].as_str(),
            lines[0]["priority"].as_str()
        ),
        (Some("a"), Some("criminal"), Some("P1"))
    );
    assert!(lines[0]["reasons"].as_array().is_some_and(|r| !r.is_empty()));
    assert!(lines[0]["confidence"].is_number());
    assert_eq!(
        (lines[1]["id"].as_str(), lines[1]["category"].as_str()),
        (Some("b"), Some("invalid"))
    );
    assert!(
        lines[2]["error"].as_str().is_some_and(|e| e.contains("UTF-8")),
        "{}",
        lines[2]
    );
    assert_eq!(
        (lines[3]["id"].as_str(), lines[3]["error"].is_string()),
        (Some("d"), true)
    );
    assert!(lines[4]["error"].is_string());
    assert_eq!(lines[5]["category"], "invalid");
    assert_eq!(lines[6]["id"], "f");
    assert_eq!(
        (lines[7]["id"].as_i64(), lines[7]["agency"].as_str()),
        (Some(7), Some("telecom"))
    );
    assert!(lines[7]["nuisance_warning"].is_string());
}

#[test]
fn cli_eval_prints_the_figures() {
    let (ok, stdout, stderr) = run_triage(&["--eval", DEV], b"");
    assert!(ok, "{stderr}");
    for figure in [
        "category accuracy",
        "macro-F1",
        "agency accuracy (non_police)",
        "priority accuracy",
        "P1 recall",
        "confusion",
    ] {
        assert!(stdout.contains(figure), "missing {figure}: {stdout}");
    }
}

#[test]
fn an_edited_rule_file_is_validated_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rules.toml");
    let edited = jiejing::triage::rules::BUILTIN_RULES.replacen("[cues.mass_incident]", "[cues.mass_incidents]", 1);
    std::fs::write(&path, edited).expect("write");
    let (ok, _, stderr) = run_triage(&["--rules", path.to_str().expect("utf-8 path")], b"");
    assert!(!ok);
    assert!(
        stderr.contains("rules.toml:") && stderr.contains("mass_incidents"),
        "{stderr}"
    );
}
