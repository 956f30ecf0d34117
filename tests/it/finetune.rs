//! Fine-tuning: one training step and three optimizer steps equal PyTorch's on the fixture
//! sequence and token classifiers (`tests/fixtures/finetune/make.py`: loss 1e-5, every gradient
//! and every weight after the steps 1e-4 relative; spans aligned to tokens as transformers'
//! examples align them); a fine-tune on a corpus's labels learns what zero-shot cannot, one on
//! its spans tags held-out records, a killed one resumes to the same weights, and the folders
//! load and run like any model.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{Device, Tensor};
use selectra::engine::finetune::{decays, AdamW, HeadKind, OptimizerSettings, Trainable};
use selectra::engine::model::Model;
use serde_json::Value;

use crate::common::*;

fn fixture() -> PathBuf {
    fixtures().join("finetune")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture().join("expected.json")).unwrap()).unwrap()
}

fn load(name: &str) -> Model {
    Model::load(model_dir(name).to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap()
}

/// `‖a − b‖ ≤ tol · ‖b‖ + 1e-6`: the floor is float32 rounding of gradients that are zero in exact
/// arithmetic (the key biases': softmax ignores a constant added to a row), about 3e-7 here.
fn check_tensor(what: &str, a: &Tensor, b: &Tensor, tol: f64) {
    let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let b: Vec<f32> = b.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(a.len(), b.len(), "{what}: sizes");
    let diff = a.iter().zip(&b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>().sqrt();
    let norm = b.iter().map(|y| f64::from(*y).powi(2)).sum::<f64>().sqrt();
    assert!(diff <= tol * norm + 1e-6, "{what}: ‖a − b‖ = {diff:e}, ‖b‖ = {norm:e}");
}

/// A tensor against the fixture's sum and L2 norm of it.
fn check_summary(what: &str, a: &Tensor, expected: &Value, tol: f64) {
    let v: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let sum: f64 = v.iter().map(|x| f64::from(*x)).sum();
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let (e_sum, e_norm) = (expected["sum"].as_f64().unwrap(), expected["norm"].as_f64().unwrap());
    // The floor as in `check_tensor`.
    assert!((norm - e_norm).abs() <= tol * e_norm + 1e-6, "{what}: norm {norm} vs {e_norm}");
    // A sum can be near zero: it is compared on the scale of the values.
    assert!((sum - e_sum).abs() <= tol * e_norm * (v.len() as f64).sqrt() + 1e-6, "{what}: sum {sum} vs {e_sum}");
}

fn check_loss(what: &str, loss: &Tensor, expected: f64, tol: f64) {
    let loss = f64::from(loss.to_scalar::<f32>().unwrap());
    assert!((loss - expected).abs() <= tol * expected.abs().max(1.0), "{what}: loss {loss} vs {expected}");
}

#[test]
fn training_steps_equal_pytorch() {
    let expected = expected();
    let settings = |steps: u64| OptimizerSettings {
        learning_rate: expected["lr"].as_f64().unwrap(),
        weight_decay: expected["weight_decay"].as_f64().unwrap(),
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        max_grad_norm: expected["max_grad_norm"].as_f64().unwrap(),
        warmup_steps: expected["warmup_steps"].as_u64().unwrap(),
        total_steps: steps,
    };
    for case in expected["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let base = load(case["model"].as_str().unwrap());
        let kind = if case["tokens"] == true {
            HeadKind::Token
        } else if case["multi_label"] == true {
            HeadKind::MultiLabel
        } else {
            HeadKind::Sequence
        };
        let trainable = Trainable::load(&base.files, &base.config.id2label, kind, 0).unwrap();
        assert_eq!(trainable.head, selectra::engine::finetune::HeadSource::Kept, "{name}: the classifier keeps its own head");
        // The batch, tokenized by our tokenizer: the same ids as transformers'.
        let texts: Vec<&str> = case["texts"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        let pairs: Option<Vec<&str>> = case["pairs"].as_array().map(|p| p.iter().map(|t| t.as_str().unwrap()).collect());
        let encoded: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| match &pairs {
                Some(p) => base.tokenizer.encode_text_pair(t, p[i]).unwrap(),
                None => base.tokenizer.encode_single(t).unwrap(),
            })
            .collect();
        let input = base.batch(&encoded.iter().collect::<Vec<_>>()).unwrap();
        let ids: Vec<Vec<u32>> = input.input_ids.to_vec2().unwrap();
        let expected_ids: Vec<Vec<u32>> = serde_json::from_value(case["input_ids"].clone()).unwrap();
        assert_eq!(ids, expected_ids, "{name}: token ids");
        // A sequence classifier's label per text, a multi-label one's 0/1 row; a tagger's per
        // token (-100: none), which our alignment of the texts' spans to their tokens gives too.
        let labels: Vec<i64> = match kind {
            HeadKind::Sequence => serde_json::from_value(case["labels"].clone()).unwrap(),
            HeadKind::MultiLabel => serde_json::from_value::<Vec<Vec<i64>>>(case["labels"].clone()).unwrap().concat(),
            HeadKind::Token => {
                let rows: Vec<Vec<i64>> = serde_json::from_value(case["labels"].clone()).unwrap();
                let spans: Vec<Vec<(usize, usize, String)>> = serde_json::from_value(case["spans"].clone()).unwrap();
                for ((row, spans), encoded) in rows.iter().zip(&spans).zip(&encoded) {
                    let spans: Vec<selectra::domain::spans::Span> = spans
                        .iter()
                        .map(|(start, end, label)| selectra::domain::spans::Span { start: *start, end: *end, label: label.clone() })
                        .collect();
                    let ours: Vec<i64> = selectra::jobs::finetune::token_targets(encoded, &spans, &base.config.id2label)
                        .iter()
                        .map(|t| t.map_or(-100, i64::from))
                        .collect();
                    assert_eq!(ours, row[..ours.len()], "{name}: the tags aligned to the tokens of {spans:?}");
                    assert!(row[ours.len()..].iter().all(|&l| l == -100), "{name}: padding has no tag");
                }
                rows.concat()
            }
        };
        let loss_of = |logits: &Tensor| match kind {
            HeadKind::Sequence => Trainable::loss(logits, &labels.iter().map(|&l| l as u32).collect::<Vec<_>>()),
            HeadKind::MultiLabel => Trainable::multi_label_loss(logits, &labels.iter().map(|&l| l as f32).collect::<Vec<_>>()),
            HeadKind::Token => Trainable::token_loss(logits, &labels.iter().map(|&l| u32::try_from(l).ok()).collect::<Vec<_>>()),
        };

        // The first step: loss and every gradient.
        let loss = loss_of(&trainable.logits(&input, None).unwrap()).unwrap();
        check_loss(name, &loss, case["first_loss"].as_f64().unwrap(), 1e-5);
        let grads = trainable.gradients(&loss).unwrap();
        let names: Vec<&str> = trainable.parameters().iter().map(|(n, _)| n.as_str()).collect();
        let expected_names: Vec<&String> = case["gradients"].as_object().unwrap().keys().collect();
        assert_eq!(names.len(), expected_names.len(), "{name}: parameters {names:?} vs {expected_names:?}");
        let whole: Option<HashMap<String, Tensor>> = fixture()
            .join(format!("{name}_grads.safetensors"))
            .is_file()
            .then(|| candle_core::safetensors::load(fixture().join(format!("{name}_grads.safetensors")), &Device::Cpu).unwrap());
        for (i, n) in names.iter().enumerate() {
            match &whole {
                Some(w) => check_tensor(&format!("{name}: gradient of {n}"), &grads[i], &w[*n], 1e-4),
                None => check_summary(&format!("{name}: gradient of {n}"), &grads[i], &case["gradients"][*n], 1e-4),
            }
        }
        // The Trainer's groups: no decay on biases and LayerNorm weights.
        let no_decay: Vec<String> = serde_json::from_value(case["no_decay"].clone()).unwrap();
        let mut ours: Vec<String> = names.iter().filter(|n| !decays(n)).map(|n| n.to_string()).collect();
        ours.sort();
        assert_eq!(ours, no_decay, "{name}: parameters without weight decay");

        // Three optimizer steps from the same start.
        let trainable = Trainable::load(&base.files, &base.config.id2label, kind, 0).unwrap();
        let steps = expected["steps"].as_u64().unwrap();
        let mut optimizer = AdamW::new(&trainable, settings(steps)).unwrap();
        for (k, expected_loss) in case["losses"].as_array().unwrap().iter().enumerate() {
            let lr = optimizer.learning_rate(k as u64);
            assert!((lr - case["learning_rates"][k].as_f64().unwrap()).abs() < 1e-12, "{name}: learning rate of step {k}");
            let loss = loss_of(&trainable.logits(&input, None).unwrap()).unwrap();
            // The first loss is the model's; later ones also carry the noisy entries' steps.
            let tol = if k == 0 { 1e-5 } else { 1e-4 };
            check_loss(&format!("{name} step {k}"), &loss, expected_loss.as_f64().unwrap(), tol);
            let grads = trainable.gradients(&loss).unwrap();
            optimizer.step(&trainable, &grads).unwrap();
        }
        let whole: Option<HashMap<String, Tensor>> = fixture()
            .join(format!("{name}_weights.safetensors"))
            .is_file()
            .then(|| candle_core::safetensors::load(fixture().join(format!("{name}_weights.safetensors")), &Device::Cpu).unwrap());
        // Entries whose first gradient float32 rounding dominates (the generator's `noisy`: the
        // key biases, whose exact gradient is zero, and a few more) take Adam steps of arbitrary
        // sign in any implementation; the weights are compared without them, and they are few.
        let noisy: HashMap<String, Vec<usize>> = serde_json::from_value(case["noisy"].clone()).unwrap();
        let total: usize = trainable.parameters().iter().map(|(_, v)| v.elem_count()).sum();
        assert!(noisy.values().map(Vec::len).sum::<usize>() * 100 < total, "{name}: too many noisy entries for a meaningful test");
        let without = |t: &Tensor, n: &str| {
            let mut v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            for &i in noisy.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                v[i] = 0.0;
            }
            Tensor::from_vec(v, t.elem_count(), &Device::Cpu).unwrap()
        };
        // Saved, the model is what `from_pretrained` loads: the class, and exactly the tensors of
        // its state dict (names and shapes), here with the weights PyTorch's steps reach.
        let saved = tempfile::tempdir().unwrap();
        trainable.save(saved.path()).unwrap();
        let config: Value = serde_json::from_str(&std::fs::read_to_string(saved.path().join("config.json")).unwrap()).unwrap();
        assert_eq!(config["architectures"][0], case["class"], "{name}: the saved architecture");
        assert_eq!(config["id2label"].as_object().unwrap().len(), base.config.id2label.len(), "{name}: the saved labels");
        let problem = match kind {
            HeadKind::Sequence => Some("single_label_classification"),
            HeadKind::MultiLabel => Some("multi_label_classification"),
            HeadKind::Token => None,
        };
        assert_eq!(config["problem_type"].as_str(), problem, "{name}: the saved problem type");
        let tensors = candle_core::safetensors::load(saved.path().join("model.safetensors"), &Device::Cpu).unwrap();
        let shapes: std::collections::BTreeMap<String, Vec<usize>> = tensors.iter().map(|(n, t)| (n.clone(), t.dims().to_vec())).collect();
        let expected_shapes: std::collections::BTreeMap<String, Vec<usize>> = serde_json::from_value(case["state_dict"].clone()).unwrap();
        assert_eq!(shapes, expected_shapes, "{name}: the saved tensors against transformers' state dict");
        for (n, var) in trainable.parameters() {
            let ours = without(var.as_tensor(), n);
            match &whole {
                Some(w) => check_tensor(&format!("{name}: {n} after {steps} steps"), &ours, &without(&w[n], n), 1e-4),
                None => check_summary(&format!("{name}: {n} after {steps} steps"), &ours, &case["weights"][n], 1e-4),
            }
        }
    }
}

/// A project `p.db` in `dir` whose corpus "c" is a topic corpus made of the fixture vocabulary's
/// whole words: each record two words of its topic among shared filler words, in a seeded
/// order, its topic as gold. With `multi`, every other record also has two words of the next
/// topic, and both topics as gold ("deportes|economía").
fn topic_project(dir: &std::path::Path, per_label: usize, multi: bool) -> PathBuf {
    use rand::seq::{IndexedRandom, SliceRandom};
    use rand::SeedableRng;
    let topics: [(&str, &[&str]); 3] = [
        ("deportes", &["fútbol", "equipo", "jugador", "partido", "ganó", "madrid", "barcelona"]),
        ("economía", &["banco", "mercado", "precio", "precios", "subida", "empresa", "economía"]),
        ("política", &["gobierno", "ministro", "presidente", "elecciones", "política", "españa"]),
    ];
    let filler = ["el", "la", "de", "en", "ayer", "muy", "un", "una", "que", "por", "con", "para", "los", "las"];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut csv = String::from("text,label\n");
    for i in 0..per_label * 3 {
        let (mut label, words) = (topics[i % 3].0.to_string(), topics[i % 3].1);
        let mut chosen: Vec<&str> = words.choose_multiple(&mut rng, 2).copied().collect();
        if multi && i % 2 == 1 {
            let (other, words) = topics[(i + 1) % 3];
            chosen.extend(words.choose_multiple(&mut rng, 2).copied());
            label = format!("{label}|{other}");
        }
        chosen.extend(filler.choose_multiple(&mut rng, 4).copied());
        chosen.shuffle(&mut rng);
        csv.push_str(&format!("{},{label}\n", chosen.join(" ")));
    }
    let file = dir.join("temas.csv");
    std::fs::write(&file, csv).unwrap();
    let db = dir.join("p.db");
    let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--label-column", "label", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    db
}

/// `selectra finetune` of `disc-vocab-bin` on corpus "c" for `epochs` at a learning rate a tiny
/// random model learns from (the Trainer's 5e-5 suits pre-trained models).
fn finetune_args(db: &std::path::Path, output: &std::path::Path, epochs: u32, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "finetune",
        "--db",
        db.to_str().unwrap(),
        "--corpus",
        "c",
        "--model",
        model_dir("disc-vocab-bin").to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let epochs = epochs.to_string();
    // A held-out share, unless the test cross-validates (folds replace it).
    let share: &[&str] = if extra.contains(&"--folds") { &[] } else { &["--validation-share", "0.2"] };
    args.extend(["--epochs", epochs.as_str(), "--lr", "0.005", "--batch-size", "8"].iter().chain(share).chain(&["--json"]).map(|s| s.to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A discriminator fine-tuned on a topic corpus (a new head) classifies its held-out records far
/// better than a zero-shot run does on the same records; the folder loads as a classifier.
#[test]
fn a_fine_tuned_discriminator_beats_zero_shot_on_held_out_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = topic_project(dir.path(), 30, false);
    let output = dir.path().join("modelo");
    let args = finetune_args(&db, &output, 12, &[]);
    let summary = selectra_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!((summary["n_train"].as_u64(), summary["n_validation"].as_u64()), (Some(72), Some(18)));
    assert_eq!(summary["new_head"], true);
    assert_eq!(summary["epochs"].as_array().unwrap().len(), 12);
    let losses: Vec<f64> = summary["epochs"].as_array().unwrap().iter().map(|e| e["train_loss"].as_f64().unwrap()).collect();
    assert!(losses.last().unwrap() < &(losses[0] * 0.5), "the training loss falls: {losses:?}");
    let tuned_run = summary["run"].as_i64().unwrap();

    let zeroshot = selectra_json(&[
        "run",
        "--db",
        db.to_str().unwrap(),
        "--corpus",
        "c",
        "--model",
        model_dir("nli-electra-entail0").to_str().unwrap(),
        "--labels",
        "deportes,economía,política",
        "--json",
    ]);
    let zeroshot_run = zeroshot["run"]["id"].as_i64().unwrap();
    let store = selectra::store::Store::open_existing(&db).unwrap();
    let evaluation = selectra::analysis::evaluate::evaluate(&store, "c", &[tuned_run, zeroshot_run], &Default::default()).unwrap();
    let metrics = |i: usize| match &evaluation.runs[i].metrics {
        selectra::analysis::evaluate::RunMetrics::SingleLabel(m) => (m.n, m.macro_f1.value),
        _ => panic!("single-label"),
    };
    assert_eq!(metrics(0).0, 18, "compared on the held-out records only");
    let (tuned, zero) = (metrics(0).1, metrics(1).1);
    assert!(tuned >= 0.8 && tuned > zero + 0.2, "fine-tuned macro F1 {tuned:.3} vs zero-shot {zero:.3}");
    // The folder is a classifier over the corpus's labels, like any model.
    let classified = selectra_json(&["classify", "--model", output.to_str().unwrap(), "--json", "el jugador del equipo ganó el partido"]);
    assert_eq!(classified["labels"][0], "deportes", "{classified}");
    // The identical command finds the finished model instead of training again.
    let again = selectra_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(again["steps"], summary["steps"]);
    // Another fine-tune never overwrites it.
    let other = finetune_args(&db, &output, 12, &["--seed", "1"]);
    let refused = selectra(&other.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("holds another fine-tuned model"));
}

/// Killed after its first checkpoint, the identical command goes on from it to the same weights
/// an uninterrupted fine-tune reaches.
#[test]
fn a_killed_fine_tune_resumes_to_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let db = topic_project(dir.path(), 20, false);
    // Enough epochs that the process is still training when its first checkpoint appears.
    let whole = dir.path().join("whole");
    let args = finetune_args(&db, &whole, 40, &[]);
    selectra_json(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let killed = dir.path().join("killed");
    let args = finetune_args(&db, &killed, 40, &[]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_selectra"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let state = killed.join("checkpoint").join("state.json");
    while !state.is_file() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().ok();
    let was_killed = !child.wait().unwrap().success();
    assert!(was_killed, "the fine-tune finished before it could be killed: the corpus is too small for this test");
    let summary = selectra_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(summary["resumed_from_step"].as_u64().is_some_and(|s| s > 0), "{summary}");
    let a = candle_core::safetensors::load(whole.join("model.safetensors"), &Device::Cpu).unwrap();
    let b = candle_core::safetensors::load(killed.join("model.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(a.len(), b.len());
    for (name, t) in &a {
        let (x, y): (Vec<f32>, Vec<f32>) = (t.flatten_all().unwrap().to_vec1().unwrap(), b[name].flatten_all().unwrap().to_vec1().unwrap());
        assert!(x == y, "{name} differs after the resume");
    }
}

/// A project `p.db` in `dir` whose corpus "c" holds sentences of the fixture vocabulary's words
/// with entity spans (JSON lines): people's roles (PER) and places (LOC) in seeded templates, a
/// record without entities now and then.
fn entity_project(dir: &std::path::Path, records: usize) -> PathBuf {
    use rand::seq::IndexedRandom;
    use rand::SeedableRng;
    let people = ["presidente", "ministro", "jugador", "niño", "niña"];
    let places = ["madrid", "barcelona", "españa", "tokio"];
    let templates = ["el {P} come en {L}", "ayer el {P} ganó en {L}", "en {L} la casa del {P}", "{L} para el {P} con un perro", "la casa muy bonito"];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut lines = String::new();
    for _ in 0..records {
        let template = *templates.choose(&mut rng).unwrap();
        let (person, place) = (*people.choose(&mut rng).unwrap(), *places.choose(&mut rng).unwrap());
        let text = template.replace("{P}", person).replace("{L}", place);
        let mut spans = Vec::new();
        for (word, label) in [(person, "PER"), (place, "LOC")] {
            if let Some(byte) = template.replace("{P}", "\u{1}").replace("{L}", "\u{2}").find(if label == "PER" { '\u{1}' } else { '\u{2}' }) {
                // The character offset of the placeholder in the filled text.
                let before = &template.replace("{P}", "\u{1}").replace("{L}", "\u{2}")[..byte];
                let start: usize = before
                    .chars()
                    .map(|c| {
                        if c == '\u{1}' {
                            person.chars().count()
                        } else if c == '\u{2}' {
                            place.chars().count()
                        } else {
                            1
                        }
                    })
                    .sum();
                spans.push(serde_json::json!({"start": start, "end": start + word.chars().count(), "label": label}));
            }
        }
        lines.push_str(&serde_json::json!({"text": text, "entities": spans}).to_string());
        lines.push('\n');
    }
    let file = dir.join("entidades.jsonl");
    std::fs::write(&file, lines).unwrap();
    let db = dir.join("p.db");
    let out = selectra(&["corpus", "import", "--db", db.to_str().unwrap(), "--name", "c", "--spans-column", "entities", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    db
}

/// A discriminator fine-tuned on a corpus of entity spans (chosen because the corpus has spans
/// and no labels) becomes a token classifier over the spans' IOB2 tags: its epochs are scored by
/// entity F1, its tagging run of the held-out records scores well against their spans in
/// Compare's entity evaluation, and the folder tags text like any tagger.
#[test]
fn a_discriminator_fine_tuned_on_spans_tags_held_out_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = entity_project(dir.path(), 100);
    let output = dir.path().join("etiquetador");
    let args = finetune_args(&db, &output, 10, &[]);
    let summary = selectra_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(summary["target"], "spans", "{summary}");
    assert_eq!(summary["labels"], serde_json::json!(["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]));
    assert_eq!((summary["n_train"].as_u64(), summary["n_validation"].as_u64()), (Some(80), Some(20)));
    let epochs = summary["epochs"].as_array().unwrap();
    assert!(epochs.iter().all(|e| e["validation_macro_f1"].is_null() && e["validation_entity_f1"].is_f64()), "{summary}");
    let last = epochs.last().unwrap()["validation_entity_f1"].as_f64().unwrap();
    let first = epochs[0]["validation_entity_f1"].as_f64().unwrap();
    assert!(last >= 0.9 && last > first, "held-out entity F1 by epoch: {:?}", epochs.iter().map(|e| &e["validation_entity_f1"]).collect::<Vec<_>>());

    // The tagging run of the held-out records, scored against their spans.
    let run = summary["run"].as_i64().unwrap();
    let store = selectra::store::Store::open_existing(&db).unwrap();
    let evaluation = selectra::analysis::tagging::evaluate_taggers(&store, "c", &[run], &Default::default()).unwrap();
    assert_eq!(evaluation.n, 20, "scored on the held-out records only");
    let f1 = evaluation.runs[0].scores[0].report.micro.f1;
    assert!(f1 >= 0.9, "the tagger's entity F1 on the held-out records: {f1:.3}");
    // The folder is a token classifier over those tags.
    let config: Value = serde_json::from_str(&std::fs::read_to_string(output.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"], serde_json::json!(["ElectraForTokenClassification"]));
    assert!(config.get("problem_type").is_none_or(Value::is_null));
    let tagged = selectra_json(&["tag", "--model", output.to_str().unwrap(), "--aggregation", "simple", "--json", "ayer el ministro ganó en tokio"]);
    let found: Vec<(String, String)> = tagged["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["entity_group"].as_str().unwrap_or_default().to_string(), e["word"].as_str().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(found, [("PER".to_string(), "ministro".to_string()), ("LOC".to_string(), "tokio".to_string())], "{tagged}");

    // Cross-validated in 2 folds: two taggers, and one tagging run of every record by the tagger
    // that held it out, which Compare scores on all 100.
    let args = finetune_args(&db, &dir.path().join("cv"), 10, &["--folds", "2"]);
    let summary = selectra_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(summary["folds"].as_array().unwrap().len(), 2);
    assert!(summary["folds"].as_array().unwrap().iter().all(|f| f["n_validation"] == 50 && f["target"] == "spans"));
    let run = summary["run"].as_i64().unwrap();
    let evaluation = selectra::analysis::tagging::evaluate_taggers(&store, "c", &[run], &Default::default()).unwrap();
    assert_eq!(evaluation.n, 100, "every record tagged out of fold");
    let f1 = evaluation.runs[0].scores[0].report.micro.f1;
    assert!(f1 >= 0.85, "the out-of-fold entity F1: {f1:.3}");
}

/// A corpus whose records may have two topics is fine-tuned as a multi-label classifier (each
/// label a yes or no): held-out subset accuracy and macro F1 per epoch, a multi-label run that
/// Compare scores as one, and a folder transformers reads as multi-label.
#[test]
fn a_multi_label_corpus_fine_tunes_a_multi_label_classifier() {
    let dir = tempfile::tempdir().unwrap();
    let db = topic_project(dir.path(), 30, true);
    let output = dir.path().join("multi");
    // Binary cross-entropy on each label moves a new head more slowly than softmax: more epochs.
    let args = finetune_args(&db, &output, 30, &[]);
    let summary = selectra_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(summary["labels"], serde_json::json!(["deportes", "economía", "política"]), "{summary}");
    let last = summary["epochs"].as_array().unwrap().last().unwrap().clone();
    assert!(last["validation_macro_f1"].as_f64().unwrap() >= 0.8, "{last}");
    let store = selectra::store::Store::open_existing(&db).unwrap();
    let run = summary["run"].as_i64().unwrap();
    let evaluation = selectra::analysis::evaluate::evaluate(&store, "c", &[run], &Default::default()).unwrap();
    match &evaluation.runs[0].metrics {
        selectra::analysis::evaluate::RunMetrics::MultiLabel(m) => {
            assert_eq!(m.n, summary["n_validation"].as_u64().unwrap(), "scored on the held-out records");
            assert!(m.micro_f1.value >= 0.8, "held-out micro F1 {}", m.micro_f1.value);
        }
        _ => panic!("a multi-label run"),
    }
    let config: Value = serde_json::from_str(&std::fs::read_to_string(output.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["problem_type"], "multi_label_classification");
    // Its scores are each label's sigmoid: both topics of a two-topic text are above one half.
    let classified = selectra_json(&["classify", "--model", output.to_str().unwrap(), "--json", "el jugador del equipo y el banco del mercado"]);
    let score = |label: &str| {
        let i = classified["labels"].as_array().unwrap().iter().position(|l| l == label).unwrap();
        classified["scores"][i].as_f64().unwrap()
    };
    assert!(score("deportes") > 0.5 && score("economía") > 0.5 && score("política") < 0.5, "{classified}");
}

/// Cross-validated in 3 folds: three models, each trained on two folds, and one out-of-fold run
/// in which every labeled record is predicted once, by the model of the fold that held it out
/// (its scores are that model's, loaded from its folder, and each model predicts exactly its
/// fold's share); the summary's epochs are the folds' means. Run again after one fold's folder
/// is lost, it trains that fold alone and reaches the same predictions.
#[test]
fn cross_validation_predicts_every_record_with_the_model_that_held_it_out() {
    use selectra::engine::classify::{TextClassifier, TextInput};
    let dir = tempfile::tempdir().unwrap();
    let db = topic_project(dir.path(), 10, false);
    let output = dir.path().join("cv");
    let args = finetune_args(&db, &output, 3, &["--folds", "3"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let summary = selectra_json(&args);
    let folds = summary["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    let held: Vec<u64> = folds.iter().map(|f| f["n_validation"].as_u64().unwrap()).collect();
    assert_eq!(held, [10, 10, 10], "stratified folds of 30 records");
    assert!(folds.iter().all(|f| f["n_train"] == 20), "each model trains on the other folds");
    assert_eq!(summary["n_validation"], 30);
    assert_eq!(summary["steps"].as_u64(), Some(folds.iter().map(|f| f["steps"].as_u64().unwrap()).sum()));
    for e in 0..3 {
        let of_folds: Vec<f64> = folds.iter().map(|f| f["epochs"][e]["validation_macro_f1"].as_f64().unwrap()).collect();
        let mean = summary["epochs"][e]["validation_macro_f1"].as_f64().unwrap();
        assert!((mean - of_folds.iter().sum::<f64>() / 3.0).abs() < 1e-12, "epoch {e}: {mean} vs {of_folds:?}");
        assert!(folds.iter().enumerate().all(|(i, f)| f["epochs"][e]["fold"] == i as u64 + 1));
    }

    let run = summary["run"].as_i64().unwrap();
    let store = selectra::store::Store::open_existing(&db).unwrap();
    let classifiers: Vec<_> = (1..=3)
        .map(|i| {
            let folder = output.join(format!("fold-{i}"));
            assert_eq!(folds[i - 1]["output"], folder.to_str().unwrap());
            selectra::Model::load(folder.to_str().unwrap(), &Default::default(), std::sync::Arc::new(selectra::engine::hub::Silent)).unwrap()
        })
        .collect();
    let classifiers: Vec<TextClassifier> = classifiers.iter().map(|m| TextClassifier::new(m).unwrap()).collect();
    let page = store.query("c", &selectra::store::Query { limit: 100, ..Default::default() }).unwrap();
    assert_eq!(page.rows.len(), 30);
    let mut predicted_by = [0u64; 3];
    let mut stored_scores = Vec::new();
    for row in &page.rows {
        let stored = store.prediction(run, row.record_id).unwrap().expect("every labeled record is in the out-of-fold run");
        let matching: Vec<usize> = (0..3)
            .filter(|&i| {
                let fresh = classifiers[i].classify(TextInput { text: &row.text, pair: None }).unwrap();
                fresh.labels == stored.labels && fresh.scores.iter().zip(&stored.scores).all(|(a, b)| (a - b).abs() < 1e-4)
            })
            .collect();
        assert_eq!(matching.len(), 1, "{}: the scores of exactly one fold's model", row.text);
        predicted_by[matching[0]] += 1;
        stored_scores.push(stored.scores);
    }
    assert_eq!(predicted_by.to_vec(), held, "each model predicts its fold's held-out records");

    // One fold lost (its folder and the finished summary): the same command trains that fold
    // again and keeps the others.
    std::fs::remove_dir_all(output.join("fold-2")).unwrap();
    std::fs::remove_file(output.join("finetune.json")).unwrap();
    let again = selectra_json(&args);
    let kept = folds[0]["steps"].as_u64().unwrap() + folds[2]["steps"].as_u64().unwrap();
    assert_eq!(again["resumed_from_step"].as_u64(), Some(kept), "{again}");
    // Trained again with the same seed, the fold has the same weights: the run's key (which
    // holds the folds' weight hashes) is the same, and its predictions are kept.
    assert_eq!(again["run"], summary["run"], "{again}");
    for (row, before) in page.rows.iter().zip(&stored_scores) {
        assert_eq!(&store.prediction(run, row.record_id).unwrap().unwrap().scores, before);
    }
    // Folds with early stopping are refused with the reason.
    let refused = finetune_args(&db, &dir.path().join("other"), 3, &["--folds", "3", "--patience", "1"]);
    let refused = selectra(&refused.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("choose folds or early stopping"));
    // A validation share beside folds would go unused: refused by the command line.
    let both = finetune_args(&db, &dir.path().join("other"), 3, &["--folds", "3", "--validation-share", "0.3"]);
    let both = selectra(&both.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert!(!both.status.success() && stderr.contains("--validation-share") && stderr.contains("--folds"), "{stderr}");
}

/// Folders `selectra finetune` wrote, which transformers loaded (`tests/fixtures/finetune/exported/`:
/// a classifier and a tagger, each with `transformers.json`, its pipeline's outputs on a few
/// texts, written by `check_export.py --golden` after it checked ours against them): our
/// pipelines on those folders give transformers' outputs (1e-4), and a fine-tune today writes
/// the same folder: the same files, config.json and tensors (names, shapes, dtypes; the values
/// depend on the machine's summation order). `UPDATE_EXPORT_FIXTURES=1` writes today's folders
/// there instead, for `check_export.py --golden` to load in transformers.
#[test]
fn folders_we_write_load_in_transformers_with_our_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let exported = fixture().join("exported");
    let update = std::env::var_os("UPDATE_EXPORT_FIXTURES").is_some();
    let (topics, entities) = (dir.path().join("topics"), dir.path().join("entities"));
    std::fs::create_dir_all(&topics).unwrap();
    std::fs::create_dir_all(&entities).unwrap();
    let cases = [("classifier", topic_project(&topics, 10, false)), ("tagger", entity_project(&entities, 40))];
    for (name, db) in cases {
        let fresh = dir.path().join(name);
        selectra_json(&finetune_args(&db, &fresh, 6, &[]).iter().map(String::as_str).collect::<Vec<_>>());
        let golden = exported.join(name);
        let files = |folder: &std::path::Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(folder)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != "finetune.json" && n != "transformers.json")
                .collect();
            names.sort();
            names
        };
        if update {
            let _ = std::fs::remove_dir_all(&golden);
            std::fs::create_dir_all(&golden).unwrap();
            for file in files(&fresh) {
                std::fs::copy(fresh.join(&file), golden.join(&file)).unwrap();
            }
            continue;
        }
        // Today's folder is the one transformers loaded, but for the weights' values.
        assert_eq!(files(&fresh), files(&golden), "{name}: the files of the folder");
        let config =
            |folder: &std::path::Path| -> Value { serde_json::from_str(&std::fs::read_to_string(folder.join("config.json")).unwrap()).unwrap() };
        assert_eq!(config(&fresh), config(&golden), "{name}: config.json");
        let tensors = |folder: &std::path::Path| -> Vec<(String, Vec<usize>, candle_core::DType)> {
            let mut t: Vec<_> = candle_core::safetensors::load(folder.join("model.safetensors"), &Device::Cpu)
                .unwrap()
                .into_iter()
                .map(|(n, t)| (n, t.dims().to_vec(), t.dtype()))
                .collect();
            t.sort_by(|a, b| a.0.cmp(&b.0));
            t
        };
        assert_eq!(tensors(&fresh), tensors(&golden), "{name}: the tensors");

        // Ours on the folder transformers loaded, against its pipeline's outputs.
        let theirs: Value =
            serde_json::from_str(&std::fs::read_to_string(golden.join("transformers.json")).expect("check_export.py --golden wrote it")).unwrap();
        let outputs = theirs["outputs"].as_array().unwrap();
        assert!(!outputs.is_empty());
        let folder = golden.to_str().unwrap();
        for case in outputs {
            let text = case["text"].as_str().unwrap();
            if name == "classifier" {
                let ours = selectra_json(&["classify", "--model", folder, "--json", text]);
                let expected = case["scores"].as_object().unwrap();
                let labels = ours["labels"].as_array().unwrap();
                assert_eq!(labels.len(), expected.len(), "{text}");
                for (label, score) in labels.iter().zip(ours["scores"].as_array().unwrap()) {
                    let want = expected[label.as_str().unwrap()].as_f64().unwrap();
                    assert!((score.as_f64().unwrap() - want).abs() < 1e-4, "{text}: {label} {score} vs transformers' {want}");
                }
            } else {
                let ours = selectra_json(&["tag", "--model", folder, "--aggregation", "simple", "--json", text]);
                let ours = ours["entities"].as_array().unwrap();
                let expected = case["entities"].as_array().unwrap();
                assert_eq!(ours.len(), expected.len(), "{text}: {ours:?} vs transformers' {expected:?}");
                for (a, b) in ours.iter().zip(expected) {
                    for key in ["entity_group", "start", "end"] {
                        assert_eq!(a[key], b[key], "{text}: {key}");
                    }
                    assert!((a["score"].as_f64().unwrap() - b["score"].as_f64().unwrap()).abs() < 1e-4, "{text}: {a} vs {b}");
                }
            }
        }
    }
    assert!(!update, "UPDATE_EXPORT_FIXTURES: the folders are written; now run check_export.py --golden on each");
}
