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

pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1), M::up(V2), M::up(V3), M::up(V4), M::up(V5), M::up(V6)])
}

/// The schema version this build writes.
pub fn latest_version() -> usize {
    6
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
}
