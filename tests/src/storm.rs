//! The overnight storm, for the sync benchmark: 200 tablets (one per home, each with its day's
//! records waiting) sync at once with one `medround-server` process on loopback. Prints the
//! total time and the server's peak memory (its `VmHWM`, read from /proc), measured over the
//! storm alone: the server is restarted after the homes are set up.

use crate::Tablet;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TABLETS: usize = 200;
/// Doses each tablet records in its day: 80 records, as many as before a dose stopped writing
/// a stock movement beside it.
const DOSES: usize = 80;
const TOKEN: &str = "bench-admin-token";

/// The `medround-server` binary beside the running benchmark (`scripts/bench` builds it).
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("medround-server");
    assert!(
        bin.exists(),
        "build the server first: cargo build --release -p medround-server ({})",
        bin.display()
    );
    bin
}

struct ServerProcess {
    child: Child,
    url: String,
    port: u16,
}

impl ServerProcess {
    /// Starts the server on `db`, on `port` (0: any free one).
    fn start(db: &Path, port: u16) -> ServerProcess {
        let port = match port {
            0 => std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port(),
            p => p,
        };
        let child = Command::new(server_binary())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
            ])
            .arg(db)
            .env("MEDROUND_ADMIN_TOKEN", TOKEN)
            // A line per request would bury the figures the storm prints.
            .env("MEDROUND_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start medround-server");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ServerProcess { child, url, port }
    }

    /// Peak resident memory so far, in KB.
    fn peak_kb(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn admin(&self, path: &str, body: &str) -> String {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(true)
            .build()
            .into();
        agent
            .post(format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .content_type("application/json")
            .send(body)
            .expect("admin request")
            .body_mut()
            .read_to_string()
            .expect("admin answer")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn two_hundred_nights() {
    let now: DateTime<Utc> = "2026-11-23T05:00:00Z".parse().expect("time");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("central.db");
    let server = ServerProcess::start(&db, 0);
    let started = Instant::now();
    let mut tablets = Vec::with_capacity(TABLETS);
    for i in 0..TABLETS {
        let home = format!("home-{i:03}");
        server.admin(
            "/admin/v1/homes",
            &format!(r#"{{"id": "{home}", "name": "Home {i}"}}"#),
        );
        let code: serde_json::Value = serde_json::from_str(
            &server.admin(&format!("/admin/v1/homes/{home}/enrolment-codes"), ""),
        )
        .expect("code");
        let mut t = Tablet::empty(now);
        let spec = medround_demo::HomeSpec {
            name: format!("Home {i}"),
            residents: 6,
            history_days: 1,
            seed: i as u64,
            now,
        };
        medround_demo::build(t.bedside.store_mut(), &spec).expect("build home");
        t.bedside.set_idle_lock_minutes(10_000_000).expect("idle");
        t.bedside
            .sign_in("st-claire", crate::pin("st-claire"))
            .expect("manager");
        medround_link::enrol(
            &mut t.bedside,
            &server.url,
            code["code"].as_str().expect("code"),
            "Night tablet",
        )
        .expect("enrol");
        medround_link::sync(&mut t.bedside, &mut |_| {}).expect("first upload");
        t.bedside
            .sign_in("st-amy", crate::pin("st-amy"))
            .expect("carer");
        let heads = crate::checks::heads(&mut t);
        crate::record_round(&mut t.bedside, &t.clock, now, DOSES);
        tablets.push((t, heads));
    }
    eprintln!(
        "  set up {TABLETS} homes with a tablet each, their days recorded, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The storm alone: a fresh server process on the same records and the same address.
    let port = server.port;
    drop(server);
    let server = ServerProcess::start(&db, port);
    let idle_kb = server.peak_kb();
    let waiting: u64 = tablets
        .iter()
        .map(|(t, _)| t.bedside.sync_status().expect("status").waiting)
        .sum();
    let started = Instant::now();
    let handles: Vec<_> = tablets
        .into_iter()
        .map(|(mut t, heads)| {
            std::thread::spawn(move || {
                let s = medround_link::sync(&mut t.bedside, &mut |_| {}).expect("night sync");
                (s.bytes_sent + s.bytes_received, s.round_trips, t, heads)
            })
        })
        .collect();
    let (mut bytes, mut trips) = (0u64, 0u64);
    let mut done = Vec::new();
    for h in handles {
        let (b, r, t, heads) = h.join().expect("tablet thread");
        bytes += b;
        trips += u64::from(r);
        done.push((t, heads));
    }
    let secs = started.elapsed().as_secs_f64();
    // The central record's checks of every night's changes, timed one after another on one
    // core: a share of the storm's time on two that overstates it, if anything.
    let (mut check, mut changes) = (Duration::ZERO, 0);
    for (t, heads) in &mut done {
        let (spent, n) = crate::checks::check_time(t, heads);
        check += spent;
        changes += n;
    }
    println!("200 tablets' nights at once (one server process, SQLite)");
    println!("  changes waiting, all tablets      {waiting}");
    println!("  total time                        {secs:7.2} s");
    println!(
        "  checks of the nights' changes     {:7.2} s  ({changes} changes; {:.1}% of the \
         storm; target <= 20%)",
        check.as_secs_f64(),
        100.0 * check.as_secs_f64() / secs
    );
    println!(
        "  round trips, bytes                {trips}, {} KB",
        bytes / 1024
    );
    println!(
        "  server peak memory                {} MB (idle after start {} MB)",
        server.peak_kb() / 1024,
        idle_kb / 1024
    );
    let share = check.as_secs_f64() / secs;
    crate::figures::row(
        "200 tablets' nights at once, one server process on SQLite",
        &format!(
            "{secs:.2} s, peak {} MB ({changes} changes, {trips} round trips)",
            server.peak_kb() / 1024
        ),
        "reported",
    );
    crate::figures::row(
        "The checks of those nights' changes, on one core, beside the storm's time",
        &format!("{:.2} s, {:.1}%", check.as_secs_f64(), 100.0 * share),
        &crate::figures::against("<= 20%", share <= 0.2),
    );
}
