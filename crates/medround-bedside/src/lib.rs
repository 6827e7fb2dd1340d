//! The bedside round as use cases: what the tablet's screens ask for and what they record.
//!
//! It gathers what the rules need from the store, asks `medround-domain` for findings, and writes
//! records through `medround-store`. The Tauri shell calls one method per command; tests and
//! benchmarks call the same methods, so what is tested is what the app runs.

pub mod clock;
mod closing;
mod dose;
mod presence;
pub mod print;
pub mod residents;
pub mod review;
mod round;
mod session;
pub mod staff;
pub mod stock;
pub mod sync;
pub use sync::{EnrolmentSettings, SyncRun, SyncSummary, CENTRAL, MERGE_CHECKED_TO};
mod views;

pub use clock::{Clock, FakeClock, SystemClock, TrainingClock};

use chrono::{DateTime, Utc};
use medround_domain::barcode::{parse_scan, Scan};
use medround_domain::record::{ResidentChange, ResidentEvent};
use medround_domain::staff::Staff;
use medround_domain::{RecordId, ResidentId};
use medround_ipc::*;
use medround_store::{Key, PinCheck, Store, StoreError};
use std::path::Path;

/// How far back the rules look: long enough for S13 (patch sites), S17 (a fortnight of homely
/// remedies) and S11 (three slots of a weekly order).
/// How much history the safety rules see, chosen so that every rule has what it needs and no
/// more: the cost of a dose must not grow with the months of records behind it.
/// Everything of the last two days: PRN intervals and 24-hour totals (S4), today's slots (S3),
/// and records entered after the event (S10).
const RECENT_HOURS: i64 = 48;
/// Homely remedies count the days of use in a fortnight (S17).
const HOMELY_DAYS: i64 = 14;
/// The last records of each order: three slots for an omission review (S11) and whether a
/// slot days back already has an outcome (S8, S10), with room for corrections, read as facts;
/// and for patches the previous patch and its removal (S13), read whole.
const PER_ORDER_RECORDS: u32 = 12;
/// How far back the round and window closing look for unresolved doses.
const ROUND_LOOKBACK_HOURS: i64 = 12;
/// Local setting: the time the last closing of windows reached (S8).
const CLOSED_TO: &str = "windows_closed_to";
pub const DEFAULT_IDLE_LOCK_MINUTES: u32 = 5;

pub(crate) fn storage(e: StoreError) -> IpcError {
    match e {
        StoreError::NotFound(what) => IpcError::new(ErrorCode::NotFound, format!("{what} was not found.")),
        StoreError::Duplicate(id) => IpcError::new(ErrorCode::BadInput, format!("Record {id} already exists.")),
        other => IpcError::new(
            ErrorCode::Storage,
            format!("The tablet could not save or read its records ({other}). Nothing was half-written; try again, and tell the manager if it persists."),
        ),
    }
}

#[derive(Debug)]
struct Session {
    staff: Staff,
    last_active: DateTime<Utc>,
}

#[derive(Debug)]
pub struct Bedside {
    store: Store,
    clock: Box<dyn Clock>,
    session: Option<Session>,
    demo: bool,
}

/// A new record id: the kind's prefix and a UUIDv7, which starts with the time. Ids made later
/// sort later, so each new record lands on the last page of the records' primary key, already
/// in memory; random ids sent every insert of a year-old home to a page of its own, read and
/// decrypted from disk first. The random part keeps two tablets' ids apart.
fn record_id_at(prefix: &str, now: DateTime<Utc>) -> RecordId {
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        now.timestamp().max(0) as u64,
        now.timestamp_subsec_nanos(),
    );
    RecordId::new(format!("{prefix}-{}", uuid::Uuid::new_v7(ts).simple()))
}

#[cfg(test)]
#[test]
fn record_ids_sort_by_time_and_never_repeat() {
    let t: DateTime<Utc> = "2026-11-23T08:00:00Z".parse().unwrap();
    let later = record_id_at("adm", t + chrono::Duration::milliseconds(5));
    let ids: Vec<RecordId> = (0..1000).map(|_| record_id_at("adm", t)).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    assert!(ids.iter().all(|i| i < &later), "{later}");
    assert!(ids[0].as_str().starts_with("adm-"));
}

impl Bedside {
    /// Opens the tablet's store: the database in `data_dir`, its key in `key_file` (kept apart).
    pub fn open(
        db_file: &Path,
        key_file: &Path,
        clock: Box<dyn Clock>,
    ) -> Result<Bedside, StoreError> {
        if let Some(dir) = db_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let key = Key::load_or_create(key_file)?;
        let mut store = Store::open(db_file, &key)?;
        store.publish_local_pins(clock.now())?;
        let demo = store.meta("demo")?.as_deref() == Some("1");
        Ok(Bedside {
            store,
            clock,
            session: None,
            demo,
        })
    }

    /// Builds the demo home if the store is empty. Returns whether it did.
    pub fn seed_demo_if_empty(&mut self) -> Result<bool, StoreError> {
        if self.store.home_name()?.is_some() {
            return Ok(false);
        }
        let spec = medround_demo::HomeSpec::larch_house(self.clock.now());
        medround_demo::build(&mut self.store, &spec)?;
        self.store.set_meta("demo", "1")?;
        self.demo = true;
        Ok(true)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn new_record_id(&self, prefix: &str) -> RecordId {
        record_id_at(prefix, self.clock.now())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    // ---- commands --------------------------------------------------------------------------

    pub(crate) fn check_witness(
        &mut self,
        w: &WitnessPin,
        author: &Staff,
    ) -> Result<Staff, IpcError> {
        let staff = self
            .store
            .staff_member(&w.staff_id)
            .map_err(storage)?
            .ok_or_else(|| {
                IpcError::new(ErrorCode::NotFound, "Choose the witness from the list.")
            })?;
        if staff.id == author.id {
            return Err(IpcError::new(
                ErrorCode::NotAllowed,
                "The witness must be a different person.",
            ));
        }
        match self.store.check_pin(&staff.id, &w.pin).map_err(storage)? {
            PinCheck::Ok => Ok(staff),
            PinCheck::Wrong { attempts_left } => Err(IpcError::new(
                ErrorCode::WrongPin,
                format!("The witness's PIN is not right. {attempts_left} more tries before their account locks."),
            )),
            PinCheck::Locked => Err(IpcError::new(ErrorCode::AccountLocked, "The witness's account is locked. Ask a senior to reset it.")),
            PinCheck::NoPin => Err(IpcError::new(ErrorCode::NoPin, "The witness has no PIN on this tablet.")),
        }
    }

    /// The record of a change to a resident's place in the home or details, by `author`, now
    /// on this tablet.
    pub(crate) fn resident_event(
        &self,
        resident: &ResidentId,
        change: ResidentChange,
        author: &Staff,
    ) -> ResidentEvent {
        ResidentEvent {
            id: self.new_record_id("rev"),
            resident: resident.clone(),
            change,
            at: self.clock.now(),
            author: author.id.clone(),
            device: self.store.device().clone(),
        }
    }
}

/// Scans are parsed here too so the shell can log them; kept public for tests.
pub fn parse(raw: &str) -> Result<Scan, IpcError> {
    parse_scan(raw).map_err(|e| IpcError::new(ErrorCode::BadBarcode, e.to_string()))
}
