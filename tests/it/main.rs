//! The core's integration tests, one binary for all of them (ripgrep's layout): each area is a
//! module, so the suite links once instead of once per file. Run one area with
//! `cargo test --test integration store::` (a name filter).

mod common;

mod annotate;
mod charts;
mod classify;
mod embed;
mod explain;
mod families;
mod finetune;
mod floors;
mod hub;
mod hub_datasets;
mod hub_server;
mod label_issues;
mod labeling;
mod learn;
mod malformed;
mod map;
mod metrics;
mod parity;
mod parquet;
mod report;
mod scale_out;
mod scan;
mod seqeval;
mod similar;
mod spans;
mod store;
mod tag;
mod templates;
mod train;
mod wire;
