//! `selectra` commands. Models by themselves: inspect a text, classify one, list the models in the
//! cache and the presets.

use selectra::engine::classify::{TextClassifier, TextInput};
use selectra::engine::hub::{self, HubSettings};
use selectra::engine::inspect::{self, Inspection};
use selectra::engine::tag::{Aggregation, TagOptions, TokenTagger};
use selectra::engine::zeroshot::ZeroShotClassifier;
use selectra::Result;

use crate::args::{ClassifyArgs, CorpusRunArgs, ExplainArgs, InspectArgs, ModelsArgs, TagArgs, ZeroshotArgs};
use crate::output::*;

pub fn inspect(args: InspectArgs) -> Result<()> {
    let InspectArgs { model, strip_accents, words, json, text } = args;
    let model = load(&model, strip_accents)?;
    let inspection = inspect::inspect(&model, &text)?;
    if inspection.truncated {
        eprintln!("warning: the text is longer than the model's {} tokens; only its beginning was scored", model.tokenizer.max_length());
    }
    if json {
        print_json(&selectra::api::wire::InspectionView::new(inspection, &model));
    } else if words {
        print_words(&inspection);
    } else {
        print_tokens(&inspection);
    }
    Ok(())
}

pub fn zeroshot(args: ZeroshotArgs) -> Result<()> {
    let ZeroshotArgs { zs, json, text } = args;
    let task = zs.task()?;
    let model = zs.model()?;
    let classifier = ZeroShotClassifier::new(&model)?;
    if classifier.entailment_guessed {
        eprintln!(
            "warning: no class of {} is named entailment; using class {} as entailment (results may be meaningless)",
            model.name,
            classifier.entailment_id()
        );
    }
    let result = classifier.classify(&text, &task)?;
    if json {
        print_json(&result);
    } else {
        print_scores(&result.labels, &result.scores);
    }
    Ok(())
}

pub fn classify(args: ClassifyArgs) -> Result<()> {
    let ClassifyArgs { model, strip_accents, text_pair, corpus_run: CorpusRunArgs { db, corpus, batch_size }, json, text } = args;
    if let (Some(db), Some(corpus)) = (db, corpus) {
        return crate::cmd::jobs::classify_corpus(&db, &corpus, &model, strip_accents, batch_size, json);
    }
    let text = text.unwrap_or_default();
    let model = load(&model, strip_accents)?;
    let classifier = TextClassifier::new(&model)?;
    let result = classifier.classify(TextInput { text: &text, pair: text_pair.as_deref() })?;
    if json {
        print_json(&result);
    } else {
        print_scores(&result.labels, &result.scores);
    }
    Ok(())
}

pub fn tag(args: TagArgs) -> Result<()> {
    let TagArgs { model, strip_accents, aggregation, stride, corpus_run: CorpusRunArgs { db, corpus, batch_size }, json, text } = args;
    let aggregation = aggregation.as_deref().map(Aggregation::parse).transpose()?;
    let model = load(&model, strip_accents)?;
    if let (Some(db), Some(corpus)) = (db, corpus) {
        let options = TagOptions::for_corpus_with(&model, aggregation, stride);
        return crate::cmd::jobs::tag_corpus(&db, &corpus, &model, strip_accents, options, batch_size, json);
    }
    let text = text.unwrap_or_default();
    let options = TagOptions { aggregation: aggregation.unwrap_or_default(), stride };
    let tagging = TokenTagger::new(&model)?.tag_with(&text, options)?;
    if tagging.truncated {
        eprintln!("warning: the text is longer than the model's {} tokens; only its beginning was tagged", model.tokenizer.max_length());
    }
    if json {
        print_json(&tagging);
    } else if tagging.entities.is_empty() {
        out!("no entities");
    } else {
        let width = tagging.entities.iter().map(|e| e.label().chars().count()).max().unwrap_or(6).max(6);
        out!("{:width$}  {:>6}  {:>11}  text", "entity", "score", "chars");
        for e in &tagging.entities {
            let span: String = text.chars().skip(e.start).take(e.end - e.start).collect();
            out!("{:width$}  {:>6.4}  {:>11}  {span}", e.label(), e.score, format!("{}-{}", e.start, e.end));
        }
    }
    Ok(())
}

pub fn explain(args: ExplainArgs) -> Result<()> {
    use selectra::domain::attribution::{self, LimeOptions, MaskSource, Method};
    use selectra::domain::task::ZeroShotTask;
    use selectra::engine::explain::{classifier_scorer, zeroshot_scorer};
    let ExplainArgs {
        model,
        labels,
        template,
        multi_label,
        text_pair,
        strip_accents,
        db,
        run,
        row,
        key_words,
        per_label,
        label,
        method,
        seed,
        json,
        text,
    } = args;
    let method = Method::parse(&method)?;
    let lime = LimeOptions { masks: MaskSource::Seed(seed), ..LimeOptions::default() };
    if let (Some(db), Some(run)) = (db, run) {
        let store = selectra::store::Store::open_existing(&db)?;
        let (spec, accents) = selectra::jobs::explain::run_model(&store.run(run)?);
        let model = load(&spec, accents)?;
        if key_words {
            let summary = crate::output::with_job_progress(|progress, cancel| {
                let mut watch = selectra::domain::progress::Watch::new(progress, cancel);
                selectra::jobs::explain::key_words(&store, &model, run, per_label, method, &mut watch)
            })?;
            if json {
                print_json(&summary);
            } else {
                for l in &summary.labels {
                    out!("{} ({} records)", l.label, l.records);
                    for w in &l.words {
                        out!("  {:<20} {:>+9.4}  in {} records", selectra::domain::text::cell(&w.word, 20), w.mean_weight, w.records.len());
                    }
                }
            }
            return Ok(());
        }
        let Some(row) = row else {
            return Err(selectra::Error::Input("say which record to explain (its row number), or ask for the run's key words".into()));
        };
        let record = store.record_id(&store.run(run)?.key.corpus, row)?;
        let e = selectra::jobs::explain::explain_record(&store, &model, run, record, label.as_deref(), method, &lime)?;
        return print_explanation(&e, json);
    }
    let (model, text) = (load(&model.unwrap_or_default(), strip_accents)?, text.unwrap_or_default());
    let e = match labels {
        Some(labels) => {
            let task = ZeroShotTask::new(ZeroShotTask::parse_labels(&labels), &template, multi_label)?;
            let classifier = ZeroShotClassifier::new(&model)?;
            let scorer = zeroshot_scorer(&classifier, &task);
            attribution::explain(&text, text_pair.as_deref(), label.as_deref(), method, &lime, &scorer)?
        }
        None => {
            let classifier = TextClassifier::new(&model)?;
            let scorer = classifier_scorer(&classifier, model.config.id2label.clone());
            attribution::explain(&text, text_pair.as_deref(), label.as_deref(), method, &lime, &scorer)?
        }
    };
    print_explanation(&e, json)
}

fn print_explanation(e: &selectra::domain::attribution::Explanation, json: bool) -> Result<()> {
    if json {
        print_json(e);
        return Ok(());
    }
    out!("{} ({:.4}), {}: {}", e.label, e.score, e.method.name(), e.method.meaning());
    let scale = e.words.iter().chain(e.pair_words.iter().flatten()).map(|w| w.weight.abs()).fold(0.0, f64::max).max(1e-12);
    let print = |words: &[selectra::domain::attribution::WordWeight]| {
        for w in words {
            let bar = "█".repeat((w.weight.abs() / scale * 20.0).round() as usize);
            out!("  {:<24} {:>+9.4}  {}{}", selectra::domain::text::cell(&w.word, 24), w.weight, if w.weight < 0.0 { "-" } else { "+" }, bar);
        }
    };
    print(&e.words);
    if let Some(pair) = &e.pair_words {
        out!("second text:");
        print(pair);
    }
    Ok(())
}

pub fn models(args: ModelsArgs) -> Result<()> {
    let ModelsArgs { json } = args;
    list_models(json)?;
    Ok(())
}

fn print_tokens(inspection: &Inspection) {
    let width = inspection.tokens.iter().map(|t| t.token.chars().count()).max().unwrap_or(5).max(5);
    out!("{:width$}  {:>9}  {:>8}  {:>11}", "token", "chars", "logit", "P(replaced)");
    for t in &inspection.tokens {
        out!(
            "{:width$}  {:>9}  {:>8.4}  {:>11.4}{}",
            t.token,
            format!("{}-{}", t.start, t.end),
            t.logit,
            t.probability,
            notes(t.probability, t.untrained_embedding)
        );
    }
    untrained_footnote(inspection.tokens.iter().any(|t| t.untrained_embedding));
}

fn print_words(inspection: &Inspection) {
    let words = inspection.words();
    let width = words.iter().map(|w| w.text.chars().count()).max().unwrap_or(4).max(4);
    out!("{:width$}  {:>9}  {:>11}", "word", "chars", "P(replaced)");
    for w in &words {
        out!("{:width$}  {:>9}  {:>11.4}{}", w.text, format!("{}-{}", w.start, w.end), w.probability, notes(w.probability, w.untrained_embedding));
    }
    untrained_footnote(words.iter().any(|w| w.untrained_embedding));
}

fn notes(probability: f32, untrained: bool) -> String {
    let mut notes = String::new();
    if selectra::domain::rtd::looks_replaced(probability) {
        notes.push_str("  <- looks replaced");
    }
    if untrained {
        notes.push_str("  * embedding not trained");
    }
    notes
}

fn untrained_footnote(any: bool) {
    if any {
        out!("* {}", selectra::domain::rtd::UNTRAINED_NOTE);
    }
}

/// Labels and their scores as a table; a bar for scores in [0, 1] (a regressor's are not).
fn print_scores(labels: &[String], scores: &[f32]) {
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(5).max(5);
    out!("{:width$}  {:>6}", "label", "score");
    for (label, score) in labels.iter().zip(scores) {
        let bar = if (0.0..=1.0).contains(score) { "#".repeat((score * 30.0).round() as usize) } else { String::new() };
        out!("{label:width$}  {score:>6.4}  {bar}");
    }
}

fn list_models(json: bool) -> selectra::Result<()> {
    let settings = HubSettings::from_env();
    if json {
        print_json(&selectra::api::wire::ModelList::read(&settings)?);
        return Ok(());
    }
    let rows = hub::model_list(&settings)?;
    out!("Hugging Face cache: {}", settings.cache_dir.display());
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(2);
    out!("{:width$}  {:<18}  description", "model", "cached");
    for r in &rows {
        let cached = if r.cached_snapshots == 0 { "no".to_string() } else { format!("yes ({})", r.cached_refs.join(", ")) };
        out!("{:width$}  {:<18}  {}", r.id, cached, r.description);
    }
    Ok(())
}
