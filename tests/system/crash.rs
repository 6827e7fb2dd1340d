//! Pull the power mid-write: a child process records as fast as it can and is killed with
//! SIGKILL at varied moments. Every record it acknowledged must be there afterwards, with its
//! companion record from the same write, and the database must pass its integrity check.

use medround_store::{Key, Store};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn killed_mid_write_loses_nothing_acknowledged_and_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/medround.db");
    let key = dir.path().join("keys/medround.key");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let exe = env!("CARGO_BIN_EXE_medround-crash-writer");
    let mut acked: Vec<String> = Vec::new();
    let rounds = 12;
    for round in 0..rounds {
        let mut child = Command::new(exe)
            .args([
                db.to_str().unwrap(),
                key.to_str().unwrap(),
                &format!("r{round}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start crash writer");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Let it write for a varying number of acknowledgements, then kill it without warning.
        let target = 5 + (round * 37) % 60;
        let started = Instant::now();
        let mut n = 0;
        while n < target && started.elapsed() < Duration::from_secs(30) {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(id) = l.strip_prefix("ACK ") {
                        acked.push(id.to_string());
                        n += 1;
                    }
                }
                _ => break,
            }
        }
        child.kill().expect("SIGKILL");
        // Anything acknowledged between our last read and the kill counts too.
        for l in lines.map_while(Result::ok) {
            if let Some(id) = l.strip_prefix("ACK ") {
                acked.push(id.to_string());
            }
        }
        child.wait().unwrap();
        assert!(n > 0, "round {round}: the writer acknowledged nothing");
    }

    let store =
        Store::open(&db, &Key::load_or_create(&key).unwrap()).expect("reopen after crashes");
    let check: String = store
        .connection()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let ids: std::collections::HashSet<String> = {
        let mut st = store
            .connection()
            .prepare("SELECT id FROM p_records")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    for id in &acked {
        assert!(ids.contains(id), "acknowledged record {id} was lost");
        assert!(
            ids.contains(&format!("{id}-stock")),
            "record {id} lost its companion: half-written"
        );
    }
    // Every administration present has its companion, acknowledged or not.
    for id in ids.iter().filter(|i| !i.ends_with("-stock")) {
        assert!(ids.contains(&format!("{id}-stock")), "{id} is half-written");
    }
    // The documents agree with the projections: rebuilding changes nothing.
    let before = ids.len();
    let mut store = store;
    store.rebuild_projections().unwrap();
    assert_eq!(store.record_count().unwrap() as usize, before);
    assert!(
        store
            .items_for(&medround_domain::ResidentId::new("res-01"), None)
            .unwrap()
            .len()
            >= acked.len()
    );
    eprintln!(
        "crash test: {} acknowledged records over {rounds} kills, all present",
        acked.len()
    );
}
