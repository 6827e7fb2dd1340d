//! Performance figures for the bedside, each beside a baseline measured in the same run.
//!
//! - Recording a dose end to end (context from the store, rules, document change, durable
//!   commit, projection): median and p99 over 1,000 records, against a bare durable insert into
//!   an SQLCipher database with the same settings. Targets: p99 <= 5 ms and <= 1.5x the insert.
//! - The same on a home with 365 days of history, as a ratio to day 1 (target <= 1.2).
//! - The pages one commit writes, for a dose and for the bare insert: what the ratio is made of.
//! - Building the round screen's data for a 60-resident home with 365 days of history (<= 10 ms).
//! - The manager's review of 28 days of that home (<= 50 ms), beside reading the month's facts.
//! - The MAR PDF of one resident (<= 200 ms) and of a 30-resident unit (<= 3 s).

use chrono::{DateTime, Utc};
use medround_bedside::{Bedside, FakeClock};
use medround_demo::HomeSpec;
use medround_store::Key;
use std::path::Path;
use std::time::Instant;

struct Stats {
    median: f64,
    p99: f64,
    mean: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        median: at(0.5),
        p99: at(0.99),
        mean: ms.iter().sum::<f64>() / ms.len() as f64,
    }
}

/// A bare durable insert into an SQLCipher database with the same settings as the store's.
struct Bare {
    dir: tempfile::TempDir,
    conn: rusqlite::Connection,
    payload: String,
    done: usize,
}

impl Bare {
    fn open() -> Bare {
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("bare.db")).unwrap();
        conn.pragma_update(None, "key", format!("x'{}'", Key::generate().to_hex()))
            .unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, json TEXT NOT NULL)")
            .unwrap();
        Bare {
            dir,
            conn,
            payload: "x".repeat(900), // about the size of one administration record as JSON
            done: 0,
        }
    }

    fn insert(&mut self, n: usize) -> Vec<f64> {
        let mut ms = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            self.conn
                .execute(
                    "INSERT INTO t (id, json) VALUES (?1, ?2)",
                    rusqlite::params![format!("id-{}", self.done), self.payload],
                )
                .unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            self.done += 1;
        }
        ms
    }
}

fn home(days: i64, now: DateTime<Utc>) -> (tempfile::TempDir, Bedside, FakeClock) {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::at(now);
    let mut b = Bedside::open(
        &dir.path().join("data/db"),
        &dir.path().join("keys/key"),
        Box::new(clock.clone()),
    )
    .unwrap();
    let spec = HomeSpec {
        name: "Bench Home".into(),
        residents: 60,
        history_days: days,
        seed: 11,
        now,
    };
    let t = Instant::now();
    medround_demo::build(b.store_mut(), &spec).unwrap();
    eprintln!(
        "  built a 60-resident home with {days} days of history in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // As the app does when it starts (its first close_windows): housekeeping done and today's
    // cycle documents loaded.
    b.store_mut().compact_pending().unwrap();
    b.store_mut().warm(now).unwrap();
    b.set_idle_lock_minutes(10_000_000).unwrap();
    b.sign_in("st-amy", medround_tests::pin("st-amy")).unwrap();
    (dir, b, clock)
}

/// Frames in the WAL since its last restart, from the WAL index's header (`mxFrame`: bytes
/// 16..20 of the `-shm` file, in the machine's byte order). One frame is one page written.
fn wal_frames(db: &Path) -> u32 {
    let mut shm = db.as_os_str().to_owned();
    shm.push("-shm");
    let bytes = std::fs::read(shm).unwrap();
    u32::from_ne_bytes(bytes[16..20].try_into().unwrap())
}

/// The median number of pages one commit writes, over `n` commits made by `commit`. A sample
/// across a WAL restart (after a checkpoint) is left out.
fn pages_per_commit(db: &Path, n: usize, mut commit: impl FnMut()) -> u32 {
    let mut pages = Vec::new();
    for _ in 0..n {
        let before = wal_frames(db);
        commit();
        let after = wal_frames(db);
        if after > before {
            pages.push(after - before);
        }
    }
    pages.sort();
    pages[pages.len() / 2]
}

/// Records `n` doses as the round would, from `from` on, and returns their times.
fn record_doses(b: &mut Bedside, clock: &FakeClock, from: DateTime<Utc>, n: usize) -> Vec<f64> {
    medround_tests::record_round(b, clock, from, n)
}

fn main() {
    let n = 1000;
    let now: DateTime<Utc> = "2026-11-23T05:00:00Z".parse().unwrap();
    println!("Medround bedside benchmarks ({n} records each; times in ms)");

    // The bare insert, day 1 and day 365 are measured in turns, a hundred at a time, so that
    // the machine's drift (this one varies by a fifth from minute to minute) falls on all
    // three alike and the ratios compare like with like.
    let mut bare_db = Bare::open();
    let (_d1, mut day1, c1) = home(1, now);
    let (_d365, mut day365, c365) = home(365, now);
    let (mut bare_ms, mut r1_ms, mut r365_ms) = (Vec::new(), Vec::new(), Vec::new());
    let (mut from1, mut from365) = (now, now);
    for _ in 0..n / 100 {
        bare_ms.extend(bare_db.insert(100));
        r1_ms.extend(record_doses(&mut day1, &c1, from1, 100));
        from1 = day1.now() + chrono::Duration::seconds(1);
        r365_ms.extend(record_doses(&mut day365, &c365, from365, 100));
        from365 = day365.now() + chrono::Duration::seconds(1);
    }
    let (bare, r1, r365) = (stats(bare_ms), stats(r1_ms), stats(r365_ms));
    // What a commit writes, untimed: each page is encrypted and written to the WAL.
    let bare_pages = pages_per_commit(&bare_db.dir.path().join("bare.db"), 50, || {
        bare_db.insert(1);
    });
    let pages1 = pages_per_commit(&_d1.path().join("data/db"), 50, || {
        record_doses(&mut day1, &c1, from1, 1);
        from1 = day1.now() + chrono::Duration::seconds(1);
    });
    let pages365 = pages_per_commit(&_d365.path().join("data/db"), 50, || {
        record_doses(&mut day365, &c365, from365, 1);
        from365 = day365.now() + chrono::Duration::seconds(1);
    });
    drop(day1);
    println!(
        "bare durable SQLCipher insert      median {:6.3}  p99 {:6.3}  mean {:6.3}",
        bare.median, bare.p99, bare.mean
    );
    println!(
        "record a dose, day 1 of history     median {:6.3}  p99 {:6.3}  mean {:6.3}",
        r1.median, r1.p99, r1.mean
    );

    let t = Instant::now();
    let mut round_ms = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let v = day365.round_view().unwrap();
        round_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(v.units.iter().map(|u| u.residents.len()).sum::<usize>(), 60);
    }
    let _ = t;
    let round = stats(round_ms);

    // The manager's review of the last 28 days, beside reading the same month's dose facts
    // alone (the part that is the store's).
    let manager = day365
        .store()
        .staff_member("st-claire")
        .unwrap()
        .expect("demo manager");
    let (mut review_ms, mut read_ms) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = Instant::now();
        let v = day365.review_view(None, None, &manager).unwrap();
        review_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(v.by_resident.len(), 60);
        let t = Instant::now();
        let facts = day365
            .store()
            .dose_facts(
                now - chrono::Duration::days(29),
                now + chrono::Duration::days(1),
            )
            .unwrap();
        read_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(facts.len() > 10_000);
    }
    let (review, read) = (stats(review_ms), stats(read_ms));

    // The printed MAR: one resident, and a 30-resident unit, beside reading their records.
    let residents = day365.store().residents().unwrap();
    let one = residents[0].id.to_string();
    let unit = residents[0].unit.to_string();
    let in_unit = residents.iter().filter(|r| r.unit.as_str() == unit).count();
    let (mut mar_ms, mut mar_read_ms) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = Instant::now();
        let pdf = day365.mar_pdf(Some(&one), None, None).unwrap();
        mar_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(pdf.bytes.starts_with(b"%PDF"));
        let t = Instant::now();
        day365
            .store()
            .items_for(&residents[0].id, Some(now - chrono::Duration::days(29)))
            .unwrap();
        mar_read_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut unit_ms = Vec::new();
    let mut unit_pages = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let pdf = day365.mar_pdf(None, Some(&unit), None).unwrap();
        unit_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        unit_pages = pdf.pages;
    }
    let (mar, mar_read, unit_mar) = (stats(mar_ms), stats(mar_read_ms), stats(unit_ms));
    println!(
        "record a dose, day 365 of history   median {:6.3}  p99 {:6.3}  mean {:6.3}",
        r365.median, r365.p99, r365.mean
    );
    println!(
        "round screen, 60 residents, 365 d   median {:6.3}  p99 {:6.3}  (target <= 10 ms)",
        round.median, round.p99
    );
    println!(
        "review, 60 residents, 28 of 365 d   median {:6.3}  p99 {:6.3}  (target <= 50 ms)",
        review.median, review.p99
    );
    println!(
        "  reading the month's dose facts    median {:6.3}  p99 {:6.3}  (review / read {:.2}x)",
        read.median,
        read.p99,
        review.median / read.median
    );
    println!(
        "MAR PDF, one resident               median {:6.3}  p99 {:6.3}  (target <= 200 ms)",
        mar.median, mar.p99
    );
    println!(
        "  reading that resident's cycle     median {:6.3}  p99 {:6.3}  (PDF / read {:.2}x)",
        mar_read.median,
        mar_read.p99,
        mar.median / mar_read.median
    );
    println!(
        "MAR PDF, a {in_unit}-resident unit ({unit_pages} pages) median {:6.1}  max {:6.1}  (target <= 3000 ms)",
        unit_mar.median,
        unit_mar.p99
    );
    println!();
    println!(
        "ratio record p99 / bare insert p99        {:5.2}x (target <= 1.5x)",
        r1.p99 / bare.p99
    );
    println!(
        "ratio record median / bare insert median  {:5.2}x",
        r1.median / bare.median
    );
    println!(
        "record p99 (target <= 5 ms)               {:6.3} ms",
        r1.p99
    );
    println!(
        "ratio day 365 / day 1, record median      {:5.2}x (target <= 1.2x)",
        r365.median / r1.median
    );
    println!(
        "pages one commit writes, median of 50     bare insert {bare_pages}, dose day 1 {pages1}, day 365 {pages365}"
    );

    use medround_tests::figures::{against, row};
    row(
        "Record a dose, day 1, median (p99)",
        &format!(
            "{:.3} ms ({:.3} ms); bare durable SQLCipher insert {:.3} ms ({:.3} ms)",
            r1.median, r1.p99, bare.median, bare.p99
        ),
        &against("p99 <= 5 ms", r1.p99 <= 5.0),
    );
    row(
        "Record a dose, p99 / bare insert p99",
        &format!("{:.2}x", r1.p99 / bare.p99),
        &against("<= 1.5x", r1.p99 / bare.p99 <= 1.5),
    );
    row(
        "Record a dose, median / bare insert median",
        &format!("{:.2}x", r1.median / bare.median),
        "reported",
    );
    row(
        "Record a dose, median day 365 / day 1",
        &format!(
            "{:.2}x ({:.3} / {:.3} ms)",
            r365.median / r1.median,
            r365.median,
            r1.median
        ),
        &against("<= 1.2x", r365.median / r1.median <= 1.2),
    );
    row(
        "Pages one commit writes",
        &format!("dose {pages1} (day 365: {pages365}), bare insert {bare_pages}"),
        "reported",
    );
    row(
        "Round screen, 60 residents, a year of history, median (p99)",
        &format!("{:.2} ms ({:.2} ms)", round.median, round.p99),
        &against("<= 10 ms", round.median <= 10.0),
    );
    row(
        "The manager's review, 60 residents, 28 days of a year, median (p99 of 20)",
        &format!(
            "{:.1} ms ({:.1} ms); reading the month's dose facts alone {:.1} ms",
            review.median, review.p99, read.median
        ),
        &against("<= 50 ms at the median", review.median <= 50.0),
    );
    row(
        "The MAR PDF, one resident, median (p99)",
        &format!(
            "{:.1} ms ({:.1} ms); reading their cycle {:.1} ms",
            mar.median, mar.p99, mar_read.median
        ),
        &against("<= 200 ms", mar.median <= 200.0),
    );
    row(
        &format!("The MAR PDF, a {in_unit}-resident unit ({unit_pages} pages), median"),
        &format!("{:.0} ms", unit_mar.median),
        &against("<= 3 s", unit_mar.median <= 3000.0),
    );
}
