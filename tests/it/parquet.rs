//! Parquet in: files pyarrow wrote (`tests/fixtures/parquet/make.py`) import with their nested
//! span lists, dictionary-encoded labels and struct metadata, in every codec the build reads; a
//! codec it does not read, a damaged file and a column no record can hold are clear errors.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

use crate::common::fixtures;
use crate::common::selectra;

fn file(name: &str) -> PathBuf {
    fixtures().join("parquet").join(name)
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(file("expected.json")).unwrap()).unwrap()
}

fn import(db: &Path, path: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c"];
    args.extend_from_slice(extra);
    args.push(path.to_str().unwrap());
    selectra(&args)
}

fn export_lines(db: &Path) -> Vec<Value> {
    let out = selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "jsonl"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn parquet_files_from_pyarrow_import_with_their_nested_spans() {
    let want = expected();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let out = import(
        &db,
        &file("prodigy.parquet"),
        &["--id-column", "id", "--label-column", "topic", "--spans-column", "spans", "--metadata-columns", "score,meta,tokens"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = export_lines(&db);
    assert_eq!(lines.len(), 3);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["text"], want["texts"][i]);
        assert_eq!(line["gold_spans"], want["spans"][i], "row {}", i + 1);
        assert_eq!(line["id"], json!(format!("a{}", i + 1)));
    }
    // A dictionary-encoded column reads as its values; nested metadata as JSON; NaN as null.
    assert_eq!(lines.iter().map(|l| l["gold"].clone()).collect::<Vec<_>>(), [json!("economía"), json!("viajes"), json!("otros")]);
    assert_eq!(
        lines[0]["metadata"],
        json!({"score": 0.5, "meta": {"source": "prensa", "year": 2020}, "tokens": ["María", "López", "trabaja", "en", "el", "Banco", "de", "España."]})
    );
    assert_eq!(lines[1]["metadata"]["score"], Value::Null, "NaN is no number JSON can hold");

    for codec in ["gzip", "lz4", "brotli"] {
        let db = dir.path().join(format!("{codec}.db"));
        let out = import(&db, &file(&format!("{codec}.parquet")), &["--spans-column", "entities"]);
        assert!(out.status.success(), "{codec}: {}", String::from_utf8_lossy(&out.stderr));
        let spans: Vec<Value> = export_lines(&db).iter().map(|l| l["gold_spans"].clone()).collect();
        assert_eq!(Value::Array(spans), want["spans"], "{codec}");
    }
}

#[test]
fn parquet_that_cannot_be_read_says_why_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.parquet");
    let bytes = std::fs::read(file("gzip.parquet")).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let csv_named_parquet = dir.path().join("table.parquet");
    std::fs::write(&csv_named_parquet, "text\nhola\n").unwrap();
    let cases: [(PathBuf, &[&str], &str); 6] = [
        (file("zstd.parquet"), &["--spans-column", "entities"], "snappy, gzip, lz4 or brotli"),
        (cut, &[], "not a Parquet file, or a damaged one"),
        (csv_named_parquet, &[], "not a Parquet file, or a damaged one"),
        (file("prodigy.parquet"), &["--text-column", "image"], "holds Binary values"),
        (file("prodigy.parquet"), &["--label-column", "topico"], "no column \"topico\""),
        (file("prodigy.parquet"), &["--text-column", "id", "--spans-column", "spans"], "is not inside the text"),
    ];
    for (i, (path, extra, why)) in cases.iter().enumerate() {
        let db = dir.path().join(format!("bad{i}.db"));
        let out = import(&db, path, extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(why), "case {i}: {stderr}");
        let listed = selectra(&["corpus", "list", "--db", db.to_str().unwrap(), "--json"]);
        let listed = String::from_utf8_lossy(&listed.stdout);
        assert!(!listed.contains("\"c\""), "case {i} left a corpus: {listed}");
    }
}

#[test]
fn the_preview_shows_every_column_nested_ones_as_json() {
    let preview = selectra::exchange::import::preview(&file("prodigy.parquet"), None, 2).unwrap();
    assert_eq!(preview.columns, ["id", "text", "topic", "spans", "score", "meta", "tokens", "image"]);
    assert_eq!(preview.rows.len(), 2, "the limit, though the first row group holds more");
    let row = &preview.rows[0];
    assert_eq!(row[1], "María López trabaja en el Banco de España.");
    assert_eq!(row[2], "economía");
    let spans: Value = serde_json::from_str(&row[3]).unwrap();
    assert_eq!(spans[0], json!({"start": 0, "end": 11, "label": "PER", "text": "María López"}));
    assert_eq!(row[7], "(Binary values)", "a column no record holds shows its type");
}

/// Damage anywhere in a Parquet file (cut short, a byte overwritten in its pages, its metadata
/// or its footer) gives an import that either reads rows or fails with an error naming the
/// file; never a panic, and a failed import keeps no corpus.
#[test]
fn damaged_parquet_never_panics_and_a_failed_import_keeps_nothing() {
    use std::sync::atomic::AtomicBool;

    use selectra::exchange::import::{import_file, ImportOptions};
    let bytes = std::fs::read(file("prodigy.parquet")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = selectra::store::Store::open(&dir.path().join("p.db")).unwrap();
    let damaged = dir.path().join("d.parquet");
    let mut variants: Vec<Vec<u8>> = (1..bytes.len()).step_by(97).map(|n| bytes[..n].to_vec()).collect();
    for at in (0..bytes.len()).step_by(23).chain(bytes.len() - 40..bytes.len()) {
        for value in [0x00, 0xff, bytes[at] ^ 0x10] {
            let mut v = bytes.clone();
            v[at] = value;
            variants.push(v);
        }
    }
    let (mut failed, mut read) = (0, 0);
    for (i, variant) in variants.iter().enumerate() {
        std::fs::write(&damaged, variant).unwrap();
        let options = ImportOptions { name: format!("d{i}"), spans_column: Some("spans".into()), ..Default::default() };
        match import_file(&mut store, &damaged, &options, &mut |_| {}, &AtomicBool::new(false)) {
            Ok(outcome) => {
                read += 1;
                assert!(outcome.imported <= 3, "variant {i}");
            }
            Err(e) => {
                failed += 1;
                let message = e.to_string();
                assert!(message.contains("d.parquet"), "variant {i}: {message}");
                assert!(!store.corpora().unwrap().iter().any(|c| c.name == options.name), "variant {i} kept a corpus");
            }
        }
    }
    assert!(failed > variants.len() / 2, "most damage is found: {failed} of {} failed, {read} read", variants.len());
}
