//! The labeling query model, bulk labeling and several annotators. Every filter's result is
//! checked against an independent computation over the corpus as `selectra export` writes it.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use selectra::domain::precision::Precision;
use selectra::exchange::import::{import_file, ImportOptions};
use selectra::store::{Cursor, Disagreement, MetaFilter, PredictionRow, Query, QueryRow, RunKey, Sample, Sort, Status, StatusFilter, Store, Undone};
use serde_json::Value;

const LABELS: &[&str] = &["deportes", "economía", "política", "cultura"];
const WORDS: &[&str] = &["banco", "gobierno", "partido", "equipo", "museo", "precio", "ciudad", "Banco", "liga", "teatro"];
const SOURCES: &[&str] = &["web", "prensa", "radio"];
const N: usize = 90;

/// A deterministic stand-in for randomness (the test must not depend on a generator's version).
fn mix(i: usize, salt: usize) -> usize {
    (i.wrapping_mul(2654435761) ^ salt.wrapping_mul(40503)).wrapping_mul(2246822519) >> 7
}

fn text(i: usize) -> String {
    (0..3 + mix(i, 1) % 5).map(|j| WORDS[mix(i, j + 2) % WORDS.len()]).collect::<Vec<_>>().join(" ")
}

/// A corpus with gold labels and metadata (a source, and a year that is sometimes not a
/// number), two runs, and annotations by two annotators.
fn project(dir: &Path) -> (PathBuf, i64, i64) {
    let csv = dir.join("c.csv");
    let mut body = String::from("id,text,label,source,year\n");
    for i in 0..N {
        let year = if i % 11 == 0 { "n/d".to_string() } else { (2015 + mix(i, 9) % 10).to_string() };
        let gold = if i % 7 == 0 { "" } else { LABELS[mix(i, 5) % LABELS.len()] };
        body.push_str(&format!("r{i},{},{gold},{},{year}\n", text(i), SOURCES[mix(i, 6) % SOURCES.len()]));
    }
    std::fs::write(&csv, body).unwrap();
    let db = dir.join("p.db");
    let mut store = Store::open(&db).unwrap();
    let options = ImportOptions {
        name: "c".into(),
        id_column: Some("id".into()),
        label_column: Some("label".into()),
        metadata_columns: vec!["source".into(), "year".into()],
        ..Default::default()
    };
    import_file(&mut store, &csv, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let run = |store: &mut Store, model: &str, salt: usize| {
        let key = RunKey {
            corpus: "c".into(),
            model: model.into(),
            weights_sha256: "0".repeat(64),
            labels: LABELS.iter().map(|s| s.to_string()).collect(),
            template: "Este ejemplo es {}.".into(),
            multi_label: false,
            strip_accents: None,
            precision: Precision::Exact,
        };
        let run = store.open_run(&key).unwrap();
        let pending = store.pending_records(run.id, 0, 10_000).unwrap();
        let rows: Vec<PredictionRow> = pending
            .iter()
            // Run "b" leaves a few records unpredicted, as an unfinished run does.
            .filter(|(id, _)| salt == 1 || *id % 13 != 0)
            .map(|(id, _)| {
                let i = *id as usize;
                let top = 0.3 + (mix(i, salt) % 600) as f32 / 1000.0;
                let second = ((1.0 - top) * (mix(i, salt + 1) % 100) as f32 / 100.0).min(top);
                let rest = (1.0 - top - second) / 2.0;
                let first = mix(i, salt + 2) % LABELS.len();
                let mut labels = vec![LABELS[first].to_string()];
                labels.extend(LABELS.iter().enumerate().filter(|(k, _)| *k != first).map(|(_, l)| l.to_string()));
                let mut scores = vec![top, second, rest, rest];
                scores[1..].sort_by(|a, b| b.total_cmp(a));
                PredictionRow { record_id: *id, labels, scores }
            })
            .collect();
        store.save_predictions(run.id, model, &[], &rows).unwrap();
        run.id
    };
    let a = run(&mut store, "a", 1);
    let b = run(&mut store, "b", 2);
    for i in (0..N).step_by(3) {
        let id = store.record_id("c", i as u64 + 1).unwrap();
        let label = LABELS[mix(i, 8) % LABELS.len()].to_string();
        let status = if i % 9 == 0 { Status::Discarded } else { Status::Accepted };
        store.annotate(id, std::slice::from_ref(&label), status, "ana").unwrap();
        if i % 2 == 0 {
            // luis labels some of the same records, agreeing about half of the time.
            let other = if mix(i, 10).is_multiple_of(2) { label } else { LABELS[(mix(i, 8) + 1) % LABELS.len()].to_string() };
            store.annotate(id, &[other], Status::Accepted, "luis").unwrap();
        }
    }
    // The same label set entered in another order is agreement, not a dispute.
    let both = store.record_id("c", 2).unwrap();
    store.annotate(both, &["deportes".into(), "economía".into()], Status::Accepted, "ana").unwrap();
    store.annotate(both, &["economía".into(), "deportes".into()], Status::Accepted, "luis").unwrap();
    (db, a, b)
}

/// The corpus as `selectra export --format jsonl` writes it.
fn exported(db: &Path) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every page of a query, read with keyset cursors; checks that no record repeats.
fn all_pages(store: &Store, q: &Query) -> (Vec<QueryRow>, u64) {
    let first = store.query("c", &Query { limit: 7, ..q.clone() }).unwrap();
    let total = first.total.expect("the first page is counted");
    let mut rows = first.rows;
    let mut next = first.next;
    while let Some(cursor) = next {
        let page = store.query("c", &Query { limit: 7, after: Some(cursor), ..q.clone() }).unwrap();
        assert!(page.total.is_none());
        rows.extend(page.rows);
        next = page.next;
    }
    let ids: BTreeSet<i64> = rows.iter().map(|r| r.record_id).collect();
    assert_eq!(ids.len(), rows.len(), "a record appeared on two pages");
    (rows, total)
}

fn prediction(line: &Value, run: i64) -> Option<(&str, f64, f64)> {
    let p = line["predictions"].as_array().unwrap().iter().find(|p| p["run"] == run)?;
    let scores: Vec<f64> = p["scores"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect();
    Some((p["labels"][0].as_str().unwrap(), scores[0], scores[0] - scores[1]))
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn accepted(line: &Value) -> Option<Vec<&str>> {
    let a = &line["annotation"];
    (a["status"] == "accepted").then(|| a["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect())
}

/// One filter, its independent definition over an exported line, and the orders to read it in.
type Check<'a> = (&'a str, Query, Box<dyn Fn(&Value) -> bool + 'a>);

#[test]
fn every_filter_matches_an_independent_computation_over_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let (db, a, b) = project(dir.path());
    let lines = exported(&db);
    assert_eq!(lines.len(), N);
    let store = Store::open(&db).unwrap();
    let meta = |line: &Value, key: &str| line["metadata"][key].as_str().map(String::from);
    let checks: Vec<Check> = vec![
        ("everything", Query::default(), Box::new(|_| true)),
        (
            "text banco (whole word, any case)",
            Query { text: Some("banco".into()), ..Default::default() },
            Box::new(|l| words(l["text"].as_str().unwrap()).contains(&"banco".into())),
        ),
        ("gold", Query { gold: Some("economía".into()), ..Default::default() }, Box::new(|l| l["gold"] == "economía")),
        ("unannotated", Query { status: Some(StatusFilter::Unannotated), ..Default::default() }, Box::new(|l| l["annotation"].is_null())),
        (
            "discarded",
            Query { status: Some(StatusFilter::Is(Status::Discarded)), ..Default::default() },
            Box::new(|l| l["annotation"]["status"] == "discarded"),
        ),
        ("annotator luis", Query { annotator: Some("luis".into()), ..Default::default() }, Box::new(|l| l["annotation"]["annotator"] == "luis")),
        (
            "predicted",
            Query { run: Some(a), predicted_label: Some("política".into()), ..Default::default() },
            Box::new(move |l| prediction(l, a).is_some_and(|p| p.0 == "política")),
        ),
        (
            "score range",
            // Bounds off the scores' grid, so that f32 rounding cannot put a score on either side.
            Query { run: Some(a), min_score: Some(0.4005), max_score: Some(0.7005), ..Default::default() },
            Box::new(move |l| prediction(l, a).is_some_and(|p| (0.4005..=0.7005).contains(&p.1))),
        ),
        (
            "margin range",
            Query { run: Some(b), min_margin: Some(0.0512372), max_margin: Some(0.3037172), ..Default::default() },
            Box::new(move |l| prediction(l, b).is_some_and(|p| (0.0512372..=0.3037172).contains(&p.2))),
        ),
        (
            "two runs disagree",
            Query { disagree: Some(Disagreement::Runs(a, b)), ..Default::default() },
            Box::new(move |l| matches!((prediction(l, a), prediction(l, b)), (Some(x), Some(y)) if x.0 != y.0)),
        ),
        (
            "run vs annotation",
            Query { disagree: Some(Disagreement::RunAnnotation(a)), ..Default::default() },
            Box::new(move |l| matches!((prediction(l, a), accepted(l)), (Some(p), Some(labels)) if !labels.contains(&p.0))),
        ),
        (
            "run vs gold",
            Query { disagree: Some(Disagreement::RunGold(b)), ..Default::default() },
            Box::new(move |l| matches!((prediction(l, b), l["gold"].as_str()), (Some(p), Some(g)) if p.0 != g)),
        ),
        (
            "annotators disagree",
            Query { disagree: Some(Disagreement::Annotators), ..Default::default() },
            Box::new(|l| {
                let sets: BTreeSet<BTreeSet<String>> = l["annotators"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|x| x["status"] == "accepted")
                    .map(|x| x["labels"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect())
                    .collect();
                sets.len() > 1
            }),
        ),
        (
            "meta equality",
            Query { meta: vec![MetaFilter::parse("source=prensa").unwrap()], ..Default::default() },
            Box::new(move |l| meta(l, "source").as_deref() == Some("prensa")),
        ),
        (
            "meta contains, ignoring case and accents",
            Query { meta: vec![MetaFilter::parse("source~ÉN").unwrap()], ..Default::default() },
            Box::new(move |l| meta(l, "source").is_some_and(|s| s.contains("en"))),
        ),
        (
            "meta starts with",
            Query { meta: vec![MetaFilter::parse("source^=RA").unwrap()], ..Default::default() },
            Box::new(move |l| meta(l, "source").is_some_and(|s| s.starts_with("ra"))),
        ),
        (
            "meta numeric range (n/d is no number)",
            Query { meta: vec![MetaFilter::parse("year=2017..2020").unwrap()], ..Default::default() },
            Box::new(move |l| meta(l, "year").and_then(|y| y.parse::<f64>().ok()).is_some_and(|y| (2017.0..=2020.0).contains(&y))),
        ),
        (
            "combined: predicted, unannotated, metadata",
            Query {
                run: Some(a),
                predicted_label: Some("deportes".into()),
                status: Some(StatusFilter::Unannotated),
                meta: vec![MetaFilter::parse("year>=2018").unwrap()],
                ..Default::default()
            },
            Box::new(move |l| {
                prediction(l, a).is_some_and(|p| p.0 == "deportes")
                    && l["annotation"].is_null()
                    && meta(l, "year").and_then(|y| y.parse::<f64>().ok()).is_some_and(|y| y >= 2018.0)
            }),
        ),
    ];
    let row_of = |l: &Value| -> u64 { l["id"].as_str().unwrap()[1..].parse::<u64>().unwrap() + 1 };
    let mut nonempty = 0;
    for (name, q, keep) in &checks {
        let want: BTreeSet<u64> = lines.iter().filter(|l| keep(l)).map(row_of).collect();
        nonempty += usize::from(!want.is_empty() && want.len() < N);
        let mut sorts = vec![Sort::Row, Sort::Random(9)];
        if q.run.is_some() {
            sorts.extend([Sort::Margin, Sort::Entropy, Sort::ScoreDesc, Sort::ScoreAsc]);
        }
        for sort in sorts {
            let (rows, total) = all_pages(&store, &Query { sort, ..q.clone() });
            let got: BTreeSet<u64> = rows.iter().map(|r| r.row_number).collect();
            assert_eq!(got, want, "{name}, {sort:?}");
            assert_eq!(total, want.len() as u64, "{name}: count");
            let keys: Vec<f64> = match sort {
                Sort::Row => rows.iter().map(|r| r.row_number as f64).collect(),
                Sort::Margin => rows.iter().map(|r| r.margin.unwrap()).collect(),
                Sort::Entropy => rows.iter().map(|r| -r.entropy.unwrap()).collect(),
                Sort::ScoreDesc => rows.iter().map(|r| -r.top_score.unwrap()).collect(),
                Sort::ScoreAsc => rows.iter().map(|r| r.top_score.unwrap()).collect(),
                _ => continue,
            };
            assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{name}: {sort:?} out of order");
        }
    }
    assert!(nonempty >= checks.len() - 2, "the fixture must make most filters select a strict, non-empty subset");
}

#[test]
fn a_seeded_sample_is_a_fixed_subset_of_what_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (db, a, _) = project(dir.path());
    let store = Store::open(&db).unwrap();
    let filter = Query { run: Some(a), max_score: Some(0.75), ..Default::default() };
    let (matching, _) = all_pages(&store, &filter);
    let sample = |seed| {
        let (rows, total) = all_pages(&store, &Query { sample: Some(Sample { size: 10, seed }), sort: Sort::Margin, ..filter.clone() });
        assert_eq!(total, 10);
        rows.iter().map(|r| r.record_id).collect::<BTreeSet<_>>()
    };
    let (s1, s1_again, s2) = (sample(1), sample(1), sample(2));
    assert_eq!(s1, s1_again, "the same seed gives the same sample");
    assert_ne!(s1, s2, "another seed gives another sample");
    let all: BTreeSet<i64> = matching.iter().map(|r| r.record_id).collect();
    assert!(s1.is_subset(&all) && s2.is_subset(&all));
    let (everything, total) = all_pages(&store, &Query { sample: Some(Sample { size: 10_000, seed: 1 }), ..filter.clone() });
    assert_eq!((everything.len(), total), (all.len(), all.len() as u64), "a sample larger than the set is the set");
}

/// A found set (a search's or a tool's records) filters like any filter and keeps its own order
/// across pages: driving the query, or under a run's predictions; bulk labels reach only it.
#[test]
fn listed_records_filter_and_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, a, _) = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    let ids: Vec<i64> = [40u64, 3, 17, 3, 88, 9, 61, 66, 5, 70, 31, 8, 77, 45, 2, 89].iter().map(|&r| store.record_id("c", r).unwrap()).collect();
    let mut unique: Vec<i64> = Vec::new();
    for id in &ids {
        if !unique.contains(id) {
            unique.push(*id);
        }
    }
    let listed = Query { records: Some(ids.clone()), sort: Sort::Listed, ..Default::default() };
    let (rows, total) = all_pages(&store, &listed);
    assert_eq!(rows.iter().map(|r| r.record_id).collect::<Vec<_>>(), unique, "the list's order, each record once");
    assert_eq!(total, unique.len() as u64);
    // Under a run (its predictions drive, and filter): the list's order among what matches.
    let (rows, _) = all_pages(&store, &Query { run: Some(a), max_score: Some(0.8), ..listed.clone() });
    let (all_low, _) = all_pages(&store, &Query { run: Some(a), max_score: Some(0.8), ..Default::default() });
    let low: BTreeSet<i64> = all_low.iter().map(|r| r.record_id).collect();
    let expected: Vec<i64> = unique.iter().copied().filter(|id| low.contains(id)).collect();
    assert!(!expected.is_empty() && expected.len() < unique.len());
    assert_eq!(rows.iter().map(|r| r.record_id).collect::<Vec<_>>(), expected);
    // In import order, with another filter.
    let (rows, _) = all_pages(&store, &Query { records: Some(ids.clone()), status: Some(StatusFilter::Unannotated), ..Default::default() });
    let (unannotated, _) = all_pages(&store, &Query { status: Some(StatusFilter::Unannotated), ..Default::default() });
    let unannotated: BTreeSet<i64> = unannotated.iter().map(|r| r.record_id).collect();
    // Ids ascend with rows (one import).
    let expected: Vec<i64> = unique.iter().copied().collect::<BTreeSet<_>>().into_iter().filter(|id| unannotated.contains(id)).collect();
    assert!(!expected.is_empty());
    assert_eq!(rows.iter().map(|r| r.record_id).collect::<Vec<_>>(), expected);
    // A bulk label of the found set changes it and nothing else.
    let outcome = store.annotate_matching("c", &listed, &["deportes".to_string()], Status::Accepted, "lista").unwrap();
    assert_eq!(outcome.matched, unique.len() as u64);
    let (changed, _) = all_pages(&store, &Query { annotator: Some("lista".into()), ..Default::default() });
    assert!(changed.iter().all(|r| unique.contains(&r.record_id)) && changed.len() as u64 == outcome.changed && outcome.changed > 0);
    // Records of another corpus, or none at all, match nothing; the order needs a list.
    assert_eq!(store.count("c", &Query { records: Some(vec![-1, 10_000_000]), ..Default::default() }).unwrap(), 0);
    assert_eq!(store.count("c", &Query { records: Some(vec![]), sort: Sort::Listed, ..Default::default() }).unwrap(), 0);
    assert!(store.query("c", &Query { sort: Sort::Listed, limit: 5, ..Default::default() }).unwrap_err().to_string().contains("listed records"));
}

#[test]
fn cursors_and_filter_texts_are_checked() {
    assert!(Cursor::parse("x").unwrap_err().to_string().contains("not a page cursor"));
    assert_eq!(Disagreement::parse("3,5").unwrap(), Disagreement::Runs(3, 5));
    assert_eq!(Disagreement::parse("3, gold").unwrap(), Disagreement::RunGold(3));
    assert!(Disagreement::parse("3,3").is_err());
    assert!(Disagreement::parse("tres").unwrap_err().to_string().contains("two run ids"));
    assert_eq!(MetaFilter::parse("a=b=c").unwrap(), MetaFilter::Equals { key: "a".into(), value: "b=c".into() });
    assert_eq!(MetaFilter::parse("y=..3").unwrap(), MetaFilter::Range { key: "y".into(), min: None, max: Some(3.0) });
    assert!(MetaFilter::parse("y>=abc").is_err());
    assert!(MetaFilter::parse("novalue").is_err());
    // The key ends at the first operator; contains and starts-with need a text.
    assert_eq!(MetaFilter::parse("author~Aristó").unwrap(), MetaFilter::Contains { key: "author".into(), value: "Aristó".into() });
    assert_eq!(MetaFilter::parse("author ^= Ar").unwrap(), MetaFilter::Prefix { key: "author".into(), value: "Ar".into() });
    assert_eq!(MetaFilter::parse("a=b~c").unwrap(), MetaFilter::Equals { key: "a".into(), value: "b~c".into() });
    assert!(MetaFilter::parse("author~ ").unwrap_err().to_string().contains("key~text"));
    assert_eq!(MetaFilter::parse("author~Aristó").unwrap().parts(), ("author", "contains", Some("Aristó")));
    assert_eq!(MetaFilter::parse("year=1..2").unwrap().parts(), ("year", "range", None));
    let dir = tempfile::tempdir().unwrap();
    let (db, a, _) = project(dir.path());
    let store = Store::open(&db).unwrap();
    let err = |q: Query| store.query("c", &Query { limit: 5, ..q }).unwrap_err().to_string();
    assert!(err(Query { min_margin: Some(0.1), ..Default::default() }).contains("needs a run"));
    assert!(err(Query { disagree: Some(Disagreement::Runs(a, 999)), ..Default::default() }).contains("no run 999"));
    assert!(err(Query { run: Some(a), min_score: Some(0.9), max_score: Some(0.1), ..Default::default() }).contains("range is empty"));
    // NaN and numbers outside [0, 1] would match nothing; they are refused, not run.
    for q in [
        Query { run: Some(a), min_score: Some(f64::NAN), ..Default::default() },
        Query { run: Some(a), max_score: Some(f64::NAN), ..Default::default() },
        Query { run: Some(a), min_margin: Some(f64::NAN), ..Default::default() },
        Query { run: Some(a), min_score: Some(1.5), ..Default::default() },
        Query { run: Some(a), max_margin: Some(-0.1), ..Default::default() },
    ] {
        assert!(err(q.clone()).contains("is not a number from 0 to 1"), "{q:?}: {}", err(q.clone()));
    }
}

#[test]
fn bulk_labels_are_one_batch_and_one_undo_reverts_them_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (db, a, _) = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    let q = Query { run: Some(a), predicted_label: Some("cultura".into()), ..Default::default() };
    let (matching, _) = all_pages(&store, &q);
    let before: HashMap<i64, Option<(Vec<String>, Status)>> =
        matching.iter().map(|r| (r.record_id, store.annotation(r.record_id).unwrap().map(|a| (a.labels, a.status)))).collect();
    let already = before.values().filter(|v| v.as_ref().is_some_and(|(l, s)| l == &["salud"] && *s == Status::Accepted)).count();
    let outcome = store.annotate_matching("c", &q, &["salud".into()], Status::Accepted, "eva").unwrap();
    assert_eq!(outcome.matched as usize, matching.len());
    assert_eq!(outcome.changed as usize, matching.len() - already);
    for r in &matching {
        let a = store.annotation(r.record_id).unwrap().unwrap();
        assert_eq!((a.labels, a.status, a.annotator.as_str()), (vec!["salud".to_string()], Status::Accepted, "eva"));
    }
    // eva labels one record by hand after the batch: the first undo takes back that change only,
    // the second the whole batch.
    let other = store.record_id("c", 2).unwrap();
    store.annotate(other, &["x".into()], Status::Pending, "eva").unwrap();
    assert!(matches!(store.undo_last("c", "eva").unwrap(), Some(Undone::Change(e)) if e.record_id == other));
    let undone = store.undo_last("c", "eva").unwrap().unwrap();
    assert_eq!(undone, Undone::Batch { batch: outcome.batch.unwrap(), records: outcome.changed });
    for (record, was) in &before {
        assert_eq!(&store.annotation(*record).unwrap().map(|a| (a.labels, a.status)), was, "record {record} is as before the batch");
    }
    // Discard in bulk; a record someone else changes afterwards blocks the batch's undo whole.
    let discard = store.annotate_matching("c", &q, &[], Status::Discarded, "eva").unwrap();
    store.annotate(matching[0].record_id, &["mine".into()], Status::Accepted, "luis").unwrap();
    let refused = store.undo_last("c", "eva").unwrap_err().to_string();
    assert!(refused.contains("bulk change") && refused.contains("luis"), "{refused}");
    assert_eq!(store.annotation(matching[1].record_id).unwrap().unwrap().status, Status::Discarded, "a refused undo changes nothing");
    assert!(discard.batch.is_some());
    // Records of another corpus are refused before anything is written.
    assert!(store.annotate_batch("nope", &[1], &["x".into()], Status::Accepted, "eva").is_err());
}

/// `selectra label` killed with SIGKILL while its batch is being written leaves all of the batch
/// or none of it. The kill comes once the batch's writes show in the WAL file, so the process is
/// inside its transaction.
#[test]
fn a_bulk_label_killed_midway_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.txt");
    let lines: String = (0..60_000).map(|i| format!("registro número {i} {}\n", text(i))).collect();
    std::fs::write(&csv, lines).unwrap();
    let db = dir.path().join("big.db");
    let mut store = Store::open(&db).unwrap();
    import_file(&mut store, &csv, &ImportOptions { name: "c".into(), ..Default::default() }, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    drop(store);
    let wal = dir.path().join("big.db-wal");
    let mut killed_midway = 0;
    for (trial, grow_by) in [256 * 1024u64, 2 << 20, 6 << 20].into_iter().enumerate() {
        let label = format!("bulk{trial}");
        let args = ["label", "--db", db.to_str().unwrap(), "--corpus", "c", "--labels", &label, "--annotator", "bulk"];
        let finished = crate::common::kill_when_wal_grows(&args, &wal, grow_by);
        let store = Store::open(&db).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let labeled = store.count("c", &Query { annotator: Some("bulk".into()), ..Default::default() }).unwrap();
        let with_label = store
            .count("c", &Query { status: Some(StatusFilter::Is(Status::Accepted)), annotator: Some("bulk".into()), ..Default::default() })
            .unwrap();
        assert_eq!(labeled, with_label);
        let (rows, _) = (store.query("c", &Query { annotator: Some("bulk".into()), limit: 1, ..Default::default() }).unwrap().rows, ());
        let this_batch = rows.first().is_some_and(|r| r.annotation_labels.as_deref() == Some(&[label.clone()][..]));
        match finished {
            Some(status) => {
                assert!(status.success());
                assert_eq!(labeled, 60_000);
            }
            None => {
                // Killed: this batch is all there or not at all (earlier batches may be there whole).
                assert!(labeled == 0 || labeled == 60_000, "{labeled} records labeled: a batch was cut");
                if !this_batch {
                    killed_midway += 1;
                }
            }
        }
    }
    assert!(killed_midway > 0, "no trial killed the batch before its commit; the test proved nothing");
}

#[test]
fn annotators_agreement_and_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, _) = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    let agreement = store.annotator_agreement("c").unwrap();
    let names: Vec<&str> = agreement.annotators.iter().map(|c| c.annotator.as_str()).collect();
    assert_eq!(names, ["ana", "luis"]);
    // Recomputed from the export's per-annotator labels.
    let lines = exported(&db);
    let mut pairs = Vec::new();
    for l in &lines {
        let by: HashMap<&str, String> = l["annotators"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["status"] == "accepted")
            .map(|x| {
                let mut set: Vec<&str> = x["labels"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
                set.sort();
                (x["annotator"].as_str().unwrap(), set.join("|"))
            })
            .collect();
        if let (Some(x), Some(y)) = (by.get("ana"), by.get("luis")) {
            pairs.push((x.clone(), y.clone()));
        }
    }
    let cats: Vec<String> = pairs.iter().flat_map(|(x, y)| [x.clone(), y.clone()]).collect::<BTreeSet<_>>().into_iter().collect();
    let idx = |c: &String| cats.iter().position(|x| x == c).unwrap();
    let (x, y): (Vec<usize>, Vec<usize>) = pairs.iter().map(|(p, q)| (idx(p), idx(q))).unzip();
    let p = &agreement.pairs[0];
    assert_eq!(p.records as usize, pairs.len());
    assert!(pairs.len() >= 5);
    assert_eq!(p.kappa, selectra::analysis::metrics::cohen_kappa(&x, &y));
    assert_eq!(agreement.disputed as usize, pairs.iter().filter(|(p, q)| p != q).count());

    // luis undoes his latest change: his own labels of that record go back to before it.
    let Some(Undone::Change(undone)) = store.undo_last("c", "luis").unwrap() else { panic!("luis has a change to undo") };
    let after = store.annotator_agreement("c").unwrap();
    assert_eq!(after.pairs[0].records, p.records - 1, "record {} no longer has a label of luis", undone.record_id);

    // The annotator's name is a project setting.
    assert!(!store.annotator().unwrap().is_empty());
    store.set_annotator("  Marta ").unwrap();
    drop(store);
    let mut store = Store::open(&db).unwrap();
    assert_eq!(store.annotator().unwrap(), "Marta");
    assert!(store.set_annotator("").is_err());
    assert!(store.set_annotator("a\nb").is_err());
    // History shows who did what.
    let history = store.record_history(undone.record_id).unwrap();
    let who: Vec<&str> = history.iter().map(|h| h.annotator.as_str()).collect();
    assert_eq!(who, ["ana", "luis", "luis"]);
    assert_eq!(history[2].undoes, Some(history[1].id));
}

#[test]
fn the_label_schema_is_kept_in_the_project() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, _) = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    assert!(store.label_schema("c").unwrap().labels.is_empty());
    let in_use = store.labels_in_use("c").unwrap();
    for l in LABELS {
        assert!(in_use.contains(&l.to_string()), "{l} is used by gold, annotations or a run");
    }
    let mut schema = selectra::store::LabelSchema::from_names(&["deportes", "economía"]).unwrap();
    schema.labels[0].description = "Fútbol, liga, equipos".into();
    schema.labels[1].hypothesis = Some("Habla de dinero.".into());
    schema.guidelines = "Etiqueta el tema principal.".into();
    let stored = store.set_label_schema("c", schema).unwrap();
    drop(store);
    let store = Store::open(&db).unwrap();
    let read = store.label_schema("c").unwrap();
    assert_eq!(read, stored);
    assert_eq!(read.labels[1].key.as_deref(), Some("2"));
    assert_eq!(read.hypotheses("Este ejemplo es {}.").unwrap(), ["Este ejemplo es deportes.", "Habla de dinero."]);
    assert_eq!(read.guidelines, "Etiqueta el tema principal.");
    // The template lab's choice becomes every label's hypothesis; the guidelines stay.
    drop(store);
    let mut store = Store::open(&db).unwrap();
    let used = store.use_template("c", &[], "Trata de {}.").unwrap();
    assert_eq!(used.hypotheses("ignored {}").unwrap(), ["Trata de deportes.", "Trata de economía."]);
    assert_eq!(used.guidelines, "Etiqueta el tema principal.");
    assert!(store.use_template("c", &[], "sin campo").is_err());
}

/// Schemas are strict about what they hold: unknown fields (typos) are errors, names are
/// compared in one Unicode form and must show something, control characters are refused in
/// names and escaped when printed, and a byte-order mark is fine.
#[test]
fn schemas_refuse_typos_twins_and_invisible_names() {
    use selectra::store::LabelSchema;
    let err = |json: &str| LabelSchema::from_json(json).and_then(LabelSchema::normalized).unwrap_err().to_string();
    assert!(err(r##"{"labels": [{"name": "a", "color": "#ff0000"}]}"##).contains("unknown field `color`"));
    assert!(err(r#"{"labels": [{"name": "a", "hypotesis": "Es a."}]}"#).contains("unknown field `hypotesis`"));
    assert!(err(r#"{"labels": [], "guideline": "x"}"#).contains("unknown field `guideline`"));
    // "informática" precomposed and with a combining accent: one label.
    assert!(err(r#"{"labels": [{"name": "inform\u00e1tica"}, {"name": "informa\u0301tica"}]}"#).contains("twice"));
    assert!(err(r#"{"labels": [{"name": "\u200b"}]}"#).contains("nothing in it shows"));
    assert!(err(r#"{"labels": [{"name": "a\u0007b"}]}"#).contains("control character"));
    let schema = LabelSchema::from_json("\u{feff}{\"labels\": [{\"name\": \"informa\u{301}tica\"}, {\"name\": \"informatica\"}]}")
        .unwrap()
        .normalized()
        .unwrap();
    assert_eq!(schema.names(), ["informática", "informatica"], "names are stored in NFC");
    assert_eq!(schema.warnings(), ["\"informática\" and \"informatica\" differ only in accents or case: probably one label typed twice"]);
    assert_eq!(LabelSchema::warnings_for(&["deportes".to_string(), "Deportes".to_string(), "cultura".to_string()]).len(), 1);

    // The CLI reads the same way and prints stored text with its control characters escaped.
    let dir = tempfile::tempdir().unwrap();
    let (db, _, _) = project(dir.path());
    let file = dir.path().join("schema.json");
    std::fs::write(&file, "\u{feff}{\"labels\": [{\"name\": \"deportes\", \"description\": \"borra\\u001b[2J la pantalla\\u0000\"}]}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["schema", "--db", db.to_str().unwrap(), "--corpus", "c", "--set", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(!printed.contains('\u{1b}') && !printed.contains('\0') && printed.contains("\\u{1b}[2J"), "{printed:?}");
    std::fs::write(&file, r##"{"labels": [{"name": "deportes", "colour": "#ff0000", "hypotesis": "x"}]}"##).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["schema", "--db", db.to_str().unwrap(), "--corpus", "c", "--set", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success() && stderr.contains("hypotesis") && stderr.lines().count() == 1, "{stderr}");

    // A corpus name with a line break would break every listing.
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "text\nhola\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["corpus", "import", "--db", db.to_str().unwrap(), "--name", "dos\nlíneas", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("one line"));
}

#[test]
fn the_cli_queries_and_labels_with_the_same_filters() {
    let dir = tempfile::tempdir().unwrap();
    let (db, a, _) = project(dir.path());
    let selectra = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null)
    };
    let db = db.to_str().unwrap();
    let run = a.to_string();
    let filters = ["--run", run.as_str(), "--predicted", "economía", "--meta", "source=web"];
    let q = selectra(&[&["query", "--db", db, "--corpus", "c", "--order", "margin", "--limit", "3", "--json"][..], &filters[..]].concat());
    let total = q["total"].as_u64().unwrap();
    assert!(total > 3, "the fixture has several matches ({total})");
    assert_eq!(q["records"].as_array().unwrap().len(), 3);
    let next = q["next"].as_str().unwrap();
    let q2 = selectra(
        &[&["query", "--db", db, "--corpus", "c", "--order", "margin", "--limit", "3", "--after", next, "--json"][..], &filters[..]].concat(),
    );
    assert_eq!(q2["total"].as_u64(), Some(total), "later pages say the total too");
    assert_ne!(q2["records"][0]["row"], q["records"][0]["row"]);
    for r in q["records"].as_array().unwrap() {
        assert_eq!(r["predicted"], "economía");
        assert_eq!(r["metadata"]["source"], "web");
    }
    let labeled =
        selectra(&[&["label", "--db", db, "--corpus", "c", "--labels", "economía", "--annotator", "cli", "--json"][..], &filters[..]].concat());
    assert_eq!(labeled["matched"].as_u64(), Some(total));
    let changed = labeled["changed"].as_u64().unwrap();
    assert!(changed > 0 && changed <= total);
    let mine =
        selectra(&[&["query", "--db", db, "--corpus", "c", "--annotator", "cli", "--status", "accepted", "--json"][..], &filters[..]].concat());
    assert_eq!(mine["total"].as_u64(), Some(changed), "every changed record is labeled by cli");
    // `annotate` undoes the last batch whole.
    let mut child = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["annotate", "--db", db, "--corpus", "c", "--annotator", "cli"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{{\"undo\": true}}").unwrap();
    let out = child.wait_with_output().unwrap();
    let ack: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ack, serde_json::json!({"batch": labeled["batch"], "records": changed}));
    let restored = selectra(&[&["query", "--db", db, "--corpus", "c", "--annotator", "cli", "--json"][..], &filters[..]].concat());
    assert_eq!(restored["total"].as_u64(), Some(0), "the undo took the whole batch back");
}

/// Every number of an evaluation (a confusion cell, a predicted-label total, a reliability bin,
/// the mistakes) opens exactly its records: the drill-down query's count is the number.
/// The same filter text matches the same records in the app and the CLI: the app's filter bar
/// sends a `FilterSpec` as JSON, the CLI fills one from its flags, and the core resolves both. The
/// cases type what people type: surrounding spaces, and fields left empty (which mean "any").
#[test]
fn a_filter_matches_the_same_records_in_the_app_and_the_cli() {
    use selectra::domain::query::FilterSpec;
    let dir = tempfile::tempdir().unwrap();
    let (db, a, b) = project(dir.path());
    let store = Store::open_existing(&db).unwrap();
    let db = db.to_str().unwrap();
    let (a, b) = (a.to_string(), b.to_string());
    let pair = format!(" {a} , {b} ");
    let cli_rows = |flags: &[&str]| -> Vec<u64> {
        let args = [&["query", "--db", db, "--corpus", "c", "--limit", "10000", "--json"][..], flags].concat();
        let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let page: Value = serde_json::from_slice(&out.stdout).unwrap();
        page["records"].as_array().unwrap().iter().map(|r| r["row"].as_u64().unwrap()).collect()
    };
    let app_rows = |filter: Value| -> Vec<u64> {
        let spec: FilterSpec = serde_json::from_value(filter.clone()).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let mut q = spec.query().unwrap();
        q.limit = 10_000;
        store.query("c", &q).unwrap().rows.iter().map(|r| r.row_number).collect()
    };
    let all = app_rows(serde_json::json!({}));
    let cases: Vec<(Vec<&str>, Value)> = vec![
        (vec!["--gold", " deportes "], serde_json::json!({"gold": " deportes "})),
        (vec!["--gold", ""], serde_json::json!({"gold": ""})),
        (vec!["--status", " unannotated "], serde_json::json!({"status": " unannotated "})),
        (vec!["--status", "  "], serde_json::json!({"status": "  "})),
        (vec!["--search", "  partido  "], serde_json::json!({"text": "  partido  "})),
        (vec!["--meta", " source=web"], serde_json::json!({"meta": [" source=web"]})),
        (vec!["--meta", " "], serde_json::json!({"meta": [" "]})),
        (vec!["--meta", "year>=2020", "--meta", "source ~ we"], serde_json::json!({"meta": ["year>=2020", "source ~ we"]})),
        (vec!["--run", &a, "--predicted", " economía "], serde_json::json!({"run": a.parse::<i64>().unwrap(), "predicted_label": " economía "})),
        (vec!["--disagree", &pair], serde_json::json!({"disagree": pair})),
        (vec!["--sample", "7", "--seed", "3"], serde_json::json!({"sample": 7, "seed": 3})),
    ];
    let mut narrowed = 0;
    for (flags, filter) in cases {
        let (cli, app) = (cli_rows(&flags), app_rows(filter.clone()));
        assert_eq!(cli, app, "{flags:?} and {filter}");
        narrowed += usize::from(!app.is_empty() && app.len() < all.len());
    }
    assert!(narrowed >= 7, "most cases match some records but not all ({narrowed})");
}

#[test]
fn every_number_of_an_evaluation_opens_exactly_its_records() {
    use selectra::analysis::evaluate::{evaluate, RunMetrics};
    use selectra::store::EvalFilter;
    let dir = tempfile::tempdir().unwrap();
    let (db, a, b) = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    // A pending annotation falls back to the gold label; a discarded one is left out.
    store.annotate(store.record_id("c", 5).unwrap(), &["salud".into()], Status::Pending, "ana").unwrap();
    let options = selectra::analysis::metrics::EvalOptions { resamples: 0, ..Default::default() };
    for runs in [vec![a], vec![a, b]] {
        let e = evaluate(&store, "c", &runs, &options).unwrap();
        let scored = EvalFilter { runs: runs.clone(), ..Default::default() };
        let count = |q: Query| store.count("c", &q).unwrap();
        for r in &e.runs {
            let RunMetrics::SingleLabel(m) = &r.metrics else { panic!("single-label runs") };
            let run = Some(r.run.id);
            assert_eq!(count(Query { evaluation: Some(scored.clone()), ..Default::default() }), m.n, "the scored records");
            let mut cells = 0;
            for (ti, t) in m.labels.iter().enumerate() {
                for (pi, p) in m.labels.iter().enumerate() {
                    let cell = EvalFilter { reference: Some(t.clone()), ..scored.clone() };
                    let q = Query { run, predicted_label: Some(p.clone()), evaluation: Some(cell), ..Default::default() };
                    assert_eq!(count(q), m.confusion[ti][pi], "runs {runs:?}, run {}: {t} predicted {p}", r.run.id);
                    cells += u64::from(m.confusion[ti][pi] > 0);
                }
                let column: u64 = m.confusion.iter().map(|row| row[ti]).sum();
                assert_eq!(count(Query { run, predicted_label: Some(t.clone()), evaluation: Some(scored.clone()), ..Default::default() }), column);
            }
            assert!(cells >= 4, "the fixture fills several cells");
            for (bin, reliability) in m.reliability.iter().enumerate() {
                let q = Query { run, score_bin: Some(bin as u32), evaluation: Some(scored.clone()), ..Default::default() };
                assert_eq!(count(q), reliability.count, "bin {bin}");
            }
            let correct: u64 = (0..m.labels.len()).map(|i| m.confusion[i][i]).sum();
            let mistakes = Query {
                run,
                evaluation: Some(EvalFilter { mistakes_of: run, ..scored.clone() }),
                sort: Sort::ScoreDesc,
                limit: 10,
                ..Default::default()
            };
            assert_eq!(count(mistakes.clone()), m.n - correct);
            // Most confident first, they are the evaluation's list of most confident mistakes.
            let shown: Vec<f64> = store.query("c", &mistakes).unwrap().rows.iter().map(|row| row.top_score.unwrap()).collect();
            let listed: Vec<f64> = r.mistakes.iter().map(|m| m.confidence).collect();
            assert_eq!(shown, listed);
        }
    }
    let err = store.query(
        "c",
        &Query { evaluation: Some(EvalFilter { runs: vec![a], mistakes_of: Some(b), ..Default::default() }), limit: 5, ..Default::default() },
    );
    assert!(err.unwrap_err().to_string().contains("not one of the evaluated runs"));
}

#[test]
fn metadata_values_and_label_sources_count_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, _) = project(dir.path());
    let store = Store::open(&db).unwrap();
    let lines = exported(&db);
    assert_eq!(store.metadata_keys("c").unwrap(), ["source", "year"]);
    // Every value with its count, most frequent first; with a text, only values containing it.
    let values = store.metadata_values("c", "source", None, 10).unwrap();
    for (value, n) in &values {
        assert_eq!(*n as usize, lines.iter().filter(|l| l["metadata"]["source"] == *value).count(), "{value}");
    }
    assert!(values.windows(2).all(|w| w[0].1 >= w[1].1));
    assert_eq!(values.len(), SOURCES.len());
    let radio: Vec<String> = store.metadata_values("c", "source", Some("RÁD"), 10).unwrap().into_iter().map(|(v, _)| v).collect();
    assert_eq!(radio, ["radio"]);
    assert!(store.metadata_values("c", "nokey", None, 10).unwrap().is_empty());

    // What a head could learn from: accepted annotations and gold, as records and kinds.
    let sources = store.label_sources("c").unwrap();
    let gold: Vec<&str> = lines.iter().filter_map(|l| l["gold"].as_str()).filter(|g| !g.is_empty()).collect();
    assert_eq!(sources.gold as usize, gold.len());
    assert_eq!(sources.gold_kinds as usize, gold.iter().collect::<BTreeSet<_>>().len());
    let accepted: Vec<Vec<&str>> = lines.iter().filter_map(accepted).filter(|l| !l.is_empty()).collect();
    assert_eq!(sources.annotations as usize, accepted.len());
    assert_eq!(sources.annotation_kinds as usize, accepted.iter().flatten().collect::<BTreeSet<_>>().len());
}

#[test]
fn front_end_settings_live_in_the_project_under_their_own_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _, _) = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    assert_eq!(store.front_end_setting("ui.zeroshot").unwrap(), None);
    let value = serde_json::json!({"useSchema": true, "labels": "a, b"});
    store.set_front_end_setting("ui.zeroshot", &value).unwrap();
    drop(store);
    let mut store = Store::open(&db).unwrap();
    assert_eq!(store.front_end_setting("ui.zeroshot").unwrap(), Some(value));
    // The project's own settings are not a front end's to change, and sizes are bounded.
    assert!(store.set_front_end_setting("annotator", &serde_json::json!("x")).unwrap_err().to_string().contains("ui."));
    assert!(store.set_front_end_setting("ui.Bad Key", &serde_json::json!(1)).is_err());
    let huge = serde_json::json!("x".repeat(70_000));
    assert!(store.set_front_end_setting("ui.big", &huge).unwrap_err().to_string().contains("at most"));
}

#[test]
fn references_outside_a_runs_labels_are_counted_and_can_be_left_out() {
    use selectra::analysis::evaluate::{evaluate, LabelSource};
    use selectra::analysis::metrics::EvalOptions;
    let dir = tempfile::tempdir().unwrap();
    let (db, a, _) = project(dir.path());
    let mut store = Store::open(&db).unwrap();
    // Two records labeled with a topic the runs were never asked about.
    for row in [2, 3] {
        let id = store.record_id("c", row).unwrap();
        store.annotate(id, &["otro".to_string()], Status::Accepted, "ana").unwrap();
    }
    let options = EvalOptions { resamples: 0, ..Default::default() };
    let all = evaluate(&store, "c", &[a], &options).unwrap();
    let run = &all.runs[0];
    assert_eq!(run.outside_references, 2);
    assert_eq!(run.outside_labels, [("otro".to_string(), 2)]);
    assert!(run.outside_warning().unwrap().contains("2 of"), "{:?}", run.outside_warning());
    let within = evaluate(&store, "c", &[a], &EvalOptions { within_run_labels: true, ..options }).unwrap();
    assert_eq!(within.references.outside_run_labels, 2);
    assert_eq!(within.runs[0].outside_references, 0);
    assert!(within.runs[0].outside_warning().is_none());
    let n = |e: &selectra::analysis::evaluate::Evaluation| match &e.runs[0].metrics {
        selectra::analysis::evaluate::RunMetrics::SingleLabel(m) => m.n,
        selectra::analysis::evaluate::RunMetrics::MultiLabel(m) => m.n,
    };
    assert_eq!(n(&within), n(&all) - 2);

    // Label sources: an accepted annotation, a discarded record and a gold cell.
    let accepted = Some((&["x".to_string()][..], Status::Accepted));
    let pending = Some((&["x".to_string()][..], Status::Pending));
    let discarded = Some((&[][..], Status::Discarded));
    assert_eq!(LabelSource::Annotations.labels(accepted, Some("g"), true), Some(vec!["x".to_string()]));
    assert_eq!(LabelSource::Annotations.labels(pending, Some("g"), true), None);
    assert_eq!(LabelSource::Gold.labels(accepted, Some("g|h"), true), Some(vec!["g".to_string(), "h".to_string()]));
    assert_eq!(LabelSource::Gold.labels(discarded, Some("g"), true), None);
    assert_eq!(LabelSource::Both.labels(pending, Some("g"), true), Some(vec!["g".to_string()]));
    assert_eq!(LabelSource::Both.labels(accepted, Some("g"), true), Some(vec!["x".to_string()]));
    // The suggestion: the people's labels once they have two kinds, else gold.
    let s = |annotation_kinds, gold_kinds| selectra::store::LabelSources { annotations: 9, annotation_kinds, gold: 9, gold_kinds };
    assert_eq!(LabelSource::suggested(&s(6, 24)), LabelSource::Annotations);
    assert_eq!(LabelSource::suggested(&s(1, 24)), LabelSource::Gold);
    assert_eq!(LabelSource::suggested(&s(1, 1)), LabelSource::Both);
}
