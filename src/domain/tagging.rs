//! How a token classifier tags, as a value: transformers' `aggregation_strategy` and `stride`,
//! and the one text form a tagging run's identity keeps them in ("aggregation=simple stride=128"),
//! written and read here only. The corpus defaults, which depend on the model, are
//! `engine::tag`'s.

use crate::error::{Error, Result};

/// The pipeline's `aggregation_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregation {
    /// Every token, ungrouped (the pipeline's default).
    #[default]
    None,
    Simple,
    First,
    Average,
    Max,
}

impl Aggregation {
    pub const ALL: [Aggregation; 5] = [Self::None, Self::Simple, Self::First, Self::Average, Self::Max];

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Simple => "simple",
            Self::First => "first",
            Self::Average => "average",
            Self::Max => "max",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|a| a.name() == text.trim()).ok_or_else(|| {
            Error::Input(format!(
                "the aggregation is none, simple, first, average or max (transformers' aggregation_strategy), not {}",
                crate::error::quoted(text)
            ))
        })
    }
}

/// How to tag: the pipeline's `aggregation_strategy` and `stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TagOptions {
    pub aggregation: Aggregation,
    /// Tag the whole text in windows that overlap by this many tokens (the pipeline's `stride`);
    /// without it a text longer than the model is cut, as the pipeline cuts it by default.
    pub stride: Option<usize>,
}

impl TagOptions {
    /// The options in words, as a run's identity keeps them ("aggregation=simple stride=128").
    pub fn describe(&self) -> String {
        match self.stride {
            Some(stride) => format!("aggregation={} stride={stride}", self.aggregation.name()),
            None => format!("aggregation={}", self.aggregation.name()),
        }
    }

    /// The options [`TagOptions::describe`] wrote (a stored run's, to resume it).
    pub fn from_description(text: &str) -> Result<Self> {
        let mut options = Self::default();
        for part in text.split_whitespace() {
            match part.split_once('=') {
                Some(("aggregation", name)) => options.aggregation = Aggregation::parse(name)?,
                Some(("stride", n)) => {
                    options.stride =
                        Some(n.parse().map_err(|_| Error::Input(format!("a stride is a number of tokens, not {}", crate::error::quoted(n))))?)
                }
                _ => return Err(Error::Input(format!("{} does not describe tagging options", crate::error::quoted(text)))),
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_back_what_describe_writes() {
        for options in [TagOptions { aggregation: Aggregation::First, stride: Some(128) }, TagOptions::default()] {
            assert_eq!(TagOptions::from_description(&options.describe()).unwrap(), options);
        }
        assert!(TagOptions::from_description("Este ejemplo es {}.").unwrap_err().to_string().contains("does not describe tagging options"));
    }
}
