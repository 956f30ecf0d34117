//! The zero-shot task a front end asks for, resolved against the project: candidate labels typed
//! by the user, the corpus's label schema with its own hypotheses, or the task a stored run
//! recorded (to resume it). The CLI's flags and the app's forms both fill a [`TaskSpec`].

use crate::domain::precision::{AgreementGate, FastOutlook};
use crate::domain::task::{ZeroShotTask, DEFAULT_TEMPLATE};
use crate::error::{Error, Result};
use crate::store::{RunInfo, Store};

/// Where a zero-shot run's labels and hypotheses come from.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskSpec {
    /// These labels, each hypothesis `template` filled with the label.
    Labels { labels: Vec<String>, template: String, multi_label: bool },
    /// The corpus's label schema: its labels, each with its own hypothesis or `template`'s.
    Schema { template: String, multi_label: bool },
}

impl TaskSpec {
    /// The task, checked (labels, template, hypotheses). The schema is the corpus's, which must
    /// exist.
    pub fn resolve(&self, store: &Store, corpus: &str) -> Result<ZeroShotTask> {
        match self {
            TaskSpec::Labels { labels, template, multi_label } => ZeroShotTask::new(labels.clone(), template, *multi_label),
            TaskSpec::Schema { template, multi_label } => {
                store.corpus(corpus)?;
                store.label_schema(corpus)?.task(template, *multi_label)
            }
        }
    }
}

/// The fast mode's outlook on this machine, said before a run: its speed measured here (once
/// per process), the default check's size, and from which corpus size it pays off.
pub fn fast_outlook() -> FastOutlook {
    FastOutlook::new(&AgreementGate::DEFAULT, crate::engine::model::fast_mode_speedup(), crate::engine::model::fast_mode_kernel())
}

/// The gate a run in `precision` passes to `corpus_run::run_zeroshot`: for the fast mode, the
/// default gate with this machine's corpus floor ([`fast_outlook`]); none for exact.
pub fn fast_gate(precision: crate::domain::precision::Precision) -> Option<AgreementGate> {
    if precision == crate::domain::precision::Precision::Exact {
        return None;
    }
    AgreementGate::for_precision(precision, &fast_outlook())
}

/// The outlook as a front end shows it beside the fast mode's switch: both sentences made here.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FastOutlookView {
    pub outlook: FastOutlook,
    pub summary: String,
    /// What it means for the corpus asked about.
    pub corpus_note: String,
}

/// [`fast_outlook`] for `corpus` of the project.
pub fn fast_outlook_for(store: &Store, corpus: &str) -> Result<FastOutlookView> {
    let records = store.corpus(corpus)?.records;
    let outlook = fast_outlook();
    Ok(FastOutlookView { summary: outlook.summary(), corpus_note: outlook.for_corpus(records), outlook })
}

/// How a stored run goes on: a zero-shot run with the exact task it recorded, a classifier's
/// run (its model alone decides its labels), or a tagger's run with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum Resumable {
    ZeroShot(ZeroShotTask),
    Classifier,
    /// A tagger's run, with the aggregation and stride it recorded.
    Tagger(crate::engine::tag::TagOptions),
}

/// A stored run and how to resume it. A trained head's run is complete when stored, and cannot
/// be resumed.
pub fn resumable_run(store: &Store, run: i64) -> Result<(RunInfo, Resumable)> {
    let info = store.run(run)?;
    let how = match info.kind {
        crate::store::RunKind::ZeroShot => {
            Resumable::ZeroShot(ZeroShotTask::from_template_key(info.key.labels.clone(), &info.key.template, info.key.multi_label)?)
        }
        crate::store::RunKind::Classifier => Resumable::Classifier,
        crate::store::RunKind::Tagger => Resumable::Tagger(crate::engine::tag::TagOptions::from_description(&info.key.template)?),
        crate::store::RunKind::Trained => {
            return Err(Error::Input(format!("run {run} is a trained head, complete when stored; train again to update it")))
        }
    };
    Ok((info, how))
}

/// The tasks the template lab compares on one set of labels: one per template, one per set of
/// hypotheses (one per label, in label order), and the corpus's schema with its own hypotheses
/// when asked.
pub fn template_lab_tasks(
    store: &Store,
    corpus: &str,
    labels: &[String],
    templates: &[String],
    hypothesis_sets: &[Vec<String>],
    with_schema: bool,
    multi_label: bool,
) -> Result<Vec<ZeroShotTask>> {
    let mut tasks = templates.iter().map(|t| ZeroShotTask::new(labels.to_vec(), t, multi_label)).collect::<Result<Vec<_>>>()?;
    for hypotheses in hypothesis_sets {
        tasks.push(ZeroShotTask::new(labels.to_vec(), DEFAULT_TEMPLATE, multi_label)?.with_hypotheses(hypotheses.clone())?);
    }
    store.corpus(corpus)?;
    if with_schema {
        tasks.push(store.label_schema(corpus)?.task(DEFAULT_TEMPLATE, multi_label)?);
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_task_needs_the_corpus_and_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("p.db")).unwrap();
        let spec = TaskSpec::Schema { template: DEFAULT_TEMPLATE.into(), multi_label: false };
        assert!(spec.resolve(&store, "nada").unwrap_err().to_string().contains("nada"));
        let record = crate::store::NewRecord {
            row_number: 1,
            source_id: None,
            text: "hola".into(),
            text_pair: None,
            gold: None,
            gold_spans: None,
            metadata: None,
        };
        let mut items = std::iter::once(Ok(crate::store::ImportItem::Record(record)));
        store.import_corpus("c", "c.csv", "csv", &mut items, false, &mut |_| {}).unwrap();
        assert!(spec.resolve(&store, "c").unwrap_err().to_string().contains("no label schema"));
        store.set_label_schema("c", crate::domain::labels::LabelSchema::from_names(&["deportes", "política"]).unwrap()).unwrap();
        assert_eq!(spec.resolve(&store, "c").unwrap().labels, ["deportes", "política"]);
        let typed = TaskSpec::Labels { labels: vec!["a".into(), "b".into()], template: DEFAULT_TEMPLATE.into(), multi_label: true };
        let task = typed.resolve(&store, "anything").unwrap();
        assert_eq!((task.labels.len(), task.multi_label), (2, true));
    }
}
