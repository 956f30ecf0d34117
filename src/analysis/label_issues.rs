//! Likely label errors by confident learning, as cleanlab 2.9 computes them for single-label
//! classification: `find_label_issues` with its defaults (`filter_by="prune_by_noise_rate"`,
//! `frac_noise=1`, `min_examples_per_class=1`; per-class thresholds, the calibrated confident
//! joint), its rankings (`self_confidence`, `normalized_margin`) and the noise matrix of
//! `estimate_latent`; for multi-label classification, cleanlab's one-vs-rest variant
//! ([`find_multilabel_issues`]: a binary `find_label_issues` per label, an example flagged when
//! any of its labels is, ranked by the per-label qualities' exponential moving average). Probabilities must be out-of-sample: a trained run's out-of-fold
//! predictions, or a zero-shot run's scores. Checked against cleanlab itself on fixture sets
//! (`tests/fixtures/label_issues/reference.py`).
//!
//! Ties: numpy's `argsort` (introsort) orders equal values in no documented order; here ties go
//! by position (a stable sort). Probabilities that tie exactly are rare outside constructed data.

use serde::Serialize;

use crate::error::{Error, Result};

/// cleanlab's `FLOATING_POINT_COMPARISON`.
const FLOATING_POINT_COMPARISON: f64 = 1e-6;
/// cleanlab's `CONFIDENT_THRESHOLDS_LOWER_BOUND`.
const THRESHOLD_LOWER_BOUND: f64 = 2.0 * FLOATING_POINT_COMPARISON;
/// cleanlab's `TINY_VALUE`.
const TINY: f64 = 1e-100;

/// How issues are ranked: the given label's probability, or its margin over the most likely
/// other label mapped to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    SelfConfidence,
    NormalizedMargin,
}

/// What confident learning finds in a set of labeled examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelIssues {
    /// The calibrated confident joint: `[given][true]` counts summing to the examples.
    pub confident_joint: Vec<Vec<u64>>,
    /// P(given label = i | true label = j), `estimate_latent`'s noise matrix (columns sum to 1).
    pub noise_matrix: Vec<Vec<f64>>,
    /// The examples whose label is likely wrong, lowest label quality first.
    pub issues: Vec<usize>,
    /// Each example's label quality by the ranking used.
    pub quality: Vec<f64>,
}

fn check(labels: &[usize], probs: &[Vec<f64>]) -> Result<usize> {
    let k = probs.first().map_or(0, Vec::len);
    if labels.len() != probs.len() {
        return Err(Error::Input(format!("{} labels for {} rows of probabilities", labels.len(), probs.len())));
    }
    if k < 2 {
        return Err(Error::Input("finding label errors needs at least two classes".into()));
    }
    if let Some((i, _)) = probs.iter().enumerate().find(|(_, p)| p.len() != k || p.iter().any(|x| !x.is_finite())) {
        return Err(Error::Input(format!("example {i}'s probabilities are not {k} numbers")));
    }
    if let Some(i) = labels.iter().position(|&l| l >= k) {
        return Err(Error::Input(format!("example {i}'s label is not one of the {k} classes")));
    }
    Ok(k)
}

/// Indices of `values` in ascending order, ties by position.
fn argsort(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order
}

/// The first index of the largest value (numpy's `argmax`).
fn argmax(values: &[f64]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, &v)| if v > values[best] { i } else { best })
}

/// cleanlab's `round_preserving_sum`: rounds to integers whose sum is the rounded sum.
fn round_preserving_sum(floats: &[f64]) -> Vec<i64> {
    let mut ints: Vec<f64> = floats.iter().map(|x| x.round_ties_even()).collect();
    let orig_sum = floats.iter().sum::<f64>().round_ties_even();
    let mut int_sum = ints.iter().sum::<f64>().round_ties_even();
    while (int_sum - orig_sum).abs() > FLOATING_POINT_COMPARISON {
        let diff = (orig_sum - int_sum).round_ties_even();
        let increment = if diff < 0.0 { -1.0 } else { 1.0 };
        let changes = (diff.abs() as usize).min(floats.len());
        let residual: Vec<f64> = floats.iter().zip(&ints).map(|(f, i)| f - i).collect();
        let mut order = argsort(&residual);
        if increment > 0.0 {
            order.reverse();
        }
        for &i in order.iter().take(changes) {
            ints[i] += increment;
        }
        int_sum = ints.iter().sum::<f64>().round_ties_even();
    }
    ints.iter().map(|&x| x as i64).collect()
}

fn round_preserving_row_totals(matrix: &[Vec<f64>]) -> Vec<Vec<i64>> {
    matrix.iter().map(|row| round_preserving_sum(row)).collect()
}

/// Each class's label count (classes never given count 0).
fn label_counts(labels: &[usize], k: usize) -> Vec<f64> {
    let mut counts = vec![0.0; k];
    for &l in labels {
        counts[l] += 1.0;
    }
    counts
}

/// The calibrated confident joint (`compute_confident_joint`, `calibrate=True`): `[given][true]`.
fn confident_joint(labels: &[usize], probs: &[Vec<f64>], k: usize) -> Vec<Vec<i64>> {
    let counts = label_counts(labels, k);
    // Per-class thresholds: the mean probability of the class over the examples given it.
    let thresholds: Vec<f64> = (0..k)
        .map(|c| {
            let given: Vec<f64> = labels.iter().zip(probs).filter(|(&l, _)| l == c).map(|(_, p)| p[c]).collect();
            let t = if given.is_empty() { 2.0 } else { given.iter().sum::<f64>() / given.len() as f64 };
            t.max(THRESHOLD_LOWER_BOUND)
        })
        .collect();
    let mut joint = vec![vec![0i64; k]; k];
    for (&given, p) in labels.iter().zip(probs) {
        let confident: Vec<bool> = p.iter().zip(&thresholds).map(|(x, t)| *x >= t - 1e-6).collect();
        let n = confident.iter().filter(|&&c| c).count();
        if n == 0 {
            continue;
        }
        let guess = if n > 1 { argmax(p) } else { confident.iter().position(|&c| c).expect("one is confident") };
        joint[given][guess] += 1;
    }
    for (c, row) in joint.iter_mut().enumerate() {
        row[c] = row[c].max(1);
    }
    // Calibrate: each row to its label count, the whole to the number of examples.
    let rows: Vec<f64> = joint.iter().map(|r| r.iter().sum::<i64>() as f64).collect();
    let mut calibrated: Vec<Vec<f64>> =
        joint.iter().enumerate().map(|(i, r)| r.iter().map(|&x| x as f64 / rows[i].max(TINY) * counts[i]).collect()).collect();
    let total: f64 = calibrated.iter().flatten().sum();
    let n: f64 = counts.iter().sum();
    for x in calibrated.iter_mut().flatten() {
        *x = *x / total.max(TINY) * n;
    }
    round_preserving_row_totals(&calibrated)
}

/// `_keep_at_least_n_per_class` with n = 1 and frac_noise = 1 on the transposed joint: how many
/// examples to prune, `[true][given]`.
fn prune_counts(joint: &[Vec<i64>], k: usize) -> Vec<Vec<i64>> {
    let m: Vec<Vec<f64>> = (0..k).map(|t| (0..k).map(|g| joint[g][t] as f64).collect()).collect();
    let diagonal: Vec<f64> = (0..k).map(|i| m[i][i]).collect();
    let new_diagonal: Vec<f64> = diagonal.iter().map(|d| d.max(1.0)).collect();
    let nonzero_per_col: Vec<f64> = (0..k).map(|c| ((0..k).filter(|&r| m[r][c] != 0.0).count() as f64 - 1.0).max(1.0)).collect();
    let mut out = vec![vec![0.0; k]; k];
    for r in 0..k {
        for c in 0..k {
            let v = m[r][c] - (new_diagonal[c] - diagonal[c]) / nonzero_per_col[c];
            out[r][c] = if r == c { new_diagonal[c] } else { v.max(0.0) };
        }
    }
    // `_reduce_prune_counts` with frac_noise 1 truncates to integers (`astype(int)`).
    let truncated: Vec<Vec<f64>> = out.iter().map(|r| r.iter().map(|x| x.trunc()).collect()).collect();
    round_preserving_row_totals(&truncated)
}

/// Each example's label quality: its given label's probability, or the normalized margin.
pub fn label_quality(labels: &[usize], probs: &[Vec<f64>], ranking: Ranking) -> Vec<f64> {
    labels
        .iter()
        .zip(probs)
        .map(|(&l, p)| match ranking {
            Ranking::SelfConfidence => p[l],
            Ranking::NormalizedMargin => {
                let other = p.iter().enumerate().filter(|(j, _)| *j != l).map(|(_, &x)| x).fold(f64::NEG_INFINITY, f64::max);
                (p[l] - other + 1.0) / 2.0
            }
        })
        .collect()
}

/// Finds the examples whose given label is likely wrong (`labels[i]` is example i's class,
/// `probs[i]` its out-of-sample probabilities), ranked by `ranking`, lowest quality first.
pub fn find_label_issues(labels: &[usize], probs: &[Vec<f64>], ranking: Ranking) -> Result<LabelIssues> {
    let k = check(labels, probs)?;
    let joint = confident_joint(labels, probs, k);
    let prune = prune_counts(&joint, k);
    let mut issue = vec![false; labels.len()];
    for given in 0..k {
        let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == given).collect();
        if members.len() <= 1 {
            continue;
        }
        for (truth, row) in prune.iter().enumerate() {
            let count = row[given];
            if truth == given || count <= 0 {
                continue;
            }
            // The members most likely of `truth`: by the margin of its probability over theirs.
            let negated: Vec<f64> = members.iter().map(|&i| -(probs[i][truth] - probs[i][given])).collect();
            for &m in argsort(&negated).iter().take(count as usize) {
                issue[members[m]] = true;
            }
        }
    }
    // An example whose given label is (within 1e-6) the most likely is never an issue.
    for (i, (&l, p)) in labels.iter().zip(probs).enumerate() {
        let mut nudged = p.clone();
        nudged[l] += FLOATING_POINT_COMPARISON;
        if argmax(&nudged) == l {
            issue[i] = false;
        }
    }
    let quality = label_quality(labels, probs, ranking);
    let flagged: Vec<usize> = (0..labels.len()).filter(|&i| issue[i]).collect();
    let order = argsort(&flagged.iter().map(|&i| quality[i]).collect::<Vec<_>>());
    let issues = order.into_iter().map(|j| flagged[j]).collect();
    Ok(LabelIssues {
        confident_joint: joint.iter().map(|r| r.iter().map(|&x| x.max(0) as u64).collect()).collect(),
        noise_matrix: noise_matrix(&joint, k),
        issues,
        quality,
    })
}

/// What confident learning finds in multi-label examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiLabelIssues {
    /// Each label's one-vs-rest result (classes: 0 = not given, 1 = given).
    pub per_label: Vec<LabelIssues>,
    /// Examples with an issue in any label, lowest quality first.
    pub issues: Vec<usize>,
    /// Each example's quality: its labels' qualities, highest first, averaged by cleanlab's
    /// exponential moving average (alpha 0.8), so that the worst label weighs most.
    pub quality: Vec<f64>,
}

/// cleanlab's `MultilabelScorer` default aggregator: `exponential_moving_average(alpha=0.8)`.
const MULTI_LABEL_EMA_ALPHA: f64 = 0.8;

/// Finds the multi-label examples whose label set is likely wrong (`labels[i]`: the classes
/// example i was given, `probs[i]`: each class's out-of-sample probability, not summing to 1),
/// as cleanlab's `multilabel_classification.filter.find_label_issues` does.
pub fn find_multilabel_issues(labels: &[Vec<usize>], probs: &[Vec<f64>], ranking: Ranking) -> Result<MultiLabelIssues> {
    let k = probs.first().map_or(0, Vec::len);
    if labels.len() != probs.len() {
        return Err(Error::Input(format!("{} label sets for {} rows of probabilities", labels.len(), probs.len())));
    }
    if let Some(i) = labels.iter().position(|set| set.iter().any(|&l| l >= k)) {
        return Err(Error::Input(format!("example {i} has a label that is not one of the {k} classes")));
    }
    if let Some(i) = probs.iter().position(|p| p.len() != k || p.iter().any(|x| !(0.0..=1.0).contains(x))) {
        return Err(Error::Input(format!("example {i}'s probabilities are not {k} numbers between 0 and 1")));
    }
    let mut per_label = Vec::with_capacity(k);
    let mut qualities = vec![Vec::with_capacity(k); labels.len()];
    let mut flagged = vec![false; labels.len()];
    for class in 0..k {
        let given: Vec<usize> = labels.iter().map(|set| usize::from(set.contains(&class))).collect();
        let binary: Vec<Vec<f64>> = probs.iter().map(|p| vec![1.0 - p[class], p[class]]).collect();
        let found = find_label_issues(&given, &binary, ranking)?;
        for &i in &found.issues {
            flagged[i] = true;
        }
        for (q, &x) in qualities.iter_mut().zip(&found.quality) {
            q.push(x);
        }
        per_label.push(found);
    }
    let quality: Vec<f64> = qualities
        .into_iter()
        .map(|mut q| {
            q.sort_by(|a, b| b.total_cmp(a));
            q.iter().skip(1).fold(q.first().copied().unwrap_or(1.0), |ema, &x| MULTI_LABEL_EMA_ALPHA * x + (1.0 - MULTI_LABEL_EMA_ALPHA) * ema)
        })
        .collect();
    let flagged: Vec<usize> = (0..labels.len()).filter(|&i| flagged[i]).collect();
    let order = argsort(&flagged.iter().map(|&i| quality[i]).collect::<Vec<_>>());
    Ok(MultiLabelIssues { per_label, issues: order.into_iter().map(|j| flagged[j]).collect(), quality })
}

/// `estimate_latent`'s noise matrix: the joint's columns normalized, off-diagonal rates clipped
/// below 0.9999, columns normalized again.
fn noise_matrix(joint: &[Vec<i64>], k: usize) -> Vec<Vec<f64>> {
    let cols: Vec<f64> = (0..k).map(|c| joint.iter().map(|r| r[c] as f64).sum()).collect();
    let mut m: Vec<Vec<f64>> = (0..k).map(|r| (0..k).map(|c| joint[r][c] as f64 / cols[c].max(TINY)).collect()).collect();
    for (r, row) in m.iter_mut().enumerate() {
        for (c, x) in row.iter_mut().enumerate() {
            if r != c {
                *x = x.clamp(0.0, 0.9999);
            }
        }
    }
    let sums: Vec<f64> = (0..k).map(|c| m.iter().map(|r| r[c]).sum::<f64>()).collect();
    for row in m.iter_mut() {
        for (c, x) in row.iter_mut().enumerate() {
            *x /= sums[c].max(TINY);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_each_rows_total() {
        assert_eq!(round_preserving_sum(&[0.4, 0.4, 0.4, 1.8]), vec![0, 0, 1, 2]);
        assert_eq!(round_preserving_sum(&[2.5, 2.5]), vec![2, 3]);
        assert_eq!(round_preserving_sum(&[1.0, 2.0]), vec![1, 2]);
    }

    #[test]
    fn bad_inputs_are_refused_with_why() {
        assert!(find_label_issues(&[0], &[vec![1.0]], Ranking::SelfConfidence).unwrap_err().to_string().contains("two classes"));
        assert!(find_label_issues(&[2], &[vec![0.5, 0.5]], Ranking::SelfConfidence).unwrap_err().to_string().contains("not one of"));
        assert!(find_label_issues(&[0, 1], &[vec![0.5, 0.5]], Ranking::SelfConfidence).is_err());
        assert!(find_label_issues(&[0], &[vec![f64::NAN, 0.5]], Ranking::SelfConfidence).is_err());
    }
}

/// A record whose label is likely wrong, as `selectra issues` and the app list it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecordIssue {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub row: u64,
    /// The id exports write (the source id, else the row number).
    pub id: String,
    pub record_id: i64,
    /// The reference label (the accepted annotation's, else gold); for a multi-label run, the
    /// reference labels joined by `|` as a gold cell writes them.
    pub given: String,
    /// The run's most likely label; for a multi-label run, the labels it predicts (score at or
    /// above the multi-label threshold) joined by `|`.
    pub suggested: String,
    /// The suggestion as labels, for front ends to pre-select.
    pub suggested_labels: Vec<String>,
    /// The label quality (self-confidence: the run's probability of the given label; for
    /// multi-label runs, the labels' qualities averaged worst first): lowest first.
    pub quality: f64,
}

/// One label's one-vs-rest result in a multi-label run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabelNoise {
    pub label: String,
    /// P(given = row | true = column), rows and columns: without the label, with it.
    pub noise_matrix: Vec<Vec<f64>>,
    #[cfg_attr(feature = "ts", ts(type = "Array<Array<number>>"))]
    pub confident_joint: Vec<Vec<u64>>,
    /// Records whose flag for this label is likely wrong.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub issues: u64,
}

/// Likely label errors among a run's records, by confident learning on the run's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunLabelIssues {
    pub run: i64,
    /// The run's labels: the classes, in the order of the matrices.
    pub labels: Vec<String>,
    pub multi_label: bool,
    /// Records examined: with a reference label among the run's labels and the run's scores.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub records: u64,
    /// Records with a reference the run cannot predict (left out).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub outside_run_labels: u64,
    pub issues: Vec<RecordIssue>,
    /// P(given label = row | true label = column) (single-label runs; empty for multi-label).
    pub noise_matrix: Vec<Vec<f64>>,
    /// The calibrated confident joint, `[given][true]` (single-label runs).
    #[cfg_attr(feature = "ts", ts(type = "Array<Array<number>>"))]
    pub confident_joint: Vec<Vec<u64>>,
    /// Each label's one-vs-rest matrices (multi-label runs; empty otherwise).
    pub per_label: Vec<LabelNoise>,
}

/// Finds the likely label errors among the records of `run` that have a reference label: the
/// run's scores are the out-of-sample probabilities (a zero-shot run's, or a trained run's
/// out-of-fold ones). A multi-label run's records are examined as label sets (gold cells split
/// at `|`), by cleanlab's multi-label variant.
pub fn for_run(store: &crate::store::Store, corpus: &str, run: i64) -> Result<RunLabelIssues> {
    use crate::domain::annotation::{reference, MULTI_LABEL_THRESHOLD};
    let info = store.run(run)?;
    if info.key.corpus != corpus {
        return Err(Error::Input(format!("run {run} is over corpus {:?}, not {corpus:?}", info.key.corpus)));
    }
    if !info.kind.predicts_labels() {
        return Err(Error::Input(format!("run {run} finds entities, not labels; likely label errors are found from a run that scores labels")));
    }
    let multi = info.key.multi_label;
    let classes = info.key.labels.clone();
    let (mut given, mut probs, mut rows) = (Vec::<Vec<usize>>::new(), Vec::new(), Vec::new());
    let mut outside = 0u64;
    store.for_each_export_row(&info.key.corpus, &mut |row| {
        let Some((labels, _)) = reference(row.annotation.as_ref().map(|(l, s)| (l.as_slice(), *s)), row.gold.as_deref(), multi) else {
            return Ok(());
        };
        let Some((_, _, names, scores)) = row.predictions.iter().find(|p| p.0 == run) else { return Ok(()) };
        let wanted = if multi { &labels[..] } else { &labels[..1] };
        let Some(indices) = wanted.iter().map(|l| classes.iter().position(|c| c == l)).collect::<Option<Vec<usize>>>() else {
            outside += 1;
            return Ok(());
        };
        let p: Vec<f64> = classes.iter().map(|c| names.iter().position(|n| n == c).map_or(0.0, |i| f64::from(scores[i]))).collect();
        given.push(indices);
        probs.push(p);
        rows.push((row.row_number, row.export_id, row.record_id));
        Ok(())
    })?;
    if given.is_empty() {
        return Err(Error::Input(format!(
            "run {run}'s corpus has no record with a reference label among the run's labels and a score; label some records, or import gold labels"
        )));
    }
    let join = |set: &[usize]| set.iter().map(|&c| classes[c].as_str()).collect::<Vec<_>>().join("|");
    let record_issue = |i: usize, suggested_labels: Vec<String>, quality: f64| {
        let (row, id, record_id) = rows[i].clone();
        RecordIssue { row, id, record_id, given: join(&given[i]), suggested: suggested_labels.join("|"), suggested_labels, quality }
    };
    let out = if multi {
        let found = find_multilabel_issues(&given, &probs, Ranking::SelfConfidence)?;
        let predicted = |i: usize| classes.iter().zip(&probs[i]).filter(|(_, &p)| p >= MULTI_LABEL_THRESHOLD).map(|(c, _)| c.clone()).collect();
        RunLabelIssues {
            run,
            labels: classes.clone(),
            multi_label: true,
            records: given.len() as u64,
            outside_run_labels: outside,
            issues: found.issues.iter().map(|&i| record_issue(i, predicted(i), found.quality[i])).collect(),
            noise_matrix: Vec::new(),
            confident_joint: Vec::new(),
            per_label: classes
                .iter()
                .zip(found.per_label)
                .map(|(label, l)| LabelNoise {
                    label: label.clone(),
                    noise_matrix: l.noise_matrix,
                    confident_joint: l.confident_joint,
                    issues: l.issues.len() as u64,
                })
                .collect(),
        }
    } else {
        let single: Vec<usize> = given.iter().map(|g| g[0]).collect();
        let found = find_label_issues(&single, &probs, Ranking::SelfConfidence)?;
        RunLabelIssues {
            run,
            labels: classes.clone(),
            multi_label: false,
            records: given.len() as u64,
            outside_run_labels: outside,
            issues: found.issues.iter().map(|&i| record_issue(i, vec![classes[argmax(&probs[i])].clone()], found.quality[i])).collect(),
            noise_matrix: found.noise_matrix,
            confident_joint: found.confident_joint,
            per_label: Vec::new(),
        }
    };
    Ok(out)
}
