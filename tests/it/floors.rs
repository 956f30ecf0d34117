//! The floors test (rust-analyzer's tidy test, for this crate's layering): it reads every
//! `src/**/*.rs` and fails when a module imports a floor above its own or a sibling it must not
//! see (the store never imports the engine, nor the engine the store), when two modules of one
//! floor import each other in a cycle, or when a file lacks its `//!` line. There is no
//! exceptions list: a failure is fixed by moving the code to the floor it belongs to.
//! ARCHITECTURE.md explains each floor.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each floor and what it may import, besides itself and the shared root files.
const FLOORS: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("engine", &["domain"]),
    ("store", &["domain"]),
    ("exchange", &["store", "domain"]),
    ("analysis", &["store", "domain"]),
    ("jobs", &["engine", "store", "analysis", "domain"]),
    ("report", &["analysis", "store", "domain"]),
    ("api", &["report", "jobs", "analysis", "exchange", "engine", "store", "domain"]),
];

/// Root modules every floor may import (errors, with the panic guard inside `error`, and atomic
/// file writes); they import nothing of the floors.
const SHARED: &[&str] = &["error", "fs", "hub"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("src is readable").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/engine/model/mod.rs` is `[engine, model]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("under src");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The source without comments (line and block), so prose that names a module is not an import.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        if in_string {
            if bytes[i] == b'\\' {
                out.push_str(&text[i..(i + 2).min(text.len())]);
                i += 2;
                continue;
            }
            if bytes[i] == b'"' {
                in_string = false;
            }
            out.push(bytes[i] as char);
            i += 1;
        } else if text[i..].starts_with("//") {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
        } else if text[i..].starts_with("/*") {
            i = text[i..].find("*/").map_or(bytes.len(), |n| i + n + 2);
        } else {
            // Character literals ('"') must not open a string.
            if text[i..].starts_with("'\"'") {
                out.push_str("' '");
                i += 3;
                continue;
            }
            if bytes[i] == b'"' {
                in_string = true;
            }
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn ident_at(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// The first identifier of each item of a `{ … }` group that starts at `text` (after the `{`).
fn group_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut expect_head = true;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expect_head = true,
            c if expect_head && depth == 0 && (c.is_alphabetic() || c == '_') => {
                heads.push(ident_at(&text[i..]).to_string());
                expect_head = false;
            }
            _ => {}
        }
    }
    heads
}

/// Every crate-root name a file reaches: `crate::x…`, `crate::{x…, y…}` and `super::…` chains
/// that climb to the root.
fn root_names(module: &[String], code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            names.extend(group_heads(group));
        } else {
            names.insert(ident_at(rest).to_string());
        }
    }
    for (at, _) in code.match_indices("super::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut rest = &code[at..];
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r;
        }
        // A file's own module is its last path segment; `super` from `engine/hub.rs` is `engine`.
        if ups >= module.len() {
            if let Some(group) = rest.strip_prefix('{') {
                names.extend(group_heads(group));
            } else {
                names.insert(ident_at(rest).to_string());
            }
        }
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

/// The names `lib.rs` re-exports (`pub use engine::{Model, LoadOptions};`), with the floor or
/// shared file each comes from, so a `crate::Model` counts as an import of the engine.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else { continue };
        let origin = ident_at(path).to_string();
        // The last identifier of each item: `a::b::{C, D as E}` names C and E.
        let items = match path.find('{') {
            Some(open) => path[open + 1..].trim_end_matches('}').split(',').map(str::to_string).collect::<Vec<_>>(),
            None => vec![path.to_string()],
        };
        for item in items {
            if let Some(name) = item.split(|c: char| !(c.is_alphanumeric() || c == '_')).rfind(|s| !s.is_empty()) {
                map.insert(name.to_string(), origin.clone());
            }
        }
    }
    map
}

struct Source {
    file: PathBuf,
    module: Vec<String>,
    code: String,
}

fn sources() -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files
        .into_iter()
        .filter(|f| !f.starts_with(src().join("bin")))
        .map(|file| {
            let text = std::fs::read_to_string(&file).expect("readable source");
            Source { module: module_path(&file), code: code_only(&text), file }
        })
        .collect()
}

#[test]
fn every_module_imports_only_the_floors_below_it() {
    let floors: BTreeMap<&str, &[&str]> = FLOORS.iter().copied().collect();
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let reexported = reexports(&code_only(&lib));
    let mut wrong = Vec::new();
    let mut top_level = BTreeSet::new();
    for source in sources() {
        let Some(own) = source.module.first() else { continue }; // lib.rs: the crate's table of contents
        top_level.insert(own.clone());
        let own_floor = floors.get(own.as_str());
        if own_floor.is_none() && !SHARED.contains(&own.as_str()) {
            wrong.push(format!("{}: `{own}` is neither a floor nor a shared root file", source.file.display()));
            continue;
        }
        for name in root_names(&source.module, &source.code) {
            let target = reexported.get(&name).cloned().unwrap_or(name.clone());
            // Its own floor, the shared root files, and the crate's VERSION are always in reach.
            if target == *own || SHARED.contains(&target.as_str()) || target == "VERSION" {
                continue;
            }
            let allowed = own_floor.is_some_and(|may| may.contains(&target.as_str()));
            if !allowed {
                wrong.push(format!("{}: the {own} floor imports `{target}` (as `{name}`)", source.file.display()));
            }
        }
    }
    // The floors named here exist, so a renamed folder cannot make the table vacuous.
    for (floor, _) in FLOORS {
        assert!(top_level.contains(*floor), "src/{floor}/ is missing; the floor table and the tree disagree");
    }
    assert!(wrong.is_empty(), "imports that break the floor rule:\n{}", wrong.join("\n"));
}

/// What the domain floor may not touch: files, processes, the network, the database, the model
/// runtime. Its rules are plain values in and out.
const IMPURE: &[&str] = &["std::fs", "std::process", "std::net", "File::", "rusqlite", "candle_core", "candle_nn", "tokenizers::", "hf_hub"];

#[test]
fn the_domain_reads_no_file_model_or_database() {
    let mut wrong = Vec::new();
    let mut seen = 0;
    for source in sources().into_iter().filter(|s| s.module.first().is_some_and(|m| m == "domain")) {
        seen += 1;
        for word in IMPURE.iter().filter(|w| source.code.contains(*w)) {
            wrong.push(format!("{}: uses {word}", source.file.display()));
        }
    }
    assert!(seen >= 5, "only {seen} domain files found");
    assert!(wrong.is_empty(), "the domain floor is pure (no I/O, no candle, no rusqlite):\n{}", wrong.join("\n"));
}

#[test]
fn no_two_modules_of_a_floor_import_each_other_in_a_cycle() {
    // The graph between a floor's direct children (engine::hub → engine::model …).
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for source in sources() {
        let [floor, child, ..] = source.module.as_slice() else { continue };
        let node = (floor.clone(), child.clone());
        let entry = edges.entry(node).or_default();
        for (at, _) in source.code.match_indices(&format!("crate::{floor}::")) {
            let rest = &source.code[at + floor.len() + "crate::::".len()..];
            let heads = match rest.strip_prefix('{') {
                Some(group) => group_heads(group),
                None => vec![ident_at(rest).to_string()],
            };
            entry.extend(heads.into_iter().filter(|h| h != child && !h.is_empty()));
        }
        // `super::x` from a floor's child is a sibling in the same floor.
        if source.module.len() == 2 {
            for (at, _) in source.code.match_indices("super::") {
                if at > 0 && source.code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let rest = &source.code[at + "super::".len()..];
                if rest.starts_with("super::") {
                    continue;
                }
                let heads = match rest.strip_prefix('{') {
                    Some(group) => group_heads(group),
                    None => vec![ident_at(rest).to_string()],
                };
                entry.extend(heads.into_iter().filter(|h| h != child && !h.is_empty()));
            }
        }
    }
    // Depth-first search for a back edge, reporting the cycle's path.
    fn visit(
        node: &(String, String),
        edges: &BTreeMap<(String, String), BTreeSet<String>>,
        path: &mut Vec<(String, String)>,
        done: &mut BTreeSet<(String, String)>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let names: Vec<String> = path[at..].iter().chain([node]).map(|(f, c)| format!("{f}::{c}")).collect();
            cycles.push(names.join(" → "));
            return;
        }
        if !done.insert(node.clone()) {
            return;
        }
        path.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            let next = (node.0.clone(), next.clone());
            if edges.contains_key(&next) {
                visit(&next, edges, path, done, cycles);
            }
        }
        path.pop();
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, &edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(edges.len() > 20, "the floors' modules were not found ({} nodes)", edges.len());
    assert!(cycles.is_empty(), "import cycles inside a floor:\n{}", cycles.join("\n"));
}

#[test]
fn every_source_file_says_what_it_is_in_its_first_line() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).expect("readable").trim_start().starts_with("//!"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(files.len() > 40, "only {} source files found", files.len());
    assert!(missing.is_empty(), "files without a `//!` line saying what they are:\n{}", missing.join("\n"));
}

#[test]
fn the_import_reader_sees_the_forms_the_code_uses() {
    // The reader itself, on the forms above: a test of the test, so that it cannot pass by
    // seeing nothing.
    let module = vec!["store".to_string(), "scans".to_string()];
    let code = code_only(
        "use crate::engine::scan::words; // crate::report in a comment\n\
         use crate::{analysis::metrics, domain::{rtd, task}};\n\
         fn f() { crate::jobs::run(); super::corpus::x(); super::super::api::y(); }\n\
         /* crate::exchange */ const S: &str = \"text\";",
    );
    let names = root_names(&module, &code);
    let expected: BTreeSet<String> = ["engine", "analysis", "domain", "jobs", "api"].iter().map(|s| s.to_string()).collect();
    assert_eq!(names, expected);
    let lib = code_only("pub use error::{Error, ErrorCode, Result};\npub use engine::model::{LoadOptions, Model as Net};");
    let map = reexports(&lib);
    assert_eq!(map.get("Net").map(String::as_str), Some("engine"));
    assert_eq!(map.get("ErrorCode").map(String::as_str), Some("error"));
}
