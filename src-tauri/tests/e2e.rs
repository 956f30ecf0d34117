//! End-to-end tests of the real app: tauri-driver drives the built binary through WebKitWebDriver
//! on a private Xvfb display, with fixture models and a fresh data folder. One test walks the
//! whole loop a user does (a model, a sentence, a corpus, a run, five labels, a restart), because
//! each step needs the one before it. Screenshots of every view are written to
//! `$CARGO_TARGET_TMPDIR/screenshots`, and to `docs/screenshots` with `UPDATE_SCREENSHOTS=1`.
//!
//! Needs (Linux): `Xvfb` and `WebKitWebDriver` (Debian: `xvfb webkit2gtk-driver`) and
//! `cargo install tauri-driver --locked`. Missing tools fail the test with that instruction.
#![cfg(target_os = "linux")]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

#[path = "../../tests/it/hub_server.rs"]
#[allow(dead_code)]
mod hub_server;

const APP: &str = env!("CARGO_BIN_EXE_selectra-studio");
const TIMEOUT: Duration = Duration::from_secs(60);
/// How long a native dialog may take to appear (see `answer_save_dialog`).
const DIALOG_TIMEOUT: Duration = Duration::from_secs(300);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("repository root")
}

/// A tool from PATH or ~/.cargo/bin, or a failure that says how to install it.
fn tool(name: &str, install: &str) -> PathBuf {
    let cargo_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("the end-to-end tests need `{name}`: {install} (see README, Prerequisites)"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Xvfb and tauri-driver, killed when dropped (also when the test fails).
struct Harness {
    children: Vec<Child>,
    data: tempfile::TempDir,
    webdriver: String,
    /// The private X display the app runs on (for answering native dialogs).
    display: String,
}

impl Drop for Harness {
    /// Each child leads its own process group; killing the group also ends the WebKitWebDriver
    /// that tauri-driver started, which would otherwise outlive the test and hold its output
    /// pipe open (a caller reading that pipe would then wait forever).
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", child.id())]).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Harness {
    /// The harness with an empty, offline model cache.
    fn start() -> Self {
        Self::start_with(&[("HF_HUB_OFFLINE", "1")])
    }

    /// The harness with these environment variables for the app (e.g. a Hub endpoint).
    fn start_with(env: &[(&str, &str)]) -> Self {
        let xvfb = tool("Xvfb", "apt-get install xvfb");
        let driver = tool("tauri-driver", "cargo install tauri-driver --locked");
        tool("WebKitWebDriver", "apt-get install webkit2gtk-driver");
        let data = tempfile::tempdir().expect("temp dir");
        let mut children = Vec::new();

        // A display number nobody uses: Xvfb writes it to the pipe it is given (-displayfd).
        let mut display = Command::new(&xvfb)
            .process_group(0)
            .args(["-displayfd", "1", "-screen", "0", "1280x860x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut number = String::new();
        {
            use std::io::BufRead;
            let out = display.stdout.take().expect("piped");
            std::io::BufReader::new(out).read_line(&mut number).expect("Xvfb reports its display");
        }
        children.push(display);
        let display = format!(":{}", number.trim());

        let port = free_port();
        let native_port = free_port();
        let driver = Command::new(driver)
            .process_group(0)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("DISPLAY", &display)
            // The app's data folder (its default project) and an empty model cache.
            .env("XDG_DATA_HOME", data.path().join("xdg"))
            .env("HF_HOME", data.path().join("hf"))
            .env_remove("HF_TOKEN")
            .env_remove("HF_ENDPOINT")
            .env_remove("HF_HUB_CACHE")
            .env_remove("SELECTRA_STUDIO_PROJECT")
            .envs(env.iter().copied())
            // Software GL under Xvfb. WEBKIT_DISABLE_COMPOSITING_MODE or WEBKIT_DISABLE_DMABUF_RENDERER
            // (often advised) make WebKitWebDriver's screenshot hang after the first DOM change
            // (WebKitGTK 2.50, Debian 12), so they are left unset.
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
            .env_remove("WEBKIT_DISABLE_DMABUF_RENDERER")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tauri-driver");
        children.push(driver);
        Self { children, data, webdriver: format!("http://127.0.0.1:{port}"), display }
    }

    /// Starts the app and connects to it, retrying while tauri-driver is still starting.
    async fn launch(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert("tauri:options".into(), json!({ "application": APP }));
        let started = Instant::now();
        loop {
            let mut builder = ClientBuilder::rustls().expect("tls config");
            builder.capabilities(caps.clone());
            match bounded("start the app through tauri-driver", builder.connect(&self.webdriver)).await {
                Ok(client) => return client,
                Err(e) if started.elapsed() < TIMEOUT => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("could not start the app through tauri-driver: {e}"),
            }
        }
    }
}

/// Any one WebDriver command that takes longer than this is a hang, reported as a failure.
async fn bounded<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(TIMEOUT, work).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// Polls until `check` returns Some, or fails with `what` after the timeout.
async fn until<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    until_within(what, TIMEOUT, check).await
}

async fn text_of(c: &Client, css: &str) -> Option<String> {
    bounded(&format!("read {css}"), async { c.find(Locator::Css(css)).await.ok()?.text().await.ok() }).await
}

/// Waits for an element whose text contains `needle`, and returns that text; a timeout says
/// what the element showed instead.
async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let started = Instant::now();
    loop {
        let shown = text_of(c, css).await;
        if let Some(t) = shown.as_ref().filter(|t| t.contains(needle)) {
            return t.clone();
        }
        if started.elapsed() >= TIMEOUT {
            // The page's own words say most about why (an error shown, another view).
            let page = c
                .execute("const t = document.body.innerText; return t.length > 3000 ? `${t.slice(0, 1500)} … ${t.slice(-1500)}` : t", vec![])
                .await
                .ok();
            panic!("timed out waiting for {css} to contain {needle:?}; it shows {shown:?}; the page shows {page:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fill(c: &Client, css: &str, value: &str) {
    let field = c.wait().at_most(TIMEOUT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    // A field of a view being shown (a busy machine paints it late) is found before it can be
    // typed into: wait until it is displayed, then retry while WebDriver refuses to clear it.
    let started = Instant::now();
    while !bounded(&format!("is {css} shown"), field.is_displayed()).await.unwrap_or(false) && started.elapsed() < TIMEOUT {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    loop {
        match bounded(&format!("clear {css}"), field.clear()).await {
            Ok(()) => break,
            Err(e) if started.elapsed() < TIMEOUT => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("clear {css}: {e}"),
        }
    }
    bounded(&format!("type into {css}"), field.send_keys(value)).await.expect("type");
    eprintln!("e2e: typed into {css}");
}

async fn click(c: &Client, css: &str) {
    let el = c.wait().at_most(TIMEOUT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    bounded(&format!("click {css}"), el.click()).await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    eprintln!("e2e: clicked {css}");
}

async fn view(c: &Client, name: &str) {
    click(c, &format!("button[data-view='{name}']")).await;
    // Shown once its panel is displayed; a click a busy window dropped is made again.
    let shown = format!("const p = document.querySelector(\"[data-view-panel='{name}']\"); return !!p && p.offsetParent !== null");
    let started = Instant::now();
    let mut clicked = Instant::now();
    while js(c, &shown).await != json!(true) {
        assert!(started.elapsed() < TIMEOUT, "the {name} view never showed");
        if clicked.elapsed() > Duration::from_secs(3) {
            js(c, &format!("document.querySelector(\"button[data-view='{name}']\").click()")).await;
            clicked = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A screenshot in the target folder, and in docs/screenshots (README's) with UPDATE_SCREENSHOTS
/// unless `docs` is false (a view README shows from the 10,000-record corpus instead).
async fn screenshot(c: &Client, name: &str) {
    screenshot_to(c, name, true).await
}

async fn screenshot_to(c: &Client, name: &str, docs: bool) {
    // WebKitWebDriver's screenshot is the last frame painted, which under Xvfb's software
    // compositing can lag the page by a few hundred milliseconds (a span screenshot once showed
    // the record before the keys that the test had just seen applied): two frames, then a pause.
    bounded("let the page paint", c.execute("return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))", vec![]))
        .await
        .expect("frames");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let png = bounded(&format!("screenshot {name}"), c.screenshot()).await.expect("screenshot");
    eprintln!("e2e: screenshot {name}");
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(dir.join(format!("{name}.png")), &png).expect("write screenshot");
    if docs && std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let docs = repo().join("docs/screenshots");
        std::fs::create_dir_all(&docs).expect("docs/screenshots");
        std::fs::write(docs.join(format!("{name}.png")), &png).expect("write docs screenshot");
    }
}

fn fixture_model(name: &str) -> String {
    repo().join("tests/fixtures/models").join(name).display().to_string()
}

/// What transformers computed for `text` on a fixture model (tests/fixtures/expected).
fn expected_probabilities(model: &str, text: &str) -> Vec<f64> {
    let path = repo().join(format!("tests/fixtures/expected/{model}.json"));
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("expected outputs")).expect("json");
    let case = expected["inspect"]
        .as_array()
        .expect("inspect cases")
        .iter()
        .find(|c| c["text"] == text && c["strip_accents"] != json!(true))
        .unwrap_or_else(|| panic!("{} has no case for {text:?}", path.display()));
    case["output"]["tokens"].as_array().expect("tokens").iter().map(|t| t["probability"].as_f64().expect("number")).collect()
}

async fn texts(c: &Client, css: &str) -> Vec<String> {
    bounded(&format!("read {css}"), async {
        let mut out = Vec::new();
        for el in c.find_all(Locator::Css(css)).await.expect("elements") {
            out.push(el.text().await.expect("text").trim().to_string());
        }
        out
    })
    .await
}

async fn read_probabilities(c: &Client) -> Vec<f64> {
    texts(c, ".result .token-table td.probability").await.iter().map(|t| t.parse::<f64>().expect("a number")).collect()
}

/// Sends keys to the focused record, as a person at the keyboard would.
async fn keys(c: &Client, keys: &str) {
    let record = c.wait().at_most(TIMEOUT).for_element(Locator::Css("#an-record")).await.expect("record panel");
    bounded("send keys", record.send_keys(keys)).await.expect("keys");
}

/// Chooses an option of a select element (the click fires its change, as a person's would).
async fn select(c: &Client, css: &str, value: &str) {
    click(c, &format!("{css} option[value='{value}']")).await;
}

const ENTER: &str = "\u{e007}";
const CTRL: &str = "\u{e009}";
const RELEASE: &str = "\u{e000}";
const UP: &str = "\u{e013}";
const DOWN: &str = "\u{e015}";

/// The end-to-end tests run one at a time: each drives a whole app, and two at once on a small
/// machine would time each other out.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_session_from_model_to_labels_survives_a_restart() {
    let _serial = one_at_a_time().await;
    let harness = Harness::start();
    let c = harness.launch().await;

    // Models: open a discriminator folder and an NLI classifier folder.
    let disc = fixture_model("disc-project-tokjson");
    let nli = fixture_model("nli-bert-tokjson");
    // An XLM-RoBERTa classifier loads too, its SentencePiece tokenizer named in its facts.
    fill(&c, "#model-spec", &fixture_model("nli-xlmr-tokjson")).await;
    click(&c, "#load-model").await;
    wait_text(&c, "#fact-tokenizer", "XLMRobertaTokenizer (SentencePiece Unigram); accents are always kept").await;
    fill(&c, "#model-spec", &nli).await;
    click(&c, "#load-model").await;
    wait_text(&c, "#model-facts", "zero-shot NLI classifier").await;
    fill(&c, "#model-spec", &disc).await;
    click(&c, "#load-model").await;
    let facts = wait_text(&c, "#model-facts", "discriminator").await;
    assert!(facts.contains("disc-project-tokjson"), "{facts}");
    screenshot(&c, "models").await;
    // Task models: a pair classifier and an NER tagger, each tried on one text in Models. The
    // tagger's words are transformers' (tests/fixtures/expected/tag-electra-conll.json, "first").
    fill(&c, "#model-spec", &fixture_model("cls-xlmr-pair")).await;
    click(&c, "#load-model").await;
    wait_text(&c, "#try-run", "Classify").await;
    fill(&c, "#try-text", "El perro come pan.").await;
    fill(&c, "#try-pair", "El perro está comiendo pan.").await;
    click(&c, "#try-run").await;
    wait_text(&c, "#try-scores", "no_paráfrasis").await;
    fill(&c, "#model-spec", &fixture_model("tag-electra-conll")).await;
    click(&c, "#load-model").await;
    wait_text(&c, "#model-facts", "token classifier (entities)").await;
    js(&c, "const s = document.querySelector('#try-aggregation'); s.value = 'first'; s.dispatchEvent(new Event('change'));").await;
    click(&c, "#try-run").await;
    wait_text(&c, "#try-entity-list", "Telefónica").await;
    wait_text(&c, "#try-entities", "Telefónica").await;
    // About names the core's version and commit, the same line `selectra --version` prints.
    click(&c, "#about summary").await;
    wait_text(&c, "#about-version", selectra::VERSION).await;

    // Inspector: the token scores shown are transformers' (to the 4 decimals displayed).
    let sentence = "El perro come carne y la casa es azul.";
    view(&c, "inspector").await;
    fill(&c, "#inspect-model", &disc).await;
    fill(&c, "#inspect-text", sentence).await;
    click(&c, "#inspect-run").await;
    let expected = expected_probabilities("disc-project-tokjson", sentence);
    let shown = until("token scores", || async {
        let p = read_probabilities(&c).await;
        (p.len() == expected.len()).then_some(p)
    })
    .await;
    for (i, (s, e)) in shown.iter().zip(&expected).enumerate() {
        assert!((s - e).abs() < 1.5e-4, "token {i}: the app shows {s}, transformers computed {e}");
    }
    // Replacing a token recomputes the scores and shows how each moved.
    click(&c, ".result .tok[data-index='2']").await;
    fill(&c, "#replacement", "casa").await;
    bounded("press Enter", async { c.find(Locator::Css("#replacement")).await.expect("field").send_keys(ENTER).await.expect("enter") }).await;
    wait_text(&c, ".result .token-table thead", "Δ").await;
    let moved = read_probabilities(&c).await;
    assert_eq!(moved.len(), expected.len());
    assert!(moved.iter().zip(&expected).any(|(m, e)| (m - e).abs() > 1e-3), "the replacement changed no score: {moved:?}");
    screenshot(&c, "inspector").await;

    // Corpora: import the demo corpus through the wizard.
    view(&c, "corpora").await;
    fill(&c, "#import-path", &repo().join("data/demo/noticias.csv").display().to_string()).await;
    click(&c, "#import-preview").await;
    wait_text(&c, "#preview-table", "Real Madrid").await;
    fill(&c, "#import-name", "noticias").await;
    click(&c, "#import-run").await;
    wait_text(&c, "#import-outcome", "Imported 32 records").await;
    wait_text(&c, "#browse-table", "Real Madrid").await;
    screenshot_to(&c, "corpora-demo", false).await;

    // The corpus's label schema: its gold labels are offered; two get descriptions, and the
    // guidelines are saved with them in the project.
    for label in ["cultura", "deportes", "economía", "política"] {
        // From script: each click re-renders the list of suggestions, so an element found by
        // WebDriver can be replaced before its click lands.
        let css = format!("#schema-editor button[data-suggested='{label}']");
        c.wait().at_most(TIMEOUT).for_element(Locator::Css(&css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        bounded("add a label", c.execute(&format!("document.querySelector(\"{css}\").click()"), vec![])).await.expect("click");
    }
    let names = until("four labels in the schema", || async {
        let n = bounded("count", c.find_all(Locator::Css("#schema-editor tbody tr"))).await.ok()?.len();
        (n == 4).then_some(n)
    })
    .await;
    assert_eq!(names, 4);
    fill(&c, "#schema-editor tbody tr:nth-child(2) .schema-description", "Fútbol, baloncesto, atletismo").await;
    fill(&c, "#schema-guidelines", "Etiqueta el tema principal de la noticia; si hay dos, el del titular.").await;
    click(&c, "#schema-save").await;
    wait_text(&c, "#schema-saved", "Saved").await;
    // The core filled the keys (1–4) and colours it stored.
    until("the stored keys", || async {
        let key = c.find(Locator::Css("#schema-editor tbody tr:nth-child(4) input[aria-label='Key']")).await.ok()?.prop("value").await.ok()??;
        (key == "4").then_some(())
    })
    .await;
    bounded("show the schema", c.execute("document.querySelector('#schema-editor').scrollIntoView()", vec![])).await.expect("scroll");
    screenshot_to(&c, "labels-demo", false).await;

    // Zero-shot: run the NLI model over the corpus to the end.
    view(&c, "zeroshot").await;
    fill(&c, "#zs-model", &nli).await;
    fill(&c, "#zs-labels", "cultura, deportes, economía, política").await;
    click(&c, "#zs-run").await;
    wait_text(&c, "#zs-summary", "complete: 32 records").await;
    wait_text(&c, "#zs-distribution", "Predicted labels").await;
    let counts = texts(&c, "#zs-distribution td.num").await;
    let counted: u64 = counts.iter().map(|n| n.parse::<u64>().expect("a count")).sum();
    assert_eq!(counted, 32, "the distribution should count every record once: {counts:?}");
    screenshot_to(&c, "zeroshot-demo", false).await;

    // Suspicious tokens: the discriminator over the whole corpus; records come ranked by
    // suspicion, and the top one opens in the Inspector with one click.
    view(&c, "suspicious").await;
    fill(&c, "#sus-model", &disc).await;
    click(&c, "#sus-run").await;
    wait_text(&c, "#sus-summary", "complete: 32 records").await;
    let ranked = until("ranked records", || async {
        let s = texts(&c, "#sus-records td.suspicion").await;
        (s.len() == 32).then_some(s)
    })
    .await;
    let ranked: Vec<f64> = ranked.iter().map(|s| s.parse().expect("a suspicion")).collect();
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "records are not ranked by suspicion: {ranked:?}");
    screenshot(&c, "suspicious").await;
    // The most flagged word form leads to a record where that word is flagged.
    let word = texts(&c, "#sus-words tbody tr:first-child td:first-child").await.remove(0);
    click(&c, "#sus-words tbody tr:first-child button.example").await;
    let flagged = until("the word's record", || async {
        let f = texts(&c, "#sus-opened .word.flagged").await;
        (!f.is_empty()).then_some(f)
    })
    .await;
    assert!(flagged.contains(&word), "{word:?} is not flagged in the record it leads to: {flagged:?}");
    let top = texts(&c, "#sus-records tbody tr:first-child td.scan-text").await.remove(0);
    click(&c, "#sus-records tbody tr:first-child .open-inspector").await;
    let opened = until("the record in the Inspector", || async {
        let value = c.find(Locator::Css("#inspect-text")).await.ok()?.prop("value").await.ok()??;
        (value == top).then_some(value)
    })
    .await;
    assert_eq!(opened, top);
    until("its token scores", || async { (!read_probabilities(&c).await.is_empty()).then_some(()) }).await;

    // Annotate: five records with the keyboard (label 2, Enter), one undo, and the fifth again.
    view(&c, "annotate").await;
    wait_text(&c, "#an-progress", "0 of 32 annotated").await;
    for n in 1..=5 {
        keys(&c, &format!("2{ENTER}")).await;
        wait_text(&c, "#an-progress", &format!("{n} of 32 annotated")).await;
    }
    keys(&c, &format!("{CTRL}z{RELEASE}")).await;
    wait_text(&c, "#an-progress", "4 of 32 annotated").await;
    keys(&c, &format!("2{ENTER}")).await;
    wait_text(&c, "#an-progress", "5 of 32 annotated").await;
    keys(&c, "\u{e012}").await; // ArrowLeft: back to the fifth record
    wait_text(&c, "#an-state", "accepted: deportes").await;
    wait_text(&c, "#an-guidelines", "el del titular").await;
    screenshot_to(&c, "annotate-demo", false).await;

    // The filter bar and a bulk action: the unannotated records whose gold label is economía,
    // all selected and labeled with one key, undone with one Ctrl+Z, and labeled again.
    select(&c, "#an-filter-status", "unannotated").await;
    wait_text(&c, "#an-filter-count", "27 matching").await;
    click(&c, "#an-filter-more").await;
    fill(&c, "#an-filter-gold", &format!("economía{ENTER}")).await;
    let matching: u64 = until("the matching count", || async {
        let t = text_of(&c, "#an-filter-count").await?;
        let n: u64 = t.split_whitespace().next()?.parse().ok()?;
        (n < 27).then_some(n)
    })
    .await;
    assert!(matching > 0, "the demo corpus has unannotated economía records");
    click(&c, "#an-mode-list").await;
    let bulk = |c: &Client| {
        let c = c.clone();
        async move {
            click(&c, "#an-select-page").await;
            wait_text(&c, "#an-bulk", &format!("{matching} selected")).await;
            click(&c, "#an-bulk button[data-bulk-label='economía']").await;
            wait_text(&c, "#an-notice", "one undo reverts them all").await;
            wait_text(&c, "#an-progress", &format!("{} of 32 annotated", 5 + matching)).await;
        }
    };
    bulk(&c).await;
    wait_text(&c, "#an-filter-count", "0 matching").await;
    click(&c, "#an-bulk-undo").await;
    wait_text(&c, "#an-notice", &format!("Undid the bulk change of {matching} records")).await;
    wait_text(&c, "#an-progress", "5 of 32 annotated").await;
    wait_text(&c, "#an-filter-count", &format!("{matching} matching")).await;
    screenshot_to(&c, "filters-demo", false).await;
    bulk(&c).await;

    // Learning: a head trained on the labels (gold and annotations) over the discriminator's
    // embeddings; its scores become the suggestions, and two more labels retrain it.
    click(&c, "#an-filter-clear").await;
    click(&c, "#an-mode-one").await;
    click(&c, "#an-learning summary").await;
    fill(&c, "#an-learn-model", &disc).await;
    click(&c, "#an-learn-train").await;
    wait_text(&c, "#an-learn-result", "Trained 1 time").await;
    wait_text(&c, "#an-learn-result", "cross-validated accuracy").await;
    wait_text(&c, "#an-record", "suggested").await;
    until("the trained run chosen for suggestions", || async {
        let value = c.find(Locator::Css("#an-filter-run")).await.ok()?.prop("value").await.ok()??;
        (value == "2").then_some(())
    })
    .await;
    bounded("show the learning panel", c.execute("window.scrollTo(0, 0)", vec![])).await.expect("scroll");
    screenshot_to(&c, "learning-demo", false).await;
    fill(&c, "#an-learn-every", "2").await;
    for _ in 0..2 {
        keys(&c, &format!("1{ENTER}")).await;
    }
    wait_text(&c, "#an-learn-result", "Trained 2 times").await;
    until("the retrained head's run", || async {
        let value = c.find(Locator::Css("#an-filter-run")).await.ok()?.prop("value").await.ok()??;
        (value == "3").then_some(())
    })
    .await;

    // The template lab scores templates on the labeled records, and the best becomes the
    // corpus's hypotheses.
    view(&c, "zeroshot").await;
    click(&c, "#zs-use-schema").await;
    click(&c, "#zs-lab-run").await;
    until("three scored templates", || async {
        let rows = texts(&c, "#zs-lab-scores tbody tr").await;
        (rows.len() == 3).then_some(())
    })
    .await;
    bounded("show the lab", c.execute("document.querySelector('#zs-lab').scrollIntoView()", vec![])).await.expect("scroll");
    screenshot_to(&c, "templates-demo", false).await;
    click(&c, "#zs-lab-scores tbody tr:first-child button[data-template]").await;
    wait_text(&c, "#zs-lab-used", "is now the hypothesis").await;

    // Compare: the published table, and the run scored against the five labels.
    view(&c, "compare").await;
    wait_text(&c, "#published-table", "SELECTRA small").await;
    until("the runs to score", || async { (!texts(&c, "#cmp-choose label").await.is_empty()).then_some(()) }).await;
    // Clicked from script: a WebDriver click would scroll the button into view, and the
    // screenshot should show the view from the top (the published table).
    bounded("score the runs", c.execute("document.querySelector('#cmp-score').click()", vec![])).await.expect("click");
    wait_text(&c, "#cmp-runs", "nli-bert-tokjson").await;
    screenshot_to(&c, "compare-demo", false).await;
    // Drill-down: the run's confusion matrix; a cell opens exactly its records in Annotate.
    bounded("show the matrix", c.execute("document.querySelector('#cmp-drill-1').scrollIntoView()", vec![])).await.expect("scroll");
    screenshot_to(&c, "drilldown-demo", false).await;
    let cell = texts(&c, "#cmp-drill-1 button[data-cell]").await.remove(0);
    click(&c, "#cmp-drill-1 button[data-cell]").await;
    wait_text(&c, "#an-filter-count", &format!("{cell} matching")).await;
    wait_text(&c, "#an-filter-drill", "reference").await;

    // Task models over the corpus, from Models' Try it: the pair classifier labels every record
    // with its own labels, and the tagger finds every record's entities.
    view(&c, "models").await;
    fill(&c, "#model-spec", &fixture_model("cls-xlmr-pair")).await;
    click(&c, "#load-model").await;
    wait_text(&c, "#try-run", "Classify").await;
    select(&c, "#try-corpus", "noticias").await;
    click(&c, "#try-run-corpus").await;
    wait_text(&c, "#try-run-summary", "32/32 records labeled").await;
    fill(&c, "#model-spec", &fixture_model("tag-electra-conll")).await;
    click(&c, "#load-model").await;
    wait_text(&c, "#model-facts", "token classifier (entities)").await;
    js(&c, "const s = document.querySelector('#try-aggregation'); s.value = 'first'; s.dispatchEvent(new Event('change'));").await;
    click(&c, "#try-run").await;
    wait_text(&c, "#try-entities", "Telefónica").await;
    select(&c, "#try-corpus", "noticias").await;
    click(&c, "#try-run-corpus").await;
    wait_text(&c, "#try-run-summary", "32/32 records tagged").await;
    bounded("show Try it", c.execute("document.querySelector('#try-it').scrollIntoView()", vec![])).await.expect("scroll");
    screenshot(&c, "try-it").await;
    // Reference entities: a CoNLL file's sentences become a corpus with spans; the tagger runs
    // over it, and Compare puts its entity F1 in the card's NER column ("your data").
    view(&c, "corpora").await;
    fill(&c, "#import-path", &repo().join("data/demo/entidades.conll").display().to_string()).await;
    click(&c, "#import-preview").await;
    wait_text(&c, "#preview-table", "Banco de España ORG").await;
    fill(&c, "#import-name", "entidades").await;
    click(&c, "#import-run").await;
    wait_text(&c, "#import-outcome", "Imported 16 records").await;
    view(&c, "models").await;
    select(&c, "#try-corpus", "entidades").await;
    click(&c, "#try-run-corpus").await;
    wait_text(&c, "#try-run-summary", "16/16 records tagged").await;
    // Span labeling: the corpus's labels become entity types (the tagger's, suggested), and a
    // record's entities are marked with the keyboard: Shift+→ extends, a type's key marks.
    view(&c, "corpora").await;
    for label in ["PER", "LOC", "ORG", "MISC"] {
        let css = format!("#schema-editor button[data-suggested='{label}']");
        c.wait().at_most(TIMEOUT).for_element(Locator::Css(&css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        bounded("add a type", c.execute(&format!("document.querySelector(\"{css}\").click()"), vec![])).await.expect("click");
    }
    select(&c, "#schema-kind", "spans").await;
    click(&c, "#schema-save").await;
    wait_text(&c, "#schema-saved", "Saved").await;
    view(&c, "annotate").await;
    select(&c, "#an-corpus", "entidades").await;
    // The tagging runs' picker shows once the corpus's span schema and runs are read: the view
    // is the span editor's from then on.
    c.wait().at_most(TIMEOUT).for_element(Locator::Css("#an-tagger-run")).await.expect("the tagging runs' picker");
    click(&c, "#an-mode-one").await;
    wait_text(&c, "#an-span-text", "María López trabaja en el Banco de España").await;
    // "María López" (words 0-1) as PER (key 1); "Banco de España" (words 5-7) as ORG (key 3).
    // A click on the first word puts the cursor there; the keys then go to the focused record as
    // a keyboard sends them (WebDriver's actions: no click in between, Shift held and let go).
    click(&c, "#an-span-text [data-word='0']").await;
    let (shift, right, left) = ('\u{e008}', '\u{e014}', '\u{e012}');
    let press = |k: char| vec![KeyAction::Down { value: k }, KeyAction::Up { value: k }];
    let mut strokes = vec![KeyAction::Down { value: shift }];
    strokes.extend(press(right));
    strokes.push(KeyAction::Up { value: shift });
    strokes.extend(press('1'));
    for _ in 0..4 {
        strokes.extend(press(right));
    }
    strokes.push(KeyAction::Down { value: shift });
    strokes.extend(press(right));
    strokes.extend(press(right));
    strokes.push(KeyAction::Up { value: shift });
    strokes.extend(press('3'));
    let actions = strokes.into_iter().fold(KeyActions::new("keyboard".into()), |a, k| a.then(k));
    bounded("mark spans", c.perform_actions(actions)).await.expect("keys");
    wait_text(&c, "#an-enter-saves", "saves 2 spans: PER, ORG").await;
    screenshot(&c, "spans").await;
    keys(&c, ENTER).await;
    // The second record by mouse: a drag from "Real" to "Madrid" and the ORG button, a click
    // on "Sevilla" and the LOC button.
    wait_text(&c, "#an-span-text", "El Real Madrid").await;
    let real = bounded("find a word", c.find(Locator::Css("#an-span-text [data-word='1']"))).await.expect("the word Real");
    let madrid = bounded("find a word", c.find(Locator::Css("#an-span-text [data-word='2']"))).await.expect("the word Madrid");
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement { element: real, duration: None, x: 0.0, y: 0.0 })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::MoveToElement { element: madrid, duration: Some(Duration::from_millis(100)), x: 0.0, y: 0.0 })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    bounded("drag over two words", c.perform_actions(drag)).await.expect("drag");
    click(&c, "#an-span-types button[data-type='ORG']").await;
    click(&c, "#an-span-text [data-word='6']").await;
    click(&c, "#an-span-types button[data-type='LOC']").await;
    wait_text(&c, "#an-enter-saves", "saves 2 spans: ORG, LOC").await;
    click(&c, "#an-accept").await;
    // The third record: the tagger's entities (the newest tagging run suggests), accepted with
    // `a`, then corrected: its "Lisboa" retyped from ORG to LOC, its other four ("viajó", "a",
    // "en", "tren") deleted, two more marked. The fixture tagger's weights are random: its suggestions are its own.
    wait_text(&c, "#an-span-text", "Carlos viajó de Valencia").await;
    wait_text(&c, "#an-span-accept-all", "Accept all 5 suggested").await;
    click(&c, "#an-span-text [data-word='0']").await;
    let mut strokes = press('a');
    for (to, key) in [(5, '2'), (1, '\u{e017}'), (4, '\u{e017}'), (6, '\u{e017}'), (7, '\u{e017}'), (0, '1'), (3, '2')] {
        // From the cursor's word to `to` (←/→), then the key: a type's, or Delete.
        let at = strokes.iter().filter(|k| matches!(k, KeyAction::Down { value } if *value == right)).count() as i64
            - strokes.iter().filter(|k| matches!(k, KeyAction::Down { value } if *value == left)).count() as i64;
        let step = if to as i64 >= at { right } else { left };
        for _ in 0..(to as i64 - at).unsigned_abs() {
            strokes.extend(press(step));
        }
        strokes.extend(press(key));
    }
    let actions = strokes.into_iter().fold(KeyActions::new("keyboard".into()), |a, k| a.then(k));
    bounded("correct the tagger", c.perform_actions(actions)).await.expect("keys");
    wait_text(&c, "#an-enter-saves", "saves 3 spans: PER, LOC, LOC").await;
    keys(&c, ENTER).await;
    wait_text(&c, "#an-span-text", "La Universidad de Salamanca").await;
    keys(&c, UP).await;
    wait_text(&c, "#an-state", "accepted: 3 spans").await;

    view(&c, "compare").await;
    select(&c, "#cmp-corpus", "entidades").await;
    click(&c, "#cmp-your-data-run").await;
    let row = wait_text(&c, "#cmp-your-data tbody", "tag-electra-conll").await;
    assert!(row.contains('['), "an entity F1 with its interval: {row}");
    // The tagger is loaded in Models, so its run is drawn on the card's NER size chart.
    wait_text(&c, "#cmp-your-data-figures figcaption", "triangles your runs").await;
    // Once the charts above have loaded (they move the panel), show the panel from its top.
    tokio::time::sleep(Duration::from_millis(800)).await;
    bounded("show your data", c.execute("document.querySelector('#cmp-your-data-panel').scrollIntoView()", vec![])).await.expect("scroll");
    tokio::time::sleep(Duration::from_millis(300)).await;
    screenshot(&c, "your-data").await;
    select(&c, "#cmp-corpus", "noticias").await;

    // The classifier's run is a source of suggestions; the tagger's (entities, not labels) is not.
    view(&c, "annotate").await;
    select(&c, "#an-corpus", "noticias").await;
    let offered = until("the classifier's run offered", || async {
        let o = texts(&c, "#an-filter-run option").await;
        o.iter().any(|o| o.contains("cls-xlmr-pair")).then_some(o)
    })
    .await;
    assert!(!offered.iter().any(|o| o.contains("tag-electra-conll")), "a tagger's run offered for suggestions: {offered:?}");
    bounded("close the app", c.close()).await.expect("close the app");

    // A new app process on the same data folder finds the labels, the bulk batch's too, and the
    // three records' spans.
    let c = harness.launch().await;
    view(&c, "annotate").await;
    select(&c, "#an-corpus", "entidades").await;
    c.wait().at_most(TIMEOUT).for_element(Locator::Css("#an-tagger-run")).await.expect("the tagging runs' picker");
    click(&c, "#an-mode-one").await;
    for (n, spans) in [(0, 2), (1, 2), (2, 3)] {
        if n > 0 {
            keys(&c, DOWN).await;
        }
        wait_text(&c, "#an-state", &format!("accepted: {spans} spans")).await;
    }
    wait_text(&c, "#an-span-text", "Carlos").await;
    let tags = texts(&c, "#an-span-text .tag").await;
    assert_eq!(tags, ["PER", "LOC", "LOC"], "the corrected record as saved");
    view(&c, "annotate").await;
    select(&c, "#an-corpus", "noticias").await;
    wait_text(&c, "#an-progress", &format!("{} of 32 annotated", 5 + matching)).await;
    // The first record, relabeled with key 1 while the head was learning.
    wait_text(&c, "#an-state", "accepted: cultura").await;
    bounded("close the app", c.close()).await.expect("close the app");
    assert!(harness.data.path().join("xdg/studio.selectra.desktop/project.sqlite").is_file(), "the default project lives in the app's data folder");
}

/// Polls until `check` returns Some, or fails with `what` after `limit` (longer than [`TIMEOUT`]
/// for work over ten thousand records in a debug build).
async fn until_within<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(started.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Answers the native save dialog titled `title` with `path`, as a person at the keyboard does:
/// the pointer on its name field, the field selected, the path typed, Enter. (xdotool, Debian's
/// `xdotool`; without a window manager the keyboard follows the pointer.)
fn answer_save_dialog(harness: &Harness, title: &str, path: &std::path::Path) {
    let xdotool = tool("xdotool", "apt-get install xdotool");
    let run = |args: &[&str]| {
        let out = Command::new(&xdotool).args(args).env("DISPLAY", &harness.display).output().expect("run xdotool");
        assert!(out.status.success(), "xdotool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // GTK's first file chooser in a fresh home (no font, icon or dconf caches yet) can take well
    // over a minute on a busy 2-core machine; this waits for it to appear, it does not time it.
    let started = Instant::now();
    let window = loop {
        let found = Command::new(&xdotool).args(["search", "--name", title]).env("DISPLAY", &harness.display).output().expect("run xdotool");
        if let Some(id) = String::from_utf8_lossy(&found.stdout).lines().next().map(str::to_string) {
            break id;
        }
        if started.elapsed() > DIALOG_TIMEOUT {
            let windows = Command::new(&xdotool).args(["search", "--name", "."]).env("DISPLAY", &harness.display).output().expect("run xdotool");
            let names: Vec<String> = String::from_utf8_lossy(&windows.stdout)
                .lines()
                .filter_map(|id| Command::new(&xdotool).args(["getwindowname", id]).env("DISPLAY", &harness.display).output().ok())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .collect();
            panic!("no dialog titled {title:?} opened in {DIALOG_TIMEOUT:?}; the display's windows: {names:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // Let the dialog draw before typing into it.
    std::thread::sleep(Duration::from_millis(1500));
    run(&["mousemove", "--window", &window, "400", "26", "click", "1"]);
    run(&["key", "ctrl+a"]);
    run(&["type", "--delay", "2", &path.display().to_string()]);
    run(&["key", "Return"]);
}

async fn js(c: &Client, script: &str) -> Value {
    bounded("run a script", c.execute(script, vec![])).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Draws a lasso on a canvas: a square around its centre, `share` of its width, as pointer
/// events (what a mouse drag sends).
async fn lasso(c: &Client, css: &str, share: f64) {
    js(
        c,
        &format!(
            "const el = document.querySelector('{css}'); const r = el.getBoundingClientRect();
             const cx = r.left + r.width / 2, cy = r.top + r.height / 2, h = r.width * {share} / 2;
             const at = (type, x, y) => el.dispatchEvent(new PointerEvent(type, {{ clientX: x, clientY: y, pointerId: 1, bubbles: true }}));
             at('pointerdown', cx - h, cy - h);
             for (const [x, y] of [[cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h]]) at('pointermove', x, y);
             at('pointerup', cx - h, cy + h);"
        ),
    )
    .await;
}

/// The Spanish manual pages Debian ships (`manpages-es`), cut into sentences: real text nobody
/// wrote for this test. A CSV of `text,label,page`: the label is the manual section's subject
/// (gold, 8 kinds), the page is metadata. Sections take turns, so every kind is present.
fn manpages_corpus(dir: &std::path::Path, records: usize) -> (PathBuf, usize) {
    const SECTIONS: [(&str, &str); 8] = [
        ("1", "órdenes"),
        ("2", "llamadas"),
        ("3", "bibliotecas"),
        ("4", "dispositivos"),
        ("5", "formatos"),
        ("6", "juegos"),
        ("7", "miscelánea"),
        ("8", "administración"),
    ];
    let root = PathBuf::from("/usr/share/man/es");
    assert!(root.is_dir(), "the 10,000-record end-to-end test reads Debian's Spanish manual pages: apt-get install manpages-es");
    let mut by_section: Vec<Vec<(String, String)>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (number, _) in SECTIONS {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(root.join(format!("man{number}"))).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
        files.sort();
        let mut sentences = Vec::new();
        for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "gz")) {
            let page = file.file_name().unwrap().to_string_lossy().split('.').next().unwrap().to_string();
            let out = Command::new("zcat").arg(file).output().expect("zcat (gzip)");
            let roff = String::from_utf8_lossy(&out.stdout);
            let mut text = String::new();
            // Control lines start with `.` or `'`; comments with `\"`.
            for line in roff.lines().filter(|l| !l.starts_with(['.', '\'']) && !l.starts_with("\\\"")) {
                text.push_str(line);
                text.push(' ');
            }
            // Roff escapes: fonts, \- and two-letter glyphs, zero-width \& and \e.
            let mut clean = String::with_capacity(text.len());
            let mut chars = text.chars().peekable();
            while let Some(ch) = chars.next() {
                if ch != '\\' {
                    clean.push(ch);
                    continue;
                }
                match chars.next() {
                    Some('f') => {
                        chars.next();
                    }
                    Some('-') => clean.push('-'),
                    Some('(') => {
                        chars.next();
                        chars.next();
                    }
                    _ => {}
                }
            }
            let mut sentence = String::new();
            for word in clean.split_whitespace() {
                if !sentence.is_empty() {
                    sentence.push(' ');
                }
                sentence.push_str(word);
                if word.ends_with(['.', ';', ':', '?', '!']) {
                    let n = sentence.chars().count();
                    if n > 30 && n < 400 && !sentence.contains('"') && seen.insert(sentence.clone()) {
                        sentences.push((std::mem::take(&mut sentence), page.clone()));
                    }
                    sentence.clear();
                }
            }
        }
        by_section.push(sentences);
    }
    let mut csv = String::from("text,label,page\n");
    let mut kinds = std::collections::BTreeSet::new();
    let mut written = 0;
    let mut round = 0;
    while written < records && by_section.iter().any(|s| round < s.len()) {
        for (s, (_, subject)) in by_section.iter().zip(SECTIONS) {
            if let Some((text, page)) = s.get(round).filter(|_| written < records) {
                csv.push_str(&format!("\"{text}\",{subject},\"{page}\"\n"));
                kinds.insert(subject);
                written += 1;
            }
        }
        round += 1;
    }
    assert_eq!(written, records, "manpages-es holds fewer than {records} distinct sentences");
    let path = dir.join("manuales.csv");
    std::fs::write(&path, csv).expect("write the corpus");
    (path, kinds.len())
}

/// The app on a corpus of real size (10,800 records): long work shows progress and can be
/// cancelled, a view never says "empty" while the project is busy, training says what it learns
/// from, the views and the project keep the user's choices (across view changes and a restart),
/// and label keys never reach a focused control. README's corpus screenshots come from here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_real_records_keep_up_with_the_user() {
    const N: usize = 10_800;
    let _serial = one_at_a_time().await;
    let harness = Harness::start();
    let (corpus, gold_kinds) = manpages_corpus(harness.data.path(), N);
    let c = harness.launch().await;
    let long = Duration::from_secs(600);

    let disc = fixture_model("disc-project-tokjson");
    let nli = fixture_model("nli-bert-tokjson");
    for model in [&nli, &disc] {
        fill(&c, "#model-spec", model).await;
        click(&c, "#load-model").await;
        wait_text(&c, "#model-facts", model.rsplit('/').next().unwrap()).await;
    }

    // Import with the gold column and the page as metadata.
    view(&c, "corpora").await;
    fill(&c, "#import-path", &corpus.display().to_string()).await;
    click(&c, "#import-preview").await;
    wait_text(&c, "#preview-table", "page").await;
    fill(&c, "#import-name", "manuales").await;
    click(&c, "input[data-metadata='page']").await;
    click(&c, "#import-run").await;
    until_within("the import", long, || async { text_of(&c, "#import-outcome").await.filter(|t| t.contains(&format!("Imported {N} records"))) })
        .await;
    // A schema of three of the eight gold subjects.
    for label in ["órdenes", "formatos", "dispositivos"] {
        let css = format!("#schema-editor button[data-suggested='{label}']");
        c.wait().at_most(TIMEOUT).for_element(Locator::Css(&css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        js(&c, &format!("document.querySelector(\"{css}\").click()")).await;
    }
    fill(&c, "#schema-guidelines", "El tema de la frase: una orden, un formato de archivo o un dispositivo.").await;
    click(&c, "#schema-save").await;
    wait_text(&c, "#schema-saved", "Saved").await;
    js(&c, "window.scrollTo(0, 0)").await;
    screenshot(&c, "corpora").await;
    js(&c, "document.querySelector('#schema-editor').scrollIntoView()").await;
    screenshot(&c, "labels").await;

    // Zero-shot with the corpus's labels, over every record: progress, then the distribution.
    view(&c, "zeroshot").await;
    fill(&c, "#zs-model", &nli).await;
    click(&c, "#zs-use-schema").await;
    click(&c, "#zs-run").await;
    wait_text(&c, "#zs-progress", "records").await;
    until_within("the zero-shot run", long, || async { text_of(&c, "#zs-summary").await.filter(|t| t.contains(&format!("complete: {N} records"))) })
        .await;
    wait_text(&c, "#zs-distribution", "Predicted labels").await;
    screenshot(&c, "zeroshot").await;
    // Leaving the view keeps its choices.
    view(&c, "annotate").await;
    view(&c, "zeroshot").await;
    let ticked = js(&c, "return document.querySelector('#zs-use-schema').checked").await;
    assert_eq!(ticked, json!(true), "leaving Zero-shot unticked the corpus's labels");

    // Annotate: six records by keyboard, two kinds.
    view(&c, "annotate").await;
    wait_text(&c, "#an-progress", &format!("0 of {N} annotated")).await;
    for (n, key) in ["1", "2", "1", "2", "1", "2"].iter().enumerate() {
        keys(&c, &format!("{key}{ENTER}")).await;
        wait_text(&c, "#an-progress", &format!("{} of {N} annotated", n + 1)).await;
    }
    screenshot(&c, "annotate").await;
    // A key on a focused filter labels nothing, and the view says where the key went.
    js(&c, "document.querySelector('#an-filter-status').focus()").await;
    let status = c.find(Locator::Css("#an-filter-status")).await.expect("status filter");
    bounded("a label key on the filter", status.send_keys("2")).await.expect("keys");
    wait_text(&c, "#an-keys-away", "Esc").await;
    bounded("escape", status.send_keys("\u{e00c}")).await.expect("escape");
    let focused = js(&c, "return document.activeElement && document.activeElement.id").await;
    assert_eq!(focused, json!("an-record"), "Escape gives the record the keyboard");
    wait_text(&c, "#an-progress", &format!("6 of {N} annotated")).await;

    // Learning: it says what it learns from (the six labels, suggested over 10,800 gold ones),
    // shows progress, can be cancelled, and goes on from there.
    click(&c, "#an-learning summary").await;
    wait_text(&c, "#an-learn-source", "your accepted labels: 6 records, 2 kinds").await;
    wait_text(&c, "#an-learn-source", &format!("the corpus's gold column: {N} records, {gold_kinds} kinds")).await;
    let chosen = js(&c, "return document.querySelector(\"input[name='an-source']:checked\").value").await;
    assert_eq!(chosen, json!("annotations"));
    fill(&c, "#an-learn-model", &disc).await;
    click(&c, "#an-learn-train").await;
    wait_text(&c, "#an-learn-progress", "embedding the records").await;
    click(&c, "#an-learn-cancel").await;
    wait_text(&c, "#an-learn-error", "Training cancelled").await;
    click(&c, "#an-learn-train").await;
    until_within("the training", long, || async { text_of(&c, "#an-learn-result").await.filter(|t| t.contains("Trained 1 time")) }).await;
    wait_text(&c, "#an-learn-result", "on accepted annotations").await;
    // The schema's three labels and keys stay.
    let labels = texts(&c, "#an-record .labels button").await;
    assert_eq!(labels.len(), 3, "{labels:?}");
    js(&c, "window.scrollTo(0, 0)").await;
    screenshot(&c, "learning").await;

    // An export runs on its own connection with progress; Annotate keeps reading meanwhile and
    // never says the corpus is empty. The save dialog is answered by keyboard.
    let exported = harness.data.path().join("manuales.jsonl");
    js(
        &c,
        "window.__sawExportProgress = false;
         new MutationObserver(() => { if (document.querySelector('#export-progress')) window.__sawExportProgress = true; })
           .observe(document.body, { subtree: true, childList: true });",
    )
    .await;
    view(&c, "corpora").await;
    until("the export button shown and enabled", || async {
        let ready = js(&c, "const b = document.querySelector('#export-run'); return !!b && !b.disabled && b.offsetParent !== null").await;
        (ready == json!(true)).then_some(())
    })
    .await;
    click(&c, "#export-run").await;
    answer_save_dialog(&harness, "Export", &exported);
    view(&c, "annotate").await;
    until_within("the export", long, || async {
        let page = text_of(&c, "main").await.unwrap_or_default();
        assert!(!page.contains("No records match") && !page.contains("no labels yet"), "Annotate showed an empty corpus during the export");
        // Corpora is hidden meanwhile: its text is read from the page, not from what shows.
        let done = js(&c, "const d = document.querySelector('#export-done'); return d ? d.textContent : ''").await;
        done.as_str().filter(|t| t.contains(&format!("Exported {N} records"))).map(str::to_string)
    })
    .await;
    assert_eq!(js(&c, "return window.__sawExportProgress").await, json!(true), "the export showed no progress");
    assert_eq!(std::fs::read_to_string(&exported).expect("the export").lines().count(), N);

    // Data quality: the training's embedding set is searched; a typed text finds the records
    // most like it (they become the filter, in the search's order), and duplicates are grouped.
    click(&c, "#an-quality summary").await;
    until("the embedding set", || async {
        let value = js(&c, "const s = document.querySelector('#an-embeddings'); return s ? s.value : ''").await;
        (value.as_str().is_some_and(|v| !v.is_empty())).then_some(())
    })
    .await;
    fill(&c, "#an-semantic", &format!("muestra el contenido del directorio{ENTER}")).await;
    wait_text(&c, "#an-found", "most like").await;
    wait_text(&c, "#an-found-note", "Similarity").await;
    fill(&c, "#an-dup-threshold", "0.999").await;
    click(&c, "#an-duplicates").await;
    until_within("the duplicate groups", long, || async { text_of(&c, "#an-dup-groups").await.filter(|t| t.contains("duplicate groups")) }).await;
    click(&c, "#an-learning summary").await;
    js(&c, "document.querySelector('#an-found').scrollIntoView()").await;
    screenshot(&c, "quality").await;
    click(&c, "#an-found-clear").await;
    click(&c, "#an-quality summary").await;
    // The whole corpus is read again before another view is opened (a click while the page
    // reloads may land elsewhere).
    wait_text(&c, "#an-filter-count", &format!("{N} matching")).await;
    until("the found set cleared", || async { (js(&c, "return !document.querySelector('#an-found')").await == json!(true)).then_some(()) }).await;

    // A metadata value typed without its exact spelling: the values that contain it are offered.
    click(&c, "#an-filter-more").await;
    fill(&c, "#an-filter-meta", &format!("page=LS{ENTER}")).await;
    wait_text(&c, "#an-filter-count", "0 matching").await;
    wait_text(&c, "#an-filter-meta-hint", "that contain it").await;
    click(&c, "#an-filter-meta-hint button").await;
    until("records of the offered value", || async {
        let t = text_of(&c, "#an-filter-count").await?;
        let n: u64 = t.split_whitespace().next()?.parse().ok()?;
        (n > 0).then_some(())
    })
    .await;
    click(&c, "#an-mode-list").await;
    js(&c, "window.scrollTo(0, 0)").await;
    screenshot(&c, "filters").await;
    click(&c, "#an-filter-clear").await;
    click(&c, "#an-mode-one").await;

    // Why this label: the zero-shot run's label of the shown record, its words shaded.
    wait_text(&c, "#an-filter-count", &format!("{N} matching")).await;
    click(&c, "#an-why-go").await;
    until_within("the explanation", long, || async { text_of(&c, "#an-why-summary").await.filter(|t| t.contains("leave-one-out")) }).await;
    let shaded = js(&c, "return document.querySelectorAll('#an-record-heat .w').length").await;
    assert!(shaded.as_u64().is_some_and(|n| n > 0), "no word shaded: {shaded}");
    js(&c, "document.querySelector('#an-record').scrollIntoView()").await;
    screenshot(&c, "why").await;

    // The map: the training's embedding set by PCA, coloured by the zero-shot run's label; a
    // lasso around the middle becomes the filter, and the list shows its records.
    click(&c, "#an-map summary").await;
    until("the map's embedding set", || async {
        let value = js(&c, "const s = document.querySelector('#an-map-set'); return s ? s.value : ''").await;
        (value.as_str().is_some_and(|v| !v.is_empty())).then_some(())
    })
    .await;
    click(&c, "#an-map-make").await;
    until_within("the map", long, || async { text_of(&c, "#an-map-facts").await.filter(|t| t.contains(&format!("{N} records by PCA"))) }).await;
    select(&c, "#an-map-colour", "run_label:1").await;
    wait_text(&c, "#an-map-legend", "órdenes").await;
    let frames = js(&c, "return window.__selectraMapBench(60)").await;
    eprintln!("map of {N} points: {frames}");
    js(&c, "document.querySelector('#an-map-lasso').click()").await;
    lasso(&c, "#an-map-canvas", 0.3).await;
    wait_text(&c, "#an-found", "inside the outline").await;
    click(&c, "#an-mode-list").await;
    js(&c, "document.querySelector('#an-map').scrollIntoView()").await;
    screenshot(&c, "map").await;
    click(&c, "#an-found-clear").await;
    click(&c, "#an-map summary").await;
    click(&c, "#an-mode-one").await;
    wait_text(&c, "#an-filter-count", &format!("{N} matching")).await;

    // The template lab scores against the six labels (the core's suggestion once there are
    // labels of two kinds), with progress.
    view(&c, "zeroshot").await;
    until("the lab to score against the annotations", || async {
        (js(&c, "const s = document.querySelector('#zs-lab-source'); return s ? s.value : ''").await == json!("annotations")).then_some(())
    })
    .await;
    click(&c, "#zs-lab-run").await;
    until_within("three scored templates", long, || async {
        let rows = texts(&c, "#zs-lab-scores tbody tr").await;
        (rows.len() == 3).then_some(())
    })
    .await;
    js(&c, "document.querySelector('#zs-lab').scrollIntoView()").await;
    screenshot(&c, "templates").await;

    // Compare: the zero-shot run knows 3 of the 8 gold subjects; the view says so and scores
    // only the records it could get right when asked.
    view(&c, "compare").await;
    // The runs to score are offered once read.
    until("the runs to score", || async { (texts(&c, "#cmp-choose label").await.len() == 2).then_some(()) }).await;
    js(&c, "document.querySelector('#cmp-score').click()").await;
    until_within("the scores", long, || async { text_of(&c, "#cmp-runs").await.filter(|t| t.contains("nli-bert-tokjson")) }).await;
    wait_text(&c, "[data-outside-warning='1']", "cannot predict").await;
    js(&c, "document.querySelector('#cmp-choose').scrollIntoView()").await;
    screenshot(&c, "compare").await;
    js(&c, "document.querySelector(\"[data-outside-warning='1'] button\").click()").await;
    until_within("the scores within the run's labels", long, || async {
        let shown = js(&c, "const p = document.querySelector('#cmp-references'); const e = document.querySelector(\"[data-view-panel='compare'] .error\"); return (p ? p.textContent : '') + (e ? ' error: ' + e.textContent : '')").await;
        let shown = shown.as_str().unwrap_or_default().to_string();
        assert!(!shown.contains("error:"), "scoring within the runs' labels failed: {shown}");
        shown.contains("whose label a run cannot predict").then_some(())
    })
    .await;
    js(&c, "document.querySelector('#cmp-drill-1').scrollIntoView()").await;
    screenshot(&c, "drilldown").await;
    // The zero-shot run's likely label errors: how many, and the estimated noise.
    js(&c, "document.querySelector('#cmp-issues-1').click()").await;
    until_within("the likely label errors", long, || async {
        text_of(&c, "#cmp-issues-summary-1").await.filter(|t| t.contains("likely mislabeled"))
    })
    .await;
    js(&c, "document.querySelector('#cmp-issues-1').scrollIntoView()").await;
    screenshot(&c, "noise").await;
    // Leaving Compare keeps its scores.
    view(&c, "models").await;
    view(&c, "compare").await;
    wait_text(&c, "#cmp-runs", "nli-bert-tokjson").await;
    bounded("close the app", c.close()).await.expect("close the app");

    // A restart: the models are loaded again, and Zero-shot and Annotate keep their choices.
    let c = harness.launch().await;
    until("the remembered models", || async {
        let t = text_of(&c, "#loaded-models").await?;
        (t.contains("nli-bert-tokjson") && t.contains("disc-project-tokjson") && !t.contains("again…")).then_some(())
    })
    .await;
    view(&c, "zeroshot").await;
    until("the corpus's labels ticked", || async {
        (js(&c, "return !!document.querySelector('#zs-use-schema') && document.querySelector('#zs-use-schema').checked").await == json!(true))
            .then_some(())
    })
    .await;
    view(&c, "annotate").await;
    wait_text(&c, "#an-progress", &format!("6 of {N} annotated")).await;
    let model = c.find(Locator::Css("#an-learn-model")).await.expect("learning model").prop("value").await.expect("value");
    assert_eq!(model.as_deref(), Some(disc.as_str()), "the learning model was forgotten");
    bounded("close the app", c.close()).await.expect("close the app");
}

/// A record of 5,000 characters with 200 entity spans, as the span editor shows it: how long a
/// key takes to show (a cursor move, a new span) and the record to open, measured in the real
/// webview from the key event to the next painted frame. The goal is under 50 ms; the
/// figures are printed and written to `$CARGO_TARGET_TMPDIR/span-editor-timings.json` for the
/// notes. The bound asserted (a second) only catches a pathology, such as a render that grows
/// with spans × words per key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_record_with_two_hundred_entities_answers_keys_at_once() {
    use selectra::domain::labels::{LabelDef, LabelSchema, SchemaKind};
    use selectra::domain::spans::Span;
    use selectra::store::{Status, Store};
    let _serial = one_at_a_time().await;
    let harness = Harness::start();
    // Every fourth word an entity: "Ana", "Madrid", "Salamanca", ... over 5,000 characters.
    const WORDS: [&str; 12] = ["Ana", "viajó", "con", "la", "Madrid", "de", "el", "aquel", "Salamanca", "pero", "sin", "una"];
    let (mut text, mut spans) = (String::new(), Vec::new());
    for i in 0.. {
        let word = WORDS[i % WORDS.len()];
        if text.chars().count() + word.chars().count() + 1 > 5_000 {
            break;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        let start = text.chars().count();
        text.push_str(word);
        if i % 4 == 0 && spans.len() < 200 {
            spans.push(Span { start, end: start + word.chars().count(), label: if i % 8 == 0 { "PER" } else { "LOC" }.into() });
        }
    }
    let padded = format!("{text}{}", " final".repeat((5_000 - text.chars().count()) / 6));
    assert_eq!(spans.len(), 200);
    let file = harness.data.path().join("largo.jsonl");
    std::fs::write(&file, format!("{}\n{}\n", json!({"text": padded}), json!({"text": "Un registro corto."}))).unwrap();

    let c = harness.launch().await;
    view(&c, "corpora").await;
    fill(&c, "#import-path", &file.display().to_string()).await;
    click(&c, "#import-preview").await;
    wait_text(&c, "#preview-table", "Un registro corto.").await;
    fill(&c, "#import-name", "largo").await;
    click(&c, "#import-run").await;
    wait_text(&c, "#import-outcome", "Imported 2 records").await;
    // The spans and the schema of entity types, written through the core as another program
    // sharing the project would (the app reads them when the corpus is opened).
    {
        let db = harness.data.path().join("xdg/studio.selectra.desktop/project.sqlite");
        let mut store = Store::open_existing(&db).expect("the app's project");
        let types = ["PER", "LOC"]
            .iter()
            .enumerate()
            .map(|(i, name)| LabelDef {
                name: name.to_string(),
                description: String::new(),
                key: Some((i + 1).to_string()),
                colour: None,
                hypothesis: None,
            })
            .collect();
        store.set_label_schema("largo", LabelSchema { labels: types, guidelines: String::new(), kind: SchemaKind::Spans }).expect("schema");
        let record = store.record_id("largo", 1).expect("record 1");
        store.annotate_spans(record, &spans, Status::Accepted, "e2e").expect("200 spans");
    }
    view(&c, "annotate").await;
    select(&c, "#an-corpus", "largo").await;
    click(&c, "#an-mode-one").await;
    until("200 spans shown", || async {
        (js(&c, "return document.querySelectorAll('#an-span-text .tag').length").await == json!(200)).then_some(())
    })
    .await;
    // Each key is timed twice: until the view has handled it (its handler and the DOM update,
    // which Svelte does in a microtask), and until the next frame is painted. Two baselines: an
    // idle frame, and a frame after a word's background is toggled by hand (no app code): the
    // painting's own cost on this display (Xvfb composites in software).
    let timings = js(
        &c,
        "const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
         const settled = () => new Promise((r) => setTimeout(r, 0));
         const panel = document.querySelector('#an-record');
         panel.focus();
         const press = (key, extra) => panel.dispatchEvent(new KeyboardEvent('keydown', Object.assign({ key, bubbles: true, cancelable: true }, extra || {})));
         const tags = () => document.querySelectorAll('#an-span-text .tag').length;
         const until = async (ok) => { for (let i = 0; i < 600 && !ok(); i++) await frame(); };
         const out = { idle_frame: [], paint_only: [], move_handled: [], move_painted: [], mark_handled: [], mark_painted: [], open_handled: [], open_painted: [] };
         const timed = async (key, handled, painted, done) => {
           const t = performance.now(); press(key); await settled();
           if (done) await until(done);
           out[handled].push(performance.now() - t); await frame(); out[painted].push(performance.now() - t);
         };
         return (async () => {
           for (let i = 0; i < 10; i++) { await frame(); const t = performance.now(); await frame(); out.idle_frame.push(performance.now() - t); }
           const word = document.querySelector('#an-span-text .w');
           for (let i = 0; i < 10; i++) { const t = performance.now(); word.style.backgroundColor = i % 2 ? '' : 'yellow'; await frame(); out.paint_only.push(performance.now() - t); }
           word.style.backgroundColor = '';
           for (let i = 0; i < 20; i++) await timed('ArrowRight', 'move_handled', 'move_painted');
           // From word 20 (an entity) to 21, 25, 29, ...: words between entities, each marked.
           press('ArrowRight'); await frame();
           for (let i = 0; i < 10; i++) {
             const before = tags();
             await timed('1', 'mark_handled', 'mark_painted', () => tags() > before);
             for (let k = 0; k < 4; k++) press('ArrowRight');
             await frame();
           }
           // Away to the next record and back: the long record opens with its 200 saved spans.
           for (let i = 0; i < 5; i++) {
             // The short record shown and its suggestions read (keys queue behind that work).
             press('ArrowDown'); await until(() => tags() === 0); await new Promise((r) => setTimeout(r, 500));
             const t = performance.now(); press('ArrowUp');
             for (let k = 0; k < 1000 && tags() !== 200; k++) await settled();
             out.open_handled.push(performance.now() - t);
             await frame(); out.open_painted.push(performance.now() - t);
           }
           return out;
         })();",
    )
    .await;
    let summary = |name: &str| {
        let mut v: Vec<f64> = timings[name].as_array().unwrap_or_else(|| panic!("{timings}")).iter().map(|x| x.as_f64().unwrap()).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1], v.len())
    };
    let report: Vec<Value> =
        ["idle_frame", "paint_only", "move_handled", "move_painted", "mark_handled", "mark_painted", "open_handled", "open_painted"]
            .iter()
            .map(|name| {
                let (median, max, n) = summary(name);
                eprintln!("span editor, 5,000 characters, 200 spans: {name}: median {median:.1} ms, max {max:.1} ms over {n}");
                assert!(max < 1_000.0, "{name} took {max:.0} ms: the editor's work grows with the record");
                json!({"what": name, "median_ms": median, "max_ms": max, "n": n})
            })
            .collect();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("span-editor-timings.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    bounded("close the app", c.close()).await.expect("close the app");
}

/// A map of 100,000 records in the real window: how fast it redraws while panning and zooming
/// (the goal: above 30 frames per second on this machine), and a lasso over it becoming
/// the filter. The corpus, its vectors (eight clusters) and the PCA map are written through the
/// core before the app starts; the figures are printed and written to
/// `$CARGO_TARGET_TMPDIR/map-frame-rate.json` for the notes. The bound asserted (5 frames per
/// second) only catches a pathology, such as a path drawn per point.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_points_pan_and_zoom_smoothly() {
    use rand::{Rng, SeedableRng};
    use selectra::analysis::projection::{make_map, ProjectionMethod};
    use selectra::store::{EmbeddingKey, Store};
    const N: usize = 100_000;
    let _serial = one_at_a_time().await;
    let harness = Harness::start();
    {
        let dir = harness.data.path().join("xdg/studio.selectra.desktop");
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = Store::open(&dir.join("project.sqlite")).expect("the app's project");
        let csv = harness.data.path().join("mapa.csv");
        let mut rows = String::from("text,label\n");
        for i in 0..N {
            rows.push_str(&format!("registro {i} del grupo {},g{}\n", i % 8, i % 8));
        }
        std::fs::write(&csv, rows).unwrap();
        let options = selectra::exchange::import::ImportOptions { name: "mapa".into(), label_column: Some("label".into()), ..Default::default() };
        selectra::exchange::import::import_file(&mut store, &csv, &options, &mut |_| {}, &std::sync::atomic::AtomicBool::new(false)).expect("import");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(30);
        let centres: Vec<Vec<f32>> = (0..8).map(|_| (0..16).map(|_| rng.random_range(-3.0..3.0)).collect()).collect();
        let key = EmbeddingKey { corpus: "mapa".into(), model: "clusters".into(), weights_sha256: "0".repeat(64), strip_accents: None };
        let set = store.open_embeddings(&key, 16).expect("set").id;
        let ids: Vec<i64> = (1..=N as u64).map(|row| store.record_id("mapa", row).unwrap()).collect();
        for chunk in ids.chunks(10_000) {
            let rows: Vec<(i64, Vec<f32>)> =
                chunk.iter().map(|&id| (id, centres[(id as usize) % 8].iter().map(|c| c + rng.random_range(-1.0f32..1.0)).collect())).collect();
            store.save_embeddings(set, &rows).unwrap();
        }
        store.finish_embeddings(set).unwrap();
        make_map(&mut store, "mapa", set, ProjectionMethod::Pca, 0, &mut selectra::domain::progress::Watch::none()).expect("the map");
    }
    let c = harness.launch().await;
    view(&c, "annotate").await;
    wait_text(&c, "#an-filter-count", &format!("{N} matching")).await;
    click(&c, "#an-map summary").await;
    until("the map's embedding set", || async {
        let value = js(&c, "const s = document.querySelector('#an-map-set'); return s ? s.value : ''").await;
        (value.as_str().is_some_and(|v| !v.is_empty())).then_some(())
    })
    .await;
    let started = Instant::now();
    click(&c, "#an-map-make").await;
    wait_text(&c, "#an-map-facts", &format!("{N} records by PCA")).await;
    wait_text(&c, "#an-map-legend", "g7").await;
    let shown = started.elapsed();
    let frames = js(&c, "return window.__selectraMapBench(120)").await;
    let fps = frames["fps"].as_f64().unwrap_or_else(|| panic!("{frames}"));
    eprintln!("map of {N} points: stored map shown and coloured in {:.2} s; pan and zoom: {frames}", shown.as_secs_f64());
    assert_eq!(frames["points"], json!(N));
    assert!(fps > 5.0, "{fps:.1} frames per second: the map's drawing grows beyond a pixel per point");
    // A lasso over the middle: its records become the filter.
    js(&c, "document.querySelector('#an-map-lasso').click()").await;
    let lassoed = Instant::now();
    lasso(&c, "#an-map-canvas", 0.2).await;
    let found = wait_text(&c, "#an-found", "inside the outline").await;
    let lasso_secs = lassoed.elapsed().as_secs_f64();
    eprintln!("a lasso over {N} points: {found} in {lasso_secs:.2} s");
    let report = json!({ "points": N, "shown_secs": shown.as_secs_f64(), "frames": frames, "lasso_secs": lasso_secs, "found": found });
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("map-frame-rate.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    bounded("close the app", c.close()).await.expect("close the app");
}

/// A Hub dataset in the import dialog: its configs and splits listed with rows, a split's rows
/// previewed, imported; then the corpus pushed back as a dataset (the Hub-like loopback server
/// of the core's tests stands in for the Hub).
#[tokio::test(flavor = "multi_thread")]
async fn a_hub_dataset_is_listed_previewed_imported_and_pushed() {
    use std::collections::BTreeMap;
    let _serial = one_at_a_time().await;
    let server = hub_server::HubServer::start();
    let card = "---\nlanguage: [es]\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train.csv\n  - split: test\n    path: data/test.csv\ndataset_info:\n  features:\n  - name: texto\n    dtype: string\n  - name: sentimiento\n    dtype: string\n  splits:\n  - name: train\n    num_examples: 6\n  - name: test\n    num_examples: 2\n---\n# Opiniones\n";
    let train = "texto,sentimiento\nLa película me encantó de principio a fin.,positivo\nEl servicio fue lento y la comida llegó fría.,negativo\nNi fu ni fa: cumple sin más.,neutro\nVolvería sin dudarlo; el trato fue excelente.,positivo\nNo lo recomiendo a nadie.,negativo\nEl hotel está bien situado pero es ruidoso.,neutro\n";
    let test = "texto,sentimiento\nUna experiencia inolvidable.,positivo\nDemasiado caro para lo que ofrece.,negativo\n";
    server.state.lock().unwrap().commit(
        "demo/opiniones",
        "main",
        BTreeMap::from([
            ("README.md".to_string(), card.as_bytes().to_vec()),
            ("data/train.csv".to_string(), train.as_bytes().to_vec()),
            ("data/test.csv".to_string(), test.as_bytes().to_vec()),
        ]),
    );
    let harness = Harness::start_with(&[("HF_ENDPOINT", &server.url), ("HF_TOKEN", hub_server::WRITE_TOKEN)]);
    let c = harness.launch().await;
    view(&c, "corpora").await;
    click(&c, "#import-source-hub").await;
    fill(&c, "#hub-dataset", "demo/opiniones").await;
    click(&c, "#hub-describe").await;
    wait_text(&c, "#hub-splits", "test").await;
    wait_text(&c, "#preview-table", "La película me encantó").await;
    let rows = text_of(&c, "#hub-splits").await.unwrap_or_default();
    assert!(rows.contains("default") && rows.contains("train") && rows.contains('6'), "{rows}");
    screenshot(&c, "hub-import").await;
    click(&c, "#import-run").await;
    wait_text(&c, "#import-outcome", "Imported 6 records into “opiniones”").await;
    wait_text(&c, "#corpus-list", "hf://datasets/demo/opiniones@").await;
    fill(&c, "#push-to", "demo/opiniones-etiquetadas").await;
    click(&c, "#push-run").await;
    wait_text(&c, "#push-done", "Pushed 6 records to demo/opiniones-etiquetadas as split train").await;
    {
        let st = server.state.lock().unwrap();
        let repo = &st.datasets["demo/opiniones-etiquetadas"];
        let head = &repo.commits[&repo.refs["main"]];
        assert!(head.contains_key("data/train-00000-of-00001.parquet") && head.contains_key("README.md"), "{:?}", head.keys());
    }
    js(&c, "document.querySelector('#push-row').scrollIntoView({block: 'center'})").await;
    screenshot(&c, "hub-push").await;
    bounded("close the app", c.close()).await.expect("close the app");
}

/// Annotate's Fine-tune panel: a fixture discriminator fine-tuned on a topic corpus, the epochs
/// shown as they end, the folder written and its held-out run listed.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_is_fine_tuned_from_the_annotate_view() {
    let _serial = one_at_a_time().await;
    let harness = Harness::start();
    {
        // Records of three topics made of the fixture vocabulary's whole words.
        let dir = harness.data.path().join("xdg/studio.selectra.desktop");
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = selectra::store::Store::open(&dir.join("project.sqlite")).expect("the app's project");
        let topics = [
            ("deportes", ["fútbol", "equipo", "jugador", "partido", "ganó", "madrid"]),
            ("economía", ["banco", "mercado", "precio", "precios", "subida", "empresa"]),
            ("política", ["gobierno", "ministro", "presidente", "elecciones", "política", "españa"]),
        ];
        let filler = ["el", "la", "de", "en", "ayer", "muy", "un", "una", "que", "por", "con", "para"];
        let mut csv = String::from("text,label\n");
        for i in 0..90 {
            let (label, words) = topics[i % 3];
            let text = format!(
                "{} {} {} {} {} {}",
                filler[i % 12],
                words[i % 6],
                filler[(i * 5 + 1) % 12],
                words[(i * 7 + 2) % 6],
                filler[(i * 3 + 2) % 12],
                filler[(i + 7) % 12]
            );
            csv.push_str(&format!("{text},{label}\n"));
        }
        let file = harness.data.path().join("temas.csv");
        std::fs::write(&file, csv).unwrap();
        let options = selectra::exchange::import::ImportOptions { name: "temas".into(), label_column: Some("label".into()), ..Default::default() };
        selectra::exchange::import::import_file(&mut store, &file, &options, &mut |_| {}, &std::sync::atomic::AtomicBool::new(false))
            .expect("import");
    }
    let output = harness.data.path().join("modelo-temas");
    let c = harness.launch().await;
    view(&c, "annotate").await;
    wait_text(&c, "#an-filter-count", "90 matching").await;
    click(&c, "#an-finetune summary").await;
    fill(&c, "#an-ft-model", &fixture_model("disc-vocab-bin")).await;
    fill(&c, "#an-ft-output", &output.display().to_string()).await;
    fill(&c, "#an-ft-epochs", "12").await;
    fill(&c, "#an-ft-lr", "0.005").await;
    fill(&c, "#an-ft-batch", "8").await;
    fill(&c, "#an-ft-validation", "0.2").await;
    click(&c, "#an-ft-run").await;
    let done = wait_text(&c, "#an-ft-done", "holds its predictions on the held-out records").await;
    assert!(done.contains("72 records trained on, 18 held out"), "{done}");
    let rows = texts(&c, "#an-ft-curve tbody tr").await;
    assert_eq!(rows.len(), 12, "{rows:?}");
    assert!(output.join("model.safetensors").is_file() && output.join("config.json").is_file());
    js(&c, "document.querySelector('#an-finetune').scrollIntoView({block: 'start'})").await;
    screenshot(&c, "finetune").await;

    // Cross-validated in 3 folds into another folder: every fold's epochs, then their means,
    // and a run over all 90 records.
    let folds = harness.data.path().join("temas-cv");
    fill(&c, "#an-ft-output", &folds.display().to_string()).await;
    fill(&c, "#an-ft-epochs", "4").await;
    fill(&c, "#an-ft-folds", "3").await;
    click(&c, "#an-ft-run").await;
    let done = wait_text(&c, "#an-ft-done", "records predicted by the model that did not see it").await;
    assert!(done.contains("every one of the 90 records") && done.contains("3 models saved"), "{done}");
    let rows = texts(&c, "#an-ft-curve tbody tr").await;
    assert_eq!(rows.len(), 3 * 4 + 4, "each fold's epochs, then the means: {rows:?}");
    assert!((1..=3).all(|i| folds.join(format!("fold-{i}")).join("model.safetensors").is_file()));
    bounded("close the app", c.close()).await.expect("close the app");
}
