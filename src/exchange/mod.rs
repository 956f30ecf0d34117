//! Floor 2, exchange: files in and out of a project. [`import`] reads CSV, JSONL and Parquet into
//! a corpus, [`export`] writes a corpus with its labels and predictions back out.

pub mod export;
pub mod import;
