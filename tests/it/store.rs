//! The project database: imports (good files, and every kind of bad input, all-or-nothing),
//! resumable and incremental zero-shot runs, exports, and crash safety under SIGKILL.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::common::selectra;
use crate::common::*;
use selectra::domain::task::ZeroShotTask;
use selectra::engine::hub::Silent;
use selectra::exchange::import::{import_file, Format, ImportOptions};
use selectra::store::Store;
use selectra::{ErrorCode, LoadOptions, Model};
use serde_json::Value;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn options(name: &str) -> ImportOptions {
    ImportOptions { name: name.into(), ..Default::default() }
}

fn import(db: &Path, file: &Path, opts: &ImportOptions) -> selectra::Result<selectra::exchange::import::ImportOutcome> {
    let mut store = Store::open(db)?;
    import_file(&mut store, file, opts, &mut |_| {}, &AtomicBool::new(false))
}

/// (file name, contents, options, expected (row, id, text, gold) of each record)
#[test]
fn good_files_import_every_record() {
    type Case = (&'static str, &'static [u8], fn(&mut ImportOptions), &'static [(u64, Option<&'static str>, &'static str, Option<&'static str>)]);
    let cases: &[Case] = &[
        (
            "bom-crlf.csv",
            b"\xEF\xBB\xBFid,text,label\r\n7,\"Hola, mundo\",saludo\r\n8,\"Dos\r\nl\xC3\xADneas \"\"citadas\"\"\",\r\n",
            |o| {
                o.id_column = Some("id".into());
                o.label_column = Some("label".into());
            },
            &[(1, Some("7"), "Hola, mundo", Some("saludo")), (2, Some("8"), "Dos\r\nlíneas \"citadas\"", None)],
        ),
        (
            "tabs.tsv",
            b"texto\tcat\nEl perro\tanimal\nLa casa\tlugar\n",
            |o| {
                o.text_column = Some("texto".into());
                o.label_column = Some("cat".into());
            },
            &[(1, None, "El perro", Some("animal")), (2, None, "La casa", Some("lugar"))],
        ),
        ("one-column.csv", b"frase\nuna\ndos\n", |_| {}, &[(1, None, "una", None), (2, None, "dos", None)]),
        (
            "lines.jsonl",
            b"{\"text\": \"primero\", \"id\": 5, \"label\": \"a\"}\n\n{\"text\": \"segundo\", \"id\": \"x\"}\n",
            |o| {
                o.id_column = Some("id".into());
                o.label_column = Some("label".into());
            },
            &[(1, Some("5"), "primero", Some("a")), (3, Some("x"), "segundo", None)],
        ),
        ("plain.txt", b"\xEF\xBB\xBFuna l\xC3\xADnea\r\n\r\notra\n", |_| {}, &[(1, None, "una línea", None), (3, None, "otra", None)]),
        // RFC 4180 as the csv crate and Python's csv read it: a quote inside an unquoted field is
        // a literal character (an odd number of quotes in the file is no unclosed field).
        (
            "inch.csv",
            b"text,label\nHe is 6\" tall,a\n\"quoted, \"\"twice\"\"\",b\nab\"c\"d,c\n",
            |o| o.label_column = Some("label".into()),
            &[(1, None, "He is 6\" tall", Some("a")), (2, None, "quoted, \"twice\"", Some("b")), (3, None, "ab\"c\"d", Some("c"))],
        ),
    ];
    for (name, contents, tweak, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), name, contents);
        let db = dir.path().join("p.db");
        let mut opts = options("c");
        tweak(&mut opts);
        let outcome = import(&db, &file, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(outcome.imported as usize, expected.len(), "{name}");
        let store = Store::open(&db).unwrap();
        let mut rows = Vec::new();
        store
            .for_each_export_row("c", &mut |r| {
                rows.push((r.row_number, r.source_id, r.text, r.gold));
                Ok(())
            })
            .unwrap();
        let expected: Vec<_> = expected.iter().map(|(n, id, t, g)| (*n, id.map(String::from), t.to_string(), g.map(String::from))).collect();
        assert_eq!(rows, expected, "{name}");
    }
}

#[test]
fn bad_files_import_nothing_and_say_where() {
    // (file, contents, format, expected line numbers in the report, words in the message)
    type Case = (&'static str, &'static [u8], Option<Format>, &'static [u64], &'static [&'static str]);
    let cases: &[Case] = &[
        ("bad-utf8.csv", b"text\nbien\nmal \xFF\nbien\n", None, &[3], &["row 3", "UTF-8"]),
        ("ragged.csv", b"text,label\na,b\nc\nd,e,f\n", None, &[3, 4], &["row 3", "fields"]),
        ("unclosed.csv", b"text,label\n\"abre,x\nmas,y\n", None, &[2], &["never closed"]),
        // An unclosed quoted field, in a file whose quotes are even in number.
        ("unclosed-even.csv", b"text,label\nHe is 6\" tall,x\n\"abre,y\nmas,z\n", None, &[3], &["never closed"]),
        (
            "not-object.jsonl",
            b"{\"text\": \"ok\"}\n[1, 2]\n\"s\"\n{\"text\": 3}\n{bad\n",
            None,
            &[2, 3, 4, 5],
            &["row 2", "not a JSON object", "row 5", "not valid JSON"],
        ),
        ("no-text.jsonl", b"{\"texto\": \"x\"}\n", None, &[1], &["field that holds the text"]),
        ("empty-text.csv", b"text\n   \nhola\n", None, &[2], &["text is empty"]),
        ("dup-ids.csv", b"id,text\n1,a\n2,b\n1,c\n", None, &[3], &["repeats"]),
        ("bad.txt", b"ok\n\xC3\x28\n", None, &[2], &["UTF-8"]),
    ];
    for (name, contents, format, lines, words) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), name, contents);
        let db = dir.path().join("p.db");
        let mut opts = options("c");
        opts.format = *format;
        if name.starts_with("dup") {
            opts.id_column = Some("id".into());
        }
        let e = import(&db, &file, &opts).err().unwrap_or_else(|| panic!("{name}: imported"));
        let message = e.to_string();
        assert_eq!(e.code(), ErrorCode::Import, "{name}: {message}");
        for w in words.iter() {
            assert!(message.contains(w), "{name}: {message:?} lacks {w:?}");
        }
        assert!(Store::open(&db).unwrap().corpora().unwrap().is_empty(), "{name}: a rejected import left a corpus");

        opts.skip_bad = true;
        match import(&db, &file, &opts) {
            Ok(outcome) => {
                assert_eq!(outcome.skipped.iter().map(|b| b.line).collect::<Vec<_>>(), *lines, "{name}");
                assert!(outcome.imported > 0);
            }
            // A file whose every row is bad has nothing to import even when skipping.
            Err(e) => assert!(e.to_string().contains("no records"), "{name}: {e}"),
        }
    }
}

#[test]
fn whole_file_problems_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    type Case = (&'static str, &'static [u8], fn(&mut ImportOptions), &'static str);
    let cases: &[Case] = &[
        ("empty.csv", b"", |_| {}, "empty"),
        ("header-only.csv", b"text\n", |_| {}, "no records"),
        ("two-cols.csv", b"a,b\n1,2\n", |_| {}, "text column"),
        ("missing-col.csv", b"text\nx\n", |o| o.label_column = Some("label".into()), "no column \"label\" for the label"),
        ("data.unknown", b"x\n", |_| {}, "choose csv, tsv, jsonl, txt, conll or parquet"),
    ];
    for (name, contents, tweak, word) in cases {
        let file = write(dir.path(), name, contents);
        let mut opts = options(name);
        tweak(&mut opts);
        let e = import(&db, &file, &opts).err().unwrap_or_else(|| panic!("{name}: imported"));
        assert!(e.to_string().contains(word), "{name}: {e}");
        // The core serves the app too: its messages never name a command-line flag.
        assert!(!e.to_string().contains("--"), "{name}: {e}");
    }
    let file = write(dir.path(), "ok.txt", b"hola\n");
    import(&db, &file, &options("dup")).unwrap();
    assert!(import(&db, &file, &options("dup")).unwrap_err().to_string().contains("exists already"));
}

#[test]
fn databases_from_newer_versions_and_other_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), 17);
    drop(store);
    let conn = rusqlite_free_bump(&db);
    assert!(conn.contains("newer Selectra Studio"), "{conn}");
    let junk = write(dir.path(), "junk.db", &[7u8; 4096]);
    let e = Store::open(&junk).err().unwrap();
    assert_eq!(e.code(), ErrorCode::Database);
    assert!(e.to_string().contains("not a Selectra Studio project"), "{e}");
}

/// Bumps user_version with the sqlite3-compatible file header (offset 60) and opens again.
/// A mistyped project name is an error, never a new empty project: only importing a corpus
/// creates one, and every other command (those that only read, and those that need a corpus the
/// new file could not have) leaves the file system as it was.
#[test]
fn commands_never_create_a_project_from_a_typo() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.db");
    let db = typo.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let model = model_dir("nli-electra-entail0");
    let model = model.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["corpus", "list", "--db", db],
        vec!["scans", "--db", db],
        vec!["suspicious", "--db", db, "--corpus", "c"],
        vec!["export", "--db", db, "--corpus", "c", "--format", "jsonl", "--output", out],
        vec!["query", "--db", db, "--corpus", "c"],
        vec!["label", "--db", db, "--corpus", "c", "--labels", "a"],
        vec!["schema", "--db", db, "--corpus", "c"],
        vec!["agreement", "--db", db, "--corpus", "c"],
        vec!["report", "--db", db, "--output", out],
        vec!["annotate", "--db", db, "--corpus", "c"],
        vec!["export-head", "--db", db, "--run", "1", "--output", out],
        vec!["run", "--db", db, "--corpus", "c", "--model", model, "--labels", "a,b"],
        vec!["scan", "--db", db, "--corpus", "c", "--model", model],
        vec!["embed", "--db", db, "--corpus", "c", "--model", model],
        vec!["train", "--db", db, "--corpus", "c", "--model", model],
        vec!["import-run", "--db", db, "--corpus", "c", "--from", out],
    ];
    for args in commands {
        let result = selectra(&args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("typo.db") && stderr.contains("does not exist"), "{args:?}: {stderr}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}

/// An error that one of the user's settings fixes names that setting's flag: the core marks the
/// setting on the error (its messages never name a flag, the app shows them too), and the CLI
/// maps it to the flag. One case per setting the core raises, each checked for its flags.
#[test]
fn errors_name_the_flags_that_fix_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let db = db.to_str().unwrap();
    let file = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_string()
    };
    let good = file("good.csv", "text,gold\nhola,a\nadiós,b\n");
    let two_columns = file("two.csv", "a,b\nhola,x\n");
    let bad_row = file("bad.csv", "text\nhola\n\"sin cerrar\n");
    let long_row = file("long.csv", "text\nhola\nuna frase bastante más larga que el límite\n");
    let no_field = file("nofield.jsonl", "{\"texto\": \"hola\"}\n");
    let unknown = file("data.xyz", "hola\n");
    let model = model_dir("nli-electra-entail0");
    let model = model.to_str().unwrap();
    let report = dir.path().join("r");
    let report = report.to_str().unwrap();
    assert_eq!(selectra(&["corpus", "import", "--db", db, "--name", "c", &good]).status.code(), Some(0));
    assert_eq!(selectra(&["corpus", "import", "--db", db, "--name", "d", &good]).status.code(), Some(0));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["corpus", "import", "--db", db, "--name", "x", &two_columns], "(see --text-column)"),
        (vec!["corpus", "import", "--db", db, "--name", "x", "--text-column", "nope", &good], "(see --text-column)"),
        (vec!["corpus", "import", "--db", db, "--name", "x", "--id-column", "nope", &good], "(see --id-column)"),
        (vec!["corpus", "import", "--db", db, "--name", "x", "--label-column", "nope", &good], "(see --label-column)"),
        (vec!["corpus", "import", "--db", db, "--name", "x", "--metadata-columns", "nope", &good], "(see --metadata-columns)"),
        (vec!["corpus", "import", "--db", db, "--name", "x", &unknown], "(see --format)"),
        (vec!["corpus", "import", "--db", db, "--name", "c", &good], "(see --name)"),
        (vec!["corpus", "import", "--db", db, "--name", "x", &bad_row], "(see --skip-bad)"),
        (vec!["corpus", "import", "--db", db, "--name", "x", "--max-record-bytes", "20", &long_row], "(see --skip-bad, --max-record-bytes)"),
        (vec!["corpus", "import", "--db", db, "--name", "x", &no_field], "(see --skip-bad, --text-column)"),
        (vec!["run", "--db", db, "--corpus", "c", "--model", model, "--schema"], "(see selectra schema --labels)"),
        (vec!["run", "--db", db, "--corpus", "c", "--model", model, "--labels", "a,b", "--batch-size", "0"], "(see --batch-size)"),
        (vec!["report", "--db", db, "--output", report], "(see --corpus)"),
    ];
    for (args, flags) in cases {
        let out = selectra(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.trim_end().ends_with(flags), "{args:?}: expected {flags:?} at the end of: {stderr}");
    }
    // An error no setting fixes names no flag.
    let out = selectra(&["query", "--db", db, "--corpus", "nada"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("(see"), "{}", String::from_utf8_lossy(&out.stderr));
}

fn rusqlite_free_bump(db: &Path) -> String {
    let mut bytes = std::fs::read(db).unwrap();
    bytes[60..64].copy_from_slice(&99u32.to_be_bytes());
    std::fs::write(db, bytes).unwrap();
    let _ = std::fs::remove_file(db.with_extension("db-wal"));
    Store::open(db).err().map(|e| e.to_string()).unwrap_or_default()
}

fn corpus_csv(dir: &Path, n: usize) -> PathBuf {
    let words = ["el", "gobierno", "sube", "los", "precios", "del", "mercado", "y", "el", "equipo", "ganó", "partido", "música", "ciudad"];
    let mut csv = String::from("id,text\n");
    for i in 0..n {
        let len = 4 + (i * 7) % 19;
        let text: Vec<&str> = (0..len).map(|j| words[(i * 31 + j * 17) % words.len()]).collect();
        csv.push_str(&format!("r{i},{}\n", text.join(" ")));
    }
    write(dir, "corpus.csv", csv.as_bytes())
}

fn export_jsonl(db: &Path) -> Vec<Value> {
    let out = selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn runs_resume_and_grow_label_sets_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let file = corpus_csv(dir.path(), 40);
    let mut opts = options("c");
    opts.id_column = Some("id".into());
    import(&db, &file, &opts).unwrap();
    let model = Model::load(model_dir("nli-electra-entail0").to_str().unwrap(), &LoadOptions::default(), Arc::new(Silent)).unwrap();
    let mut store = Store::open(&db).unwrap();
    let task = |labels: &[&str]| ZeroShotTask::new(labels.iter().map(|s| s.to_string()).collect(), "Este ejemplo es {}.", false).unwrap();
    let never = AtomicBool::new(false);

    // Cancel after the second batch: the batches done are kept, and the same call resumes.
    let cancel = AtomicBool::new(false);
    let mut batches = 0;
    let first = selectra::jobs::corpus_run::run_zeroshot(
        &mut store,
        &model,
        "c",
        &task(&["deportes", "economía"]),
        None,
        None,
        8,
        &mut |_| {
            batches += 1;
            if batches == 3 {
                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .unwrap();
    assert!(first.cancelled);
    assert_eq!(first.run.predictions, 16);
    let rest =
        selectra::jobs::corpus_run::run_zeroshot(&mut store, &model, "c", &task(&["deportes", "economía"]), None, None, 8, &mut |_| {}, &never)
            .unwrap();
    assert_eq!((rest.run.id, rest.predicted_now, rest.run.predictions), (first.run.id, 24, 40));
    assert_eq!(store.cached_logit_count().unwrap(), 80);

    // One more label: a new run, and only the new (record, hypothesis) pairs are computed.
    let grown = selectra::jobs::corpus_run::run_zeroshot(
        &mut store,
        &model,
        "c",
        &task(&["deportes", "economía", "política"]),
        None,
        None,
        8,
        &mut |_| {},
        &never,
    )
    .unwrap();
    assert_ne!(grown.run.id, first.run.id);
    assert_eq!(store.cached_logit_count().unwrap(), 120);

    // Every prediction equals what the classifier computes for that text alone.
    let classifier = selectra::engine::zeroshot::ZeroShotClassifier::new(&model).unwrap();
    let rows = export_jsonl(&db);
    assert_eq!(rows.len(), 40);
    for row in &rows {
        let preds = row["predictions"].as_array().unwrap();
        assert_eq!(preds.len(), 2, "two runs");
        let alone = classifier.classify(row["text"].as_str().unwrap(), &task(&["deportes", "economía", "política"])).unwrap();
        check_zeroshot(
            "incremental run",
            &serde_json::json!({"sequence": row["text"], "labels": preds[1]["labels"], "scores": preds[1]["scores"]}),
            &serde_json::to_value(&alone).unwrap(),
        );
    }
}

/// The fast mode: an agreement check on records spread over the corpus decides between a bf16
/// run and the exact one, stopping as soon as its sequential test is sure; the check is what it
/// says (its largest difference is the stored runs', on the records it compared), a passed check
/// is relied on when the run resumes, a failed one leaves only the exact run, and a corpus too
/// small for the fast mode to pay off or a CPU without AVX512_BF16 gets exact with a reason.
#[test]
fn fast_runs_are_checked_against_exact_first() {
    use selectra::domain::precision::{AgreementGate, FastOutlook, Precision};
    use selectra::domain::progress::JobStage;
    use selectra::jobs::corpus_run::{precision_sample, run_zeroshot};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let file = corpus_csv(dir.path(), 60);
    import(&db, &file, &options("c")).unwrap();
    let model = Model::load(model_dir("nli-electra-entail0").to_str().unwrap(), &LoadOptions::default(), Arc::new(Silent)).unwrap();
    let mut store = Store::open(&db).unwrap();
    let task = |labels: &[&str]| ZeroShotTask::new(labels.iter().map(|s| s.to_string()).collect(), "Este ejemplo es {}.", false).unwrap();
    let never = AtomicBool::new(false);
    // Any top label may change and any score by up to 1: the first batch decides.
    let loose = AgreementGate { max_records: 20, min_same_top_label: 0.0, max_score_delta: 1.0, error_rate: 0.05, pays_off_from: None };
    let labels = ["deportes", "economía", "política"];

    let mut stages = Vec::new();
    let fast = run_zeroshot(&mut store, &model, "c", &task(&labels), None, Some(loose), 8, &mut |p| stages.push(p.stage), &never).unwrap();
    let exact = run_zeroshot(&mut store, &model, "c", &task(&labels), None, None, 8, &mut |_| {}, &never).unwrap();
    if !selectra::engine::model::supports(Precision::Bf16) {
        assert_eq!((fast.precision.used, fast.run.id), (Precision::Exact, exact.run.id));
        assert!(fast.precision.note.unwrap().contains("AVX512_BF16"));
        return;
    }
    assert_ne!(fast.run.id, exact.run.id, "fast and exact runs are two runs");
    assert_eq!((fast.run.key.precision, fast.precision.used, fast.run.predictions), (Precision::Bf16, Precision::Bf16, 60));
    assert_eq!(stages.iter().filter(|s| **s == JobStage::CheckingPrecision).count(), 2, "the check reports its start and its one batch");
    let check = fast.precision.check.clone().unwrap();
    assert!(check.passed && check.records == 8, "{check:?}");
    // The run keeps its check (the timings are floats through JSON, the rest exactly).
    let kept = fast.run.precision_check.clone().unwrap();
    assert_eq!(
        (kept.records, kept.same_top_label, kept.max_score_delta, kept.gate, kept.passed),
        (8, check.same_top_label, check.max_score_delta, loose, true)
    );
    assert!((kept.fast_secs - check.fast_secs).abs() < 1e-9);
    // The check measured the stored predictions: its largest difference is theirs, on the
    // records it compared (the first 8 of its sample).
    let sample = precision_sample(&store, "c", 20).unwrap();
    let compared: Vec<i64> = sample.iter().take(8).map(|(id, _)| *id).collect();
    let (mut largest, mut same_top, mut elsewhere) = (0f32, 0, 0f32);
    for id in store.spread_records("c", 60).unwrap().into_iter().map(|(id, _)| id) {
        let (e, f) = (store.prediction(exact.run.id, id).unwrap().unwrap(), store.prediction(fast.run.id, id).unwrap().unwrap());
        let delta =
            e.labels.iter().zip(&e.scores).map(|(l, s)| (f.scores[f.labels.iter().position(|x| x == l).unwrap()] - s).abs()).fold(0f32, f32::max);
        if compared.contains(&id) {
            largest = largest.max(delta);
            same_top += usize::from(e.labels[0] == f.labels[0]);
        } else {
            elsewhere = elsewhere.max(delta);
        }
    }
    assert_eq!((largest, same_top), (check.max_score_delta, check.same_top_label));
    assert!(largest > 0.0 && elsewhere > 0.0, "bf16 results are not the exact ones");
    // The sample is spread (every third record of 60) and taken in a shuffled order, the same
    // in every session.
    let mut ids: Vec<i64> = sample.iter().map(|(id, _)| *id).collect();
    assert_ne!(ids.windows(2).filter(|w| w[1] > w[0]).count(), 19, "shuffled: {ids:?}");
    assert_eq!(precision_sample(&store, "c", 20).unwrap(), sample);
    ids.sort();
    assert_eq!(ids.len(), 20);
    assert!(ids.windows(2).all(|w| w[1] - w[0] == 3), "{ids:?}");

    // Resuming relies on the stored check instead of checking again.
    let again = run_zeroshot(&mut store, &model, "c", &task(&labels), None, Some(loose), 8, &mut |_| {}, &never).unwrap();
    assert_eq!((again.run.id, again.predicted_now, again.precision.used), (fast.run.id, 0, Precision::Bf16));
    assert!(again.precision.check.is_none() && again.precision.note.unwrap().contains("continuing"));

    // A gate nothing can pass (no score may move): the first batch fails it, and the exact run
    // holds the failed check; no bf16 run is left.
    let strict = AgreementGate { max_score_delta: 0.0, ..loose };
    let other = task(&["cultura", "salud"]);
    let refused = run_zeroshot(&mut store, &model, "c", &other, None, Some(strict), 8, &mut |_| {}, &never).unwrap();
    assert_eq!((refused.precision.used, refused.run.key.precision, refused.run.predictions), (Precision::Exact, Precision::Exact, 60));
    let failed = refused.run.precision_check.as_ref().unwrap();
    assert!(!failed.passed && failed.records == 8, "{failed:?}");
    assert!(refused.precision.note.unwrap().contains("exact"));
    let plain = run_zeroshot(&mut store, &model, "c", &other, None, None, 8, &mut |_| {}, &never).unwrap();
    assert_eq!((plain.run.id, plain.predicted_now), (refused.run.id, 0), "the fallback is the ordinary exact run");
    let runs = store.runs("c").unwrap();
    assert_eq!(runs.iter().filter(|r| r.key.labels == ["cultura", "salud"]).count(), 1);

    // A cancelled check stores nothing; the next call checks again.
    let third = task(&["ciencia", "música"]);
    let cancel = AtomicBool::new(false);
    let stopped = run_zeroshot(
        &mut store,
        &model,
        "c",
        &third,
        None,
        Some(loose),
        8,
        &mut |p| {
            if p.stage == JobStage::CheckingPrecision {
                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .unwrap();
    assert!(stopped.cancelled && stopped.run.predictions == 0 && stopped.run.precision_check.is_none());
    let done = run_zeroshot(&mut store, &model, "c", &third, None, Some(loose), 8, &mut |_| {}, &never).unwrap();
    assert_eq!((done.run.id, done.precision.used, done.run.predictions), (stopped.run.id, Precision::Bf16, 60));

    // The default gate passes after 391 agreeing records at the earliest: with bf16 twice as
    // fast, the fast mode pays off from 783 records, so 60 run exact, saying why; so does any
    // corpus where bf16 is no faster.
    let twice = AgreementGate::for_precision(Precision::Bf16, &FastOutlook::new(&AgreementGate::DEFAULT, Some(2.0), None));
    let small = run_zeroshot(&mut store, &model, "c", &task(&["arte", "cine"]), None, twice, 8, &mut |_| {}, &never).unwrap();
    assert_eq!((small.precision.used, small.precision.check.as_ref()), (Precision::Exact, None));
    let note = small.precision.note.unwrap();
    assert!(note.contains("pays off from about 783 records") && note.contains("this corpus has 60, so the run is exact f32"), "{note}");
    let no_faster = AgreementGate::for_precision(Precision::Bf16, &FastOutlook::new(&loose, Some(0.8), None));
    let slow = run_zeroshot(&mut store, &model, "c", &task(&["arte", "cine"]), None, no_faster, 8, &mut |_| {}, &never).unwrap();
    assert!(slow.precision.note.unwrap().contains("no faster"));
}

#[test]
fn exports_are_atomic_and_csv_is_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let file = write(dir.path(), "c.csv", b"text,label\n\"Hola, \"\"mundo\"\"\nadi\xC3\xB3s\",x\n");
    let mut opts = options("c");
    opts.label_column = Some("label".into());
    import(&db, &file, &opts).unwrap();
    let out = dir.path().join("out.csv");
    let status = selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "csv", "--output", out.to_str().unwrap()]);
    assert!(status.status.success());
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][1], "Hola, \"mundo\"\nadiós");
    assert_eq!(&rows[0][2], "x");

    let missing = dir.path().join("never.jsonl");
    let failed = selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "nope", "--format", "jsonl", "--output", missing.to_str().unwrap()]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("no corpus named \"nope\""));
    assert!(!missing.exists(), "a failed export left a file");
    let mut names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.retain(|n| !n.starts_with("p.db"));
    names.sort();
    assert_eq!(names, ["c.csv", "out.csv"], "no temporary files are left behind");
}

/// A tiny xorshift generator: random kill points without a dependency; the seed is printed.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn runs_killed_with_sigkill_resume_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = corpus_csv(dir.path(), 400);
    let model = model_dir("nli-electra-entail0");
    let run_args = |db: &Path| -> Vec<String> {
        [
            "run",
            "--db",
            db.to_str().unwrap(),
            "--corpus",
            "c",
            "--model",
            model.to_str().unwrap(),
            "--labels",
            "deportes,economía,política",
            "--batch-size",
            "4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let fresh_db = |name: &str| {
        let db = dir.path().join(name);
        let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--id-column", "id", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        db
    };

    let reference = fresh_db("reference.db");
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(run_args(&reference)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = export_jsonl(&reference);
    let records = expected.len() as u64;

    // Each trial kills the run once at least `target` predictions are committed (a random number,
    // 0 meaning "as soon as it starts"), i.e. at a random point of its progress, however fast or
    // slow the machine is; the kill then usually lands inside the next batch's transaction.
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    println!("kill-point seed {seed}");
    let mut rng = XorShift(seed);
    let mut killed_mid_run = 0;
    for trial in 0..10 {
        let db = fresh_db(&format!("trial{trial}.db"));
        let target = rng.next() % (records - 8);
        let mut child = Command::new(env!("CARGO_BIN_EXE_selectra")).args(run_args(&db)).spawn().unwrap();
        let reader = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        reader.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        loop {
            let done: i64 = reader.query_row("SELECT COUNT(*) FROM prediction", [], |r| r.get(0)).unwrap_or(0);
            if done as u64 >= target || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::yield_now();
        }
        drop(reader);
        child.kill().ok(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        if !status.success() {
            killed_mid_run += 1;
        }
        {
            let store = Store::open(&db).unwrap();
            assert_eq!(store.integrity_check().unwrap(), "ok", "trial {trial} (killed at >= {target} predictions)");
        }
        let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(run_args(&db)).output().unwrap();
        assert!(out.status.success(), "trial {trial}: {}", String::from_utf8_lossy(&out.stderr));
        let got = export_jsonl(&db);
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            let preds = g["predictions"].as_array().unwrap();
            assert_eq!(preds.len(), 1, "trial {trial}: record {} has {} predictions", g["id"], preds.len());
            assert_eq!(g, e, "trial {trial} (killed at >= {target} predictions): record differs from the uninterrupted run");
        }
        assert_eq!(Store::open(&db).unwrap().integrity_check().unwrap(), "ok");
    }
    assert!(killed_mid_run >= 9, "only {killed_mid_run} of 10 trials were killed before finishing");
}

/// Parquet has the JSONL export's content, nested the same way.
#[test]
fn parquet_export_matches_jsonl() {
    use arrow_array::{Array, Float32Array, ListArray, StringArray, StructArray};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let file = corpus_csv(dir.path(), 30);
    let mut opts = options("c");
    opts.id_column = Some("id".into());
    import(&db, &file, &opts).unwrap();
    let model = model_dir("nli-electra-entail0");
    let out = selectra(&["run", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", model.to_str().unwrap(), "--labels", "deportes,economía"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    {
        let mut store = Store::open(&db).unwrap();
        let r = store.record_id("c", 2).unwrap();
        store.annotate(r, &["deportes".into(), "economía".into()], selectra::store::Status::Pending, "t").unwrap();
    }
    let path = dir.path().join("c.parquet");
    let status = selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "parquet", "--output", path.to_str().unwrap()]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let jsonl = export_jsonl(&db);

    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap().build().unwrap();
    let mut row = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let ids = batch.column_by_name("id").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
        let texts = batch.column_by_name("text").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
        let annotations = batch.column_by_name("annotation").unwrap().as_any().downcast_ref::<StructArray>().unwrap();
        let predictions = batch.column_by_name("predictions").unwrap().as_any().downcast_ref::<ListArray>().unwrap();
        for i in 0..batch.num_rows() {
            let expected = &jsonl[row];
            assert_eq!(ids.value(i), expected["id"].as_str().unwrap());
            assert_eq!(texts.value(i), expected["text"].as_str().unwrap());
            assert_eq!(annotations.is_valid(i), !expected["annotation"].is_null(), "row {row}");
            let preds = predictions.value(i);
            let preds = preds.as_any().downcast_ref::<StructArray>().unwrap();
            assert_eq!(preds.len(), 1);
            let labels = preds.column_by_name("labels").unwrap().as_any().downcast_ref::<ListArray>().unwrap().value(0);
            let labels = labels.as_any().downcast_ref::<StringArray>().unwrap();
            let scores = preds.column_by_name("scores").unwrap().as_any().downcast_ref::<ListArray>().unwrap().value(0);
            let scores = scores.as_any().downcast_ref::<Float32Array>().unwrap();
            let want = &expected["predictions"][0];
            for k in 0..labels.len() {
                assert_eq!(labels.value(k), want["labels"][k].as_str().unwrap());
                assert_eq!(scores.value(k), want["scores"][k].as_f64().unwrap() as f32, "the same f32 score");
            }
            row += 1;
        }
    }
    assert_eq!(row, jsonl.len());
}

/// The import wizard's preview: columns and first rows, as the file has them, for every format.
#[test]
fn previews_show_columns_and_first_rows() {
    use selectra::exchange::import::{preview, Format};
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "c.csv", "\u{feff}id,texto,tema\n1,\"Hola, mundo\",a\n2,Adiós,b\n3,x,c\n".as_bytes());
    let p = preview(&csv, None, 2).unwrap();
    assert_eq!((p.format, p.columns.clone()), (Format::Csv, vec!["id".to_string(), "texto".into(), "tema".into()]));
    assert_eq!(p.rows, vec![vec!["1".to_string(), "Hola, mundo".into(), "a".into()], vec!["2".into(), "Adiós".into(), "b".into()]]);

    let tsv = write(dir.path(), "c.tsv", b"text\tlabel\nuno\t\n");
    assert_eq!(preview(&tsv, None, 5).unwrap().rows, vec![vec!["uno".to_string(), String::new()]]);

    let jsonl = write(dir.path(), "c.jsonl", b"{\"text\": \"uno\", \"n\": 1}\n\n{\"text\": \"dos\", \"label\": null, \"extra\": [1]}\n");
    let p = preview(&jsonl, None, 5).unwrap();
    assert_eq!(p.columns, vec!["text".to_string(), "n".into(), "label".into(), "extra".into()]);
    assert_eq!(p.rows[1], vec!["dos".to_string(), String::new(), String::new(), "[1]".into()]);

    let txt = write(dir.path(), "notes.data", b"una linea\n\notra\n");
    assert!(preview(&txt, None, 5).unwrap_err().to_string().contains("cannot tell the format"));
    assert_eq!(preview(&txt, Some(Format::Txt), 5).unwrap().rows, vec![vec!["una linea".to_string()], vec!["otra".to_string()]]);
    assert!(preview(&write(dir.path(), "bad.jsonl", b"[1]\n"), None, 5).unwrap_err().to_string().contains("line 1 is not a JSON object"));
    assert!(preview(&dir.path().join("missing.csv"), None, 5).is_err());
}

/// A record over the per-record cap is a bad row (line number, the limit), in every format; the
/// cap can be raised; the rows around it import with skip-bad.
#[test]
fn records_over_the_size_cap_are_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let huge = "palabra ".repeat(150_000); // 1.2 MB, over the 1 MiB default
    let files = [
        ("big.csv", format!("text\nuno\n{huge}\ndos\n"), 3),
        ("big.jsonl", format!("{{\"text\": \"uno\"}}\n{{\"text\": \"{huge}\"}}\n{{\"text\": \"dos\"}}\n"), 2),
        ("big.txt", format!("uno\n{huge}\ndos\n"), 2),
    ];
    for (name, contents, line) in &files {
        let file = write(dir.path(), name, contents.as_bytes());
        let e = import(&db, &file, &options(name)).unwrap_err().to_string();
        assert!(e.contains(&format!("row {line}: the record is longer than 1048576 bytes")), "{name}: {e}");
        let mut skip = options(&format!("{name}-skip"));
        skip.skip_bad = true;
        let outcome = import(&db, &file, &skip).unwrap();
        assert_eq!((outcome.imported, outcome.skipped.len()), (2, 1), "{name}");
        let mut raised = options(&format!("{name}-raised"));
        raised.max_record_bytes = Some(2 << 20);
        assert_eq!(import(&db, &file, &raised).unwrap().imported, 3, "{name}");
    }
    // The CLI names the option that raises the cap.
    let file = dir.path().join("big.txt");
    let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "cli", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("--max-record-bytes") && stderr.contains("--skip-bad"), "{stderr}");
}

/// The preview reads the start of a file only: what lies past its byte budget (here a line that
/// is not JSON, and an unclosed quote) is never read, and a row cut at the budget is not shown.
#[test]
fn previews_read_only_the_start_of_a_file() {
    use selectra::exchange::import::{preview, PREVIEW_BYTES};
    let dir = tempfile::tempdir().unwrap();
    let filler = "x".repeat(PREVIEW_BYTES as usize);
    let jsonl =
        write(dir.path(), "big.jsonl", format!("{{\"text\": \"uno\"}}\n{{\"text\": \"dos\"}}\n{{\"text\": \"{filler}\"}}\nnot json\n").as_bytes());
    let p = preview(&jsonl, None, 10).unwrap();
    assert_eq!(p.rows, vec![vec!["uno".to_string()], vec!["dos".to_string()]]);
    let csv = write(dir.path(), "big.csv", format!("text\nuno\ndos\n{filler}\n\"never closed\n").as_bytes());
    assert_eq!(preview(&csv, None, 10).unwrap().rows, vec![vec!["uno".to_string()], vec!["dos".to_string()]]);
    let txt = write(dir.path(), "big.txt", format!("uno\n{filler}{filler}").as_bytes());
    assert_eq!(preview(&txt, None, 10).unwrap().rows, vec![vec!["uno".to_string()]]);
}

/// A project file carries SQLite's application_id; an SQLite database of another program is
/// refused, byte for byte untouched, and a project made before the mark existed is adopted.
#[test]
fn sqlite_files_that_are_not_projects_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.sqlite");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');").unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    let e = Store::open(&other).err().expect("another program's database was opened");
    assert_eq!(e.code(), ErrorCode::Database);
    assert!(e.to_string().contains("not a Selectra Studio project"), "{e}");
    assert_eq!(std::fs::read(&other).unwrap(), before, "the file was modified");
    let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["other.sqlite"], "a journal or WAL file was left beside it");

    // A new file becomes a project, marked as one.
    let db = dir.path().join("p.db");
    drop(Store::open(&db).unwrap());
    let id: i64 = rusqlite::Connection::open(&db).unwrap().pragma_query_value(None, "application_id", |r| r.get(0)).unwrap();
    assert_eq!(id, i64::from(selectra::store::APPLICATION_ID));
    // A project written before the mark existed (application_id 0, our schema) is adopted.
    rusqlite::Connection::open(&db).unwrap().pragma_update(None, "application_id", 0).unwrap();
    drop(Store::open(&db).unwrap());
    let id: i64 = rusqlite::Connection::open(&db).unwrap().pragma_query_value(None, "application_id", |r| r.get(0)).unwrap();
    assert_eq!(id, i64::from(selectra::store::APPLICATION_ID));
}

/// CSV export neutralizes cells a spreadsheet would run as formulas (unless --raw-csv), and an
/// export never overwrites the project database itself.
#[test]
fn csv_export_neutralizes_formulas_and_never_overwrites_the_project() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let file = write(dir.path(), "c.csv", b"text,label\n\"=HYPERLINK(\"\"http://evil\"\")\",@x\n-3.5,+1\n");
    let mut opts = options("c");
    opts.label_column = Some("label".into());
    import(&db, &file, &opts).unwrap();
    let db_arg = db.to_str().unwrap();
    let read = |args: &[&str]| -> Vec<csv::StringRecord> {
        let out = selectra(args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        csv::Reader::from_reader(&out.stdout[..]).records().map(|r| r.unwrap()).collect()
    };
    let safe = read(&["export", "--db", db_arg, "--corpus", "c", "--format", "csv"]);
    assert_eq!((&safe[0][1], &safe[0][2]), ("'=HYPERLINK(\"http://evil\")", "'@x"));
    assert_eq!((&safe[1][1], &safe[1][2]), ("-3.5", "+1"), "numbers are not formulas");
    let raw = read(&["export", "--db", db_arg, "--corpus", "c", "--format", "csv", "--raw-csv"]);
    assert_eq!((&raw[0][1], &raw[0][2]), ("=HYPERLINK(\"http://evil\")", "@x"));

    let same_file = dir.path().join(".").join("p.db");
    for target in [db.clone(), same_file, dir.path().join("p.db-wal")] {
        let out = selectra(&["export", "--db", db_arg, "--corpus", "c", "--format", "jsonl", "--output", target.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains("is the project database itself"), "{}: {stderr}", target.display());
    }
    let store = Store::open(&db).unwrap();
    assert_eq!((store.integrity_check().unwrap().as_str(), store.corpora().unwrap().len()), ("ok", 1));
}

/// An import commits in chunks but stays invisible until complete: killed with SIGKILL after
/// some chunks are on disk, it shows no corpus (not a partial one), and the next import of the
/// same name removes its rows and imports the file whole.
#[test]
fn imports_killed_with_sigkill_are_never_seen_half_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let rows = 300_000;
    let file = corpus_csv(dir.path(), rows);
    let import_args = ["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--id-column", "id", file.to_str().unwrap()];
    drop(Store::open(&db).unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_selectra")).args(import_args).stderr(std::process::Stdio::null()).spawn().unwrap();
    let reader = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    reader.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let mut committed = 0i64;
    while committed == 0 && child.try_wait().unwrap().is_none() {
        committed = reader.query_row("SELECT COUNT(*) FROM record", [], |r| r.get(0)).unwrap_or(0);
        std::thread::yield_now();
    }
    child.kill().ok();
    assert!(!child.wait().unwrap().success(), "the import finished before it could be killed");
    assert!(committed > 0 && (committed as usize) < rows, "killed after {committed} committed rows");
    drop(reader);

    let store = Store::open(&db).unwrap();
    assert!(store.corpora().unwrap().is_empty(), "a half import is visible");
    assert!(store.corpus("c").is_err());
    assert_eq!(store.integrity_check().unwrap(), "ok");
    drop(store);
    let out = selectra(&import_args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = Store::open(&db).unwrap();
    assert_eq!(store.corpus("c").unwrap().records, rows as u64);
    let total: i64 = rusqlite::Connection::open(&db).unwrap().query_row("SELECT COUNT(*) FROM record", [], |r| r.get(0)).unwrap();
    assert_eq!(total as usize, rows, "the killed import's rows were removed");
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("-import-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
