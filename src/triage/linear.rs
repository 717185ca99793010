//! The learned part of triage: character 1–3-gram features with TF-IDF
//! weights, and a multinomial logistic regression trained in-process by
//! stochastic gradient descent.
//!
//! Why our own trainer rather than a crate: the data is a few thousand short
//! narratives with sparse features, and the general crates (linfa) want
//! dense matrices, which would be gigabytes here. The trainer is
//! deterministic (fixed shuffling seed), so one corpus always gives the same
//! model and the same suggestions.

use std::collections::HashMap;

/// A sparse feature vector: (feature index, value), sorted by index.
pub type Sparse = Vec<(u32, f32)>;

/// Bit set on keys that are channel tags (`[位置]`), not character n-grams.
const TAG_BIT: u64 = 1 << 63;

/// One character normalised for features: letters lower-cased, every digit
/// the same (a house number says nothing about the matter), punctuation and
/// spaces a break (`None`).
fn norm(c: char) -> Option<char> {
    if c.is_numeric() {
        Some('0')
    } else if c.is_alphanumeric() {
        Some(c.to_lowercase().next().unwrap_or(c))
    } else {
        None
    }
}

/// A channel marker at the start of `rest` (`[位置]`, `【图片】`, at most
/// eight characters inside): its inside and the bytes it spans.
pub fn tag_at(rest: &str) -> Option<(&str, usize)> {
    let open = rest.chars().next()?;
    let close = match open {
        '[' => ']',
        '【' => '】',
        _ => return None,
    };
    let end = rest.find(close)?;
    let inside = &rest[open.len_utf8()..end];
    (inside.chars().count() <= 8).then_some((inside, end + close.len_utf8()))
}

/// Letters the caller wrote, leaving out channel markers.
pub fn letters_outside_tags(text: &str) -> usize {
    let mut n = 0;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some((_, len)) = tag_at(rest) {
            rest = &rest[len..];
            continue;
        }
        n += usize::from(c.is_alphabetic());
        rest = &rest[c.len_utf8()..];
    }
    n
}

/// The n-gram keys of a text with their counts, in no particular order. A
/// key packs up to three characters (21 bits each), so it can be turned back
/// into its text for reasons.
pub fn ngram_counts(text: &str) -> HashMap<u64, u32> {
    let mut counts: HashMap<u64, u32> = HashMap::with_capacity(text.len());
    let mut run: Vec<char> = Vec::with_capacity(16);
    let flush = |run: &mut Vec<char>, counts: &mut HashMap<u64, u32>| {
        for i in 0..run.len() {
            let mut key = 0u64;
            for c in run[i..].iter().take(3) {
                key = (key << 21) | *c as u64;
                *counts.entry(key).or_insert(0) += 1;
            }
        }
        run.clear();
    };
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some((tag, len)) = tag_at(rest) {
            // A channel marker such as [位置] or [语音转文字]: one feature
            // for the marker, none for its letters.
            flush(&mut run, &mut counts);
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in tag.bytes() {
                h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
            }
            *counts.entry(h | TAG_BIT).or_insert(0) += 1;
            rest = &rest[len..];
            continue;
        }
        match norm(c) {
            Some(n) => run.push(n),
            None => flush(&mut run, &mut counts),
        }
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut run, &mut counts);
    counts
}

/// The text of an n-gram key (empty for a tag).
pub fn key_text(key: u64) -> String {
    if key & TAG_BIT != 0 {
        return String::new();
    }
    let mut out = Vec::new();
    let mut k = key;
    while k != 0 {
        out.push(char::from_u32((k & 0x1f_ffff) as u32).unwrap_or('?'));
        k >>= 21;
    }
    out.iter().rev().collect()
}

/// The n-gram vocabulary and its inverse document frequencies, learned from
/// the training texts; n-grams never seen in training are ignored.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    index: HashMap<u64, u32>,
    keys: Vec<u64>,
    idf: Vec<f32>,
}

impl Vocabulary {
    /// Keeps n-grams seen in at least `min_df` texts.
    pub fn build(texts: &[&str], min_df: u32) -> Vocabulary {
        let count = |part: &[&str]| {
            let mut df: HashMap<u64, u32> = HashMap::new();
            for t in part {
                for k in ngram_counts(t).into_keys() {
                    *df.entry(k).or_insert(0) += 1;
                }
            }
            df
        };
        // Counted by halves on two threads: part of the engine's start-up.
        let (mut df, other) = std::thread::scope(|s| {
            let second = s.spawn(|| count(&texts[texts.len() / 2..]));
            let first = count(&texts[..texts.len() / 2]);
            (first, second.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        for (k, d) in other {
            *df.entry(k).or_insert(0) += d;
        }
        let n = texts.len() as u32;
        let mut keys: Vec<(u64, u32)> = df.into_iter().filter(|(_, d)| *d >= min_df).collect();
        // Sorted so the feature order, and with it training, is reproducible.
        keys.sort_unstable();
        let idf = keys
            .iter()
            .map(|(_, d)| (((1 + n) as f32) / ((1 + *d) as f32)).ln() + 1.0)
            .collect();
        let index = keys.iter().enumerate().map(|(i, (k, _))| (*k, i as u32)).collect();
        Vocabulary {
            index,
            keys: keys.into_iter().map(|(k, _)| k).collect(),
            idf,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn key(&self, feature: u32) -> u64 {
        self.keys[feature as usize]
    }

    /// Sublinear TF-IDF, L2-normalised.
    pub fn vectorize(&self, text: &str) -> Sparse {
        let mut v: Sparse = ngram_counts(text)
            .into_iter()
            .filter_map(|(k, c)| {
                let i = *self.index.get(&k)?;
                Some((i, (1.0 + (c as f32).ln()) * self.idf[i as usize]))
            })
            .collect();
        // Sorted before summing: the map's order changes from run to run,
        // and float sums depend on order; one corpus, one model.
        v.sort_unstable_by_key(|(i, _)| *i);
        let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, x) in &mut v {
                *x /= norm;
            }
        }
        v
    }
}

/// How to train.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    /// L2 penalty per step on the weights a row touches.
    pub l2: f32,
    /// A row whose every output is already within this of its label is
    /// not stepped on. Later epochs skip most rows, so training takes a
    /// fifth less time (17,500 narratives: 1.12 s → 0.88 s) with the same
    /// figures on held-out training batches.
    pub skip_below: f32,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            // Chosen on held-out training batches and for start-up time:
            // at 22,500 narratives 18 epochs score as well as 20 (category
            // −0.0002, priority +0.001, P1 recall +0.002) and load in 0.74 s
            // instead of 1.01 s; 12 or 15 lost 0.002 at 17,500.
            epochs: 18,
            learning_rate: 3.0,
            l2: 1e-5,
            skip_below: 0.01,
            seed: 110,
        }
    }
}

/// A multinomial logistic regression over `features` inputs and `classes`
/// outputs.
#[derive(Debug, Clone)]
pub struct Softmax {
    classes: usize,
    /// Row-major: `weights[feature * classes + class]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

fn softmax_in_place(z: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

/// splitmix64: a tiny deterministic generator for shuffling.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Softmax {
    /// Trains on rows `xs` with labels `ys` (each `< classes`), optionally
    /// weighting each row (`weights[i]` scales its gradient).
    pub fn train(
        xs: &[Sparse],
        ys: &[usize],
        row_weights: Option<&[f32]>,
        features: usize,
        classes: usize,
        opts: TrainOptions,
    ) -> Softmax {
        let mut m = Softmax {
            classes,
            weights: vec![0.0; features * classes],
            bias: vec![0.0; classes],
        };
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut rng = opts.seed;
        let mut z = vec![0.0f32; classes];
        let total = (opts.epochs * xs.len()).max(1) as f32;
        let mut step = 0usize;
        for _ in 0..opts.epochs {
            for i in (1..order.len()).rev() {
                let j = (next_random(&mut rng) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for &r in &order {
                // Linear decay to a tenth of the start rate.
                let lr = opts.learning_rate * (1.0 - 0.9 * step as f32 / total);
                step += 1;
                m.scores_into(&xs[r], &mut z);
                softmax_in_place(&mut z);
                let w = row_weights.map_or(1.0, |w| w[r]);
                for (k, zk) in z.iter_mut().enumerate() {
                    *zk -= f32::from(u8::from(k == ys[r]));
                    *zk *= w;
                }
                if z.iter().all(|g| g.abs() < opts.skip_below) {
                    // Already fitted: the step would move nothing that matters.
                    continue;
                }
                for (k, g) in z.iter().enumerate() {
                    m.bias[k] -= lr * g;
                }
                for &(f, x) in &xs[r] {
                    let row = &mut m.weights[f as usize * classes..(f as usize + 1) * classes];
                    for (wk, g) in row.iter_mut().zip(&z) {
                        *wk -= lr * (g * x + opts.l2 * *wk);
                    }
                }
            }
        }
        m
    }

    fn scores_into(&self, x: &Sparse, z: &mut [f32]) {
        z.copy_from_slice(&self.bias);
        for &(f, v) in x {
            let row = &self.weights[f as usize * self.classes..(f as usize + 1) * self.classes];
            for (zk, wk) in z.iter_mut().zip(row) {
                *zk += wk * v;
            }
        }
    }

    /// Class probabilities.
    pub fn predict(&self, x: &Sparse) -> Vec<f64> {
        let mut z = vec![0.0f32; self.classes];
        self.scores_into(x, &mut z);
        softmax_in_place(&mut z);
        z.into_iter().map(f64::from).collect()
    }

    /// The features of `x` that pushed most towards `class` (weight × value,
    /// relative to the mean over classes), strongest first.
    pub fn top_features(&self, x: &Sparse, class: usize, k: usize) -> Vec<(u32, f32)> {
        let mut c: Vec<(u32, f32)> = x
            .iter()
            .map(|&(f, v)| {
                let row = &self.weights[f as usize * self.classes..(f as usize + 1) * self.classes];
                let mean = row.iter().sum::<f32>() / self.classes as f32;
                (f, (row[class] - mean) * v)
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        c.sort_by(|a, b| b.1.total_cmp(&a.1));
        c.truncate(k);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngrams_pack_and_unpack() {
        let counts = ngram_counts("有人偷车[位置]，12号");
        let mut texts: Vec<String> = counts.keys().map(|k| key_text(*k)).filter(|t| !t.is_empty()).collect();
        texts.sort();
        for want in ["有", "有人", "有人偷", "偷车", "00", "00号"] {
            assert!(texts.iter().any(|t| t == want), "{want} missing from {texts:?}");
        }
        // The tag is one feature, its letters are not n-grams, and n-grams
        // do not run across it or across punctuation.
        assert!(
            !texts.iter().any(|t| t.contains('位') || t.contains("车0")),
            "{texts:?}"
        );
        assert_eq!(counts.keys().filter(|k| **k & TAG_BIT != 0).count(), 1);
    }

    #[test]
    fn vectors_are_unit_length_and_ignore_unseen_ngrams() {
        let v = Vocabulary::build(&["有人偷车", "着火了"], 1);
        let x = v.vectorize("有人偷车 快来");
        let norm: f32 = x.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(v.vectorize("完全陌生").is_empty());
    }

    #[test]
    fn softmax_learns_a_separable_problem_and_explains_it() {
        let texts = ["偷车", "偷钱包", "车被偷", "着火", "火很大", "楼着火"];
        let ys = [0, 0, 0, 1, 1, 1];
        let v = Vocabulary::build(&texts, 1);
        let xs: Vec<Sparse> = texts.iter().map(|t| v.vectorize(t)).collect();
        let m = Softmax::train(&xs, &ys, None, v.len(), 2, TrainOptions::default());
        let p = m.predict(&v.vectorize("有人偷东西"));
        assert!(p[0] > 0.7, "{p:?}");
        let p = m.predict(&v.vectorize("家里着火"));
        assert!(p[1] > 0.7, "{p:?}");
        let x = v.vectorize("偷东西");
        let top = m.top_features(&x, 0, 1);
        assert_eq!(key_text(v.key(top[0].0)), "偷");
        // Same data, same model.
        let again = Softmax::train(&xs, &ys, None, v.len(), 2, TrainOptions::default());
        assert_eq!(again.weights, m.weights);
    }
}
