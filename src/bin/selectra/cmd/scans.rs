//! `selectra` commands. Discriminator scans: the list, and a scan's most suspicious records and
//! words (or two scans compared).

use selectra::store::Store;
use selectra::Result;

use crate::args::{ScansArgs, SuspiciousArgs};
use crate::output::*;

pub fn scans(args: ScansArgs) -> Result<()> {
    let ScansArgs { db, corpus, json } = args;
    let scans = Store::open_existing(&db)?.scans(corpus.as_deref())?;
    if json {
        print_json(&scans);
    } else if scans.is_empty() {
        out!("no scans in {}", db.display());
    } else {
        out!("{:>4}  {:<16}  {:>15}  {:<8}  model", "scan", "corpus", "records", "state");
        for s in &scans {
            let state = if s.finished_at.is_some() { "complete" } else { "partial" };
            out!("{:>4}  {:<16}  {:>15}  {state:<8}  {}", s.id, s.key.corpus, format!("{}/{}", s.scanned, s.records), s.key.model);
        }
    }
    Ok(())
}

pub fn suspicious(args: SuspiciousArgs) -> Result<()> {
    let SuspiciousArgs { db, corpus, scan, limit, words, compare, json } = args;
    let store = Store::open_existing(&db)?;
    let scan = store.corpus_scan(&corpus, scan)?;
    if let Some(other) = compare {
        let c = selectra::analysis::scans::compare_scans(&store, scan.id, other, limit)?;
        if json {
            print_json(&c);
        } else {
            let kappa = c.kappa.map_or("undefined".to_string(), |k| format!("{k:.3}"));
            out!(
                "scans {} and {}: {} records, {} words; flagged by {}: {}, by {}: {}, by both: {}",
                c.a,
                c.b,
                c.records,
                c.words,
                c.a,
                c.flagged_by_a,
                c.b,
                c.flagged_by_b,
                c.flagged_by_both
            );
            out!("agreement {:.1}%, Cohen's kappa {kappa}", 100.0 * c.agreement);
            for d in &c.disagreements {
                out!(
                    "row {:>6}  suspicion {:.3} vs {:.3}  only {}: {}  only {}: {}",
                    d.row_number,
                    d.suspicion_a,
                    d.suspicion_b,
                    c.a,
                    d.only_a.len(),
                    c.b,
                    d.only_b.len()
                );
            }
        }
    } else if words {
        let words = store.flagged_words(scan.id, limit)?;
        if json {
            print_json(&words);
        } else {
            out!("{:>6}  {:>9}  {:<24}  rows", "count", "mean P", "word");
            for w in &words {
                let rows: Vec<String> = w.examples.iter().map(u64::to_string).collect();
                out!("{:>6}  {:>9.4}  {:<24}  {}", w.count, w.mean_probability, w.word, rows.join(", "));
            }
        }
    } else {
        let records = store.suspicious_records(scan.id, limit)?;
        if json {
            print_json(&records.into_iter().map(selectra::api::wire::SuspiciousRecordDto::from).collect::<Vec<_>>());
        } else {
            for r in &records {
                let flagged: Vec<String> =
                    r.words().iter().filter(|w| w.flagged).map(|w| format!("{} ({:.2})", w.text(&r.text), w.probability)).collect();
                out!("row {:>6}  suspicion {:.4}  flagged {}  {}", r.row_number, r.suspicion, r.flagged, flagged.join(", "));
            }
        }
    }
    Ok(())
}
