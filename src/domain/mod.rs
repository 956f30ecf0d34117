//! Floor 0, the domain: the project's vocabulary and rules as plain values. Nothing here reads a
//! file, a model or a database (no candle, no rusqlite, no I/O), so every rule can be tested on
//! its own and every floor above can share it.

pub mod annotation;
pub mod attribution;
pub mod dataset;
pub mod labels;
pub mod map;
pub mod precision;
pub mod progress;
pub mod query;
pub mod rtd;
pub mod spans;
pub mod tagging;
pub mod task;
pub mod text;
