//! Scoring the engine on a labelled file (the format of `dev.jsonl`).

use std::fmt;

use serde::Deserialize;

use super::{Engine, NaiveBayes, RuleSet, TriageInput};
use crate::model::{Agency, Category, Channel, Priority};

#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    pub id: String,
    pub channel: Channel,
    pub text: String,
    pub category: Category,
    pub agency: Agency,
    pub priority: Priority,
}

/// Parses labelled JSON Lines; a bad line is an error naming it.
pub fn parse_labelled(source: &str) -> Result<Vec<Labelled>, String> {
    source
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

#[derive(Debug, Clone)]
pub struct Miss {
    pub id: String,
    pub text: String,
    pub expected: (Category, Agency, Priority),
    pub got: (Category, Agency, Priority),
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub n: usize,
    pub category_accuracy: f64,
    pub macro_f1: f64,
    /// Agency accuracy on the rows labelled `non_police`.
    pub agency_accuracy_non_police: f64,
    pub agency_accuracy: f64,
    pub priority_accuracy: f64,
    /// Share of `P1` rows suggested as `P1`.
    pub p1_recall: f64,
    /// `confusion[expected][got]`, in [`Category::ALL`] order.
    pub confusion: [[usize; 9]; 9],
    pub misses: Vec<Miss>,
}

fn ix(c: Category) -> usize {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

impl Report {
    fn from_pairs(pairs: Vec<(&Labelled, (Category, Agency, Priority))>) -> Report {
        let mut r = Report {
            n: pairs.len(),
            ..Default::default()
        };
        let (mut cat_ok, mut ag_ok, mut pr_ok, mut np, mut np_ok, mut p1, mut p1_ok) = (0, 0, 0, 0, 0, 0, 0);
        for (row, got) in &pairs {
            r.confusion[ix(row.category)][ix(got.0)] += 1;
            cat_ok += usize::from(row.category == got.0);
            ag_ok += usize::from(row.agency == got.1);
            pr_ok += usize::from(row.priority == got.2);
            if row.category == Category::NonPolice {
                np += 1;
                np_ok += usize::from(row.agency == got.1);
            }
            if row.priority == Priority::P1 {
                p1 += 1;
                p1_ok += usize::from(got.2 == Priority::P1);
            }
            if (row.category, row.agency, row.priority) != *got {
                r.misses.push(Miss {
                    id: row.id.clone(),
                    text: row.text.clone(),
                    expected: (row.category, row.agency, row.priority),
                    got: *got,
                });
            }
        }
        r.category_accuracy = ratio(cat_ok, r.n);
        r.agency_accuracy = ratio(ag_ok, r.n);
        r.priority_accuracy = ratio(pr_ok, r.n);
        r.agency_accuracy_non_police = ratio(np_ok, np);
        r.p1_recall = ratio(p1_ok, p1);
        let mut f1_sum = 0.0;
        let mut classes = 0;
        for k in 0..9 {
            let tp = r.confusion[k][k];
            let actual: usize = r.confusion[k].iter().sum();
            let predicted: usize = (0..9).map(|j| r.confusion[j][k]).sum();
            if actual == 0 && predicted == 0 {
                continue;
            }
            classes += 1;
            let (p, rc) = (ratio(tp, predicted), ratio(tp, actual));
            f1_sum += if p + rc == 0.0 { 0.0 } else { 2.0 * p * rc / (p + rc) };
        }
        r.macro_f1 = if classes == 0 { 0.0 } else { f1_sum / classes as f64 };
        r
    }
}

/// Scores `engine` on `rows`.
pub fn evaluate(engine: &Engine, rows: &[Labelled]) -> Report {
    let pairs = rows
        .iter()
        .map(|row| {
            let s = engine.triage(&TriageInput {
                channel: row.channel,
                text: &row.text,
                history: None,
            });
            (row, (s.category, s.agency, s.priority))
        })
        .collect();
    Report::from_pairs(pairs)
}

/// K-fold cross-validation of the learned part: for each fold the model is
/// trained on `corpus` minus that fold's texts, so no row is scored by a model
/// that saw it. (The rules are the same in every fold.)
pub fn cross_validate(
    rules_source: &str,
    corpus: &[Labelled],
    rows: &[Labelled],
    folds: usize,
) -> Result<Report, String> {
    let folds = folds.max(2);
    let mut pairs = Vec::new();
    for f in 0..folds {
        let held: Vec<&Labelled> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == f)
            .map(|(_, r)| r)
            .collect();
        let held_texts: std::collections::HashSet<&str> = held.iter().map(|r| r.text.as_str()).collect();
        let model = NaiveBayes::train(
            corpus
                .iter()
                .filter(|r| !held_texts.contains(r.text.as_str()))
                .map(|r| (r.text.as_str(), r.category)),
        );
        let rules = RuleSet::parse(rules_source, "rules").map_err(|e| e.to_string())?;
        let engine = Engine::new(rules, Some(model));
        for row in held {
            let s = engine.triage(&TriageInput {
                channel: row.channel,
                text: &row.text,
                history: None,
            });
            pairs.push((row, (s.category, s.agency, s.priority)));
        }
    }
    Ok(Report::from_pairs(pairs))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rows                         {}", self.n)?;
        writeln!(f, "category accuracy            {:.3}", self.category_accuracy)?;
        writeln!(f, "category macro-F1            {:.3}", self.macro_f1)?;
        writeln!(f, "agency accuracy (non_police) {:.3}", self.agency_accuracy_non_police)?;
        writeln!(f, "agency accuracy (all)        {:.3}", self.agency_accuracy)?;
        writeln!(f, "priority accuracy            {:.3}", self.priority_accuracy)?;
        writeln!(f, "P1 recall                    {:.3}", self.p1_recall)?;
        writeln!(f, "\nconfusion (rows: expected, columns: suggested)")?;
        let short = |c: Category| -> String { c.as_str().chars().take(6).collect() };
        write!(f, "{:>20}", "")?;
        for c in Category::ALL {
            write!(f, " {:>6}", short(*c))?;
        }
        writeln!(f)?;
        for (i, c) in Category::ALL.iter().enumerate() {
            write!(f, "{:>20}", c.as_str())?;
            for v in &self.confusion[i] {
                write!(f, " {v:>6}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
