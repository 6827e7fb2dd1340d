//! Sync figures: one tablet's day for a 60-resident home (about 2,000 records) synced to a real
//! `medround-server` on loopback, with the time, the round trips and the bytes on the wire
//! beside the gzip size of the same records as JSON (the baseline, measured in the same run).

use chrono::{DateTime, Duration, Utc};
use flate2::write::GzEncoder;
use medround_demo::HomeSpec;
use medround_store::Item;
use medround_tests::central::CentralServer;
use medround_tests::Tablet;
use std::io::Write;
use std::time::Instant;

/// Doses in a day's round for the generated home: each writes an administration and a stock
/// movement, so about 2,000 records.
const DOSES: usize = 1_000;

fn main() {
    let now: DateTime<Utc> = "2026-11-23T05:00:00Z".parse().unwrap();
    println!("Medround sync benchmark (one tablet's day, 60 residents, server on loopback)");
    let dir = tempfile::tempdir().unwrap();
    let server = CentralServer::start(dir.path());
    let mut t = Tablet::empty(now);
    let spec = HomeSpec {
        name: "Bench Home".into(),
        residents: 60,
        history_days: 1,
        seed: 11,
        now,
    };
    medround_demo::build(t.bedside.store_mut(), &spec).unwrap();
    let code = server.home_with_code("bench", "Bench Home");
    t.bedside.set_idle_lock_minutes(10_000_000).unwrap();
    t.bedside
        .sign_in("st-claire", medround_tests::pin("st-claire"))
        .unwrap();
    medround_link::enrol(&mut t.bedside, &server.url(), &code, "Bench tablet").unwrap();
    let start = Instant::now();
    let first = medround_link::sync(&mut t.bedside, &mut |_| {}).unwrap();
    println!(
        "first upload of the home            {:7.1} ms  {} round trips  {} KB sent",
        start.elapsed().as_secs_f64() * 1000.0,
        first.round_trips,
        first.bytes_sent / 1024
    );
    t.bedside
        .sign_in("st-amy", medround_tests::pin("st-amy"))
        .unwrap();
    let before = t.bedside.store().record_count().unwrap();
    medround_tests::record_round(&mut t.bedside, &t.clock, now, DOSES);
    let records = t.bedside.store().record_count().unwrap() - before;

    // The baseline: the same records as JSON, gzipped.
    let mut json = Vec::new();
    for r in t.bedside.store().residents().unwrap() {
        for it in t
            .bedside
            .store()
            .items_for(&r.id, Some(now - Duration::minutes(61)))
            .unwrap()
        {
            if matches!(it, Item::Administration(_) | Item::StockMovement(_)) {
                serde_json::to_writer(&mut json, &it).unwrap();
                json.push(b'\n');
            }
        }
    }
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json).unwrap();
    let gz = gz.finish().unwrap();

    let start = Instant::now();
    let day = medround_link::sync(&mut t.bedside, &mut |_| {}).unwrap();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let wire = day.bytes_sent + day.bytes_received;
    println!("records recorded in the day         {records}");
    println!("day synced to the server            {ms:7.1} ms  (target <= 1000 ms)");
    println!("round trips                         {}", day.round_trips);
    println!(
        "bytes on the wire                   {} KB ({} KB up, {} KB down)",
        wire / 1024,
        day.bytes_sent / 1024,
        day.bytes_received / 1024
    );
    println!(
        "same records as JSON                {} KB, gzipped {} KB",
        json.len() / 1024,
        gz.len() / 1024
    );
    println!(
        "ratio wire / gzip JSON              {:5.2}x",
        wire as f64 / gz.len() as f64
    );
    let again = medround_link::sync(&mut t.bedside, &mut |_| {}).unwrap();
    println!(
        "next sync with nothing new          {} round trip(s), {} bytes",
        again.round_trips,
        again.bytes_sent + again.bytes_received
    );
}
