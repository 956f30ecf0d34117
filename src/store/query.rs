//! The labeling queries: one filter model shared by the app's filter bar, `selectra query` and
//! `selectra label`. A [`Query`] combines any of: text search, gold label, annotation status,
//! annotator, a run's predicted label, score and margin ranges, disagreement (two runs, a run and
//! the annotations or the gold labels, or annotators among themselves), metadata equality and
//! numeric ranges, the most suspicious records of a scan, and a seeded random sample of N. It
//! sorts by import order, uncertainty, score, suspicion or a seeded shuffle, and reads a page at
//! a time: keyset paging ([`Cursor`]), so a deep page costs what the first does.

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::Store;
use crate::domain::annotation::Status;
pub use crate::domain::query::{Cursor, Disagreement, EvalFilter, MetaFilter, Query, Sample, Sort, StatusFilter, MAX_PAGE};
use crate::domain::spans::Span;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryRow {
    pub record_id: i64,
    pub row_number: u64,
    pub source_id: Option<String>,
    pub text: String,
    /// The second text of a sentence pair.
    pub text_pair: Option<String>,
    pub gold: Option<String>,
    /// The record's metadata (a JSON object), as imported.
    pub metadata: Option<serde_json::Value>,
    pub annotation_labels: Option<Vec<String>>,
    /// The annotation's entity spans, when it has them.
    pub annotation_spans: Option<Vec<crate::domain::spans::Span>>,
    pub annotation_status: Option<Status>,
    pub annotator: Option<String>,
    pub top_label: Option<String>,
    pub top_score: Option<f64>,
    pub margin: Option<f64>,
    pub entropy: Option<f64>,
    /// The record's suspicion in the query's scan.
    pub suspicion: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    pub rows: Vec<QueryRow>,
    /// How many records match, over all pages; counted for the first page only (no cursor, no
    /// offset), since counting a million rows costs more than reading a page.
    pub total: Option<u64>,
    /// The cursor of the page after this one; `None` on the last page.
    #[serde(serialize_with = "cursor_text")]
    pub next: Option<Cursor>,
}

fn cursor_text<S: serde::Serializer>(c: &Option<Cursor>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_some(&c.to_string()),
        None => s.serialize_none(),
    }
}

/// The modulus of the seeded shuffle: a prime just above 2^32.
const SHUFFLE_PRIME: u64 = 4_294_967_311;

/// The seeded shuffle's multiplier, in [1, SHUFFLE_PRIME): ids map to distinct keys (the prime
/// does not divide the multiplier), in an order each seed scrambles differently.
fn shuffle_multiplier(seed: u64) -> u64 {
    let mixed = ((u128::from(seed) + 1) * 0x9E37_79B9_7F4A_7C15) ^ (u128::from(seed) << 17);
    1 + (mixed % u128::from(SHUFFLE_PRIME - 1)) as u64
}

/// FTS5 query syntax would turn user input like `"` or `AND` into syntax; quote every word.
fn fts_phrase(text: &str) -> String {
    text.split_whitespace().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect::<Vec<_>>().join(" ")
}

/// A metadata value as text, as the filters compare it and the app shows it: a string as is, a
/// number as written, true/false, and arrays or objects as JSON; `null` is no value.
pub fn meta_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A metadata value as a number: a JSON number, or text that holds one.
fn meta_number(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// A validated query as SQL: the tables it reads, its filter, its order and its arguments.
pub(super) struct Plan {
    /// Driven from the run's predictions (the prediction filters and orders use their indexes).
    by_run: bool,
    /// Driven from a finished tagging run's records in the order of their least sure entity
    /// (its index), when the order is that and no prediction drives: a finished run has tagged
    /// every record of its corpus, so no record is left out.
    by_tagged: bool,
    /// The listed records drive the query (`FROM json_each(list) l`), in their order.
    by_list: bool,
    run: i64,
    scan: i64,
    /// The tagging run whose entity scores sort (-1: none).
    tagged: i64,
    /// The filter's needs: the record table (when driven by predictions), annotations, the scan.
    needs_record: bool,
    needs_annotation: bool,
    needs_scan: bool,
    pub(super) filter: String,
    args: Vec<Sql>,
    /// The sort key (one SQL expression) and whether it ascends; ties go by record id, ascending
    /// or not.
    pub(super) key: String,
    ascending: bool,
    ids_ascending: bool,
    sort: Sort,
}

impl Plan {
    /// The record id column.
    fn rid(&self) -> &'static str {
        if self.by_run {
            "p.record_id"
        } else if self.by_tagged {
            "t.record_id"
        } else {
            "x.id"
        }
    }

    /// The bound list of the listed records (the first argument when the list drives).
    const LIST: &'static str = "?1";

    fn from(&self, record: bool, annotation: bool, scan: bool, prediction: bool) -> String {
        let rid = self.rid();
        let mut from = if self.by_run {
            "FROM prediction p".to_string()
        } else if self.by_tagged {
            // CROSS JOIN keeps the run's records the outer loop, read in the index's order.
            "FROM tagged_record t INDEXED BY tagged_record_by_entity_order CROSS JOIN record x ON x.id = t.record_id".to_string()
        } else if self.by_list {
            // The list is the outer loop, in its order; each record is one primary-key read.
            format!("FROM json_each({}) l CROSS JOIN record x ON x.id = l.value", Self::LIST)
        } else {
            "FROM record x".to_string()
        };
        if self.by_run && record {
            from.push_str(" JOIN record x ON x.id = p.record_id");
        }
        if !self.by_run && prediction {
            from.push_str(&format!(" LEFT JOIN prediction p ON p.run_id = {} AND p.record_id = x.id", self.run));
        }
        if annotation {
            from.push_str(&format!(" LEFT JOIN annotation a ON a.record_id = {rid}"));
        }
        if scan {
            from.push_str(&format!(" LEFT JOIN scan_result s ON s.scan_id = {} AND s.record_id = {rid}", self.scan));
        }
        if self.tagged >= 0 && !self.by_tagged {
            // One row per record at most (the primary key), so counts and pages are unchanged.
            from.push_str(&format!(" LEFT JOIN tagged_record t ON t.run_id = {} AND t.record_id = {rid}", self.tagged));
        }
        from
    }

    /// The condition of the rows after a page's cursor, its key bound as `?k` and its id as
    /// `?(k+1)`, in the order's direction.
    pub(super) fn after_cursor(&self, k: usize) -> String {
        let (key, rid) = (&self.key, self.rid());
        let cmp = if self.ascending { ">" } else { "<" };
        let id_cmp = if self.ids_ascending { ">" } else { "<" };
        if self.sort == Sort::Row {
            format!("{key} {cmp} ?{k}")
        } else if self.by_tagged {
            // The key is an expression (`COALESCE(t.min_score, 2.0)`): SQLite makes a row value
            // over an expression index no range, so the key's own bound seeks and the row value
            // settles ties.
            format!("{key} {cmp}= ?{k} AND ({key}, {rid}) {cmp} (?{k}, ?{})", k + 1)
        } else if self.ascending == self.ids_ascending {
            // A row value: SQLite turns it into a range on the order's index.
            format!("({key}, {rid}) {cmp} (?{k}, ?{})", k + 1)
        } else {
            format!("({key} {cmp} ?{k} OR ({key} = ?{k} AND {rid} {id_cmp} ?{}))", k + 1)
        }
    }

    pub(super) fn count_from(&self) -> String {
        self.from(self.needs_record, self.needs_annotation, self.needs_scan, false)
    }

    /// Every matching record id, in id order (for bulk actions).
    pub(super) fn record_ids(&self, conn: &Connection) -> rusqlite::Result<Vec<i64>> {
        let sql = format!("SELECT {} {} WHERE {} ORDER BY 1", self.rid(), self.count_from(), self.filter);
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(self.args.iter()), |r| r.get(0))?;
        rows.collect()
    }
}

impl Store {
    /// Checks a query against the corpus (its run and scan belong to it, the filters that need a
    /// run or a scan have one) and turns it into SQL.
    pub(super) fn plan(&self, corpus: &str, q: &Query) -> Result<Plan> {
        let corpus_id = self.corpus_id(corpus)?;
        let needs_run = q.predicted_label.is_some()
            || q.min_score.is_some()
            || q.max_score.is_some()
            || q.min_margin.is_some()
            || q.max_margin.is_some()
            || q.score_bin.is_some()
            || matches!(q.sort, Sort::Margin | Sort::Entropy | Sort::ScoreAsc | Sort::ScoreDesc);
        if needs_run && q.run.is_none() {
            return Err(Error::Input("filtering or sorting by predictions needs a run; pick one".into()));
        }
        let check_run = |run: i64| -> Result<()> {
            let run_corpus: Option<i64> =
                self.conn.query_row("SELECT corpus_id FROM run WHERE id = ?1", [run], |r| r.get(0)).optional().map_err(|e| self.err(e))?;
            match run_corpus {
                None => Err(Error::Input(format!("there is no run {run}"))),
                Some(c) if c != corpus_id => Err(Error::Input(format!("run {run} is over another corpus than {corpus:?}"))),
                Some(_) => Ok(()),
            }
        };
        if let Some(run) = q.run {
            check_run(run)?;
        }
        let mut split_gold = false;
        if let Some(e) = &q.evaluation {
            if e.runs.is_empty() {
                return Err(Error::Input("an evaluation filter needs the evaluated runs".into()));
            }
            if let Some(run) = e.mistakes_of.filter(|r| !e.runs.contains(r)) {
                return Err(Error::Input(format!("run {run} is not one of the evaluated runs")));
            }
            for &run in e.runs.iter().chain(&e.mistakes_of) {
                check_run(run)?;
                let multi: bool = self.conn.query_row("SELECT multi_label FROM run WHERE id = ?1", [run], |r| r.get(0)).map_err(|e| self.err(e))?;
                if e.runs.contains(&run) {
                    split_gold |= multi;
                }
                if multi && e.mistakes_of == Some(run) {
                    return Err(Error::Input(format!("run {run} is multi-label; its mistakes are sets of labels, not one filter")));
                }
            }
        }
        if q.score_bin.is_some_and(|b| b > 9) {
            return Err(Error::Input("a reliability bin is 0 to 9".into()));
        }
        match q.disagree {
            Some(Disagreement::Runs(a, b)) => {
                check_run(a)?;
                check_run(b)?;
            }
            Some(Disagreement::RunAnnotation(a) | Disagreement::RunGold(a) | Disagreement::RunSpans(a)) => check_run(a)?,
            Some(Disagreement::Annotators) | None => {}
        }
        if let Some(run) = q.tagging_run {
            check_run(run)?;
            // The kind alone (`Store::run` also counts the run's records: 0.1 s a page at a million).
            let kind: String = self.conn.query_row("SELECT kind FROM run WHERE id = ?1", [run], |r| r.get(0)).map_err(|e| self.err(e))?;
            if kind != super::RunKind::Tagger.as_str() {
                return Err(Error::Input(format!("run {run} is not a tagging run; entities come from a token classifier's run")));
            }
        } else if q.sort == Sort::EntityScoreAsc {
            return Err(Error::Input("ordering by entity scores needs a tagging run; pick one".into()));
        }
        if (q.min_suspicion.is_some() || q.sort == Sort::SuspicionDesc) && q.scan.is_none() {
            return Err(Error::Input("filtering or sorting by suspicion needs a scan; pick one".into()));
        }
        if let Some(scan) = q.scan {
            let scan_corpus: Option<i64> =
                self.conn.query_row("SELECT corpus_id FROM scan WHERE id = ?1", [scan], |r| r.get(0)).optional().map_err(|e| self.err(e))?;
            match scan_corpus {
                None => return Err(Error::Input(format!("there is no scan {scan}"))),
                Some(c) if c != corpus_id => return Err(Error::Input(format!("scan {scan} is of another corpus than {corpus:?}"))),
                Some(_) => {}
            }
        }
        if let Some(sample) = q.sample {
            if sample.size == 0 {
                return Err(Error::Input("a sample needs at least one record".into()));
            }
        }
        match &q.records {
            Some(list) if list.len() > crate::domain::query::MAX_LISTED => {
                return Err(Error::Input(format!("{} records listed; a query lists at most {}", list.len(), crate::domain::query::MAX_LISTED)))
            }
            None if q.sort == Sort::Listed => return Err(Error::Input("the listed order needs listed records (a search's or a tool's)".into())),
            _ => {}
        }
        // Scores, margins and suspicions are probabilities or their differences: in [0, 1].
        // NaN would match nothing, silently (and a bulk label would then change nothing).
        let bounds = [
            (q.min_score, "minimum score"),
            (q.max_score, "maximum score"),
            (q.min_margin, "minimum margin"),
            (q.max_margin, "maximum margin"),
            (q.min_suspicion, "minimum suspicion"),
        ];
        for (value, what) in bounds {
            if let Some(v) = value.filter(|v| !(0.0..=1.0).contains(v)) {
                return Err(Error::Input(format!("the {what} {v} is not a number from 0 to 1")));
            }
        }
        for (lo, hi, what) in [(q.min_score, q.max_score, "score"), (q.min_margin, q.max_margin, "margin")] {
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if lo > hi {
                    return Err(Error::Input(format!("the {what} range is empty: its minimum {lo} is above its maximum {hi}")));
                }
            }
        }

        let tagged = if q.sort == Sort::EntityScoreAsc { q.tagging_run.unwrap_or(-1) } else { -1 };
        let finished = tagged >= 0
            && self
                .conn
                .query_row("SELECT finished_at IS NOT NULL FROM run WHERE id = ?1", [tagged], |r| r.get::<_, bool>(0))
                .optional()
                .map_err(|e| self.err(e))?
                .unwrap_or(false);
        let mut plan = Plan {
            by_run: needs_run,
            by_tagged: finished && !needs_run,
            by_list: q.sort == Sort::Listed && !needs_run,
            run: q.run.unwrap_or(-1),
            scan: q.scan.unwrap_or(-1),
            tagged,
            needs_record: false,
            needs_annotation: false,
            needs_scan: false,
            filter: String::new(),
            args: Vec::new(),
            key: String::new(),
            ascending: true,
            ids_ascending: true,
            sort: q.sort,
        };
        let rid = plan.rid();
        let mut args: Vec<Sql> = Vec::new();
        let mut bind = |value: Sql| {
            args.push(value);
            format!("?{}", args.len())
        };
        // The list (each record once, first place kept) is bound first: `Plan::LIST`.
        if let Some(ids) = &q.records {
            let mut seen = std::collections::HashSet::with_capacity(ids.len());
            let unique: Vec<i64> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
            bind(Sql::Text(serde_json::to_string(&unique).expect("ids serialize")));
        }
        // Run and scan ids are integers and go into the SQL text; everything else is bound.
        let mut filters = if needs_run {
            vec![format!("p.run_id = {}", plan.run)]
        } else if plan.by_tagged {
            vec![format!("t.run_id = {}", plan.tagged)]
        } else {
            vec![format!("x.corpus_id = {}", bind(Sql::Integer(corpus_id)))]
        };
        if q.records.is_some() && !plan.by_list {
            filters.push(format!("{rid} IN (SELECT value FROM json_each({}))", Plan::LIST));
        }
        if let Some(label) = &q.predicted_label {
            filters.push(format!("p.top_label = {}", bind(Sql::Text(label.clone()))));
        }
        // A bound of the sort key on the side a page cursor is already past is left out: the
        // cursor's own condition implies it, and SQLite uses one range per side of an index
        // column, so keeping both would scan from the bound instead of from the cursor.
        let after = q.after.map(|c| c.key);
        let implied =
            |sort_asc: bool, lower: bool, bound: f64| after.is_some_and(|k| if lower { sort_asc && k >= bound } else { !sort_asc && k <= bound });
        let on_score = matches!(q.sort, Sort::ScoreAsc | Sort::ScoreDesc);
        if let Some(min) = q.min_score.filter(|&m| !(on_score && implied(q.sort == Sort::ScoreAsc, true, m))) {
            filters.push(format!("p.top_score >= {}", bind(Sql::Real(min))));
        }
        if let Some(max) = q.max_score.filter(|&m| !(on_score && implied(q.sort == Sort::ScoreAsc, false, m))) {
            filters.push(format!("p.top_score <= {}", bind(Sql::Real(max))));
        }
        if let Some(min) = q.min_margin.filter(|&m| !(q.sort == Sort::Margin && implied(true, true, m))) {
            filters.push(format!("p.margin >= {}", bind(Sql::Real(min))));
        }
        if let Some(max) = q.max_margin {
            filters.push(format!("p.margin <= {}", bind(Sql::Real(max))));
        }
        if let Some(bin) = q.score_bin {
            // As the evaluation bins: floor(score × 10), the top score 1.0 in the last bin.
            filters.push(format!("MIN(CAST(p.top_score * 10 AS INTEGER), 9) = {bin}"));
        }
        if let Some(e) = &q.evaluation {
            plan.needs_record = true;
            plan.needs_annotation = true;
            let reference = format!("selectra_reference(a.labels, a.status, x.gold, {})", i64::from(split_gold));
            filters.push(format!("{reference} IS NOT NULL"));
            for run in &e.runs {
                filters.push(format!("{rid} IN (SELECT record_id FROM prediction WHERE run_id = {run})"));
            }
            if let Some(label) = &e.reference {
                filters.push(format!("{reference} = {}", bind(Sql::Text(label.clone()))));
            }
            if let Some(run) = e.mistakes_of {
                filters.push(format!("(SELECT top_label FROM prediction WHERE run_id = {run} AND record_id = {rid}) IS NOT {reference}"));
            }
        }
        match q.status {
            Some(StatusFilter::Unannotated) => filters.push("a.record_id IS NULL".into()),
            Some(StatusFilter::Is(s)) => filters.push(format!("a.status = {}", bind(Sql::Text(s.as_str().into())))),
            None => {}
        }
        if let Some(annotator) = &q.annotator {
            filters.push(format!("a.annotator = {}", bind(Sql::Text(annotator.clone()))));
        }
        plan.needs_annotation |= q.status.is_some() || q.annotator.is_some();
        if let Some(gold) = &q.gold {
            filters.push(format!("x.gold = {}", bind(Sql::Text(gold.clone()))));
            plan.needs_record = true;
        }
        if let Some(min) = q.min_suspicion {
            filters.push(format!("s.suspicion >= {}", bind(Sql::Real(min))));
            plan.needs_scan = true;
        }
        if let Some(text) = q.text.as_deref().filter(|t| !t.trim().is_empty()) {
            filters.push(format!("{rid} IN (SELECT rowid FROM record_fts WHERE record_fts MATCH {})", bind(Sql::Text(fts_phrase(text)))));
        }
        for m in &q.meta {
            plan.needs_record = true;
            match m {
                MetaFilter::Equals { key, value } => {
                    let key = bind(Sql::Text(key.clone()));
                    filters.push(format!("selectra_meta_text(x.metadata, {key}) = {}", bind(Sql::Text(value.clone()))));
                }
                MetaFilter::Contains { key, value } | MetaFilter::Prefix { key, value } => {
                    let key = bind(Sql::Text(key.clone()));
                    let folded = crate::domain::text::fold(value);
                    let test = if matches!(m, MetaFilter::Contains { .. }) { "instr" } else { "selectra_starts_with" };
                    filters.push(format!("{test}(selectra_fold(selectra_meta_text(x.metadata, {key})), {}) > 0", bind(Sql::Text(folded))));
                }
                MetaFilter::Range { key, min, max } => {
                    let value = format!("selectra_meta_number(x.metadata, {})", bind(Sql::Text(key.clone())));
                    filters.push(format!("{value} IS NOT NULL"));
                    if let Some(min) = min {
                        filters.push(format!("{value} >= {}", bind(Sql::Real(*min))));
                    }
                    if let Some(max) = max {
                        filters.push(format!("{value} <= {}", bind(Sql::Real(*max))));
                    }
                }
            }
        }
        // An entity of a type: the run's by its (run, label, record) index, one seek per record;
        // the annotation's in its own spans.
        match (&q.entity, q.tagging_run) {
            (Some(label), Some(run)) => filters.push(format!(
                "EXISTS (SELECT 1 FROM run_entity e WHERE e.run_id = {} AND e.label = {} AND e.record_id = {rid})",
                bind(Sql::Integer(run)),
                bind(Sql::Text(label.clone()))
            )),
            (Some(label), None) => {
                plan.needs_annotation = true;
                filters.push(format!(
                    "EXISTS (SELECT 1 FROM json_each(a.spans) j WHERE json_extract(j.value, '$.label') = {})",
                    bind(Sql::Text(label.clone()))
                ))
            }
            (None, _) => {}
        }
        // Disagreements between runs are looked up per record (two primary-key reads), so a page
        // in any order stops after its rows; with the annotations (few, usually) the set is
        // computed once (a subquery SQLite materializes), then probed.
        match q.disagree {
            Some(Disagreement::Runs(a, b)) => filters.push(format!(
                "EXISTS (SELECT 1 FROM prediction d1 JOIN prediction d2 ON d2.run_id = {b} AND d2.record_id = d1.record_id \
                 WHERE d1.run_id = {a} AND d1.record_id = {rid} AND d1.top_label <> d2.top_label)"
            )),
            Some(Disagreement::RunAnnotation(a)) => filters.push(format!(
                "{rid} IN (SELECT da.record_id FROM annotation da JOIN prediction d1 ON d1.run_id = {a} AND d1.record_id = da.record_id \
                 WHERE da.status = 'accepted' AND NOT EXISTS (SELECT 1 FROM json_each(da.labels) WHERE value = d1.top_label))"
            )),
            Some(Disagreement::RunGold(a)) => {
                plan.needs_record = true;
                filters.push(format!(
                    "x.gold IS NOT NULL AND EXISTS (SELECT 1 FROM prediction d1 WHERE d1.run_id = {a} AND d1.record_id = {rid} AND d1.top_label <> x.gold)"
                ))
            }
            Some(Disagreement::RunSpans(a)) => filters.push(format!(
                // Records the run tagged whose reference spans (accepted annotation with spans,
                // else imported, as `domain::spans::reference_spans` reads them) are another set
                // than its entities. Against imported spans the answer was kept with the entities
                // (an index range); only the records annotated with spans are compared here.
                "{rid} IN (SELECT t.record_id FROM tagged_record t INDEXED BY tagged_record_by_gold_difference \
                 WHERE t.run_id = {a} AND t.gold_differs = 1 \
                 AND NOT EXISTS (SELECT 1 FROM annotation da WHERE da.record_id = t.record_id AND da.status = 'accepted' AND da.spans IS NOT NULL) \
                 UNION ALL SELECT da.record_id FROM annotation da JOIN tagged_record t ON t.run_id = {a} AND t.record_id = da.record_id \
                 WHERE da.status = 'accepted' AND da.spans IS NOT NULL AND selectra_spans_differ(da.spans, \
                 (SELECT json_group_array(json_object('start', e.start, 'end', e.\"end\", 'label', e.label)) FROM run_entity e \
                  WHERE e.run_id = {a} AND e.record_id = da.record_id)))"
            )),
            Some(Disagreement::Annotators) => filters.push(format!(
                // Label sets compare as sets (sorted), as agreement compares them.
                "{rid} IN (SELECT record_id FROM annotator_label WHERE status = 'accepted' GROUP BY record_id \
                 HAVING COUNT(DISTINCT (SELECT group_concat(value, char(31)) FROM (SELECT value FROM json_each(labels) ORDER BY value))) > 1)"
            )),
            None => {}
        }
        // A seeded hash of the id: the shuffle's order and the sample's choice. The multiplier
        // comes from the seed, so each seed is another permutation (an added constant alone would
        // only rotate one), and stays below 2^32 so that ids up to 2^31 cannot overflow.
        let hash = |seed: u64| format!("(({rid} * {}) % {SHUFFLE_PRIME})", shuffle_multiplier(seed));
        if let Some(sample) = q.sample {
            // The sample is the first N of the seeded shuffle of everything else that matches.
            let inner = filters.join(" AND ");
            let from = plan.from(plan.needs_record, plan.needs_annotation, plan.needs_scan, false);
            filters.push(format!(
                "{rid} IN (SELECT {rid} {from} WHERE {inner} ORDER BY {}, {rid} LIMIT {})",
                hash(sample.seed),
                sample.size.min(i64::MAX as u64)
            ));
        }
        // Each order but the shuffle and suspicion matches an index (record: corpus_id,
        // row_number; prediction: run_id, key, record_id), scanned forwards or backwards, so a
        // page reads only its rows.
        let (key, ascending) = match q.sort {
            Sort::Row => ("x.row_number".to_string(), true),
            Sort::Margin => ("p.margin".into(), true),
            Sort::Entropy => ("p.entropy".into(), false),
            Sort::ScoreDesc => ("p.top_score".into(), false),
            Sort::ScoreAsc => ("p.top_score".into(), true),
            Sort::Random(seed) => (hash(seed), true),
            // Records the scan has not reached yet come last; ties in id order, as the scan's own
            // ranking (`suspicious_records`) has them.
            Sort::SuspicionDesc => ("COALESCE(s.suspicion, -1.0)".into(), false),
            // Records without entities (or not tagged yet) last, above any score. A finished run
            // drives the query through its index on this very expression; an unfinished one
            // sorts the matching records.
            Sort::EntityScoreAsc => ("COALESCE(t.min_score, 2.0)".into(), true),
            // The position in the list (unique). With a run's predictions driving, it is looked
            // up per row: a scan of the list each, fine for a search's few hundred records.
            Sort::Listed if plan.by_list => ("l.key".into(), true),
            Sort::Listed => (format!("(SELECT key FROM json_each({}) WHERE value = {rid})", Plan::LIST), true),
        };
        plan.ids_ascending = ascending || q.sort == Sort::SuspicionDesc;
        plan.key = key;
        plan.ascending = ascending;
        plan.filter = filters.join(" AND ");
        plan.args = args;
        Ok(plan)
    }

    /// How many records match (paging and order aside).
    pub fn count(&self, corpus: &str, q: &Query) -> Result<u64> {
        let plan = self.plan(corpus, &Query { after: None, ..q.clone() })?;
        let sql = format!("SELECT COUNT(*) {} WHERE {}", plan.count_from(), plan.filter);
        let n: i64 = self.conn.query_row(&sql, rusqlite::params_from_iter(plan.args.iter()), |r| r.get(0)).map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    pub fn query(&self, corpus: &str, q: &Query) -> Result<Page> {
        if q.limit == 0 || q.limit > MAX_PAGE {
            return Err(Error::Input(format!("a page holds 1 to {MAX_PAGE} records")));
        }
        let mut plan = self.plan(corpus, q)?;
        let total = if q.offset == 0 && q.after.is_none() { Some(self.count(corpus, q)?) } else { None };
        let rid = plan.rid();
        let dir = if plan.ascending { "ASC" } else { "DESC" };
        let id_dir = if plan.ids_ascending { "ASC" } else { "DESC" };
        let mut filter = plan.filter.clone();
        let order = if plan.sort == Sort::Row { format!("{} {dir}", plan.key) } else { format!("{} {dir}, {rid} {id_dir}", plan.key) };
        if let Some(after) = q.after {
            plan.args.push(Sql::Real(after.key));
            let k = plan.args.len();
            plan.args.push(Sql::Integer(after.id));
            filter = format!("{filter} AND {}", plan.after_cursor(k));
        }
        plan.args.push(Sql::Integer(q.limit as i64));
        let limit = plan.args.len();
        plan.args.push(Sql::Integer(q.offset.min(i64::MAX as u64) as i64));
        let offset = plan.args.len();
        let sql = format!(
            "SELECT x.id, x.row_number, x.source_id, x.text, x.gold, x.metadata, a.labels, a.status, a.annotator, \
             p.top_label, p.top_score, p.margin, p.entropy, s.suspicion, {}, x.text_pair, a.spans \
             {} WHERE {filter} ORDER BY {order} LIMIT ?{limit} OFFSET ?{offset}",
            plan.key,
            plan.from(true, true, true, true)
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut last = None;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(plan.args.iter()), |r| {
                let labels: Option<String> = r.get(6)?;
                let metadata: Option<String> = r.get(5)?;
                let id: i64 = r.get(0)?;
                let key: f64 = r.get(14)?;
                Ok((
                    QueryRow {
                        record_id: id,
                        row_number: r.get::<_, i64>(1)? as u64,
                        source_id: r.get(2)?,
                        text: r.get(3)?,
                        text_pair: r.get(15)?,
                        gold: r.get(4)?,
                        metadata: metadata.and_then(|m| serde_json::from_str(&m).ok()),
                        annotation_labels: labels.and_then(|l| serde_json::from_str(&l).ok()),
                        annotation_spans: r.get::<_, Option<String>>(16)?.and_then(|l| serde_json::from_str(&l).ok()),
                        annotation_status: super::annotations::decode_status(r.get(7)?)?,
                        annotator: r.get(8)?,
                        top_label: r.get(9)?,
                        top_score: r.get(10)?,
                        margin: r.get(11)?,
                        entropy: r.get(12)?,
                        suspicion: r.get(13)?,
                    },
                    Cursor { key, id },
                ))
            })
            .map_err(|e| self.err(e))?
            .map(|row| {
                row.map(|(row, cursor)| {
                    last = Some(cursor);
                    row
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        let next = if rows.len() as u64 == q.limit { last } else { None };
        Ok(Page { rows, total, next })
    }
}

impl Store {
    /// The metadata keys of a corpus's records (those of its first 10,000 records with metadata:
    /// an import gives every record the same columns), sorted.
    pub fn metadata_keys(&self, corpus: &str) -> Result<Vec<String>> {
        let corpus_id = self.corpus_id(corpus)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT j.key FROM (SELECT metadata FROM record WHERE corpus_id = ?1 AND metadata IS NOT NULL ORDER BY row_number LIMIT 10000) x, \
                 json_each(x.metadata) j WHERE json_valid(x.metadata) ORDER BY j.key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([corpus_id], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// The most frequent values of metadata `key` in a corpus, with their record counts; with
    /// `containing`, only values that contain it (ignoring case and accents). One pass over the
    /// corpus's records: suggestions for the metadata filter.
    pub fn metadata_values(&self, corpus: &str, key: &str, containing: Option<&str>, limit: u32) -> Result<Vec<(String, u64)>> {
        let corpus_id = self.corpus_id(corpus)?;
        let needle = containing.map(str::trim).filter(|t| !t.is_empty()).map(crate::domain::text::fold);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT v, COUNT(*) AS n FROM (SELECT selectra_meta_text(metadata, ?2) AS v FROM record WHERE corpus_id = ?1) \
                 WHERE v IS NOT NULL AND (?3 IS NULL OR instr(selectra_fold(v), ?3) > 0) GROUP BY v ORDER BY n DESC, v LIMIT ?4",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params![corpus_id, key, needle, limit.min(1000) as i64], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }
}

/// The metadata functions the filters use, registered on every connection (see `Store::open`):
/// `selectra_meta_text(metadata, key)` is [`meta_text`] of the key's value and
/// `selectra_meta_number(metadata, key)` its number, both NULL when the record has no such value.
pub(super) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::{Context, FunctionFlags};
    fn value(ctx: &Context<'_>) -> rusqlite::Result<Option<serde_json::Value>> {
        let (Some(metadata), Some(key)) = (ctx.get::<Option<String>>(0)?, ctx.get::<Option<String>>(1)?) else { return Ok(None) };
        Ok(match serde_json::from_str::<serde_json::Value>(&metadata) {
            Ok(serde_json::Value::Object(mut map)) => map.remove(&key).filter(|v| !v.is_null()),
            _ => None,
        })
    }
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("selectra_meta_text", 2, flags, |ctx| Ok(value(ctx)?.map(|v| meta_text(&v))))?;
    conn.create_scalar_function("selectra_meta_number", 2, flags, |ctx| Ok(value(ctx)?.as_ref().and_then(meta_number)))?;
    // selectra_fold(text): `text::fold` (no case, no accents); selectra_starts_with(a, b): 1 when
    // a starts with b, else 0 (NULL with a NULL).
    // Whether a reference's spans (JSON; NULL: no reference, never a disagreement) and a run's
    // entities are different sets.
    conn.create_scalar_function("selectra_spans_differ", 2, flags, |ctx| {
        let spans = |text: Option<String>| -> Vec<Span> { text.and_then(|t| serde_json::from_str::<Vec<Span>>(&t).ok()).unwrap_or_default() };
        let reference: Option<String> = ctx.get(0)?;
        Ok(reference.is_some() && crate::domain::spans::differ(&spans(reference), &spans(ctx.get(1)?)))
    })?;
    conn.create_scalar_function("selectra_fold", 1, flags, |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|t| crate::domain::text::fold(&t))))?;
    conn.create_scalar_function("selectra_starts_with", 2, flags, |ctx| {
        Ok(match (ctx.get::<Option<String>>(0)?, ctx.get::<Option<String>>(1)?) {
            (Some(a), Some(b)) => Some(i64::from(a.starts_with(&b))),
            _ => None,
        })
    })?;
    // selectra_reference(annotation labels, annotation status, gold, split gold): the record's
    // reference label (the first), by `evaluate::reference`.
    conn.create_scalar_function("selectra_reference", 4, flags, |ctx| {
        let labels: Option<String> = ctx.get(0)?;
        let status: Option<String> = ctx.get(1)?;
        let gold: Option<String> = ctx.get(2)?;
        let split: bool = ctx.get::<i64>(3)? != 0;
        let annotation = match (labels, status) {
            (Some(l), Some(s)) => {
                let labels: Vec<String> = serde_json::from_str(&l).map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
                let status = Status::parse(&s).map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
                Some((labels, status))
            }
            _ => None,
        };
        let reference = crate::domain::annotation::reference(annotation.as_ref().map(|(l, s)| (l.as_slice(), *s)), gold.as_deref(), split);
        Ok(reference.and_then(|(labels, _)| labels.into_iter().next()))
    })
}
