//! Our side of the speed benchmark against PyTorch transformers. `bench/speed.py` drives it (one
//! process per measurement) and compares with transformers in the same run; see docs/benchmarks.md.
//!
//!     speed_bench inspect  MODEL_DIR REPEATS TEXT           -> latency of one inspect call
//!     speed_bench zeroshot MODEL_DIR TEXTS_JSON LABELS [PRECISION]
//!                                                           -> throughput over the texts (exact
//!                                                              f32, or bf16: the fast mode)
//!     speed_bench scan     MODEL_DIR TEXTS_JSON             -> records/s of a corpus scan (in
//!                                                              the scan job's batches)
//!     speed_bench gemm     M K N [M K N ...]                -> GFLOP/s of (M x K) @ (K x N): our
//!                                                              dense layer (exact), candle's f32
//!                                                              matmul and its int8 (Q8_0) kernels
//!     speed_bench smoke                                     -> all of the above on a fixture model
//!
//! Each prints one JSON object on stdout. Thread count: candle's CPU kernels use
//! `RAYON_NUM_THREADS` (default: every core); the driver sets it to PyTorch's thread count.

use std::time::Instant;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use selectra::domain::precision::Precision;
use selectra::domain::task::{ZeroShotTask, DEFAULT_TEMPLATE};
use selectra::engine::hub::Silent;
use selectra::engine::inspect;
use selectra::engine::zeroshot::ZeroShotClassifier;
use selectra::{LoadOptions, Model};
use serde_json::json;

fn load(dir: &str) -> Model {
    let mut options = LoadOptions::default();
    options.hub.offline = true;
    Model::load(dir, &options, std::sync::Arc::new(Silent)).unwrap_or_else(|e| panic!("{dir}: {e}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench_inspect(dir: &str, repeats: usize, text: &str) -> serde_json::Value {
    let model = load(dir);
    let first = inspect::inspect(&model, text).unwrap();
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        std::hint::black_box(inspect::inspect(&model, text).unwrap());
        times.push(t.elapsed().as_secs_f64());
    }
    json!({
        "tokens": first.tokens.len(),
        "median_s": median(times),
        "logits": first.tokens.iter().map(|t| t.logit).collect::<Vec<_>>(),
    })
}

fn bench_zeroshot(dir: &str, texts_file: &str, labels: &str, precision: Precision) -> serde_json::Value {
    let model = load(dir);
    let texts: Vec<String> = serde_json::from_str(&std::fs::read_to_string(texts_file).unwrap()).unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let task = ZeroShotTask::new(ZeroShotTask::parse_labels(labels), DEFAULT_TEMPLATE, false).unwrap();
    let mut classifier = ZeroShotClassifier::new(&model).unwrap();
    classifier.precision = precision;
    // For trying other batch budgets without a rebuild.
    if let Some(tokens) = std::env::var("SPEED_BENCH_MAX_BATCH_TOKENS").ok().and_then(|v| v.parse().ok()) {
        classifier.max_batch_tokens = Some(tokens);
    }
    // Warm-up on a few texts (allocator, thread pool), as the Python side warms up too.
    classifier.classify_batch(&refs[..refs.len().min(4)], &task).unwrap();
    let t = Instant::now();
    let results = classifier.classify_batch(&refs, &task).unwrap();
    let seconds = t.elapsed().as_secs_f64();
    json!({
        "seconds": seconds,
        "precision": precision,
        "kernel": selectra::engine::model::fast_mode_kernel(),
        "exact_kernel": selectra::engine::model::exact_kernel(),
        "why_not_amx": selectra::engine::model::why_not_amx(),
        "texts_per_s": texts.len() as f64 / seconds,
        "results": results.iter().map(|r| json!({"labels": r.labels, "scores": r.scores})).collect::<Vec<_>>(),
    })
}

/// A corpus scan's computation over the texts (every token's P(replaced), long texts in
/// windows), as `selectra scan` batches it: records per second, and the probabilities for the
/// harness to compare with transformers' ElectraForPreTraining.
fn bench_scan(dir: &str, texts_file: &str) -> serde_json::Value {
    let model = load(dir);
    let texts: Vec<String> = serde_json::from_str(&std::fs::read_to_string(texts_file).unwrap()).unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let scanner = selectra::engine::scan::Scanner::new(&model).unwrap();
    scanner.scan(&refs[..refs.len().min(4)]).unwrap();
    let t = Instant::now();
    // A scan job's batches: the records in corpus order, so many at a time.
    let batch = selectra::jobs::corpus_run::SCAN_BATCH_RECORDS;
    let results: Vec<_> = refs.chunks(batch).flat_map(|c| scanner.scan(c).unwrap()).collect();
    let seconds = t.elapsed().as_secs_f64();
    json!({
        "seconds": seconds,
        "records_per_s": texts.len() as f64 / seconds,
        "probabilities": results.iter().map(|r| r.tokens.iter().map(|t| t.probability).collect::<Vec<_>>()).collect::<Vec<_>>(),
    })
}

fn bench_gemm(shapes: &[usize]) -> serde_json::Value {
    let mut out = Vec::new();
    for s in shapes.chunks(3) {
        let (m, k, n) = (s[0], s[1], s[2]);
        let a = Tensor::randn(0f32, 1.0, (m, k), &Device::Cpu).unwrap();
        let b = Tensor::randn(0f32, 1.0, (k, n), &Device::Cpu).unwrap();
        // As a Linear layer multiplies: by the transpose of an (n, k) weight.
        let w = Tensor::randn(0f32, 1.0, (n, k), &Device::Cpu).unwrap();
        let time = |f: &dyn Fn() -> Tensor| {
            f();
            let mut times = Vec::new();
            for _ in 0..7 {
                let t = Instant::now();
                std::hint::black_box(f());
                times.push(t.elapsed().as_secs_f64());
            }
            2.0 * (m * k * n) as f64 / median(times) / 1e9
        };
        let gflops = time(&|| a.matmul(&b).unwrap());
        let gflops_wt = time(&|| a.matmul(&w.t().unwrap()).unwrap());
        // What the model's dense layers run: our layer on this machine's exact kernel.
        let dense = selectra::engine::model::dense_layer_seconds(m, k, n, Precision::Exact).unwrap();
        let gflops_dense = 2.0 * (m * k * n) as f64 / dense / 1e9;
        // The reduced-precision ceiling a fast mode would build on: candle's own int8 kernels
        // (GGML Q8_0 blocks of 32 weights, activations quantized on the fly), and how far from
        // the f32 product they land.
        let q8 = (k % 32 == 0).then(|| {
            let q = QMatMul::from_qtensor(QTensor::quantize(&w, GgmlDType::Q8_0).unwrap()).unwrap();
            let exact = a.matmul(&w.t().unwrap()).unwrap();
            let approx = q.forward(&a).unwrap();
            let scale = exact.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            let err = (approx - &exact).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap() / scale;
            (time(&|| q.forward(&a).unwrap()), err)
        });
        out.push(json!({"m": m, "k": k, "n": n, "gflops": gflops, "gflops_weight_t": gflops_wt, "gflops_dense": gflops_dense,
                        "gflops_q8_0": q8.map(|q| q.0), "q8_0_max_rel_err": q8.map(|q| q.1)}));
    }
    json!(out)
}

fn main() {
    // As the CLI and the app run.
    selectra::engine::model::workers::keep_candle_pool_idle();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.first().map(String::as_str) {
        Some("inspect") => bench_inspect(&args[1], args[2].parse().unwrap(), &args[3]),
        Some("zeroshot") => bench_zeroshot(&args[1], &args[2], &args[3], args.get(4).map_or(Precision::Exact, |p| Precision::parse(p).unwrap())),
        Some("scan") => bench_scan(&args[1], &args[2]),
        Some("gemm") => bench_gemm(&args[1..].iter().map(|a| a.parse().unwrap()).collect::<Vec<usize>>()),
        Some("smoke") => {
            // Seconds-long: every measurement once on the tiny fixture models (CI runs this).
            let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/models");
            let texts = std::env::temp_dir().join(format!("speed-smoke-{}.json", std::process::id()));
            std::fs::write(&texts, serde_json::to_string(&["El equipo ganó el partido.", "Suben los precios del pan y del aceite."]).unwrap())
                .unwrap();
            let out = json!({
                "inspect": bench_inspect(&format!("{fixtures}/disc-vocab-bin"), 3, "Estamos desayunando pan rosa con tomate."),
                "zeroshot": bench_zeroshot(&format!("{fixtures}/nli-electra-entail0"), texts.to_str().unwrap(), "deportes,economía", Precision::Exact),
                "scan": bench_scan(&format!("{fixtures}/disc-vocab-bin"), texts.to_str().unwrap()),
                "gemm": bench_gemm(&[64, 32, 96]),
            });
            std::fs::remove_file(&texts).ok();
            out
        }
        _ => {
            eprintln!("usage: speed_bench inspect|zeroshot|scan|gemm|smoke ... (see the file's header)");
            std::process::exit(2);
        }
    };
    println!("{out}");
}
