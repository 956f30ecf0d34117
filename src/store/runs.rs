//! Zero-shot runs: their identity, the records still to predict, predictions written a batch per
//! transaction, the NLI logits cache, and the rows an export reads.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{now, Store};
use crate::domain::precision::{AgreementCheck, Precision};
use crate::error::{Error, Result};

/// Everything that determines a run's predictions. The same key means the same run: running the
/// identical command again resumes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunKey {
    pub corpus: String,
    pub model: String,
    pub weights_sha256: String,
    pub labels: Vec<String>,
    pub template: String,
    pub multi_label: bool,
    pub strip_accents: Option<bool>,
    /// The encoder's precision (`crate::domain::precision`): exact f32, or the bf16 fast mode.
    pub precision: Precision,
}

/// What made a run's scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum RunKind {
    /// A zero-shot NLI classifier over the run's labels and hypotheses.
    #[serde(rename = "zeroshot")]
    ZeroShot,
    /// A head trained on the corpus's labels (see `analysis::learn`).
    #[serde(rename = "trained")]
    Trained,
    /// A fine-tuned sequence classifier with its own labels (see `engine::classify`).
    #[serde(rename = "classifier")]
    Classifier,
    /// A token classifier's entities per record (see `engine::tag`): no labels or scores per
    /// record, so no suggestions or label evaluation; its key's labels are the entity types and
    /// its template the tagging options.
    #[serde(rename = "tagger")]
    Tagger,
}

impl RunKind {
    /// The word the `run.kind` column holds (and the JSON says).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ZeroShot => "zeroshot",
            Self::Trained => "trained",
            Self::Classifier => "classifier",
            Self::Tagger => "tagger",
        }
    }

    /// Whether the run scores labels per record (suggestions, orders, evaluation and Compare
    /// read it); a tagger's run finds entities instead.
    pub fn predicts_labels(self) -> bool {
        self != Self::Tagger
    }

    fn from_column(text: &str) -> rusqlite::Result<Self> {
        match text {
            "zeroshot" => Ok(Self::ZeroShot),
            "trained" => Ok(Self::Trained),
            "classifier" => Ok(Self::Classifier),
            "tagger" => Ok(Self::Tagger),
            other => Err(rusqlite::Error::FromSqlConversionFailure(
                13,
                rusqlite::types::Type::Text,
                format!("a run kind is zeroshot, trained, classifier or tagger, not {other:?}").into(),
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RunInfo {
    pub id: i64,
    /// The name someone gave the run, if any.
    pub name: Option<String>,
    pub kind: RunKind,
    /// What identifies the run (flattened: the JSON keeps one level).
    #[serde(flatten)]
    pub key: RunKey,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub predictions: u64,
    pub records: u64,
    /// The fast mode's agreement check that decided this run's precision, if one did.
    pub precision_check: Option<AgreementCheck>,
}

/// One record's prediction in a run: every label's score, sorted as the pipeline sorts them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionRow {
    pub record_id: i64,
    pub labels: Vec<String>,
    pub scores: Vec<f32>,
}

/// A record as an export sees it, with its predictions across runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRow {
    pub record_id: i64,
    pub row_number: u64,
    pub source_id: Option<String>,
    /// The id every export writes: the source id, else the row number after the corpus's
    /// `row_id_prefix` (empty when no record of the corpus has a source id).
    pub export_id: String,
    pub text: String,
    /// The second text of a sentence pair.
    pub text_pair: Option<String>,
    pub gold: Option<String>,
    /// The reference entity spans, if the record has them.
    pub gold_spans: Option<Vec<crate::domain::spans::Span>>,
    pub metadata: Option<String>,
    /// The current annotation: labels and status.
    pub annotation: Option<(Vec<String>, super::Status)>,
    /// Who changed the annotation last.
    pub annotator: Option<String>,
    /// The annotation's entity spans, when it has them.
    pub annotation_spans: Option<Vec<crate::domain::spans::Span>>,
    /// Each annotator's own latest labels and status (for agreement), by annotator name.
    pub annotators: Vec<(String, Vec<String>, super::Status)>,
    /// (run id, model, labels, scores) for each run that predicted this record.
    pub predictions: Vec<(i64, String, Vec<String>, Vec<f32>)>,
    /// The record's entities in each tagging run that tagged it (filled only when the corpus
    /// has tagging runs), by run.
    pub entities: Vec<super::RunEntity>,
    /// The record's result in each scan that covered it, oldest scan first.
    pub scans: Vec<super::ExportScan>,
}

fn json_list<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

const RUN_COLUMNS: &str = "r.id, c.name, r.model, r.weights_sha256, r.labels, r.template, r.multi_label, r.strip_accents, \
     r.created_at, r.finished_at, CASE r.kind WHEN 'tagger' THEN (SELECT COUNT(*) FROM tagged_record t WHERE t.run_id = r.id) \
     ELSE (SELECT COUNT(*) FROM prediction p WHERE p.run_id = r.id) END, \
     (SELECT COUNT(*) FROM record x WHERE x.corpus_id = r.corpus_id), r.name, r.kind, r.precision, r.precision_check";

fn run_from_row(row: &rusqlite::Row) -> rusqlite::Result<RunInfo> {
    Ok(RunInfo {
        id: row.get(0)?,
        name: row.get(12)?,
        kind: RunKind::from_column(&row.get::<_, String>(13)?)?,
        key: RunKey {
            corpus: row.get(1)?,
            model: row.get(2)?,
            weights_sha256: row.get(3)?,
            labels: json_list(&row.get::<_, String>(4)?)?,
            template: row.get(5)?,
            multi_label: row.get::<_, i64>(6)? == 1,
            strip_accents: super::strip_from_code(row.get(7)?),
            precision: precision_from_name(&row.get::<_, String>(14)?)?,
        },
        created_at: row.get(8)?,
        finished_at: row.get(9)?,
        predictions: row.get::<_, i64>(10)? as u64,
        records: row.get::<_, i64>(11)? as u64,
        precision_check: row.get::<_, Option<String>>(15)?.map(|j| json_list(&j)).transpose()?,
    })
}

/// The id of the run with this key in the corpus `corpus_id`.
fn find_run_id(conn: &rusqlite::Connection, corpus_id: i64, key: &RunKey) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT id FROM run WHERE corpus_id = ?1 AND model = ?2 AND weights_sha256 = ?3 AND labels = ?4 \
         AND template = ?5 AND multi_label = ?6 AND strip_accents = ?7 AND precision = ?8",
        params![
            corpus_id,
            key.model,
            key.weights_sha256,
            serde_json::to_string(&key.labels).expect("strings serialize"),
            key.template,
            key.multi_label as i64,
            super::strip_code(key.strip_accents),
            key.precision.name()
        ],
        |r| r.get(0),
    )
    .optional()
}

fn precision_from_name(name: &str) -> rusqlite::Result<Precision> {
    Precision::parse(name).map_err(|e| rusqlite::Error::FromSqlConversionFailure(14, rusqlite::types::Type::Text, Box::new(e)))
}

/// The export's one pass over a corpus: each record with its predictions (one row per run, by
/// `prediction_by_record`) and its annotation, in record order.
pub(super) const EXPORT_ROWS_SQL: &str = "SELECT x.id, x.row_number, x.source_id, x.text, x.gold, x.metadata, p.run_id, p.labels, p.scores, \
     a.labels, a.status, a.annotator, x.text_pair, x.gold_spans, a.spans FROM record x LEFT JOIN prediction p ON p.record_id = x.id \
     LEFT JOIN annotation a ON a.record_id = x.id WHERE x.corpus_id = ?1 ORDER BY x.id, p.run_id";

/// Every annotator's own latest labels of one exported record (the primary key's seek).
pub(super) const EXPORT_ANNOTATORS_SQL: &str = "SELECT annotator, labels, status FROM annotator_label WHERE record_id = ?1 ORDER BY annotator";

impl Store {
    /// The run with this key, created if it does not exist yet.
    pub fn open_run(&mut self, key: &RunKey) -> Result<RunInfo> {
        self.open_run_as(key, RunKind::ZeroShot)
    }

    /// Finds the run with this key, or creates it as a run of `kind`. A run found with another
    /// kind is an error: one key, one kind of scores.
    pub fn open_run_as(&mut self, key: &RunKey, kind: RunKind) -> Result<RunInfo> {
        let corpus_id = self.corpus_id(&key.corpus)?;
        let labels = serde_json::to_string(&key.labels).expect("strings serialize");
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let id = match find_run_id(&tx, corpus_id, key).map_err(err)? {
            Some(id) => id,
            None => {
                let created = now(&tx).map_err(err)?;
                tx.execute(
                    "INSERT INTO run (corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, created_at, precision, kind) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![
                        corpus_id,
                        key.model,
                        key.weights_sha256,
                        labels,
                        key.template,
                        key.multi_label as i64,
                        super::strip_code(key.strip_accents),
                        created,
                        key.precision.name(),
                        kind.as_str()
                    ],
                )
                .map_err(err)?;
                tx.last_insert_rowid()
            }
        };
        tx.commit().map_err(err)?;
        let run = self.run(id)?;
        // A trained head is opened as a zero-shot-shaped run and then marked (`save_trained_head`).
        if run.kind != kind && !(kind == RunKind::ZeroShot && run.kind == RunKind::Trained) {
            return Err(Error::Input(format!("run {} has these settings but is a {} run, not a {} run", run.id, run.kind.as_str(), kind.as_str())));
        }
        Ok(run)
    }

    /// The run with this key, if there is one (nothing is created).
    pub fn find_run(&self, key: &RunKey) -> Result<Option<RunInfo>> {
        let corpus_id = self.corpus_id(&key.corpus)?;
        let id = find_run_id(&self.conn, corpus_id, key).map_err(|e| self.err(e))?;
        id.map(|id| self.run(id)).transpose()
    }

    /// Keeps the agreement check that decided a run's precision.
    pub fn set_precision_check(&mut self, run_id: i64, check: &AgreementCheck) -> Result<()> {
        let json = serde_json::to_string(check).expect("a check serializes");
        self.conn.execute("UPDATE run SET precision_check = ?1 WHERE id = ?2", params![json, run_id]).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Up to `n` records of a corpus spread evenly over it (every `records / n`-th by id, from the
    /// first): the sample an agreement check compares on.
    pub fn spread_records(&self, corpus: &str, n: usize) -> Result<Vec<(i64, String)>> {
        let corpus = self.corpus(corpus)?;
        let total = corpus.records.max(1);
        let step = (total / n.max(1) as u64).max(1) as i64;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, text FROM (SELECT id, text, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM record WHERE corpus_id = ?1) \
                 WHERE k % ?2 = 0 ORDER BY id LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![corpus.id, step, n as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// Up to `limit` records whose top label in the run is `label`, highest score first (ties by
    /// id): a range of the `prediction_by_label` index.
    pub fn top_records(&self, run_id: i64, label: &str, limit: usize) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT x.id, x.text FROM prediction p JOIN record x ON x.id = p.record_id \
                 WHERE p.run_id = ?1 AND p.top_label = ?2 ORDER BY p.top_score DESC, p.record_id LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![run_id, label, limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    pub fn run(&self, id: i64) -> Result<RunInfo> {
        self.conn
            .query_row(&format!("SELECT {RUN_COLUMNS} FROM run r JOIN corpus c ON c.id = r.corpus_id WHERE r.id = ?1"), [id], run_from_row)
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::Input(format!("there is no run {id} in {}", self.path.display())))
    }

    /// The runs over a corpus, oldest first.
    pub fn runs(&self, corpus: &str) -> Result<Vec<RunInfo>> {
        let corpus = self.corpus(corpus)?;
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {RUN_COLUMNS} FROM run r JOIN corpus c ON c.id = r.corpus_id WHERE r.corpus_id = ?1 ORDER BY r.id"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([corpus.id], run_from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// Up to `limit` records of the run's corpus with ids above `after` that have no prediction in
    /// the run, by id. Passing the last id of the previous batch keeps a whole run linear.
    pub fn pending_records(&self, run_id: i64, after: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT x.id, x.text FROM record x JOIN run r ON r.corpus_id = x.corpus_id WHERE r.id = ?1 AND x.id > ?2 \
                 AND NOT EXISTS (SELECT 1 FROM prediction p WHERE p.run_id = ?1 AND p.record_id = x.id) \
                 ORDER BY x.id LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![run_id, after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// Cached NLI logits for these records and hypotheses, keyed by (record id, hypothesis).
    pub fn cached_logits(&self, model_key: &str, record_ids: &[i64], hypotheses: &[String]) -> Result<HashMap<(i64, String), Vec<f32>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT logits FROM nli_logits WHERE model_key = ?1 AND record_id = ?2 AND hypothesis = ?3")
            .map_err(|e| self.err(e))?;
        let mut found = HashMap::new();
        for &id in record_ids {
            for h in hypotheses {
                let blob: Option<Vec<u8>> = stmt.query_row(params![model_key, id, h], |r| r.get(0)).optional().map_err(|e| self.err(e))?;
                if let Some(blob) = blob {
                    let logits = blob.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                    found.insert((id, h.clone()), logits);
                }
            }
        }
        Ok(found)
    }

    /// Stores computed NLI logits in the cache (no predictions), in one transaction.
    pub fn save_logits(&mut self, model_key: &str, logits: &[((i64, String), Vec<f32>)]) -> Result<()> {
        self.save_predictions(-1, model_key, logits, &[])
    }

    /// Stores a batch of predictions and the logits computed for them, in one transaction.
    pub fn save_predictions(
        &mut self,
        run_id: i64,
        model_key: &str,
        logits: &[((i64, String), Vec<f32>)],
        predictions: &[PredictionRow],
    ) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        {
            let mut put_logits = tx
                .prepare_cached("INSERT OR IGNORE INTO nli_logits (model_key, record_id, hypothesis, logits) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for ((record, hypothesis), values) in logits {
                let blob: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                put_logits.execute(params![model_key, record, hypothesis, blob]).map_err(err)?;
            }
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO prediction (run_id, record_id, labels, scores, top_label, top_score, margin, entropy) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(err)?;
            for p in predictions {
                let (margin, entropy) = uncertainty(&p.scores);
                put.execute(params![
                    run_id,
                    p.record_id,
                    serde_json::to_string(&p.labels).expect("strings serialize"),
                    serde_json::to_string(&p.scores).expect("floats serialize"),
                    p.labels[0],
                    p.scores[0] as f64,
                    margin,
                    entropy
                ])
                .map_err(|e| super::manage::concurrent_writer(&path, e, "run"))?;
            }
        }
        tx.commit().map_err(err)
    }

    /// One record's prediction in a run, if it has one.
    pub fn prediction(&self, run_id: i64, record_id: i64) -> Result<Option<PredictionRow>> {
        self.conn
            .prepare_cached("SELECT labels, scores FROM prediction WHERE run_id = ?1 AND record_id = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(params![run_id, record_id], |r| {
                    Ok(PredictionRow { record_id, labels: json_list(&r.get::<_, String>(0)?)?, scores: json_list(&r.get::<_, String>(1)?)? })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// How many (model, record, hypothesis) logits are cached.
    pub fn cached_logit_count(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row("SELECT COUNT(*) FROM nli_logits", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    pub fn finish_run(&mut self, run_id: i64) -> Result<()> {
        let at = now(&self.conn).map_err(|e| self.err(e))?;
        self.conn.execute("UPDATE run SET finished_at = ?1 WHERE id = ?2", params![at, run_id]).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Calls `each` for every record of the corpus, in import order, with its predictions.
    pub fn for_each_export_row(&self, corpus: &str, each: &mut dyn FnMut(ExportRow) -> Result<()>) -> Result<()> {
        let corpus = self.corpus(corpus)?;
        let all_runs = self.runs(&corpus.name)?;
        let tagged = all_runs.iter().any(|r| r.kind == RunKind::Tagger);
        let runs: HashMap<i64, String> = all_runs.into_iter().map(|r| (r.id, r.key.model)).collect();
        let row_prefix = self.row_id_prefix(corpus.id)?;
        let mut stmt = self.conn.prepare(EXPORT_ROWS_SQL).map_err(|e| self.err(e))?;
        let mut rows = stmt.query([corpus.id]).map_err(|e| self.err(e))?;
        let mut current: Option<ExportRow> = None;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let id: i64 = row.get(0).map_err(|e| self.err(e))?;
            if current.as_ref().is_some_and(|c| c.record_id != id) {
                let mut done = current.take().expect("checked");
                self.complete_export_row(&mut done, tagged)?;
                each(done)?;
            }
            if current.is_none() {
                let get = |row: &rusqlite::Row| -> rusqlite::Result<ExportRow> {
                    let row_number = row.get::<_, i64>(1)? as u64;
                    let source_id: Option<String> = row.get(2)?;
                    Ok(ExportRow {
                        record_id: id,
                        row_number,
                        export_id: source_id.clone().unwrap_or_else(|| format!("{row_prefix}{row_number}")),
                        source_id,
                        text: row.get(3)?,
                        text_pair: row.get(12)?,
                        gold: row.get(4)?,
                        gold_spans: row.get::<_, Option<String>>(13)?.map(|j| json_list(&j)).transpose()?,
                        metadata: row.get(5)?,
                        annotation: match (row.get::<_, Option<String>>(9)?, super::annotations::decode_status(row.get(10)?)?) {
                            (Some(labels), Some(status)) => Some((json_list(&labels)?, status)),
                            _ => None,
                        },
                        annotator: row.get(11)?,
                        annotation_spans: row.get::<_, Option<String>>(14)?.map(|j| json_list(&j)).transpose()?,
                        annotators: Vec::new(),
                        predictions: Vec::new(),
                        entities: Vec::new(),
                        scans: Vec::new(),
                    })
                };
                current = Some(get(row).map_err(|e| self.err(e))?);
            }
            let run: Option<i64> = row.get(6).map_err(|e| self.err(e))?;
            if let Some(run) = run {
                let labels: Vec<String> = json_list(&row.get::<_, String>(7).map_err(|e| self.err(e))?).map_err(|e| self.err(e))?;
                let scores: Vec<f32> = json_list(&row.get::<_, String>(8).map_err(|e| self.err(e))?).map_err(|e| self.err(e))?;
                let model = runs.get(&run).cloned().unwrap_or_default();
                current.as_mut().expect("set above").predictions.push((run, model, labels, scores));
            }
        }
        if let Some(mut last) = current {
            self.complete_export_row(&mut last, tagged)?;
            each(last)?;
        }
        Ok(())
    }

    /// What an export row holds beyond its main query: scan results, every annotator's labels,
    /// and entities when the corpus has tagging runs.
    fn complete_export_row(&self, row: &mut ExportRow, tagged: bool) -> Result<()> {
        row.scans = self.record_scans(row.record_id)?;
        if tagged {
            row.entities = self.record_entities(row.record_id)?;
        }
        if row.annotation.is_some() {
            let mut stmt = self.conn.prepare_cached(EXPORT_ANNOTATORS_SQL).map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([row.record_id], |r| {
                    let status = super::annotations::decode_status(r.get(2)?)?.unwrap_or(super::Status::Pending);
                    Ok((r.get(0)?, json_list(&r.get::<_, String>(1)?)?, status))
                })
                .map_err(|e| self.err(e))?;
            row.annotators = rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}

impl Store {
    /// Marks `run` as trained and keeps its head (JSON), the embedding set it reads and its
    /// cross-validation (JSON), in one transaction.
    pub fn save_trained_head(&mut self, run_id: i64, embedding_set: i64, head: &str, n_train: u64, cross_validation: &str) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        tx.execute("UPDATE run SET kind = ?2 WHERE id = ?1", params![run_id, RunKind::Trained.as_str()]).map_err(err)?;
        tx.execute(
            "INSERT INTO trained_head (run_id, embedding_set, head, n_train, cross_validation) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (run_id) DO UPDATE SET head = excluded.head, n_train = excluded.n_train, cross_validation = excluded.cross_validation",
            params![run_id, embedding_set, head, n_train as i64, cross_validation],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Removes every prediction of a run.
    pub fn clear_predictions(&mut self, run_id: i64) -> Result<()> {
        self.conn.execute("DELETE FROM prediction WHERE run_id = ?1", [run_id]).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A trained run's head (JSON), or `None` for a zero-shot run.
    pub fn trained_head(&self, run_id: i64) -> Result<Option<String>> {
        self.conn.query_row("SELECT head FROM trained_head WHERE run_id = ?1", [run_id], |r| r.get(0)).optional().map_err(|e| self.err(e))
    }

    /// A trained run's (records trained on, cross-validation JSON).
    pub fn trained_head_facts(&self, run_id: i64) -> Result<(u64, String)> {
        self.conn
            .query_row("SELECT n_train, cross_validation FROM trained_head WHERE run_id = ?1", [run_id], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
            })
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::Input(format!("run {run_id} has no trained head")))
    }
}

/// One run's prediction for one record, as the labeling view shows runs side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecordPrediction {
    pub run_id: i64,
    pub model: String,
    pub multi_label: bool,
    /// Sorted by score, highest first.
    pub labels: Vec<String>,
    pub scores: Vec<f32>,
}

impl RecordPrediction {
    /// What the model suggests for the record: its top label, or for a multi-label run every
    /// label scoring at least the threshold evaluation uses (possibly none).
    pub fn suggested(&self) -> Vec<String> {
        if self.multi_label {
            self.labels
                .iter()
                .zip(&self.scores)
                .filter(|(_, &s)| f64::from(s) >= crate::domain::annotation::MULTI_LABEL_THRESHOLD)
                .map(|(l, _)| l.clone())
                .collect()
        } else {
            self.labels.first().cloned().into_iter().collect()
        }
    }
}

impl Store {
    /// Every run's prediction for `record_id`, oldest run first.
    pub fn record_predictions(&self, record_id: i64) -> Result<Vec<RecordPrediction>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.run_id, r.model, p.labels, p.scores, r.multi_label FROM prediction p JOIN run r ON r.id = p.run_id \
                 WHERE p.record_id = ?1 ORDER BY p.run_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([record_id], |row| {
                Ok(RecordPrediction {
                    run_id: row.get(0)?,
                    model: row.get(1)?,
                    labels: json_list(&row.get::<_, String>(2)?)?,
                    scores: json_list(&row.get::<_, String>(3)?)?,
                    multi_label: row.get::<_, i64>(4)? != 0,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }

    /// How many records of run `run_id` have each top label, most frequent first.
    pub fn label_distribution(&self, run_id: i64) -> Result<Vec<(String, u64)>> {
        self.run(run_id)?;
        let mut stmt = self
            .conn
            .prepare("SELECT top_label, COUNT(*) AS n FROM prediction WHERE run_id = ?1 GROUP BY top_label ORDER BY n DESC, top_label")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([run_id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(e))
    }
}

/// Margin (top score minus the next; for one label, its distance from 0.5, doubled) and entropy
/// (of the label distribution, or the summed per-label binary entropies when scores do not sum to one).
fn uncertainty(sorted_scores: &[f32]) -> (f64, f64) {
    let s: Vec<f64> = sorted_scores.iter().map(|&v| v as f64).collect();
    let margin = match s.as_slice() {
        [] => 0.0,
        [only] => (only - 0.5).abs() * 2.0,
        [a, b, ..] => a - b,
    };
    let h = |p: f64| if p > 0.0 { -p * p.ln() } else { 0.0 };
    let sum: f64 = s.iter().sum();
    let entropy = if (sum - 1.0).abs() < 1e-3 && s.len() > 1 { s.iter().map(|&p| h(p)).sum() } else { s.iter().map(|&p| h(p) + h(1.0 - p)).sum() };
    (margin, entropy)
}
