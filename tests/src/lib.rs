//! Shared helpers for the whole-system tests and benchmarks: temporary tablets on a fake clock.

use chrono::{DateTime, Utc};
use medround_bedside::{Bedside, FakeClock};
use std::path::PathBuf;

/// A tablet with its own data directory, key directory and clock.
#[derive(Debug)]
pub struct Tablet {
    pub bedside: Bedside,
    pub clock: FakeClock,
    pub dir: tempfile::TempDir,
}

impl Tablet {
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/medround.db")
    }
    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("keys/medround.key")
    }

    /// An empty tablet.
    pub fn empty(now: DateTime<Utc>) -> Tablet {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = FakeClock::at(now);
        let bedside = Bedside::open(
            &dir.path().join("data/medround.db"),
            &dir.path().join("keys/medround.key"),
            Box::new(clock.clone()),
        )
        .expect("open tablet");
        Tablet {
            bedside,
            clock,
            dir,
        }
    }

    /// A tablet holding the Larch House demo home, built at `now`.
    pub fn demo(now: DateTime<Utc>) -> Tablet {
        let mut t = Tablet::empty(now);
        t.bedside.seed_demo_if_empty().expect("seed demo");
        t
    }

    /// Closes the app and opens it again on the same files (the clock carries on).
    pub fn restart(self) -> Tablet {
        let Tablet {
            bedside,
            clock,
            dir,
        } = self;
        drop(bedside);
        let bedside = Bedside::open(
            &dir.path().join("data/medround.db"),
            &dir.path().join("keys/medround.key"),
            Box::new(clock.clone()),
        )
        .expect("reopen tablet");
        Tablet {
            bedside,
            clock,
            dir,
        }
    }
}

/// Monday 23 November 2026, 07:55 in London (GMT): the morning round is about to start.
pub fn monday_morning() -> DateTime<Utc> {
    "2026-11-23T07:55:00Z".parse().expect("valid time")
}

/// The PIN of a demo staff member.
pub fn pin(staff: &str) -> &'static str {
    medround_demo::DEMO_STAFF
        .iter()
        .find(|s| s.0 == staff)
        .map(|s| s.4)
        .expect("demo staff")
}
