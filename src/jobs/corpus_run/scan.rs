//! Discriminator scans of a corpus: every token's P(replaced), on the shared job loop.

use super::*;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScanSummary {
    pub scan: ScanInfo,
    /// Records scanned in this session (0 when the scan was already complete).
    pub scanned_now: u64,
    pub cancelled: bool,
}

/// Runs (or resumes) a discriminator scan of every record of `corpus`: every token's
/// P(replaced), records longer than the model in windows (see [`crate::engine::scan`]). The scan's
/// identity is (corpus, model, weights SHA-256, accent setting); the identical call resumes.
pub fn run_scan(
    store: &mut Store,
    model: &Model,
    corpus: &str,
    strip_accents: Option<bool>,
    batch_size: usize,
    progress: &mut dyn FnMut(RunProgress),
    cancel: &AtomicBool,
) -> Result<ScanSummary> {
    let scanner = Scanner::new(model)?;
    let key = ScanKey { corpus: corpus.to_string(), model: model.name.clone(), weights_sha256: sha256_file(&model.files.weights)?, strip_accents };
    let scan = store.open_scan(&key)?;
    let (scanned_now, cancelled) = run_job(
        store,
        (scan.scanned, scan.records),
        batch_size,
        progress,
        cancel,
        &mut |store, after, size| store.pending_scan_records(scan.id, after, size),
        &mut |store, batch| {
            let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
            let results = scanner.scan(&texts)?;
            let rows: Vec<(i64, crate::domain::rtd::RecordScan)> = batch.iter().map(|(id, _)| *id).zip(results).collect();
            store.save_scan_results(scan.id, &rows)
        },
    )?;
    if !cancelled {
        store.finish_scan(scan.id)?;
    }
    Ok(ScanSummary { scan: store.scan(scan.id)?, scanned_now, cancelled })
}
