//! Corpora from and to Hub dataset repositories, against the Hub-like server of `hub_server`
//! (loopback only): the Parquet conversion and the repository's own files, revisions, a card's
//! configs, gated and missing repositories, a download cut off and resumed, offline reads from
//! the cache, and a push (refused without a token or with a read-only one) pulled back.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use serde_json::{json, Value};

use crate::hub_server::{HubServer, READ_TOKEN, WRITE_TOKEN};

const NAMES: [&str; 3] = ["negativo", "neutro", "positivo"];

/// A Parquet file as the Hub's conversion writes one: `text` and a `ClassLabel` `label` (its
/// names in the `huggingface` metadata), the rows given.
fn parquet_bytes(rows: &[(&str, i64)]) -> Vec<u8> {
    let features = json!({"info": {"features": {"text": {"dtype": "string", "_type": "Value"}, "label": {"names": NAMES, "_type": "ClassLabel"}}}});
    let schema = Arc::new(
        Schema::new(vec![Field::new("text", DataType::Utf8, false), Field::new("label", DataType::Int64, false)])
            .with_metadata(std::collections::HashMap::from([("huggingface".to_string(), features.to_string())])),
    );
    let texts: ArrayRef = Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>()));
    let labels: ArrayRef = Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()));
    let batch = RecordBatch::try_new(schema.clone(), vec![texts, labels]).unwrap();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}

fn files(entries: &[(&str, Vec<u8>)]) -> BTreeMap<String, Vec<u8>> {
    entries.iter().map(|(p, b)| (p.to_string(), b.clone())).collect()
}

/// Runs `selectra` against the server, with its own cache and the token given (none: no token).
fn selectra_hub(server: &HubServer, cache: &Path, token: Option<&str>, offline: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_selectra"));
    cmd.args(args).env("HF_ENDPOINT", &server.url).env("HF_HUB_CACHE", cache).env("HF_HOME", cache.join("home")).env_remove("HF_TOKEN");
    if let Some(t) = token {
        cmd.env("HF_TOKEN", t);
    }
    if offline {
        cmd.env("HF_HUB_OFFLINE", "1");
    } else {
        cmd.env_remove("HF_HUB_OFFLINE");
    }
    cmd.output().unwrap()
}

fn ok_json(out: Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn failure(out: Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

/// Records of a corpus as (id, text, gold), in row order.
fn records(db: &Path, corpus: &str) -> Vec<(String, String, Option<String>)> {
    let store = selectra::store::Store::open_existing(db).unwrap();
    let mut rows = Vec::new();
    store
        .for_each_export_row(corpus, &mut |r| {
            rows.push((r.export_id, r.text, r.gold));
            Ok(())
        })
        .unwrap();
    rows
}

const TRAIN_A: &[(&str, i64)] = &[("Me encantó la película.", 2), ("Es un desastre total.", 0), ("Ni fu ni fa.", 1)];
const TRAIN_B: &[(&str, i64)] = &[("Volvería sin dudarlo.", 2), ("No lo recomiendo.", 0)];

/// `Org/opiniones`: main holds a CSV (the repository's own files) and the Hub's conversion
/// holds two Parquet shards of train and one of test; tag v1 points at an older main.
fn opiniones(server: &HubServer) -> (String, String) {
    let mut st = server.state.lock().unwrap();
    st.commit("Org/opiniones", "main", files(&[("data/train.csv", b"text,label\nviejo uno,positivo\n".to_vec())]));
    let v1 = st.datasets["Org/opiniones"].refs["main"].clone();
    st.datasets.get_mut("Org/opiniones").unwrap().refs.insert("v1".into(), v1.clone());
    st.commit(
        "Org/opiniones",
        "main",
        files(&[
            ("README.md", b"---\nlanguage: [es]\n---\n# Opiniones\n".to_vec()),
            ("data/train.csv", b"text,label\nuno,positivo\ndos,negativo\n".to_vec()),
        ]),
    );
    let converted = st.commit(
        "Org/opiniones",
        "refs/convert/parquet",
        files(&[
            ("default/train/0000.parquet", parquet_bytes(TRAIN_A)),
            ("default/train/0001.parquet", parquet_bytes(TRAIN_B)),
            ("default/test/0000.parquet", parquet_bytes(&[("Regular.", 1)])),
        ]),
    );
    (v1, converted)
}

#[test]
fn a_split_is_pulled_from_the_conversion_with_label_names_then_offline_from_the_cache() {
    let server = HubServer::start();
    let (_, converted) = opiniones(&server);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");

    let described = ok_json(selectra_hub(&server, &cache, None, false, &["corpus", "hub", "Org/opiniones", "--preview", "2", "--json"]));
    let dataset = &described["dataset"];
    assert_eq!(dataset["converted"], true);
    assert_eq!(dataset["commit"], converted.as_str());
    let config = &dataset["configs"][0];
    assert_eq!((config["name"].as_str(), config["default"].as_bool()), (Some("default"), Some(true)));
    assert_eq!(config["columns"], json!(["text", "label"]));
    let splits: Vec<(String, u64, usize)> = config["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["rows"].as_u64().unwrap(), s["files"].as_array().unwrap().len()))
        .collect();
    assert_eq!(splits, [("train".to_string(), 5, 2), ("test".to_string(), 1, 1)], "rows counted from the Parquet footers");
    // The preview shows label names, not indexes.
    assert_eq!(described["preview"]["rows"][0], json!(["Me encantó la película.", "positivo"]));

    let db = dir.path().join("p.db");
    let db_s = db.to_str().unwrap();
    let args = ["corpus", "import", "--db", db_s, "--hub", "Org/opiniones", "--label-column", "label", "--json"];
    let outcome = ok_json(selectra_hub(&server, &cache, None, false, &args));
    assert_eq!(outcome["imported"], 5);
    assert_eq!(outcome["corpus"]["name"], "opiniones");
    assert_eq!(
        outcome["corpus"]["origin"],
        json!({"repo": "Org/opiniones", "revision": null, "commit": converted, "config": "default", "split": "train", "converted": true})
    );
    assert_eq!(outcome["corpus"]["source_path"], format!("hf://datasets/Org/opiniones@{converted}/default/train"));
    let pulled = records(&db, "opiniones");
    let expected: Vec<(String, Option<String>)> =
        TRAIN_A.iter().chain(TRAIN_B).map(|(t, l)| (t.to_string(), Some(NAMES[*l as usize].to_string()))).collect();
    assert_eq!(pulled.iter().map(|r| (r.1.clone(), r.2.clone())).collect::<Vec<_>>(), expected);
    // Row numbers go on across the two files.
    assert_eq!(pulled.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["1", "2", "3", "4", "5"]);

    // Offline: the same split from the cache, with no request made; the test split was never
    // downloaded, so it is "not cached".
    let requests = server.state.lock().unwrap().log.len();
    let args = ["corpus", "import", "--db", db_s, "--name", "again", "--hub", "Org/opiniones", "--label-column", "label", "--json"];
    let outcome = ok_json(selectra_hub(&server, &cache, None, true, &args));
    assert_eq!(outcome["imported"], 5);
    assert_eq!(records(&db, "again").into_iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(), expected);
    let args = ["corpus", "import", "--db", db_s, "--name", "t", "--hub", "Org/opiniones", "--split", "test", "--json"];
    let stderr = failure(selectra_hub(&server, &cache, None, true, &args));
    for word in ["not in the Hugging Face cache", "datasets--Org--opiniones", "HF_HUB_OFFLINE", "only the splits pulled before", "no split \"test\""]
    {
        assert!(stderr.contains(word), "{stderr:?} does not mention {word:?}");
    }
    assert_eq!(server.state.lock().unwrap().log.len(), requests, "offline runs make no request");
}

#[test]
fn a_revision_reads_the_repository_files_at_that_commit() {
    let server = HubServer::start();
    let (v1, _) = opiniones(&server);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let db = dir.path().join("p.db");
    let args = ["corpus", "import", "--db", db.to_str().unwrap(), "--hub", "Org/opiniones@v1", "--label-column", "label", "--json"];
    let outcome = ok_json(selectra_hub(&server, &cache, None, false, &args));
    assert_eq!(outcome["imported"], 1);
    assert_eq!(outcome["corpus"]["origin"]["revision"], "v1");
    assert_eq!(outcome["corpus"]["origin"]["commit"], v1.as_str());
    assert_eq!(outcome["corpus"]["origin"]["converted"], false);
    assert_eq!(records(&db, "opiniones")[0].1, "viejo uno");
    let stderr = failure(selectra_hub(&server, &cache, None, false, &["corpus", "hub", "Org/opiniones@v9"]));
    assert!(stderr.contains("the revision \"v9\" does not exist"), "{stderr}");
}

#[test]
fn without_a_conversion_the_cards_configs_choose_the_files() {
    let server = HubServer::start();
    let card = "---\nconfigs:\n- config_name: es\n  data_files:\n  - split: train\n    path: es/train-*.jsonl\n  - split: test\n    path: es/test.csv\n  default: true\n- config_name: all\n  data_files: \"*/*\"\ndataset_info:\n- config_name: es\n  features:\n  - name: text\n    dtype: string\n  - name: tema\n    dtype: string\n  splits:\n  - name: train\n    num_examples: 3\n---\n";
    server.state.lock().unwrap().commit(
        "Org/temas",
        "main",
        files(&[
            ("README.md", card.as_bytes().to_vec()),
            (
                "es/train-1.jsonl",
                "{\"text\": \"Ganó el Madrid\", \"tema\": \"deportes\"}\n{\"text\": \"Sube el IPC\", \"tema\": \"economía\"}\n".as_bytes().to_vec(),
            ),
            ("es/train-2.jsonl", "{\"text\": \"Nuevo gobierno\", \"tema\": \"política\"}\n".as_bytes().to_vec()),
            ("es/test.csv", "text,tema\nEmpate a cero,deportes\n".as_bytes().to_vec()),
            ("es/extra.csv.gz", vec![0x1f, 0x8b]),
        ]),
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let described = ok_json(selectra_hub(&server, &cache, None, false, &["corpus", "hub", "Org/temas", "--json"]));
    let configs = described["dataset"]["configs"].as_array().unwrap();
    assert_eq!(described["dataset"]["converted"], false);
    assert_eq!(configs.iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(), ["es", "all"]);
    assert_eq!(configs[0]["default"], true);
    assert_eq!(configs[0]["columns"], json!(["text", "tema"]));
    assert_eq!(configs[0]["splits"][0]["rows"], 3, "rows from the card's dataset_info");
    assert_eq!(configs[0]["splits"][1]["rows"], Value::Null, "a CSV's rows are unknown before it is read");
    assert_eq!(configs[0]["unread"], json!(["es/extra.csv.gz"]));

    let db = dir.path().join("p.db");
    let db_s = db.to_str().unwrap();
    let outcome = ok_json(selectra_hub(
        &server,
        &cache,
        None,
        false,
        &["corpus", "import", "--db", db_s, "--hub", "Org/temas", "--label-column", "tema", "--json"],
    ));
    assert_eq!(outcome["imported"], 3);
    assert_eq!(outcome["corpus"]["name"], "temas-es");
    let golds: Vec<Option<String>> = records(&db, "temas-es").into_iter().map(|r| r.2).collect();
    assert_eq!(golds, [Some("deportes".into()), Some("economía".into()), Some("política".into())]);
    let outcome = ok_json(selectra_hub(
        &server,
        &cache,
        None,
        false,
        &["corpus", "import", "--db", db_s, "--hub", "Org/temas", "--config", "es", "--split", "test", "--label-column", "tema", "--json"],
    ));
    assert_eq!((outcome["imported"].as_u64(), outcome["corpus"]["name"].as_str()), (Some(1), Some("temas-es-test")));
    // A split or config that is not there names the ones that are.
    let stderr = failure(selectra_hub(&server, &cache, None, false, &["corpus", "import", "--db", db_s, "--hub", "Org/temas", "--split", "dev"]));
    assert!(stderr.contains("train, test") && stderr.contains("--split"), "{stderr}");
    let stderr = failure(selectra_hub(&server, &cache, None, false, &["corpus", "import", "--db", db_s, "--hub", "Org/temas", "--config", "fr"]));
    assert!(stderr.contains("es, all") && stderr.contains("--config"), "{stderr}");
}

#[test]
fn gated_and_missing_datasets_say_what_to_do() {
    let server = HubServer::start();
    server.state.lock().unwrap().commit("Org/cerrado", "main", files(&[("data.csv", b"text\nhola\n".to_vec())]));
    server.state.lock().unwrap().datasets.get_mut("Org/cerrado").unwrap().gated = true;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let stderr = failure(selectra_hub(&server, &cache, None, false, &["corpus", "hub", "Org/cerrado"]));
    assert!(stderr.contains("access denied") && stderr.contains("HF_TOKEN"), "{stderr}");
    assert!(!stderr.contains("not in the Hugging Face cache"), "a refusal is not an unreachable Hub: {stderr}");
    let db = dir.path().join("p.db");
    let outcome = ok_json(selectra_hub(
        &server,
        &cache,
        Some(READ_TOKEN),
        false,
        &["corpus", "import", "--db", db.to_str().unwrap(), "--hub", "Org/cerrado", "--json"],
    ));
    assert_eq!(outcome["imported"], 1);
    let stderr = failure(selectra_hub(&server, &cache, None, false, &["corpus", "hub", "Org/nada"]));
    assert!(stderr.contains("does not exist"), "{stderr}");
    let stderr = failure(selectra_hub(&server, &cache, None, false, &["corpus", "hub", "Org/nada@../../x"]));
    assert!(stderr.contains("not a valid revision"), "{stderr}");
}

#[test]
fn a_download_cut_off_fails_cleanly_and_the_next_pull_fetches_only_the_rest() {
    let server = HubServer::start();
    {
        let mut st = server.state.lock().unwrap();
        st.commit("Org/grande", "main", files(&[("README.md", b"# Grande\n".to_vec())]));
        st.commit(
            "Org/grande",
            "refs/convert/parquet",
            files(&[
                ("default/train/0000.parquet", parquet_bytes(TRAIN_A)),
                ("default/train/0001.parquet", parquet_bytes(TRAIN_B)),
                ("default/train/0002.parquet", parquet_bytes(&[("Último.", 1)])),
            ]),
        );
        st.cut_once.push("default/train/0001.parquet".into());
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let db = dir.path().join("p.db");
    let db_s = db.to_str().unwrap();
    let args = ["corpus", "import", "--db", db_s, "--hub", "Org/grande", "--label-column", "label", "--json"];
    let stderr = failure(selectra_hub(&server, &cache, None, false, &args));
    assert!(stderr.contains("interrupted") && stderr.contains("1 of 3 files are in the cache") && stderr.contains("pull again"), "{stderr}");
    assert!(selectra::store::Store::open_existing(&db).unwrap().corpora().unwrap().is_empty(), "nothing is imported from a cut download");
    let outcome = ok_json(selectra_hub(&server, &cache, None, false, &args));
    assert_eq!(outcome["imported"], 6);
    let st = server.state.lock().unwrap();
    assert_eq!(st.downloads_of("default/train/0000.parquet"), 1, "the file fetched before the cut is not fetched again");
    assert_eq!(st.downloads_of("default/train/0001.parquet"), 2);
    assert_eq!(st.downloads_of("default/train/0002.parquet"), 1);
}

#[test]
fn a_pushed_corpus_pulls_back_with_its_labels_and_refused_pushes_say_why() {
    let server = HubServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let csv = "text,label,fuente\nEl gol llegó tarde,deportes,radio\nLa bolsa cayó,economía,prensa\nNuevo ministro,,prensa\nSin clasificar,,web\n";
    let (db, mut store) = crate::common::labeled_project(dir.path(), csv);
    drop(store);
    // Import again with metadata, then annotate: an accepted label, a discarded record.
    std::fs::remove_file(&db).unwrap();
    let file = dir.path().join("c.csv");
    let db_s = db.to_str().unwrap();
    let out = crate::common::selectra(&[
        "corpus",
        "import",
        "--db",
        db_s,
        "--name",
        "c",
        "--label-column",
        "label",
        "--metadata-columns",
        "fuente",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    store = selectra::store::Store::open_existing(&db).unwrap();
    let third = store.record_id("c", 3).unwrap();
    let fourth = store.record_id("c", 4).unwrap();
    store.annotate(third, &["política".to_string()], selectra::store::Status::Accepted, "ana").unwrap();
    store.annotate(fourth, &[], selectra::store::Status::Discarded, "ana").unwrap();
    drop(store);

    let push = ["corpus", "push", "--db", db_s, "--corpus", "c", "--to", "Org/noticias", "--json"];
    let stderr = failure(selectra_hub(&server, &cache, None, false, &push));
    assert!(stderr.contains("needs a Hugging Face token") && stderr.contains("HF_TOKEN"), "{stderr}");
    let stderr = failure(selectra_hub(&server, &cache, Some(READ_TOKEN), false, &push));
    assert!(stderr.contains("403") || stderr.contains("cannot write"), "{stderr}");
    assert!(!server.state.lock().unwrap().datasets.contains_key("Org/noticias"), "a refused push creates nothing");

    let outcome = ok_json(selectra_hub(&server, &cache, Some(WRITE_TOKEN), false, &push));
    assert_eq!((outcome["records"].as_u64(), outcome["split"].as_str()), (Some(4), Some("train")));
    assert_eq!(outcome["files"], json!(["data/train-00000-of-00001.parquet", "README.md"]));
    // A second split in a second commit keeps the first in the card.
    let push_test = ["corpus", "push", "--db", db_s, "--corpus", "c", "--to", "Org/noticias", "--split", "test", "--json"];
    ok_json(selectra_hub(&server, &cache, Some(WRITE_TOKEN), false, &push_test));
    let (readme, messages) = {
        let st = server.state.lock().unwrap();
        let repo = &st.datasets["Org/noticias"];
        let head = &repo.commits[&repo.refs["main"]];
        assert!(head.contains_key("data/train-00000-of-00001.parquet") && head.contains_key("data/test-00000-of-00001.parquet"));
        (String::from_utf8(head["README.md"].clone()).unwrap(), repo.messages.clone())
    };
    assert!(messages[0].contains("\"c\"") && messages[0].contains("4 records"), "{messages:?}");
    let card = selectra::domain::dataset::parse_card(&readme).unwrap();
    let meta = &card.metadata;
    assert_eq!(meta["language"], json!(["es"]));
    assert_eq!(meta["task_categories"], json!(["text-classification"]));
    let data_files = &meta["configs"][0]["data_files"];
    assert_eq!(data_files, &json!([{"split": "train", "path": "data/train-*"}, {"split": "test", "path": "data/test-*"}]));
    let info = selectra::domain::dataset::card_info(meta, "default");
    assert_eq!(info.class_labels["label"], ["deportes", "economía", "política"]);
    assert_eq!((info.rows["train"], info.rows["test"]), (4, 4));
    assert_eq!(info.columns, ["id", "text", "label", "gold", "status", "annotators", "fuente"]);
    assert!(card.text.contains("| ana | 1 |"), "annotators in the card: {}", card.text);

    // Pulled back into another project: the same records, each with its reference label.
    let other = dir.path().join("q.db");
    let args = [
        "corpus",
        "import",
        "--db",
        other.to_str().unwrap(),
        "--hub",
        "Org/noticias",
        "--id-column",
        "id",
        "--label-column",
        "label",
        "--metadata-columns",
        "fuente",
        "--json",
    ];
    let outcome = ok_json(selectra_hub(&server, &cache, Some(READ_TOKEN), false, &args));
    assert_eq!(outcome["imported"], 4);
    let back = records(&other, "noticias");
    let texts: Vec<&str> = back.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(texts, ["El gol llegó tarde", "La bolsa cayó", "Nuevo ministro", "Sin clasificar"]);
    let golds: Vec<Option<&str>> = back.iter().map(|r| r.2.as_deref()).collect();
    assert_eq!(
        golds,
        [Some("deportes"), Some("economía"), Some("política"), None],
        "the reference: gold, or the accepted annotation; discarded has none"
    );
    assert_eq!(back.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), records(&db, "c").iter().map(|r| r.0.as_str()).collect::<Vec<_>>());
}
