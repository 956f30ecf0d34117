//! src/analysis/metrics.rs against scikit-learn: tests/fixtures/metrics/reference.py computed every expected
//! number below from the same arrays (see that script for how).

use selectra::analysis::metrics::{cohen_kappa, fleiss_kappa, multi_label, single_label, EvalOptions};
use serde_json::Value;

const TOL: f64 = 1e-12;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

fn close(what: &str, case: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= TOL, "{case}: {what} = {got}, scikit-learn says {want}");
}

fn close_opt(what: &str, case: &str, got: Option<f64>, want: &Value) {
    match (got, want.as_f64()) {
        (None, None) => {}
        (Some(g), Some(w)) => close(what, case, g, w),
        _ => panic!("{case}: {what} = {got:?}, reference {want}"),
    }
}

#[test]
fn metrics_match_scikit_learn() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics/expected.json")).unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    let options = EvalOptions { resamples: 0, ..Default::default() };
    for case in cases {
        let name = case["name"].as_str().unwrap();
        if case["kind"] == "agreement" {
            continue; // agreement_matches_scikit_learn_and_statsmodels
        }
        let labels: Vec<String> = case["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
        let e = &case["expected"];
        match case["kind"].as_str().unwrap() {
            "single" => {
                let idx = |v: &Value| v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect::<Vec<_>>();
                let (truth, pred) = (idx(&case["truth"]), idx(&case["pred"]));
                let m = single_label(&labels, &truth, &pred, &floats(&case["confidence"]), &options);
                let want_labels: Vec<String> = e["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
                assert_eq!(m.labels, want_labels, "{name}");
                close("accuracy", name, m.accuracy.value, f(&e["accuracy"]));
                close("macro F1", name, m.macro_f1.value, f(&e["macro_f1"]));
                close("micro F1", name, m.micro_f1, f(&e["micro_f1"]));
                close("weighted F1", name, m.weighted_f1, f(&e["weighted_f1"]));
                for (i, row) in m.per_label.iter().enumerate() {
                    close("precision", name, row.precision, floats(&e["precision"])[i]);
                    close("recall", name, row.recall, floats(&e["recall"])[i]);
                    close("F1", name, row.f1, floats(&e["f1"])[i]);
                    assert_eq!(row.support as f64, floats(&e["support"])[i], "{name}: support of {}", row.label);
                }
                let confusion: Vec<Vec<u64>> =
                    e["confusion"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect()).collect();
                assert_eq!(m.confusion, confusion, "{name}");
                close("ECE", name, m.ece, f(&e["ece"]));
                for (bin, want) in m.reliability.iter().zip(e["reliability"].as_array().unwrap()) {
                    assert_eq!(bin.count, want["count"].as_u64().unwrap(), "{name}");
                    close_opt("bin confidence", name, bin.confidence, &want["confidence"]);
                    close_opt("bin accuracy", name, bin.accuracy, &want["accuracy"]);
                }
                for (point, want) in m.coverage.iter().zip(e["coverage"].as_array().unwrap()) {
                    assert_eq!(point.kept, want["kept"].as_u64().unwrap(), "{name} at {}", point.threshold);
                    close_opt("accuracy at threshold", name, point.accuracy, &want["accuracy"]);
                }
            }
            "multi" => {
                let sets = |v: &Value| {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() == 1).collect())
                        .collect::<Vec<Vec<bool>>>()
                };
                let m = multi_label(&labels, &sets(&case["truth"]), &sets(&case["pred"]), 0.5, &options);
                close("subset accuracy", name, m.subset_accuracy, f(&e["subset_accuracy"]));
                close("Hamming loss", name, m.hamming_loss, f(&e["hamming_loss"]));
                close("micro F1", name, m.micro_f1.value, f(&e["micro_f1"]));
                close("macro F1", name, m.macro_f1.value, f(&e["macro_f1"]));
                for (i, row) in m.per_label.iter().enumerate() {
                    close("precision", name, row.precision, floats(&e["precision"])[i]);
                    close("recall", name, row.recall, floats(&e["recall"])[i]);
                    close("F1", name, row.f1, floats(&e["f1"])[i]);
                    assert_eq!(row.support as f64, floats(&e["support"])[i], "{name}");
                }
            }
            other => panic!("unknown case kind {other}"),
        }
    }
}

/// Cohen's kappa for each pair of annotators against scikit-learn's `cohen_kappa_score`, and
/// Fleiss' kappa over all of them against statsmodels' `fleiss_kappa` (the per-item counts are
/// built here from the raw ratings, not taken from statsmodels).
#[test]
fn agreement_matches_scikit_learn_and_statsmodels() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics/expected.json")).unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let cases: Vec<&Value> = reference["cases"].as_array().unwrap().iter().filter(|c| c["kind"] == "agreement").collect();
    assert!(cases.len() >= 3);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let ratings: Vec<Vec<usize>> = case["ratings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect())
            .collect();
        for pair in case["pairs"].as_array().unwrap() {
            let (a, b) = (pair["a"].as_u64().unwrap() as usize, pair["b"].as_u64().unwrap() as usize);
            close("Cohen's kappa", name, cohen_kappa(&ratings[a], &ratings[b]).unwrap(), f(&pair["kappa"]));
        }
        let k = ratings.iter().flatten().max().unwrap() + 1;
        let counts: Vec<Vec<u64>> = (0..ratings[0].len())
            .map(|item| {
                let mut row = vec![0; k];
                for rater in &ratings {
                    row[rater[item]] += 1;
                }
                row
            })
            .collect();
        close("Fleiss' kappa", name, fleiss_kappa(&counts).unwrap(), f(&case["fleiss"]));
    }
}
