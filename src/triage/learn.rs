//! The learned models that carry the triage decision: category, agency,
//! priority and "life in danger", each a logistic regression over the
//! narrative's character n-grams plus the rule engine's evidence (cue
//! scores, priority flags, danger concepts) as extra features. The rules
//! thereby become evidence the model weighs, not the decision itself.
//!
//! Trained when the engine loads, from the corpus shipped in
//! `assets/triage/` and, for a centre that opts in, its operators' confirmed
//! labels.

use super::eval::Labelled;
use super::linear::{Softmax, Sparse, TrainOptions, Vocabulary};
use crate::model::{Agency, Category, Channel, Priority};

/// The labelled corpus shipped with the binary: (file name, JSON Lines).
/// Every batch is described in `assets/triage/DATA.md`.
pub const BUILTIN_CORPUS: &[(&str, &str)] = &[
    ("corpus.jsonl", include_str!("../../assets/triage/corpus.jsonl")),
    ("batch-t1.jsonl", include_str!("../../assets/triage/batch-t1.jsonl")),
    ("batch-t2.jsonl", include_str!("../../assets/triage/batch-t2.jsonl")),
    ("batch-t3.jsonl", include_str!("../../assets/triage/batch-t3.jsonl")),
    ("batch-t4.jsonl", include_str!("../../assets/triage/batch-t4.jsonl")),
    ("batch-t5.jsonl", include_str!("../../assets/triage/batch-t5.jsonl")),
    ("batch-t6.jsonl", include_str!("../../assets/triage/batch-t6.jsonl")),
    ("batch-t7.jsonl", include_str!("../../assets/triage/batch-t7.jsonl")),
    ("batch-t8.jsonl", include_str!("../../assets/triage/batch-t8.jsonl")),
    ("batch-t9.jsonl", include_str!("../../assets/triage/batch-t9.jsonl")),
    ("batch-t10.jsonl", include_str!("../../assets/triage/batch-t10.jsonl")),
    ("batch-t11.jsonl", include_str!("../../assets/triage/batch-t11.jsonl")),
    ("batch-t12.jsonl", include_str!("../../assets/triage/batch-t12.jsonl")),
    ("batch-t13.jsonl", include_str!("../../assets/triage/batch-t13.jsonl")),
    ("batch-t14.jsonl", include_str!("../../assets/triage/batch-t14.jsonl")),
    ("batch-t15.jsonl", include_str!("../../assets/triage/batch-t15.jsonl")),
    ("batch-t16.jsonl", include_str!("../../assets/triage/batch-t16.jsonl")),
    ("batch-t17.jsonl", include_str!("../../assets/triage/batch-t17.jsonl")),
    ("batch-t18.jsonl", include_str!("../../assets/triage/batch-t18.jsonl")),
    ("batch-t19.jsonl", include_str!("../../assets/triage/batch-t19.jsonl")),
    ("batch-t20.jsonl", include_str!("../../assets/triage/batch-t20.jsonl")),
    ("batch-t21.jsonl", include_str!("../../assets/triage/batch-t21.jsonl")),
    ("batch-t22.jsonl", include_str!("../../assets/triage/batch-t22.jsonl")),
    ("batch-t23.jsonl", include_str!("../../assets/triage/batch-t23.jsonl")),
    ("batch-t24.jsonl", include_str!("../../assets/triage/batch-t24.jsonl")),
    ("batch-t25.jsonl", include_str!("../../assets/triage/batch-t25.jsonl")),
    ("batch-t26.jsonl", include_str!("../../assets/triage/batch-t26.jsonl")),
    ("batch-t27.jsonl", include_str!("../../assets/triage/batch-t27.jsonl")),
    ("batch-t28.jsonl", include_str!("../../assets/triage/batch-t28.jsonl")),
    ("batch-t29.jsonl", include_str!("../../assets/triage/batch-t29.jsonl")),
    ("batch-t30.jsonl", include_str!("../../assets/triage/batch-t30.jsonl")),
    ("batch-t31.jsonl", include_str!("../../assets/triage/batch-t31.jsonl")),
    ("batch-t32.jsonl", include_str!("../../assets/triage/batch-t32.jsonl")),
    ("batch-t33.jsonl", include_str!("../../assets/triage/batch-t33.jsonl")),
    ("batch-t34.jsonl", include_str!("../../assets/triage/batch-t34.jsonl")),
    ("batch-t35.jsonl", include_str!("../../assets/triage/batch-t35.jsonl")),
    ("batch-t36.jsonl", include_str!("../../assets/triage/batch-t36.jsonl")),
    ("batch-t37.jsonl", include_str!("../../assets/triage/batch-t37.jsonl")),
    ("batch-t38.jsonl", include_str!("../../assets/triage/batch-t38.jsonl")),
    ("batch-t39.jsonl", include_str!("../../assets/triage/batch-t39.jsonl")),
    ("batch-t40.jsonl", include_str!("../../assets/triage/batch-t40.jsonl")),
    ("batch-t41.jsonl", include_str!("../../assets/triage/batch-t41.jsonl")),
    ("batch-t42.jsonl", include_str!("../../assets/triage/batch-t42.jsonl")),
    ("batch-t43.jsonl", include_str!("../../assets/triage/batch-t43.jsonl")),
    ("batch-t44.jsonl", include_str!("../../assets/triage/batch-t44.jsonl")),
    ("batch-t45.jsonl", include_str!("../../assets/triage/batch-t45.jsonl")),
];

/// Every row of the built-in corpus.
pub fn builtin_rows() -> Result<Vec<Labelled>, String> {
    let mut rows = Vec::new();
    for (name, source) in BUILTIN_CORPUS {
        rows.extend(super::eval::parse_labelled(source).map_err(|e| format!("{name}: {e}"))?);
    }
    Ok(rows)
}

/// The rule engine's evidence for one narrative, as model features.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Rule cue score per category, in [`Category::ALL`] order.
    pub category: [f64; 9],
    /// Rule cue score per agency, in [`Agency::ALL`] order.
    pub agency: [f64; 13],
    /// hard P1, soft P1, nobody at risk, past/damage only, in progress, no words.
    pub flags: [bool; 6],
    /// Per danger concept: present.
    pub concepts: Vec<bool>,
    /// Danger compositions fired.
    pub compositions: usize,
}

impl Evidence {
    fn dense(&self, channel: Channel) -> Vec<f32> {
        // Scores are squashed so one long list of cues cannot swamp the
        // text, and all rule evidence is scaled down: the rule phrases were
        // tuned on part of this corpus, so at full strength the model learns
        // to trust them more than they deserve on calls nobody wrote rules
        // for (held-out training batches: category 0.83 at 1.0, 0.87 at 0.15).
        let squash = |s: f64| ((1.0 + s.max(0.0)).ln() / 2.0) as f32;
        let mut d: Vec<f32> = Vec::with_capacity(DENSE_FIXED + self.concepts.len());
        d.extend(self.category.iter().map(|s| squash(*s)));
        d.extend(self.agency.iter().map(|s| squash(*s)));
        d.extend(self.flags.iter().map(|f| f32::from(u8::from(*f))));
        d.extend(Channel::ALL.iter().map(|c| f32::from(u8::from(*c == channel))));
        d.push((self.compositions.min(3) as f32) / 2.0);
        d.extend(self.concepts.iter().map(|f| f32::from(u8::from(*f)) / 2.0));
        for x in &mut d {
            *x *= RULE_EVIDENCE_SCALE;
        }
        d
    }
}

/// How strongly rule evidence enters the models, relative to a unit-length
/// n-gram vector (chosen on held-out training batches, never on blind ones).
const RULE_EVIDENCE_SCALE: f32 = 0.15;

const DENSE_FIXED: usize = 9 + 13 + 6 + 4 + 1;

/// The four trained models and their shared vocabulary.
#[derive(Debug, Clone)]
pub struct Learned {
    pub vocabulary: Vocabulary,
    dense: usize,
    pub category: Softmax,
    pub agency: Softmax,
    pub priority: Softmax,
    pub danger: Softmax,
}

impl Learned {
    /// Trains on `rows`; `evidence(row)` gives the rule evidence of its text.
    ///
    /// Loading time is the engine's start-up time, so the work is split over
    /// two threads (the machines it runs on have two cores or more): the
    /// rule evidence by halves of the corpus, then two models on each.
    pub fn train(rows: &[Labelled], concepts: usize, evidence: &(dyn Fn(&Labelled) -> Evidence + Sync)) -> Learned {
        // An n-gram seen in one narrative only can fit that row and nothing
        // else: left out, the models are smaller and train in two thirds of
        // the time (0.7 s instead of 1.05 s for 14,000 narratives) with the
        // same figures on held-out training batches, once the danger
        // threshold follows (danger.toml).
        let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
        let vocabulary = Vocabulary::build(&texts, 2);
        let featurize = |part: &[Labelled]| -> Vec<Sparse> {
            part.iter()
                .map(|r| {
                    join(
                        &vocabulary,
                        vocabulary.vectorize(&r.text),
                        &evidence(r).dense(r.channel),
                    )
                })
                .collect()
        };
        let half = rows.len() / 2;
        let (mut xs, rest) = std::thread::scope(|s| {
            let second = s.spawn(|| featurize(&rows[half..]));
            let first = featurize(&rows[..half]);
            (first, second.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        xs.extend(rest);
        let dense = DENSE_FIXED + concepts;
        let features = vocabulary.len() + dense;
        let opts = TrainOptions::default();
        let xs = &xs;
        // Two threads of about equal work (20,500 narratives: agency and
        // danger 0.42 + 0.17 s, category and priority 0.29 + 0.22 s); each
        // model is trained alone with its own seed, so which thread trains
        // it changes nothing in it.
        let ((agency, danger), (category, priority)) = std::thread::scope(|s| {
            let other = s.spawn(move || {
                let ys: Vec<usize> = rows.iter().map(|r| r.agency.index()).collect();
                let agency = Softmax::train(xs, &ys, None, features, Agency::ALL.len(), opts);
                // A missed life threat costs more than a patrol sent for
                // nothing: P1 rows weigh double in the danger model.
                let ys: Vec<usize> = rows.iter().map(|r| usize::from(r.priority == Priority::P1)).collect();
                let weights: Vec<f32> = ys.iter().map(|y| if *y == 1 { 2.0 } else { 1.0 }).collect();
                let danger = Softmax::train(xs, &ys, Some(&weights), features, 2, opts);
                (agency, danger)
            });
            let ys: Vec<usize> = rows.iter().map(|r| r.category.index()).collect();
            let category = Softmax::train(xs, &ys, None, features, Category::ALL.len(), opts);
            let ys: Vec<usize> = rows.iter().map(|r| r.priority.index()).collect();
            let priority = Softmax::train(xs, &ys, None, features, Priority::ALL.len(), opts);
            (
                other.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                (category, priority),
            )
        });
        Learned {
            vocabulary,
            dense,
            category,
            agency,
            priority,
            danger,
        }
    }

    /// The feature vector of a narrative.
    pub fn features(&self, text: &str, channel: Channel, evidence: &Evidence) -> Sparse {
        let d = evidence.dense(channel);
        debug_assert_eq!(d.len(), self.dense);
        join(&self.vocabulary, self.vocabulary.vectorize(text), &d)
    }

    /// Whether a feature index is an n-gram of the text (not rule evidence).
    pub fn is_ngram(&self, feature: u32) -> bool {
        (feature as usize) < self.vocabulary.len()
    }
}

fn join(vocabulary: &Vocabulary, mut x: Sparse, dense: &[f32]) -> Sparse {
    let base = vocabulary.len() as u32;
    x.extend(
        dense
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(i, v)| (base + i as u32, *v)),
    );
    x
}

/// A label an operator confirmed: what the centre itself says the call was,
/// beside what triage had suggested. The JSON Lines form of
/// `jiejing triage export`, and training rows for `serve --triage-learn`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConfirmedLabel {
    /// The row as the corpus has it (the operator's labels).
    #[serde(flatten)]
    pub label: Labelled,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// What triage suggested at intake, if it was asked.
    pub suggested: Option<SuggestedLabel>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SuggestedLabel {
    pub category: Category,
    pub agency: Agency,
    pub priority: Priority,
    pub confidence: f64,
}

impl ConfirmedLabel {
    /// The operator's labels on an incident, if an operator disposed of the
    /// call (dispatched, referred or closed it) with them: a label the form
    /// prefilled from the suggestion counts once someone acted on it, not
    /// while the call waits. For a police matter a priority is needed;
    /// non-police and invalid calls are P4 by definition.
    pub fn from_incident(i: &crate::model::Incident) -> Option<ConfirmedLabel> {
        i.handled_by.as_ref()?;
        let category = i.category?;
        if i.narrative.trim().is_empty() {
            return None;
        }
        let priority = if category.is_police() {
            i.priority?
        } else {
            Priority::P4
        };
        let agency = match category {
            Category::Invalid => Agency::None,
            _ => i.agency.unwrap_or(Agency::None),
        };
        if category == Category::NonPolice && agency == Agency::None {
            return None;
        }
        Some(ConfirmedLabel {
            label: Labelled {
                id: format!("op{}", i.id),
                channel: i.channel,
                text: i.narrative.clone(),
                category,
                agency,
                priority,
            },
            received_at: i.received_at,
            suggested: i.suggestion.as_ref().map(|s| SuggestedLabel {
                category: s.category,
                agency: s.agency,
                priority: s.priority,
                confidence: s.confidence,
            }),
        })
    }
}
