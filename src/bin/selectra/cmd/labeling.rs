//! `selectra` commands. Labeling: query records, label them in bulk, the line protocol of
//! `annotate`, agreement between annotators.

use std::io::Write;

use selectra::store::{Status, Store, Target};
use selectra::Result;

use crate::args::{AgreementArgs, AnnotateArgs, DuplicatesArgs, IssuesArgs, LabelArgs, MapArgs, QueryArgs, SimilarArgs};
use crate::output::*;

pub fn annotate(args: AnnotateArgs) -> Result<()> {
    let AnnotateArgs { db, corpus, annotator } = args;
    annotate_stream(&db, &corpus, annotator)?;
    Ok(())
}

pub fn query(args: QueryArgs) -> Result<()> {
    let QueryArgs { db, corpus, filters, annotator, order, limit, after, json } = args;
    let seed = filters.seed;
    let mut q = filters.query(annotator)?;
    q.sort = selectra::store::Sort::parse(&order, seed)?;
    q.limit = limit;
    q.after = after.as_deref().map(selectra::store::Cursor::parse).transpose()?;
    let store = Store::open_existing(&db)?;
    let page = store.query(&corpus, &q)?;
    let total = match page.total {
        Some(t) => t,
        None => store.count(&corpus, &q)?,
    };
    if json {
        print_json(&selectra::api::wire::PageDto::new(page, Some(total)));
    } else {
        out!("{total} matching records");
        for r in &page.rows {
            let label = r.annotation_labels.as_ref().map(|l| l.join(",")).unwrap_or_default();
            let predicted = match (&r.top_label, r.top_score) {
                (Some(l), Some(s)) => format!("{l} {s:.2}"),
                _ => String::new(),
            };
            out!("{:>7}  {:<16}  {:<20}  {}", r.row_number, label, predicted, selectra::domain::text::cell(&r.text, 80));
        }
        if let Some(next) = page.next {
            out!("more: --after {next}");
        }
    }
    Ok(())
}

pub fn label(args: LabelArgs) -> Result<()> {
    let LabelArgs { db, corpus, filters, annotated_by, labels, discard, entities_from, pending, annotator, json } = args;
    let q = filters.query(annotated_by)?;
    let mut store = Store::open_existing(&db)?;
    let annotator = match annotator {
        Some(a) => a,
        None => store.annotator()?,
    };
    let outcome = match entities_from {
        Some(run) => {
            let status = if pending { Status::Pending } else { Status::Accepted };
            store.accept_entities(&corpus, Target::Matching(&q), run, status, &annotator)?
        }
        None if discard => store.annotate_matching(&corpus, &q, &[], Status::Discarded, &annotator)?,
        None => store.annotate_matching(&corpus, &q, &labels, Status::Accepted, &annotator)?,
    };
    if json {
        print_json(&outcome);
    } else {
        match outcome.batch {
            Some(batch) => out!(
                "batch {batch}: {} of {} matching records changed ({} already had this annotation)",
                outcome.changed,
                outcome.matched,
                outcome.matched - outcome.changed
            ),
            None => out!("nothing changed: {} matching records already had this annotation", outcome.matched),
        }
    }
    Ok(())
}

pub fn issues(args: IssuesArgs) -> Result<()> {
    let IssuesArgs { db, corpus, run, json } = args;
    let store = Store::open_existing(&db)?;
    let found = selectra::analysis::label_issues::for_run(&store, &corpus, run)?;
    if json {
        print_json(&found);
        return Ok(());
    }
    out!("{} of {} records with a reference label are likely mislabeled (run {run})", found.issues.len(), found.records);
    if found.outside_run_labels > 0 {
        out!("{} records have a reference outside the run's labels and were left out", found.outside_run_labels);
    }
    for i in &found.issues {
        out!("{:>7}  {:<16} → {:<16} {:.3}", i.row, i.given, i.suggested, i.quality);
    }
    if found.multi_label {
        out!("each label on its own: P(flag given | flag true), rows and columns without, with the label");
        for l in &found.per_label {
            let m = &l.noise_matrix;
            out!("  {:<16} {} likely wrong flags; without [{:.3} {:.3}], with [{:.3} {:.3}]", l.label, l.issues, m[0][0], m[0][1], m[1][0], m[1][1]);
        }
        return Ok(());
    }
    out!("noise matrix, P(given | true), columns the true labels: {}", found.labels.join(", "));
    for (label, row) in found.labels.iter().zip(&found.noise_matrix) {
        out!("  {label:<16} {}", row.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join("  "));
    }
    Ok(())
}

pub fn duplicates(args: DuplicatesArgs) -> Result<()> {
    use selectra::analysis::similar::duplicate_groups;
    let DuplicatesArgs { db, corpus, embeddings, threshold, discard, annotator, json } = args;
    let mut store = Store::open_existing(&db)?;
    let report = with_job_progress(|progress, cancel| {
        let mut watch = selectra::domain::progress::Watch::new(progress, cancel);
        duplicate_groups(&store, &corpus, embeddings, threshold, &mut watch)
    })?;
    let discarded = if discard {
        let rest = report.to_discard()?;
        let annotator = match annotator {
            Some(a) => a,
            None => store.annotator()?,
        };
        Some(store.discard(&corpus, Target::Records(&rest), &annotator)?)
    } else {
        None
    };
    if json {
        print_json(&serde_json::json!({ "duplicates": report, "discarded": discarded }));
        return Ok(());
    }
    let how = match (report.embeddings, report.threshold) {
        (Some(set), Some(t)) => format!(
            "same text after normalisation, or cosine ≥ {t} in embedding set {set} ({} of them embedded; {})",
            report.embedded,
            if report.exhaustive {
                "every pair compared".to_string()
            } else {
                format!("candidate pairs by hashing, a pair at the threshold found with probability ≥ {}", selectra::analysis::similar::LSH_RECALL)
            }
        ),
        _ => "same text after normalisation".to_string(),
    };
    out!("{} duplicate groups, {} of {} records ({how})", report.groups.len(), report.in_groups(), report.records);
    if let Some(warning) = &report.warning {
        eprintln!("warning: {warning}");
    }
    for g in &report.groups {
        let kind = match g.least_similarity {
            None => "exact".to_string(),
            Some(s) => format!("near, cosine ≥ {s:.3}"),
        };
        let flag = if g.labels_disagree { "  labels disagree" } else { "" };
        out!("{} records, {kind}{flag}", g.records.len());
        for m in &g.records {
            let keep = if m.record_id == g.keep { "keep" } else { "    " };
            let labels = if m.labels.is_empty() { "-".to_string() } else { m.labels.join("|") };
            out!("  {keep} {:>7}  {:<16} {}", m.row, labels, selectra::domain::text::cell(&m.text, 70));
        }
    }
    if let Some(outcome) = discarded {
        out!("discarded {} records (batch {}); one undo takes the batch back", outcome.changed, outcome.batch.map_or("-".into(), |b| b.to_string()));
    }
    Ok(())
}

pub fn similar(args: SimilarArgs) -> Result<()> {
    use selectra::analysis::similar::{more_like, Vectors, DEFAULT_NEIGHBOURS};
    let SimilarArgs { db, corpus, embeddings, row, text, k, json } = args;
    let store = Store::open_existing(&db)?;
    let set = store.corpus_embedding_set(&corpus, embeddings)?;
    let vectors = Vectors::load(&store, embeddings)?;
    let k = k.unwrap_or(DEFAULT_NEIGHBOURS);
    let found = match (row, &text) {
        (Some(row), _) => more_like(&store, &vectors, store.record_id(&corpus, row)?, k)?,
        (None, Some(text)) => {
            let model = load(&set.key.model, set.key.strip_accents)?;
            let query = selectra::jobs::corpus_run::embed_query(&store, &model, embeddings, text)?;
            vectors.nearest(&query, k, None)?
        }
        (None, None) => unreachable!("clap requires --row or --text"),
    };
    let rows: Vec<(selectra::analysis::similar::Neighbour, u64, String)> =
        found.into_iter().map(|n| Ok((n, store.record_row(n.record_id)?, store.record_text(n.record_id)?))).collect::<Result<_>>()?;
    if json {
        let items: Vec<_> = rows.iter().map(|(n, row, text)| serde_json::json!({"row": row, "similarity": n.similarity, "text": text})).collect();
        print_json(&serde_json::json!({ "embeddings": embeddings, "neighbours": items }));
        return Ok(());
    }
    for (n, row, text) in &rows {
        out!("{:>7}  {:.4}  {}", row, n.similarity, selectra::domain::text::cell(text, 90));
    }
    Ok(())
}

pub fn map(args: MapArgs) -> Result<()> {
    use selectra::analysis::projection::{enclosed, make_map, ProjectionMethod};
    let MapArgs { db, corpus, embeddings, method, seed, inside, json } = args;
    let method = ProjectionMethod::parse(&method)?;
    let outline = inside.as_deref().map(parse_outline).transpose()?;
    let mut store = Store::open_existing(&db)?;
    let (info, points) = with_job_progress(|progress, cancel| {
        let mut watch = selectra::domain::progress::Watch::new(progress, cancel);
        make_map(&mut store, &corpus, embeddings, method, seed, &mut watch)
    })?;
    if let Some(outline) = outline {
        let rows: Vec<u64> = enclosed(&points, &outline)?.into_iter().map(|id| store.record_row(id)).collect::<Result<_>>()?;
        if json {
            print_json(&serde_json::json!({ "map": info.id, "rows": rows }));
        } else {
            out!("{} records inside: {}", rows.len(), rows.iter().map(u64::to_string).collect::<Vec<_>>().join(" "));
        }
        return Ok(());
    }
    if json {
        let items: Vec<_> = points
            .record_ids
            .iter()
            .zip(points.x.iter().zip(&points.y))
            .map(|(id, (x, y))| Ok(serde_json::json!({"row": store.record_row(*id)?, "x": x, "y": y})))
            .collect::<Result<_>>()?;
        print_json(&serde_json::json!({ "map": info, "points": items }));
    } else {
        let ratio: Vec<String> = info.explained_variance_ratio.iter().map(|r| format!("{:.1}%", r * 100.0)).collect();
        let how = if ratio.is_empty() { format!("seed {}", info.seed) } else { format!("axes holding {} of the variance", ratio.join(" and ")) };
        out!("map {} of embedding set {}: {} records by {}, {how}", info.id, embeddings, info.records, info.method.as_str());
        out!(
            "map {} of embedding set {}: {} records by {}, axes holding {} of the variance",
            info.id,
            embeddings,
            info.records,
            info.method.as_str(),
            ratio.join(" and ")
        );
    }
    Ok(())
}

/// "x,y x,y x,y": an outline's points.
fn parse_outline(text: &str) -> Result<Vec<(f64, f64)>> {
    text.split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').ok_or_else(|| selectra::Error::Input(format!("an outline point is x,y, not {p:?}")))?;
            let num = |v: &str| v.trim().parse::<f64>().map_err(|_| selectra::Error::Input(format!("{v:?} in the outline is not a number")));
            Ok((num(x)?, num(y)?))
        })
        .collect()
}

pub fn agreement(args: AgreementArgs) -> Result<()> {
    let AgreementArgs { db, corpus, json } = args;
    let store = Store::open_existing(&db)?;
    let a = store.annotator_agreement(&corpus)?;
    if json {
        print_json(&a);
    } else {
        let fmt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
        for c in &a.annotators {
            out!("{:<20} {} accepted", c.annotator, c.records);
        }
        for p in &a.pairs {
            out!("{} vs {}: {} shared records, agreement {}, Cohen's kappa {}", p.a, p.b, p.records, fmt(p.observed), fmt(p.kappa));
        }
        if let Some(f) = &a.fleiss {
            out!("all {} annotators: {} shared records, Fleiss' kappa {}", f.annotators, f.records, fmt(f.kappa));
        }
        out!("{} records disputed", a.disputed);
        for p in &a.span_pairs {
            out!(
                "{} vs {}: entity spans on {} shared records, F1 {} ({} matched of {} and {})",
                p.a,
                p.b,
                p.records,
                fmt(p.f1),
                p.matched,
                p.a_entities,
                p.b_entities
            );
        }
    }
    Ok(())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnotateLine {
    row: Option<u64>,
    labels: Option<Vec<String>>,
    /// Entity spans, in the shapes an import reads (`{"start", "end", "label"}` or triples).
    spans: Option<serde_json::Value>,
    status: Option<String>,
    #[serde(default)]
    undo: bool,
}

/// Applies each stdin line as one durable change and acknowledges it on stdout. A bad line is
/// reported on stderr (with its line number) and skipped; the exit status then says so.
fn annotate_stream(db: &std::path::Path, corpus: &str, annotator: Option<String>) -> selectra::Result<()> {
    use std::io::BufRead;
    let mut store = Store::open_existing(db)?;
    store.corpus(corpus)?;
    let annotator = match annotator {
        Some(a) => a,
        None => store.annotator()?,
    };
    let annotator = annotator.as_str();
    let mut failed = 0usize;
    let stdout = std::io::stdout();
    // Lines are read as bytes, so that one line that is not UTF-8 is reported and skipped like
    // any other bad line instead of ending the stream.
    for (n, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let line = line.map_err(|e| selectra::Error::Io { path: "<stdin>".into(), source: e })?;
        let line = match String::from_utf8(line) {
            Ok(line) => line,
            Err(e) => {
                failed += 1;
                eprintln!(
                    "line {}: not UTF-8 text (invalid byte at position {}); annotation lines are JSON in UTF-8",
                    n + 1,
                    e.utf8_error().valid_up_to() + 1
                );
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let result = serde_json::from_str::<AnnotateLine>(line.trim_start_matches('\u{feff}'))
            .map_err(|e| selectra::Error::Input(format!("not an annotation line ({})", selectra::error::shortened(&e.to_string()))))
            .and_then(|a| {
                if a.undo {
                    return store.undo_last(corpus, annotator);
                }
                let row = a.row.ok_or_else(|| selectra::Error::Input("the line has no \"row\"".into()))?;
                let status = Status::parse(a.status.as_deref().unwrap_or("accepted"))?;
                let record = store.record_id(corpus, row)?;
                // Spans are read against the record's text; labels and spans change in one event.
                let spans = match &a.spans {
                    Some(value) => Some(selectra::domain::spans::parse_spans(value, &store.record_text(record)?).map_err(selectra::Error::Input)?),
                    None => None,
                };
                let labels = match (a.labels, &spans) {
                    (None, None) => Some(Vec::new()),
                    (labels, _) => labels,
                };
                let event = store.annotate_record(record, labels.as_deref(), spans.as_deref(), status, annotator)?;
                Ok(Some(selectra::store::Undone::Change(event)))
            });
        match result {
            Ok(event) => {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{}", serde_json::to_string(&event).expect("plain data serializes"));
                let _ = out.flush();
            }
            Err(e) => {
                failed += 1;
                eprintln!("line {}: {e}", n + 1);
            }
        }
    }
    if failed > 0 {
        return Err(selectra::Error::Input(format!("{failed} line(s) were not applied")));
    }
    Ok(())
}
