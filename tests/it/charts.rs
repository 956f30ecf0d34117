//! SVG snapshots of every chart kind, drawn from fixed data. A change in how a chart is drawn shows
//! up as a diff here; review the new drawing (open the SVG), then accept it with
//!
//!     UPDATE_SNAPSHOTS=1 cargo test --test integration charts::
//!
//! The font is compiled in, so the drawing does not depend on the machine.

use std::path::PathBuf;

use selectra::report::charts::{Bar, Chart, SizedScore};
use selectra::report::published::Published;
use selectra::report::published_figures;

fn snapshot(name: &str, chart: &Chart) {
    let svg = chart.svg().unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(format!("{name}.svg"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &svg).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing; create it with UPDATE_SNAPSHOTS=1", path.display()));
    if svg != expected {
        let got = path.with_extension("new.svg");
        std::fs::write(&got, &svg).unwrap();
        panic!("{name}: the drawing changed; compare {} with {}", path.display(), got.display());
    }
}

fn labels() -> Vec<String> {
    ["deportes", "economía", "política", "cultura"].iter().map(|s| s.to_string()).collect()
}

#[test]
fn grouped_bars() {
    let values = vec![
        vec![Some(Bar { value: 0.81, error: Some(0.02) }), Some(Bar { value: 0.64, error: Some(0.03) }), None],
        vec![Some(Bar { value: 0.77, error: None }), Some(Bar { value: 0.70, error: None }), Some(Bar { value: 0.9, error: None })],
    ];
    snapshot(
        "grouped-bars",
        &Chart::GroupedBars {
            title: "F1 per label".into(),
            y_label: "F1".into(),
            groups: labels()[..3].to_vec(),
            series: vec!["#1 small".into(), "#2 medium".into()],
            values,
            y_min: 0.0,
            y_max: 1.0,
        },
    );
}

#[test]
fn size_vs_score() {
    let points = [("A", 22.0, 0.78), ("B", 41.0, 0.80), ("C", 110.0, 0.81), ("D", 178.0, 0.79)]
        .iter()
        .map(|&(name, p, s)| SizedScore { name: name.into(), params_millions: p, score: s, measured: false })
        .collect();
    snapshot("size-vs-score", &Chart::SizeVsScore { title: "Size vs. XNLI".into(), y_label: "XNLI (accuracy)".into(), points });
}

#[test]
fn confusion() {
    let counts = vec![vec![8, 1, 0, 1], vec![2, 5, 1, 0], vec![0, 0, 9, 0], vec![1, 1, 1, 4]];
    snapshot("confusion", &Chart::Confusion { title: "Confusion, run 1".into(), labels: labels(), counts });
}

#[test]
fn reliability() {
    let bins = (0..10)
        .map(|b| {
            let lo = b as f64 / 10.0;
            let count = if b < 3 { 0 } else { 10 + b as u64 };
            let filled = (count > 0).then_some(());
            (lo, lo + 0.1, count, filled.map(|_| lo + 0.05), filled.map(|_| (lo + 0.05 - 0.08).max(0.0)))
        })
        .collect();
    snapshot("reliability", &Chart::Reliability { title: "Calibration, run 1".into(), bins });
}

#[test]
fn score_histograms() {
    let counts =
        vec![[9, 4, 2, 1, 0, 0, 1, 2, 3, 6], [12, 8, 3, 1, 1, 0, 0, 1, 1, 1], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3], [0, 0, 0, 1, 2, 5, 9, 5, 2, 1]];
    snapshot("score-histograms", &Chart::ScoreHistograms { title: "Scores per label, run 1".into(), labels: labels(), counts });
}

#[test]
fn published_comparison() {
    let figures = published_figures(&Published::load().unwrap());
    snapshot("published-scores", &figures[0].chart);
}
