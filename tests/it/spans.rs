//! Reference entity spans in: CoNLL / IOB2 files (sentences become records, tags become
//! character spans as seqeval's default mode reads them) and a spans field in the shapes
//! annotation tools export; spans that do not fit their text are bad rows, never stored; every
//! export writes them back.

use std::process::Command;

use crate::common::selectra;
use serde_json::{json, Value};

/// A project with corpus "c" of these texts (JSONL), in `dir`.
fn project(dir: &std::path::Path, texts: &[&str]) -> std::path::PathBuf {
    let file = dir.join("c.jsonl");
    std::fs::write(&file, texts.iter().map(|t| format!("{}\n", json!({"text": t}))).collect::<String>()).unwrap();
    let db = dir.join("p.db");
    assert!(selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", file.to_str().unwrap()]).status.success());
    db
}

fn export_lines(db: &std::path::Path) -> Vec<Value> {
    let out = selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// CoNLL-2002's layout (token, POS, tag), `-DOCSTART-`, several blank lines, an entity at a
/// sentence's end, an I- without its B- (conlleval starts an entity there), accents.
const CONLL: &str = "-DOCSTART- -X- O\n\n\
La DA O\nAsociación NC B-ORG\nde SP I-ORG\nApicultores NC I-ORG\nvisitó VMI O\nSão NC B-LOC\nPaulo NC I-LOC\n\n\n\
Ana NC I-PER\nGarcía NC I-PER\nhabló VMI O\ncon SP O\nÁngela NC B-PER\n\n";

#[test]
fn conll_sentences_become_records_with_their_entities_as_spans() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("esp.conll");
    std::fs::write(&file, CONLL).unwrap();
    let db = dir.path().join("p.db");
    let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = export_lines(&db);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["text"], "La Asociación de Apicultores visitó São Paulo");
    assert_eq!(lines[0]["gold_spans"], json!([{"start": 3, "end": 28, "label": "ORG"}, {"start": 36, "end": 45, "label": "LOC"}]));
    assert_eq!(lines[1]["text"], "Ana García habló con Ángela");
    assert_eq!(lines[1]["gold_spans"], json!([{"start": 0, "end": 10, "label": "PER"}, {"start": 21, "end": 27, "label": "PER"}]));

    // A line without a tag is a bad row with its line number; nothing is imported.
    let broken = dir.path().join("broken.conll");
    std::fs::write(&broken, "Juan B-PER\nvive\nen O\n\nAna B-PER\n").unwrap();
    let db2 = dir.path().join("q.db");
    let out = selectra(&["corpus", "import", "--db", db2.to_str().unwrap(), "--name", "c", broken.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("row 2") && stderr.contains("no tag"), "{stderr}");
    let out = selectra(&["corpus", "import", "--db", db2.to_str().unwrap(), "--name", "c", "--skip-bad", broken.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(export_lines(&db2).len(), 1, "the good sentence only");
}

#[test]
fn spans_that_do_not_fit_their_text_are_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (json!([[0, 40, "PER"]]), "not inside the text"),
        (json!([{"start": 0, "end": 4, "label": "PER", "text": "Ana"}]), "offsets are of another text"),
        (json!([[0, 4, "PER"], [2, 9, "LOC"]]), "overlap"),
        (json!("no es una lista"), "not a JSON list"),
    ];
    for (i, (spans, why)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("c{i}.jsonl"));
        let lines = [json!({"text": "Juan vive en Madrid", "spans": [[0, 4, "PER"]]}), json!({"text": "Juan vive en Madrid", "spans": spans})];
        std::fs::write(&file, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        let db = dir.path().join(format!("c{i}.db"));
        let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--spans-column", "spans", file.to_str().unwrap()]);
        assert!(!out.status.success(), "case {i} was imported");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("row 2") && stderr.contains(why) && stderr.contains("--spans-column"), "case {i}: {stderr}");
    }
    // CSV cells hold the list as JSON; CSV and Parquet exports write the spans back.
    let file = dir.path().join("ok.csv");
    std::fs::write(&file, "text,spans\n\"Juan vive en Madrid\",\"[[13, 19, \"\"LOC\"\"]]\"\nHola,\n").unwrap();
    let db = dir.path().join("ok.db");
    let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--spans-column", "spans", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = export_lines(&db);
    assert_eq!(lines[0]["gold_spans"], json!([{"start": 13, "end": 19, "label": "LOC"}]));
    assert_eq!(lines[1]["gold_spans"], Value::Null, "an empty cell is no reference");
    let csv_out = dir.path().join("out.csv");
    assert!(selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "csv", "--output", csv_out.to_str().unwrap()])
        .status
        .success());
    let csv_text = std::fs::read_to_string(&csv_out).unwrap();
    assert!(csv_text.lines().next().unwrap().ends_with("gold_spans") && csv_text.contains("LOC"), "{csv_text}");
}

fn annotate(db: &std::path::Path, lines: &[Value]) -> (Vec<Value>, String, bool) {
    annotate_as(db, "ana", lines)
}

/// `selectra annotate` as `who`: the acknowledgements, stderr, and whether every line applied.
fn annotate_as(db: &std::path::Path, who: &str, lines: &[Value]) -> (Vec<Value>, String, bool) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(["annotate", "--db", db.to_str().unwrap(), "--corpus", "c", "--annotator", who])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let acks = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (acks, String::from_utf8_lossy(&out.stderr).into_owned(), out.status.success())
}

/// `selectra annotate` takes entity spans (checked against the record's text); labels and
/// spans live side by side in one annotation, each kept when the other changes, and undo
/// restores both; exports carry the spans in the annotation.
#[test]
fn span_annotations_keep_labels_beside_them_and_undo_restores_both() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path(), &["Juan vive en Madrid", "Ana trabaja en Telefónica"]);
    let (acks, stderr, ok) = annotate(
        &db,
        &[
            json!({"row": 1, "spans": [[0, 4, "PER"], {"start": 13, "end": 19, "label": "LOC", "text": "Madrid"}]}),
            json!({"row": 1, "labels": ["sociedad"]}),
            json!({"row": 2, "spans": [[15, 40, "ORG"]]}),
            json!({"row": 2, "labels": ["economía"], "spans": [[15, 25, "ORG"]]}),
        ],
    );
    assert!(!ok && stderr.contains("line 3") && stderr.contains("not inside the text"), "{stderr}");
    assert_eq!(acks.len(), 3);
    assert_eq!(acks[0]["spans"], json!([{"start": 0, "end": 4, "label": "PER"}, {"start": 13, "end": 19, "label": "LOC"}]));
    assert_eq!(acks[1]["labels"], json!(["sociedad"]));
    assert_eq!(acks[1]["spans"], acks[0]["spans"], "a label change keeps the spans");
    assert_eq!((&acks[2]["labels"], &acks[2]["spans"]), (&json!(["economía"]), &json!([{"start": 15, "end": 25, "label": "ORG"}])));

    let lines = export_lines(&db);
    assert_eq!(lines[0]["annotation"]["spans"], acks[0]["spans"]);
    assert_eq!(lines[0]["annotation"]["labels"], json!(["sociedad"]));

    // Undo takes back the last change (labels and spans of row 2 at once), then row 1's label
    // (its spans stay, as they were before it).
    let (acks, stderr, ok) = annotate(&db, &[json!({"undo": true}), json!({"undo": true})]);
    assert!(ok, "{stderr}");
    assert_eq!(acks[0]["labels"], Value::Null, "row 2 had no annotation before");
    assert_eq!(acks[1]["labels"], json!([]));
    assert_eq!(acks[1]["spans"], json!([{"start": 0, "end": 4, "label": "PER"}, {"start": 13, "end": 19, "label": "LOC"}]));
    let lines = export_lines(&db);
    assert_eq!(lines[0]["annotation"]["spans"], acks[1]["spans"]);
    assert_eq!(lines[1]["annotation"], Value::Null);
}

/// Two annotators' spans agree as pairwise F1 (type and both boundaries), over the records both
/// accepted; span-only annotations do not count as (empty) document labels.
#[test]
fn annotators_agree_on_spans_as_f1() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path(), &["Juan vive en Madrid", "Ana trabaja en Telefónica"]);
    for (who, lines) in [
        ("ana", [json!({"row": 1, "spans": [[0, 4, "PER"], [13, 19, "LOC"]]}), json!({"row": 2, "spans": [[15, 25, "ORG"]]})]),
        ("luis", [json!({"row": 1, "spans": [[0, 4, "PER"], [13, 19, "ORG"]]}), json!({"row": 2, "spans": [[15, 25, "ORG"]]})]),
    ] {
        let (_, stderr, ok) = annotate_as(&db, who, &lines);
        assert!(ok, "{stderr}");
    }
    let out = selectra(&["agreement", "--db", db.to_str().unwrap(), "--corpus", "c", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pair = &a["span_pairs"][0];
    assert_eq!((&pair["a"], &pair["b"], &pair["records"], &pair["matched"]), (&json!("ana"), &json!("luis"), &json!(2), &json!(2)));
    assert!((pair["f1"].as_f64().unwrap() - 2.0 * 2.0 / 6.0).abs() < 1e-12);
    assert_eq!(a["pairs"], json!([]), "no document labels were given");
    assert_eq!(a["disputed"], 0);
}

/// A schema of entity types is kept as such (its kind round-trips through the project and the
/// CLI's schema file), and a record's spans come back with it in queries.
#[test]
fn a_span_schema_is_kept_and_queries_return_spans() {
    let dir = tempfile::tempdir().unwrap();
    let db = project(dir.path(), &["Juan vive en Madrid"]);
    let schema_file = dir.path().join("schema.json");
    std::fs::write(&schema_file, r#"{"labels": [{"name": "PER"}, {"name": "LOC"}], "kind": "spans"}"#).unwrap();
    let out = selectra(&["schema", "--db", db.to_str().unwrap(), "--corpus", "c", "--set", schema_file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = selectra(&["schema", "--db", db.to_str().unwrap(), "--corpus", "c", "--json"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["kind"], "spans", "{shown}");
    std::fs::write(&schema_file, r#"{"labels": [{"name": "PER"}], "kind": "tokens"}"#).unwrap();
    let out = selectra(&["schema", "--db", db.to_str().unwrap(), "--corpus", "c", "--set", schema_file.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not a label schema"));

    let (_, stderr, ok) = annotate(&db, &[json!({"row": 1, "spans": [[13, 19, "LOC"]]})]);
    assert!(ok, "{stderr}");
    let out = selectra(&["query", "--db", db.to_str().unwrap(), "--corpus", "c", "--json"]);
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["records"][0]["spans"], json!([{"start": 13, "end": 19, "label": "LOC"}]));
}

/// `selectra query` finds records by entity type (annotated spans, or a tagging run's entities)
/// and the records whose accepted spans are not the run's entities.
#[test]
fn queries_find_records_by_entity_type_and_span_disagreement() {
    let dir = tempfile::tempdir().unwrap();
    let texts = ["Juan vive en Madrid", "Ana trabaja en Telefónica", "La ONU y la Universidad de Salamanca firmaron un acuerdo"];
    let db = project(dir.path(), &texts);
    let db_s = db.to_str().unwrap();
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tag-electra-conll");
    let out = selectra(&["tag", "--db", db_s, "--corpus", "c", "--model", model.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = serde_json::from_slice::<Value>(&out.stdout).unwrap()["run"]["id"].as_i64().unwrap().to_string();
    let lines = export_lines(&db);
    let entities = |i: usize| -> Vec<Value> { lines[i]["entities"].as_array().unwrap().clone() };
    let rows = |args: &[&str]| -> Vec<u64> {
        let mut all = vec!["query", "--db", db_s, "--corpus", "c", "--json", "--limit", "100"];
        all.extend_from_slice(args);
        let out = selectra(&all);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["records"].as_array().unwrap().iter().map(|r| r["row"].as_u64().unwrap()).collect()
    };
    // The run's entities by type: the rows whose entities include it.
    let label = entities(2)[0]["label"].as_str().unwrap().to_string();
    let expected: Vec<u64> = (0..3).filter(|&i| entities(i).iter().any(|e| e["label"] == label.as_str())).map(|i| i as u64 + 1).collect();
    assert_eq!(rows(&["--entity", &label, "--entity-run", &run]), expected);

    // Row 1 accepted with exactly the run's entities, row 2 with none (where the run found some).
    let same: Vec<Value> = entities(0).iter().map(|e| json!([e["start"], e["end"], e["label"]])).collect();
    let (_, stderr, ok) = annotate(&db, &[json!({"row": 1, "spans": same}), json!({"row": 2, "spans": [[0, 3, "PER"]]})]);
    assert!(ok, "{stderr}");
    assert_eq!(rows(&["--entity", "PER"]), if entities(0).iter().any(|e| e["label"] == "PER") { vec![1, 2] } else { vec![2] });
    let row2_agrees = entities(1).len() == 1 && entities(1)[0]["start"] == 0 && entities(1)[0]["end"] == 3 && entities(1)[0]["label"] == "PER";
    assert_eq!(rows(&["--disagree", &format!("{run},spans")]), if row2_agrees { vec![] } else { vec![2] });
    // A run of another corpus, or none, is an error that says so.
    let out = selectra(&["query", "--db", db_s, "--corpus", "c", "--entity", "PER", "--entity-run", "99"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no run 99"));
}

/// `--order entity-score` lists records by their least sure entity in a tagging run, lowest
/// first, records without entities last; it needs a tagging run.
#[test]
fn records_order_by_their_least_sure_entity() {
    let dir = tempfile::tempdir().unwrap();
    let texts = ["Juan vive en Madrid", "Ana trabaja en Telefónica", "La ONU y la Universidad de Salamanca firmaron", "hola"];
    let db = project(dir.path(), &texts);
    let db_s = db.to_str().unwrap();
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tag-electra-conll");
    let out = selectra(&["tag", "--db", db_s, "--corpus", "c", "--model", model.to_str().unwrap(), "--json"]);
    let run = serde_json::from_slice::<Value>(&out.stdout).unwrap()["run"]["id"].as_i64().unwrap().to_string();
    // The expected order, from the exported entities: lowest least score first, ties by row,
    // records without entities last.
    let lines = export_lines(&db);
    let least = |l: &Value| l["entities"].as_array().unwrap().iter().map(|e| e["score"].as_f64().unwrap()).fold(f64::INFINITY, f64::min);
    let mut expected: Vec<(f64, u64)> = lines.iter().enumerate().map(|(i, l)| (least(l), i as u64 + 1)).collect();
    expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let expected: Vec<u64> = expected.into_iter().map(|(_, row)| row).collect();
    // Two records a page, so the keyset cursor carries the order across pages.
    let mut got = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec!["query", "--db", db_s, "--corpus", "c", "--order", "entity-score", "--entity-run", &run, "--limit", "2", "--json"];
        let cursor = after.clone();
        if let Some(c) = &cursor {
            args.extend(["--after", c.as_str()]);
        }
        let out = selectra(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let page: Value = serde_json::from_slice(&out.stdout).unwrap();
        got.extend(page["records"].as_array().unwrap().iter().map(|r| r["row"].as_u64().unwrap()));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(got, expected);
    let out = selectra(&["query", "--db", db_s, "--corpus", "c", "--order", "entity-score"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a tagging run"));
}

/// `--disagree RUN,spans` reads imported reference spans too (a CoNLL corpus), as the
/// evaluation does: the records it lists are those the evaluation does not count as all exact.
#[test]
fn span_disagreements_follow_the_evaluations_references() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("esp.conll");
    std::fs::write(&file, CONLL).unwrap();
    let db = dir.path().join("p.db");
    let db_s = db.to_str().unwrap();
    assert!(selectra(&["corpus", "import", "--db", db_s, "--name", "c", file.to_str().unwrap()]).status.success());
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tag-electra-conll");
    let out = selectra(&["tag", "--db", db_s, "--corpus", "c", "--model", model.to_str().unwrap(), "--json"]);
    let run = serde_json::from_slice::<Value>(&out.stdout).unwrap()["run"]["id"].as_i64().unwrap().to_string();
    let lines = export_lines(&db);
    let same = |l: &Value| {
        let mut a: Vec<(u64, u64, String)> = l["gold_spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["start"].as_u64().unwrap(), s["end"].as_u64().unwrap(), s["label"].to_string()))
            .collect();
        let mut b: Vec<(u64, u64, String)> = l["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["start"].as_u64().unwrap(), s["end"].as_u64().unwrap(), s["label"].to_string()))
            .collect();
        a.sort();
        b.sort();
        a == b
    };
    // Without source ids, a record's export id is its row number.
    let row = |l: &Value| l["id"].as_u64().or_else(|| l["id"].as_str().and_then(|s| s.parse().ok())).unwrap();
    let expected: Vec<u64> = lines.iter().filter(|l| !same(l)).map(row).collect();
    let out = selectra(&["query", "--db", db_s, "--corpus", "c", "--disagree", &format!("{run},spans"), "--json"]);
    let got: Vec<u64> =
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["records"].as_array().unwrap().iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

/// Exports `db`'s corpus "c" as `format` into `dir`, imports that file as a new project, and
/// returns the new project's records as JSONL export lines.
fn through(dir: &std::path::Path, db: &std::path::Path, format: &str) -> Vec<Value> {
    let file = dir.join(format!("out.{format}"));
    let out = selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", format, "--output", file.to_str().unwrap()]);
    assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
    let again = dir.join(format!("again-{format}.db"));
    let out = selectra(&["corpus", "import", "--db", again.to_str().unwrap(), "--name", "c", "--spans-column", "gold_spans", file.to_str().unwrap()]);
    assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
    export_lines(&again)
}

/// Import → export → import keeps every text and its spans, in each format a corpus is written
/// in (adjacent entities of one type, accents, emoji, a text without entities, quotes and
/// commas a CSV cell must escape).
#[test]
fn every_export_format_imports_back_with_the_same_spans() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        json!({"text": "Ana Pérez Luis Gómez viven en Bogotá", "spans": [[0, 9, "PER"], [10, 20, "PER"], [30, 36, "LOC"]]}),
        json!({"text": "\"Hola\", dijo 🙂 Iñaki, en São Paulo", "spans": [{"start": 15, "end": 20, "label": "PER"}, {"start": 25, "end": 34, "label": "LOC"}]}),
        json!({"text": "Nada que marcar.", "spans": []}),
    ];
    let file = dir.path().join("in.jsonl");
    std::fs::write(&file, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let db = dir.path().join("p.db");
    let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--spans-column", "spans", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let first = export_lines(&db);
    let kept = |ls: &[Value]| ls.iter().map(|l| (l["text"].clone(), l["gold_spans"].clone())).collect::<Vec<_>>();
    assert_eq!(first[0]["gold_spans"][1], json!({"start": 10, "end": 20, "label": "PER"}), "adjacent entities stay two");
    assert_eq!(first[2]["gold_spans"], json!([]), "a text without entities keeps its empty reference");
    for format in ["jsonl", "csv", "parquet"] {
        assert_eq!(kept(&through(dir.path(), &db, format)), kept(&first), "{format}");
    }
}

/// A CoNLL file and the JSONL of the same sentences (tokens joined by spaces, entities as the
/// characters their tokens cover) become the same records: the demo's hand-tagged sentences.
#[test]
fn a_conll_file_and_the_jsonl_of_its_sentences_import_alike() {
    let conll = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/entidades.conll")).unwrap();
    let mut jsonl = String::new();
    for sentence in conll.split("\n\n").filter(|s| !s.trim().is_empty()) {
        let (mut text, mut spans) = (String::new(), Vec::<Value>::new());
        for line in sentence.lines().filter(|l| !l.starts_with("-DOCSTART-")) {
            let (token, tag) = line.rsplit_once(' ').unwrap();
            let start = if text.is_empty() { 0 } else { text.chars().count() + 1 };
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(token);
            let end = text.chars().count();
            match tag.split_once('-') {
                Some(("B", kind)) => spans.push(json!([start, end, kind])),
                Some(("I", _)) => *spans.last_mut().unwrap().get_mut(1).unwrap() = json!(end),
                _ => assert_eq!(tag, "O", "the demo file is plain IOB2"),
            }
        }
        if !text.is_empty() {
            jsonl.push_str(&format!("{}\n", json!({"text": text, "spans": spans})));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (from_conll, from_jsonl) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let jsonl_file = dir.path().join("s.jsonl");
    std::fs::write(&jsonl_file, jsonl).unwrap();
    let conll_file = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/entidades.conll");
    assert!(selectra(&["corpus", "import", "--db", from_conll.to_str().unwrap(), "--name", "c", conll_file]).status.success());
    let out =
        selectra(&["corpus", "import", "--db", from_jsonl.to_str().unwrap(), "--name", "c", "--spans-column", "spans", jsonl_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (a, b) = (export_lines(&from_conll), export_lines(&from_jsonl));
    assert_eq!(a.len(), 16);
    let kept = |ls: &[Value]| ls.iter().map(|l| (l["text"].clone(), l["gold_spans"].clone())).collect::<Vec<_>>();
    assert_eq!(kept(&a), kept(&b));
    assert!(a.iter().map(|l| l["gold_spans"].as_array().unwrap().len()).sum::<usize>() > 20, "the demo's entities");
}

/// `selectra label --entities-from RUN` gives the matching records a tagging run's entities as
/// their spans in one batch (labels stay), one undo takes the batch back, and runs whose
/// entities are not spans are refused.
#[test]
fn a_tagging_runs_entities_become_spans_in_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let texts = ["Juan vive en Madrid", "Ana trabaja en Telefónica", "La ONU y la Universidad de Salamanca firmaron", "hola"];
    let db = project(dir.path(), &texts);
    let db_s = db.to_str().unwrap();
    let (acks, _, ok) = annotate(&db, &[json!({"row": 1, "labels": ["sociedad"]})]);
    assert!(ok && acks.len() == 1);
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tag-electra-conll");
    let tag = |aggregation: &str| {
        let out = selectra(&["tag", "--db", db_s, "--corpus", "c", "--model", model.to_str().unwrap(), "--aggregation", aggregation, "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["run"]["id"].as_i64().unwrap().to_string()
    };
    let run = tag("simple");
    let out = selectra(&["label", "--db", db_s, "--corpus", "c", "--entities-from", &run, "--annotator", "eva", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((outcome["matched"].as_u64(), outcome["changed"].as_u64()), (Some(4), Some(4)));
    let lines = export_lines(&db);
    for line in &lines {
        let entities: Vec<Value> =
            line["entities"].as_array().unwrap().iter().map(|e| json!({"start": e["start"], "end": e["end"], "label": e["label"]})).collect();
        assert_eq!(line["annotation"]["spans"], Value::Array(entities), "{line}");
        assert_eq!(line["annotation"]["status"], "accepted");
    }
    assert_eq!(lines[0]["annotation"]["labels"], json!(["sociedad"]), "labels stay");
    assert!(lines.iter().any(|l| !l["entities"].as_array().unwrap().is_empty()), "the tagger found something to accept");
    // One undo takes the whole batch back: the first record has its label again, without spans.
    let (acks, _, ok) = annotate_as(&db, "eva", &[json!({"undo": true})]);
    assert!(ok, "{acks:?}");
    let lines = export_lines(&db);
    assert_eq!(lines[0]["annotation"]["labels"], json!(["sociedad"]));
    assert!(lines[0]["annotation"].get("spans").is_none_or(Value::is_null), "{}", lines[0]);
    assert!(lines[1..].iter().all(|l| l["annotation"].is_null()), "{lines:?}");
    // Filters choose the records; --pending marks them for review.
    let out = selectra(&["label", "--db", db_s, "--corpus", "c", "--entities-from", &run, "--search", "Madrid", "--pending", "--json"]);
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["matched"], 1);
    assert_eq!(export_lines(&db)[0]["annotation"]["status"], "pending");
    // Token tags (no aggregation) are not spans; nor is a run that does not exist.
    let none = tag("none");
    for (run, why) in [(none.as_str(), "without aggregation"), ("99", "there is no run 99")] {
        let out = selectra(&["label", "--db", db_s, "--corpus", "c", "--entities-from", run]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(why), "{stderr}");
    }
}

/// A span batch killed with SIGKILL while it is being written leaves all of it or none (60,000
/// records, each given the run's entity; the kill comes once its writes reach the WAL).
#[test]
fn a_span_batch_killed_midway_leaves_all_or_nothing() {
    use selectra::domain::precision::Precision;
    use selectra::store::{Query, RunKey, RunKind, Store, TaggedRecord};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.txt");
    std::fs::write(&file, (0..60_000).map(|i| format!("Ana Pérez escribe el registro {i}\n")).collect::<String>()).unwrap();
    let db = dir.path().join("big.db");
    assert!(selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", file.to_str().unwrap()]).status.success());
    // A tagging run that found "Ana Pérez" in every record (what a tagger writes, written here
    // directly: tagging 60,000 records would make the test about the tagger).
    let mut store = Store::open(&db).unwrap();
    let key = RunKey {
        corpus: "c".into(),
        model: "tagger".into(),
        weights_sha256: "0".repeat(64),
        labels: vec!["B-PER".into(), "I-PER".into(), "O".into()],
        template: "aggregation=simple".into(),
        multi_label: false,
        strip_accents: None,
        precision: Precision::Exact,
    };
    let run = store.open_run_as(&key, RunKind::Tagger).unwrap().id;
    let ids: Vec<i64> = store.untagged_records(run, 0, 100_000).unwrap().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 60_000);
    let tagged: Vec<TaggedRecord> = ids
        .iter()
        .map(|&id| TaggedRecord { record_id: id, entities: vec![("PER".into(), 0, 9, 0.9, "Ana Pérez".into())], truncated: false })
        .collect();
    for chunk in tagged.chunks(5_000) {
        store.save_tagged(run, chunk).unwrap();
    }
    drop(store);
    let wal = dir.path().join("big.db-wal");
    let run_s = run.to_string();
    let mut killed_midway = 0;
    for (trial, grow_by) in [256 * 1024u64, 2 << 20, 6 << 20].into_iter().enumerate() {
        let status = if trial % 2 == 0 { None } else { Some("--pending") };
        let mut args = vec!["label", "--db", db.to_str().unwrap(), "--corpus", "c", "--entities-from", &run_s, "--annotator", "bulk"];
        args.extend(status);
        let finished = crate::common::kill_when_wal_grows(&args, &wal, grow_by);
        let store = Store::open(&db).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let with_spans = store.count("c", &Query { annotator: Some("bulk".into()), ..Default::default() }).unwrap();
        match finished {
            Some(status) => assert!(status.success() && with_spans == 60_000),
            None => {
                assert!(with_spans == 0 || with_spans == 60_000, "{with_spans} records changed: a batch was cut");
                // The batch of this trial is there whole or not at all: every record has one status.
                let statuses = ["accepted", "pending"].map(|s| {
                    store
                        .count(
                            "c",
                            &Query {
                                status: Some(selectra::store::StatusFilter::Is(selectra::store::Status::parse(s).unwrap())),
                                ..Default::default()
                            },
                        )
                        .unwrap()
                });
                assert!(statuses.contains(&with_spans) || with_spans == 0, "{statuses:?}");
                let this_trial = if trial % 2 == 0 { statuses[0] } else { statuses[1] };
                if this_trial != 60_000 {
                    killed_midway += 1;
                }
            }
        }
    }
    assert!(killed_midway > 0, "no trial killed the batch before its commit; the test proved nothing");
}
