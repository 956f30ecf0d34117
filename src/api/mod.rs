//! Floor 5, the api: what both front ends call, so that a choice the CLI and the app share is
//! made once, here. Today: which zero-shot task a run or the template lab uses ([`task`]). The
//! one text form of a filter is `domain::query::FilterSpec`; wire types move here as the app's
//! twins of core types are retired (issue 25).

pub mod task;
