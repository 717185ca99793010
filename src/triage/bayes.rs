//! A multinomial naive Bayes over character unigrams and bigrams, trained at
//! load time on the labelled corpus in `assets/triage/corpus.jsonl`. It
//! catches the phrasing the rules do not list; the rules still give the
//! reasons a person reads.

use std::collections::HashMap;

use crate::model::Category;

/// The training corpus shipped with the binary (the format of `dev.jsonl`).
pub const BUILTIN_CORPUS: &str = include_str!("../../assets/triage/corpus.jsonl");

const CLASSES: usize = 9;

fn class_index(c: Category) -> usize {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

/// Unigram and bigram features of the text, without channel tags like `[图片]`.
pub fn features(text: &str) -> Vec<u64> {
    let mut chars = Vec::with_capacity(text.len() / 3);
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '[' | '【' => in_tag = true,
            ']' | '】' => in_tag = false,
            _ if in_tag => {}
            c if c.is_alphanumeric() => chars.push(c),
            // Punctuation breaks bigrams.
            _ => chars.push(' '),
        }
    }
    let mut out = Vec::with_capacity(chars.len() * 2);
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            continue;
        }
        out.push(c as u64);
        if let Some(&n) = chars.get(i + 1)
            && n != ' '
        {
            out.push(((c as u64) << 32) | n as u64);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[derive(Debug, Clone)]
pub struct NaiveBayes {
    log_prior: [f64; CLASSES],
    /// Per feature: log P(feature | class).
    log_lik: HashMap<u64, [f64; CLASSES]>,
    /// log P(unseen feature | class): only its difference between classes matters.
    log_unseen: [f64; CLASSES],
}

impl NaiveBayes {
    /// Trains on `(text, category)` pairs with add-one smoothing.
    pub fn train<'a>(docs: impl IntoIterator<Item = (&'a str, Category)>) -> Self {
        let mut doc_count = [0f64; CLASSES];
        let mut feat_count: HashMap<u64, [f64; CLASSES]> = HashMap::new();
        let mut total = [0f64; CLASSES];
        for (text, cat) in docs {
            let k = class_index(cat);
            doc_count[k] += 1.0;
            for f in features(text) {
                feat_count.entry(f).or_insert([0.0; CLASSES])[k] += 1.0;
                total[k] += 1.0;
            }
        }
        let n_docs: f64 = doc_count.iter().sum::<f64>().max(1.0);
        let vocab = feat_count.len() as f64 + 1.0;
        let mut log_prior = [0f64; CLASSES];
        let mut log_unseen = [0f64; CLASSES];
        for k in 0..CLASSES {
            log_prior[k] = ((doc_count[k] + 1.0) / (n_docs + CLASSES as f64)).ln();
            log_unseen[k] = (1.0 / (total[k] + vocab)).ln();
        }
        let log_lik = feat_count
            .into_iter()
            .map(|(f, counts)| {
                let mut l = [0f64; CLASSES];
                for k in 0..CLASSES {
                    l[k] = ((counts[k] + 1.0) / (total[k] + vocab)).ln();
                }
                (f, l)
            })
            .collect();
        NaiveBayes {
            log_prior,
            log_lik,
            log_unseen,
        }
    }

    /// Parses a JSON Lines corpus (`text` and `category` fields); bad lines are errors naming the line.
    pub fn from_jsonl(source: &str) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Row {
            text: String,
            category: Category,
        }
        let mut rows = Vec::new();
        for (i, line) in source.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let row: Row = serde_json::from_str(line).map_err(|e| format!("corpus line {}: {e}", i + 1))?;
            rows.push(row);
        }
        Ok(Self::train(rows.iter().map(|r| (r.text.as_str(), r.category))))
    }

    /// Posterior probability of each category, in [`Category::ALL`] order.
    pub fn posterior(&self, text: &str) -> [f64; CLASSES] {
        let mut score = self.log_prior;
        for f in features(text) {
            // Features never seen in training carry no information.
            if let Some(l) = self.log_lik.get(&f) {
                for k in 0..CLASSES {
                    score[k] += l[k] - self.log_unseen[k];
                }
            }
        }
        let max = score.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut p = [0f64; CLASSES];
        let mut sum = 0.0;
        for k in 0..CLASSES {
            p[k] = (score[k] - max).exp();
            sum += p[k];
        }
        for v in &mut p {
            *v /= sum;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_the_obvious() {
        let nb = NaiveBayes::train([
            ("手机话费充值没到账", Category::NonPolice),
            ("宽带断了上不去网", Category::NonPolice),
            ("有人偷了我的电动车", Category::Criminal),
            ("钱包让人偷了", Category::Criminal),
        ]);
        let p = nb.posterior("电瓶让人偷了");
        assert!(p[class_index(Category::Criminal)] > p[class_index(Category::NonPolice)]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(features("[图片]"), Vec::<u64>::new());
    }
}
