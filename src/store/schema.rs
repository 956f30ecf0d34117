//! The project database's schema, as an ordered list of migrations.
//!
//! Migrations are append-only: a released migration is never edited, a change is a new one.
//! SQLite's `user_version` records how many have been applied (rusqlite_migration's convention),
//! so a file written by a newer Selectra Studio is recognised and refused, not downgraded.

use rusqlite_migration::{Migrations, M};

/// Version 1: corpora and their records, zero-shot runs with one prediction per record, and the
/// NLI logits cache that lets a label set grow without recomputing the labels it already had.
const V1: &str = r#"
CREATE TABLE corpus (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    source_path TEXT NOT NULL,
    format      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- One row per imported record. row_number is the record's data row (CSV/TSV, header excluded)
-- or line (JSONL/TXT) in the source file, 1-based.
CREATE TABLE record (
    id         INTEGER PRIMARY KEY,
    corpus_id  INTEGER NOT NULL REFERENCES corpus(id) ON DELETE CASCADE,
    row_number INTEGER NOT NULL,
    source_id  TEXT,
    text       TEXT NOT NULL,
    gold       TEXT,
    metadata   TEXT,
    UNIQUE (corpus_id, row_number)
);
CREATE UNIQUE INDEX record_source_id ON record (corpus_id, source_id) WHERE source_id IS NOT NULL;

-- Full-text search over record text (external content: the text lives once, in record).
CREATE VIRTUAL TABLE record_fts USING fts5 (text, content = 'record', content_rowid = 'id');
CREATE TRIGGER record_fts_insert AFTER INSERT ON record BEGIN
    INSERT INTO record_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER record_fts_delete AFTER DELETE ON record BEGIN
    INSERT INTO record_fts (record_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

-- A run is identified by everything that determines its predictions. strip_accents is
-- -1 (the model's own setting), 0 or 1, so that the UNIQUE constraint sees no NULLs.
CREATE TABLE run (
    id             INTEGER PRIMARY KEY,
    corpus_id      INTEGER NOT NULL REFERENCES corpus(id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL,
    labels         TEXT NOT NULL,
    template       TEXT NOT NULL,
    multi_label    INTEGER NOT NULL CHECK (multi_label IN (0, 1)),
    strip_accents  INTEGER NOT NULL CHECK (strip_accents IN (-1, 0, 1)),
    created_at     TEXT NOT NULL,
    finished_at    TEXT,
    UNIQUE (corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents)
);

-- Every label's score for one record in one run, sorted as the pipeline sorts them. The primary
-- key is what makes "a record never gets two predictions in one run" a property of the schema.
CREATE TABLE prediction (
    run_id    INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    record_id INTEGER NOT NULL REFERENCES record(id) ON DELETE CASCADE,
    labels    TEXT NOT NULL,
    scores    TEXT NOT NULL,
    top_label TEXT NOT NULL,
    top_score REAL NOT NULL,
    margin    REAL NOT NULL,
    entropy   REAL NOT NULL,
    PRIMARY KEY (run_id, record_id)
) WITHOUT ROWID;
-- The labeling queries' orders, each ending in record_id so that pages need no sort step.
CREATE INDEX prediction_by_label ON prediction (run_id, top_label, top_score, record_id);
CREATE INDEX prediction_by_score ON prediction (run_id, top_score, record_id);
CREATE INDEX prediction_by_margin ON prediction (run_id, margin, record_id);
CREATE INDEX prediction_by_entropy ON prediction (run_id, entropy, record_id);

-- NLI logits per (model, record, hypothesis). model_key names the weights and tokenizer settings.
CREATE TABLE nli_logits (
    model_key  TEXT NOT NULL,
    record_id  INTEGER NOT NULL REFERENCES record(id) ON DELETE CASCADE,
    hypothesis TEXT NOT NULL,
    logits     BLOB NOT NULL,
    PRIMARY KEY (model_key, record_id, hypothesis)
) WITHOUT ROWID;
"#;

/// Version 2: annotations. `annotation` holds each record's current label(s) and status;
/// `annotation_event` is the append-only history (each event keeps the state it replaced, so any
/// change can be undone by appending its inverse).
const V2: &str = r#"
CREATE TABLE annotation (
    record_id  INTEGER PRIMARY KEY REFERENCES record(id) ON DELETE CASCADE,
    labels     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'discarded')),
    annotator  TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX annotation_by_status ON annotation (status);

CREATE TABLE annotation_event (
    id          INTEGER PRIMARY KEY,
    record_id   INTEGER NOT NULL REFERENCES record(id) ON DELETE CASCADE,
    labels      TEXT,
    status      TEXT,
    prev_labels TEXT,
    prev_status TEXT,
    annotator   TEXT NOT NULL,
    at          TEXT NOT NULL,
    undoes      INTEGER UNIQUE REFERENCES annotation_event(id)
);
CREATE INDEX annotation_event_by_record ON annotation_event (record_id, id);
"#;

/// Version 3: imports commit in chunks. A corpus whose `importing_since` is set is still being
/// imported (or its import died): it is invisible to every query until the import clears it.
const V3: &str = r#"
ALTER TABLE corpus ADD COLUMN importing_since TEXT;
"#;

/// Version 4: scans, the discriminator over a corpus. A scan is identified like a run (corpus,
/// model, weights, accent setting); `scan_result`'s primary key makes a second result for a
/// record impossible. Tokens are a compact blob (see `scans.rs`); the summaries are columns, the
/// suspicion indexed so that the most suspicious records are a range read.
const V4: &str = r#"
CREATE TABLE scan (
    id             INTEGER PRIMARY KEY,
    corpus_id      INTEGER NOT NULL REFERENCES corpus(id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL,
    strip_accents  INTEGER NOT NULL CHECK (strip_accents IN (-1, 0, 1)),
    created_at     TEXT NOT NULL,
    finished_at    TEXT,
    UNIQUE (corpus_id, model, weights_sha256, strip_accents)
);
CREATE TABLE scan_result (
    scan_id   INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,
    record_id INTEGER NOT NULL REFERENCES record(id) ON DELETE CASCADE,
    suspicion REAL NOT NULL,
    flagged   INTEGER NOT NULL,
    mean      REAL NOT NULL,
    windows   INTEGER NOT NULL,
    tokens    BLOB NOT NULL,
    PRIMARY KEY (scan_id, record_id)
) WITHOUT ROWID;
CREATE INDEX scan_result_by_suspicion ON scan_result (scan_id, suspicion, record_id);
CREATE INDEX scan_result_by_record ON scan_result (record_id);
"#;

/// Version 5: labeling at scale.
/// - `annotation_batch`: a bulk action's changes share a batch, and one undo reverts it whole.
/// - `annotation_event.prev_annotator`: who had set the state a change replaced, so that an undo
///   gives the record back to them (NULL in events written before).
/// - `annotator_label`: each annotator's own latest labels of a record (`annotation` holds whoever
///   changed it last), for agreement between annotators; kept by every change, filled here from
///   the history (an annotator's latest event that is neither an undo nor undone).
/// - `label_def` and `corpus.guidelines`: the corpus's label schema.
/// - `setting`: project settings (the annotator's name).
/// - `run.name`, `scan.name`: names people give them (the id stays their identity).
const V5: &str = r#"
CREATE TABLE annotation_batch (
    id        INTEGER PRIMARY KEY,
    corpus_id INTEGER NOT NULL REFERENCES corpus(id) ON DELETE CASCADE,
    annotator TEXT NOT NULL,
    at        TEXT NOT NULL,
    size      INTEGER NOT NULL
);
ALTER TABLE annotation_event ADD COLUMN batch_id INTEGER REFERENCES annotation_batch(id);
ALTER TABLE annotation_event ADD COLUMN prev_annotator TEXT;
CREATE INDEX annotation_event_by_batch ON annotation_event (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX annotation_event_by_annotator ON annotation_event (annotator, id);
CREATE INDEX annotation_by_annotator ON annotation (annotator);

CREATE TABLE annotator_label (
    record_id INTEGER NOT NULL REFERENCES record(id) ON DELETE CASCADE,
    annotator TEXT NOT NULL,
    labels    TEXT NOT NULL,
    status    TEXT NOT NULL,
    PRIMARY KEY (record_id, annotator)
) WITHOUT ROWID;
INSERT INTO annotator_label (record_id, annotator, labels, status)
SELECT e.record_id, e.annotator, e.labels, e.status FROM annotation_event e
WHERE e.id = (
    SELECT MAX(f.id) FROM annotation_event f
    WHERE f.record_id = e.record_id AND f.annotator = e.annotator AND f.undoes IS NULL
      AND NOT EXISTS (SELECT 1 FROM annotation_event u WHERE u.undoes = f.id)
);

CREATE TABLE label_def (
    corpus_id   INTEGER NOT NULL REFERENCES corpus(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    key         TEXT,
    colour      TEXT NOT NULL,
    hypothesis  TEXT,
    PRIMARY KEY (corpus_id, name),
    UNIQUE (corpus_id, position)
);
ALTER TABLE corpus ADD COLUMN guidelines TEXT NOT NULL DEFAULT '';

CREATE TABLE setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

ALTER TABLE run ADD COLUMN name TEXT;
ALTER TABLE scan ADD COLUMN name TEXT;
"#;

/// Version 6: record embeddings, a corpus job like runs and scans. A set is identified by
/// (corpus, weights, accent setting): the same weights under another name share it.
/// `embedding`'s primary key makes a second vector for a record impossible; vectors are
/// little-endian f32 blobs. Runs gain a kind ('zeroshot', or 'trained': a head trained on the
/// labels, kept in `trained_head` with its cross-validation).
const V6: &str = r#"
CREATE TABLE embedding_set (
    id             INTEGER PRIMARY KEY,
    corpus_id      INTEGER NOT NULL REFERENCES corpus(id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL,
    strip_accents  INTEGER NOT NULL CHECK (strip_accents IN (-1, 0, 1)),
    dim            INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    finished_at    TEXT,
    UNIQUE (corpus_id, weights_sha256, strip_accents)
);
CREATE TABLE embedding (
    set_id    INTEGER NOT NULL REFERENCES embedding_set(id) ON DELETE CASCADE,
    record_id INTEGER NOT NULL REFERENCES record(id) ON DELETE CASCADE,
    vector    BLOB NOT NULL,
    PRIMARY KEY (set_id, record_id)
) WITHOUT ROWID;

ALTER TABLE run ADD COLUMN kind TEXT NOT NULL DEFAULT 'zeroshot' CHECK (kind IN ('zeroshot', 'trained'));
CREATE TABLE trained_head (
    run_id         INTEGER PRIMARY KEY REFERENCES run(id) ON DELETE CASCADE,
    embedding_set  INTEGER NOT NULL REFERENCES embedding_set(id) ON DELETE CASCADE,
    head           TEXT NOT NULL,
    n_train        INTEGER NOT NULL,
    cross_validation TEXT NOT NULL
);
"#;

/// Version 7: a run's precision is part of its identity ('exact', or 'bf16': the fast mode, see
/// `crate::domain::precision`), and `precision_check` keeps the fast mode's agreement check (JSON) on the
/// run it decided. SQLite cannot change a UNIQUE constraint, so the table is rebuilt (the
/// documented procedure: new table, copy, drop, rename). The store migrates with foreign keys
/// off, so dropping the old table cascades nothing: predictions and trained heads keep their run
/// ids, which the copy keeps.
const V7: &str = r#"
CREATE TABLE run_v7 (
    id              INTEGER PRIMARY KEY,
    corpus_id       INTEGER NOT NULL REFERENCES corpus(id) ON DELETE CASCADE,
    model           TEXT NOT NULL,
    weights_sha256  TEXT NOT NULL,
    labels          TEXT NOT NULL,
    template        TEXT NOT NULL,
    multi_label     INTEGER NOT NULL CHECK (multi_label IN (0, 1)),
    strip_accents   INTEGER NOT NULL CHECK (strip_accents IN (-1, 0, 1)),
    precision       TEXT NOT NULL DEFAULT 'exact' CHECK (precision IN ('exact', 'bf16')),
    precision_check TEXT,
    created_at      TEXT NOT NULL,
    finished_at     TEXT,
    name            TEXT,
    kind            TEXT NOT NULL DEFAULT 'zeroshot' CHECK (kind IN ('zeroshot', 'trained')),
    UNIQUE (corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, precision)
);
INSERT INTO run_v7 (id, corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, created_at, finished_at, name, kind)
    SELECT id, corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, created_at, finished_at, name, kind FROM run;
DROP TABLE run;
ALTER TABLE run_v7 RENAME TO run;
"#;

/// Version 8: every foreign key has an index that starts with its column. Without them, a
/// per-record join (the export's `prediction` on `record_id`) or a cascade (deleting a corpus
/// deletes its records, and each record its predictions, cached logits and embeddings) scans the
/// whole child table once per record: quadratic in the corpus.
const V8: &str = r#"
CREATE INDEX prediction_by_record ON prediction (record_id, run_id);
CREATE INDEX nli_logits_by_record ON nli_logits (record_id);
CREATE INDEX embedding_by_record ON embedding (record_id);
CREATE INDEX annotation_batch_by_corpus ON annotation_batch (corpus_id);
CREATE INDEX trained_head_by_embedding_set ON trained_head (embedding_set);
"#;

/// Version 9: runs gain the kind 'classifier' (a fine-tuned sequence classifier with its own
/// labels; `template` is empty, since it reads the text as it is) and 'tagger' (token
/// classifiers' runs, whose entities come with span labeling). A CHECK constraint cannot change
/// either, so the table is rebuilt as in version 7; ids are kept, so predictions and trained
/// heads keep their runs.
const V9: &str = r#"
CREATE TABLE run_v9 (
    id              INTEGER PRIMARY KEY,
    corpus_id       INTEGER NOT NULL REFERENCES corpus(id) ON DELETE CASCADE,
    model           TEXT NOT NULL,
    weights_sha256  TEXT NOT NULL,
    labels          TEXT NOT NULL,
    template        TEXT NOT NULL,
    multi_label     INTEGER NOT NULL CHECK (multi_label IN (0, 1)),
    strip_accents   INTEGER NOT NULL CHECK (strip_accents IN (-1, 0, 1)),
    precision       TEXT NOT NULL DEFAULT 'exact' CHECK (precision IN ('exact', 'bf16')),
    precision_check TEXT,
    created_at      TEXT NOT NULL,
    finished_at     TEXT,
    name            TEXT,
    kind            TEXT NOT NULL DEFAULT 'zeroshot' CHECK (kind IN ('zeroshot', 'trained', 'classifier', 'tagger')),
    UNIQUE (corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, precision)
);
INSERT INTO run_v9 SELECT id, corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, precision,
    precision_check, created_at, finished_at, name, kind FROM run;
DROP TABLE run;
ALTER TABLE run_v9 RENAME TO run;
"#;

/// Version 10: a record may hold a second text (`text_pair`: the hypothesis, paraphrase or
/// answer of a sentence-pair corpus), read by pair classifiers with the first.
const V10: &str = r#"
ALTER TABLE record ADD COLUMN text_pair TEXT;
"#;

/// Version 11: tagging runs. `tagged_record` marks each record a tagger's run has done (with no
/// entity too), with its entity count and its least confident entity's score (the order
/// "least sure first" reads); `run_entity` holds the entities, in the pipeline's order (`seq`),
/// as character offsets into the record's text with the text they cover.
const V11: &str = r#"
CREATE TABLE tagged_record (
    run_id    INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    record_id INTEGER NOT NULL REFERENCES record(id) ON DELETE CASCADE,
    entities  INTEGER NOT NULL,
    min_score REAL,
    truncated INTEGER NOT NULL CHECK (truncated IN (0, 1)),
    PRIMARY KEY (run_id, record_id)
) WITHOUT ROWID;
CREATE INDEX tagged_record_by_record ON tagged_record (record_id, run_id);
CREATE INDEX tagged_record_by_score ON tagged_record (run_id, min_score, record_id);

CREATE TABLE run_entity (
    run_id    INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    label     TEXT NOT NULL,
    start     INTEGER NOT NULL CHECK (start >= 0),
    "end"     INTEGER NOT NULL CHECK ("end" >= start),
    score     REAL NOT NULL,
    text      TEXT NOT NULL,
    PRIMARY KEY (run_id, record_id, seq),
    FOREIGN KEY (run_id, record_id) REFERENCES tagged_record (run_id, record_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX run_entity_by_label ON run_entity (run_id, label, record_id);
"#;

/// Version 12: a record may hold reference entity spans (`gold_spans`, JSON: a list of
/// `{"start", "end", "label"}` in characters; an empty list is a record without entities, NULL
/// one without a reference), imported from CoNLL files or a spans field, what taggers are
/// measured against.
const V12: &str = r#"
ALTER TABLE record ADD COLUMN gold_spans TEXT;
"#;

/// Version 13: annotations may hold entity spans beside the labels (`spans`, JSON of
/// `domain::spans::Span`s; NULL: none given), in the current state, the history (with the spans
/// an event replaced, so undo restores them) and each annotator's own latest state.
const V13: &str = r#"
ALTER TABLE annotation ADD COLUMN spans TEXT;
ALTER TABLE annotation_event ADD COLUMN spans TEXT;
ALTER TABLE annotation_event ADD COLUMN prev_spans TEXT;
ALTER TABLE annotator_label ADD COLUMN spans TEXT;
"#;

/// Version 14: a corpus's label schema has a kind: document labels, or entity types for spans.
const V14: &str = r#"
ALTER TABLE corpus ADD COLUMN schema_kind TEXT NOT NULL DEFAULT 'labels' CHECK (schema_kind IN ('labels', 'spans'));
"#;

/// Version 15: the "least sure entity first" order gets an index on its own key (records
/// without entities last: `COALESCE(min_score, 2.0)`), which replaces the one on `min_score`
/// that no query could use; and a tagged record keeps whether the run's entities differ from
/// the record's imported reference spans (`gold_differs`: 1 or 0; NULL without imported spans),
/// written with the entities (imported spans never change), so "run and reference disagree on
/// spans" reads an index instead of comparing every record's spans per query. Runs tagged
/// before are filled in by [`fill_gold_differs`], with the comparison `save_tagged` uses.
const V15: &str = r#"
ALTER TABLE tagged_record ADD COLUMN gold_differs INTEGER CHECK (gold_differs IN (0, 1));
CREATE INDEX tagged_record_by_gold_difference ON tagged_record (run_id, gold_differs, record_id);
DROP INDEX tagged_record_by_score;
CREATE INDEX tagged_record_by_entity_order ON tagged_record (run_id, COALESCE(min_score, 2.0), record_id);
"#;

/// Version 16: maps of the corpus (`domain::map`): one per (embedding set, method, seed), every
/// record's coordinates in one blob (16 bytes a record: id i64, x f32, y f32, little-endian),
/// written whole in one statement, so a map is complete or absent.
const V16: &str = r#"
CREATE TABLE corpus_map (
    id         INTEGER PRIMARY KEY,
    set_id     INTEGER NOT NULL REFERENCES embedding_set(id) ON DELETE CASCADE,
    method     TEXT NOT NULL,
    seed       INTEGER NOT NULL,
    records    INTEGER NOT NULL,
    points     BLOB NOT NULL,
    explained  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (set_id, method, seed)
);
"#;

/// Version 17: where a corpus pulled from the Hub came from (`domain::dataset::HubOrigin` as
/// JSON: repository, revision, commit, config, split); null for a corpus imported from a file.
const V17: &str = r#"
ALTER TABLE corpus ADD COLUMN origin TEXT;
"#;

/// Version 15's back-fill: `gold_differs` of every record tagged before, by
/// `domain::spans::differ` (the one rule, as `save_tagged` applies it to new entities).
fn fill_gold_differs(tx: &rusqlite::Transaction) -> rusqlite_migration::HookResult {
    use crate::domain::spans::{differ, Span};
    // In keyset batches, so a million tagged records' spans are never all in memory.
    let mut tagged = tx.prepare(
        "SELECT t.run_id, t.record_id, x.gold_spans FROM tagged_record t JOIN record x ON x.id = t.record_id \
         WHERE x.gold_spans IS NOT NULL AND (t.run_id, t.record_id) > (?1, ?2) ORDER BY t.run_id, t.record_id LIMIT 10000",
    )?;
    let mut entities = tx.prepare("SELECT label, start, \"end\" FROM run_entity WHERE run_id = ?1 AND record_id = ?2")?;
    let mut update = tx.prepare("UPDATE tagged_record SET gold_differs = ?3 WHERE run_id = ?1 AND record_id = ?2")?;
    let mut after = (i64::MIN, i64::MIN);
    loop {
        let rows: Vec<(i64, i64, String)> =
            tagged.query_map([after.0, after.1], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
        let Some(last) = rows.last() else { break };
        after = (last.0, last.1);
        for (run, record, gold) in rows {
            let gold: Vec<Span> = serde_json::from_str(&gold)
                .map_err(|e| rusqlite_migration::HookError::Hook(format!("record {record}'s reference spans are not spans: {e}")))?;
            let found: Vec<Span> = entities
                .query_map([run, record], |r| Ok(Span { label: r.get(0)?, start: r.get::<_, i64>(1)? as usize, end: r.get::<_, i64>(2)? as usize }))?
                .collect::<rusqlite::Result<_>>()?;
            update.execute(rusqlite::params![run, record, differ(&gold, &found)])?;
        }
    }
    Ok(())
}

pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(V3),
        M::up(V4),
        M::up(V5),
        M::up(V6),
        M::up(V7),
        M::up(V8),
        M::up(V9),
        M::up(V10),
        M::up(V11),
        M::up(V12),
        M::up(V13),
        M::up(V14),
        M::up_with_hook(V15, fill_gold_differs),
        M::up(V16),
        M::up(V17),
    ])
}

/// The schema version this build writes.
pub fn latest_version() -> usize {
    17
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    /// Version 5 fills each annotator's own latest labels from the history written before it:
    /// an undone change and the undo itself are not anyone's labels.
    #[test]
    fn version_5_fills_annotator_labels_from_the_history() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::migrations().to_version(&mut conn, 4).unwrap();
        conn.execute_batch(
            "INSERT INTO corpus (id, name, source_path, format, created_at) VALUES (1, 'c', 'c.csv', 'csv', 'now');
             INSERT INTO record (id, corpus_id, row_number, text) VALUES (1, 1, 1, 'uno'), (2, 1, 2, 'dos');
             INSERT INTO annotation_event (id, record_id, labels, status, annotator, at) VALUES
               (1, 1, '[\"a\"]', 'accepted', 'ana', 't1'),
               (2, 1, '[\"b\"]', 'accepted', 'luis', 't2'),
               (3, 1, '[\"c\"]', 'accepted', 'ana', 't3'),
               (4, 2, '[\"a\"]', 'accepted', 'luis', 't4');
             INSERT INTO annotation_event (id, record_id, labels, status, prev_labels, prev_status, annotator, at, undoes) VALUES
               (5, 2, NULL, NULL, '[\"a\"]', 'accepted', 'luis', 't5', 4),
               (6, 1, '[\"b\"]', 'accepted', '[\"c\"]', 'accepted', 'ana', 't6', 3);",
        )
        .unwrap();
        super::migrations().to_latest(&mut conn).unwrap();
        let mut stmt = conn.prepare("SELECT record_id, annotator, labels FROM annotator_label ORDER BY record_id, annotator").unwrap();
        let rows: Vec<(i64, String, String)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        // ana's "c" was undone, so her label is her earlier "a"; luis's only change on record 2 was undone.
        assert_eq!(rows, [(1, "ana".into(), "[\"a\"]".into()), (1, "luis".into(), "[\"b\"]".into())]);
    }

    /// Version 9 rebuilds the run table again for the classifier kind: every column of every run
    /// is kept, and the kinds are exactly the four it names.
    #[test]
    fn version_9_keeps_runs_and_adds_the_classifier_kind() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        super::migrations().to_version(&mut conn, 8).unwrap();
        conn.execute_batch(
            "INSERT INTO corpus (id, name, source_path, format, created_at) VALUES (1, 'c', 'c.csv', 'csv', 'now');
             INSERT INTO record (id, corpus_id, row_number, text) VALUES (1, 1, 1, 'uno');
             INSERT INTO run (id, corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, precision, precision_check,
                              created_at, finished_at, name, kind)
               VALUES (3, 1, 'm', 'abc', '[\"a\"]', 'head', 1, 0, 'bf16', '{}', 'then', 'later', 'mine', 'trained');
             INSERT INTO prediction (run_id, record_id, labels, scores, top_label, top_score, margin, entropy)
               VALUES (3, 1, '[\"a\"]', '[1.0]', 'a', 1.0, 1.0, 0.0);",
        )
        .unwrap();
        let before: Vec<String> = conn
            .prepare("SELECT * FROM run")
            .unwrap()
            .query_map([], |r| Ok(format!("{:?}", (0..14).map(|i| r.get_ref(i).map(|v| format!("{v:?}"))).collect::<Vec<_>>())))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        super::migrations().to_latest(&mut conn).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        let after: Vec<String> = conn
            .prepare("SELECT * FROM run")
            .unwrap()
            .query_map([], |r| Ok(format!("{:?}", (0..14).map(|i| r.get_ref(i).map(|v| format!("{v:?}"))).collect::<Vec<_>>())))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(before, after);
        let insert = |kind: &str| {
            conn.execute(
                "INSERT INTO run (corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, created_at, kind) \
                 VALUES (1, 'c', 'def', '[]', '', 0, -1, 'now', ?1)",
                [kind],
            )
        };
        assert!(insert("bogus").is_err());
        insert("classifier").unwrap();
        conn.execute("DELETE FROM run WHERE id = 3", []).unwrap();
        assert_eq!(conn.query_row("SELECT COUNT(*) FROM prediction", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
    }

    /// Version 7 rebuilds the run table: runs keep their ids and columns, their predictions and
    /// trained heads stay (foreign keys are on, as the store opens projects, once it is done), and
    /// the same task may then have an exact and a bf16 run, but not two of either.
    #[test]
    fn version_7_keeps_runs_and_their_predictions() {
        let mut conn = Connection::open_in_memory().unwrap();
        // As the store migrates: foreign keys off (the bundled SQLite's default is on).
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        super::migrations().to_version(&mut conn, 6).unwrap();
        conn.execute_batch(
            "INSERT INTO corpus (id, name, source_path, format, created_at) VALUES (1, 'c', 'c.csv', 'csv', 'now');
             INSERT INTO record (id, corpus_id, row_number, text) VALUES (1, 1, 1, 'uno');
             INSERT INTO run (id, corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, created_at, finished_at, name, kind)
               VALUES (7, 1, 'm', 'abc', '[\"a\"]', 't {}', 0, -1, 'then', 'later', 'mine', 'zeroshot');
             INSERT INTO prediction (run_id, record_id, labels, scores, top_label, top_score, margin, entropy)
               VALUES (7, 1, '[\"a\"]', '[1.0]', 'a', 1.0, 1.0, 0.0);
             INSERT INTO embedding_set (id, corpus_id, model, weights_sha256, strip_accents, dim, created_at) VALUES (1, 1, 'm', 'abc', -1, 2, 'now');
             INSERT INTO trained_head (run_id, embedding_set, head, n_train, cross_validation) VALUES (7, 1, '{}', 1, '{}');",
        )
        .unwrap();
        super::migrations().to_latest(&mut conn).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        let run: (i64, String, String, Option<String>, String, String) = conn
            .query_row("SELECT id, precision, name, precision_check, finished_at, kind FROM run", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .unwrap();
        assert_eq!(run, (7, "exact".into(), "mine".into(), None, "later".into(), "zeroshot".into()));
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM prediction WHERE run_id = 7"), 1);
        assert_eq!(count("SELECT COUNT(*) FROM trained_head WHERE run_id = 7"), 1);
        let insert = |precision: &str| {
            conn.execute(
                "INSERT INTO run (corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, precision, created_at) \
                 VALUES (1, 'm', 'abc', '[\"a\"]', 't {}', 0, -1, ?1, 'now')",
                [precision],
            )
        };
        insert("bf16").unwrap();
        assert!(insert("bf16").is_err() && insert("exact").is_err(), "one run per task and precision");
        // The foreign keys point at the rebuilt table: deleting a run deletes its predictions.
        conn.execute("DELETE FROM run WHERE id = 7", []).unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM prediction"), 0);
        assert_eq!(count("SELECT COUNT(*) FROM trained_head"), 0);
    }

    /// Every foreign key's column is the first column of an index (or of the primary key), so
    /// the lookups a cascade makes per deleted parent row are seeks, never scans of the child
    /// table: deleting a corpus is linear in what it deletes.
    #[test]
    fn every_foreign_key_has_an_index_that_starts_with_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::migrations().to_latest(&mut conn).unwrap();
        let strings = |sql: &str, arg: &str| -> Vec<String> {
            let mut stmt = conn.prepare(sql).unwrap();
            stmt.query_map([arg], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        let tables = strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE ?1", "record_fts%");
        let mut missing = Vec::new();
        for table in &tables {
            // Each foreign key's columns, in order (a composite key is one key).
            let keys = strings("SELECT group_concat(\"from\", ',') FROM pragma_foreign_key_list(?1) GROUP BY id", table);
            // The columns of every index, the primary key's included (WITHOUT ROWID tables and
            // composite keys have one in pragma_index_list; a rowid alias is the table itself).
            let mut indexes = strings("SELECT name FROM pragma_table_info(?1) WHERE pk = 1", table);
            for index in strings("SELECT name FROM pragma_index_list(?1)", table) {
                // An expression's column has no name (the entity order's `COALESCE(min_score, 2.0)`).
                indexes.push(strings("SELECT COALESCE(name, '<expression>') FROM pragma_index_info(?1) ORDER BY seqno", &index).join(","));
            }
            // A key is served when an index starts with all of its columns.
            let served = |key: &str| indexes.iter().any(|i| i == key || i.starts_with(&format!("{key},")));
            missing.extend(keys.into_iter().filter(|k| !served(k)).map(|k| format!("{table}.({k})")));
        }
        assert!(tables.len() >= 15, "{tables:?}");
        assert!(missing.is_empty(), "foreign keys without an index: {missing:?}");
    }

    /// Version 15 fills in whether each tagged record's entities differ from its imported spans:
    /// the same set in another order does not, a missing, extra or retyped span does, and a
    /// record without imported spans has no answer.
    #[test]
    fn version_15_compares_tagged_records_with_their_imported_spans() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::migrations().to_version(&mut conn, 14).unwrap();
        conn.execute_batch(
            r#"INSERT INTO corpus (id, name, source_path, format, created_at) VALUES (1, 'c', 'c.conll', 'conll', 'now');
             INSERT INTO record (id, corpus_id, row_number, text, gold_spans) VALUES
               (1, 1, 1, 'Ana en Lima', '[{"start":0,"end":3,"label":"PER"},{"start":7,"end":11,"label":"LOC"}]'),
               (2, 1, 2, 'Ana en Lima', '[{"start":0,"end":3,"label":"PER"}]'),
               (3, 1, 3, 'Ana en Lima', '[{"start":0,"end":3,"label":"ORG"},{"start":7,"end":11,"label":"LOC"}]'),
               (4, 1, 4, 'Ana en Lima', '[]'),
               (5, 1, 5, 'Ana en Lima', NULL),
               (6, 1, 6, 'Ana en Lima', '[]');
             INSERT INTO run (id, corpus_id, model, weights_sha256, labels, template, multi_label, strip_accents, created_at, kind)
               VALUES (3, 1, 't', 'c', '["PER"]', 'aggregation=simple', 0, -1, 'now', 'tagger');
             INSERT INTO tagged_record (run_id, record_id, entities, min_score, truncated) SELECT 3, id, 2, 0.5, 0 FROM record WHERE id < 6;
             INSERT INTO tagged_record (run_id, record_id, entities, min_score, truncated) VALUES (3, 6, 0, NULL, 0);
             INSERT INTO run_entity (run_id, record_id, seq, label, start, "end", score, text)
               SELECT 3, id, 0, 'LOC', 7, 11, 0.5, 'Lima' FROM record WHERE id < 6
               UNION ALL SELECT 3, id, 1, 'PER', 0, 3, 0.5, 'Ana' FROM record WHERE id < 6;"#,
        )
        .unwrap();
        super::migrations().to_latest(&mut conn).unwrap();
        let mut stmt = conn.prepare("SELECT gold_differs FROM tagged_record ORDER BY record_id").unwrap();
        let differs: Vec<Option<i64>> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        assert_eq!(differs, [Some(0), Some(1), Some(1), Some(1), None, Some(0)]);
    }
}
