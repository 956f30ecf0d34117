//! What a pushed dataset's card says that needs the analysis floor: the annotators and their
//! agreement, as Markdown (the exchange writes the rest of the card from the project).

use crate::error::Result;
use crate::exchange::dataset_files::CardFacts;
use crate::store::Store;

/// The facts of `corpus`'s card: each annotator's accepted records, each pair's shared records,
/// observed agreement and Cohen's kappa, and Fleiss' kappa with three or more annotators.
pub fn card_facts(store: &Store, corpus: &str) -> Result<CardFacts> {
    let agreement = store.annotator_agreement(corpus)?;
    if agreement.annotators.is_empty() {
        return Ok(CardFacts::default());
    }
    let number = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.3}"));
    let mut text = String::from("| annotator | records accepted |\n|---|---|\n");
    for a in &agreement.annotators {
        text.push_str(&format!("| {} | {} |\n", a.annotator.replace('|', "\\|"), a.records));
    }
    if !agreement.pairs.is_empty() {
        text.push_str("\n| annotators | shared records | observed agreement | Cohen's kappa |\n|---|---|---|---|\n");
        for p in &agreement.pairs {
            text.push_str(&format!(
                "| {} · {} | {} | {} | {} |\n",
                p.a.replace('|', "\\|"),
                p.b.replace('|', "\\|"),
                p.records,
                number(p.observed),
                number(p.kappa)
            ));
        }
    }
    if let Some(f) = &agreement.fleiss {
        text.push_str(&format!("\nFleiss' kappa over the {} records all {} annotators accepted: {}.\n", f.records, f.annotators, number(f.kappa)));
    }
    Ok(CardFacts { agreement: Some(text) })
}
