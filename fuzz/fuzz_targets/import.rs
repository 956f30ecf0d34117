//! Fuzzes the corpus importers: any bytes, read as CSV, TSV, JSONL, plain text or CoNLL, must give
//! records, bad rows or an error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selectra::exchange::import::{parse_bytes, Format, ImportOptions};

fuzz_target!(|data: &[u8]| {
    let plain = ImportOptions { name: "fuzz".into(), ..Default::default() };
    let columns = ImportOptions {
        name: "fuzz".into(),
        id_column: Some("id".into()),
        label_column: Some("label".into()),
        spans_column: Some("spans".into()),
        metadata_columns: vec!["meta".into()],
        ..Default::default()
    };
    for format in [Format::Csv, Format::Tsv, Format::Jsonl, Format::Txt, Format::Conll] {
        for options in [&plain, &columns] {
            if let Ok(rows) = parse_bytes(data, format, options) {
                for row in rows.take(100_000) {
                    let _ = row;
                }
            }
        }
    }
});
