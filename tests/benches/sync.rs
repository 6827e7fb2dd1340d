//! Sync figures, against a real `medround-server` on loopback:
//! - one tablet's day for a 60-resident home (about 2,000 records): the time, the round trips
//!   and the bytes on the wire, beside the gzip size of the same records as JSON (the baseline,
//!   measured in the same run); target <= 1 s;
//! - the same day synced on day 1 and on day 365 of history, as a ratio (target <= 1.2);
//! - 200 tablets' nights arriving at once at one server process: total time and the server's
//!   peak memory.

use chrono::{DateTime, Duration, Utc};
use flate2::write::GzEncoder;
use medround_demo::HomeSpec;
use medround_store::Item;
use medround_tests::central::CentralServer;
use medround_tests::Tablet;
use std::io::Write;
use std::time::Instant;

/// Doses in a tablet's day for the generated home, about 2,000 records: a dose is one record
/// (it carries its own stock, S14).
const DOSES: usize = 2_000;

struct Day {
    ms: f64,
    round_trips: u32,
    wire: u64,
    up: u64,
    down: u64,
    records: i64,
    json: usize,
    gzip: usize,
    again_trips: u32,
    again_bytes: u64,
    /// The next day's doses synced to a central record just restarted, so that every
    /// document is read from its storage rather than found loaded.
    cold_ms: f64,
    /// The central record's checks of the day's changes, timed on the same changes.
    check_ms: f64,
    changes: usize,
}

/// A tablet with `history_days` of history, enrolled with its own central record and synced.
struct Bench {
    _dir: tempfile::TempDir,
    server: Option<CentralServer>,
    t: Tablet,
    next: DateTime<Utc>,
    days_ms: Vec<f64>,
    first: Option<Day>,
}

fn prepare(history_days: i64) -> Bench {
    let now: DateTime<Utc> = "2026-11-23T05:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = CentralServer::start(dir.path());
    let mut t = Tablet::empty(now);
    let spec = HomeSpec {
        name: "Bench Home".into(),
        residents: 60,
        history_days,
        seed: 11,
        now,
    };
    let started = Instant::now();
    medround_demo::build(t.bedside.store_mut(), &spec).unwrap();
    eprintln!(
        "  built a 60-resident home with {history_days} days of history in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let code = server.home_with_code("bench", "Bench Home");
    t.bedside.set_idle_lock_minutes(10_000_000).unwrap();
    t.bedside
        .sign_in("st-claire", medround_tests::pin("st-claire"))
        .unwrap();
    medround_link::enrol(&mut t.bedside, &server.url(), &code, "Bench tablet").unwrap();
    let started = Instant::now();
    let first = medround_link::sync(&mut t.bedside, &mut |_| {}).unwrap();
    eprintln!(
        "  first upload of the home: {:.1} s, {} round trips, {} KB sent",
        started.elapsed().as_secs_f64(),
        first.round_trips,
        first.bytes_sent / 1024
    );
    t.bedside
        .sign_in("st-amy", medround_tests::pin("st-amy"))
        .unwrap();
    Bench {
        _dir: dir,
        server: Some(server),
        t,
        next: now,
        days_ms: Vec::new(),
        first: None,
    }
}

impl Bench {
    /// A day's doses recorded, then synced; the first day's figures are kept whole.
    fn day(&mut self) {
        let heads = self
            .first
            .is_none()
            .then(|| medround_tests::checks::heads(&mut self.t));
        let t = &mut self.t;
        let before = t.bedside.store().record_count().unwrap();
        medround_tests::record_round(&mut t.bedside, &t.clock, self.next, DOSES);
        let records = t.bedside.store().record_count().unwrap() - before;
        let since = self.next - Duration::minutes(61);
        self.next = t.bedside.now() + Duration::minutes(1);
        let started = Instant::now();
        let day = medround_link::sync(&mut t.bedside, &mut |_| {}).unwrap();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        self.days_ms.push(ms);
        if self.first.is_some() {
            return;
        }
        // The baseline: the same records as JSON, gzipped.
        let mut json = Vec::new();
        for r in t.bedside.store().residents().unwrap() {
            for it in t.bedside.store().items_for(&r.id, Some(since)).unwrap() {
                if matches!(it, Item::Administration(_) | Item::StockMovement(_)) {
                    serde_json::to_writer(&mut json, &it).unwrap();
                    json.push(b'\n');
                }
            }
        }
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&json).unwrap();
        let gz = gz.finish().unwrap();
        let (check, changes) =
            medround_tests::checks::check_time(t, heads.as_ref().expect("taken on the first day"));
        let again = medround_link::sync(&mut t.bedside, &mut |_| {}).unwrap();
        self.first = Some(Day {
            ms,
            round_trips: day.round_trips,
            wire: day.bytes_sent + day.bytes_received,
            up: day.bytes_sent,
            down: day.bytes_received,
            records,
            json: json.len(),
            gzip: gz.len(),
            again_trips: again.round_trips,
            again_bytes: again.bytes_sent + again.bytes_received,
            cold_ms: 0.0,
            check_ms: check.as_secs_f64() * 1000.0,
            changes,
        });
    }

    /// The next day's doses synced to the central record just restarted.
    fn cold_day(&mut self) -> f64 {
        let t = &mut self.t;
        medround_tests::record_round(&mut t.bedside, &t.clock, self.next, DOSES);
        self.next = t.bedside.now() + Duration::minutes(1);
        let server = self.server.take().expect("server").restart();
        let started = Instant::now();
        medround_link::sync(&mut t.bedside, &mut |_| {}).unwrap();
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        self.server = Some(server);
        ms
    }

    /// The figures, with the day's sync time the median of the days measured.
    fn figures(&mut self) -> Day {
        let cold_ms = self.cold_day();
        let mut ms = self.days_ms.clone();
        ms.sort_by(|a, b| a.total_cmp(b));
        let mut d = self.first.take().expect("a day measured");
        d.ms = ms[ms.len() / 2];
        d.cold_ms = cold_ms;
        d
    }
}

fn print_day(label: &str, d: &Day) {
    println!("{label}");
    println!("  records recorded in the day       {}", d.records);
    println!(
        "  day synced to the server          {:7.1} ms  (median of 3 days; target <= 1000 ms)",
        d.ms
    );
    println!(
        "  checks of the day's changes       {:7.1} ms  ({} changes; {:.1}% of the day's \
         sync; target <= 20%)",
        d.check_ms,
        d.changes,
        100.0 * d.check_ms / d.ms
    );
    println!("  round trips                       {}", d.round_trips);
    println!(
        "  bytes on the wire                 {} KB ({} KB up, {} KB down)",
        d.wire / 1024,
        d.up / 1024,
        d.down / 1024
    );
    println!(
        "  same records as JSON              {} KB, gzipped {} KB",
        d.json / 1024,
        d.gzip / 1024
    );
    println!(
        "  ratio wire / gzip JSON            {:5.2}x",
        d.wire as f64 / d.gzip as f64
    );
    println!(
        "  next sync with nothing new        {} round trip(s), {} bytes",
        d.again_trips, d.again_bytes
    );
    println!(
        "  next day, central record restarted {:6.1} ms (every document read from storage)",
        d.cold_ms
    );
}

/// Days synced at each level of history, in turns across the levels so that the machine's
/// drift falls on all of them alike; the median is reported.
const DAYS_MEASURED: usize = 3;

fn main() {
    println!("Medround sync benchmark (one tablet's day, 60 residents, server on loopback)");
    let mut levels = [prepare(1), prepare(28), prepare(365)];
    for _ in 0..DAYS_MEASURED {
        for l in levels.iter_mut() {
            l.day();
        }
    }
    let [mut l1, mut l28, mut l365] = levels;
    let day1 = l1.figures();
    drop(l1);
    print_day("day 1 of history", &day1);
    let day28 = l28.figures();
    drop(l28);
    print_day("day 28 of history (a full 28-day cycle behind)", &day28);
    let day365 = l365.figures();
    drop(l365);
    print_day("day 365 of history", &day365);
    println!(
        "ratio day 365 / day 1, day's sync time  {:5.2}x (target <= 1.2x)",
        day365.ms / day1.ms
    );
    // On day 1 a cycle document is small and the day's changes are more than a third of it, so
    // Automerge sends the whole (compressed) document instead of the changes; from then on it
    // sends changes, and documents never grow past a cycle.
    println!(
        "ratio day 365 / day 28, day's sync time {:5.2}x",
        day365.ms / day28.ms
    );
    println!(
        "ratio day 365 / day 1, next day after a restart {:5.2}x",
        day365.cold_ms / day1.cold_ms
    );
    use medround_tests::figures::{against, row};
    let worst = [&day1, &day28, &day365]
        .iter()
        .map(|d| d.ms)
        .fold(0.0, f64::max);
    row(
        "A tablet's day synced on loopback, day 1 / 28 / 365, median of 3",
        &format!(
            "{:.1} / {:.1} / {:.1} ms ({} records, {} round trips)",
            day1.ms, day28.ms, day365.ms, day365.records, day365.round_trips
        ),
        &against("<= 1 s", worst <= 1000.0),
    );
    let ratio = day365.ms / day1.ms;
    row(
        "The same day, day 365 / day 1 (day 365 / day 28)",
        &format!("{ratio:.2}x ({:.2}x)", day365.ms / day28.ms),
        &against("<= 1.2x", ratio <= 1.2),
    );
    let share = [&day1, &day28, &day365]
        .iter()
        .map(|d| d.check_ms / d.ms)
        .fold(0.0, f64::max);
    row(
        "The central record's checks of the day's changes, share of the day's sync, day 1 / 28 / 365",
        &format!(
            "{:.1}% / {:.1}% / {:.1}%",
            100.0 * day1.check_ms / day1.ms,
            100.0 * day28.check_ms / day28.ms,
            100.0 * day365.check_ms / day365.ms
        ),
        &against("<= 20%", share <= 0.2),
    );
    row(
        "The next day, synced to a central record just restarted, day 1 / 28 / 365",
        &format!(
            "{:.0} / {:.0} / {:.0} ms",
            day1.cold_ms, day28.cold_ms, day365.cold_ms
        ),
        "reported",
    );
    row(
        "Bytes on the wire for the day, against gzipped JSON of the same records, day 1 / 365",
        &format!(
            "{} KB ({:.1}x) / {} KB ({:.1}x)",
            day1.wire / 1024,
            day1.wire as f64 / day1.gzip as f64,
            day365.wire / 1024,
            day365.wire as f64 / day365.gzip as f64
        ),
        "reported",
    );
    row(
        "A reconnect with nothing new",
        &format!(
            "{} round trip(s), {} bytes",
            day365.again_trips, day365.again_bytes
        ),
        "reported",
    );
    medround_tests::storm::two_hundred_nights();
}
