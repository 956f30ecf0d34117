//! `selectra` commands. The shareable comparison report.

use crate::args::ReportArgs;
use crate::output::*;
use selectra::domain::progress::Watch;
use selectra::store::Store;
use selectra::Result;

pub fn report(args: ReportArgs) -> Result<()> {
    let ReportArgs { db, corpus, runs, published: _, within_run_labels, output, json } = args;
    write_report(db.as_deref(), corpus, &runs, &output, within_run_labels, json)?;
    Ok(())
}

fn write_report(
    db: Option<&std::path::Path>,
    corpus: Option<String>,
    runs: &[i64],
    output: &std::path::Path,
    within_run_labels: bool,
    json: bool,
) -> selectra::Result<()> {
    let store = match db {
        None => None,
        Some(db) => Some(Store::open_existing(db)?),
    };
    let options = selectra::analysis::metrics::EvalOptions { within_run_labels, ..Default::default() };
    let (files, scored) = selectra::report::write_project_report(store.as_ref(), corpus.as_deref(), runs, output, &options, &mut Watch::none())?;
    let evaluation = scored.evaluation;
    for warning in evaluation.iter().flat_map(|e| &e.runs).filter_map(|r| r.outside_warning()) {
        eprintln!("warning: {warning}");
    }
    if let Some(e) = evaluation.as_ref().filter(|e| e.references.outside_run_labels > 0) {
        eprintln!("note: {} records with a reference outside the runs' labels were not scored", e.references.outside_run_labels);
    }
    if json {
        let evaluation = evaluation.as_ref().map(selectra::api::wire::EvaluationDto::new).transpose()?;
        print_json(&selectra::api::wire::ReportOutcome { files, evaluation, entities: scored.entities });
    } else {
        for run in scored.entities.iter().flat_map(|e| &e.runs) {
            for s in &run.scores {
                let mode = s.mode.map(|m| format!(", {} mode", if m == selectra::analysis::seqeval::Mode::Strict { "strict" } else { "default" }));
                out!(
                    "run {} ({}, {}{}): entity F1 {:.3} [{:.3}, {:.3}], precision {:.3}, recall {:.3}",
                    run.run,
                    run.model,
                    run.options,
                    mode.unwrap_or_default(),
                    s.micro_f1.value,
                    s.micro_f1.low,
                    s.micro_f1.high,
                    s.report.micro.precision,
                    s.report.micro.recall
                );
            }
        }
        out!("wrote {} and {} figures (SVG and PNG) to {}", files.html.display(), files.figures.len() / 2, output.join("figures").display());
    }
    Ok(())
}
