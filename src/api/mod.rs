//! Floor 5, the api: what both front ends call, so that a choice the CLI and the app share is
//! made once, here: which zero-shot task a run or the template lab uses ([`task`]), and the
//! values both show, in the one JSON shape both receive ([`wire`]). The one text form of a
//! filter is `domain::query::FilterSpec`.

pub mod hub;
pub mod task;
pub mod wire;
