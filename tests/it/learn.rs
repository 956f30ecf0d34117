//! src/analysis/learn.rs against scikit-learn: tests/fixtures/learn/reference.py fitted
//! LogisticRegression() (and OneVsRestClassifier of it, multi-label) on the same vectors with the
//! same folds.

use selectra::analysis::learn::{cross_val_predict, Head, Targets};
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

/// scikit-learn's `LogisticRegressionCV(Cs=C_GRID, cv=<the same folds>, scoring="f1_macro",
/// class_weight=None | "balanced")`: the same mean score for every C, the same C chosen, and the
/// refitted head's probabilities on every record.
#[test]
fn the_choice_of_c_matches_logistic_regression_cv() {
    use selectra::analysis::learn::{cross_validate_c, ClassWeight, FitOptions, Steps, C_GRID};
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/learn/expected.json")).unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let cases = reference["cv_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let grid: Vec<f64> = case["grid"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(grid, C_GRID, "{name}: the reference used another grid");
        let labels: Vec<String> = case["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
        let x: Vec<Vec<f32>> = matrix(&case["x"]).into_iter().map(|r| r.into_iter().map(|v| v as f32).collect()).collect();
        let y: Vec<usize> = case["y"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let folds: Vec<usize> = case["folds"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        for (key, weighting) in [("none", ClassWeight::None), ("balanced", ClassWeight::Balanced)] {
            let want = &case["weightings"][key];
            let scores = cross_validate_c(&x, &Targets::Single(y.clone()), &labels, &folds, &grid, weighting, &Steps::default()).unwrap();
            let want_scores: Vec<f64> = want["mean_scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            for (c, (got, want)) in grid.iter().zip(scores.iter().zip(&want_scores)) {
                assert!((got - want).abs() < 1e-9, "{name}, {key}, C = {c}: mean macro F1 {got} against scikit-learn's {want}");
            }
            let best = scores.iter().enumerate().fold(0, |b, (i, &s)| if s > scores[b] { i } else { b });
            assert_eq!(grid[best], want["c"].as_f64().unwrap(), "{name}, {key}: the chosen C");
            let head = Head::fit_with(&x, &y, &labels, &FitOptions { c: grid[best], class_weight: weighting }).unwrap();
            let got: Vec<Vec<f64>> = x.iter().map(|v| head.predict(v)).collect();
            let worst = got
                .iter()
                .zip(matrix(&want["proba"]))
                .flat_map(|(g, w)| g.iter().zip(w).map(|(a, b)| (a - b).abs()).collect::<Vec<_>>())
                .fold(0.0, f64::max);
            assert!(worst < TOL, "{name}, {key}: probabilities differ from LogisticRegressionCV's by {worst:.2e}");
        }
    }
}
