//! Token classifiers (NER taggers) of every family, against transformers' token-classification
//! pipeline with every aggregation strategy: labels, words, character spans, token indices and
//! scores, including its quirks (byte-level words, pieces that cover only a space).

use std::process::Command;

use crate::common::selectra;
use crate::common::*;
use selectra::engine::tag::{Aggregation, TagOptions, TokenTagger};
use serde_json::Value;

fn check(context: &str, actual: &Value, expected: &Value) {
    let (a, e) = (actual["entities"].as_array().unwrap(), expected["entities"].as_array().unwrap());
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let spans = |v: &[Value]| v.iter().map(|x| (x["start"].clone(), x["end"].clone(), x["word"].clone())).collect::<Vec<_>>();
    assert_eq!(spans(a), spans(e), "{context}: entities differ");
    for (i, (x, y)) in a.iter().zip(e).enumerate() {
        let (mut kx, mut ky) = (keys(x), keys(y));
        kx.sort();
        ky.sort();
        assert_eq!(kx, ky, "{context}: entity {i} has other keys than the pipeline's");
        for key in ["entity", "entity_group", "index"] {
            assert_eq!(x.get(key), y.get(key), "{context}: entity {i} {key}");
        }
        close(&format!("{context}: entity {i} score"), x["score"].as_f64().unwrap(), y["score"].as_f64().unwrap());
    }
}

#[test]
fn tag_matches_the_token_classification_pipeline_with_every_aggregation() {
    let (mut checked, mut entities, mut truncated, mut strided) = (0, 0, 0, 0);
    let mut strategies = std::collections::BTreeSet::new();
    for (name, expected) in expected_files() {
        let Some(cases) = expected["tag"].as_array() else { continue };
        let folder = model_dir(&name);
        let model = selectra::Model::load(folder.to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap();
        let tagger = TokenTagger::new(&model).unwrap();
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let aggregation = Aggregation::parse(case["aggregation"].as_str().unwrap()).unwrap();
            let stride = case["stride"].as_u64().map(|s| s as usize);
            let tagging = tagger.tag_with(text, TagOptions { aggregation, stride }).unwrap();
            let context = format!("{name}, {}, stride {stride:?}, on {text:?}", aggregation.name());
            check(&context, &serde_json::to_value(&tagging).unwrap(), &case["output"]);
            // A truncated text fills the model exactly, as the pipeline's encoding of it does.
            if tagging.truncated {
                assert_eq!(case["tokens"].as_u64().unwrap() as usize, model.tokenizer.max_length(), "{context}: truncation");
            }
            // With a stride the whole text is tagged: its last entity ends near its end.
            if stride.is_some() {
                assert!(!tagging.truncated && case["tokens"].as_u64().unwrap() as usize > model.tokenizer.max_length(), "{context}");
                strided += 1;
            }
            truncated += usize::from(tagging.truncated);
            entities += case["output"]["entities"].as_array().unwrap().len();
            strategies.insert(aggregation.name());
            checked += 1;
        }
        // Batched, the strided texts of each setting give what each gives alone.
        let strided_cases: Vec<&Value> = cases.iter().filter(|c| c.get("stride").is_some()).collect();
        for pair in strided_cases.chunks(2) {
            let options = TagOptions {
                aggregation: Aggregation::parse(pair[0]["aggregation"].as_str().unwrap()).unwrap(),
                stride: pair[0]["stride"].as_u64().map(|s| s as usize),
            };
            let texts: Vec<&str> = pair.iter().map(|c| c["text"].as_str().unwrap()).collect();
            for (tagging, case) in tagger.tag_batch(&texts, options).unwrap().iter().zip(pair) {
                check(&format!("{name}, batched {options:?}"), &serde_json::to_value(tagging).unwrap(), &case["output"]);
            }
        }
        // The CLI prints the same for each strategy (the first text), and with a stride.
        let first_strided = strided_cases.first().copied();
        for case in cases.iter().filter(|c| c["text"] == cases[0]["text"]).chain(first_strided) {
            let stride = case.get("stride").map(|s| s.to_string());
            let mut args = vec![
                "tag",
                "--model",
                folder.to_str().unwrap(),
                "--aggregation",
                case["aggregation"].as_str().unwrap(),
                "--json",
                case["text"].as_str().unwrap(),
            ];
            if let Some(stride) = &stride {
                args.extend(["--stride", stride.as_str()]);
            }
            let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(&args).output().unwrap();
            assert!(out.status.success(), "selectra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            check(&format!("{name}: selectra tag {}", case["aggregation"]), &serde_json::from_slice(&out.stdout).unwrap(), &case["output"]);
        }
    }
    assert_eq!(strategies.len(), 5, "{strategies:?}");
    assert!(checked >= 80 && entities >= 500, "only {checked} cases with {entities} entities were checked");
    assert!(truncated >= 4, "only {truncated} texts reached the models' length");
    assert!(strided >= 40, "only {strided} texts were tagged whole with a stride");
}

#[test]
fn a_sequence_classifier_is_not_a_tagger() {
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["tag", "--model", model_dir("cls-electra-sentiment").to_str().unwrap(), "--json", "Juan vive en Madrid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ElectraForSequenceClassification") && stderr.contains("token classifier"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["tag", "--model", model_dir("tag-electra-conll").to_str().unwrap(), "--aggregation", "longest", "--json", "Juan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none, simple, first, average or max"));
}

fn export_lines(db: &std::path::Path) -> Vec<Value> {
    let out = selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A corpus of the texts the pipeline tagged (short ones and ones longer than the model), each
/// several times, as a project with corpus "c".
fn tagging_corpus(dir: &std::path::Path, name: &str, texts: &[String]) -> std::path::PathBuf {
    let file = dir.join(format!("{name}.csv"));
    let mut writer = csv::Writer::from_path(&file).unwrap();
    writer.write_record(["text"]).unwrap();
    for round in 0..8 {
        // A varied order, so that long and short records share batches differently.
        for i in 0..texts.len() {
            writer.write_record([&texts[(i + round) % texts.len()]]).unwrap();
        }
    }
    writer.flush().unwrap();
    let db = dir.join(format!("{name}.db"));
    let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    db
}

/// `selectra tag --db --corpus` keeps each record's entities as the pipeline finds them with
/// aggregation `simple` and a quarter-length stride (whole long records), resumes to exactly the
/// uninterrupted run after SIGKILL, and every export carries the entities; label evaluation
/// leaves the run out.
#[test]
fn a_tagging_run_keeps_the_pipelines_entities_resumes_after_sigkill_and_exports_them() {
    let name = "tag-electra-conll";
    let expected = expected_files().into_iter().find(|(n, _)| n == name).unwrap().1;
    let cases = expected["tag"].as_array().unwrap();
    let folder = model_dir(name);
    let model = selectra::Model::load(folder.to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap();
    let quarter = selectra::engine::tag::default_stride(&model) as u64;
    // The pipeline's entities for each text as a run tags it: simple, whole (stride a quarter).
    // (Texts the pipeline tagged only cut are compared with the tagger, checked against it above.)
    let tagger = TokenTagger::new(&model).unwrap();
    let golden = |text: &str| -> Value {
        let simple: Vec<&Value> = cases.iter().filter(|c| c["text"] == text && c["aggregation"] == "simple").collect();
        let strided = simple.iter().find(|c| c["stride"].as_u64() == Some(quarter));
        // A text that fits is one window: the pipeline's entities without a stride.
        let whole = || simple.iter().find(|c| c.get("stride").is_none() && (c["tokens"].as_u64().unwrap() as usize) < model.tokenizer.max_length());
        match strided.or_else(whole) {
            Some(case) => case["output"]["entities"].clone(),
            None => serde_json::to_value(tagger.tag_with(text, TagOptions::for_corpus(&model)).unwrap().entities).unwrap(),
        }
    };
    let mut texts: Vec<String> = cases.iter().map(|c| c["text"].as_str().unwrap().to_string()).collect();
    texts.dedup();
    texts.sort();
    texts.dedup();
    let dir = tempfile::tempdir().unwrap();
    let db = tagging_corpus(dir.path(), "reference", &texts);
    let args = |db: &std::path::Path| -> Vec<String> {
        ["tag", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", folder.to_str().unwrap(), "--batch-size", "3"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let mut json_args = args(&db);
    json_args.push("--json".into());
    let out = Command::new(env!("CARGO_BIN_EXE_selectra")).args(&json_args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = 8 * texts.len() as u64;
    assert_eq!(summary["run"]["kind"], "tagger");
    assert_eq!(summary["run"]["predicts_labels"], false);
    assert_eq!(summary["run"]["labels"], serde_json::json!(["PER", "ORG", "LOC", "MISC"]), "entity types in file order");
    assert_eq!(summary["run"]["template"], format!("aggregation=simple stride={quarter}"));
    assert_eq!((summary["run"]["predictions"].as_u64(), summary["run"]["records"].as_u64()), (Some(records), Some(records)));

    let lines = export_lines(&db);
    let mut long = 0;
    for line in &lines {
        let text = line["text"].as_str().unwrap();
        let want = golden(text);
        let (got, want) = (line["entities"].as_array().unwrap(), want.as_array().unwrap());
        assert_eq!(got.len(), want.len(), "{text:?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!((&g["label"], &g["start"], &g["end"]), (&w["entity_group"], &w["start"], &w["end"]), "{text:?}");
            close(text, g["score"].as_f64().unwrap(), w["score"].as_f64().unwrap());
            let covered: String = text
                .chars()
                .skip(g["start"].as_u64().unwrap() as usize)
                .take((g["end"].as_u64().unwrap() - g["start"].as_u64().unwrap()) as usize)
                .collect();
            assert_eq!(g["text"], covered);
            assert_eq!(g["run"], summary["run"]["id"]);
        }
        long += usize::from(text.chars().count() > 300);
    }
    assert!(long >= 16, "only {long} long records");

    // Killed with SIGKILL mid-run, the identical command resumes to exactly the same entities.
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 % 40;
    println!("kill points from seed {seed}");
    let mut killed = 0;
    for trial in 0..3u64 {
        let db = tagging_corpus(dir.path(), &format!("trial{trial}"), &texts);
        let target = (seed + trial * 13) % (records - 6) + 1;
        killed += usize::from(kill_then_resume(&args(&db), &db, "SELECT COUNT(*) FROM tagged_record", target));
        assert_eq!(export_lines(&db), lines, "trial {trial} (killed at >= {target} records)");
    }
    assert!(killed >= 2, "only {killed} of 3 trials were killed before finishing");

    // CSV gives the run an entities column; Parquet a nested list.
    let db_s = db.to_str().unwrap();
    let run = summary["run"]["id"].as_i64().unwrap();
    let csv_out = dir.path().join("c.csv");
    assert!(selectra(&["export", "--db", db_s, "--corpus", "c", "--format", "csv", "--output", csv_out.to_str().unwrap()]).status.success());
    let mut reader = csv::Reader::from_path(&csv_out).unwrap();
    let column = reader.headers().unwrap().iter().position(|h| h == format!("run{run}_entities")).expect("an entities column");
    assert!(!reader.headers().unwrap().iter().any(|h| h == format!("run{run}_label")), "a tagging run has no label column");
    let first: Vec<Value> = serde_json::from_str(&reader.records().next().unwrap().unwrap()[column]).unwrap();
    assert_eq!(first.len(), lines[0]["entities"].as_array().unwrap().len());
    let parquet = dir.path().join("c.parquet");
    assert!(selectra(&["export", "--db", db_s, "--corpus", "c", "--format", "parquet", "--output", parquet.to_str().unwrap()]).status.success());
    let batches: Vec<_> = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&parquet).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let entities = batches[0].column_by_name("entities").expect("an entities column");
    let entities = entities.as_any().downcast_ref::<arrow_array::ListArray>().unwrap();
    assert_eq!(entities.value_length(0) as usize, lines[0]["entities"].as_array().unwrap().len());

    // Label evaluation has nothing to read in a tagging run, and says so.
    let store = selectra::store::Store::open_existing(&db).unwrap();
    let err = selectra::analysis::evaluate::evaluate(&store, "c", &[run], &Default::default()).unwrap_err().to_string();
    assert!(err.contains("tagging run"), "{err}");
    assert!(selectra::analysis::evaluate::evaluate(&store, "c", &[], &Default::default()).is_err(), "no label runs to evaluate");
    // The app resumes it by its id with its own options.
    let (_, how) = selectra::api::task::resumable_run(&store, run).unwrap();
    assert_eq!(
        how,
        selectra::api::task::Resumable::Tagger(selectra::engine::tag::TagOptions {
            aggregation: Aggregation::Simple,
            stride: Some(quarter as usize)
        })
    );
}

fn import_jsonl(dir: &std::path::Path, name: &str, lines: &[Value], extra: &[&str]) -> (std::path::PathBuf, std::process::Output) {
    let file = dir.join(format!("{name}.jsonl"));
    std::fs::write(&file, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let db = dir.join(format!("{name}.db"));
    let mut args = vec!["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c"];
    args.extend_from_slice(extra);
    args.push(file.to_str().unwrap());
    let out = selectra(&args);
    (db, out)
}

/// Reference spans come in from a spans field; a tagger scored against its own entities less
/// one has recall 1 and precision (n-1)/n exactly, and a run of single tokens is read in both
/// of seqeval's modes.
#[test]
fn taggers_are_scored_on_reference_spans_as_seqeval_scores_entities() {
    let dir = tempfile::tempdir().unwrap();
    let folder = model_dir("tag-electra-conll");
    let texts: Vec<String> = expected_files().into_iter().find(|(n, _)| n == "tag-electra-conll").unwrap().1["tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let lines: Vec<Value> = texts.iter().map(|t| serde_json::json!({"text": t})).collect();
    let (first, out) = import_jsonl(dir.path(), "first", &lines, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tag = |db: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["tag", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", folder.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = selectra(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    tag(&first, &[]);
    let found = export_lines(&first);
    // The reference: each record's entities as Prodigy writes spans, the first entity dropped.
    let n: usize = found.iter().map(|l| l["entities"].as_array().unwrap().len()).sum();
    assert!(n >= 20, "only {n} entities");
    let mut dropped = false;
    let with_spans: Vec<Value> = found
        .iter()
        .map(|l| {
            let mut spans: Vec<Value> = l["entities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| serde_json::json!({"start": e["start"], "end": e["end"], "label": e["label"], "text": e["text"]}))
                .collect();
            if !dropped && !spans.is_empty() {
                spans.remove(0);
                dropped = true;
            }
            serde_json::json!({"text": l["text"], "spans": spans})
        })
        .collect();
    let (second, out) = import_jsonl(dir.path(), "second", &with_spans, &["--spans-column", "spans"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    tag(&second, &[]);
    // A run of single tokens (no stride: the pipeline's needs an aggregation; records are cut).
    tag(&second, &["--aggregation", "none"]);
    let refused = selectra(&[
        "tag",
        "--db",
        second.to_str().unwrap(),
        "--corpus",
        "c",
        "--model",
        folder.to_str().unwrap(),
        "--aggregation",
        "none",
        "--stride",
        "8",
    ]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("choose an aggregation other than none"));
    let report_dir = dir.path().join("report");
    let out = selectra(&["report", "--db", second.to_str().unwrap(), "--corpus", "c", "--output", report_dir.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entities = &report["entities"];
    assert_eq!(entities["n"].as_u64().unwrap() as usize, texts.len());
    assert_eq!(entities["reference_entities"].as_u64().unwrap() as usize, n - 1);
    let scores = &entities["runs"][0]["scores"][0];
    assert_eq!(scores["mode"], Value::Null, "grouped entities are scored as they are");
    // Each predicted entity is one kind of error (or exact); exact ones are the matched ones.
    let errors = &scores["errors"];
    let kinds = ["exact", "wrong_type", "wrong_boundaries", "wrong_both", "spurious"].map(|k| errors[k].as_u64().unwrap());
    assert_eq!(kinds.iter().sum::<u64>(), scores["report"]["predicted"].as_u64().unwrap());
    assert_eq!(kinds[0], scores["report"]["matched"].as_u64().unwrap());
    assert_eq!(errors["missed"], 0, "every reference entity is one the run found");
    let micro = &scores["report"]["micro"];
    close("precision", micro["precision"].as_f64().unwrap(), (n - 1) as f64 / n as f64);
    close("recall", micro["recall"].as_f64().unwrap(), 1.0);
    assert!(scores["micro_f1"]["low"].as_f64().unwrap() <= scores["micro_f1"]["value"].as_f64().unwrap());
    let html = std::fs::read_to_string(report_dir.join("index.html")).unwrap();
    assert!(html.contains("Entities on"));
    // Its charts: F1 per type (and micro) of every reading, the kinds of errors, and one
    // confusion of types per reading (three: the grouped run, the token run read two ways).
    let figures = report_dir.join("figures");
    let svg = std::fs::read_to_string(figures.join("entities-type-f1.svg")).unwrap();
    for t in entities["runs"][0]["scores"][0]["report"]["per_type"].as_array().unwrap().iter().map(|t| t[0].as_str().unwrap()) {
        assert!(svg.contains(&format!(">\n{t}\n<")), "{t} is not a group of the F1 chart");
    }
    assert!(svg.contains(">\nmicro\n<") && svg.contains("(strict)"), "micro F1 and the strict reading are drawn");
    assert!(figures.join("entities-errors.png").is_file() && html.contains("Entity errors"));
    let confusions = std::fs::read_dir(&figures)
        .unwrap()
        .filter_map(|f| f.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("entities-confusion-") && n.ends_with(".svg"))
        .count();
    assert_eq!(confusions, 3);
    // The token run is read both ways; its default reading is never stricter than strict IOB2's.
    let token_run = &entities["runs"][1];
    assert_eq!(token_run["options"], "aggregation=none");
    let modes: Vec<&Value> = token_run["scores"].as_array().unwrap().iter().map(|s| &s["mode"]).collect();
    assert_eq!(modes, [&Value::from("default"), &Value::from("strict")]);
    let predicted = |i: usize| token_run["scores"][i]["report"]["predicted"].as_u64().unwrap();
    assert!(predicted(0) >= predicted(1), "strict IOB2 drops entities that start with I-");
    assert_eq!(report["evaluation"], Value::Null, "no label runs, no label scores");
    // Compare's "your data": each tagging run's entity F1 under the card's NER column (a token
    // run in seqeval's default reading), nothing under the label columns.
    let store = selectra::store::Store::open_existing(&second).unwrap();
    let model = selectra::Model::load(folder.to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap();
    let sizes = |name: &str| (name == model.name).then_some(model.parameters);
    let yours = selectra::api::wire::YourData::of(&store, "c", &Default::default(), &mut selectra::domain::progress::Watch::none(), &sizes).unwrap();
    assert_eq!(yours.rows.len(), 2);
    // Runs of a model of known size are drawn on the card's NER chart, beside the published ones.
    assert_eq!(yours.rows[0].parameters, Some(model.parameters));
    assert_eq!(yours.figures.len(), 1, "entities go on the NER chart only");
    assert!(yours.figures[0].svg.contains("run ") && yours.figures[0].svg.contains("SELECTRA"), "both the runs and the card's models are drawn");
    close("entity F1", yours.rows[0].entities_f1.unwrap().value, scores["micro_f1"]["value"].as_f64().unwrap());
    close("token run", yours.rows[1].entities_f1.unwrap().value, token_run["scores"][0]["micro_f1"]["value"].as_f64().unwrap());
    assert!(yours.rows.iter().all(|r| r.pair_accuracy.is_none() && r.accuracy.is_none()));

    // Accepted span annotations are references too (before imported spans, as an accepted
    // label is before a gold one): annotating each record of the first corpus with the run's own
    // entities makes it score 1.
    let lines: Vec<String> = found
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let spans: Vec<Value> = l["entities"].as_array().unwrap().iter().map(|e| serde_json::json!([e["start"], e["end"], e["label"]])).collect();
            serde_json::json!({"row": i + 1, "spans": spans}).to_string() + "\n"
        })
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["annotate", "--db", first.to_str().unwrap(), "--corpus", "c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), lines.concat().as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let store = selectra::store::Store::open_existing(&first).unwrap();
    let scored = selectra::analysis::tagging::evaluate_taggers(&store, "c", &[], &Default::default()).unwrap();
    assert_eq!(scored.n as usize, texts.len());
    assert_eq!(scored.runs[0].scores[0].report.micro.f1, 1.0);
}
