//! Scoring the engine on a labelled file (the format of `dev.jsonl`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Engine, RuleSet, TriageInput};
use crate::model::{Agency, Category, Channel, Priority};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Share of rows that are not `P1` suggested as `P1` (patrols spent on
    /// caution).
    pub over_triage: f64,
    /// `P1` rows suggested `non_police` or `invalid` at all, and with a
    /// category confidence of 0.9 or more (the worst error).
    pub p1_as_not_police: usize,
    pub p1_confidently_not_police: usize,
    /// Reliability: per confidence band (lower bound, rows, category right).
    pub reliability: Vec<(f64, usize, usize)>,
    /// `confusion[expected][got]`, in [`Category::ALL`] order.
    pub confusion: [[usize; 9]; 9],
    pub misses: Vec<Miss>,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

impl Report {
    fn from_pairs(pairs: Vec<(&Labelled, Got)>) -> Report {
        let mut r = Report {
            n: pairs.len(),
            ..Default::default()
        };
        let (mut cat_ok, mut ag_ok, mut pr_ok, mut np, mut np_ok, mut p1, mut p1_ok) = (0, 0, 0, 0, 0, 0, 0);
        const BANDS: [f64; 6] = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95];
        r.reliability = BANDS.iter().map(|b| (*b, 0, 0)).collect();
        let (mut not_p1, mut over) = (0, 0);
        for (row, g) in &pairs {
            let got = &(g.category, g.agency, g.priority);
            let band = BANDS.iter().rposition(|b| g.confidence >= *b).unwrap_or(0);
            r.reliability[band].1 += 1;
            r.reliability[band].2 += usize::from(row.category == g.category);
            if row.priority == Priority::P1 && !g.category.is_police() {
                r.p1_as_not_police += 1;
                r.p1_confidently_not_police += usize::from(g.confidence >= 0.9);
            }
            if row.priority != Priority::P1 {
                not_p1 += 1;
                over += usize::from(g.priority == Priority::P1);
            }
            r.confusion[row.category.index()][got.0.index()] += 1;
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
        r.over_triage = if not_p1 == 0 { 0.0 } else { ratio(over, not_p1) };
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

/// What the engine suggested for one row.
#[derive(Debug, Clone, Copy)]
struct Got {
    category: Category,
    agency: Agency,
    priority: Priority,
    confidence: f64,
}

fn suggest(engine: &Engine, row: &Labelled) -> Got {
    let s = engine.triage(&TriageInput {
        channel: row.channel,
        text: &row.text,
        history: None,
    });
    Got {
        category: s.category,
        agency: s.agency,
        priority: s.priority,
        confidence: s.confidence,
    }
}

/// Scores `engine` on `rows`.
pub fn evaluate(engine: &Engine, rows: &[Labelled]) -> Report {
    Report::from_pairs(rows.iter().map(|row| (row, suggest(engine, row))).collect())
}

/// K-fold cross-validation of the learned part: for each fold the models
/// are trained on `corpus` minus that fold's texts, so no row is scored by a
/// model that saw it. (The rules are the same in every fold.) With one fold
/// the whole file is left out: a corpus batch scored by a model trained
/// without it, the honest test of a change since its writer's style is not
/// in training either.
pub fn cross_validate(
    rules_source: &str,
    corpus: &[Labelled],
    rows: &[Labelled],
    folds: usize,
) -> Result<Report, String> {
    let folds = folds.max(1);
    let mut pairs = Vec::new();
    for f in 0..folds {
        let held: Vec<&Labelled> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == f)
            .map(|(_, r)| r)
            .collect();
        let held_texts: std::collections::HashSet<&str> = held.iter().map(|r| r.text.as_str()).collect();
        let train: Vec<Labelled> = corpus
            .iter()
            .filter(|r| !held_texts.contains(r.text.as_str()))
            .cloned()
            .collect();
        let rules = RuleSet::parse(rules_source, "rules").map_err(|e| e.to_string())?;
        let lexicon = super::Lexicon::builtin().map_err(|e| e.to_string())?;
        let engine = Engine::trained(rules, lexicon, &train);
        for row in held {
            pairs.push((row, suggest(&engine, row)));
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
        writeln!(f, "over-triage (non-P1 as P1)   {:.3}", self.over_triage)?;
        writeln!(
            f,
            "P1 suggested not police      {} ({} with confidence >= 0.9)",
            self.p1_as_not_police, self.p1_confidently_not_police
        )?;
        writeln!(f, "\nreliability (category confidence band: rows, right)")?;
        for (i, (lo, n, ok)) in self.reliability.iter().enumerate() {
            let hi = self.reliability.get(i + 1).map_or(1.0, |x| x.0);
            if *n > 0 {
                writeln!(
                    f,
                    "  [{lo:.2}, {hi:.2}{}  {n:>5}  {:.3}",
                    if hi >= 1.0 { "]" } else { ")" },
                    ratio(*ok, *n)
                )?;
            } else {
                writeln!(
                    f,
                    "  [{lo:.2}, {hi:.2}{}  {n:>5}      -",
                    if hi >= 1.0 { "]" } else { ")" }
                )?;
            }
        }
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
