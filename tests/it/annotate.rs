//! Annotations (durable changes, undo, export) and the labeling queries.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::common::*;
use selectra::domain::task::ZeroShotTask;
use selectra::engine::hub::Silent;
use selectra::exchange::import::{import_file, ImportOptions};
use selectra::store::{Query, Sort, Status, StatusFilter, Store};
use selectra::{LoadOptions, Model};

const TEXTS: &[&str] = &[
    "El Real Madrid ganó el partido de fútbol",
    "Suben los precios del mercado",
    "El gobierno convoca elecciones",
    "La película ganó un premio de música",
    "El equipo perdió la final",
    "El banco central sube los tipos",
];

fn project(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("p.db");
    let csv: String = std::iter::once("text".to_string()).chain(TEXTS.iter().map(|t| t.to_string())).collect::<Vec<_>>().join("\n");
    let file = dir.join("c.csv");
    std::fs::write(&file, csv).unwrap();
    let mut store = Store::open(&db).unwrap();
    import_file(&mut store, &file, &ImportOptions { name: "c".into(), ..Default::default() }, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    db
}

#[test]
fn annotations_are_recorded_undone_and_exported() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    let r1 = store.record_id("c", 1).unwrap();
    let r2 = store.record_id("c", 2).unwrap();
    let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    store.annotate(r1, &labels(&["deportes"]), Status::Accepted, "ana").unwrap();
    store.annotate(r1, &labels(&["deportes", "cultura"]), Status::Pending, "ana").unwrap();
    store.annotate(r2, &labels(&["economía"]), Status::Discarded, "luis").unwrap();
    assert_eq!(store.annotation(r1).unwrap().unwrap().labels, labels(&["deportes", "cultura"]));

    // Undo is personal in a shared project: ana's undo walks back her own changes, newest first,
    // and never luis's, although his is the latest in the corpus.
    store.undo_last("c", "ana").unwrap().unwrap();
    let a = store.annotation(r1).unwrap().unwrap();
    assert_eq!((a.labels, a.status), (labels(&["deportes"]), Status::Accepted));
    assert_eq!(store.annotation(r2).unwrap().unwrap().status, Status::Discarded, "luis's change stays");
    store.undo_last("c", "ana").unwrap().unwrap();
    assert!(store.annotation(r1).unwrap().is_none());
    assert!(store.undo_last("c", "ana").unwrap().is_none(), "nothing of ana's left to undo");
    let Some(selectra::store::Undone::Change(undo)) = store.undo_last("c", "luis").unwrap() else { panic!("one change to undo") };
    assert_eq!((undo.record_id, undo.labels.clone()), (r2, None));
    assert!(store.annotation(r2).unwrap().is_none());
    assert_eq!(store.annotation_history_len("c").unwrap(), 6, "history is append-only");

    // An undo that would overwrite someone else's later change to the same record is refused,
    // and changes nothing.
    let r3 = store.record_id("c", 3).unwrap();
    store.annotate(r3, &labels(&["cultura"]), Status::Accepted, "ana").unwrap();
    store.annotate(r3, &labels(&["economía"]), Status::Accepted, "luis").unwrap();
    let refused = store.undo_last("c", "ana").unwrap_err().to_string();
    assert!(refused.contains(&format!("luis changed record {r3} after you")), "{refused}");
    assert_eq!(store.annotation(r3).unwrap().unwrap().labels, labels(&["economía"]));
    store.undo_last("c", "luis").unwrap().unwrap();
    store.undo_last("c", "ana").unwrap().unwrap();
    assert!(store.annotation(r3).unwrap().is_none());

    store.annotate(r2, &labels(&["economía"]), Status::Accepted, "ana").unwrap();
    assert!(store.annotate(r2, &labels(&[" "]), Status::Accepted, "ana").is_err());
    assert!(store.record_id("c", 99).unwrap_err().to_string().contains("no record at row 99"));
    drop(store);
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "jsonl"])
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["annotation"], serde_json::Value::Null);
    assert_eq!(lines[1]["annotation"], serde_json::json!({"labels": ["economía"], "status": "accepted", "annotator": "ana"}));
}

/// Annotations acknowledged by `selectra annotate` survive a SIGKILL of the process.
#[test]
fn acknowledged_annotations_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path());
    for kill_after in [1usize, 4, 9] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_selectra"))
            .args(["annotate", "--db", db.to_str().unwrap(), "--corpus", "c", "--annotator", "stream"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut acks = BufReader::new(child.stdout.take().unwrap());
        let mut acknowledged = Vec::new();
        for i in 0..kill_after {
            let row = 1 + i % TEXTS.len();
            let label = format!("k{kill_after}-{i}");
            writeln!(stdin, "{{\"row\": {row}, \"labels\": [\"{label}\"]}}").unwrap();
            stdin.flush().unwrap();
            let mut ack = String::new();
            acks.read_line(&mut ack).unwrap();
            let event: serde_json::Value = serde_json::from_str(&ack).unwrap();
            acknowledged.push((event["record_id"].as_i64().unwrap(), label));
        }
        // One more line in flight, then kill -9 without waiting for its acknowledgement.
        writeln!(stdin, "{{\"row\": 1, \"labels\": [\"in-flight\"]}}").unwrap();
        child.kill().unwrap();
        child.wait().unwrap();

        let store = Store::open(&db).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        // The last acknowledged label of each record is there (or the in-flight one, which may have landed).
        let mut last = std::collections::HashMap::new();
        for (record, label) in &acknowledged {
            last.insert(*record, label.clone());
        }
        for (record, label) in last {
            let got = store.annotation(record).unwrap().unwrap().labels;
            assert!(got == [label.clone()] || got == ["in-flight"], "record {record}: {got:?}, acknowledged {label:?}");
        }
    }
}

#[test]
fn bad_annotation_lines_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["annotate", "--db", db.to_str().unwrap(), "--corpus", "c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Line 5 is not UTF-8: it is reported with its number, and the valid lines after it apply.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"row\": 1, \"labels\": [\"a\"]}\nnot json\n{\"row\": 77, \"labels\": [\"a\"]}\n{\"row\": 2, \"labels\": [\"b\"], \"status\": \"maybe\"}\n{\"row\": 2, \"labels\": [\"\xff\"]}\n{\"row\": 3, \"labels\": [\"c\"]}\n{\"undo\": true}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    for word in [
        "line 2",
        "line 3: corpus \"c\" has no record at row 77",
        "line 4: unknown status \"maybe\"",
        "line 5: not UTF-8",
        "4 line(s) were not applied",
    ] {
        assert!(stderr.contains(word), "{stderr:?} lacks {word:?}");
    }
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3, "three acknowledgements (rows 1 and 3, and the undo)");
}

#[test]
fn labeling_queries_filter_sort_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    let model = Model::load(model_dir("nli-electra-entail0").to_str().unwrap(), &LoadOptions::default(), Arc::new(Silent)).unwrap();
    let task = ZeroShotTask::new(vec!["deportes".into(), "economía".into(), "política".into()], "Este ejemplo es {}.", false).unwrap();
    let run =
        selectra::jobs::corpus_run::run_zeroshot(&mut store, &model, "c", &task, None, None, 4, &mut |_| {}, &AtomicBool::new(false)).unwrap().run.id;
    let page = |store: &Store, q: Query| store.query("c", &Query { limit: 100, ..q }).unwrap();

    let all = page(&store, Query { run: Some(run), ..Default::default() });
    assert_eq!((all.total, all.rows.len()), (Some(TEXTS.len() as u64), TEXTS.len()));
    assert!(all.rows.iter().all(|r| r.top_label.is_some() && r.margin.is_some()));

    let by_margin = page(&store, Query { run: Some(run), sort: Sort::Margin, ..Default::default() });
    let margins: Vec<f64> = by_margin.rows.iter().map(|r| r.margin.unwrap()).collect();
    assert!(margins.windows(2).all(|w| w[0] <= w[1]), "{margins:?}");
    let by_entropy = page(&store, Query { run: Some(run), sort: Sort::Entropy, ..Default::default() });
    assert!(by_entropy.rows.windows(2).all(|w| w[0].entropy >= w[1].entropy));
    let by_score = page(&store, Query { run: Some(run), sort: Sort::ScoreDesc, ..Default::default() });
    assert!(by_score.rows.windows(2).all(|w| w[0].top_score >= w[1].top_score));

    let label = all.rows[0].top_label.clone().unwrap();
    let filtered = page(&store, Query { run: Some(run), predicted_label: Some(label.clone()), ..Default::default() });
    assert_eq!(filtered.total.unwrap() as usize, all.rows.iter().filter(|r| r.top_label.as_deref() == Some(&label)).count());
    let min = all.rows.iter().map(|r| r.top_score.unwrap()).sum::<f64>() / all.rows.len() as f64;
    let high = page(&store, Query { run: Some(run), min_score: Some(min), ..Default::default() });
    assert!(high.rows.iter().all(|r| r.top_score.unwrap() >= min) && high.total < all.total);

    let search = page(&store, Query { text: Some("ganó \"premio".into()), ..Default::default() });
    assert_eq!(search.rows.iter().map(|r| r.row_number).collect::<Vec<_>>(), [4]);

    let r3 = store.record_id("c", 3).unwrap();
    store.annotate(r3, &["política".into()], Status::Accepted, "ana").unwrap();
    let accepted = page(&store, Query { status: Some(StatusFilter::Is(Status::Accepted)), ..Default::default() });
    assert_eq!(accepted.rows.iter().map(|r| r.row_number).collect::<Vec<_>>(), [3]);
    assert_eq!(accepted.rows[0].annotation_labels.as_deref(), Some(&["política".to_string()][..]));
    let todo = page(&store, Query { status: Some(StatusFilter::Unannotated), ..Default::default() });
    assert_eq!(todo.total, Some(TEXTS.len() as u64 - 1));

    // Pages tile the sorted result; a seeded shuffle is repeatable and a permutation.
    let first = store.query("c", &Query { run: Some(run), sort: Sort::Margin, limit: 4, ..Default::default() }).unwrap();
    let second = store.query("c", &Query { run: Some(run), sort: Sort::Margin, limit: 4, offset: 4, ..Default::default() }).unwrap();
    assert_eq!((first.total, second.total), (Some(TEXTS.len() as u64), None), "only the first page is counted");
    let paged: Vec<i64> = first.rows.iter().chain(&second.rows).map(|r| r.record_id).collect();
    assert_eq!(paged, by_margin.rows.iter().map(|r| r.record_id).collect::<Vec<_>>());
    let shuffled =
        |seed| page(&store, Query { sort: Sort::Random(seed), ..Default::default() }).rows.iter().map(|r| r.row_number).collect::<Vec<_>>();
    assert_eq!(shuffled(7), shuffled(7));
    let mut sorted = shuffled(7);
    sorted.sort();
    assert_eq!(sorted, (1..=TEXTS.len() as u64).collect::<Vec<_>>());

    assert!(store.query("c", &Query { sort: Sort::Margin, limit: 10, ..Default::default() }).unwrap_err().to_string().contains("needs a run"));
    assert!(store.query("c", &Query { limit: 0, ..Default::default() }).is_err());
}

/// What the labeling view shows beside a record: every run's scores for it, and per run, how many
/// records got each top label.
#[test]
fn runs_side_by_side_and_label_distributions() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    let model = Model::load(model_dir("nli-electra-entail0").to_str().unwrap(), &LoadOptions::default(), Arc::new(Silent)).unwrap();
    let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let task_a = ZeroShotTask::new(labels(&["deportes", "economía"]), "Este ejemplo es {}.", false).unwrap();
    let task_b = ZeroShotTask::new(labels(&["deportes", "economía", "política"]), "Trata de {}.", true).unwrap();
    let mut runs = Vec::new();
    for task in [&task_a, &task_b] {
        runs.push(
            selectra::jobs::corpus_run::run_zeroshot(&mut store, &model, "c", task, None, None, 4, &mut |_| {}, &AtomicBool::new(false))
                .unwrap()
                .run
                .id,
        );
    }

    let record = store.record_id("c", 2).unwrap();
    let side_by_side = store.record_predictions(record).unwrap();
    assert_eq!(side_by_side.iter().map(|p| p.run_id).collect::<Vec<_>>(), runs);
    let classifier = selectra::engine::zeroshot::ZeroShotClassifier::new(&model).unwrap();
    for (prediction, task) in side_by_side.iter().zip([&task_a, &task_b]) {
        let direct = classifier.classify(TEXTS[1], task).unwrap();
        assert_eq!(prediction.labels, direct.labels);
        assert_eq!(prediction.scores, direct.scores);
    }

    for run in &runs {
        let distribution = store.label_distribution(*run).unwrap();
        let all = store.query("c", &Query { run: Some(*run), limit: 100, ..Default::default() }).unwrap();
        for (label, count) in &distribution {
            assert_eq!(*count as usize, all.rows.iter().filter(|r| r.top_label.as_deref() == Some(label)).count(), "{label}");
        }
        assert_eq!(distribution.iter().map(|(_, n)| n).sum::<u64>(), TEXTS.len() as u64);
        assert!(distribution.windows(2).all(|w| w[0].1 >= w[1].1), "most frequent first: {distribution:?}");
    }
    assert!(store.label_distribution(999).is_err());
    assert!(store.record_predictions(store.record_id("c", 1).unwrap()).unwrap().len() == 2);
}

#[test]
fn status_filters_parse_from_their_names() {
    assert_eq!(StatusFilter::parse("unannotated").unwrap(), StatusFilter::Unannotated);
    assert_eq!(StatusFilter::parse("accepted").unwrap(), StatusFilter::Is(Status::Accepted));
    assert!(StatusFilter::parse("done").unwrap_err().to_string().contains("use unannotated, pending, accepted or discarded"));
}
