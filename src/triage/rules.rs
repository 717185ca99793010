//! The rule base: loaded from TOML (`assets/triage/rules.toml` is built in),
//! validated with the line of each mistake, compiled into one automaton.

use std::collections::{BTreeMap, HashMap};

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Deserialize;
use toml::Spanned;

use crate::model::{Agency, Category, Priority};

/// The rules shipped with the binary.
pub const BUILTIN_RULES: &str = include_str!("../../assets/triage/rules.toml");

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: usize, message: String },
}

/// What a phrase is evidence for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    Category(Category),
    Agency(Agency),
    HardP1,
    SoftP1,
    Safe,
    P3,
    InProgress,
    /// Only used by combos.
    Combo,
}

#[derive(Debug, Clone)]
pub struct Combo {
    pub name: String,
    /// Phrase ids; each group needs one present.
    pub groups: Vec<Vec<usize>>,
    pub category: Category,
    pub weight: f64,
}

/// A compiled rule set.
pub struct RuleSet {
    /// Every distinct phrase; its index is its id.
    pub phrases: Vec<String>,
    /// Per phrase id: what it is evidence for, with weight.
    pub targets: Vec<Vec<(Target, f64)>>,
    pub automaton: AhoCorasick,
    pub negation: Vec<String>,
    pub negation_window: usize,
    pub combos: Vec<Combo>,
    pub referral_agencies: Vec<Agency>,
    pub co_notify_agencies: Vec<Agency>,
    pub default_priority: HashMap<Category, Priority>,
}

/// Phrases grouped under their weight ("3" = [...]).
type WeightedPhrases = BTreeMap<Spanned<String>, Vec<Spanned<String>>>;

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("phrases", &self.phrases.len())
            .field("combos", &self.combos.len())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    version: Spanned<u32>,
    negation: RawNegation,
    cues: BTreeMap<Spanned<String>, WeightedPhrases>,
    #[serde(default)]
    combo: Vec<RawCombo>,
    agencies: RawAgencies,
    agency_cues: BTreeMap<Spanned<String>, WeightedPhrases>,
    priority: RawPriority,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgencies {
    referral: Vec<Spanned<String>>,
    co_notify: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNegation {
    words: Vec<Spanned<String>>,
    window: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCombo {
    name: String,
    all_of: Vec<Vec<Spanned<String>>>,
    category: Spanned<String>,
    weight: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPriority {
    hard_p1: Vec<Spanned<String>>,
    soft_p1: Vec<Spanned<String>>,
    safe: Vec<Spanned<String>>,
    p3: Vec<Spanned<String>>,
    in_progress: Vec<Spanned<String>>,
    default: BTreeMap<Spanned<String>, Spanned<String>>,
}

struct Builder<'a> {
    file: &'a str,
    source: &'a str,
    ids: HashMap<String, usize>,
    phrases: Vec<String>,
    targets: Vec<Vec<(Target, f64)>>,
}

impl Builder<'_> {
    fn line(&self, byte: usize) -> usize {
        self.source[..byte.min(self.source.len())].matches('\n').count() + 1
    }

    fn err<T>(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> Result<T, RulesError> {
        Err(RulesError::Invalid {
            file: self.file.to_owned(),
            line: self.line(span.start),
            message: message.into(),
        })
    }

    fn code<T: std::str::FromStr>(&self, s: &Spanned<String>, what: &str) -> Result<T, RulesError> {
        s.get_ref().parse().or_else(|_| {
            self.err(
                s.span(),
                format!("unknown {what} {:?} (see LABELS.md for the codes)", s.get_ref()),
            )
        })
    }

    fn phrase(&mut self, s: &Spanned<String>) -> Result<usize, RulesError> {
        let p = s.get_ref().trim();
        if p.is_empty() {
            return self.err(s.span(), "empty phrase");
        }
        if p.chars().any(char::is_whitespace) {
            return self.err(s.span(), format!("phrase {p:?} contains white space"));
        }
        Ok(match self.ids.get(p) {
            Some(&id) => id,
            None => {
                let id = self.phrases.len();
                self.ids.insert(p.to_owned(), id);
                self.phrases.push(p.to_owned());
                self.targets.push(Vec::new());
                id
            }
        })
    }

    fn add(&mut self, s: &Spanned<String>, target: Target, weight: f64) -> Result<(), RulesError> {
        let id = self.phrase(s)?;
        if self.targets[id].iter().any(|(t, _)| *t == target) {
            return self.err(
                s.span(),
                format!("phrase {:?} is listed twice for the same target", s.get_ref()),
            );
        }
        self.targets[id].push((target, weight));
        Ok(())
    }

    fn weighted(&mut self, groups: &WeightedPhrases, target: Target) -> Result<(), RulesError> {
        for (w, list) in groups {
            let weight: f64 = match w.get_ref().parse() {
                Ok(w) if (0.0..=10.0).contains(&w) => w,
                _ => {
                    return self.err(
                        w.span(),
                        format!("weight {:?} must be a number from 0 to 10", w.get_ref()),
                    );
                }
            };
            for p in list {
                self.add(p, target, weight)?;
            }
        }
        Ok(())
    }
}

impl RuleSet {
    pub fn builtin() -> Result<Self, RulesError> {
        Self::parse(BUILTIN_RULES, "assets/triage/rules.toml")
    }

    pub fn load(path: &std::path::Path) -> Result<Self, RulesError> {
        let file = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|e| RulesError::Syntax {
            file: file.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&source, &file)
    }

    /// Parses and validates a rule file; `file` names it in errors.
    pub fn parse(source: &str, file: &str) -> Result<Self, RulesError> {
        let raw: RawRules = toml::from_str(source).map_err(|e| RulesError::Syntax {
            file: file.to_owned(),
            message: e.to_string().trim().to_owned(),
        })?;
        let mut b = Builder {
            file,
            source,
            ids: HashMap::new(),
            phrases: Vec::new(),
            targets: Vec::new(),
        };
        if *raw.version.get_ref() != 1 {
            return b.err(raw.version.span(), "unsupported rules version (expected 1)");
        }
        for (cat, groups) in &raw.cues {
            let c: Category = b.code(cat, "category")?;
            b.weighted(groups, Target::Category(c))?;
        }
        for (ag, groups) in &raw.agency_cues {
            let a: Agency = b.code(ag, "agency")?;
            b.weighted(groups, Target::Agency(a))?;
        }
        let p = &raw.priority;
        for (list, target) in [
            (&p.hard_p1, Target::HardP1),
            (&p.soft_p1, Target::SoftP1),
            (&p.safe, Target::Safe),
            (&p.p3, Target::P3),
            (&p.in_progress, Target::InProgress),
        ] {
            for s in list {
                b.add(s, target, 1.0)?;
            }
        }
        let mut default_priority = HashMap::new();
        for (cat, pr) in &p.default {
            let c: Category = b.code(cat, "category")?;
            let pr: Priority = b.code(pr, "priority")?;
            default_priority.insert(c, pr);
        }
        let mut combos = Vec::new();
        for c in &raw.combo {
            let category = b.code(&c.category, "category")?;
            if c.all_of.len() < 2 {
                return b.err(
                    c.category.span(),
                    format!("combo {:?} needs at least two groups", c.name),
                );
            }
            let mut groups = Vec::new();
            for g in &c.all_of {
                let mut ids = Vec::new();
                for s in g {
                    let id = b.phrase(s)?;
                    if b.targets[id].is_empty() {
                        b.targets[id].push((Target::Combo, 0.0));
                    }
                    ids.push(id);
                }
                groups.push(ids);
            }
            combos.push(Combo {
                name: c.name.clone(),
                groups,
                category,
                weight: c.weight,
            });
        }
        let agencies = |b: &Builder<'_>, list: &[Spanned<String>]| -> Result<Vec<Agency>, RulesError> {
            list.iter().map(|s| b.code(s, "agency")).collect()
        };
        let referral_agencies = agencies(&b, &raw.agencies.referral)?;
        let co_notify_agencies = agencies(&b, &raw.agencies.co_notify)?;
        let negation: Vec<String> = raw.negation.words.iter().map(|w| w.get_ref().clone()).collect();
        if let Some(w) = raw.negation.words.iter().find(|w| w.get_ref().is_empty()) {
            return b.err(w.span(), "empty negation word");
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&b.phrases)
            .map_err(|e| RulesError::Syntax {
                file: file.to_owned(),
                message: format!("cannot compile phrases: {e}"),
            })?;
        Ok(RuleSet {
            phrases: b.phrases,
            targets: b.targets,
            automaton,
            negation,
            negation_window: raw.negation.window,
            combos,
            referral_agencies,
            co_notify_agencies,
            default_priority,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_load() {
        let r = RuleSet::builtin().expect("builtin rules are valid");
        assert!(r.phrases.len() > 300);
    }

    #[test]
    fn errors_name_the_line() {
        let bad = BUILTIN_RULES.replacen("[cues.criminal]", "[cues.crimnal]", 1);
        let e = RuleSet::parse(&bad, "rules.toml").expect_err("unknown category");
        let line = BUILTIN_RULES
            .lines()
            .position(|l| l.starts_with("[cues.criminal]"))
            .expect("line")
            + 1;
        assert!(e.to_string().starts_with(&format!("rules.toml:{line}:")), "{e}");
        assert!(e.to_string().contains("crimnal"), "{e}");

        let bad = BUILTIN_RULES.replacen("[cues.criminal]\n\"3\" = [", "[cues.criminal]\n\"30\" = [", 1);
        assert_ne!(bad, BUILTIN_RULES);
        let e = RuleSet::parse(&bad, "rules.toml").expect_err("weight out of range");
        assert!(e.to_string().contains("weight"), "{e}");

        let e = RuleSet::parse("version = 1\n[negation\n", "rules.toml").expect_err("syntax");
        assert!(e.to_string().contains("line 2") || e.to_string().contains(":2:"), "{e}");
    }
}
