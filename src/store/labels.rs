//! A corpus's label schema in the project file (the schema itself, its rules and defaults, are
//! `domain::labels`), and where its labels come from ([`LabelSources`]).

use rusqlite::{params, TransactionBehavior};

use super::Store;
use crate::domain::labels::{LabelDef, LabelSchema, SchemaKind};
use crate::domain::task::MAX_LABELS;
use crate::error::Result;

impl Store {
    /// The corpus's label schema; empty labels when none was set.
    pub fn label_schema(&self, corpus: &str) -> Result<LabelSchema> {
        let corpus_id = self.corpus_id(corpus)?;
        let (guidelines, kind): (String, String) = self
            .conn
            .query_row("SELECT guidelines, schema_kind FROM corpus WHERE id = ?1", [corpus_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        let mut stmt = self
            .conn
            .prepare("SELECT name, description, key, colour, hypothesis FROM label_def WHERE corpus_id = ?1 ORDER BY position")
            .map_err(|e| self.err(e))?;
        let labels = stmt
            .query_map([corpus_id], |r| {
                Ok(LabelDef { name: r.get(0)?, description: r.get(1)?, key: r.get(2)?, colour: Some(r.get(3)?), hypothesis: r.get(4)? })
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(LabelSchema { labels, guidelines, kind: SchemaKind::parse(&kind)? })
    }

    /// Replaces the corpus's label schema (checked and completed by [`LabelSchema::normalized`]);
    /// returns what was stored. Annotations keep their labels whatever the schema says.
    pub fn set_label_schema(&mut self, corpus: &str, schema: LabelSchema) -> Result<LabelSchema> {
        let corpus_id = self.corpus_id(corpus)?;
        let schema = schema.normalized()?;
        let path = self.path.clone();
        let err = |e| super::db_error(&path, e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        tx.execute("DELETE FROM label_def WHERE corpus_id = ?1", [corpus_id]).map_err(err)?;
        for (i, l) in schema.labels.iter().enumerate() {
            tx.execute(
                "INSERT INTO label_def (corpus_id, position, name, description, key, colour, hypothesis) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![corpus_id, i as i64, l.name, l.description, l.key, l.colour, l.hypothesis],
            )
            .map_err(err)?;
        }
        tx.execute("UPDATE corpus SET guidelines = ?1, schema_kind = ?2 WHERE id = ?3", params![schema.guidelines, schema.kind.as_str(), corpus_id])
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(schema)
    }

    /// Makes `template` the corpus's hypotheses: every label of its schema gets the template
    /// filled with its name (a corpus without a schema gets one of `labels` first). Returns the
    /// stored schema.
    pub fn use_template(&mut self, corpus: &str, labels: &[String], template: &str) -> Result<LabelSchema> {
        let mut schema = self.label_schema(corpus)?;
        if schema.labels.is_empty() {
            schema = LabelSchema { guidelines: schema.guidelines, kind: schema.kind, ..LabelSchema::from_names(labels)? };
        }
        self.set_label_schema(corpus, schema.with_template(template)?)
    }

    /// Labels the corpus already uses, for starting a schema: gold labels, annotated labels, the
    /// newest run's candidate labels, and the entity types of reference and annotated spans,
    /// each once, most frequent first.
    pub fn labels_in_use(&self, corpus: &str) -> Result<Vec<String>> {
        let corpus_id = self.corpus_id(corpus)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT label, SUM(n) FROM ( \
                   SELECT gold AS label, COUNT(*) AS n FROM record WHERE corpus_id = ?1 AND gold IS NOT NULL GROUP BY gold \
                   UNION ALL SELECT j.value, COUNT(*) FROM annotation a JOIN record x ON x.id = a.record_id, json_each(a.labels) j \
                     WHERE x.corpus_id = ?1 GROUP BY j.value \
                   UNION ALL SELECT j.value, 0 FROM (SELECT labels FROM run WHERE corpus_id = ?1 ORDER BY id DESC LIMIT 1) r, json_each(r.labels) j \
                   UNION ALL SELECT json_extract(j.value, '$.label'), COUNT(*) FROM record x, json_each(x.gold_spans) j \
                     WHERE x.corpus_id = ?1 AND x.gold_spans IS NOT NULL GROUP BY 1 \
                   UNION ALL SELECT json_extract(j.value, '$.label'), COUNT(*) FROM annotation a JOIN record x ON x.id = a.record_id, \
                     json_each(a.spans) j WHERE x.corpus_id = ?1 AND a.spans IS NOT NULL GROUP BY 1 \
                 ) GROUP BY label ORDER BY SUM(n) DESC, label LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![corpus_id, MAX_LABELS as i64], |r| r.get(0)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// What a head could be trained on: the corpus's accepted annotations and its gold labels,
    /// each as records and kinds of label (gold cells split at `|`). Two grouped reads, each one
    /// pass over the corpus's rows of an index.
    pub fn label_sources(&self, corpus: &str) -> Result<LabelSources> {
        let corpus_id = self.corpus_id(corpus)?;
        let count = |sql: &str| -> Result<(u64, u64)> {
            let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
            let rows = stmt.query_map([corpus_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(|e| self.err(e))?;
            let mut kinds = std::collections::HashSet::new();
            let mut records = 0u64;
            for row in rows {
                let (value, n) = row.map_err(|e| self.err(e))?;
                records += n as u64;
                kinds.extend(value.split('|').map(str::trim).filter(|l| !l.is_empty()).map(str::to_string));
            }
            Ok((records, kinds.len() as u64))
        };
        let (gold, gold_kinds) = count("SELECT gold, COUNT(*) FROM record WHERE corpus_id = ?1 AND gold IS NOT NULL AND gold != '' GROUP BY gold")?;
        // Each accepted label set as one `|`-joined value, so that both reads count alike.
        let (annotations, annotation_kinds) = count(
            "SELECT (SELECT group_concat(j.value, '|') FROM json_each(a.labels) j), COUNT(*) FROM annotation a \
             JOIN record x ON x.id = a.record_id WHERE x.corpus_id = ?1 AND a.status = 'accepted' AND a.labels != '[]' GROUP BY a.labels",
        )?;
        Ok(LabelSources { annotations, annotation_kinds, gold, gold_kinds })
    }
}

/// A corpus's labels by where they come from ([`Store::label_sources`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabelSources {
    /// Records with an accepted annotation that has labels, and the kinds of label among them.
    pub annotations: u64,
    pub annotation_kinds: u64,
    /// Records with a gold label, and the kinds of label among them.
    pub gold: u64,
    pub gold_kinds: u64,
}
