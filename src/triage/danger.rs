//! The life-threat detector's lexicon: concepts (a child, water, a blade, a
//! caller who cannot speak) and their compositions, loaded from
//! `assets/triage/danger.toml`. The learned half of the detector lives in
//! [`super::learn`]; the decision that combines them is in [`super::Engine`].
//!
//! Must not touch: categories. The detector answers only "may someone die
//! if this waits?"; which police category fits is the category model's job.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Deserialize;

use super::RulesError;

/// The lexicon shipped with the binary.
pub const BUILTIN_DANGER: &str = include_str!("../../assets/triage/danger.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDanger {
    version: u32,
    model: RawModel,
    concepts: BTreeMap<String, Vec<String>>,
    composition: Vec<RawComposition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    threshold: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComposition {
    name: String,
    /// The name in Chinese, for the console; the English name if absent.
    #[serde(default)]
    zh: Option<String>,
    all_of: Vec<Vec<String>>,
}

/// A composition: every group needs a phrase of one of its concepts.
#[derive(Debug, Clone)]
pub struct Composition {
    pub name: String,
    pub zh: String,
    /// Concept indices per group.
    pub groups: Vec<Vec<usize>>,
}

/// A compiled lexicon.
pub struct Lexicon {
    /// Concept names, in file order (sorted).
    pub concepts: Vec<String>,
    /// Per phrase id: its text and concept.
    pub phrases: Vec<(String, usize)>,
    automaton: AhoCorasick,
    pub compositions: Vec<Composition>,
    /// Learned probability from which a call is treated as life-threatening.
    pub threshold: f64,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("concepts", &self.concepts.len())
            .field("phrases", &self.phrases.len())
            .field("compositions", &self.compositions.len())
            .field("threshold", &self.threshold)
            .finish()
    }
}

/// A concept phrase found in the text (character span).
#[derive(Debug, Clone, Copy)]
pub struct ConceptHit {
    pub phrase: usize,
    pub concept: usize,
    pub start: usize,
    pub end: usize,
}

/// What the lexicon found in one narrative.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Per concept: the first counted hit.
    pub concepts: Vec<Option<ConceptHit>>,
    /// Fired compositions, each with the hits that made it.
    pub fired: Vec<(usize, Vec<ConceptHit>)>,
}

impl Lexicon {
    pub fn builtin() -> Result<Lexicon, RulesError> {
        Lexicon::parse(BUILTIN_DANGER, "danger.toml")
    }

    pub fn parse(source: &str, file: &str) -> Result<Lexicon, RulesError> {
        let invalid = |message: String| RulesError::Invalid {
            file: file.to_owned(),
            line: 0,
            message,
        };
        let raw: RawDanger = toml::from_str(source).map_err(|e| RulesError::Syntax {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        if raw.version != 1 {
            return Err(invalid(format!(
                "version {} is not supported (expected 1)",
                raw.version
            )));
        }
        // 0 would make every call P1, 1 would switch the learned half off.
        if !(raw.model.threshold > 0.0 && raw.model.threshold < 1.0) {
            return Err(invalid("model.threshold must be between 0 and 1".to_owned()));
        }
        let concepts: Vec<String> = raw.concepts.keys().cloned().collect();
        let mut phrases = Vec::new();
        for (ci, (name, list)) in raw.concepts.iter().enumerate() {
            if list.is_empty() {
                return Err(invalid(format!("concept {name} has no phrases")));
            }
            for p in list {
                if p.trim().is_empty() {
                    return Err(invalid(format!("concept {name} has an empty phrase")));
                }
                phrases.push((p.clone(), ci));
            }
        }
        let mut compositions = Vec::new();
        for c in raw.composition {
            let mut groups = Vec::new();
            for g in &c.all_of {
                let mut ids = Vec::new();
                for name in g {
                    let i = concepts
                        .iter()
                        .position(|x| x == name)
                        .ok_or_else(|| invalid(format!("composition {:?} names unknown concept {name}", c.name)))?;
                    ids.push(i);
                }
                if ids.is_empty() {
                    return Err(invalid(format!("composition {:?} has an empty group", c.name)));
                }
                groups.push(ids);
            }
            if groups.len() < 2 {
                return Err(invalid(format!("composition {:?} needs two groups or more", c.name)));
            }
            compositions.push(Composition {
                zh: c.zh.unwrap_or_else(|| c.name.clone()),
                name: c.name,
                groups,
            });
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(phrases.iter().map(|(p, _)| p.as_str()))
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Lexicon {
            concepts,
            phrases,
            automaton,
            compositions,
            threshold: raw.model.threshold,
        })
    }

    /// Finds the concepts in `text`; `negated(start)` says whether a phrase
    /// starting at that character is negated ("没有烟").
    pub fn find(&self, text: &str, char_at: &[usize], negated: &dyn Fn(usize) -> bool) -> Found {
        let mut hits: Vec<ConceptHit> = Vec::new();
        for m in self.automaton.find_overlapping_iter(text) {
            let id = m.pattern().as_usize();
            let (start, end) = (char_at[m.start()], char_at[m.end()]);
            if negated(start) {
                continue;
            }
            hits.push(ConceptHit {
                phrase: id,
                concept: self.phrases[id].1,
                start,
                end,
            });
        }
        let mut concepts = vec![None; self.concepts.len()];
        for h in &hits {
            concepts[h.concept].get_or_insert(*h);
        }
        let mut fired = Vec::new();
        for (ci, c) in self.compositions.iter().enumerate() {
            let mut used: Vec<ConceptHit> = Vec::new();
            if assign(&c.groups, &hits, &mut used) {
                fired.push((ci, used));
            }
        }
        Found { concepts, fired }
    }
}

/// Gives every group a hit of its own, trying the alternatives (there are
/// at most a handful of groups and hits): "他抵着我，手里拿着刀" needs 拿着
/// as the wielding and 抵着 as the threat, not the first that fits.
/// "不想活" cannot be both the announcement and the means, so two groups
/// never share a phrase or overlapping text.
fn assign(groups: &[Vec<usize>], hits: &[ConceptHit], used: &mut Vec<ConceptHit>) -> bool {
    let Some((group, rest)) = groups.split_first() else {
        return true;
    };
    for h in hits {
        let free = !used
            .iter()
            .any(|u| u.phrase == h.phrase || (u.start < h.end && h.start < u.end));
        if group.contains(&h.concept) && free {
            used.push(*h);
            if assign(rest, hits, used) {
                return true;
            }
            used.pop();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(lex: &Lexicon, text: &str) -> Found {
        let mut char_at = vec![0usize; text.len() + 1];
        for (ci, (bi, _)) in text.char_indices().enumerate() {
            char_at[bi] = ci;
        }
        char_at[text.len()] = text.chars().count();
        lex.find(text, &char_at, &|_| false)
    }

    fn fired(lex: &Lexicon, text: &str) -> Vec<String> {
        find(lex, text)
            .fired
            .iter()
            .map(|(c, _)| lex.compositions[*c].name.clone())
            .collect()
    }

    #[test]
    fn the_builtin_lexicon_loads() {
        let lex = Lexicon::builtin().expect("danger.toml");
        assert!(lex.concepts.len() >= 15 && lex.compositions.len() >= 10, "{lex:?}");
    }

    #[test]
    fn each_composition_needs_all_its_parts() {
        let lex = Lexicon::builtin().expect("danger.toml");
        // (text, a composition that must fire, a text with only one part)
        let cases = [
            ("小孩掉井里了，听不见声了", "well", "井里的水不太干净"),
            ("我家老人一个人在屋，屋里冒烟了", "fire", "楼下饭店冒烟"),
            ("那个人把孩子捂着嘴抱上车就开走了", "taken", "孩子今天没去上学"),
            ("他拿着一把刀在食堂里晃，学生都在", "weapon", "食堂的菜太咸了"),
            ("罐车侧翻了，司机卡在驾驶室里出不来", "overturned", "罐车停在路边"),
            ("我不方便说话，他就在外面，拿着刀", "cannot speak", "刀不快了想磨一磨"),
            ("她说不想活了，现在站在楼顶边上", "self-harm", "楼顶漏水了"),
        ];
        for (text, name_part, single) in cases {
            let got = fired(&lex, text);
            assert!(got.iter().any(|n| n.contains(name_part)), "{text}: fired {got:?}");
            assert!(
                fired(&lex, single).is_empty(),
                "{single}: fired {:?}",
                fired(&lex, single)
            );
        }
    }

    #[test]
    fn groups_take_the_hit_that_leaves_the_others_a_choice() {
        let lex = Lexicon::builtin().expect("danger.toml");
        let got = fired(&lex, "他抵着我，手里拿着刀");
        assert!(got.iter().any(|n| n.contains("weapon held")), "{got:?}");
    }

    #[test]
    fn a_negated_phrase_does_not_count() {
        let lex = Lexicon::builtin().expect("danger.toml");
        let text = "孩子在屋里，没冒烟";
        let mut char_at = vec![0usize; text.len() + 1];
        for (ci, (bi, _)) in text.char_indices().enumerate() {
            char_at[bi] = ci;
        }
        char_at[text.len()] = text.chars().count();
        let neg_at = text.chars().position(|c| c == '冒').expect("冒");
        let found = lex.find(text, &char_at, &|s| s == neg_at);
        assert!(found.fired.is_empty());
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let bad = "version = 1\n[model]\nthreshold = 0.3\n[concepts]\na = [\"x\"]\n[[composition]]\nname = \"n\"\nall_of = [[\"a\"], [\"nope\"]]\n";
        let err = Lexicon::parse(bad, "d.toml").expect_err("unknown concept");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
