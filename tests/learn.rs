//! src/learn.rs against scikit-learn: tests/fixtures/learn/reference.py fitted
//! LogisticRegression() (and OneVsRestClassifier of it, multi-label) on the same vectors with the
//! same folds.

use selectra::learn::{cross_val_predict, Head, Targets};
use serde_json::Value;

const TOL: f64 = 1e-4;

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()).collect()
}

#[test]
fn logistic_regression_matches_scikit_learn() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/learn/expected.json")).unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let labels: Vec<String> = case["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
        let x: Vec<Vec<f32>> = matrix(&case["x"]).into_iter().map(|r| r.into_iter().map(|v| v as f32).collect()).collect();
        let y = if case["multi"] == true {
            Targets::Multi(
                case["y"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() == 1).collect()).collect(),
            )
        } else {
            Targets::Single(case["y"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect())
        };
        let folds: Vec<usize> = case["folds"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let compare = |what: &str, got: &[Vec<f64>], want: &[Vec<f64>]| {
            let worst = got.iter().zip(want).flat_map(|(g, w)| g.iter().zip(w).map(|(a, b)| (a - b).abs())).fold(0.0, f64::max);
            assert!(worst < TOL, "{name}: {what} probabilities differ from scikit-learn's by {worst:.2e}");
        };
        let head = Head::fit_targets(&x, &y, &labels).unwrap();
        let full: Vec<Vec<f64>> = x.iter().map(|v| head.predict(v)).collect();
        compare("full-data", &full, &matrix(&case["full_proba"]));
        let oof = cross_val_predict(&x, &y, &labels, &folds).unwrap();
        compare("out-of-fold", &oof, &matrix(&case["oof_proba"]));
    }
}
