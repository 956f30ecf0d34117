//! The published comparison: SELECTRA's model-card numbers and the rows the card compares them with,
//! typed in from their sources (data/published.csv and data/published_sources.csv, compiled into the
//! binary so a report needs no data folder). Nothing here is computed.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const ROWS_CSV: &str = include_str!("../data/published.csv");
const SOURCES_CSV: &str = include_str!("../data/published_sources.csv");

/// One published number: a model's score on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedScore {
    pub model: String,
    pub hub_id: String,
    pub family: String,
    /// Parameters in millions, where the source gives them.
    pub params_millions: Option<f64>,
    pub task: String,
    pub metric: String,
    pub mean: f64,
    /// Standard deviation over fine-tuning runs, where the source gives one.
    pub std: Option<f64>,
    /// Key into [`Source`].
    pub source: String,
}

/// Where a group of published numbers comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub source: String,
    pub citation: String,
    pub url: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Published {
    pub scores: Vec<PublishedScore>,
    pub sources: Vec<Source>,
}

/// The tasks of the SELECTRA card's comparison table, in its column order.
pub const CARD_TASKS: &[&str] = &["CoNLL2002 NER", "PAWS-X", "XNLI"];

/// The fine-tuned models of the card's table (the zero-shot rows are a separate table).
pub const CARD_MODELS: &[&str] = &["SELECTRA small", "SELECTRA medium", "mBERT", "BETO", "RoBERTa-b", "RoBERTa-l", "Bertin", "ELECTRICIDAD"];

fn parse<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<Vec<T>> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<std::result::Result<Vec<T>, _>>()
        .map_err(|e| Error::Input(format!("data/{name} is malformed ({e}); it is compiled in, so this is a build of a broken checkout")))
}

impl Published {
    /// The table compiled into this build.
    pub fn load() -> Result<Self> {
        let published = Self { scores: parse("published.csv", ROWS_CSV)?, sources: parse("published_sources.csv", SOURCES_CSV)? };
        if let Some(orphan) = published.scores.iter().find(|s| published.source(&s.source).is_none()) {
            return Err(Error::Input(format!("data/published.csv cites source '{}', which data/published_sources.csv lacks", orphan.source)));
        }
        Ok(published)
    }

    pub fn source(&self, key: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.source == key)
    }

    /// The score of `model` on `task`, if published.
    pub fn score(&self, model: &str, task: &str) -> Option<&PublishedScore> {
        self.scores.iter().find(|s| s.model == model && s.task == task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_table_covers_the_cards_grid_and_cites_its_sources() {
        let p = Published::load().unwrap();
        for model in CARD_MODELS {
            for task in CARD_TASKS {
                let s = p.score(model, task).unwrap_or_else(|| panic!("{model} / {task} missing"));
                assert!((0.0..=1.0).contains(&s.mean));
            }
        }
        // SELECTRA's own rows carry the card's standard deviations; the others have none.
        assert!(p.scores.iter().filter(|s| s.source == "card").all(|s| s.std.is_some()));
        assert!(p.scores.iter().filter(|s| s.source != "card").all(|s| s.std.is_none()));
    }
}
