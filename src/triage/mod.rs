//! The triage engine: from a narrative (and optionally the caller's history)
//! to a suggested category, agency and priority, each with a confidence, and
//! the phrases and rules that decided it.
//!
//! Owns: the rule base (`assets/triage/rules.toml`), the life-threat lexicon
//! (`assets/triage/danger.toml`), the labelled corpus, word segmentation, the
//! learned models and their combination. Must not touch: I/O beyond loading
//! its files — the service and the console call it as a pure function, the
//! console on every keystroke.
//!
//! How a suggestion is made:
//! 1. Every rule phrase is found in one pass (Aho–Corasick); a one-character
//!    phrase counts only as a whole word (jieba segmentation), so 偷 in 偷看
//!    or 偷偷 is not theft. A phrase closely preceded by a negation word
//!    (没人受伤, 没动手) is dropped and reported as negated. The same is done
//!    for the danger lexicon's concepts, and its compositions are checked.
//! 2. The learned models ([`learn`]) read the text's character n-grams plus
//!    that rule evidence and give probabilities for category, agency,
//!    priority and "life in danger". They carry the decision: the rules are
//!    features, not verdicts.
//! 3. Safety overrides: a fired danger composition, or a danger probability
//!    above the lexicon's low threshold, makes the call a police matter at
//!    P1 (with 119 or 120 where it fits). Under-triage costs lives; an
//!    over-triaged call costs a patrol's time.
//! 4. Reasons a person reads: the rule cues that agree with the answer, the
//!    phrases of the text the model weighed most, and "possible danger to
//!    life: …" with the concepts that fired.
//!
//! Without a trained model (an empty corpus) the rules decide alone, as the
//! engine did before it learned.

pub mod danger;
pub mod eval;
pub mod learn;
pub mod linear;
pub mod rules;

use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use crate::model::{Agency, Category, Channel, NUISANCE_INVALID_30D, Priority, Reason, Suggestion};
pub use danger::Lexicon;
use learn::{Evidence, Learned};
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

/// A life-threat phrase turns a non-police reading into a police one unless
/// the non-police score is more than this many times the best police score.
const SAFETY_RATIO: f64 = 3.0;

/// Agency cue weight a police incident needs before the agency is co-notified.
const CO_NOTIFY_MIN_SCORE: f64 = 3.0;

/// Longest text looked at, in bytes; the rest of a pasted essay adds nothing
/// but time.
const MAX_TEXT_BYTES: usize = 8 * 1024;

/// Rules, lexicon and learned models, loaded once.
pub struct Engine {
    rules: RuleSet,
    lexicon: Lexicon,
    learned: Option<Arc<Learned>>,
}

/// jieba's dictionary takes a moment to parse: one instance for the process.
static JIEBA: LazyLock<jieba_rs::Jieba> = LazyLock::new(jieba_rs::Jieba::new);

/// The models trained on the built-in corpus with the built-in rules, trained
/// once per process however many engines are made from them.
static BUILTIN_LEARNED: LazyLock<Arc<Learned>> = LazyLock::new(|| {
    #[expect(clippy::expect_used, reason = "the bundled assets are checked by unit tests")]
    let rows = learn::builtin_rows().expect("assets/triage corpus is valid");
    Arc::new(Engine::rules_only(builtin_rules(), builtin_lexicon()).learn(&rows))
});

fn builtin_rules() -> RuleSet {
    #[expect(clippy::expect_used, reason = "the bundled assets are checked by unit tests")]
    RuleSet::builtin().expect("assets/triage/rules.toml is valid")
}

fn builtin_lexicon() -> Lexicon {
    #[expect(clippy::expect_used, reason = "the bundled assets are checked by unit tests")]
    Lexicon::builtin().expect("assets/triage/danger.toml is valid")
}

/// The engine in use: the built-in one, made on first use, until
/// [`install`] replaces it (a centre's rules or confirmed labels). Empty at
/// first so that installing another engine never trains the built-in one
/// for nothing.
static ACTIVE: RwLock<Option<Arc<Engine>>> = RwLock::new(None);

/// The engine in use now. The first call trains the built-in models (about
/// a second): callers on a UI or async thread warm it up first ([`warm_up`]).
pub fn active() -> Arc<Engine> {
    if let Some(engine) = ACTIVE.read().unwrap_or_else(PoisonError::into_inner).as_ref() {
        return engine.clone();
    }
    let built = Arc::new(Engine::builtin());
    ACTIVE
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert(built)
        .clone()
}

/// Replaces the engine in use; suggestions already running finish on the old one.
pub fn install(engine: Engine) {
    *ACTIVE.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(engine));
}

/// Makes the engine in use on a background thread, so the first suggestion
/// does not stall the thread that asks for it.
pub fn warm_up() {
    let spawned = std::thread::Builder::new().name("triage-warm-up".into()).spawn(|| {
        active();
    });
    if let Err(e) = spawned {
        tracing::warn!("cannot warm up triage in the background: {e}");
    }
}

/// Suggests with the engine in use (the built-in one is loaded on first use).
pub fn triage(input: &TriageInput<'_>) -> Suggestion {
    active().triage(input)
}

/// The start of the reason the detector gives when it fires; the console
/// shows such suggestions with a red banner.
pub const DANGER_TO_LIFE: &str = "possible danger to life";

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
    /// The rules, lexicon and corpus shipped in `assets/triage/`.
    pub fn builtin() -> Self {
        Engine {
            rules: builtin_rules(),
            lexicon: builtin_lexicon(),
            learned: Some(BUILTIN_LEARNED.clone()),
        }
    }

    /// A centre's rule file; the models are retrained with it, since the
    /// rules are among their features.
    pub fn with_rules_file(path: &std::path::Path) -> Result<Self, RulesError> {
        Engine::for_centre(Some(path), Vec::new())
    }

    /// The engine a centre runs: its rule file (or the built-in rules),
    /// trained on the shipped corpus plus its operators' confirmed labels.
    /// With neither, the built-in engine, whose models are trained once per
    /// process.
    pub fn for_centre(rules: Option<&std::path::Path>, confirmed: Vec<eval::Labelled>) -> Result<Self, RulesError> {
        if rules.is_none() && confirmed.is_empty() {
            return Ok(Engine::builtin());
        }
        let rules = match rules {
            Some(path) => RuleSet::load(path)?,
            None => RuleSet::builtin()?,
        };
        let mut rows = learn::builtin_rows().map_err(|message| RulesError::Syntax {
            file: "built-in corpus".to_owned(),
            message,
        })?;
        let centre = confirmed.len();
        rows.extend(confirmed);
        tracing::info!(centre, total = rows.len(), "training triage");
        Ok(Engine::trained(rules, Lexicon::builtin()?, &rows))
    }

    /// Rules and lexicon, trained on `rows` (the built-in corpus, a centre's
    /// confirmed labels, or both).
    pub fn trained(rules: RuleSet, lexicon: Lexicon, rows: &[eval::Labelled]) -> Self {
        let mut engine = Engine::rules_only(rules, lexicon);
        if !rows.is_empty() {
            engine.learned = Some(Arc::new(engine.learn(rows)));
        }
        engine
    }

    /// The built-in rules and lexicon trained on `rows`.
    pub fn trained_on(rows: &[eval::Labelled]) -> Self {
        Engine::trained(builtin_rules(), builtin_lexicon(), rows)
    }

    /// The rules alone deciding, with no learned model.
    pub fn rules_only(rules: RuleSet, lexicon: Lexicon) -> Self {
        Engine {
            rules,
            lexicon,
            learned: None,
        }
    }

    fn learn(&self, rows: &[eval::Labelled]) -> Learned {
        Learned::train(rows, self.lexicon.concepts.len(), &|r| self.analyse(&r.text).evidence())
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// Finds every phrase occurrence that counts: whole words for one
    /// character, and not negated. Negated ones are returned separately.
    fn hits(&self, text: &str, chars: &[char], char_at: &[usize]) -> (Vec<Hit>, Vec<(Hit, usize)>) {
        let mut word_starts: Option<std::collections::HashSet<(usize, usize)>> = None;
        let mut hits = Vec::new();
        let mut negated = Vec::new();
        for m in self.rules.automaton.find_overlapping_iter(text) {
            let (start, end) = (char_at[m.start()], char_at[m.end()]);
            let id = m.pattern().as_usize();
            if end - start == 1 {
                let words = word_starts
                    .get_or_insert_with(|| JIEBA.cut(text, false).iter().map(|t| (t.start, t.end)).collect());
                if !words.contains(&(start, end)) {
                    continue;
                }
            }
            let hit = Hit { phrase: id, start, end };
            match self.negated_at(chars, start) {
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

    /// Everything the rules and the danger lexicon find in a narrative.
    fn analyse<'t>(&self, text: &'t str) -> Analysis<'t> {
        let chars: Vec<char> = text.chars().collect();
        // Byte offset → char offset.
        let mut char_at = vec![0usize; text.len() + 1];
        for (ci, (bi, _)) in text.char_indices().enumerate() {
            char_at[bi] = ci;
        }
        char_at[text.len()] = chars.len();
        let rules = &self.rules;
        let (hits, negated) = self.hits(text, &chars, &char_at);

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

        let mut a = Analysis {
            text,
            chars,
            negated,
            cat_score: [0.0; 9],
            agency_score: [0.0; 13],
            cue_reasons: Vec::new(),
            rule_reasons: Vec::new(),
            hard_p1: None,
            soft_p1: None,
            safe: None,
            p3: None,
            in_progress: None,
            no_words: false,
            danger: danger::Found::default(),
        };
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
                        a.cat_score[c.index()] += w;
                        format!("cue: {c} +{w}")
                    }
                    Target::Agency(ag) => {
                        a.agency_score[ag.index()] += w;
                        if rules.referral_agencies.contains(&ag) {
                            a.cat_score[Category::NonPolice.index()] += w;
                        }
                        format!("agency: {ag} +{w}")
                    }
                    Target::HardP1 => {
                        a.hard_p1.get_or_insert(id);
                        "danger to life: P1".to_owned()
                    }
                    Target::SoftP1 => {
                        a.soft_p1.get_or_insert(id);
                        "possible danger: P1 unless nobody is at risk".to_owned()
                    }
                    Target::Safe => {
                        a.safe.get_or_insert(id);
                        "nobody at risk".to_owned()
                    }
                    Target::P3 => {
                        a.p3.get_or_insert(id);
                        "past, reported later or damage only".to_owned()
                    }
                    Target::InProgress => {
                        a.in_progress.get_or_insert(id);
                        "in progress".to_owned()
                    }
                    Target::Combo => continue,
                };
                a.cue_reasons.push((target, w, Reason { keyword, span, rule }));
            }
        }

        for c in &rules.combos {
            let found: Option<Vec<usize>> = c
                .groups
                .iter()
                .map(|g| g.iter().copied().find(|id| present[*id].is_some()))
                .collect();
            if let Some(ids) = found {
                a.cat_score[c.category.index()] += c.weight;
                let words: Vec<&str> = ids.iter().map(|id| rules.phrases[*id].as_str()).collect();
                a.rule_reasons.push(Reason {
                    keyword: words.join("+"),
                    span: None,
                    rule: format!("combination: {} → {} +{}", c.name, c.category, c.weight),
                });
            }
        }

        // Nothing but tags, digits, emoji and punctuation: not a request.
        if linear::letters_outside_tags(text) < 2 {
            a.no_words = true;
            a.cat_score[Category::Invalid.index()] += 6.0;
            a.rule_reasons.push(Reason {
                keyword: String::new(),
                span: None,
                rule: "no words: nothing was said".to_owned(),
            });
        }
        a.danger = self
            .lexicon
            .find(text, &char_at, &|start| self.negated_at(&a.chars, start).is_some());
        a
    }

    /// Suggests a category, agency and priority for one narrative, with reasons.
    pub fn triage(&self, input: &TriageInput<'_>) -> Suggestion {
        let mut end = input.text.len().min(MAX_TEXT_BYTES);
        while !input.text.is_char_boundary(end) {
            end -= 1;
        }
        let a = self.analyse(&input.text[..end]);
        let mut d = match &self.learned {
            Some(learned) => self.decide_learned(learned, &a, input.channel),
            None => self.decide_by_rules(&a),
        };
        let mut reasons = self.reasons(&a, &mut d);
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
            category: d.category,
            agency: d.agency,
            priority: d.priority,
            confidence: round2(d.confidence),
            agency_confidence: round2(d.agency_confidence),
            priority_confidence: round2(d.priority_confidence),
            runner_up: d.runner_up,
            reasons,
            nuisance_warning,
        }
    }

    /// The learned decision, with the safety overrides.
    fn decide_learned(&self, learned: &Learned, a: &Analysis<'_>, channel: Channel) -> Decision {
        let x = learned.features(a.text, channel, &a.evidence());
        let pc = learned.category.predict(&x);
        let pa = learned.agency.predict(&x);
        let pp = learned.priority.predict(&x);
        let p_danger = learned.danger.predict(&x)[1];
        let argmax = |p: &[f64], allowed: &dyn Fn(usize) -> bool| -> usize {
            (0..p.len())
                .filter(|k| allowed(*k))
                .fold(None, |best: Option<usize>, k| {
                    if best.is_none_or(|b| p[k] > p[b]) {
                        Some(k)
                    } else {
                        best
                    }
                })
                .unwrap_or(0)
        };
        let composed = !a.danger.fired.is_empty();
        let mut top = argmax(&pc, &|_| true);
        if a.no_words && !composed {
            top = Category::Invalid.index();
        }
        let mut category = Category::ALL[top];
        let mut notes = Vec::new();
        let danger = composed || p_danger >= self.lexicon.threshold;
        // The referral the model would have made, kept for co-notification.
        let referral =
            (category == Category::NonPolice).then(|| Agency::ALL[argmax(&pa, &|k| Agency::ALL[k] != Agency::None)]);
        if danger && !category.is_police() && (composed || !a.no_words) {
            let police = argmax(&pc, &|k| Category::ALL[k].is_police());
            category = Category::ALL[police];
            notes.push(format!(
                "safety: possible danger to life keeps this a police matter ({category})"
            ));
        }
        let chosen = category.index();
        let runner_up = Some(Category::ALL[argmax(&pc, &|k| k != chosen)]);
        let (priority, priority_confidence) = if !category.is_police() {
            (Priority::P4, pc[chosen])
        } else if danger {
            let conf = if composed { p_danger.max(0.9) } else { p_danger };
            (Priority::P1, conf)
        } else {
            let k = argmax(&pp, &|k| Priority::ALL[k] != Priority::P4);
            let police_mass: f64 = (0..pp.len())
                .filter(|k| Priority::ALL[*k] != Priority::P4)
                .map(|k| pp[k])
                .sum();
            (Priority::ALL[k], pp[k] / police_mass.max(1e-9))
        };
        let (agency, agency_confidence) = match category {
            Category::Invalid => (Agency::None, pc[chosen]),
            Category::NonPolice => {
                let k = argmax(&pa, &|k| Agency::ALL[k] != Agency::None);
                let mass: f64 = 1.0 - pa[Agency::None.index()];
                (Agency::ALL[k], pa[k] / mass.max(1e-9))
            }
            _ => {
                let allowed = |k: usize| {
                    let ag = Agency::ALL[k];
                    ag == Agency::None || self.rules.co_notify_agencies.contains(&ag)
                };
                let k = argmax(&pa, &allowed);
                let mut agency = Agency::ALL[k];
                // A life threat the model had referred to 120 or 119 keeps
                // that service as a co-notification.
                if danger
                    && agency == Agency::None
                    && let Some(r) = referral.filter(|r| matches!(r, Agency::Ambulance | Agency::Fire))
                {
                    agency = r;
                }
                let mass: f64 = (0..pa.len()).filter(|k| allowed(*k)).map(|k| pa[k]).sum();
                (agency, pa[agency.index()] / mass.max(1e-9))
            }
        };
        Decision {
            category,
            agency,
            priority,
            confidence: pc[chosen],
            agency_confidence,
            priority_confidence,
            runner_up,
            priority_why: None,
            // Only when the override stands: an empty call stays invalid
            // without a danger reason beside it.
            danger: (danger && category.is_police()).then_some(p_danger),
            notes,
            model_top: learned
                .category
                .top_features(&x, chosen, 8)
                .into_iter()
                .filter(|(f, _)| learned.is_ngram(*f))
                .map(|(f, _)| linear::key_text(learned.vocabulary.key(f)))
                .collect(),
        }
    }

    /// The rules alone: the engine's decision before it learned, kept for an
    /// engine without a corpus.
    fn decide_by_rules(&self, a: &Analysis<'_>) -> Decision {
        let rules = &self.rules;
        let cat_score = &a.cat_score;
        let agency_score = &a.agency_score;
        let mut notes = Vec::new();
        let mut order: Vec<usize> = (0..9).collect();
        order.sort_by(|x, y| cat_score[*y].total_cmp(&cat_score[*x]));
        let mut category = Category::ALL[order[0]];
        // Safety bias: a life-threat phrase keeps a call a police matter
        // unless the non-police reading is clearly stronger.
        if !category.is_police()
            && a.hard_p1.is_some()
            && let Some(&best_police) = order.iter().find(|k| Category::ALL[**k].is_police())
            && cat_score[best_police] * SAFETY_RATIO >= cat_score[order[0]]
        {
            category = Category::ALL[best_police];
            notes.push(format!(
                "safety: a danger-to-life phrase keeps this a police matter ({category})"
            ));
        }
        let top = category.index();
        let runner_up = order.iter().copied().find(|k| *k != top).map(|k| Category::ALL[k]);
        let exp: Vec<f64> = cat_score.iter().map(|s| (s - cat_score[top]).exp()).collect();
        let confidence = 1.0 / exp.iter().sum::<f64>();

        let s119 = agency_score[Agency::Fire.index()];
        let s120 = agency_score[Agency::Ambulance.index()];
        let hurt_or_trapped = s119 >= CO_NOTIFY_MIN_SCORE || s120 >= CO_NOTIFY_MIN_SCORE;
        let (priority, priority_confidence, priority_why) = if !category.is_police() {
            (Priority::P4, 0.9, None)
        } else if let Some(id) = a.hard_p1 {
            (Priority::P1, 0.9, Some(id))
        } else if hurt_or_trapped && a.safe.is_none() {
            notes.push("someone may be hurt or trapped: P1".to_owned());
            (Priority::P1, 0.6, None)
        } else if let (Some(id), None) = (a.soft_p1, a.safe) {
            (Priority::P1, 0.6, Some(id))
        } else if let (Some(id), None, None) = (a.p3, a.in_progress, a.soft_p1) {
            (Priority::P3, 0.6, Some(id))
        } else {
            (
                rules.default_priority.get(&category).copied().unwrap_or(Priority::P2),
                0.5,
                None,
            )
        };

        let best_of = |allowed: &dyn Fn(Agency) -> bool| -> Option<(Agency, f64)> {
            Agency::ALL
                .iter()
                .filter(|ag| allowed(**ag) && agency_score[ag.index()] > 0.0)
                .map(|ag| (*ag, agency_score[ag.index()]))
                .fold(
                    None,
                    |best: Option<(Agency, f64)>, x| if best.is_none_or(|b| x.1 > b.1) { Some(x) } else { best },
                )
        };
        let total_agency: f64 = agency_score.iter().sum();
        let (agency, agency_confidence) = match category {
            Category::Invalid => (Agency::None, 0.9),
            Category::NonPolice => match best_of(&|ag| ag != Agency::None) {
                Some((ag, sc)) => (ag, sc / total_agency.max(sc)),
                None => (Agency::Hotline12345, 0.3),
            },
            _ => {
                // A co-notification needs a clear cue, not a passing word.
                if s119 >= CO_NOTIFY_MIN_SCORE {
                    (Agency::Fire, (s119 / (s119 + s120)).max(0.5))
                } else if s120 >= CO_NOTIFY_MIN_SCORE {
                    (Agency::Ambulance, 0.7)
                } else {
                    match best_of(&|ag| rules.co_notify_agencies.contains(&ag)) {
                        Some((ag, sc)) if sc >= CO_NOTIFY_MIN_SCORE => (ag, 0.5),
                        _ => (Agency::None, 0.6),
                    }
                }
            }
        };
        Decision {
            category,
            agency,
            priority,
            confidence,
            agency_confidence,
            priority_confidence,
            runner_up,
            priority_why,
            danger: None,
            notes,
            model_top: Vec::new(),
        }
    }

    /// What supported the answer, then rules, danger, model phrases, negations.
    fn reasons(&self, a: &Analysis<'_>, d: &mut Decision) -> Vec<Reason> {
        let rules = &self.rules;
        let mut reasons: Vec<Reason> = Vec::new();
        for (target, _, r) in &a.cue_reasons {
            let keep = match target {
                Target::Category(c) => *c == d.category || Some(*c) == d.runner_up,
                Target::Agency(ag) => *ag == d.agency,
                _ => d.priority_why.is_some_and(|id| rules.phrases[id] == r.keyword) || d.category.is_police(),
            };
            if keep {
                reasons.push(r.clone());
            }
        }
        reasons.extend(a.rule_reasons.iter().cloned());
        if let Some(p) = d.danger {
            let mut what: Vec<String> = a
                .danger
                .fired
                .iter()
                .map(|(c, _)| self.lexicon.compositions[*c].name.clone())
                .collect();
            if what.is_empty() {
                what.push(format!("the model reads a threat to life ({:.0}%)", p * 100.0));
            }
            let words: Vec<String> = a
                .danger
                .fired
                .iter()
                .flat_map(|(_, hits)| hits.iter().map(|h| self.lexicon.phrases[h.phrase].0.clone()))
                .collect();
            let span = a
                .danger
                .fired
                .first()
                .and_then(|(_, h)| h.first())
                .map(|h| (h.start, h.end));
            reasons.push(Reason {
                keyword: words.join("+"),
                span,
                rule: format!("{DANGER_TO_LIFE}: {}", what.join("; ")),
            });
        }
        for n in d.notes.drain(..) {
            reasons.push(Reason {
                keyword: String::new(),
                span: None,
                rule: n,
            });
        }
        // The phrases the model weighed most, where they can be pointed at.
        let mut shown = 0;
        for phrase in &d.model_top {
            // "有人" or "在我" may tip the model, but they tell a person nothing.
            if shown == 3 || phrase.chars().count() < 2 || phrase.chars().all(|c| FUNCTION_CHARS.contains(c)) {
                continue;
            }
            let Some(start) = find_chars(&a.chars, phrase) else {
                continue;
            };
            let span = (start, start + phrase.chars().count());
            if reasons
                .iter()
                .any(|r| r.span.is_some_and(|(s, e)| s <= span.0 && span.1 <= e))
            {
                continue;
            }
            shown += 1;
            reasons.push(Reason {
                keyword: phrase.clone(),
                span: Some(span),
                rule: format!("model: weighs towards {}", d.category),
            });
        }
        for (h, neg_start) in &a.negated {
            let phrase: String = a.chars[*neg_start..h.end].iter().collect();
            if !reasons.iter().any(|r| r.span == Some((*neg_start, h.end))) {
                reasons.push(Reason {
                    rule: format!("negated: {phrase}"),
                    keyword: phrase,
                    span: Some((*neg_start, h.end)),
                });
            }
        }
        reasons
    }
}

/// Characters that carry grammar rather than meaning; a model phrase made
/// only of them is not shown as a reason.
const FUNCTION_CHARS: &str =
    "的了在我你他她它们是有人这那个就都也和跟说着过吗呢吧啊呀哦嗯又还把被给让从到去来上下里一0";

/// Character position of `needle` in `chars` (lower-cased letters compare
/// equal, as the model saw them): where a reason's phrase stands in the
/// narrative.
pub fn find_chars(chars: &[char], needle: &str) -> Option<usize> {
    let n: Vec<char> = needle.chars().collect();
    if n.is_empty() || n.len() > chars.len() {
        return None;
    }
    (0..=chars.len() - n.len()).find(|&i| {
        chars[i..i + n.len()]
            .iter()
            .zip(&n)
            .all(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
    })
}

/// What the rules and the lexicon found in one narrative.
struct Analysis<'t> {
    text: &'t str,
    chars: Vec<char>,
    negated: Vec<(Hit, usize)>,
    cat_score: [f64; 9],
    agency_score: [f64; 13],
    cue_reasons: Vec<(Target, f64, Reason)>,
    rule_reasons: Vec<Reason>,
    hard_p1: Option<usize>,
    soft_p1: Option<usize>,
    safe: Option<usize>,
    p3: Option<usize>,
    in_progress: Option<usize>,
    no_words: bool,
    danger: danger::Found,
}

impl Analysis<'_> {
    fn evidence(&self) -> Evidence {
        Evidence {
            category: self.cat_score,
            agency: self.agency_score,
            flags: [
                self.hard_p1.is_some(),
                self.soft_p1.is_some(),
                self.safe.is_some(),
                self.p3.is_some(),
                self.in_progress.is_some(),
                self.no_words,
            ],
            concepts: self.danger.concepts.iter().map(Option::is_some).collect(),
            compositions: self.danger.fired.len(),
        }
    }
}

/// One decision before the reasons are written.
struct Decision {
    category: Category,
    agency: Agency,
    priority: Priority,
    confidence: f64,
    agency_confidence: f64,
    priority_confidence: f64,
    runner_up: Option<Category>,
    /// The rule phrase that set the priority (rules-only decisions).
    priority_why: Option<usize>,
    /// Set when the detector fired, with the model's probability.
    danger: Option<f64>,
    notes: Vec<String>,
    /// The n-grams the category model weighed most for the answer.
    model_top: Vec<String>,
}

#[cfg(test)]
mod tests;
