//! Floor 2, exchange: files in and out of a project. [`import`] reads CSV, JSONL and Parquet into
//! a corpus, [`export`] writes a corpus with its labels and predictions back out, [`hub`] pulls
//! a corpus from a Hugging Face dataset repository and pushes one as a dataset
//! ([`dataset_files`]: its Parquet data and card).

pub mod dataset_files;
pub mod export;
pub mod hub;
pub mod import;
