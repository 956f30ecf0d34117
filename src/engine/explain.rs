//! The models as black-box scorers for word attributions (`domain::attribution`): every label's
//! score for a batch of texts, computed as the model's own pipeline computes it, in the labels'
//! order. The variants of one explanation go through the model together, batched longest first
//! like a corpus run's records.

use crate::domain::attribution::{Scorer, Variant};
use crate::domain::task::ZeroShotTask;
use crate::engine::classify::{TextClassifier, TextInput};
use crate::engine::zeroshot::ZeroShotClassifier;
use crate::error::Error;

/// Zero-shot scores of the task's labels (the pipeline's: softmax across labels, or each on its
/// own for multi-label).
pub fn zeroshot_scorer<'a>(classifier: &'a ZeroShotClassifier<'a>, task: &'a ZeroShotTask) -> Scorer<'a> {
    Scorer {
        labels: task.labels.clone(),
        score: Box::new(move |variants: &[Variant]| {
            if variants.iter().any(|v| v.pair.is_some()) {
                return Err(Error::Input("zero-shot classification reads one text; a sentence pair has no zero-shot explanation".into()));
            }
            let texts: Vec<&str> = variants.iter().map(|v| v.text.as_str()).collect();
            let logits = classifier.nli_logits(&texts, task)?;
            Ok(logits.iter().map(|rows| classifier.label_scores(task, rows)).collect())
        }),
    }
}

/// A sequence classifier's scores of its own labels, in `id2label` order (the pipeline's function
/// of the logits), for texts or sentence pairs.
pub fn classifier_scorer<'a>(classifier: &'a TextClassifier<'a>, labels: Vec<String>) -> Scorer<'a> {
    Scorer {
        labels,
        score: Box::new(move |variants: &[Variant]| {
            let inputs: Vec<TextInput> = variants.iter().map(|v| TextInput { text: &v.text, pair: v.pair.as_deref() }).collect();
            Ok(classifier.logits(&inputs)?.iter().map(|row| classifier.function.apply(row)).collect())
        }),
    }
}
