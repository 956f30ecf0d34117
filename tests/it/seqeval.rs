//! Entity-level scores against seqeval (tests/fixtures/seqeval/reference.py): the entities of
//! every reference and predicted sequence, and every type's and average's precision, recall, F1
//! and support, in seqeval's default mode and in strict IOB2 mode.

use selectra::analysis::seqeval::{entities, report, Mode, Scores};
use serde_json::Value;

use crate::common::close;

fn check_scores(context: &str, got: &Scores, want: &Value) {
    for (name, value) in [("precision", got.precision), ("recall", got.recall), ("f1", got.f1)] {
        close(&format!("{context} {name}"), value, want[name].as_f64().unwrap());
    }
    assert_eq!(got.support, want["support"].as_u64().unwrap(), "{context} support");
}

#[test]
fn entity_scores_match_seqeval_in_both_modes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seqeval/expected.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let sequences = |v: &Value| -> Vec<Vec<String>> { serde_json::from_value(v.clone()).unwrap() };
    let (mut checked, mut entity_count, mut modes_differ) = (0, 0, 0);
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (y_true, y_pred) = (sequences(&case["y_true"]), sequences(&case["y_pred"]));
        let mut micro = Vec::new();
        for mode in Mode::ALL {
            let key = if mode == Mode::Default { "default" } else { "strict" };
            let want = &case["expected"][key];
            for (which, seqs) in [("entities_true", &y_true), ("entities_pred", &y_pred)] {
                for (i, seq) in seqs.iter().enumerate() {
                    let got: Vec<(String, usize, usize)> = entities(seq, mode).unwrap().into_iter().map(|s| (s.label, s.start, s.end)).collect();
                    let expected: Vec<(String, usize, usize)> = serde_json::from_value(want[which][i].clone()).unwrap();
                    assert_eq!(got, expected, "{name} {key}: {which} of sequence {i} {seq:?}");
                    entity_count += got.len();
                }
            }
            let got = report(&y_true, &y_pred, mode).unwrap();
            let types: Vec<&str> = got.per_type.iter().map(|(t, _)| t.as_str()).collect();
            let want_types: Vec<&str> = want["report"]["types"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
            assert_eq!(types, want_types, "{name} {key}: types");
            for (t, scores) in &got.per_type {
                check_scores(&format!("{name} {key} {t}"), scores, &want["report"]["per_type"][t]);
            }
            check_scores(&format!("{name} {key} micro"), &got.micro, &want["report"]["averages"]["micro"]);
            check_scores(&format!("{name} {key} macro"), &got.macro_avg, &want["report"]["averages"]["macro"]);
            check_scores(&format!("{name} {key} weighted"), &got.weighted, &want["report"]["averages"]["weighted"]);
            micro.push(got.micro.f1);
            checked += 1;
        }
        modes_differ += usize::from((micro[0] - micro[1]).abs() > 1e-9);
    }
    assert!(checked >= 10 && entity_count >= 1000, "{checked} reports, {entity_count} entities");
    assert!(modes_differ >= 3, "the fixture must tell the two modes apart (only {modes_differ} cases did)");
}

#[test]
fn mismatched_sequences_are_an_error_not_a_score() {
    let t = vec![vec!["B-PER".to_string(), "O".into()]];
    let p = vec![vec!["B-PER".to_string()]];
    assert!(report(&t, &p, Mode::Default).unwrap_err().to_string().contains("sequence 0 has 2 reference tags but 1 predicted"));
    assert!(report(&t, &[], Mode::Strict).is_err());
}
