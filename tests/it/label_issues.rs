//! Confident learning against cleanlab 2.9 itself (`tests/fixtures/label_issues/reference.py`):
//! the same likely label errors in the same order by both rankings, the same calibrated
//! confident joint and noise matrix, on sets with planted errors, a class with few examples,
//! two classes, a class never given and clean labels.

use selectra::analysis::label_issues::{find_label_issues, Ranking};
use serde_json::Value;

use crate::common::fixtures;

/// A JSON matrix of numbers.
fn rows<T>(v: &Value, number: impl Fn(&Value) -> T) -> Vec<Vec<T>> {
    v.as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(&number).collect()).collect()
}

/// A project (`p.db` in `dir`) with corpus "c": one record per gold cell, imported by the CLI.
fn gold_project(dir: &std::path::Path, gold: impl Iterator<Item = String>) -> std::path::PathBuf {
    let csv = dir.join("c.csv");
    let mut text = String::from("text,label\n");
    for (i, cell) in gold.enumerate() {
        text.push_str(&format!("registro {i},{cell}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let db = dir.join("p.db");
    let out =
        crate::common::selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--label-column", "label", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    db
}

/// A case's list of example indices under `key`.
fn indices(case: &Value, key: &str) -> Vec<usize> {
    case[key].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as usize).collect()
}

/// cleanlab's flagged examples by both rankings, and the mask, against `found` for each ranking.
fn check_rankings(case: &Value, found: impl Fn(Ranking) -> Vec<usize>) {
    let name = case["name"].as_str().unwrap();
    for (ranking, key) in [(Ranking::SelfConfidence, "self_confidence"), (Ranking::NormalizedMargin, "normalized_margin")] {
        let got = found(ranking);
        assert_eq!(got, indices(case, key), "{name}, ranked by {key}");
        let mut flagged = got.clone();
        flagged.sort_unstable();
        assert_eq!(flagged, indices(case, "mask"), "{name}");
    }
}

#[test]
fn label_issues_are_cleanlabs() {
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("label_issues/expected.json")).unwrap()).unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    let mut found = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let labels: Vec<usize> = case["labels"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap() as usize).collect();
        let probs = rows(&case["probs"], |x| x.as_f64().unwrap());
        check_rankings(case, |ranking| find_label_issues(&labels, &probs, ranking).unwrap().issues);
        let got = find_label_issues(&labels, &probs, Ranking::SelfConfidence).unwrap();
        assert_eq!(got.confident_joint, rows(&case["confident_joint"], |x| x.as_u64().unwrap()), "{name}");
        for (row, want) in got.noise_matrix.iter().zip(rows(&case["noise_matrix"], |x| x.as_f64().unwrap())) {
            for (x, w) in row.iter().zip(want) {
                assert!((x - w).abs() < 1e-12, "{name}: noise matrix {x} against {w}");
            }
        }
        found += indices(case, "mask").len();
    }
    assert!(found > 50, "the planted errors are found ({found})");
}

/// `selectra issues` on a project whose gold labels and run scores are the first fixture set:
/// the records cleanlab ranks, by row, with what the run suggests instead; refusals say why.
#[test]
fn selectra_issues_lists_a_runs_likely_label_errors() {
    use selectra::domain::precision::Precision;
    use selectra::store::{PredictionRow, RunKey, Store};
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("label_issues/expected.json")).unwrap()).unwrap();
    let case = &expected["cases"][0];
    let classes = ["deportes", "economía", "política", "cultura"];
    let labels: Vec<usize> = case["labels"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap() as usize).collect();
    let dir = tempfile::tempdir().unwrap();
    let db = gold_project(dir.path(), labels.iter().map(|&l| classes[l].to_string()));
    let db_s = db.to_str().unwrap();
    let mut store = Store::open(&db).unwrap();
    let key = |multi_label: bool| RunKey {
        corpus: "c".into(),
        model: if multi_label { "multi" } else { "zs" }.into(),
        weights_sha256: "0".repeat(64),
        labels: classes.iter().map(|c| c.to_string()).collect(),
        template: "Este ejemplo es {}.".into(),
        multi_label,
        strip_accents: None,
        precision: Precision::Exact,
    };
    let run = store.open_run(&key(false)).unwrap().id;
    let multi = store.open_run(&key(true)).unwrap().id;
    let records: Vec<i64> = (1..=labels.len() as u64).map(|row| store.record_id("c", row).unwrap()).collect();
    let rows: Vec<PredictionRow> = records
        .iter()
        .zip(case["probs"].as_array().unwrap())
        .map(|(&record_id, p)| {
            let p: Vec<f64> = p.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            let mut order: Vec<usize> = (0..p.len()).collect();
            order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
            PredictionRow {
                record_id,
                labels: order.iter().map(|&i| classes[i].to_string()).collect(),
                scores: order.iter().map(|&i| p[i] as f32).collect(),
            }
        })
        .collect();
    store.save_predictions(run, "zs", &[], &rows).unwrap();
    store.save_predictions(multi, "multi", &[], &rows).unwrap();
    drop(store);
    let issues = |run: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_selectra"))
            .args(["issues", "--db", db_s, "--corpus", "c", "--run", run, "--json"])
            .output()
            .unwrap()
    };
    let out = issues(&run.to_string());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Scores travel as f32 in the store: the ranking is cleanlab's on the float64 fixture.
    let want: Vec<u64> = case["self_confidence"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() + 1).collect();
    let got: Vec<u64> = found["issues"].as_array().unwrap().iter().map(|i| i["row"].as_u64().unwrap()).collect();
    assert_eq!(got, want);
    assert_eq!(found["records"], labels.len());
    let first = &found["issues"][0];
    let row = first["row"].as_u64().unwrap() as usize - 1;
    assert_eq!(first["given"], classes[labels[row]]);
    assert_ne!(first["given"], first["suggested"], "an issue's suggestion is another label");
    assert_eq!(found["noise_matrix"].as_array().unwrap().len(), 4);
    assert_eq!(found["multi_label"], false);
    // The same scores as a multi-label run: each label on its own, one-vs-rest matrices.
    let out = issues(&multi.to_string());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found["multi_label"], true);
    assert_eq!(found["per_label"].as_array().unwrap().len(), 4);
    let out = issues("99");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("there is no run 99"), "{stderr}");
}

/// cleanlab's multi-label variant: the same flagged examples in the same order by both rankings,
/// and each label's one-vs-rest confident joint, on sets with flipped flags and a rare label.
#[test]
fn multi_label_issues_are_cleanlabs() {
    use selectra::analysis::label_issues::find_multilabel_issues;
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("label_issues/expected.json")).unwrap()).unwrap();
    let cases = expected["multi_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let labels = rows(&case["labels"], |l| l.as_u64().unwrap() as usize);
        let probs = rows(&case["probs"], |x| x.as_f64().unwrap());
        check_rankings(case, |ranking| find_multilabel_issues(&labels, &probs, ranking).unwrap().issues);
        let got = find_multilabel_issues(&labels, &probs, Ranking::SelfConfidence).unwrap();
        for (class, (found, want)) in got.per_label.iter().zip(case["confident_joint"].as_array().unwrap()).enumerate() {
            assert_eq!(found.confident_joint, rows(want, |x| x.as_u64().unwrap()), "{name}: label {class}'s one-vs-rest joint");
        }
        assert!(!indices(case, "mask").is_empty(), "{name}: the planted flips were found");
        check_multi_label_run(case, &labels, &probs, &indices(case, "labelled_self_confidence"));
    }
    assert!(find_multilabel_issues(&[vec![3]], &[vec![0.5, 0.5]], Ranking::SelfConfidence).is_err());
    assert!(find_multilabel_issues(&[vec![0]], &[vec![1.5, 0.5]], Ranking::SelfConfidence).is_err());
}

/// A multi-label run over records whose gold cells hold the label sets (`a|c`): `selectra
/// issues` flags the records cleanlab flags among those with a label (an empty gold cell is no
/// reference), in its order, and suggests the run's labels.
fn check_multi_label_run(case: &Value, labels: &[Vec<usize>], probs: &[Vec<f64>], want: &[usize]) {
    use selectra::domain::precision::Precision;
    use selectra::store::{PredictionRow, RunKey, Store};
    let k = probs[0].len();
    let classes: Vec<String> = (0..k).map(|c| format!("etiqueta{c}")).collect();
    let dir = tempfile::tempdir().unwrap();
    let db = gold_project(dir.path(), labels.iter().map(|set| set.iter().map(|&c| classes[c].as_str()).collect::<Vec<_>>().join("|")));
    let mut store = Store::open(&db).unwrap();
    let key = RunKey {
        corpus: "c".into(),
        model: "multi".into(),
        weights_sha256: "0".repeat(64),
        labels: classes.clone(),
        template: "Este ejemplo es {}.".into(),
        multi_label: true,
        strip_accents: None,
        precision: Precision::Exact,
    };
    let run = store.open_run(&key).unwrap().id;
    let rows: Vec<PredictionRow> = probs
        .iter()
        .enumerate()
        .map(|(i, p)| PredictionRow {
            record_id: store.record_id("c", i as u64 + 1).unwrap(),
            labels: classes.clone(),
            scores: p.iter().map(|&x| x as f32).collect(),
        })
        .collect();
    store.save_predictions(run, "multi", &[], &rows).unwrap();
    let found = selectra::analysis::label_issues::for_run(&store, "c", run).unwrap();
    // Scores travel as f32 in the store; the fixture's 6 decimals keep cleanlab's order.
    assert_eq!(found.issues.iter().map(|i| i.row as usize - 1).collect::<Vec<_>>(), want, "{}", case["name"]);
    assert!(found.multi_label && found.noise_matrix.is_empty() && found.per_label.len() == k);
    let first = &found.issues[0];
    let i = first.row as usize - 1;
    let expected_given: Vec<&str> = labels[i].iter().map(|&c| classes[c].as_str()).collect();
    assert_eq!(first.given, expected_given.join("|"));
    let predicted: Vec<String> = (0..k).filter(|&c| probs[i][c] >= 0.5).map(|c| classes[c].clone()).collect();
    assert_eq!(first.suggested_labels, predicted);
}
