//! The triage engine's quality bar and its command-line contract.

use std::io::Write as _;
use std::process::{Command, Stdio};

use jiejing::model::Priority;
use jiejing::triage::{Engine, eval};

const DEV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/triage/dev.jsonl");

fn labelled(path: &str) -> Vec<eval::Labelled> {
    let source = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    eval::parse_labelled(&source).expect("labelled file parses")
}

#[test]
fn dev_corpus_meets_the_bar() {
    let report = eval::evaluate(&Engine::builtin(), &labelled(DEV));
    eprintln!("{report}");
    assert!(report.n >= 200, "the dev corpus is there");
    assert!(
        report.category_accuracy >= 0.92,
        "category accuracy {:.3}",
        report.category_accuracy
    );
    assert!(report.p1_recall >= 1.0, "P1 recall {:.3}", report.p1_recall);
    assert!(
        report.agency_accuracy_non_police >= 0.90,
        "non-police agency accuracy {:.3}",
        report.agency_accuracy_non_police
    );
}

#[test]
fn the_model_does_not_carry_the_bar_alone() {
    // Cross-validated: the learned part never scores a row it was trained on.
    let corpus = eval::parse_labelled(jiejing::triage::bayes::BUILTIN_CORPUS).expect("corpus");
    let cv = eval::cross_validate(jiejing::triage::rules::BUILTIN_RULES, &corpus, &labelled(DEV), 5).expect("cv");
    eprintln!("{cv}");
    assert!(
        cv.category_accuracy >= 0.92,
        "cross-validated category accuracy {:.3}",
        cv.category_accuracy
    );
    assert!(cv.p1_recall >= 1.0, "cross-validated P1 recall {:.3}", cv.p1_recall);
}

#[test]
fn no_life_threatening_call_is_missed_in_our_own_sets() {
    let engine = Engine::builtin();
    for file in ["tests/data/tune.jsonl", "tests/data/holdout.jsonl"] {
        let rows = labelled(&format!("{}/{file}", env!("CARGO_MANIFEST_DIR")));
        let report = eval::evaluate(&engine, &rows);
        let missed: Vec<_> = report
            .misses
            .iter()
            .filter(|m| m.expected.2 == Priority::P1 && m.got.2 != Priority::P1)
            .collect();
        assert!(missed.is_empty(), "{file}: P1 calls suggested lower: {missed:#?}");
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
    input.extend_from_slice("{\"id\":\"a\",\"channel\":\"voice\",\"text\":\"有人拿刀在楼下砍人\"}\n".as_bytes());
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
