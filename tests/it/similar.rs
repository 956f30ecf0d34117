//! Nearest records and duplicate groups against numpy (`tests/fixtures/similar/make.py`): the
//! same neighbours in the same order with the same similarities, the same groups by brute
//! force over every pair, the exact groups alone; discarding the rest of a group as one batch
//! (undone whole, and whole or absent after a kill -9).

use std::sync::atomic::AtomicBool;

use selectra::analysis::similar::{duplicate_groups, more_like, Vectors};
use selectra::domain::progress::Watch;
use selectra::exchange::import::{import_file, ImportOptions};
use selectra::store::{EmbeddingKey, Status, Store, Target};
use serde_json::Value;

use crate::common::{fixtures, selectra};

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("similar/expected.json")).unwrap()).unwrap()
}

/// The fixture corpus with its vectors stored as an embedding set; (store, set, record ids by row).
fn fixture_project(dir: &std::path::Path) -> (Store, i64, Vec<i64>) {
    let mut store = Store::open(&dir.join("p.db")).unwrap();
    let options = ImportOptions { name: "c".into(), label_column: Some("label".into()), ..Default::default() };
    import_file(&mut store, &fixtures().join("similar/corpus.jsonl"), &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let vectors: Vec<Vec<f32>> = serde_json::from_str(&std::fs::read_to_string(fixtures().join("similar/vectors.json")).unwrap()).unwrap();
    let (set, ids) = crate::common::store_vectors(&mut store, vectors);
    (store, set, ids)
}

fn rows_of(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|r| r.as_u64().unwrap()).collect()
}

#[test]
fn nearest_records_are_numpys() {
    let dir = tempfile::tempdir().unwrap();
    let (store, set, ids) = fixture_project(dir.path());
    let vectors = Vectors::load(&store, set).unwrap();
    let row_of = |record: i64| ids.iter().position(|&r| r == record).unwrap() as u64 + 1;
    for query in expected()["queries"].as_array().unwrap() {
        let found = match query.get("row") {
            Some(row) => more_like(&store, &vectors, ids[row.as_u64().unwrap() as usize - 1], 10).unwrap(),
            None => {
                let v: Vec<f32> = query["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
                vectors.nearest(&v, 10, None).unwrap()
            }
        };
        assert_eq!(found.iter().map(|n| row_of(n.record_id)).collect::<Vec<_>>(), rows_of(&query["rows"]), "{query}");
        for (n, s) in found.iter().zip(query["similarities"].as_array().unwrap()) {
            assert!((f64::from(n.similarity) - s.as_f64().unwrap()).abs() < 1e-5, "{} against numpy's {s}", n.similarity);
        }
    }
    // A record without a vector, and a query of another width, are clear errors.
    assert!(more_like(&store, &vectors, -5, 3).is_err());
    let err = vectors.nearest(&[1.0; 7], 3, None).unwrap_err().to_string();
    assert!(err.contains("7 numbers") && err.contains("32"), "{err}");
}

#[test]
fn duplicate_groups_are_every_pair_compared() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, set, ids) = fixture_project(dir.path());
    let want = expected();
    let row_of = |record: i64| ids.iter().position(|&r| r == record).unwrap() as u64 + 1;
    let threshold = want["threshold"].as_f64().unwrap() as f32;
    let report = duplicate_groups(&store, "c", Some(set), Some(threshold), &mut Watch::none()).unwrap();
    let groups = want["groups"].as_array().unwrap();
    assert_eq!(report.groups.len(), groups.len());
    for (got, g) in report.groups.iter().zip(groups) {
        assert_eq!(got.records.iter().map(|m| m.row).collect::<Vec<_>>(), rows_of(&g["rows"]));
        assert_eq!(got.exact, g["exact"].as_bool().unwrap(), "{g}");
        assert_eq!(got.labels_disagree, g["labels_disagree"].as_bool().unwrap(), "{g}");
        assert_eq!(got.least_similarity.is_none(), got.exact);
        assert_eq!(got.keep, got.records[0].record_id, "nothing accepted: the first is kept");
    }
    assert_eq!(report.embedded, 300);
    // Without vectors: the exact groups alone.
    let exact = duplicate_groups(&store, "c", None, None, &mut Watch::none()).unwrap();
    let exact_rows: Vec<Vec<u64>> = exact.groups.iter().map(|g| g.records.iter().map(|m| m.row).collect()).collect();
    let want_exact: Vec<Vec<u64>> = want["exact_groups"].as_array().unwrap().iter().map(rows_of).collect();
    assert_eq!(exact_rows, want_exact);
    assert!(exact.groups.iter().all(|g| g.exact && g.least_similarity.is_none()));

    // The group keeps its accepted member; "keep one, discard the rest" is one batch.
    let first = &report.groups[0];
    let accepted = first.records[2].record_id;
    store.annotate(accepted, &["cultura".to_string()], Status::Accepted, "ana").unwrap();
    let again = duplicate_groups(&store, "c", Some(set), Some(threshold), &mut Watch::none()).unwrap();
    assert_eq!(again.groups[0].keep, accepted);
    let rest = again.groups[0].rest();
    assert_eq!(rest.len(), first.records.len() - 1);
    let outcome = store.discard("c", Target::Records(&rest), "ana").unwrap();
    assert_eq!(outcome.changed, rest.len() as u64);
    let after = duplicate_groups(&store, "c", Some(set), Some(threshold), &mut Watch::none()).unwrap();
    assert_eq!(after.groups.len(), groups.len() - 1, "discarded records leave their group");
    assert!(after.groups.iter().all(|g| g.records.iter().all(|m| !rest.contains(&m.record_id))));
    assert_eq!(after.records, 300 - rest.len() as u64);
    // Discarding keeps what a record had; one undo brings the group back.
    let kept_labels = store.annotation(rest[0]).unwrap().unwrap();
    assert_eq!(kept_labels.status, Status::Discarded);
    store.undo_last("c", "ana").unwrap().unwrap();
    assert!(rest.iter().all(|&r| store.annotation(r).unwrap().is_none()));
    let undone = duplicate_groups(&store, "c", Some(set), Some(threshold), &mut Watch::none()).unwrap();
    assert_eq!(undone.groups.len(), groups.len());
    assert_eq!(row_of(undone.groups[0].keep), row_of(accepted));

    assert!(report.warning.is_none(), "{:?}", report.warning);
    // Thresholds outside (0, 1] are refused with what they are.
    let err = duplicate_groups(&store, "c", Some(set), Some(1.5), &mut Watch::none()).unwrap_err().to_string();
    assert!(err.contains("1.5"), "{err}");
}

#[test]
fn the_cli_finds_groups_and_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let (store, set, _) = fixture_project(dir.path());
    drop(store);
    let db = dir.path().join("p.db");
    let db = db.to_str().unwrap();
    let set = set.to_string();
    let out = selectra(&["duplicates", "--db", db, "--corpus", "c", "--embeddings", &set, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["duplicates"]["groups"].as_array().unwrap().len(), expected()["groups"].as_array().unwrap().len());
    assert!(v["discarded"].is_null());
    let out = selectra(&["similar", "--db", db, "--corpus", "c", "--embeddings", &set, "--row", "11", "-k", "3", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = &expected()["queries"][1];
    assert_eq!(want["row"], 11);
    let rows: Vec<u64> = v["neighbours"].as_array().unwrap().iter().map(|n| n["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, rows_of(&want["rows"])[..3]);
    // A set of another corpus, and a row that is not there, are clear errors.
    let out = selectra(&["similar", "--db", db, "--corpus", "other", "--embeddings", &set, "--row", "1"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not \"other\""));
    let out = selectra(&["duplicates", "--db", db, "--corpus", "c", "--discard", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let exact_members: usize = expected()["exact_groups"].as_array().unwrap().iter().map(|g| g.as_array().unwrap().len() - 1).sum();
    assert_eq!(v["discarded"]["changed"].as_u64().unwrap() as usize, exact_members);
}

#[test]
fn a_discard_batch_killed_midway_leaves_all_or_nothing() {
    use selectra::store::{Query, StatusFilter};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("twice.txt");
    // 30,000 texts, each twice (the second time in capitals): 30,000 records to discard.
    std::fs::write(
        &file,
        (0..60_000).map(|i| if i % 2 == 0 { format!("el registro {}\n", i / 2) } else { format!("EL REGISTRO {}\n", i / 2) }).collect::<String>(),
    )
    .unwrap();
    let db = dir.path().join("big.db");
    assert!(selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", file.to_str().unwrap()]).status.success());
    let wal = dir.path().join("big.db-wal");
    let discarded = |store: &Store| store.count("c", &Query { status: Some(StatusFilter::Is(Status::Discarded)), ..Default::default() }).unwrap();
    let mut killed_midway = 0;
    for grow_by in [256 * 1024u64, 2 << 20, 6 << 20] {
        let args = ["duplicates", "--db", db.to_str().unwrap(), "--corpus", "c", "--discard", "--annotator", "bulk"];
        let finished = crate::common::kill_when_wal_grows(&args, &wal, grow_by);
        let mut store = Store::open(&db).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let n = discarded(&store);
        assert!(n == 0 || n == 30_000, "{n} records discarded: a batch was cut");
        match finished {
            Some(status) => assert!(status.success() && n == 30_000),
            None if n == 0 => killed_midway += 1,
            None => {}
        }
        if n == 30_000 {
            store.undo_last("c", "bulk").unwrap().unwrap();
            assert_eq!(discarded(&store), 0);
        }
    }
    assert!(killed_midway > 0, "no trial killed the batch before its commit; the test proved nothing");
}

/// A typed query is embedded by the set's own model (a sentence-transformers folder here), so a
/// record's own text finds that record first; another model's vectors are refused.
#[test]
fn semantic_search_embeds_the_text_with_the_sets_model() {
    use selectra::engine::hub::Silent;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.txt");
    let texts = [
        "El gobierno anunció la subida de precios.",
        "El equipo ganó el partido ayer.",
        "La película de la semana es muy bonita.",
        "Llueve en Madrid y hace frío.",
        "El banco sube los tipos de interés.",
    ];
    std::fs::write(&file, texts.join("\n")).unwrap();
    let db = dir.path().join("p.db");
    let db_s = db.to_str().unwrap();
    assert!(selectra(&["corpus", "import", "--db", db_s, "--name", "c", file.to_str().unwrap()]).status.success());
    let model = crate::common::model_dir("st-bert-mean");
    let out = selectra(&["embed", "--db", db_s, "--corpus", "c", "--model", model.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let set = serde_json::from_slice::<Value>(&out.stdout).unwrap()["embeddings"]["id"].as_i64().unwrap().to_string();
    let out = selectra(&["similar", "--db", db_s, "--corpus", "c", "--embeddings", &set, "--text", texts[3], "-k", "2", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &v["neighbours"][0];
    assert_eq!(first["row"], 4, "{v}");
    assert!(first["similarity"].as_f64().unwrap() > 0.9999, "{v}");
    assert!(v["neighbours"][1]["similarity"].as_f64().unwrap() < 0.9999);
    // The query through another model's weights is not comparable, and says so.
    let store = Store::open(&db).unwrap();
    let mut options = selectra::LoadOptions::default();
    options.hub.offline = true;
    let other = selectra::Model::load(crate::common::model_dir("base-roberta").to_str().unwrap(), &options, std::sync::Arc::new(Silent)).unwrap();
    let err = selectra::jobs::corpus_run::embed_query(&store, &other, set.parse().unwrap(), texts[0]).unwrap_err().to_string();
    assert!(err.contains("not comparable"), "{err}");
    // A sentence-embedding model has no head: tasks that need one say what it is.
    let out = selectra(&["zeroshot", "--model", model.to_str().unwrap(), "--labels", "a,b", "hola"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("BertModel"), "{err}");
}

/// Embeddings that do not tell records apart (all pointing one way, as a model without trained
/// weights gives) put the corpus in one group: the report says so, and the CLI discards nothing.
#[test]
fn one_group_holding_the_corpus_is_a_warning_and_discards_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.txt");
    std::fs::write(&file, (0..40).map(|i| format!("registro distinto número {i}\n")).collect::<String>()).unwrap();
    let db = dir.path().join("p.db");
    assert!(selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", file.to_str().unwrap()]).status.success());
    let mut store = Store::open(&db).unwrap();
    let ids: Vec<i64> = (1..=40).map(|row| store.record_id("c", row).unwrap()).collect();
    let key = EmbeddingKey { corpus: "c".into(), model: "flat".into(), weights_sha256: "0".repeat(64), strip_accents: None };
    let set = store.open_embeddings(&key, 4).unwrap().id;
    let rows: Vec<(i64, Vec<f32>)> = ids.iter().enumerate().map(|(i, &id)| (id, vec![1.0, 0.99, 1.01, 0.001 * i as f32])).collect();
    store.save_embeddings(set, &rows).unwrap();
    let report = duplicate_groups(&store, "c", Some(set), None, &mut Watch::none()).unwrap();
    assert_eq!(report.groups.len(), 1);
    let warning = report.warning.expect("a warning");
    assert!(warning.contains("40 of 40"), "{warning}");
    drop(store);
    let out = selectra(&["duplicates", "--db", db.to_str().unwrap(), "--corpus", "c", "--embeddings", &set.to_string(), "--discard"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("nothing discarded"));
    let store = Store::open(&db).unwrap();
    assert!(ids.iter().all(|&r| store.annotation(r).unwrap().is_none()));
}
