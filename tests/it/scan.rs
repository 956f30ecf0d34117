//! Scanning whole records with the discriminator: per-token parity with transformers for records
//! that fit the model, the window rule for records several times its length, and batching that
//! changes nothing.

use std::sync::Arc;

use crate::common::selectra;
use crate::common::*;
use selectra::engine::hub::Silent;
use selectra::engine::scan::{choose_window, Scanner};
use selectra::{LoadOptions, Model};
use serde_json::Value;

fn load(name: &str) -> Model {
    Model::load(model_dir(name).to_str().unwrap(), &LoadOptions::default(), Arc::new(Silent)).unwrap()
}

/// Every untruncated inspect case of every discriminator, scanned together in one call, equals
/// what transformers computed for it alone (strings and offsets exactly, probabilities to 1e-4).
#[test]
fn records_that_fit_the_model_match_transformers() {
    let mut checked = 0;
    for (name, expected) in expected_files() {
        if expected["architecture"] != "ElectraForPreTraining" {
            continue;
        }
        let cases: Vec<&Value> = expected["inspect"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["strip_accents"].is_null() && c["truncated"] == false && !c["text"].as_str().unwrap().trim().is_empty())
            .collect();
        let model = load(&name);
        let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
        let scans = Scanner::new(&model).unwrap().scan(&texts).unwrap();
        for (case, scan) in cases.iter().zip(&scans) {
            let context = format!("{name} on {:?}", case["text"]);
            let want = case["output"]["tokens"].as_array().unwrap();
            assert_eq!(scan.windows, 1, "{context}");
            assert_eq!(scan.tokens.len(), want.len(), "{context}");
            for (got, want) in scan.tokens.iter().zip(want) {
                assert_eq!(got.token, want["token"].as_str().unwrap(), "{context}");
                assert_eq!((got.start as u64, got.end as u64), (want["start"].as_u64().unwrap(), want["end"].as_u64().unwrap()), "{context}");
                close(&context, got.probability as f64, want["probability"].as_f64().unwrap());
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} cases checked");
}

/// A record five times the model's length is cut into overlapping windows. Every character is
/// scored; each token's score is its chosen window's, computed here by running that window alone;
/// the tokens the first window scores equal `inspect` (which reads the first window only); and
/// the summaries are the words' maximum, count over the threshold, and mean.
#[test]
fn long_records_are_scored_in_windows_every_character_once() {
    let model = load("disc-vocab-bin");
    let sentence = "El perro come carne y la casa es azul, pero el niño prefiere la canción del mercado. ";
    let text = sentence.repeat(12);
    let windows = model.tokenizer.windows(&text).unwrap();
    assert!(windows.windows.len() >= 5, "{} windows", windows.windows.len());
    let scan = &Scanner::new(&model).unwrap().scan(&[&text]).unwrap()[0];
    assert_eq!(scan.windows, windows.windows.len());
    assert_eq!(scan.tokens.len(), windows.tokens.len());

    // Every character that is not whitespace lies in a token's span.
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if !c.is_whitespace() {
            assert!(scan.tokens.iter().any(|t| t.start <= i && i < t.end), "character {i} ({c:?}) is not scored");
        }
    }

    // Each token's probability is its window's, run alone.
    let starts: Vec<usize> = windows.windows.iter().map(|(s, _)| *s).collect();
    let alone: Vec<Vec<f32>> =
        windows.windows.iter().map(|(_, w)| model.forward(&model.batch(&[w]).unwrap()).unwrap().to_vec2::<f32>().unwrap().remove(0)).collect();
    for (i, (token, &p)) in scan.tokens.iter().zip(&windows.positions).enumerate() {
        let k = choose_window(p, &starts, windows.width);
        let expected = 1.0 / (1.0 + (-alone[k][1 + p - starts[k]]).exp());
        assert!((token.probability - expected).abs() < 1e-5, "token {i} ({}) from window {k}", token.token);
        let margin = (p - starts[k]).min(starts[k] + windows.width - 1 - p);
        for (j, &s) in starts.iter().enumerate() {
            if s <= p && p < s + windows.width {
                assert!((p - s).min(s + windows.width - 1 - p) <= margin, "token {i}: window {j} keeps it farther from an edge than {k}");
            }
        }
    }

    // The first window is what inspect scores (it cuts the text at the model's length).
    let inspected = selectra::engine::inspect::inspect(&model, &text).unwrap();
    assert!(inspected.truncated);
    let mut compared = 0;
    for ((token, &p), reference) in scan.tokens.iter().zip(&windows.positions).zip(&inspected.tokens) {
        if choose_window(p, &starts, windows.width) == 0 {
            assert_eq!((token.start, token.end), (reference.start, reference.end));
            close("first window", token.probability as f64, reference.probability as f64);
            compared += 1;
        }
    }
    assert!(compared > 10, "{compared}");

    // The summaries, recomputed here from the tokens and the tokenizer's word ids.
    let mut words: Vec<f32> = Vec::new();
    for (i, (token, t)) in scan.tokens.iter().zip(&windows.tokens).enumerate() {
        if i > 0 && t.word.is_some() && t.word == windows.tokens[i - 1].word {
            let last = words.last_mut().unwrap();
            *last = last.max(token.probability);
        } else {
            words.push(token.probability);
        }
    }
    assert_eq!(scan.suspicion, words.iter().copied().fold(f32::MIN, f32::max));
    assert_eq!(scan.flagged as usize, words.iter().filter(|&&p| p >= 0.5).count());
    assert!((scan.mean - words.iter().sum::<f32>() / words.len() as f32).abs() < 1e-6);
}

/// Long and short records scanned together give exactly what each gives alone (bit for bit),
/// under any batch budget: a record's result never depends on its batch.
#[test]
fn batching_does_not_change_a_records_scan() {
    let model = load("disc-project-tokjson");
    let long = "La casa es azul y el perro come carne en la plaza. ".repeat(8);
    let texts = ["Hola.", long.as_str(), "El perro come carne y la casa es azul.", "¿Qué tal?"];
    let alone: Vec<_> = texts.iter().map(|t| Scanner::new(&model).unwrap().scan(&[t]).unwrap().remove(0)).collect();
    for (rows, tokens) in [(64, None), (64, Some(2048)), (2, Some(200)), (1, Some(1))] {
        let mut scanner = Scanner::new(&model).unwrap();
        scanner.max_batch_rows = rows;
        scanner.max_batch_tokens = tokens;
        for (together, alone) in scanner.scan(&texts).unwrap().iter().zip(&alone) {
            assert_eq!(together, alone, "batch ({rows} rows, {tokens:?} tokens)");
        }
    }
    let nli = load("nli-electra-entail0");
    assert!(Scanner::new(&nli).err().unwrap().to_string().contains("discriminator"));
}

fn ok_json(args: &[&str]) -> Value {
    let out = selectra(args);
    assert!(out.status.success(), "selectra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A corpus of `n` records, every seventh several times the model's length.
fn corpus(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let words =
        ["el", "gobierno", "sube", "los", "precios", "del", "mercado", "y", "equipo", "ganó", "partido", "música", "ciudad", "niño", "canción"];
    let mut csv = String::from("id,text\n");
    for i in 0..n {
        let len = if i % 7 == 0 { 160 } else { 4 + i % 13 };
        let text: Vec<&str> = (0..len).map(|j| words[(i * 31 + j * 7) % words.len()]).collect();
        csv.push_str(&format!("r{i},{}\n", text.join(" ")));
    }
    let path = dir.join("c.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn export_lines(db: &std::path::Path) -> Vec<Value> {
    let out = selectra(&["export", "--db", db.to_str().unwrap(), "--corpus", "c", "--format", "jsonl"]);
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// `selectra scan` killed with SIGKILL at random points resumes to exactly the uninterrupted
/// result, each record scanned once; the exported tokens reproduce the stored summaries, and a
/// record that fits the model carries exactly what `inspect` computes for it.
#[test]
fn scans_resume_after_sigkill_and_export_consistent_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let file = corpus(dir.path(), 120);
    let model = model_dir("disc-vocab-bin");
    let fresh_db = |name: &str| {
        let db = dir.path().join(name);
        let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--id-column", "id", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        db
    };
    let scan_args = |db: &std::path::Path| -> Vec<String> {
        ["scan", "--db", db.to_str().unwrap(), "--corpus", "c", "--model", model.to_str().unwrap(), "--batch-size", "4"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let reference = fresh_db("reference.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_selectra")).args(scan_args(&reference)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected = export_lines(&reference);
    assert_eq!(expected.len(), 120);

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 % 100;
    println!("kill points from seed {seed}");
    let mut killed = 0;
    for trial in 0..3u64 {
        let db = fresh_db(&format!("trial{trial}.db"));
        let target = (seed * 7 + trial * 37) % 100 + 1;
        killed += usize::from(kill_then_resume(&scan_args(&db), &db, "SELECT COUNT(*) FROM scan_result", target));
        let got = export_lines(&db);
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g["scans"].as_array().unwrap().len(), 1, "trial {trial}: record {} scanned twice or never", g["id"]);
            assert_eq!(g, e, "trial {trial} (killed at >= {target} records): record {} differs", g["id"]);
        }
    }
    assert!(killed >= 2, "only {killed} of 3 trials were killed before finishing");

    // The exported tokens reproduce the summaries: words are a token and its "##" pieces.
    let mut flagged_somewhere = 0;
    for line in &expected {
        let scan = &line["scans"][0];
        let mut words: Vec<f64> = Vec::new();
        for t in scan["tokens"].as_array().unwrap() {
            let p = t["probability"].as_f64().unwrap();
            match words.last_mut() {
                Some(w) if t["token"].as_str().unwrap().starts_with("##") => *w = w.max(p),
                _ => words.push(p),
            }
        }
        let suspicion = words.iter().copied().fold(0.0, f64::max);
        assert!((scan["suspicion"].as_f64().unwrap() - suspicion).abs() < 1e-6, "{line}");
        assert_eq!(scan["flagged"].as_u64().unwrap() as usize, words.iter().filter(|&&p| p >= 0.5).count(), "{line}");
        flagged_somewhere += (scan["flagged"].as_u64().unwrap() > 0) as usize;
    }
    assert!(flagged_somewhere > 0, "the fixture flags nothing: the word checks below would be empty");
    // A record that fits the model: exactly inspect's tokens.
    for line in expected.iter().filter(|l| l["text"].as_str().unwrap().split(' ').count() < 12).take(3) {
        let inspected = ok_json(&["inspect", "--model", model.to_str().unwrap(), "--json", line["text"].as_str().unwrap()]);
        let (got, want) = (line["scans"][0]["tokens"].as_array().unwrap(), inspected["tokens"].as_array().unwrap());
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!((&g["token"], &g["start"], &g["end"]), (&w["token"], &w["start"], &w["end"]));
            close("scan vs inspect", g["probability"].as_f64().unwrap(), w["probability"].as_f64().unwrap());
        }
    }

    // `scans` lists it complete; `suspicious` ranks records by suspicion and counts word forms as
    // the export does.
    let db = reference.to_str().unwrap();
    let scans = ok_json(&["scans", "--db", db, "--json"]);
    assert_eq!((scans[0]["scanned"].as_u64(), scans[0]["records"].as_u64(), scans[0]["finished_at"].is_string()), (Some(120), Some(120), true));
    let top = ok_json(&["suspicious", "--db", db, "--corpus", "c", "--limit", "5", "--json"]);
    let top = top.as_array().unwrap();
    assert_eq!(top.len(), 5);
    let mut all: Vec<f64> = expected.iter().map(|l| l["scans"][0]["suspicion"].as_f64().unwrap()).collect();
    all.sort_by(|a, b| b.total_cmp(a));
    for (record, best) in top.iter().zip(&all) {
        assert!((record["suspicion"].as_f64().unwrap() - best).abs() < 1e-6);
        assert_eq!(record["spans"].as_array().unwrap().len() as u64, record["flagged"].as_u64().unwrap());
    }
    let words = ok_json(&["suspicious", "--db", db, "--corpus", "c", "--words", "--limit", "1000", "--json"]);
    let mut counts: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for line in &expected {
        let text: Vec<char> = line["text"].as_str().unwrap().chars().collect();
        let tokens = line["scans"][0]["tokens"].as_array().unwrap();
        let mut word: Option<(usize, usize, f64)> = None;
        let mut finish = |w: Option<(usize, usize, f64)>| {
            if let Some((s, e, _)) = w.filter(|w| w.2 >= 0.5) {
                *counts.entry(text[s..e].iter().collect()).or_default() += 1;
            }
        };
        for t in tokens {
            let (s, e, p) = (t["start"].as_u64().unwrap() as usize, t["end"].as_u64().unwrap() as usize, t["probability"].as_f64().unwrap());
            match word.as_mut() {
                Some(w) if t["token"].as_str().unwrap().starts_with("##") => {
                    w.1 = e;
                    w.2 = w.2.max(p);
                }
                _ => {
                    finish(word.take());
                    word = Some((s, e, p));
                }
            }
        }
        finish(word);
    }
    let listed: std::collections::HashMap<String, u64> =
        words.as_array().unwrap().iter().map(|w| (w["word"].as_str().unwrap().to_string(), w["count"].as_u64().unwrap())).collect();
    assert_eq!(listed, counts);

    // Parquet nests each record's scans as the JSONL does, token by token.
    let parquet_path = dir.path().join("c.parquet");
    let out = selectra(&["export", "--db", db, "--corpus", "c", "--format", "parquet", "--output", parquet_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&parquet_path).unwrap()).unwrap().build().unwrap();
    let mut row = 0;
    for batch in reader {
        use arrow_array::{Array, Float32Array, Int64Array, ListArray, StringArray, StructArray};
        let batch = batch.unwrap();
        let scans = batch.column_by_name("scans").unwrap().as_any().downcast_ref::<ListArray>().unwrap();
        for i in 0..batch.num_rows() {
            let want = &expected[row]["scans"][0];
            let record = scans.value(i);
            let record = record.as_any().downcast_ref::<StructArray>().unwrap();
            assert_eq!(record.len(), 1);
            let suspicion = record.column_by_name("suspicion").unwrap().as_any().downcast_ref::<Float32Array>().unwrap().value(0);
            assert!((f64::from(suspicion) - want["suspicion"].as_f64().unwrap()).abs() < 1e-6);
            let flagged = record.column_by_name("flagged").unwrap().as_any().downcast_ref::<Int64Array>().unwrap().value(0);
            assert_eq!(flagged as u64, want["flagged"].as_u64().unwrap());
            let tokens = record.column_by_name("tokens").unwrap().as_any().downcast_ref::<ListArray>().unwrap().value(0);
            let tokens = tokens.as_any().downcast_ref::<StructArray>().unwrap();
            let strings = tokens.column_by_name("token").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
            let starts = tokens.column_by_name("start").unwrap().as_any().downcast_ref::<Int64Array>().unwrap();
            let probabilities = tokens.column_by_name("probability").unwrap().as_any().downcast_ref::<Float32Array>().unwrap();
            let want_tokens = want["tokens"].as_array().unwrap();
            assert_eq!(tokens.len(), want_tokens.len());
            for (k, t) in want_tokens.iter().enumerate() {
                assert_eq!(strings.value(k), t["token"].as_str().unwrap());
                assert_eq!(starts.value(k) as u64, t["start"].as_u64().unwrap());
                assert!((f64::from(probabilities.value(k)) - t["probability"].as_f64().unwrap()).abs() < 1e-6);
            }
            row += 1;
        }
    }
    assert_eq!(row, expected.len());

    // CSV exports carry each scan's summaries.
    let out = selectra(&["export", "--db", db, "--corpus", "c", "--format", "csv"]);
    let header = String::from_utf8(out.stdout).unwrap().lines().next().unwrap().to_string();
    assert!(header.ends_with("scan1_suspicion,scan1_flagged"), "{header}");
}

/// Labeling queries order by a scan's suspicion and filter on it; the count and order agree with
/// the stored results, and asking for either without a scan says so.
#[test]
fn queries_order_and_filter_by_suspicion() {
    use selectra::store::{Query, Sort, Store};
    let dir = tempfile::tempdir().unwrap();
    let file = corpus(dir.path(), 40);
    let db = dir.path().join("p.db");
    let mut store = Store::open(&db).unwrap();
    let options = selectra::exchange::import::ImportOptions { name: "c".into(), id_column: Some("id".into()), ..Default::default() };
    selectra::exchange::import::import_file(&mut store, &file, &options, &mut |_| {}, &std::sync::atomic::AtomicBool::new(false)).unwrap();
    let model = load("disc-vocab-bin");
    let summary =
        selectra::jobs::corpus_run::run_scan(&mut store, &model, "c", None, 8, &mut |_| {}, &std::sync::atomic::AtomicBool::new(false)).unwrap();
    let scan = summary.scan.id;
    let all = store.suspicious_records(scan, 1000).unwrap();
    let page = store.query("c", &Query { scan: Some(scan), sort: Sort::SuspicionDesc, limit: 100, ..Default::default() }).unwrap();
    assert_eq!(page.total, Some(40));
    let order: Vec<i64> = page.rows.iter().map(|r| r.record_id).collect();
    assert_eq!(order, all.iter().map(|r| r.record_id).collect::<Vec<_>>(), "the same ranking as the scan's own list");
    for (row, record) in page.rows.iter().zip(&all) {
        assert!((row.suspicion.unwrap() - f64::from(record.suspicion)).abs() < 1e-6);
    }
    let threshold = f64::from(selectra::domain::rtd::REPLACED_THRESHOLD);
    let flagged = store.query("c", &Query { scan: Some(scan), min_suspicion: Some(threshold), limit: 100, ..Default::default() }).unwrap();
    assert_eq!(flagged.total.unwrap() as usize, all.iter().filter(|r| f64::from(r.suspicion) >= threshold).count());
    assert!(flagged.rows.iter().all(|r| r.suspicion.unwrap() >= threshold));
    let e = store.query("c", &Query { sort: Sort::SuspicionDesc, limit: 10, ..Default::default() }).unwrap_err().to_string();
    assert!(e.contains("needs a scan"), "{e}");
}

/// A scanned corpus's report has a data-quality section: the suspicion chart, the flagged word
/// forms and the top records with their flagged words marked; record text stays text.
#[test]
fn reports_show_data_quality_when_a_scan_exists() {
    use scraper::{Html, Selector};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.csv");
    let mut csv = String::from("text\n");
    for i in 0..12 {
        csv.push_str(&format!("\"<script>alert({i})</script> el perro come carne y la casa es azul {i}\"\n"));
    }
    std::fs::write(&file, csv).unwrap();
    let db = dir.path().join("p.db");
    let db_arg = db.to_str().unwrap();
    assert!(selectra(&["corpus", "import", "--db", db_arg, "--name", "c", file.to_str().unwrap()]).status.success());
    let model = model_dir("disc-project-tokjson");
    assert!(selectra(&["scan", "--db", db_arg, "--corpus", "c", "--model", model.to_str().unwrap()]).status.success());
    let out = dir.path().join("report");
    let status = selectra(&["report", "--db", db_arg, "--corpus", "c", "--output", out.to_str().unwrap()]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let doc = Html::parse_document(&html);
    assert_eq!(doc.select(&Selector::parse("script").unwrap()).count(), 0, "record text became markup");
    assert!(html.contains("Data quality of corpus") && html.contains("Word forms flagged most often"));
    assert!(out.join("figures").join("scan-1-suspicion.svg").is_file());
    let marks = doc.select(&Selector::parse("mark").unwrap()).count();
    let words = ok_json(&["suspicious", "--db", db_arg, "--corpus", "c", "--limit", "10", "--json"]);
    let spans: usize = words.as_array().unwrap().iter().map(|r| r["spans"].as_array().unwrap().len()).sum();
    assert_eq!(marks, spans, "one mark per flagged word of the top records");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["data_quality"]["scan"]["scanned"], 12);
}

/// Two discriminators over one corpus: agreement and kappa on their flagged words (matched by
/// character span) equal a count made here from the JSONL export, disagreements are records
/// where one flags a word the other does not, and a scan agrees with itself completely.
#[test]
fn two_scans_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let file = corpus(dir.path(), 30);
    let db = dir.path().join("p.db");
    let db_arg = db.to_str().unwrap();
    assert!(selectra(&["corpus", "import", "--db", db_arg, "--name", "c", "--id-column", "id", file.to_str().unwrap()]).status.success());
    for model in ["disc-vocab-bin", "disc-lower-gelunew"] {
        let out = selectra(&["scan", "--db", db_arg, "--corpus", "c", "--model", model_dir(model).to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let c = ok_json(&["suspicious", "--db", db_arg, "--corpus", "c", "--scan", "1", "--compare", "2", "--limit", "100", "--json"]);

    // The same from the export: each scan's words (a token and its "##" pieces) by span.
    let words_of = |tokens: &Vec<Value>| -> std::collections::HashMap<(u64, u64), bool> {
        let mut words: Vec<(u64, u64, f64)> = Vec::new();
        for t in tokens {
            let (s, e, p) = (t["start"].as_u64().unwrap(), t["end"].as_u64().unwrap(), t["probability"].as_f64().unwrap());
            match words.last_mut() {
                Some(w) if t["token"].as_str().unwrap().starts_with("##") => {
                    w.1 = e;
                    w.2 = w.2.max(p);
                }
                _ => words.push((s, e, p)),
            }
        }
        words.into_iter().map(|(s, e, p)| ((s, e), p >= 0.5)).collect()
    };
    let (mut n, mut fa, mut fb, mut both, mut disagreeing) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for line in export_lines(&db) {
        let scans = line["scans"].as_array().unwrap();
        let (a, b) = (words_of(scans[0]["tokens"].as_array().unwrap()), words_of(scans[1]["tokens"].as_array().unwrap()));
        let mut differs = false;
        for (span, flag_a) in &a {
            if let Some(flag_b) = b.get(span) {
                n += 1;
                fa += *flag_a as u64;
                fb += *flag_b as u64;
                both += (*flag_a && *flag_b) as u64;
                differs |= flag_a != flag_b;
            }
        }
        disagreeing += differs as u64;
    }
    assert_eq!((c["records"].as_u64(), c["words"].as_u64()), (Some(30), Some(n)));
    assert_eq!((c["flagged_by_a"].as_u64(), c["flagged_by_b"].as_u64(), c["flagged_by_both"].as_u64()), (Some(fa), Some(fb), Some(both)));
    let (n, fa, fb, both) = (n as f64, fa as f64, fb as f64, both as f64);
    let observed = (both + (n - fa - fb + both)) / n;
    assert!((c["agreement"].as_f64().unwrap() - observed).abs() < 1e-12);
    let expected = (fa * fb + (n - fa) * (n - fb)) / (n * n);
    if expected < 1.0 {
        assert!((c["kappa"].as_f64().unwrap() - (observed - expected) / (1.0 - expected)).abs() < 1e-12);
    } else {
        assert!(c["kappa"].is_null(), "kappa is undefined when both scans flag everything or nothing: {c}");
    }
    // These two fixtures must disagree somewhere, or the checks above prove little.
    assert!(disagreeing > 0 && fa != fb, "the fixtures agree everywhere: {c}");
    assert_eq!(c["disagreements"].as_array().unwrap().len() as u64, disagreeing);
    for d in c["disagreements"].as_array().unwrap() {
        assert!(!d["only_a"].as_array().unwrap().is_empty() || !d["only_b"].as_array().unwrap().is_empty());
    }

    let itself = ok_json(&["suspicious", "--db", db_arg, "--corpus", "c", "--scan", "1", "--compare", "1", "--json"]);
    assert_eq!(itself["agreement"].as_f64(), Some(1.0));
    assert!(itself["disagreements"].as_array().unwrap().is_empty());
}
