//! The published comparison: SELECTRA's model-card numbers and the rows the card compares them with,
//! typed in from their sources (data/published.csv and data/published_sources.csv, compiled into the
//! binary so a report needs no data folder). Nothing here is computed.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const ROWS_CSV: &str = include_str!("../../data/published.csv");
const SOURCES_CSV: &str = include_str!("../../data/published_sources.csv");
const MODELS_CSV: &str = include_str!("../../data/published_models.csv");

/// One published number: a model's score on a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublishedScore {
    pub model: String,
    /// The repository the source links for the model, `ORG/NAME[@REVISION]`.
    pub hub_id: String,
    pub family: String,
    /// Parameters in millions, where the source gives them.
    pub params_millions: Option<f64>,
    pub task: String,
    pub metric: String,
    pub mean: f64,
    /// Standard deviation over fine-tuning runs, where the source gives one.
    pub std: Option<f64>,
    /// `mean` and `std` exactly as the source prints them ("0.8691", "0.865"): shown as typed,
    /// so a table never claims more or fewer digits than the source has.
    pub mean_text: String,
    pub std_text: Option<String>,
    /// Key into [`Source`].
    pub source: String,
}

impl PublishedScore {
    /// The number as the source prints it: "0.865 ± 0.004", or "0.8691".
    pub fn display(&self) -> String {
        match &self.std_text {
            Some(std) => format!("{} ± {std}", self.mean_text),
            None => self.mean_text.clone(),
        }
    }
}

/// A row of data/published.csv as typed, numbers still text.
#[derive(Deserialize)]
struct Row {
    model: String,
    hub_id: String,
    family: String,
    params_millions: Option<f64>,
    task: String,
    metric: String,
    mean: String,
    std: String,
    source: String,
}

impl Row {
    fn into_score(self) -> std::result::Result<PublishedScore, String> {
        let number = |text: &str| text.trim().parse::<f64>().map_err(|_| format!("{}/{}: {text:?} is not a number", self.model, self.task));
        let mean = number(&self.mean)?;
        let std_text = Some(self.std.trim().to_string()).filter(|s| !s.is_empty());
        let std = std_text.as_deref().map(number).transpose()?;
        Ok(PublishedScore {
            mean,
            std,
            mean_text: self.mean.trim().to_string(),
            std_text,
            model: self.model,
            hub_id: self.hub_id,
            family: self.family,
            params_millions: self.params_millions,
            task: self.task,
            metric: self.metric,
            source: self.source,
        })
    }
}

/// Where a group of published numbers comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Source {
    pub source: String,
    pub citation: String,
    pub url: String,
    pub note: String,
}

/// What a user can load for a published row's family (data/published_models.csv): the row's own
/// repository is often a masked language model, which has no head to score with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LoadableModel {
    /// The published row's model name.
    pub model: String,
    /// A Hub id that loads (an NLI classifier or a discriminator of the family), if one is known.
    pub load_id: Option<String>,
    /// Its architecture, one of [`crate::engine::model::config::Architecture`]'s names.
    pub architecture: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Published {
    pub scores: Vec<PublishedScore>,
    pub sources: Vec<Source>,
    /// One per published model name.
    pub models: Vec<LoadableModel>,
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
        let rows: Vec<Row> = parse("published.csv", ROWS_CSV)?;
        let scores = rows.into_iter().map(Row::into_score).collect::<std::result::Result<Vec<_>, _>>().map_err(|e| {
            Error::Input(format!("data/published.csv is malformed ({e}); it is compiled in, so this is a build of a broken checkout"))
        })?;
        let published = Self { scores, sources: parse("published_sources.csv", SOURCES_CSV)?, models: parse("published_models.csv", MODELS_CSV)? };
        if let Some(orphan) = published.scores.iter().find(|s| published.source(&s.source).is_none()) {
            return Err(Error::Input(format!("data/published.csv cites source '{}', which data/published_sources.csv lacks", orphan.source)));
        }
        Ok(published)
    }

    /// What loads for a published row's family.
    pub fn loadable(&self, model: &str) -> Option<&LoadableModel> {
        self.models.iter().find(|m| m.model == model)
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
        // SELECTRA's own rows carry the card's standard deviations; the card gives none for the others.
        for s in p.scores.iter().filter(|s| s.source == "card") {
            assert_eq!(s.std.is_some(), s.family == "SELECTRA", "{} / {}", s.model, s.task);
            assert!(s.params_millions.is_some(), "{}: the card gives every parameter count", s.model);
        }
    }

    /// The card's Metrics table, as the seed file prints it, parsed from the card's own markdown
    /// row syntax: `| [mBERT](link) | 0.8691 | 0.8955 | 0.7876 | 178M |`. Every cell must match
    /// the compiled table digit for digit.
    #[test]
    fn the_table_is_the_cards_table_digit_for_digit() {
        const CARD_ROWS: &str = "\
| SELECTRA small | 0.865 +- 0.004 | 0.896 +- 0.002 | 0.784 +- 0.002 | 22M |
| SELECTRA medium | 0.873 +- 0.003 | 0.896 +- 0.002 | 0.804 +- 0.002 | 41M |
| [mBERT](https://hf-proxy.robus.us.kg/bert-base-multilingual-cased) | 0.8691 | 0.8955 | 0.7876 | 178M |
| [BETO](https://hf-proxy.robus.us.kg/dccuchile/bert-base-spanish-wwm-cased) | 0.8759 | 0.9000 | 0.8130 | 110M |
| [RoBERTa-b](https://hf-proxy.robus.us.kg/BSC-TeMU/roberta-base-bne) | 0.8851 | 0.9000 | 0.8016 | 125M |
| [RoBERTa-l](https://hf-proxy.robus.us.kg/BSC-TeMU/roberta-large-bne) | 0.8772 | 0.9060 | 0.7958 | 355M |
| [Bertin](https://hf-proxy.robus.us.kg/bertin-project/bertin-roberta-base-spanish/tree/v1-512) | 0.8835 | 0.8990 | 0.7890 | 125M |
| [ELECTRICIDAD](https://hf-proxy.robus.us.kg/mrm8488/electricidad-base-discriminator) | 0.7954 | 0.9025 | 0.7878 | 109M |";
        let p = Published::load().unwrap();
        let mut rows = 0;
        for line in CARD_ROWS.lines() {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let (name, link) = match cells[0].strip_prefix('[') {
                Some(rest) => {
                    let (name, link) = rest.split_once("](").unwrap();
                    (name, Some(link.trim_end_matches(')')))
                }
                None => (cells[0], None),
            };
            for (task, cell) in CARD_TASKS.iter().zip(&cells[1..4]) {
                let score = p.score(name, task).unwrap_or_else(|| panic!("{name} / {task} missing"));
                assert_eq!(score.display(), cell.replace("+-", "±"), "{name} / {task}");
                assert_eq!(score.source, "card");
            }
            let params: f64 = cells[4].trim_end_matches('M').parse().unwrap();
            assert_eq!(p.score(name, "XNLI").unwrap().params_millions, Some(params), "{name}");
            if let Some(link) = link {
                let path = link.split_once(".robus.us.kg/").unwrap().1;
                let expected = match path.split_once("/tree/") {
                    Some((repo, rev)) => format!("{repo}@{rev}"),
                    None => path.to_string(),
                };
                assert_eq!(p.score(name, "XNLI").unwrap().hub_id, expected, "{name}");
            }
            rows += 1;
        }
        assert_eq!(rows, CARD_MODELS.len());
        assert_eq!(p.source("card").unwrap().citation.split(' ').take(3).collect::<Vec<_>>(), ["SELECTRA", "model", "card"]);
    }
}
