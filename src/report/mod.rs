//! Shareable comparison reports: one self-contained HTML file (inline SVG charts, tables, no script)
//! plus a `figures/` folder with every chart as SVG and PNG, and `report.json` with the numbers.
//!
//! Every number is marked as *published* (with its source) or *measured here* (model, weights hash,
//! run, dates). The HTML is produced by maud, which escapes every spliced value, so labels, corpus
//! text and names that look like markup are shown as text; the page also carries a Content Security
//! Policy that forbids scripts, as a second line of defence.

pub mod charts;
pub mod published;

use std::path::{Path, PathBuf};

use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Serialize;

use crate::analysis::evaluate::{Evaluation, RunEvaluation, RunMetrics};
use crate::analysis::metrics::Estimate;
use crate::domain::progress::{JobStage, Watch};
use crate::error::{Error, Result};
use crate::report::charts::{Bar, Chart, SizedScore};
use crate::report::published::{Published, CARD_MODELS, CARD_TASKS};
use crate::store::Store;

/// A chart with the file name it is exported under and the sentence that explains it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub name: String,
    pub caption: String,
    pub chart: Chart,
}

/// The charts of the published comparison.
pub fn published_figures(published: &Published) -> Vec<Figure> {
    let mut figures = Vec::new();
    let models: Vec<String> = CARD_MODELS.iter().map(|m| m.to_string()).collect();
    let values: Vec<Vec<Option<Bar>>> =
        CARD_MODELS.iter().map(|m| CARD_TASKS.iter().map(|t| published.score(m, t).map(|s| Bar { value: s.mean, error: s.std })).collect()).collect();
    let (lo, hi) = published
        .scores
        .iter()
        .filter(|s| CARD_TASKS.contains(&s.task.as_str()))
        .fold((1.0f64, 0.0f64), |(lo, hi), s| (lo.min(s.mean), hi.max(s.mean)));
    figures.push(Figure {
        name: "published-scores".into(),
        caption: "Published scores of the SELECTRA card's comparison (error bars: ± one standard deviation over 5 runs, given for SELECTRA only). \
                  The axis starts above zero so that close scores can be told apart."
            .into(),
        chart: Chart::GroupedBars {
            title: "Published results (SELECTRA card)".into(),
            y_label: "Score (F1 or accuracy)".into(),
            groups: CARD_TASKS.iter().map(|t| t.to_string()).collect(),
            series: models,
            values,
            y_min: ((lo - 0.03) * 20.0).floor() / 20.0,
            y_max: ((hi + 0.02) * 20.0).ceil() / 20.0,
        },
    });
    for task in CARD_TASKS {
        let points: Vec<SizedScore> = CARD_MODELS
            .iter()
            .filter_map(|m| published.score(m, task))
            .filter_map(|s| s.params_millions.map(|p| SizedScore { name: s.model.clone(), params_millions: p, score: s.mean, measured: false }))
            .collect();
        let left_out: Vec<&str> =
            CARD_MODELS.iter().copied().filter(|m| published.score(m, task).is_some_and(|s| s.params_millions.is_none())).collect();
        let metric = published.scores.iter().find(|s| s.task == *task).map(|s| s.metric.clone()).unwrap_or_default();
        figures.push(Figure {
            name: format!("published-size-{}", slug(task)),
            caption: format!(
                "{task}: parameters against the published score; the line is the Pareto front.{}",
                if left_out.is_empty() { String::new() } else { format!(" Not shown (no parameter count in the source): {}.", left_out.join(", ")) }
            ),
            chart: Chart::SizeVsScore { title: format!("Size vs. {task}"), y_label: format!("{task} ({metric})"), points },
        });
    }
    figures
}

/// The size-vs-score charts of the card's tasks with the user's own numbers beside the published
/// ones: each `(task, name, parameters in millions, score)` is drawn on its task's chart, marked
/// as measured here. Tasks without a measured point get no chart.
pub fn your_data_figures(published: &Published, measured: &[(&str, String, f64, f64)]) -> Vec<Figure> {
    let mut figures = Vec::new();
    for task in CARD_TASKS {
        let mine: Vec<SizedScore> = measured
            .iter()
            .filter(|m| m.0 == *task)
            .map(|(_, name, params, score)| SizedScore { name: name.clone(), params_millions: *params, score: *score, measured: true })
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut points: Vec<SizedScore> = CARD_MODELS
            .iter()
            .filter_map(|m| published.score(m, task))
            .filter_map(|s| s.params_millions.map(|p| SizedScore { name: s.model.clone(), params_millions: p, score: s.mean, measured: false }))
            .collect();
        points.extend(mine);
        figures.push(Figure {
            name: format!("your-data-size-{}", slug(task)),
            caption: format!(
                "{task}: parameters against score; circles are the card's published scores on its own test set, triangles your runs on your data \
                 (other data: compare the shapes, not the heights)."
            ),
            chart: Chart::SizeVsScore { title: format!("Size vs. {task}, with your data"), y_label: format!("{task} (score)"), points },
        });
    }
    figures
}

/// The charts of an evaluation: per-label F1 of every run, then each run's own charts.
pub fn evaluation_figures(evaluation: &Evaluation) -> Vec<Figure> {
    let mut figures = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for run in &evaluation.runs {
        for (label, _) in run.metrics.label_f1() {
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
    }
    let values = evaluation
        .runs
        .iter()
        .map(|run| {
            let f1 = run.metrics.label_f1();
            labels.iter().map(|l| f1.iter().find(|(name, _)| name == l).map(|(_, v)| Bar { value: *v, error: None })).collect()
        })
        .collect();
    figures.push(Figure {
        name: "runs-label-f1".into(),
        caption: format!("Per-label F1 of each run on the same {} records.", evaluation.runs.first().map(records).unwrap_or(0)),
        chart: Chart::GroupedBars {
            title: "F1 per label".into(),
            y_label: "F1".into(),
            groups: labels,
            series: evaluation.runs.iter().map(run_name).collect(),
            values,
            y_min: 0.0,
            y_max: 1.0,
        },
    });
    for run in &evaluation.runs {
        let id = run.run.id;
        match &run.metrics {
            RunMetrics::SingleLabel(m) => {
                figures.push(Figure {
                    name: format!("run-{id}-confusion"),
                    caption: format!("Run {id}: confusion matrix (rows: reference label; cells shaded by the row's share)."),
                    chart: Chart::Confusion { title: format!("Confusion, run {id}"), labels: m.labels.clone(), counts: m.confusion.clone() },
                });
                figures.push(Figure {
                    name: format!("run-{id}-reliability"),
                    caption: format!("Run {id}: reliability diagram, {} equal-width bins; ECE = {:.3}.", m.reliability.len(), m.ece),
                    chart: Chart::Reliability {
                        title: format!("Calibration, run {id}"),
                        bins: m.reliability.iter().map(|b| (b.lower, b.upper, b.count, b.confidence, b.accuracy)).collect(),
                    },
                });
            }
            RunMetrics::MultiLabel(_) => {}
        }
        figures.push(Figure {
            name: format!("run-{id}-scores"),
            caption: format!("Run {id}: distribution of each label's score over the evaluated records."),
            chart: Chart::ScoreHistograms {
                title: format!("Scores per label, run {id}"),
                labels: run.score_histograms.iter().map(|(l, _)| l.clone()).collect(),
                counts: run.score_histograms.iter().map(|(_, c)| *c).collect(),
            },
        });
    }
    figures
}

/// A tagging run's reading as a chart's series names it: "run 4", or "run 4 (strict)" when its
/// tokens were read in both modes.
fn reading_name(run: &crate::analysis::tagging::TaggerEvaluation, scores: &crate::analysis::tagging::EntityScores) -> String {
    match scores.mode {
        Some(crate::analysis::seqeval::Mode::Strict) => format!("run {} (strict)", run.run),
        Some(_) if run.scores.len() > 1 => format!("run {} (default)", run.run),
        _ => format!("run {}", run.run),
    }
}

/// The charts of an entity evaluation: F1 per entity type and micro F1 (with its interval) of
/// every run's reading, the kinds of errors, and each reading's confusion of types over the
/// same boundaries.
pub fn entity_figures(e: &crate::analysis::tagging::EntityEvaluation) -> Vec<Figure> {
    let readings: Vec<(String, &crate::analysis::tagging::EntityScores)> =
        e.runs.iter().flat_map(|r| r.scores.iter().map(move |s| (reading_name(r, s), s))).collect();
    if readings.is_empty() {
        return Vec::new();
    }
    let mut types: Vec<String> = readings.iter().flat_map(|(_, s)| s.report.per_type.iter().map(|(t, _)| t.clone())).collect();
    types.sort();
    types.dedup();
    let mut groups = types.clone();
    groups.push("micro".into());
    let values = readings
        .iter()
        .map(|(_, s)| {
            let mut row: Vec<Option<Bar>> =
                types.iter().map(|t| s.report.per_type.iter().find(|(name, _)| name == t).map(|(_, x)| Bar { value: x.f1, error: None })).collect();
            let half = (s.micro_f1.high - s.micro_f1.low) / 2.0;
            row.push(Some(Bar { value: s.micro_f1.value, error: Some(half) }));
            row
        })
        .collect();
    let series: Vec<String> = readings.iter().map(|(name, _)| name.clone()).collect();
    let mut figures = vec![Figure {
        name: "entities-type-f1".into(),
        caption: format!(
            "Entity F1 per type and micro F1 (±half its 95% bootstrap interval) of each run on the same {} records ({} reference entities).",
            e.n, e.reference_entities
        ),
        chart: Chart::GroupedBars {
            title: "Entity F1 per type".into(),
            y_label: "F1".into(),
            groups,
            series: series.clone(),
            values,
            y_min: 0.0,
            y_max: 1.0,
        },
    }];
    let kinds = ["exact", "wrong type", "wrong boundaries", "both wrong", "spurious", "missed"];
    let counts: Vec<Vec<Option<Bar>>> = readings
        .iter()
        .map(|(_, s)| {
            let x = &s.errors;
            [x.exact, x.wrong_type, x.wrong_boundaries, x.wrong_both, x.spurious, x.missed]
                .iter()
                .map(|&n| Some(Bar { value: n as f64, error: None }))
                .collect()
        })
        .collect();
    let most = counts.iter().flatten().flatten().map(|b| b.value).fold(1.0, f64::max);
    figures.push(Figure {
        name: "entities-errors".into(),
        caption: "What each run's predicted entities were: exact, of the wrong type (same words), of the wrong boundaries (same type, overlapping),                   wrong in both, or spurious; and the reference entities it missed."
            .into(),
        chart: Chart::GroupedBars {
            title: "Entity errors".into(),
            y_label: "entities".into(),
            groups: kinds.iter().map(|k| k.to_string()).collect(),
            series,
            values: counts,
            y_min: 0.0,
            y_max: most * 1.1,
        },
    });
    for (name, s) in &readings {
        if s.errors.types.is_empty() {
            continue;
        }
        figures.push(Figure {
            name: format!("entities-confusion-{}", slug(name)),
            caption: format!("{name}: entity types over the same boundaries (rows: the reference's type; the diagonal is exact matches)."),
            chart: Chart::Confusion { title: format!("Entity types, {name}"), labels: s.errors.types.clone(), counts: s.errors.confusion.clone() },
        });
    }
    figures
}

fn records(run: &RunEvaluation) -> u64 {
    match &run.metrics {
        RunMetrics::SingleLabel(m) => m.n,
        RunMetrics::MultiLabel(m) => m.n,
    }
}

/// A run's name in chart legends: a local folder shows as its last component (the tables give the
/// whole path), a Hub id as itself.
fn run_name(run: &RunEvaluation) -> String {
    let model = &run.run.key.model;
    let path = Path::new(model);
    let short = if path.is_absolute() || model.starts_with('.') || model.matches('/').count() > 1 {
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| model.clone())
    } else {
        model.clone()
    };
    format!("#{} {short}", run.run.id)
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A corpus's newest discriminator scan, as the report's data-quality section shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DataQuality {
    pub scan: crate::store::ScanInfo,
    /// Records per tenth of suspicion.
    pub histogram: [u64; 10],
    /// The word forms flagged most often.
    pub words: Vec<crate::store::FlaggedWord>,
    /// The most suspicious records.
    pub records: Vec<crate::store::SuspiciousRecord>,
}

impl DataQuality {
    /// The newest scan of `corpus`, if it has one.
    pub fn of(store: &Store, corpus: &str) -> Result<Option<Self>> {
        let Some(scan) = store.scans(Some(corpus))?.pop() else { return Ok(None) };
        Ok(Some(Self {
            histogram: store.suspicion_histogram(scan.id)?,
            words: store.flagged_words(scan.id, 20)?,
            records: store.suspicious_records(scan.id, 10)?,
            scan,
        }))
    }
}

/// The chart of a scan's record suspicion.
pub fn data_quality_figures(q: &DataQuality) -> Vec<Figure> {
    let most = q.histogram.iter().copied().max().unwrap_or(0).max(1) as f64;
    vec![Figure {
        name: format!("scan-{}-suspicion", q.scan.id),
        caption: format!(
            "Scan {}: records by suspicion (their highest word P(replaced)), {} of {} records scanned.",
            q.scan.id, q.scan.scanned, q.scan.records
        ),
        chart: Chart::GroupedBars {
            title: "Record suspicion".into(),
            y_label: "Records".into(),
            groups: (0..10).map(|b| format!("{:.1}-{:.1}", b as f64 / 10.0, (b + 1) as f64 / 10.0)).collect(),
            series: vec!["records".into()],
            values: vec![q.histogram.iter().map(|&c| Some(Bar { value: c as f64, error: None })).collect()],
            y_min: 0.0,
            y_max: (most * 1.1).ceil(),
        },
    }]
}

/// What a report contains; `evaluation` is absent for the published comparison alone.
pub struct ReportInput<'a> {
    pub published: &'a Published,
    pub evaluation: Option<&'a Evaluation>,
    /// The corpus's newest scan, when it has one.
    pub data_quality: Option<&'a DataQuality>,
    /// Tagging runs scored on the corpus's reference entity spans, when it has both.
    pub entities: Option<&'a crate::analysis::tagging::EntityEvaluation>,
    /// When the report was made (RFC 3339), printed in it.
    pub generated_at: String,
}

/// The files a report wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ReportFiles {
    pub html: PathBuf,
    pub json: PathBuf,
    pub figures: Vec<PathBuf>,
}

/// What a project report scored: the label runs, and the tagging runs.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    pub evaluation: Option<Evaluation>,
    pub entities: Option<crate::analysis::tagging::EntityEvaluation>,
}

/// Scores `runs` of `corpus` in `store` (the corpus the runs share, or the only one, when not
/// named; every run of it when `runs` is empty) and writes the report into `dir`: label runs
/// against the reference labels, tagging runs against the reference entity spans. Without a
/// store, the report holds the published comparison alone. Front ends call this one function;
/// `watch` sees the evaluation (stage `Evaluating`) and then the figures (stage `Reporting`).
pub fn write_project_report(
    store: Option<&Store>,
    corpus: Option<&str>,
    runs: &[i64],
    dir: &Path,
    options: &crate::analysis::metrics::EvalOptions,
    watch: &mut Watch,
) -> Result<(ReportFiles, Scored)> {
    let published = Published::load()?;
    let (scored, data_quality) = match store {
        None => (Scored::default(), None),
        Some(store) => {
            let corpus = match corpus {
                Some(c) => c.to_string(),
                None => crate::analysis::evaluate::corpus_of(store, runs)?,
            };
            let data_quality = DataQuality::of(store, &corpus)?;
            let all = store.runs(&corpus)?;
            let is_tagger = |id: &i64| all.iter().any(|r| r.id == *id && !r.kind.predicts_labels());
            let (tagger_ids, label_ids): (Vec<i64>, Vec<i64>) = runs.iter().partition(|id| is_tagger(id));
            let label_runs = all.iter().filter(|r| r.kind.predicts_labels()).count();
            let taggers_only = !runs.is_empty() && label_ids.is_empty();
            // Tagging runs asked for by id are scored (or the error says why they cannot be).
            let entities = if !tagger_ids.is_empty() || (runs.is_empty() && crate::analysis::tagging::can_evaluate(store, &corpus)?) {
                Some(crate::analysis::tagging::evaluate_taggers(store, &corpus, &tagger_ids, options)?)
            } else {
                None
            };
            // A scanned corpus, or one with only tagging runs, gets its report without label scores.
            let evaluation = if taggers_only || (runs.is_empty() && label_runs == 0 && (data_quality.is_some() || entities.is_some())) {
                None
            } else {
                Some(crate::analysis::evaluate::evaluate_watched(store, &corpus, &label_ids, options, watch)?)
            };
            (Scored { evaluation, entities }, data_quality)
        }
    };
    let input = ReportInput {
        published: &published,
        evaluation: scored.evaluation.as_ref(),
        data_quality: data_quality.as_ref(),
        entities: scored.entities.as_ref(),
        generated_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    };
    let files = write_report_watched(dir, &input, watch)?;
    Ok((files, scored))
}

/// Writes `index.html`, `report.json` and `figures/*.{svg,png}` into `dir` (created if needed).
/// Each file is written to a temporary name and renamed, so none is ever half-written.
pub fn write_report(dir: &Path, input: &ReportInput) -> Result<ReportFiles> {
    write_report_watched(dir, input, &mut Watch::none())
}

/// [`write_report`], with a step per figure drawn; a cancel leaves the files already renamed
/// into place (each whole) and writes no index.
pub fn write_report_watched(dir: &Path, input: &ReportInput, watch: &mut Watch) -> Result<ReportFiles> {
    let figures_dir = dir.join("figures");
    std::fs::create_dir_all(&figures_dir).map_err(|e| Error::io(&figures_dir, e))?;
    let mut figures = published_figures(input.published);
    if let Some(e) = input.evaluation {
        figures.extend(evaluation_figures(e));
    }
    if let Some(q) = input.data_quality {
        figures.extend(data_quality_figures(q));
    }
    if let Some(e) = input.entities {
        figures.extend(entity_figures(e));
    }
    let mut written = Vec::new();
    let mut svgs = Vec::new();
    watch.stage(JobStage::Reporting, figures.len() as u64)?;
    for figure in &figures {
        let svg = figure.chart.svg()?;
        let svg_path = figures_dir.join(format!("{}.svg", figure.name));
        crate::fs::write(&svg_path, svg.as_bytes())?;
        let png_path = figures_dir.join(format!("{}.png", figure.name));
        figure.chart.write_png(&png_path)?;
        written.push(svg_path);
        written.push(png_path);
        svgs.push(svg);
        watch.tick()?;
    }
    let html = render_html(input, &figures, &svgs).into_string();
    let html_path = dir.join("index.html");
    crate::fs::write(&html_path, html.as_bytes())?;
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "generated_at": input.generated_at,
        "published": input.published,
        "evaluation": input.evaluation,
        "data_quality": input.data_quality,
        "entities": input.entities,
    }))
    .expect("report data serializes");
    let json_path = dir.join("report.json");
    crate::fs::write(&json_path, json.as_bytes())?;
    Ok(ReportFiles { html: html_path, json: json_path, figures: written })
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1a1a1a;line-height:1.45}\
table{border-collapse:collapse;margin:.6em 0 1.2em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}figure{margin:1em 0}figure svg{max-width:100%;height:auto}\
figcaption{font-size:.9em;color:#444}.tag{display:inline-block;font-size:.75em;padding:.05em .45em;border-radius:.6em;margin-right:.4em}\
.published{background:#e3effa;color:#0b4a80}.measured{background:#e5f6ec;color:#14613a}code{font-size:.85em;word-break:break-all}\
blockquote{margin:.3em 0;padding-left:.8em;border-left:3px solid #ccc;white-space:pre-wrap}";

fn num(v: f64) -> String {
    format!("{v:.3}")
}

fn estimate(e: &Estimate) -> String {
    format!("{:.3} [{:.3}, {:.3}]", e.value, e.low, e.high)
}

fn figure(figures: &[Figure], svgs: &[String], name: &str) -> Markup {
    match figures.iter().position(|f| f.name == name) {
        Some(i) => html! {
            figure {
                // plotters writes the SVG and escapes the text in it; it is ours, not user markup.
                (PreEscaped(svgs[i].as_str()))
                figcaption { (figures[i].caption) " Files: " code { "figures/" (name) ".svg" } ", " code { "figures/" (name) ".png" } "." }
            }
        },
        None => html! {},
    }
}

/// Tagging runs on the corpus's reference spans: each reading's micro scores with the F1
/// interval, macro F1, and every type's F1 (the card's NER column is entity-level micro F1).
fn entities_section(e: &crate::analysis::tagging::EntityEvaluation, figures: &[Figure], svgs: &[String]) -> Markup {
    let types: Vec<&String> = {
        let mut t: Vec<&String> = e.runs.iter().flat_map(|r| &r.scores).flat_map(|s| s.report.per_type.iter().map(|(t, _)| t)).collect();
        t.sort();
        t.dedup();
        t
    };
    let ci = |x: &crate::analysis::metrics::Estimate| format!("{:.3} [{:.3}, {:.3}]", x.value, x.low, x.high);
    html! {
        h2 { span.tag.measured { "measured here" } "Entities on “" (e.corpus) "”" }
        p { (e.n) " records with reference spans (" (e.reference_entities) " entities), tagged by every run below. "
            "Entity-level scores as seqeval computes them: an entity counts when its type and both boundaries match; "
            "intervals are 95% percentile bootstraps over records. A run of single tokens (aggregation none) is read "
            "in seqeval's default mode and in strict IOB2. Each predicted entity is exact, of the wrong type (same words), "
            "of the wrong boundaries (same type, overlapping), wrong in both, or spurious; missed entities overlap no prediction." }
        table {
            thead { tr { th { "Run" } th { "Model" } th { "Options" } th { "Reading" } th { "Precision" } th { "Recall" } th { "F1 (micro)" } th { "F1 (macro)" }
                @for t in &types { th { "F1 " (t) } }
                th { "Exact" } th { "Wrong type" } th { "Wrong boundaries" } th { "Both wrong" } th { "Spurious" } th { "Missed" } } }
            tbody {
                @for r in &e.runs { @for s in &r.scores {
                    tr {
                        td.num { (r.run) } td { (r.model) } td { code { (r.options) } }
                        td { @match s.mode { Some(crate::analysis::seqeval::Mode::Strict) => { "strict IOB2" }, Some(_) => { "default" }, None => { "entities" } } }
                        td.num { (format!("{:.3}", s.report.micro.precision)) } td.num { (format!("{:.3}", s.report.micro.recall)) }
                        td.num { (ci(&s.micro_f1)) } td.num { (ci(&s.macro_f1)) }
                        @for t in &types { td.num { @match s.report.per_type.iter().find(|(name, _)| name == *t) { Some((_, x)) => { (format!("{:.3}", x.f1)) }, None => { "—" } } } }
                        @let x = &s.errors;
                        @for n in [x.exact, x.wrong_type, x.wrong_boundaries, x.wrong_both, x.spurious, x.missed] { td.num { (n) } }
                    }
                } }
            }
        }
        (figure(figures, svgs, "entities-type-f1"))
        (figure(figures, svgs, "entities-errors"))
        @for f in figures.iter().filter(|f| f.name.starts_with("entities-confusion-")) { (figure(figures, svgs, &f.name)) }
    }
}

fn render_html(input: &ReportInput, figures: &[Figure], svgs: &[String]) -> Markup {
    let p = input.published;
    let title = match (input.evaluation, input.data_quality, input.entities) {
        (Some(e), _, _) => format!("Model comparison on corpus “{}”", e.corpus),
        (None, _, Some(e)) => format!("Taggers compared on corpus “{}”", e.corpus),
        (None, Some(q), None) => format!("Data quality of corpus “{}”", q.scan.key.corpus),
        (None, None, None) => "SELECTRA: published comparison".to_string(),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { (title) }
                p { "Made by Selectra Studio " (env!("CARGO_PKG_VERSION")) " on " (input.generated_at) ". "
                    span.tag.published { "published" } "numbers are typed in from their sources; "
                    span.tag.measured { "measured here" } "numbers were computed from this project's runs and labels." }
                @if let Some(e) = input.evaluation { (evaluation_section(e, figures, svgs)) }
                @if let Some(q) = input.data_quality { (data_quality_section(q, figures, svgs)) }
                @if let Some(e) = input.entities { (entities_section(e, figures, svgs)) }
                h2 { span.tag.published { "published" } "The SELECTRA card's comparison" }
                p { "Fine-tuned results as published; SELECTRA rows are the mean ± standard deviation of 5 runs." }
                table {
                    thead { tr { th { "Model" } th { "Parameters" } @for t in CARD_TASKS { th { (t) } } th { "Source" } } }
                    tbody {
                        @for m in CARD_MODELS {
                            @let first = p.scores.iter().find(|s| s.model == *m);
                            tr {
                                td { (m) }
                                td.num { @match first.and_then(|s| s.params_millions) { Some(v) => { (format!("{v:.0}M")) }, None => { "—" } } }
                                @for t in CARD_TASKS {
                                    td.num { @match p.score(m, t) {
                                        Some(s) => { (s.display()) " " small { "(" (s.metric) ")" } },
                                        None => { "—" },
                                    } }
                                }
                                td { @if let Some(s) = first { (s.source) } }
                            }
                        }
                    }
                }
                (figure(figures, svgs, "published-scores"))
                @for t in CARD_TASKS { (figure(figures, svgs, &format!("published-size-{}", slug(t)))) }
                h3 { span.tag.published { "published" } "Zero-shot classifiers" }
                table {
                    thead { tr { th { "Model" } th { "Parameters" } th { "Task" } th { "Score" } th { "Source" } } }
                    tbody {
                        @for s in p.scores.iter().filter(|s| s.source == "zeroshot-card") {
                            tr { td { (s.model) } td.num { @if let Some(v) = s.params_millions { (format!("{v:.0}M")) } } td { (s.task) } td.num { (s.display()) " " small { "(" (s.metric) ")" } } td { (s.source) } }
                        }
                    }
                }
                h3 { "Sources" }
                dl {
                    @for s in &p.sources {
                        dt { code { (s.source) } ": " (s.citation) " — " a href=(s.url) { (s.url) } }
                        dd { (s.note) }
                    }
                }
            }
        }
    }
}

fn data_quality_section(q: &DataQuality, figures: &[Figure], svgs: &[String]) -> Markup {
    html! {
        h2 { span.tag.measured { "measured here" } "Data quality: tokens that look replaced" }
        p {
            "Scan " (q.scan.id) " of corpus " strong { (q.scan.key.corpus) } " with " code { (q.scan.key.model) }
            " (weights " code { (q.scan.key.weights_sha256) } "): the discriminator's P(replaced) for every token; a word scores as its \
             most suspicious token and counts as flagged from " (crate::domain::rtd::REPLACED_THRESHOLD) "."
        }
        (figure(figures, svgs, &format!("scan-{}-suspicion", q.scan.id)))
        h3 { "Word forms flagged most often" }
        table {
            thead { tr { th { "Word" } th { "Count" } th { "Mean P(replaced)" } th { "Rows" } } }
            tbody {
                @for w in &q.words {
                    tr { td { (w.word) } td.num { (w.count) } td.num { (num(f64::from(w.mean_probability))) }
                         td { (w.examples.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")) } }
                }
            }
        }
        h3 { "Most suspicious records" }
        table {
            thead { tr { th { "Row" } th { "Suspicion" } th { "Text (flagged words marked)" } } }
            tbody {
                @for r in &q.records {
                    tr { td.num { (r.row_number) } td.num { (num(f64::from(r.suspicion))) } td { (marked_text(r)) } }
                }
            }
        }
    }
}

/// A record's text with its flagged words in `mark` elements; every piece is escaped by maud.
fn marked_text(r: &crate::store::SuspiciousRecord) -> Markup {
    let chars: Vec<char> = r.text.chars().collect();
    // Checked slicing: a word whose span is out of order or outside the text (a damaged or
    // hand-made scan) gives an empty piece, never a panic.
    let piece = |start: usize, end: usize| -> String { chars.get(start..end.min(chars.len())).map(|c| c.iter().collect()).unwrap_or_default() };
    let mut pieces: Vec<(String, Option<f32>)> = Vec::new();
    let mut at = 0;
    for w in r.words().into_iter().filter(|w| w.flagged) {
        if w.start < at || w.end < w.start {
            continue;
        }
        pieces.push((piece(at, w.start), None));
        pieces.push((piece(w.start, w.end), Some(w.probability)));
        at = w.end;
    }
    pieces.push((piece(at, chars.len()), None));
    html! {
        @for (text, p) in &pieces {
            @match p {
                Some(p) => { mark title=(format!("P(replaced) {p:.4}")) { (text) } },
                None => { (text) },
            }
        }
    }
}

fn evaluation_section(e: &Evaluation, figures: &[Figure], svgs: &[String]) -> Markup {
    html! {
        h2 { span.tag.measured { "measured here" } "Runs on your labels" }
        p {
            "Corpus " strong { (e.corpus) } ": reference labels from "
            (e.references.accepted_annotations) " accepted annotations and " (e.references.gold) " gold values; "
            (e.references.excluded) " records left out (discarded, unlabeled, or not predicted by every run). "
            "Intervals are 95% percentile-bootstrap intervals (1000 resamples, seed 0)."
        }
        table {
            thead { tr { th { "Run" } th { "Model" } th { "Records" } th { "Accuracy" } th { "Macro F1" } th { "Micro F1" } th { "Weighted F1 / Hamming loss" } th { "ECE" } } }
            tbody {
                @for r in &e.runs {
                    tr {
                        td { "#" (r.run.id) } td { (r.run.key.model) } td.num { (records(r)) }
                        @match &r.metrics {
                            RunMetrics::SingleLabel(m) => {
                                td.num { (estimate(&m.accuracy)) } td.num { (estimate(&m.macro_f1)) } td.num { (num(m.micro_f1)) }
                                td.num { (num(m.weighted_f1)) } td.num { (num(m.ece)) }
                            },
                            RunMetrics::MultiLabel(m) => {
                                td.num { (num(m.subset_accuracy)) " " small { "(exact set)" } } td.num { (estimate(&m.macro_f1)) } td.num { (estimate(&m.micro_f1)) }
                                td.num { (num(m.hamming_loss)) } td.num { "—" }
                            },
                        }
                    }
                }
            }
        }
        (figure(figures, svgs, "runs-label-f1"))
        @for r in &e.runs { (run_section(r, figures, svgs)) }
    }
}

fn run_section(r: &RunEvaluation, figures: &[Figure], svgs: &[String]) -> Markup {
    let k = &r.run.key;
    let id = r.run.id;
    html! {
        h3 { span.tag.measured { "measured here" } "Run #" (id) ": " (k.model) }
        table {
            tbody {
                tr { th { "Model" } td { (k.model) } }
                tr { th { "Weights SHA-256" } td { code { (k.weights_sha256) } } }
                tr { th { "Labels" } td { (k.labels.join(", ")) } }
                tr { th { "Template" } td { (k.template) } }
                tr { th { "Multi-label" } td { (k.multi_label) } }
                tr { th { "strip_accents" } td { @match k.strip_accents { Some(v) => { (v) }, None => { "tokenizer default" } } } }
                tr { th { "Run started / finished" } td { (r.run.created_at) " / " (r.run.finished_at.as_deref().unwrap_or("not finished")) } }
            }
        }
        @let rows = match &r.metrics { RunMetrics::SingleLabel(m) => &m.per_label, RunMetrics::MultiLabel(m) => &m.per_label };
        table {
            thead { tr { th { "Label" } th { "Precision" } th { "Recall" } th { "F1" } th { "Support" } } }
            tbody { @for s in rows { tr { td { (s.label) } td.num { (num(s.precision)) } td.num { (num(s.recall)) } td.num { (num(s.f1)) } td.num { (s.support) } } } }
        }
        @if let RunMetrics::SingleLabel(m) = &r.metrics {
            (figure(figures, svgs, &format!("run-{id}-confusion")))
            (figure(figures, svgs, &format!("run-{id}-reliability")))
            h4 { "Accuracy when only confident predictions are kept" }
            table {
                thead { tr { th { "Keep score ≥" } th { "Coverage" } th { "Kept" } th { "Accuracy" } } }
                tbody { @for c in m.coverage.iter().step_by(2) { tr { td.num { (format!("{:.2}", c.threshold)) } td.num { (num(c.coverage)) } td.num { (c.kept) } td.num { @match c.accuracy { Some(a) => { (num(a)) }, None => { "—" } } } } } }
            }
        }
        (figure(figures, svgs, &format!("run-{id}-scores")))
        @if !r.mistakes.is_empty() {
            h4 { "Most confident mistakes" }
            table {
                thead { tr { th { "Row" } th { "Text" } th { "Reference" } th { "Predicted" } th { "Confidence" } } }
                tbody {
                    @for m in &r.mistakes {
                        tr {
                            td.num { (m.row_number) @if let Some(s) = &m.source_id { br; small { (s) } } }
                            td { blockquote { (m.text) } }
                            td { (m.reference.join(", ")) } td { (m.predicted.join(", ")) } td.num { (num(m.confidence)) }
                        }
                    }
                }
            }
        }
    }
}
