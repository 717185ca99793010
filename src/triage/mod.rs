//! The triage engine: from a narrative (and optionally the caller's history)
//! to a suggested category, agency and priority, each with a confidence, and
//! the phrases and rules that decided it.
//!
//! Owns: the rule base (`assets/triage/rules.toml`, editable and reloadable),
//! word segmentation, the learned model and their combination. Must not
//! touch: I/O beyond loading its files — the service and the console call it
//! as a pure function, the console on every keystroke.
//!
//! How a suggestion is made:
//! 1. Every rule phrase is found in one pass (Aho–Corasick); a one-character
//!    phrase counts only as a whole word (jieba segmentation), so 偷 in 偷看
//!    or 偷偷 is not theft.
//! 2. A phrase closely preceded by a negation word (没人受伤, 没动手) is
//!    dropped and reported as negated.
//! 3. Category scores: phrase weights, co-occurrence rules (an officer + a
//!    bribe), and the naive Bayes posterior times its weight.
//! 4. Priority: non-police and invalid are P4; otherwise life-threat phrases
//!    give P1 (the safety bias: ambiguous evidence of danger goes up), past or
//!    damage-only phrasing gives P3, else the category's default.
//! 5. Agency: for a referral, the agency with the strongest cues; for a police
//!    matter, 119 for fire or rescue, 120 for injuries, else none.

pub mod bayes;
pub mod eval;
pub mod rules;

use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use crate::model::{Agency, Category, Channel, Priority, Reason, Suggestion};
pub use bayes::NaiveBayes;
pub use rules::{RuleSet, RulesError, Target};

/// What the engine looks at.
#[derive(Debug, Clone, Copy)]
pub struct TriageInput<'a> {
    pub channel: Channel,
    pub text: &'a str,
    pub history: Option<HistoryStats>,
}

/// The parts of a caller's history that matter for triage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryStats {
    pub total_calls: i64,
    pub invalid_last_30d: i64,
    pub flagged: bool,
}

/// Invalid calls in 30 days from which a caller gets a nuisance warning.
pub const NUISANCE_INVALID_30D: i64 = 3;

/// A life-threat phrase turns a non-police reading into a police one unless
/// the non-police score is more than this many times the best police score.
const SAFETY_RATIO: f64 = 3.0;

/// Agency cue weight a police incident needs before the agency is co-notified.
const CO_NOTIFY_MIN_SCORE: f64 = 3.0;

/// Longest text looked at, in bytes; the rest of a pasted essay adds nothing
/// but time.
const MAX_TEXT_BYTES: usize = 8 * 1024;

/// Rules, model and segmenter, loaded once.
pub struct Engine {
    rules: RuleSet,
    model: Option<NaiveBayes>,
    jieba: jieba_rs::Jieba,
}

/// The engine in use: the built-in one until [`install`] replaces it (a
/// centre's edited rules, reloaded at run time).
static ACTIVE: LazyLock<RwLock<Arc<Engine>>> = LazyLock::new(|| RwLock::new(Arc::new(Engine::builtin())));

/// The engine in use now.
pub fn active() -> Arc<Engine> {
    ACTIVE.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Replaces the engine in use; suggestions already running finish on the old one.
pub fn install(engine: Engine) {
    *ACTIVE.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(engine);
}

/// Suggests with the engine in use (the built-in one is loaded on first use).
pub fn triage(input: &TriageInput<'_>) -> Suggestion {
    active().triage(input)
}

struct Hit {
    phrase: usize,
    start: usize,
    end: usize,
}

/// Characters that end a clause: negation does not reach across them.
fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        '，' | '。' | '！' | '？' | '；' | ',' | '.' | '!' | '?' | ';' | ' ' | '\n' | '、'
    )
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Engine {
    /// The rules and corpus shipped in `assets/triage/`.
    pub fn builtin() -> Self {
        #[expect(clippy::expect_used, reason = "the bundled assets are checked by unit tests")]
        let rules = RuleSet::builtin().expect("assets/triage/rules.toml is valid");
        #[expect(clippy::expect_used, reason = "the bundled assets are checked by unit tests")]
        let model = NaiveBayes::from_jsonl(bayes::BUILTIN_CORPUS).expect("assets/triage/corpus.jsonl is valid");
        Engine::new(rules, Some(model))
    }

    /// A centre's rule file with the built-in model.
    pub fn with_rules_file(path: &std::path::Path) -> Result<Self, RulesError> {
        let rules = RuleSet::load(path)?;
        #[expect(clippy::expect_used, reason = "the bundled assets are checked by unit tests")]
        let model = NaiveBayes::from_jsonl(bayes::BUILTIN_CORPUS).expect("assets/triage/corpus.jsonl is valid");
        Ok(Engine::new(rules, Some(model)))
    }

    pub fn new(rules: RuleSet, model: Option<NaiveBayes>) -> Self {
        Engine {
            rules,
            model,
            jieba: jieba_rs::Jieba::new(),
        }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Finds every phrase occurrence that counts: whole words for one
    /// character, and not negated. Negated ones are returned separately.
    fn hits(&self, text: &str) -> (Vec<Hit>, Vec<(Hit, usize)>) {
        let chars: Vec<char> = text.chars().collect();
        // Byte offset → char offset.
        let mut char_at = vec![0usize; text.len() + 1];
        for (ci, (bi, _)) in text.char_indices().enumerate() {
            char_at[bi] = ci;
        }
        char_at[text.len()] = chars.len();
        let mut word_starts: Option<std::collections::HashSet<(usize, usize)>> = None;
        let mut hits = Vec::new();
        let mut negated = Vec::new();
        for m in self.rules.automaton.find_overlapping_iter(text) {
            let (start, end) = (char_at[m.start()], char_at[m.end()]);
            let id = m.pattern().as_usize();
            if end - start == 1 {
                let words = word_starts
                    .get_or_insert_with(|| self.jieba.cut(text, false).iter().map(|t| (t.start, t.end)).collect());
                if !words.contains(&(start, end)) {
                    continue;
                }
            }
            let hit = Hit { phrase: id, start, end };
            match self.negated_at(&chars, start) {
                Some(neg_start) => negated.push((hit, neg_start)),
                None => hits.push(hit),
            }
        }
        (hits, negated)
    }

    /// Where the negation word before `start` begins, if one is close enough.
    fn negated_at(&self, chars: &[char], start: usize) -> Option<usize> {
        let from = start.saturating_sub(self.rules.negation_window + 3);
        let before: String = chars[from..start].iter().collect();
        let mut best = None;
        for w in &self.rules.negation {
            if let Some(pos) = before.rfind(w.as_str()) {
                let neg_start = from + before[..pos].chars().count();
                let neg_end = neg_start + w.chars().count();
                let gap = &chars[neg_end..start];
                if start - neg_end <= self.rules.negation_window
                    && !gap.iter().any(|c| is_clause_break(*c))
                    && best.is_none_or(|b| neg_start < b)
                {
                    best = Some(neg_start);
                }
            }
        }
        best
    }

    /// Suggests a category, agency and priority for one narrative, with reasons.
    pub fn triage(&self, input: &TriageInput<'_>) -> Suggestion {
        let mut end = input.text.len().min(MAX_TEXT_BYTES);
        while !input.text.is_char_boundary(end) {
            end -= 1;
        }
        let text = &input.text[..end];
        let rules = &self.rules;
        let (hits, negated) = self.hits(text);

        // First counted occurrence of each phrase.
        let mut present: Vec<Option<(usize, usize)>> = vec![None; rules.phrases.len()];
        for h in &hits {
            present[h.phrase].get_or_insert((h.start, h.end));
        }
        // A phrase inside a longer phrase of the same target adds nothing:
        // 偷了 already says what 偷 says.
        let contained = |id: usize, target: Target| -> bool {
            let Some((s, e)) = present[id] else { return false };
            hits.iter().any(|o| {
                o.phrase != id
                    && o.start <= s
                    && e <= o.end
                    && (o.end - o.start) > (e - s)
                    && rules.targets[o.phrase].iter().any(|(t, _)| *t == target)
            })
        };

        let mut cat_score = [0f64; 9];
        let mut agency_score = [0f64; 13];
        let cat_ix = |c: Category| Category::ALL.iter().position(|x| *x == c).unwrap_or(0);
        let ag_ix = |a: Agency| Agency::ALL.iter().position(|x| *x == a).unwrap_or(0);
        let mut cue_reasons: Vec<(Target, f64, Reason)> = Vec::new();
        let (mut hard_p1, mut soft_p1, mut safe, mut p3, mut in_progress) = (None, None, None, None, None);
        for (id, pos) in present.iter().enumerate() {
            let Some((s, e)) = *pos else { continue };
            for &(target, w) in &rules.targets[id] {
                if contained(id, target) {
                    continue;
                }
                let keyword = rules.phrases[id].clone();
                let span = Some((s, e));
                let rule = match target {
                    Target::Category(c) => {
                        cat_score[cat_ix(c)] += w;
                        format!("cue: {c} +{w}")
                    }
                    Target::Agency(a) => {
                        agency_score[ag_ix(a)] += w;
                        if rules.referral_agencies.contains(&a) {
                            cat_score[cat_ix(Category::NonPolice)] += w;
                        }
                        format!("agency: {a} +{w}")
                    }
                    Target::HardP1 => {
                        hard_p1.get_or_insert(id);
                        "danger to life: P1".to_owned()
                    }
                    Target::SoftP1 => {
                        soft_p1.get_or_insert(id);
                        "possible danger: P1 unless nobody is at risk".to_owned()
                    }
                    Target::Safe => {
                        safe.get_or_insert(id);
                        "nobody at risk".to_owned()
                    }
                    Target::P3 => {
                        p3.get_or_insert(id);
                        "past, reported later or damage only".to_owned()
                    }
                    Target::InProgress => {
                        in_progress.get_or_insert(id);
                        "in progress".to_owned()
                    }
                    Target::Combo => continue,
                };
                cue_reasons.push((target, w, Reason { keyword, span, rule }));
            }
        }

        let mut rule_reasons = Vec::new();
        for c in &rules.combos {
            let found: Option<Vec<usize>> = c
                .groups
                .iter()
                .map(|g| g.iter().copied().find(|id| present[*id].is_some()))
                .collect();
            if let Some(ids) = found {
                cat_score[cat_ix(c.category)] += c.weight;
                let words: Vec<&str> = ids.iter().map(|id| rules.phrases[*id].as_str()).collect();
                rule_reasons.push(Reason {
                    keyword: words.join("+"),
                    span: None,
                    rule: format!("combination: {} → {} +{}", c.name, c.category, c.weight),
                });
            }
        }

        // Nothing but tags, digits, emoji and punctuation: not a request.
        let content_chars = text.chars().filter(|c| c.is_alphabetic()).count()
            - text
                .split('[')
                .skip(1)
                .filter_map(|t| t.split(']').next())
                .map(|t| t.chars().count())
                .sum::<usize>()
                .min(text.chars().filter(|c| c.is_alphabetic()).count());
        if content_chars < 2 {
            cat_score[cat_ix(Category::Invalid)] += 6.0;
            rule_reasons.push(Reason {
                keyword: String::new(),
                span: None,
                rule: "no words: nothing was said".to_owned(),
            });
        }

        if let Some(model) = &self.model
            && rules.model_weight > 0.0
        {
            let p = model.posterior(text);
            for (k, pk) in p.iter().enumerate() {
                cat_score[k] += rules.model_weight * pk;
            }
            let (k, pk) = p
                .iter()
                .enumerate()
                .fold((0, 0.0), |a, (k, &v)| if v > a.1 { (k, v) } else { a });
            rule_reasons.push(Reason {
                keyword: String::new(),
                span: None,
                rule: format!("model: reads like past {} calls ({:.0}%)", Category::ALL[k], pk * 100.0),
            });
        }

        let mut order: Vec<usize> = (0..9).collect();
        order.sort_by(|a, b| cat_score[*b].total_cmp(&cat_score[*a]));
        let mut category = Category::ALL[order[0]];
        // Safety bias: a life-threat phrase keeps a call a police matter
        // unless the non-police reading is clearly stronger.
        if !category.is_police()
            && let Some(id) = hard_p1
            && let Some(&best_police) = order.iter().find(|k| Category::ALL[**k].is_police())
            && cat_score[best_police] * SAFETY_RATIO >= cat_score[order[0]]
        {
            category = Category::ALL[best_police];
            rule_reasons.push(Reason {
                keyword: rules.phrases[id].clone(),
                span: present[id],
                rule: format!("safety: a danger-to-life phrase keeps this a police matter ({category})"),
            });
        }
        let top = cat_ix(category);
        let runner_up = order.iter().copied().find(|k| *k != top).map(|k| Category::ALL[k]);
        let exp: Vec<f64> = cat_score.iter().map(|s| (s - cat_score[top]).exp()).collect();
        let confidence = 1.0 / exp.iter().sum::<f64>();

        // Priority. Someone hurt or trapped (clear 120 or 119 evidence) is
        // "people hurt or trapped" in the P1 definition, unless the caller
        // says nobody is at risk.
        let s119 = agency_score[ag_ix(Agency::Fire)];
        let s120 = agency_score[ag_ix(Agency::Ambulance)];
        let hurt_or_trapped = s119 >= CO_NOTIFY_MIN_SCORE || s120 >= CO_NOTIFY_MIN_SCORE;
        let (priority, priority_confidence, priority_why) = if !category.is_police() {
            (Priority::P4, 0.9, None)
        } else if let Some(id) = hard_p1 {
            (Priority::P1, 0.9, Some(id))
        } else if hurt_or_trapped && safe.is_none() {
            rule_reasons.push(Reason {
                keyword: String::new(),
                span: None,
                rule: "someone may be hurt or trapped: P1".to_owned(),
            });
            (Priority::P1, 0.6, None)
        } else if let (Some(id), None) = (soft_p1, safe) {
            (Priority::P1, 0.6, Some(id))
        } else if let (Some(id), None, None) = (p3, in_progress, soft_p1) {
            (Priority::P3, 0.6, Some(id))
        } else {
            (
                rules.default_priority.get(&category).copied().unwrap_or(Priority::P2),
                0.5,
                None,
            )
        };

        // Agency.
        let best_of = |allowed: &dyn Fn(Agency) -> bool| -> Option<(Agency, f64)> {
            Agency::ALL
                .iter()
                .filter(|a| allowed(**a) && agency_score[ag_ix(**a)] > 0.0)
                .map(|a| (*a, agency_score[ag_ix(*a)]))
                .fold(
                    None,
                    |best: Option<(Agency, f64)>, x| if best.is_none_or(|b| x.1 > b.1) { Some(x) } else { best },
                )
        };
        let total_agency: f64 = agency_score.iter().sum();
        let (agency, agency_confidence) = match category {
            Category::Invalid => (Agency::None, 0.9),
            Category::NonPolice => match best_of(&|a| a != Agency::None) {
                Some((a, s)) => (a, s / total_agency.max(s)),
                None => (Agency::Hotline12345, 0.3),
            },
            _ => {
                // A co-notification needs a clear cue, not a passing word.
                if s119 >= CO_NOTIFY_MIN_SCORE {
                    (Agency::Fire, (s119 / (s119 + s120)).max(0.5))
                } else if s120 >= CO_NOTIFY_MIN_SCORE {
                    (Agency::Ambulance, 0.7)
                } else {
                    match best_of(&|a| rules.co_notify_agencies.contains(&a)) {
                        Some((a, s)) if s >= CO_NOTIFY_MIN_SCORE => (a, 0.5),
                        _ => (Agency::None, 0.6),
                    }
                }
            }
        };

        // Reasons: what supported the answer, then rules, negations, history.
        let mut reasons: Vec<Reason> = Vec::new();
        for (target, _, r) in &cue_reasons {
            let keep = match target {
                Target::Category(c) => *c == category || Some(*c) == runner_up,
                Target::Agency(a) => *a == agency,
                _ => priority_why.is_some_and(|id| rules.phrases[id] == r.keyword) || category.is_police(),
            };
            if keep {
                reasons.push(r.clone());
            }
        }
        reasons.extend(rule_reasons);
        let chars: Vec<char> = text.chars().collect();
        for (h, neg_start) in &negated {
            let phrase: String = chars[*neg_start..h.end].iter().collect();
            if !reasons.iter().any(|r| r.span == Some((*neg_start, h.end))) {
                reasons.push(Reason {
                    rule: format!("negated: {phrase}"),
                    keyword: phrase,
                    span: Some((*neg_start, h.end)),
                });
            }
        }
        let nuisance_warning = input.history.and_then(|h| {
            if h.flagged {
                Some("caller is flagged as a nuisance caller".to_owned())
            } else {
                (h.invalid_last_30d >= NUISANCE_INVALID_30D)
                    .then(|| format!("caller has {} invalid calls in 30 days", h.invalid_last_30d))
            }
        });
        if let Some(w) = &nuisance_warning {
            reasons.push(Reason {
                keyword: String::new(),
                span: None,
                rule: format!("{w} (a warning only)"),
            });
        }
        Suggestion {
            category,
            agency,
            priority,
            confidence: round2(confidence),
            agency_confidence: round2(agency_confidence),
            priority_confidence,
            runner_up,
            reasons,
            nuisance_warning,
        }
    }
}

#[cfg(test)]
mod tests;
