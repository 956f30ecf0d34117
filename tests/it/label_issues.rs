//! Confident learning against cleanlab 2.9 itself (`tests/fixtures/label_issues/reference.py`):
//! the same likely label errors in the same order by both rankings, the same calibrated
//! confident joint and noise matrix, on sets with planted errors, a class with few examples,
//! two classes, a class never given and clean labels.

use selectra::analysis::label_issues::{find_label_issues, Ranking};
use serde_json::Value;

use crate::common::fixtures;

#[test]
fn label_issues_are_cleanlabs() {
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("label_issues/expected.json")).unwrap()).unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    let mut found = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let labels: Vec<usize> = case["labels"].as_array().unwrap().iter().map(|l| l.as_u64().unwrap() as usize).collect();
        let probs: Vec<Vec<f64>> =
            case["probs"].as_array().unwrap().iter().map(|p| p.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()).collect();
        let indices = |key: &str| -> Vec<usize> { case[key].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as usize).collect() };
        for (ranking, key) in [(Ranking::SelfConfidence, "self_confidence"), (Ranking::NormalizedMargin, "normalized_margin")] {
            let got = find_label_issues(&labels, &probs, ranking).unwrap();
            assert_eq!(got.issues, indices(key), "{name}, ranked by {key}");
            let mut flagged = got.issues.clone();
            flagged.sort_unstable();
            assert_eq!(flagged, indices("mask"), "{name}");
            let joint: Vec<Vec<u64>> = case["confident_joint"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect())
                .collect();
            assert_eq!(got.confident_joint, joint, "{name}");
            for (row, want) in got.noise_matrix.iter().zip(case["noise_matrix"].as_array().unwrap()) {
                for (x, w) in row.iter().zip(want.as_array().unwrap()) {
                    assert!((x - w.as_f64().unwrap()).abs() < 1e-12, "{name}: noise matrix {x} against {w}");
                }
            }
        }
        found += indices("mask").len();
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
    let csv = dir.path().join("c.csv");
    let mut text = String::from("text,label\n");
    for (i, &l) in labels.iter().enumerate() {
        text.push_str(&format!("registro {i},{}\n", classes[l]));
    }
    std::fs::write(&csv, text).unwrap();
    let db = dir.path().join("p.db");
    let db_s = db.to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["corpus", "import", "--db", db_s, "--name", "c", "--label-column", "label", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
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
    for (run, why) in [(multi.to_string(), "multi-label"), ("99".to_string(), "there is no run 99")] {
        let out = issues(&run);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(why), "{stderr}");
    }
}
