//! The wire: every value a front end shows, in the one JSON shape both receive. The app's
//! commands return these, `selectra ... --json` prints the same objects, and the app's TypeScript
//! types are generated from them (the `ts` feature). A view is a core value (flattened, so its
//! fields keep their names) plus what a person needs beside it, computed here once: a summary
//! sentence, a rendered figure, a value as the filter bar compares it.
//!
//! Core types that already are the wire shape (`store::CorpusInfo`, `store::ScanInfo`,
//! `analysis::agreement::AnnotatorAgreement`, ...) travel as they are and have no view here.
//! Changes are additive: the CLI's `--json` keeps every field it printed (README's CLI section
//! lists what was added).

pub mod labeling;
pub mod model;
pub mod report;
pub mod runs;
pub mod scans;

pub use labeling::*;
pub use model::*;
pub use report::*;
pub use runs::*;
pub use scans::*;
