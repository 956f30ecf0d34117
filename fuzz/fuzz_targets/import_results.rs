//! Fuzzes `import-run`'s reader: any bytes as a job's results file (`results/part-0.parquet`
//! beside a valid zero-shot manifest) must give an import or one error, never a panic or a hang,
//! and a refused import must leave no run behind. Seed the corpus with real results files
//! (`tests/scale_out.rs` writes them) for the fuzzer to mutate.
#![no_main]

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use selectra::exchange::import::{import_file, ImportOptions};
use selectra::jobs::scale_out::import_results;
use selectra::store::Store;

/// A project with corpus "c" of three records, and a job folder with a manifest for it.
struct Setup {
    _dir: tempfile::TempDir,
    job: PathBuf,
    store: Store,
}

fn setup() -> &'static Mutex<Setup> {
    static SETUP: OnceLock<Mutex<Setup>> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("c.csv");
        std::fs::write(&csv, "id,text\nr0,uno\nr1,dos\nr2,tres\n").unwrap();
        let mut store = Store::open(&dir.path().join("p.sqlite")).unwrap();
        let options = ImportOptions { name: "c".into(), id_column: Some("id".into()), ..Default::default() };
        import_file(&mut store, &csv, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
        let job = dir.path().join("job");
        std::fs::create_dir_all(job.join("results")).unwrap();
        let manifest = serde_json::json!({
            "format": 1, "selectra": "fuzz", "kind": "zeroshot", "model": "m", "revision": null, "weights_sha256": "0",
            "strip_accents": null, "labels": ["a", "b"], "template": "Este ejemplo es {}.", "multi_label": false, "input_rows": 3,
        });
        std::fs::write(job.join("manifest.json"), manifest.to_string()).unwrap();
        Mutex::new(Setup { _dir: dir, job, store })
    })
}

fuzz_target!(|data: &[u8]| {
    let mut setup = setup().lock().unwrap();
    let Setup { job, store, .. } = &mut *setup;
    std::fs::write(job.join("results/part-0.parquet"), data).unwrap();
    match import_results(store, "c", job, &mut |_| {}, &AtomicBool::new(false)) {
        Ok(summary) => store.delete_run(summary.id).unwrap(),
        Err(_) => assert!(store.runs("c").unwrap().is_empty(), "a refused import left a run"),
    }
});
