//! `selectra` commands. Models by themselves: inspect a text, classify one, list the models in the
//! cache and the presets.

use selectra::engine::hub::{self, HubSettings};
use selectra::engine::inspect::{self, Inspection};
use selectra::engine::zeroshot::{ZeroShotClassifier, ZeroShotResult};
use selectra::Result;

use crate::args::{InspectArgs, ModelsArgs, ZeroshotArgs};
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
        print_scores(&result);
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

fn print_scores(result: &ZeroShotResult) {
    let width = result.labels.iter().map(|l| l.chars().count()).max().unwrap_or(5).max(5);
    out!("{:width$}  {:>6}", "label", "score");
    for (label, score) in result.labels.iter().zip(&result.scores) {
        let bar = "#".repeat((score * 30.0).round() as usize);
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
