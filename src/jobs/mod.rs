//! Floor 3, jobs: the engine run over the store. Resumable corpus runs, scans and embedding sets
//! ([`corpus_run`]), training the learned head ([`train`]), the template lab ([`templates`]), word attributions of a run's labels ([`explain`]) and
//! corpus jobs computed elsewhere and imported back ([`scale_out`]).

pub mod corpus_run;
pub mod explain;
pub mod finetune;
pub mod scale_out;
pub mod templates;
pub mod train;
