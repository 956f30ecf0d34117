//! A Hub-like HTTP server on the loopback address, for the dataset pull and push tests: the
//! repository-info, tree, resolve (with ranges), create-repository, preupload and commit
//! endpoints that hf-hub calls, answering with the Hub's JSON shapes and headers (as
//! huggingface_hub's and hf-hub's parsers read them). Repositories live in memory as commits
//! of files; every request is logged so tests can count downloads. No test reaches the internet.
//!
//! One request per connection (`Connection: close`), handled in order on one thread.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The token that may write; `READ_TOKEN` may only read.
pub const WRITE_TOKEN: &str = "hf_test_write";
pub const READ_TOKEN: &str = "hf_test_read";

#[derive(Clone, Default)]
pub struct Repo {
    /// Commit id → files at that commit.
    pub commits: HashMap<String, BTreeMap<String, Vec<u8>>>,
    /// Branch or tag → commit id.
    pub refs: HashMap<String, String>,
    /// Gated: every read needs a token.
    pub gated: bool,
    pub private: bool,
    /// The commit messages, oldest first.
    pub messages: Vec<String>,
}

#[derive(Default)]
pub struct State {
    pub datasets: HashMap<String, Repo>,
    /// Every request: "METHOD path" (with the query).
    pub log: Vec<String>,
    /// Paths whose next full GET is cut off halfway (the connection closed mid-body).
    pub cut_once: Vec<String>,
    counter: u64,
}

impl State {
    fn next_commit(&mut self) -> String {
        self.counter += 1;
        let digest = Sha256::digest(format!("commit {}", self.counter).as_bytes());
        digest.iter().take(20).map(|b| format!("{b:02x}")).collect()
    }

    /// Adds a commit of `files` (replacing the branch's files wholesale) on `branch`.
    pub fn commit(&mut self, repo: &str, branch: &str, files: BTreeMap<String, Vec<u8>>) -> String {
        let id = self.next_commit();
        let r = self.datasets.entry(repo.to_string()).or_default();
        r.commits.insert(id.clone(), files);
        r.refs.insert(branch.to_string(), id.clone());
        id
    }

    /// GETs of `path` (a repository file path) that sent a body, ranged ones left out.
    pub fn downloads_of(&self, path: &str) -> usize {
        self.log.iter().filter(|l| l.starts_with("GET ") && l.contains("/resolve/") && l.ends_with(path) && !l.contains("range")).count()
    }
}

pub struct HubServer {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

impl HubServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                handle(stream, &shared);
            }
        });
        Self { url, state }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').map(|(p, q)| (p.to_string(), q.to_string())).unwrap_or((target, String::new()));
    Some(Request { method, path, query, headers, body })
}

fn respond(stream: &mut TcpStream, status: u16, headers: &[(&str, String)], body: &[u8], send_body: bool) {
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Error",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    if send_body {
        let _ = stream.write_all(body);
    }
    let _ = stream.flush();
}

fn json_response(stream: &mut TcpStream, status: u16, value: Value, error_code: Option<&str>) {
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    if let Some(code) = error_code {
        headers.push(("X-Error-Code", code.to_string()));
    }
    respond(stream, status, &headers, value.to_string().as_bytes(), true);
}

fn token(req: &Request) -> Option<String> {
    req.headers.get("authorization").and_then(|v| v.strip_prefix("Bearer ")).map(str::to_string)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `/api/datasets/ORG/NAME/<verb>/<rest>` → (repo, verb, rest).
fn api_parts(path: &str) -> Option<(String, String, String)> {
    let rest = path.strip_prefix("/api/datasets/")?;
    let mut it = rest.splitn(4, '/');
    let (org, name) = (it.next()?, it.next()?);
    Some((format!("{org}/{name}"), it.next().unwrap_or("").to_string(), it.next().unwrap_or("").to_string()))
}

fn handle(mut stream: TcpStream, state: &Arc<Mutex<State>>) {
    let Some(req) = read_request(&mut stream) else { return };
    let mut st = state.lock().unwrap();
    let range_note = if req.headers.contains_key("range") { " range" } else { "" };
    st.log.push(format!("{} {}{}{range_note}", req.method, req.path, if req.query.is_empty() { String::new() } else { format!("?{}", req.query) }));
    let tok = token(&req);

    if req.method == "POST" && req.path == "/api/repos/create" {
        match tok.as_deref() {
            Some(WRITE_TOKEN) => {}
            Some(READ_TOKEN) => {
                return json_response(&mut stream, 403, json!({"error": "You don't have the rights to create a dataset under this namespace"}), None)
            }
            _ => return json_response(&mut stream, 401, json!({"error": "Invalid username or password."}), None),
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let repo = format!("{}/{}", body["organization"].as_str().unwrap_or("user"), body["name"].as_str().unwrap_or(""));
        if st.datasets.contains_key(&repo) {
            return json_response(
                &mut stream,
                409,
                json!({"error": "You already created this dataset repo", "url": format!("https://hub/datasets/{repo}")}),
                None,
            );
        }
        let private = body["private"].as_bool().unwrap_or(false);
        st.commit(&repo, "main", BTreeMap::from([(".gitattributes".to_string(), b"*.parquet filter=lfs diff=lfs merge=lfs -text\n".to_vec())]));
        st.datasets.get_mut(&repo).unwrap().private = private;
        return json_response(&mut stream, 200, json!({"url": format!("https://hub/datasets/{repo}"), "name": repo}), None);
    }

    // Downloads: /datasets/ORG/NAME/resolve/REV/PATH
    if let Some(rest) = req.path.strip_prefix("/datasets/") {
        let mut it = rest.splitn(5, '/');
        let (org, name, verb, rev, file) =
            (it.next().unwrap_or(""), it.next().unwrap_or(""), it.next().unwrap_or(""), it.next().unwrap_or(""), it.next().unwrap_or(""));
        let repo = format!("{org}/{name}");
        let (rev, file) = (percent_decode(rev), percent_decode(file));
        if verb != "resolve" {
            return json_response(&mut stream, 404, json!({"error": "not found"}), None);
        }
        let Some(r) = st.datasets.get(&repo).cloned() else {
            return json_response(&mut stream, 404, json!({"error": "Repository not found"}), Some("RepoNotFound"));
        };
        if (r.gated || r.private) && tok.is_none() {
            return json_response(
                &mut stream,
                401,
                json!({"error": "Access to this dataset is restricted. You must be authenticated to access it."}),
                Some("GatedRepo"),
            );
        }
        let commit = r.refs.get(&rev).cloned().unwrap_or(rev.clone());
        let Some(files) = r.commits.get(&commit) else {
            return json_response(&mut stream, 404, json!({"error": "Invalid rev id"}), Some("RevisionNotFound"));
        };
        let Some(bytes) = files.get(&file).cloned() else {
            return json_response(&mut stream, 404, json!({"error": "Entry not found"}), Some("EntryNotFound"));
        };
        let mut headers =
            vec![("X-Repo-Commit", commit.clone()), ("ETag", format!("\"{}\"", sha256_hex(&bytes))), ("Accept-Ranges", "bytes".to_string())];
        if req.method == "HEAD" {
            // A HEAD's Content-Length is the file's, with no body sent.
            return respond(&mut stream, 200, &headers, &bytes, false);
        }
        if let Some(range) = req.headers.get("range").and_then(|r| r.strip_prefix("bytes=")) {
            let (a, b) = range.split_once('-').unwrap();
            let a: usize = a.parse().unwrap();
            let b: usize = b.parse::<usize>().map(|b| b.min(bytes.len() - 1)).unwrap_or(bytes.len() - 1);
            headers.push(("Content-Range", format!("bytes {a}-{b}/{}", bytes.len())));
            return respond(&mut stream, 206, &headers, &bytes[a..=b], true);
        }
        if let Some(i) = st.cut_once.iter().position(|p| *p == file) {
            st.cut_once.remove(i);
            drop(st);
            // The full length announced, half the body sent, then the connection closed.
            let head = format!(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\nX-Repo-Commit: {commit}\r\nETag: \"{}\"\r\n\r\n",
                bytes.len(),
                sha256_hex(&bytes)
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&bytes[..bytes.len() / 2]);
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
        return respond(&mut stream, 200, &headers, &bytes, true);
    }

    let Some((repo, verb, rest)) = api_parts(&req.path) else {
        return json_response(&mut stream, 404, json!({"error": "not found"}), None);
    };
    let Some(r) = st.datasets.get(&repo).cloned() else {
        return json_response(&mut stream, 404, json!({"error": "Repository not found"}), Some("RepoNotFound"));
    };
    if (r.gated || r.private) && tok.is_none() {
        return json_response(&mut stream, 401, json!({"error": "Access to this dataset is restricted."}), Some("GatedRepo"));
    }
    let (rev, sub) = match rest.split_once('/') {
        Some((rev, sub)) => (percent_decode(rev), percent_decode(sub)),
        None => (percent_decode(&rest), String::new()),
    };
    let commit_of = |rev: &str| r.refs.get(rev).cloned().or_else(|| r.commits.contains_key(rev).then(|| rev.to_string()));
    match (req.method.as_str(), verb.as_str()) {
        ("GET", "revision") => {
            let Some(commit) = commit_of(&rev) else {
                return json_response(&mut stream, 404, json!({"error": format!("Invalid rev id: {rev}")}), Some("RevisionNotFound"));
            };
            let files = &r.commits[&commit];
            let card =
                files.get("README.md").and_then(|b| selectra::domain::dataset::parse_card(&String::from_utf8_lossy(b)).ok()).map(|c| c.metadata);
            let siblings: Vec<Value> = files.keys().map(|k| json!({"rfilename": k})).collect();
            json_response(
                &mut stream,
                200,
                json!({"_id": "6570", "id": repo, "author": repo.split('/').next(), "sha": commit, "lastModified": "2026-12-01T00:00:00.000Z",
                       "private": r.private, "gated": if r.gated { json!("auto") } else { json!(false) }, "disabled": false, "tags": [],
                       "downloads": 0, "likes": 0, "siblings": siblings, "cardData": card, "createdAt": "2026-11-01T00:00:00.000Z"}),
                None,
            )
        }
        ("GET", "tree") => {
            let Some(commit) = commit_of(&rev) else {
                return json_response(&mut stream, 404, json!({"error": format!("Invalid rev id: {rev}")}), Some("RevisionNotFound"));
            };
            let recursive = req.query.contains("recursive=true");
            let prefix = if sub.is_empty() { String::new() } else { format!("{}/", sub.trim_end_matches('/')) };
            let mut entries = Vec::new();
            let mut dirs = std::collections::BTreeSet::new();
            for (path, bytes) in &r.commits[&commit] {
                let Some(rel) = path.strip_prefix(&prefix) else { continue };
                let parts: Vec<&str> = rel.split('/').collect();
                for i in 1..parts.len() {
                    if recursive || i == 1 {
                        dirs.insert(format!("{prefix}{}", parts[..i].join("/")));
                    }
                }
                if recursive || parts.len() == 1 {
                    let oid = sha256_hex(bytes)[..40].to_string();
                    let mut entry = json!({"type": "file", "oid": oid, "size": bytes.len(), "path": path});
                    if path.ends_with(".parquet") {
                        entry["lfs"] = json!({"oid": sha256_hex(bytes), "size": bytes.len(), "pointerSize": 134});
                    }
                    entries.push(entry);
                }
            }
            let mut all: Vec<Value> = dirs.into_iter().map(|d| json!({"type": "directory", "oid": "0".repeat(40), "path": d})).collect();
            all.extend(entries);
            json_response(&mut stream, 200, Value::Array(all), None)
        }
        ("POST", "preupload") => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            // Files small enough to go inline are "regular" on the Hub; these tests' are.
            let files: Vec<Value> = body["files"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| json!({"path": f["path"], "uploadMode": "regular", "shouldIgnore": false}))
                .collect();
            json_response(&mut stream, 200, json!({"files": files}), None)
        }
        ("POST", "commit") => {
            match tok.as_deref() {
                Some(WRITE_TOKEN) => {}
                Some(_) => return json_response(&mut stream, 403, json!({"error": "You don't have the rights to write to this repository"}), None),
                None => return json_response(&mut stream, 401, json!({"error": "Invalid credentials"}), None),
            }
            let Some(parent) = commit_of(&rev) else {
                return json_response(&mut stream, 404, json!({"error": format!("Invalid rev id: {rev}")}), Some("RevisionNotFound"));
            };
            let mut files = r.commits[&parent].clone();
            let mut message = String::new();
            for line in req.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let op: Value = serde_json::from_slice(line).unwrap();
                match op["key"].as_str() {
                    Some("header") => message = op["value"]["summary"].as_str().unwrap_or("").to_string(),
                    Some("file") => {
                        let bytes = base64::engine::general_purpose::STANDARD.decode(op["value"]["content"].as_str().unwrap()).unwrap();
                        files.insert(op["value"]["path"].as_str().unwrap().to_string(), bytes);
                    }
                    Some("deletedFile") => {
                        files.remove(op["value"]["path"].as_str().unwrap());
                    }
                    other => panic!("unexpected commit operation {other:?}"),
                }
            }
            let id = st.commit(&repo, &rev, files);
            st.datasets.get_mut(&repo).unwrap().messages.push(message);
            json_response(
                &mut stream,
                200,
                json!({"success": true, "commitOid": id, "commitUrl": format!("https://hub/datasets/{repo}/commit/{id}"), "commitMessage": "", "hookOutput": ""}),
                None,
            )
        }
        _ => json_response(&mut stream, 404, json!({"error": "not found"}), None),
    }
}
