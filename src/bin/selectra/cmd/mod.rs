//! One file per group of commands; each command is one function over its parsed arguments.

pub mod corpus;
pub mod jobs;
pub mod labeling;
pub mod model;
pub mod report;
pub mod scans;
