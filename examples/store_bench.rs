//! Benchmarks of the project store (a documented command, not a test):
//!
//!     cargo run --release --example store_bench -- [ROWS]      (default 1000000)
//!
//! 1. import rows/s of a generated ROWS-row CSV;
//! 2. labeling-page query latency over ROWS records with two runs' predictions (synthetic scores
//!    written through the store's own API, so the indexes are the ones real runs use), for every
//!    filter of the filter bar: the first page with its count, and a deep page by keyset cursor;
//!    a bulk label of a metadata-filtered set and its undo;
//! 3. how long labeling waits for the write lock while another connection imports ROWS rows;
//! 4. zero-shot run overhead: `selectra run`'s path (store, batching, commits) against the raw
//!    classifier on the same 2000 texts, with the tiny fixture NLI model;
//! 5. exporting the corpus (two runs, a scan of every record, annotations by two annotators and
//!    a 32-number embedding set) as JSONL, CSV and Parquet, and deleting the corpus with all of it.
//!
//! Prints a Markdown table.
//!
//!     cargo run --release --example store_bench -- [ROWS] spans
//!
//! measures span labeling instead: ROWS records with reference spans (imported), a tagging run
//! with two entities per record, one record in a thousand annotated with spans; the entity
//! filters and orders, span disagreement, a span batch from the run and its undo, one span
//! annotation, the span agreement and the entity evaluation.
//!
//!     cargo run --release --example store_bench -- [ROWS] hub
//!
//! measures a Hub dataset's two halves without the network: ROWS imported records (gold labels,
//! two metadata keys, one in a hundred with an accepted annotation by one of two annotators)
//! written as the files a push commits (the Parquet data file and the card), then that file
//! read back as a pull imports it (ClassLabel indexes to names, metadata columns).
//!
//!     cargo run --release --example store_bench -- [ROWS] similar
//!
//! measures the similarity tools: ROWS records with a 384-number embedding set (random unit
//! vectors, one record in a hundred a moved copy of another, cosine 0.94 to 1); loading the set,
//! "more like this" and a typed query's k nearest (exact), exact duplicate groups, near-duplicate
//! pairs by hashing and (at most 100 000 records) by comparing every pair, with the hashing's
//! recall, duplicate groups, discarding 1000 records as one batch and its undo, and the search
//! alone over 100 000 and 1 000 000 vectors in memory.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use selectra::domain::precision::Precision;
use selectra::domain::rtd::{RecordScan, ScannedToken};
use selectra::domain::task::ZeroShotTask;
use selectra::engine::hub::Silent;
use selectra::engine::zeroshot::ZeroShotClassifier;
use selectra::exchange::export::{export, ExportFormat, ExportOptions};
use selectra::exchange::import::{import_file, ImportOptions};
use selectra::store::{Disagreement, EmbeddingKey, MetaFilter, PredictionRow, Query, RunKey, Sample, ScanKey, Sort, StatusFilter, Store};
use selectra::{LoadOptions, Model};

const WORDS: &[&str] = &[
    "el",
    "la",
    "los",
    "gobierno",
    "sube",
    "precios",
    "mercado",
    "equipo",
    "ganó",
    "partido",
    "música",
    "ciudad",
    "banco",
    "elecciones",
    "película",
    "premio",
    "jugador",
    "ministro",
    "empresa",
    "salud",
    "ciencia",
    "lluvia",
];
const LABELS: &[&str] = &["deportes", "economía", "política", "cultura"];

fn text(i: usize) -> String {
    words_of(i).join(" ")
}

/// Record `i`'s words.
fn words_of(i: usize) -> Vec<&'static str> {
    let len = 6 + (i * 7) % 25;
    (0..len).map(|j| WORDS[(i.wrapping_mul(2654435761) >> 7).wrapping_add(j * 13) % WORDS.len()]).collect()
}

fn write_csv(path: &Path, rows: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,text,label,source,year").unwrap();
    for i in 0..rows {
        let source = ["web", "prensa", "radio"][(i * 7) % 3];
        writeln!(out, "r{i},\"{}\",{},{source},{}", text(i), LABELS[i % LABELS.len()], 2000 + (i * 13) % 25).unwrap();
    }
}

/// Numbers per synthetic embedding.
const EMBEDDING_DIM: usize = 32;

/// A record's synthetic scan: one token per word, P(replaced) from the record id.
fn synthetic_scan(id: i64, text: &str) -> RecordScan {
    let mut tokens = Vec::new();
    let mut start = 0;
    for (k, word) in text.split(' ').enumerate() {
        let end = start + word.chars().count();
        let probability = ((id as usize * 31 + k * 17) % 100) as f32 / 100.0;
        tokens.push(ScannedToken { token: word.to_string(), start, end, probability, word_start: true });
        start = end + 1;
    }
    let (suspicion, flagged, mean) = selectra::domain::rtd::summarize(&tokens);
    RecordScan { tokens, suspicion, flagged, mean, windows: 1 }
}

fn unit_vector(id: i64) -> Vec<f32> {
    let v: Vec<f32> = (0..EMBEDDING_DIM).map(|j| ((id as usize * 7 + j * 13) % 29) as f32 - 14.0).collect();
    let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-6);
    v.iter().map(|a| a / norm).collect()
}

/// A writer that counts the bytes it is given (the export's size without a disk in the timing).
struct Counted(u64);

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// A page of `q` over `corpus`: the first (with its count), and a deep page read by its keyset
/// cursor (the cursor is found once with an offset, untimed; paging from it is what the app and
/// CLI do). Returns (first page ms, deep page ms median of 7, matching records).
fn page(store: &Store, corpus: &str, q: Query) -> (f64, f64, u64) {
    let t = Instant::now();
    let first = store.query(corpus, &Query { limit: 50, ..q.clone() }).unwrap();
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let total = first.total.expect("first page is counted");
    let deep = store.query(corpus, &Query { limit: 50, offset: total.saturating_sub(100) * 9 / 10, ..q.clone() }).unwrap();
    let Some(cursor) = deep.next.or(first.next) else { return (first_ms, f64::NAN, total) };
    let samples = (0..7)
        .map(|_| {
            let t = Instant::now();
            let page = store.query(corpus, &Query { limit: 50, after: Some(cursor), ..q.clone() }).unwrap();
            assert!(!page.rows.is_empty());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    (first_ms, median_ms(samples), total)
}

const TYPES: &[&str] = &["PER", "LOC", "ORG", "MISC"];

/// Record `i`'s two entities: its first and last words, typed by `i` (`shift` changes the type
/// of one record in five, as a tagger that disagrees with the reference).
fn entities_of(i: usize, shift: usize) -> Vec<(usize, usize, String)> {
    let words = words_of(i);
    let last_start = words[..words.len() - 1].iter().map(|w| w.chars().count() + 1).sum::<usize>();
    let kind = |k: usize| TYPES[(i + k + if i.is_multiple_of(5) { shift } else { 0 }) % TYPES.len()].to_string();
    vec![(0, words[0].chars().count(), kind(0)), (last_start, last_start + words[words.len() - 1].chars().count(), kind(1))]
}

/// The span labeling measurements (see the module's documentation).
fn spans_bench(rows: usize) {
    use selectra::domain::spans::Span;
    use selectra::store::{RunKind, Status, TaggedRecord, Target};
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("spans.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        writeln!(out, "text,spans,year").unwrap();
        for i in 0..rows {
            let spans: Vec<serde_json::Value> = entities_of(i, 0).into_iter().map(|(s, e, l)| serde_json::json!([s, e, l])).collect();
            let cell = serde_json::Value::Array(spans).to_string().replace('"', "\"\"");
            writeln!(out, "\"{}\",\"{cell}\",{}", text(i), 2000 + (i * 13) % 25).unwrap();
        }
    }
    let db = dir.path().join("spans.db");
    let mut store = Store::open(&db).unwrap();
    let options =
        ImportOptions { name: "ner".into(), spans_column: Some("spans".into()), metadata_columns: vec!["year".into()], ..Default::default() };
    let t = Instant::now();
    import_file(&mut store, &csv, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let import_s = t.elapsed().as_secs_f64();
    // A tagging run: the same two entities, one record in five typed otherwise, with scores.
    let key = RunKey {
        corpus: "ner".into(),
        model: "synthetic-tagger".into(),
        weights_sha256: "0".repeat(64),
        labels: TYPES.iter().map(|t| format!("B-{t}")).collect(),
        template: "aggregation=simple".into(),
        multi_label: false,
        strip_accents: None,
        precision: Precision::Exact,
    };
    let run = store.open_run_as(&key, RunKind::Tagger).unwrap().id;
    let t = Instant::now();
    let (mut after, mut i) = (0, 0usize);
    loop {
        let pending = store.untagged_records(run, after, 10_000).unwrap();
        let Some((last, _)) = pending.last() else { break };
        after = *last;
        let batch: Vec<TaggedRecord> = pending
            .iter()
            .map(|(id, text)| {
                let entities = entities_of(i, 1)
                    .into_iter()
                    .enumerate()
                    .map(|(k, (s, e, l))| {
                        let surface: String = text.chars().skip(s).take(e - s).collect();
                        (l, s, e, ((i * 7919 + k * 13) % 1000) as f32 / 1000.0, surface)
                    })
                    .collect();
                i += 1;
                TaggedRecord { record_id: *id, entities, truncated: false }
            })
            .collect();
        store.save_tagged(run, &batch).unwrap();
    }
    let tag_write_s = t.elapsed().as_secs_f64();
    store.finish_run(run).unwrap();
    // One record in a thousand annotated with spans (its reference's first entity only), a third
    // of those by a second annotator too.
    let step = rows / 1000 + 1;
    for i in (0..rows).step_by(step) {
        let id = store.record_id("ner", i as u64 + 1).unwrap();
        let spans: Vec<Span> = entities_of(i, 0).into_iter().take(1).map(|(start, end, label)| Span { start, end, label }).collect();
        store.annotate_spans(id, &spans, Status::Accepted, "bench").unwrap();
        if i % 3 == 0 {
            let all: Vec<Span> = entities_of(i, 0).into_iter().map(|(start, end, label)| Span { start, end, label }).collect();
            store.annotate_spans(id, &all, Status::Accepted, "bench2").unwrap();
        }
    }
    let queries = [
        (
            "has an entity of type PER (the run's)",
            page(&store, "ner", Query { entity: Some("PER".into()), tagging_run: Some(run), ..Default::default() }),
        ),
        (
            "least sure entity first (the run's)",
            page(&store, "ner", Query { tagging_run: Some(run), sort: Sort::EntityScoreAsc, ..Default::default() }),
        ),
        (
            "has PER, least sure entity first",
            page(&store, "ner", Query { entity: Some("PER".into()), tagging_run: Some(run), sort: Sort::EntityScoreAsc, ..Default::default() }),
        ),
        ("run and reference disagree on spans", page(&store, "ner", Query { disagree: Some(Disagreement::RunSpans(run)), ..Default::default() })),
        (
            "annotated, run and annotation disagree on spans",
            page(
                &store,
                "ner",
                Query { disagree: Some(Disagreement::RunSpans(run)), status: Some(StatusFilter::Is(Status::Accepted)), ..Default::default() },
            ),
        ),
    ];
    // One span annotation (the save of a record's spans), median of 101 on spread records.
    let saves: Vec<f64> = (0..101)
        .map(|k| {
            let i = (k * 7919) % rows;
            let id = store.record_id("ner", i as u64 + 1).unwrap();
            let spans: Vec<Span> = entities_of(i, 2).into_iter().map(|(start, end, label)| Span { start, end, label }).collect();
            let t = Instant::now();
            store.annotate_spans(id, &spans, Status::Accepted, "bench3").unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let year = Query { meta: vec![MetaFilter::parse("year=2003").unwrap()], ..Default::default() };
    let t = Instant::now();
    let batch = store.accept_entities("ner", Target::Matching(&year), run, Status::Accepted, "bulk").unwrap();
    let batch_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    store.undo_last("ner", "bulk").unwrap().unwrap();
    let undo_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let agreement = store.annotator_agreement("ner").unwrap();
    let agreement_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let options = selectra::analysis::metrics::EvalOptions { resamples: 200, seed: 0, bins: 10, within_run_labels: false };
    let evaluation = selectra::analysis::tagging::evaluate_taggers(&store, "ner", &[run], &options).unwrap();
    let evaluate_s = t.elapsed().as_secs_f64();

    println!("| measurement | value |\n|---|---|");
    println!("| import, {rows} rows with reference spans | {:.0} rows/s ({import_s:.1} s) |", rows as f64 / import_s);
    println!("| writing a tagging run, {rows} records, 2 entities each (10k per transaction) | {:.0} records/s |", rows as f64 / tag_write_s);
    println!("| one span annotation (median of 101) | {:.1} ms |", median_ms(saves));
    println!("| accept the run's entities on {} records (metadata year = 2003) in one batch | {batch_s:.2} s |", batch.matched);
    println!("| undo that batch | {undo_s:.2} s |");
    println!("| annotator agreement with span F1 ({} pairs) | {:.2} s |", agreement.span_pairs.len(), agreement_s);
    println!("| entity evaluation of the run, {} records, 200 bootstrap resamples | {evaluate_s:.1} s |", evaluation.n);
    println!("\n| filter (50-row pages) | matching | first page with count | deep page by cursor (median of 7) |\n|---|---|---|---|");
    for (name, (first, ms, total)) in queries {
        println!("| {name} | {total} | {first:.1} ms | {ms:.1} ms |");
    }
}

fn similar_bench(rows: usize) {
    use rand::{Rng, SeedableRng};
    use selectra::analysis::similar::{duplicate_groups, more_like, LshPlan, Vectors, DEFAULT_NEIGHBOURS, NEAR_DUPLICATE_COSINE};
    use selectra::domain::progress::Watch;
    use selectra::store::Target;
    const DIM: usize = 384;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("corpus.csv");
    let db = dir.path().join("similar.db");
    write_csv(&csv, rows);
    let mut store = Store::open(&db).unwrap();
    let options = ImportOptions { name: "bench".into(), id_column: Some("id".into()), label_column: Some("label".into()), ..Default::default() };
    import_file(&mut store, &csv, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let key = EmbeddingKey { corpus: "bench".into(), model: "synthetic".into(), weights_sha256: "0".repeat(64), strip_accents: None };
    let set = store.open_embeddings(&key, DIM).unwrap().id;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let ids: Vec<i64> = (0..rows as u64).map(|r| store.record_id("bench", r + 1).unwrap()).collect();
    let mut recent: Vec<Vec<f32>> = Vec::new();
    let t = Instant::now();
    for chunk in ids.chunks(10_000) {
        let batch: Vec<(i64, Vec<f32>)> = chunk
            .iter()
            .map(|&id| {
                let v: Vec<f32> = if id % 100 == 0 && !recent.is_empty() {
                    // A moved copy: cosine with its source spread over about [0.94, 1].
                    let source = &recent[rng.random_range(0..recent.len())];
                    // Uniform noise of norm `a·sqrt(DIM/12)` on a unit vector: cosine about
                    // 1/sqrt(1 + that²), so norms up to 0.36 give 0.94 to 1.
                    let a = 0.36 * rng.random::<f32>() / (DIM as f32 / 12.0).sqrt();
                    source.iter().map(|x| x + (rng.random::<f32>() - 0.5) * a).collect()
                } else {
                    (0..DIM).map(|_| rng.random::<f32>() - 0.5).collect()
                };
                let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
                let v: Vec<f32> = v.iter().map(|a| a / norm).collect();
                if recent.len() < 1000 {
                    recent.push(v.clone());
                }
                (id, v)
            })
            .collect();
        store.save_embeddings(set, &batch).unwrap();
    }
    store.finish_embeddings(set).unwrap();
    let write_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let vectors = Vectors::load(&store, set).unwrap();
    let load_s = t.elapsed().as_secs_f64();
    let mut like = Vec::new();
    let mut typed = Vec::new();
    for q in 0..21 {
        let id = ids[(q * 7919) % rows];
        let t = Instant::now();
        let found = more_like(&store, &vectors, id, DEFAULT_NEIGHBOURS).unwrap();
        like.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(found.len(), DEFAULT_NEIGHBOURS.min(rows - 1));
        let query: Vec<f32> = (0..DIM).map(|_| rng.random::<f32>() - 0.5).collect();
        let t = Instant::now();
        vectors.nearest(&query, DEFAULT_NEIGHBOURS, None).unwrap();
        typed.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let t = Instant::now();
    let exact = duplicate_groups(&store, "bench", None, None, &mut Watch::none()).unwrap();
    let exact_s = t.elapsed().as_secs_f64();
    // Near-duplicate pairs: hashed (what duplicate groups use above EXACT_PAIRS_UP_TO records)
    // against every pair, at the default threshold.
    let t = Instant::now();
    let hashed = vectors.hashed_pairs(NEAR_DUPLICATE_COSINE, LshPlan::for_threshold(NEAR_DUPLICATE_COSINE), &mut Watch::none()).unwrap();
    let hashed_s = t.elapsed().as_secs_f64();
    let near = (rows <= 100_000).then(|| {
        let t = Instant::now();
        let exact = vectors.pairs_at_least(NEAR_DUPLICATE_COSINE, &mut Watch::none()).unwrap();
        let found = hashed.iter().filter(|p| exact.binary_search_by_key(&(p.0, p.1), |e| (e.0, e.1)).is_ok()).count();
        (t.elapsed().as_secs_f64(), exact.len(), found)
    });
    let t = Instant::now();
    let groups = duplicate_groups(&store, "bench", Some(set), None, &mut Watch::none()).unwrap();
    let groups_s = t.elapsed().as_secs_f64();
    let chosen: Vec<i64> = ids.iter().step_by((rows / 1000).max(1)).copied().take(1000).collect();
    let t = Instant::now();
    let outcome = store.discard("bench", Target::Records(&chosen), "bench").unwrap();
    let discard_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    store.undo_last("bench", "bench").unwrap().unwrap();
    let undo_ms = t.elapsed().as_secs_f64() * 1e3;
    // The corpus map: PCA, then UMAP (exact neighbours), each made and stored; its colours; a
    // lasso over the middle.
    use selectra::analysis::projection::{colours, enclosed, make_map, ColourBy, ProjectionMethod};
    let watch = &mut selectra::domain::progress::Watch::none();
    let t = Instant::now();
    let (_, pca_points) = make_map(&mut store, "bench", set, ProjectionMethod::Pca, 0, watch).unwrap();
    let pca_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (_, again) = make_map(&mut store, "bench", set, ProjectionMethod::Pca, 0, watch).unwrap();
    let stored_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(again, pca_points);
    let t = Instant::now();
    let coloured = colours(&store, "bench", &pca_points, ColourBy::Gold).unwrap();
    let colour_ms = t.elapsed().as_secs_f64() * 1e3;
    let (lo_x, hi_x) = pca_points.x.iter().fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let (lo_y, hi_y) = pca_points.y.iter().fold((f32::MAX, f32::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    let (qx, qy) = (f64::from(hi_x - lo_x) / 4.0, f64::from(hi_y - lo_y) / 4.0);
    let (cx, cy) = (f64::from(lo_x) + 2.0 * qx, f64::from(lo_y) + 2.0 * qy);
    let square = [(cx - qx, cy - qy), (cx + qx, cy - qy), (cx + qx, cy + qy), (cx - qx, cy + qy)];
    let t = Instant::now();
    let inside = enclosed(&pca_points, &square).unwrap();
    let lasso_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    make_map(&mut store, "bench", set, ProjectionMethod::Umap, 0, watch).unwrap();
    let umap_s = t.elapsed().as_secs_f64();
    println!("| similarity, {rows} records × {DIM} numbers | |");
    println!("|---|---|");
    println!("| writing the embedding set | {write_s:.1} s |");
    println!("| loading it into memory | {load_s:.2} s |");
    println!("| more like this (k = {DEFAULT_NEIGHBOURS}, exact), median of 21 | {:.1} ms |", median_ms(like));
    println!("| a typed query's nearest (k = {DEFAULT_NEIGHBOURS}, exact), median of 21 | {:.1} ms |", median_ms(typed));
    println!("| exact duplicate groups (no vectors) | {exact_s:.2} s ({} groups) |", exact.groups.len());
    let plan = LshPlan::for_threshold(NEAR_DUPLICATE_COSINE);
    println!("| near-duplicate pairs by hashing ({} tables of {} bits) | {hashed_s:.1} s ({} pairs) |", plan.tables, plan.bits, hashed.len());
    if let Some((secs, exact, found)) = near {
        println!(
            "| near-duplicate pairs, every pair compared | {secs:.1} s ({exact} pairs; hashing found {found}: recall {:.4}) |",
            found as f64 / exact.max(1) as f64
        );
    }
    println!(
        "| duplicate groups with the set (exact text and near; {}) | {groups_s:.1} s ({} groups) |",
        if groups.exhaustive { "every pair" } else { "hashed" },
        groups.groups.len()
    );
    println!("| discard {} records as one batch | {discard_ms:.0} ms |", outcome.changed);
    println!("| undo it | {undo_ms:.0} ms |");
    println!("| the map by PCA, made and stored | {pca_s:.2} s |");
    println!("| the stored map read back | {stored_ms:.0} ms |");
    println!("| its colours by gold ({} categories) | {colour_ms:.0} ms |", coloured.categories.len());
    println!("| a lasso (the records inside a square) | {lasso_ms:.1} ms ({} records) |", inside.len());
    println!("| the map by UMAP (exact neighbours, {} epochs), made and stored | {umap_s:.1} s |", if rows <= 10_000 { 500 } else { 200 });
    drop(vectors);
    // The search alone at a million vectors, in memory (what a search costs once the set is
    // loaded; writing a million vectors to a project here would measure the disk instead).
    for n in [100_000usize, 1_000_000] {
        let rows = (0..n as i64).map(|id| (id, (0..DIM).map(|_| rng.random::<f32>() - 0.5).collect::<Vec<f32>>()));
        let table = Vectors::new(DIM, rows).unwrap();
        let mut times = Vec::new();
        for _ in 0..21 {
            let query: Vec<f32> = (0..DIM).map(|_| rng.random::<f32>() - 0.5).collect();
            let t = Instant::now();
            table.nearest(&query, DEFAULT_NEIGHBOURS, None).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!("| nearest of {n} × {DIM} in memory (k = {DEFAULT_NEIGHBOURS}, exact), median of 21 | {:.1} ms |", median_ms(times));
    }
}

/// The push's files and the pull's import of them (see the module doc).
fn hub_bench(rows: usize) {
    use selectra::exchange::dataset_files::{write, Destination};
    use selectra::exchange::import::{import_files, Format};
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("corpus.csv");
    write_csv(&csv, rows);
    let mut store = Store::open(&dir.path().join("bench.db")).unwrap();
    // The same columns come back: the pull names them as the push wrote them.
    let options = |name: &str| ImportOptions {
        name: name.into(),
        id_column: Some("id".into()),
        label_column: Some("label".into()),
        metadata_columns: vec!["source".into(), "year".into()],
        ..Default::default()
    };
    let t = Instant::now();
    import_file(&mut store, &csv, &options("bench"), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let import_s = t.elapsed().as_secs_f64();
    for row in (1..=rows as u64).step_by(100) {
        let id = store.record_id("bench", row).unwrap();
        let who = if row % 200 == 1 { "ana" } else { "luis" };
        store.annotate(id, &[LABELS[(row as usize / 100) % LABELS.len()].to_string()], selectra::store::Status::Accepted, who).unwrap();
    }
    let folder = dir.path().join("dataset");
    let facts = selectra::api::hub::card_facts(&store, "bench").unwrap();
    let t = Instant::now();
    let written = write(&store, "bench", &folder, "train", &facts, Destination::Folder).unwrap();
    let write_s = t.elapsed().as_secs_f64();
    let parquet = folder.join(&written.files[0]);
    let mb = std::fs::metadata(&parquet).unwrap().len() as f64 / 1e6;
    let t = Instant::now();
    let outcome =
        import_files(&mut store, &[parquet], Format::Parquet, &options("pulled"), ("bench", None), &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let pull_s = t.elapsed().as_secs_f64();
    assert_eq!(outcome.imported as usize, rows);
    println!("| measurement | value |\n|---|---|");
    println!("| import, {rows} rows (CSV) | {:.0} rows/s ({import_s:.1} s) |", rows as f64 / import_s);
    println!(
        "| a push's files: {rows} records as Parquet ({mb:.1} MB) and the card, with {} annotations | {write_s:.1} s ({:.0} records/s) |",
        rows.div_ceil(100),
        rows as f64 / write_s
    );
    println!(
        "| a pull's import of that file ({rows} rows, label indexes to names, two metadata columns) | {pull_s:.1} s ({:.0} rows/s) |",
        rows as f64 / pull_s
    );
}

fn main() {
    let rows: usize = std::env::args().nth(1).map(|a| a.parse().expect("ROWS is a number")).unwrap_or(1_000_000);
    match std::env::args().nth(2).as_deref() {
        Some("spans") => return spans_bench(rows),
        Some("similar") => return similar_bench(rows),
        Some("hub") => return hub_bench(rows),
        _ => {}
    }
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("corpus.csv");
    let db = dir.path().join("bench.db");
    write_csv(&csv, rows);
    let csv_mb = std::fs::metadata(&csv).unwrap().len() as f64 / 1e6;

    let mut store = Store::open(&db).unwrap();
    let options = ImportOptions {
        name: "bench".into(),
        id_column: Some("id".into()),
        label_column: Some("label".into()),
        metadata_columns: vec!["source".into(), "year".into()],
        ..Default::default()
    };
    let t = Instant::now();
    import_file(&mut store, &csv, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let import_s = t.elapsed().as_secs_f64();

    // Synthetic predictions of two runs through the store's API, in the batches a run writes.
    let mut predict_write_s = 0.0;
    let mut runs = Vec::new();
    for (model, salt) in [("synthetic", 0usize), ("synthetic-b", 3)] {
        let key = RunKey {
            corpus: "bench".into(),
            model: model.into(),
            weights_sha256: "0".repeat(64),
            labels: LABELS.iter().map(|s| s.to_string()).collect(),
            template: "Este ejemplo es {}.".into(),
            multi_label: false,
            strip_accents: None,
            precision: Precision::Exact,
        };
        let run = store.open_run(&key).unwrap();
        let t = Instant::now();
        let mut offset = 0;
        let mut after = 0;
        loop {
            let pending = store.pending_records(run.id, after, 10_000).unwrap();
            let Some((last, _)) = pending.last() else { break };
            after = *last;
            let preds: Vec<PredictionRow> = pending
                .iter()
                .enumerate()
                .map(|(k, (id, _))| {
                    let i = offset + k;
                    let top = 0.3 + 0.6 * ((i * 7919 + salt) % 1000) as f32 / 1000.0;
                    let rest = (1.0 - top) / 3.0;
                    let first = LABELS[(i + salt * (i % 5 == 0) as usize) % LABELS.len()].to_string();
                    let mut labels = vec![first.clone()];
                    labels.extend(LABELS.iter().filter(|l| **l != first).map(|l| l.to_string()));
                    PredictionRow { record_id: *id, labels, scores: vec![top, rest, rest, rest] }
                })
                .collect();
            offset += pending.len();
            store.save_predictions(run.id, model, &[], &preds).unwrap();
        }
        predict_write_s = t.elapsed().as_secs_f64();
        runs.push(run.id);
    }
    let (run, run_b) = (runs[0], runs[1]);
    // One record in a thousand annotated, a third of those by a second annotator as well.
    for i in (0..rows).step_by(rows / 1000 + 1) {
        let id = store.record_id("bench", i as u64 + 1).unwrap();
        store.annotate(id, &[LABELS[(i / 7) % LABELS.len()].into()], selectra::store::Status::Accepted, "bench").unwrap();
        if i % 3 == 0 {
            store.annotate(id, &[LABELS[(i / 5) % LABELS.len()].into()], selectra::store::Status::Accepted, "bench2").unwrap();
        }
    }
    let t = Instant::now();
    let bulk = store
        .annotate_matching(
            "bench",
            &Query { meta: vec![MetaFilter::parse("year=2003").unwrap()], ..Default::default() },
            &["política".into()],
            selectra::store::Status::Accepted,
            "bulk",
        )
        .unwrap();
    let bulk_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    store.undo_last("bench", "bulk").unwrap().unwrap();
    let undo_s = t.elapsed().as_secs_f64();

    let page = |q: Query| page(&store, "bench", q);
    let run_q = |more: Query| Query { run: Some(run), ..more };
    let queries = [
        ("import order", page(Query::default())),
        ("by margin (least confident first)", page(Query { run: Some(run), sort: Sort::Margin, ..Default::default() })),
        (
            "label = política, by entropy",
            page(Query { run: Some(run), predicted_label: Some("política".into()), sort: Sort::Entropy, ..Default::default() }),
        ),
        (
            "score 0.4-0.6, unannotated, by score",
            page(Query {
                run: Some(run),
                min_score: Some(0.4),
                max_score: Some(0.6),
                status: Some(StatusFilter::Unannotated),
                sort: Sort::ScoreDesc,
                ..Default::default()
            }),
        ),
        ("seeded shuffle", page(Query { sort: Sort::Random(42), ..Default::default() })),
        ("full-text \"banco ministro\"", page(Query { text: Some("banco ministro".into()), ..Default::default() })),
        ("gold = cultura", page(Query { gold: Some("cultura".into()), ..Default::default() })),
        ("status accepted", page(Query { status: Some(StatusFilter::Is(selectra::store::Status::Accepted)), ..Default::default() })),
        ("annotator bench2", page(Query { annotator: Some("bench2".into()), ..Default::default() })),
        ("margin 0.1-0.3, by margin", page(run_q(Query { min_margin: Some(0.1), max_margin: Some(0.3), sort: Sort::Margin, ..Default::default() }))),
        ("two runs disagree", page(Query { disagree: Some(Disagreement::Runs(run, run_b)), ..Default::default() })),
        ("run vs annotation", page(Query { disagree: Some(Disagreement::RunAnnotation(run)), ..Default::default() })),
        ("run vs gold", page(Query { disagree: Some(Disagreement::RunGold(run_b)), ..Default::default() })),
        ("annotators disagree", page(Query { disagree: Some(Disagreement::Annotators), ..Default::default() })),
        ("metadata source = radio", page(Query { meta: vec![MetaFilter::parse("source=radio").unwrap()], ..Default::default() })),
        ("metadata year 2010..2012", page(Query { meta: vec![MetaFilter::parse("year=2010..2012").unwrap()], ..Default::default() })),
        ("metadata source contains \"ADI\"", page(Query { meta: vec![MetaFilter::parse("source~ADI").unwrap()], ..Default::default() })),
        ("metadata source starts with \"pr\"", page(Query { meta: vec![MetaFilter::parse("source^=pr").unwrap()], ..Default::default() })),
        (
            "sample of 1000 (seed 7), by margin",
            page(run_q(Query { sample: Some(Sample { size: 1000, seed: 7 }), sort: Sort::Margin, ..Default::default() })),
        ),
        (
            "combined: predicted política, unannotated, source = web, by entropy",
            page(run_q(Query {
                predicted_label: Some("política".into()),
                status: Some(StatusFilter::Unannotated),
                meta: vec![MetaFilter::parse("source=web").unwrap()],
                sort: Sort::Entropy,
                ..Default::default()
            })),
        ),
    ];

    // What the app reads beside the pages: the counts a head could learn from, the metadata
    // keys and a key's values (all, and those containing a text), a view's remembered settings.
    let timed = |work: &dyn Fn()| -> f64 {
        let t = Instant::now();
        work();
        t.elapsed().as_secs_f64() * 1e3
    };
    let helpers = [
        (
            "label sources (annotations and gold, records and kinds)",
            timed(&|| {
                std::hint::black_box(store.label_sources("bench").unwrap());
            }),
        ),
        (
            "metadata keys",
            timed(&|| {
                std::hint::black_box(store.metadata_keys("bench").unwrap());
            }),
        ),
        (
            "metadata values of source (top 8)",
            timed(&|| {
                std::hint::black_box(store.metadata_values("bench", "source", None, 8).unwrap());
            }),
        ),
        (
            "metadata values of source containing \"ad\"",
            timed(&|| {
                std::hint::black_box(store.metadata_values("bench", "source", Some("ad"), 8).unwrap());
            }),
        ),
        (
            "a view's remembered settings (read)",
            timed(&|| {
                std::hint::black_box(store.front_end_setting("ui.bench").unwrap());
            }),
        ),
    ];

    // Labeling while an import writes to the same project: annotations on one connection, the
    // same CSV imported again on another; every annotate's wait for the write lock is recorded.
    let importer = {
        let (db, csv) = (db.clone(), csv.clone());
        std::thread::spawn(move || {
            let mut store = Store::open(&db).unwrap();
            let options = ImportOptions { name: "bench-again".into(), ..Default::default() };
            import_file(&mut store, &csv, &options, &mut |_| {}, &AtomicBool::new(false)).unwrap();
        })
    };
    let mut waits = Vec::new();
    let mut i = 0u64;
    while !importer.is_finished() {
        let id = store.record_id("bench", 1 + (i * 7919) % rows as u64).unwrap();
        let t = Instant::now();
        store.annotate(id, &["cultura".into()], selectra::store::Status::Accepted, "bench").unwrap();
        waits.push(t.elapsed().as_secs_f64() * 1e3);
        i += 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    importer.join().unwrap();
    waits.sort_by(f64::total_cmp);
    let wait_p50 = waits[waits.len() / 2];
    let wait_p99 = waits[(waits.len() * 99 / 100).min(waits.len() - 1)];
    let wait_max = *waits.last().unwrap();

    // Run overhead against the raw classifier, same texts, same batch size.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/nli-electra-entail0");
    let model = Model::load(fixture.to_str().unwrap(), &LoadOptions::default(), Arc::new(Silent)).unwrap();
    let task = ZeroShotTask::new(LABELS[..3].iter().map(|s| s.to_string()).collect(), "Este ejemplo es {}.", false).unwrap();
    let n = 2000;
    let small_csv = dir.path().join("small.csv");
    write_csv(&small_csv, n);
    let small_db = dir.path().join("small.db");
    let mut small = Store::open(&small_db).unwrap();
    import_file(&mut small, &small_csv, &ImportOptions { name: "s".into(), ..Default::default() }, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let texts: Vec<String> = (0..n).map(text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut classifier = ZeroShotClassifier::new(&model).unwrap();
    classifier.max_batch_pairs = 16 * 3;
    let t = Instant::now();
    for chunk in refs.chunks(16) {
        classifier.classify_batch(chunk, &task).unwrap();
    }
    let raw_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    selectra::jobs::corpus_run::run_zeroshot(&mut small, &model, "s", &task, None, None, 16, &mut |_| {}, &AtomicBool::new(false)).unwrap();
    let run_s = t.elapsed().as_secs_f64();

    // A scan of every record (a token per word) and an embedding set, written through the
    // store's API in 10k-record transactions, then the export in each format and the deletion.
    let scan = store
        .open_scan(&ScanKey { corpus: "bench".into(), model: "synthetic-scan".into(), weights_sha256: "1".repeat(64), strip_accents: None })
        .unwrap();
    let embeddings = store
        .open_embeddings(
            &EmbeddingKey { corpus: "bench".into(), model: "synthetic".into(), weights_sha256: "2".repeat(64), strip_accents: None },
            EMBEDDING_DIM,
        )
        .unwrap();
    let mut after = 0;
    loop {
        let pending = store.pending_scan_records(scan.id, after, 10_000).unwrap();
        let Some((last, _)) = pending.last() else { break };
        after = *last;
        let results: Vec<(i64, RecordScan)> = pending.iter().map(|(id, text)| (*id, synthetic_scan(*id, text))).collect();
        store.save_scan_results(scan.id, &results).unwrap();
        let vectors: Vec<(i64, Vec<f32>)> = pending.iter().map(|(id, _)| (*id, unit_vector(*id))).collect();
        store.save_embeddings(embeddings.id, &vectors).unwrap();
    }
    let mut exports = Vec::new();
    for (name, format) in [("JSONL", ExportFormat::Jsonl), ("CSV", ExportFormat::Csv), ("Parquet", ExportFormat::Parquet)] {
        let options = ExportOptions { raw_csv: false, embeddings: (format != ExportFormat::Csv).then_some(embeddings.id) };
        let mut out = Counted(0);
        let t = Instant::now();
        let n = export(&store, "bench", format, &options, &mut out, &mut selectra::domain::progress::Watch::none()).unwrap();
        exports.push((name, n, t.elapsed().as_secs_f64(), out.0 as f64 / 1e6, options.embeddings.is_some()));
    }
    let size_before_delete = std::fs::metadata(&db).unwrap().len() as f64 / 1e6;
    let t = Instant::now();
    let deleted = store.delete_corpus("bench").unwrap();
    let delete_s = t.elapsed().as_secs_f64();

    println!("| measurement | value |\n|---|---|");
    println!("| import, {rows} rows ({csv_mb:.0} MB CSV) | {:.0} rows/s ({import_s:.1} s) |", rows as f64 / import_s);
    println!("| writing {rows} predictions (10k per transaction) | {:.0} rows/s |", rows as f64 / predict_write_s);
    println!(
        "| zero-shot run vs raw classifier, {n} texts x 3 labels, tiny model | {run_s:.2} s vs {raw_s:.2} s ({:+.0}% overhead) |",
        (run_s / raw_s - 1.0) * 100.0
    );
    println!(
        "| labeling during an import of {rows} rows: wait per annotation ({} annotations) | median {wait_p50:.1} ms, p99 {wait_p99:.1} ms, max {wait_max:.1} ms |",
        waits.len()
    );
    println!("| database size (two corpora, before the deletion) | {size_before_delete:.0} MB |");
    for (name, n, seconds, mb, with_embeddings) in &exports {
        let what = if *with_embeddings { "two runs, a scan, annotations, embeddings" } else { "two runs, a scan, annotations" };
        println!("| export {name}, {n} records ({what}) | {seconds:.1} s ({:.0} records/s, {mb:.1} MB) |", *n as f64 / seconds);
    }
    println!("| delete the corpus ({deleted} records with their predictions, scan, embeddings, annotations) | {delete_s:.1} s |");
    println!("\n| filter (50-row pages) | matching | first page with count | deep page by cursor (median of 7) |\n|---|---|---|---|");
    for (name, (first, ms, total)) in queries {
        println!("| {name} | {total} | {first:.1} ms | {ms:.1} ms |");
    }
    println!("\n| read | time |\n|---|---|");
    for (name, ms) in helpers {
        println!("| {name} | {ms:.1} ms |");
    }
    println!(
        "\n| bulk action | time |\n|---|---|\n| label {} records (metadata year = 2003) in one batch | {bulk_s:.2} s |\n| undo that batch | {undo_s:.2} s |",
        bulk.matched
    );
}
