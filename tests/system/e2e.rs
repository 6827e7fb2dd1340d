//! End to end in the real app: the Tauri binary under Xvfb, driven through tauri-driver and
//! WebKitWebDriver. Signs in, opens a resident, gives a dose, refuses one with a note, is blocked by
//! a PRN interval, completes a CD dose with a witness, restarts the app and finds the records.
//! Saves screenshots of the main screens in `docs/screenshots/`, each screen audited for
//! accessibility first (`accessibility.js`).

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use medround_demo::demo_gtin;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Process groups of every driver started, killed when the test ends however it ends.
type Groups = Arc<Mutex<Vec<i32>>>;

fn kill_groups(groups: &Groups) {
    for pgid in groups.lock().unwrap().drain(..) {
        // "--" so that kill reads "-PGID" as a process group, not as a signal name.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pgid}")])
            .status();
    }
}

/// tauri-driver in its own process group, so that killing the group also ends WebKitWebDriver.
struct Driver {
    child: Child,
    port: u16,
    groups: Groups,
}

impl Driver {
    fn start(data: &Path, training_start: &str, groups: &Groups) -> Driver {
        Driver::start_with(data, training_start, &[], groups)
    }

    /// Starts a driver whose app sees `env` too (several tablets side by side).
    fn start_with(
        data: &Path,
        training_start: &str,
        env: &[(&str, &str)],
        groups: &Groups,
    ) -> Driver {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "the end-to-end test needs a display: run it under xvfb-run (scripts/test does)"
        );
        let exe = which("tauri-driver").expect("tauri-driver is not installed: run scripts/setup");
        let (port, native) = (free_port(), free_port());
        use std::os::unix::process::CommandExt;
        let child = Command::new(exe)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
            .env("MEDROUND_DATA_DIR", data.join("data"))
            .env("MEDROUND_KEY_DIR", data.join("keys"))
            .env("MEDROUND_TRAINING_START", training_start)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("start tauri-driver");
        groups.lock().unwrap().push(child.id() as i32);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "tauri-driver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            port,
            groups: groups.clone(),
        }
    }

    async fn app(&self) -> Client {
        // The test runs from <target>/debug/deps/; the app is built into <target>/debug/.
        let exe = std::env::current_exe().unwrap();
        let app = exe
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .join("medround-app");
        assert!(
            app.exists(),
            "build the app first: cargo build -p medround-app ({})",
            app.display()
        );
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app }),
        );
        let url = format!("http://127.0.0.1:{}", self.port);
        // tauri-driver accepts connections before WebKitWebDriver behind it is ready; on a
        // fresh machine the first session request can be cut off. Ask again, within a minute.
        let started = Instant::now();
        loop {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            builder.capabilities(caps.clone());
            match tokio::time::timeout(Duration::from_secs(60), builder.connect(&url)).await {
                Ok(Ok(c)) => return c,
                Ok(Err(e)) if started.elapsed() < Duration::from_secs(60) => {
                    eprintln!("e2e: WebDriver session not ready ({e}); asking again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Ok(Err(e)) => panic!("WebDriver session with the app: {e}"),
                Err(_) => panic!("the app did not start within a minute"),
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.child.wait();
        // Its group is gone, and its number is free for the system to give out again (pids
        // wrap at 32768 here): the end-of-test sweep must not kill whatever has it by then,
        // which could be another test's app.
        self.groups.lock().unwrap().retain(|g| *g != pgid);
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo").into_os_string()))
    {
        dirs.push(Path::new(&home).join("bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

async fn wait(c: &Client, css: &str) -> Element {
    let started = Instant::now();
    loop {
        let found = c.find(Locator::Css(css)).await;
        if let Ok(e) = found {
            return e;
        }
        if started.elapsed() > Duration::from_secs(15) {
            // What WebDriver said, as well as the page: an empty page with an error means the
            // webview itself stopped answering, which is a different fault from a missing
            // element.
            let src = match c.source().await {
                Ok(s) => s,
                Err(e) => format!("(no page: {e})"),
            };
            panic!(
                "timed out waiting for {css} ({}); page was:\n{}",
                found.err().map(|e| e.to_string()).unwrap_or_default(),
                &src[..src.len().min(3000)]
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let started = Instant::now();
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                if t.contains(needle) {
                    return t;
                }
            }
        }
        if started.elapsed() > Duration::from_secs(15) {
            let t = match c.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => "(absent)".into(),
            };
            panic!("timed out waiting for {needle:?} in {css}; it says: {t}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click(c: &Client, css: &str) {
    wait(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Saves a screenshot of a main screen for the README, after auditing the screen's
/// accessibility (`accessibility.js`): every screen worth showing is one a care worker uses.
async fn shot(c: &Client, name: &str) {
    audit(c, name).await;
    let png = c.screenshot().await.expect("screenshot");
    let dir = repo().join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// Runs the accessibility audit on the screen as it is and fails on any fault: touch targets
/// under 44 px, controls, fields or images without a name a screen reader can read, text under
/// WCAG AA contrast, a page without its language. The audit first proves itself on a probe
/// holding one fault of each kind; an audit that finds nothing there fails the test.
async fn audit(c: &Client, screen: &str) {
    let report = c
        .execute(include_str!("accessibility.js"), vec![])
        .await
        .unwrap_or_else(|e| panic!("the accessibility audit did not run on {screen}: {e}"));
    let list = |key: &str| -> Vec<String> {
        serde_json::from_value(report[key].clone())
            .unwrap_or_else(|e| panic!("audit report {key}: {e}: {report}"))
    };
    let probe = list("probe");
    for kind in ["touch target", "no name", "contrast", "image without alt"] {
        assert!(
            probe.iter().any(|f| f.starts_with(kind)),
            "the audit missed the {kind} fault on its probe: {probe:?}"
        );
    }
    let faults = list("faults");
    assert!(
        faults.is_empty(),
        "accessibility faults on {screen}:\n{}",
        faults.join("\n")
    );
    eprintln!(
        "e2e: accessibility of {screen}: no faults in {}",
        report["checked"]
    );
}

/// The dose row whose text mentions `medicine`, and its action button.
async fn row_button(c: &Client, medicine: &str) -> Element {
    let started = Instant::now();
    loop {
        for li in c
            .find_all(Locator::Css("li.dose"))
            .await
            .unwrap_or_default()
        {
            if li.text().await.unwrap_or_default().contains(medicine) {
                if let Ok(b) = li.find(Locator::Css("button.primary")).await {
                    return b;
                }
            }
        }
        if started.elapsed() > Duration::from_secs(15) {
            let _ = std::fs::write(
                std::env::temp_dir().join("medround-e2e-failure.png"),
                c.screenshot().await.unwrap_or_default(),
            );
            let body = match c.find(Locator::Css("body")).await {
                Ok(b) => b.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!("no actionable row for {medicine}; the screen says:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ends the session and the app. WebKitWebDriver may never answer the close once the app has
/// gone, so the close is bounded and the driver's process group is killed regardless.
async fn end(c: Client, driver: Driver) {
    drop(driver);
    let _ = tokio::time::timeout(Duration::from_secs(2), c.close()).await;
}

/// Types `text` into the field marked `data-test=field`.
async fn type_into(c: &Client, field: &str, text: &str) {
    wait(c, &format!("[data-test='{field}']"))
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {field}: {e}"));
}

/// Taps a name on the sign-in screen, types `pin` and taps Sign in; what follows is the
/// caller's to check.
async fn try_pin(c: &Client, staff: &str, pin: &str) {
    click(c, &format!("[data-test='staff-{staff}']")).await;
    type_into(c, "pin", pin).await;
    click(c, "[data-test='sign-in']").await;
}

async fn sign_in(c: &Client, staff: &str) {
    sign_in_with(c, staff, medround_tests::pin(staff)).await;
}

async fn sign_in_with(c: &Client, staff: &str, pin: &str) {
    try_pin(c, staff, pin).await;
    wait(c, "[data-test='round-screen']").await;
}

/// On the open "New PIN" form, the PIN's owner types it twice and it is saved.
async fn set_new_pin(c: &Client, pin: &str) {
    type_into(c, "new-pin", pin).await;
    type_into(c, "new-pin-again", pin).await;
    click(c, "[data-test='pin-save']").await;
}

/// Opens a resident from the round and checks it is the one that was tapped.
async fn open(c: &Client, resident: &str) {
    click(c, &format!("[data-test='resident-{resident}']")).await;
    wait(
        c,
        &format!("[data-test='resident-screen'][data-resident='{resident}'] [data-test='nhs']"),
    )
    .await;
}

async fn back(c: &Client) {
    click(c, "[data-test='back']").await;
    wait(c, "[data-test='round-screen']").await;
}

async fn scan(c: &Client, code: &str) {
    let s = wait(c, "[data-test='scan']").await;
    // U+E007 is WebDriver's Enter key, as a keyboard-wedge scanner sends after the code.
    s.send_keys(&format!("{code}\u{E007}")).await.unwrap();
}

async fn save_expecting(c: &Client, text: &str) {
    click(c, "[data-test='save-dose']").await;
    wait_text(c, "[data-test='banner']", text).await;
}

/// Runs one end-to-end scenario in a fresh data directory, for at most five minutes, and kills
/// every driver it started whatever happens (a panic inside is passed on as the test's own).
async fn bounded<F, Fut>(scenario: F)
where
    F: FnOnce(PathBuf, Groups) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let groups: Groups = Arc::default();
    let data = tempfile::tempdir().unwrap();
    let run = tokio::spawn(scenario(data.path().to_path_buf(), groups.clone()));
    let outcome = tokio::time::timeout(Duration::from_secs(300), run).await;
    kill_groups(&groups);
    match outcome {
        Err(_) => panic!("the end-to-end test took more than five minutes"),
        Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Ok(r) => r.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn e2e_bedside_round_in_the_real_app() {
    bounded(bedside_round).await;
}

async fn bedside_round(data: PathBuf, groups: Groups) {
    // First launch: the demo home is built, then the round.
    let driver = Driver::start(&data, "2026-11-23T07:55:00Z", &groups);
    let started = Instant::now();
    let c = driver.app().await;
    wait(&c, "[data-test='staff-st-amy']").await;
    let first_start = started.elapsed();
    shot(&c, "01-sign-in.png").await;

    // A wrong PIN is refused with a clear message.
    try_pin(&c, "st-amy", "9999").await;
    wait_text(&c, "[data-test='banner']", "not right").await;

    sign_in(&c, "st-amy").await;
    wait_text(&c, "[data-test='round-screen']", "Rowan").await;
    shot(&c, "02-round.png").await;

    // Give a regular dose: scanning the pack opens it.
    open(&c, "res-01").await;
    shot(&c, "03-resident.png").await;
    scan(&c, &demo_gtin(3)).await;
    wait_text(&c, "[data-test='scan-result']", "Pack matches Amlodipine").await;
    wait_text(&c, "[data-test='dose-panel']", "Amlodipine").await;
    click(&c, "[data-test='outcome-GIVEN']").await;
    save_expecting(&c, "Amlodipine").await;

    // Refuse one: the note is needed first (S8).
    row_button(&c, "Furosemide").await.click().await.unwrap();
    click(&c, "[data-test='outcome-REFUSED']").await;
    click(&c, "[data-test='save-dose']").await;
    wait(&c, "[data-test='finding-NoteNeeded']").await;
    wait(&c, "[data-test='note']")
        .await
        .send_keys("Felt dizzy this morning; senior told.")
        .await
        .unwrap();
    save_expecting(&c, "REFUSED").await;
    wait(&c, "[data-test='record-REFUSED']").await;
    back(&c).await;

    // PRN paracetamol, then co-codamol: blocked by the interval across products (S4).
    open(&c, "res-03").await;
    scan(&c, &demo_gtin(1)).await;
    wait_text(&c, "[data-test='dose-panel']", "Paracetamol").await;
    click(&c, "[data-test='outcome-GIVEN']").await;
    click(&c, "[data-test='qty-2']").await;
    type_into(&c, "prn-reason", "Knee pain").await;
    save_expecting(&c, "Paracetamol").await;
    row_button(&c, "Co-codamol").await.click().await.unwrap();
    click(&c, "[data-test='outcome-GIVEN']").await;
    click(&c, "[data-test='qty-1']").await;
    type_into(&c, "prn-reason", "Still sore").await;
    click(&c, "[data-test='tapped']").await;
    click(&c, "[data-test='save-dose']").await;
    let blocked = wait_text(&c, "[data-test='finding-PrnIntervalNotMet']", "paracetamol").await;
    assert!(blocked.contains("S4"), "{blocked}");
    click(&c, "[data-test='cancel-dose']").await;
    back(&c).await;

    // A controlled drug with a witness who enters their own PIN (S7).
    open(&c, "res-04").await;
    scan(&c, &demo_gtin(18)).await;
    wait_text(&c, "[data-test='dose-panel']", "Morphine").await;
    click(&c, "[data-test='outcome-GIVEN']").await;
    type_into(&c, "qty", "2.5").await;
    type_into(&c, "prn-reason", "Breakthrough pain 7/10").await;
    click(&c, "[data-test='witness-who'] option[value='st-ben']").await;
    type_into(&c, "witness-pin", medround_tests::pin("st-ben")).await;
    shot(&c, "04-cd-witness.png").await;
    save_expecting(&c, "Morphine").await;
    let records = wait_text(&c, "[data-test='records']", "witness Ben Okoro").await;
    assert!(records.contains("GIVEN"), "{records}");
    shot(&c, "05-resident-after-cd.png").await;
    end(c, driver).await;

    eprintln!("e2e: first launch done; restarting the app");
    // Restart: everything the screen confirmed is there.
    let driver = Driver::start(&data, "2026-11-23T08:20:00Z", &groups);
    let started = Instant::now();
    let c = driver.app().await;
    wait(&c, "[data-test='staff-st-amy']").await;
    let second_start = started.elapsed();
    sign_in(&c, "st-amy").await;
    open(&c, "res-04").await;
    wait_text(&c, "[data-test='records']", "witness Ben Okoro").await;
    back(&c).await;
    open(&c, "res-01").await;
    let records = wait_text(&c, "[data-test='records']", "Felt dizzy").await;
    assert!(
        records.contains("Amlodipine") && records.contains("GIVEN"),
        "{records}"
    );
    end(c, driver).await;

    println!("e2e: app start to sign-in screen: first start (building the demo home) {} ms, restart {} ms",
        first_start.as_millis(), second_start.as_millis());
}

#[tokio::test(flavor = "multi_thread")]
async fn e2e_two_tablets_sync_through_the_central_record() {
    bounded(two_tablets).await;
}

/// Connects the app to the central record through the sync bar's "Connect..." panel.
async fn connect(
    c: &Client,
    server: &medround_tests::central::CentralServer,
    name: &str,
    screenshot: Option<&str>,
) {
    let code = server.home_with_code("larch", "Larch House");
    click(c, "[data-test='sync-connect']").await;
    let url = wait(c, "[data-test='enrol-server']").await;
    url.clear().await.unwrap();
    url.send_keys(&server.url()).await.unwrap();
    type_into(c, "enrol-code", &code).await;
    type_into(c, "enrol-name", name).await;
    if let Some(file) = screenshot {
        // The field takes the keys one by one; shoot once it holds the whole name.
        let field = wait(c, "[data-test='enrol-name']").await;
        let started = Instant::now();
        while field.prop("value").await.ok().flatten().as_deref() != Some(name)
            && started.elapsed() < Duration::from_secs(5)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shot(c, file).await;
    }
    click(c, "[data-test='enrol-submit']").await;
    wait_text(c, "[data-test='sync-last']", "Last synced").await;
}

/// Taps "Sync now" and waits until the sync has finished with nothing left to send.
async fn sync_now(c: &Client) {
    let before = wait(c, "[data-test='sync-last']")
        .await
        .text()
        .await
        .unwrap_or_default();
    click(c, "[data-test='sync-now']").await;
    let started = Instant::now();
    loop {
        let last = wait(c, "[data-test='sync-last']")
            .await
            .text()
            .await
            .unwrap_or_default();
        let waiting = wait(c, "[data-test='sync-waiting']")
            .await
            .text()
            .await
            .unwrap_or_default();
        let state = wait(c, "[data-test='sync-state']")
            .await
            .text()
            .await
            .unwrap_or_default();
        if waiting.contains("nothing waiting")
            && state.contains("Online")
            && (last != before || started.elapsed() > Duration::from_secs(8))
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "sync did not finish: {state} / {last} / {waiting}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn give_prn_paracetamol(c: &Client) {
    open(c, "res-03").await;
    scan(c, &demo_gtin(1)).await;
    wait_text(c, "[data-test='dose-panel']", "Paracetamol").await;
    click(c, "[data-test='outcome-GIVEN']").await;
    click(c, "[data-test='qty-2']").await;
    type_into(c, "prn-reason", "Headache").await;
    save_expecting(c, "Paracetamol").await;
    back(c).await;
}

async fn two_tablets(data: PathBuf, groups: Groups) {
    let server = medround_tests::central::CentralServer::start(&data);
    let at = "2026-11-23T07:55:00Z";
    // Tablet A holds Larch House; tablet B starts empty and is enrolled afterwards.
    let da = Driver::start_with(
        &data.join("a"),
        at,
        &[("MEDROUND_SYNC_MINUTES", "600")],
        &groups,
    );
    let a = da.app().await;
    wait(&a, "[data-test='staff-st-claire']").await;
    wait_text(&a, "[data-test='sync-bar']", "Not connected").await;
    sign_in(&a, "st-claire").await;
    connect(&a, &server, "Oak unit tablet", None).await;

    let db = Driver::start_with(
        &data.join("b"),
        at,
        &[("MEDROUND_DEMO", "0"), ("MEDROUND_SYNC_MINUTES", "600")],
        &groups,
    );
    let b = db.app().await;
    wait_text(&b, "[data-test='sync-bar']", "Not connected").await;
    connect(
        &b,
        &server,
        "Elm unit tablet",
        Some("08-connect-a-new-tablet.png"),
    )
    .await;
    // The home, its staff and their PINs arrived with the first sync.
    sign_in(&b, "st-dev").await;
    wait_text(&b, "[data-test='round-screen']", "Rowan").await;

    // One dose on each, offline from each other.
    click(&a, "[data-test='sign-out']").await;
    sign_in(&a, "st-amy").await;
    open(&a, "res-01").await;
    scan(&a, &demo_gtin(3)).await;
    wait_text(&a, "[data-test='dose-panel']", "Amlodipine").await;
    click(&a, "[data-test='outcome-GIVEN']").await;
    save_expecting(&a, "Amlodipine").await;
    back(&a).await;
    wait_text(&a, "[data-test='sync-waiting']", "waiting to go up").await;

    open(&b, "res-01").await;
    row_button(&b, "Furosemide").await.click().await.unwrap();
    click(&b, "[data-test='outcome-REFUSED']").await;
    type_into(&b, "note", "Refused on tablet B.").await;
    save_expecting(&b, "REFUSED").await;
    back(&b).await;

    sync_now(&a).await;
    sync_now(&b).await;
    sync_now(&a).await;
    for c in [&a, &b] {
        open(c, "res-01").await;
        let records = wait_text(c, "[data-test='records']", "Refused on tablet B").await;
        assert!(records.contains("Amlodipine"), "{records}");
        back(c).await;
    }
    shot(&b, "06-sync-bar-two-tablets.png").await;

    // The same PRN paracetamol given on both inside its interval: one incident on both (S18).
    give_prn_paracetamol(&a).await;
    give_prn_paracetamol(&b).await;
    sync_now(&a).await;
    sync_now(&b).await;
    wait_text(
        &b,
        "[data-test='sync-incidents']",
        "1 incident found on merge",
    )
    .await;
    sync_now(&a).await;
    for c in [&a, &b] {
        click(c, "[data-test='refresh-round']").await;
        wait_text(c, "[data-test='incidents']", "open incident").await;
    }
    shot(&b, "07-double-dose-incident.png").await;
    end(a, da).await;
    end(b, db).await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn e2e_manager_review_in_the_real_app() {
    bounded(manager_review).await;
}

/// The manager opens the review late in the morning (the Parkinson's resident's time-critical
/// dose has been missed, so there is an incident), acknowledges it, and saves a MAR chart.
async fn manager_review(data: PathBuf, groups: Groups) {
    let exports = data.join("exports");
    // The home is built on a first launch at 07:55; the app is opened again at 11:00.
    let driver = Driver::start(&data, "2026-11-23T07:55:00Z", &groups);
    let c = driver.app().await;
    wait(&c, "[data-test='staff-st-claire']").await;
    end(c, driver).await;
    let driver = Driver::start_with(
        &data,
        "2026-11-23T11:00:00Z",
        &[("MEDROUND_EXPORT_DIR", exports.to_str().unwrap())],
        &groups,
    );
    let c = driver.app().await;
    wait(&c, "[data-test='staff-st-claire']").await;
    sign_in(&c, "st-claire").await;
    wait_text(&c, "[data-test='incidents']", "open incident").await;
    click(&c, "[data-test='open-review']").await;
    wait(&c, "[data-test='review-screen'] [data-test='trend-chart']").await;
    let totals = wait_text(&c, "[data-test='review-totals']", "missed").await;
    assert!(
        totals.contains("on time") && totals.contains("open incident"),
        "{totals}"
    );
    wait_text(&c, "[data-test='exceptions']", "Time-critical").await;
    // The period's date fields read day first, and a dose's earlier time is asked for on a
    // 24-hour clock, whatever the machine's locale: this one runs with none (C), where
    // WebKitGTK put the month first.
    let language = c
        .execute("return navigator.language", vec![])
        .await
        .unwrap();
    assert_eq!(language, "en-GB", "the webview's language");
    shot(&c, "09-review.png").await;

    let before = wait(&c, "[data-test='review-open-incidents']")
        .await
        .text()
        .await
        .unwrap();
    let note = wait(&c, "[data-test='ack-note']").await;
    note.send_keys("Dose given at 11:05; GP informed; hourly observations")
        .await
        .unwrap();
    click(&c, "[data-test='ack-submit']").await;
    wait_text(&c, "[data-test='banner']", "acknowledged").await;
    wait_text(&c, ".incident .ack", "hourly observations").await;
    let after = wait(&c, "[data-test='review-open-incidents']")
        .await
        .text()
        .await
        .unwrap();
    assert_ne!(before, after, "the open count went down");
    shot(&c, "11-incident-acknowledged.png").await;

    // A dose that went wrong opens the resident's audit trail, with that dose marked.
    click(&c, "[data-test='exceptions'] button.link").await;
    let marked = wait_text(&c, "[data-test='audit'] tr.focus", "This dose").await;
    assert!(
        marked.contains("MISSED")
            || marked.contains("REFUSED")
            || marked.contains("Late")
            || marked.contains("WITHHELD")
            || marked.contains("ASLEEP"),
        "{marked}"
    );
    shot(&c, "13-audit-trail.png").await;
    click(&c, "[data-test='audit-back']").await;
    wait(&c, "[data-test='review-screen']").await;

    click(&c, "[data-test='print-res-03']").await;
    let saved = wait_text(&c, "[data-test='banner']", "MAR chart saved").await;
    let pdf = std::fs::read_dir(&exports)
        .expect("export folder")
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "pdf"))
        .unwrap_or_else(|| panic!("no PDF saved; the app said: {saved}"));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "{}", pdf.display());
    assert!(saved.contains(&pdf.display().to_string()), "{saved}");

    // Stock: a CD stock check with a witness that disagrees opens an incident (S7), and the
    // reorder list is saved for the pharmacy.
    click(&c, "[data-test='open-stock']").await;
    wait(&c, "[data-test='stock-table']").await;
    click(&c, "[data-test^='cd-check-']").await;
    let count = wait(&c, "[data-test='count-qty']").await;
    count.send_keys("1").await.unwrap();
    click(
        &c,
        "select[data-test='stock-witness'] option[value='st-ben']",
    )
    .await;
    let wpin = wait(&c, "[data-test='stock-witness-pin']").await;
    wpin.send_keys(medround_tests::pin("st-ben")).await.unwrap();
    shot(&c, "12-cd-stock-check.png").await;
    click(&c, "[data-test='stock-save']").await;
    wait_text(&c, "[data-test='banner']", "incident is open").await;
    click(&c, "[data-test='export-reorder']").await;
    wait_text(&c, "[data-test='banner']", "Reorder list saved").await;
    let csv = std::fs::read_dir(&exports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "csv"))
        .expect("reorder list saved");
    let text = std::fs::read_to_string(csv).unwrap();
    assert!(text.starts_with("resident,nhs_number"), "{text}");

    // A carer locks herself out; the manager sets a new PIN, which she types in (S19).
    click(&c, "[data-test='stock-back']").await;
    click(&c, "[data-test='review-back']").await;
    click(&c, "[data-test='sign-out']").await;
    // Each wrong try is answered before the next: the count of tries left goes down by one.
    for left in (1..5).rev() {
        try_pin(&c, "st-dev", "9999").await;
        wait_text(&c, "[data-test='banner']", &format!("{left} more tries")).await;
    }
    try_pin(&c, "st-dev", "9999").await;
    wait_text(&c, "[data-test='banner']", "locked").await;
    sign_in(&c, "st-claire").await;
    click(&c, "[data-test='open-staff']").await;
    wait_text(&c, "[data-test='staff-row-st-dev']", "Locked").await;
    shot(&c, "14-staff-and-pins.png").await;
    click(&c, "[data-test='reset-st-dev']").await;
    set_new_pin(&c, "4826").await;
    wait_text(&c, "[data-test='banner']", "New PIN set for Dev Shah").await;
    let row = wait_text(&c, "[data-test='staff-row-st-dev']", "Reset by Claire").await;
    assert!(row.contains("Set"), "{row}");
    click(&c, "[data-test='staff-back']").await;
    click(&c, "[data-test='sign-out']").await;
    sign_in_with(&c, "st-dev", "4826").await;

    // The manager adds a new carer, who chooses her PIN and signs in; when she leaves, her
    // name goes from the sign-in screen (S19).
    click(&c, "[data-test='sign-out']").await;
    sign_in(&c, "st-claire").await;
    click(&c, "[data-test='open-staff']").await;
    click(&c, "[data-test='add-staff']").await;
    type_into(&c, "staff-name", "Priya Nair").await;
    type_into(&c, "staff-initials", "PN").await;
    shot(&c, "15-new-member-of-staff.png").await;
    click(&c, "[data-test='staff-save']").await;
    wait_text(
        &c,
        "[data-test='banner']",
        "Priya Nair added as care worker",
    )
    .await;
    wait_text(&c, "[data-test='pin-form']", "New PIN for Priya Nair").await;
    set_new_pin(&c, "5937").await;
    wait_text(&c, "[data-test='banner']", "New PIN set for Priya Nair").await;
    let mut priya = None;
    for row in c
        .find_all(Locator::Css("[data-test^='staff-row-']"))
        .await
        .unwrap()
    {
        if row.text().await.unwrap().contains("Priya Nair") {
            priya = row.attr("data-test").await.unwrap();
        }
    }
    let priya = priya
        .expect("Priya's row")
        .trim_start_matches("staff-row-")
        .to_string();
    click(&c, "[data-test='staff-back']").await;
    click(&c, "[data-test='sign-out']").await;
    sign_in_with(&c, &priya, "5937").await;
    wait_text(&c, "[data-test='round-screen']", "Priya Nair").await;
    click(&c, "[data-test='sign-out']").await;
    sign_in(&c, "st-claire").await;
    click(&c, "[data-test='open-staff']").await;
    click(&c, &format!("[data-test='left-{priya}']")).await;
    click(&c, "[data-test='leaver-confirm']").await;
    wait_text(&c, "[data-test='banner']", "Priya Nair has left").await;
    click(&c, "[data-test='staff-back']").await;
    click(&c, "[data-test='sign-out']").await;
    wait(&c, "[data-test='staff-st-amy']").await;
    assert!(
        c.find(Locator::Css(&format!("[data-test='staff-{priya}']")))
            .await
            .is_err(),
        "a leaver is still offered on the sign-in screen"
    );

    // A resident goes to hospital and comes back: a senior records both, and the doses stay
    // locked until the medicines are reconciled (S15).
    sign_in(&c, "st-claire").await;
    open(&c, "res-02").await;
    click(&c, "[data-test='presence-hospital']").await;
    wait_text(&c, "[data-test='presence']", "gone to hospital now?").await;
    shot(&c, "16-resident-gone-to-hospital.png").await;
    click(&c, "[data-test='presence-confirm']").await;
    wait_text(&c, "[data-test='banner']", "in hospital from").await;
    back(&c).await;
    wait_text(&c, "[data-test='resident-res-02']", "In hospital").await;
    open(&c, "res-02").await;
    click(&c, "[data-test='presence-back']").await;
    click(&c, "[data-test='presence-confirm']").await;
    wait_text(&c, "[data-test='banner']", "stay locked").await;
    click(&c, "[data-test='reconcile']").await;
    wait_text(&c, "[data-test='banner']", "reconciled").await;

    // The manager admits a resident. Every mistake shows at once and nothing is saved; put
    // right, she is on the round with her allergy checked at every dose (S1, S6). A move to
    // the other unit keeps her chart.
    back(&c).await;
    click(&c, "[data-test='admit-resident']").await;
    for (field, text) in [
        ("given-name", "Łucja"),
        ("family-name", "Wiśniewska"),
        ("dob-day", "12"),
        ("dob-month", "4"),
        ("dob-year", "1938"),
        ("nhs-number", "943 476 5918"),
        ("room", "14"),
    ] {
        type_into(&c, field, text).await;
    }
    click(&c, "[data-test='resident-save']").await;
    wait_text(&c, "[data-test='banner']", "2 things to put right").await;
    wait(&c, "[data-test='finding-NhsNumberInvalid']").await;
    wait(&c, "[data-test='finding-AllergyStatusNeeded']").await;
    shot(&c, "17-admit-a-resident.png").await;
    let nhs = wait(&c, "[data-test='nhs-number']").await;
    nhs.clear().await.unwrap();
    nhs.send_keys("943 476 5919").await.unwrap();
    click(&c, "[data-test='add-allergy']").await;
    type_into(&c, "allergy-substance", "Penicillin").await;
    type_into(&c, "allergy-reaction", "rash").await;
    click(&c, "[data-test='resident-save']").await;
    wait_text(
        &c,
        "[data-test='banner']",
        "Łucja Wiśniewska admitted to Rowan",
    )
    .await;
    wait_text(&c, "[data-test='resident-name']", "Łucja Wiśniewska").await;
    wait_text(&c, ".allergy-box", "Penicillin (rash)").await;
    wait_text(&c, "[data-test='nhs']", "943 476 5919").await;
    click(&c, "[data-test='change-details']").await;
    click(&c, "select[data-test='unit'] option[value='willow']").await;
    click(&c, "[data-test='resident-save']").await;
    wait_text(&c, "[data-test='banner']", "is now in Willow").await;
    wait_text(&c, "[data-test='unit']", "Willow").await;

    // Her medicine is written up by hand from the discharge letter; it can be given once the
    // manager and a second trained person have checked it against the letter (S16).
    click(&c, "[data-test='write-up-order']").await;
    for (field, text) in [
        ("med-name", "Furosemide"),
        ("med-strength", "40mg"),
        ("med-form", "tablets"),
        ("med-ingredients", "furosemide"),
        ("dose", "1"),
        ("instructions", "At midday."),
        ("prescriber", "Dr A Patel, Royal Infirmary"),
        ("course-days", "7"),
    ] {
        type_into(&c, field, text).await;
    }
    click(&c, "[data-test='time-1200']").await;
    // The shot shows the medicine and its dose, at the top of the form.
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    shot(&c, "18-order-written-up-by-hand.png").await;
    click(&c, "[data-test='order-save']").await;
    wait_text(
        &c,
        "[data-test='banner']",
        "Furosemide 40mg tablets written up for Łucja Wiśniewska",
    )
    .await;
    click(&c, "[data-test^='check-in-']").await;
    click(&c, "select[data-test='second-who'] option[value='st-ben']").await;
    type_into(&c, "second-pin", medround_tests::pin("st-ben")).await;
    click(&c, "[data-test='second-confirm']").await;
    wait_text(&c, "[data-test='banner']", "Order checked in").await;
    row_button(&c, "Furosemide").await;

    // Flucloxacillin for a penicillin allergy: the class is said as it is written up (S6).
    click(&c, "[data-test='write-up-order']").await;
    for (field, text) in [
        ("med-name", "Flucloxacillin"),
        ("med-strength", "500mg"),
        ("med-form", "capsules"),
        ("med-ingredients", "flucloxacillin 500mg"),
        ("dose", "1"),
        ("prescriber", "Dr A Patel, Royal Infirmary"),
        ("course-days", "7"),
    ] {
        type_into(&c, field, text).await;
    }
    let unit = wait(&c, "[data-test='dose-unit']").await;
    unit.clear().await.unwrap();
    unit.send_keys("capsule").await.unwrap();
    click(&c, "[data-test='time-0800']").await;
    click(&c, "[data-test='order-save']").await;
    wait_text(
        &c,
        "[data-test='banner']",
        "flucloxacillin is one of the penicillins",
    )
    .await;
    wait(&c, "[data-test^='check-in-']").await;
    // The shot shows the message, at the top of the chart.
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    shot(&c, "19-allergy-class-at-write-up.png").await;
    back(&c).await;
    wait_text(
        &c,
        "[aria-label='Willow (first floor)']",
        "Łucja Wiśniewska",
    )
    .await;

    // Discharged, she leaves the round and is listed apart; her chart stays (S15).
    click(&c, "[aria-label^='Łucja Wiśniewska, room']").await;
    click(&c, "[data-test='presence-discharged']").await;
    wait_text(
        &c,
        "[data-test='presence']",
        "discharged from the home now?",
    )
    .await;
    click(&c, "[data-test='presence-confirm']").await;
    wait_text(&c, "[data-test='banner']", "has left the home").await;
    back(&c).await;
    wait_text(&c, "[data-test='left-home']", "Left the home (1)").await;
    assert!(
        !wait(&c, "[aria-label='Willow (first floor)']")
            .await
            .text()
            .await
            .unwrap()
            .contains("Łucja Wiśniewska"),
        "a discharged resident is still on the round"
    );
    end(c, driver).await;
}
