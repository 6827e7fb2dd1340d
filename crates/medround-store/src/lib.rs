//! The tablet's encrypted store: the only crate that speaks SQL.
//!
//! Replicated records live in Automerge documents, saved as chunks in an SQLCipher database. Each
//! write changes one document and, in the same SQLite transaction, the query tables ("projections")
//! that the screens read. Projections can always be dropped and rebuilt from the documents.
//!
//! Document layout (see ARCHITECTURE.md for the numbers behind it):
//! - `home`: the home's name, units, staff, homely remedies, ingredient limits.
//! - `resident:<id>`: one resident's profile (one key per field, so edits on two tablets merge
//!   field by field) and orders.
//! - `cycle:<resident>:<n>`: that resident's records written during 28-day cycle `n`:
//!   administrations, patch removals, PRN follow-ups, CD register entries, stock movements.
//!   Old cycles stop changing.
//!
//! Every key sits directly under the document root, named `<kind>/<id>`. Nested maps created by
//! two devices at once would conflict and hide one device's contents; flat keys never do.

mod documents;
mod home;
mod key;
pub mod migrate;
mod pins;
mod projection;
mod records;
pub mod replica;
mod residents;

pub use key::Key;
/// The record model and the checks of arriving changes live in `medround-record`, which the
/// central record shares; the store re-exports what its callers name.
pub use medround_record::check;
pub use medround_record::{
    check_changes, check_doc_id, check_entry, doc_schema, Arrival, Item, RecordError, Roster, Unit,
    CLOCK_SKEW_MINUTES, DOC_SCHEMA, MAX_VALUE_BYTES,
};
pub use pins::{PinCheck, PinStatus};

use automerge::{ActorId, AutoCommit};
use chrono::{DateTime, NaiveDate, Utc};
use medround_domain::homely::HomelyRemedy;
use medround_domain::medicine::IngredientLimit;
use medround_domain::order::Order;
use medround_domain::record::Administration;
use medround_domain::resident::Resident;
use medround_domain::{DeviceId, ResidentId};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("The database key does not open this database.")]
    WrongKey,
    #[error("The database key file is damaged.")]
    BadKeyFile,
    #[error(
        "This database was written by a newer version of Medround (schema {database}; this app \
         knows up to {app}). Update the app; nothing has been changed."
    )]
    TooNew { database: i64, app: i64 },
    #[error(
        "{doc} was written by a newer version of Medround (document version {version}; this \
         app reads up to {app}). Update this app; nothing has been changed."
    )]
    DocumentTooNew { doc: String, version: u32, app: u32 },
    #[error("Record {0} already exists; records are never overwritten.")]
    Duplicate(String),
    #[error("Not found: {0}")]
    NotFound(String),
    #[error("A stored document is damaged: {0}")]
    Corrupt(String),
    /// Changes from another device that break a rule every document keeps.
    #[error("{0}")]
    Refused(String),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("document: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<RecordError> for StoreError {
    fn from(e: RecordError) -> StoreError {
        match e {
            RecordError::DocumentTooNew { doc, version, app } => {
                StoreError::DocumentTooNew { doc, version, app }
            }
            RecordError::Corrupt(why) => StoreError::Corrupt(why),
            RecordError::Refused(why) => StoreError::Refused(why),
            RecordError::Automerge(e) => StoreError::Automerge(e),
            RecordError::Json(e) => StoreError::Json(e),
        }
    }
}

/// A record as its document holds it.
fn item_json(item: &Item) -> Result<String> {
    Ok(serde_json::to_string(item)?)
}

// Questions across the whole home. The records have no index on their kind alone (a dose's
// commit wrote three pages for it, see migration 0007), so each is asked as one range of the
// resident or order index per resident or order the tablet holds. A record of a resident whose
// own document has not arrived yet (a sync cut off part way) is left out until it does, as
// the screens, which list the residents the tablet holds, leave it out anyway.

/// Waits until SQLCipher is set up in this process. SQLite marks itself initialised before it
/// runs SQLCipher's own set-up, so a second thread opening a database in that moment found
/// SQLCipher not ready and `PRAGMA key` failed ("sqlcipher not initialized", once in a test
/// run of many stores opening at once). The first connection of the process is opened here,
/// once, and every other open waits for it.
fn sqlcipher_ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        // A failure here shows again, with its message, on the real open that follows.
        let _ = Connection::open_in_memory();
    });
}

/// One document change to write: the document, when, and its `(key, JSON)` entries.
type Change<'a> = (&'a str, DateTime<Utc>, &'a [(String, String)]);

/// The first day the cycles are counted from: Monday 3 January 2000.
fn cycle_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 3).expect("valid date")
}

/// 28-day cycles counted from Monday 3 January 2000, as pharmacies count MAR cycles in weeks.
pub fn cycle_of(date: NaiveDate) -> i64 {
    (date - cycle_epoch()).num_days().div_euclid(28)
}

/// The first day of the cycle that holds `date`.
pub fn cycle_start(date: NaiveDate) -> NaiveDate {
    cycle_epoch() + chrono::Duration::days(cycle_of(date) * 28)
}

/// Times in projections are fixed-width UTC text, so that SQL compares them in time order.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Decoded administrations kept for the rules (a few days of a home's records, a few MB).
const DECODED_LIMIT: usize = 20_000;

/// Chunks after which a document is compacted into one saved snapshot.
const COMPACT_AFTER_CHUNKS: u32 = 256;

/// The reference data every dose reads (a resident, their orders, the homely remedies, the
/// ingredient limits), kept decoded. A dose writes only records and leaves it as it is; any
/// write that projects anything else empties it (see `project_entry`), before its transaction
/// commits or fails, so that a read never returns what the projections no longer hold.
#[derive(Debug, Default)]
pub(crate) struct Reference {
    residents: HashMap<ResidentId, Resident>,
    orders: HashMap<ResidentId, Vec<Order>>,
    remedies: Option<Vec<HomelyRemedy>>,
    limits: Option<Vec<IngredientLimit>>,
}

#[derive(Debug)]
pub struct Store {
    conn: Connection,
    device: DeviceId,
    /// The Automerge actor this store writes with: a fresh one each time it is opened. A store
    /// restored from a backup would otherwise write its next changes with sequence numbers it
    /// had already used for changes the central record holds, and Automerge refuses two
    /// changes with one actor and sequence number (`DuplicateSeqNumber`): the records written
    /// between the restore and the next sync would never sync. The central record binds every
    /// actor to the one device that sends it.
    actor: ActorId,
    docs: HashMap<String, AutoCommit>,
    chunks: HashMap<String, u32>,
    /// Documents with more than `COMPACT_AFTER_CHUNKS` chunks, to be saved whole by
    /// `compact_pending` (off the dose path).
    to_compact: std::collections::BTreeSet<String>,
    /// Sync states of the exchange under way, by (peer, document); stored ones are reloaded.
    live_sync: HashMap<(String, String), automerge::sync::State>,
    /// The heads up to which each loaded document is stored in `doc_chunks`: the next chunk
    /// holds what comes after them, and a sync step checks and projects only what arrives
    /// after them. (Automerge's own `save_incremental` would encode a whole freshly loaded
    /// document once, only to find its place.)
    saved_heads: HashMap<String, Vec<automerge::ChangeHash>>,
    pub(crate) reference: std::cell::RefCell<Reference>,
    /// Administrations the rules read, decoded once, by id. A record never changes once
    /// written (S9: a correction is a new record that voids it), so an entry cannot go stale.
    decoded: std::cell::RefCell<HashMap<String, Administration>>,
    /// This device's settings (`local_meta`) as read, which `who` asks for on every command.
    /// Only `set_meta` and `set_meta_all` write them, and each forgets what it writes first.
    settings: std::cell::RefCell<HashMap<String, Option<String>>>,
}

impl Store {
    /// Opens (creating if needed) the encrypted database at `path` with `key`.
    pub fn open(path: &Path, key: &Key) -> Result<Store> {
        sqlcipher_ready();
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "key", key.pragma())?;
        // A wrong key surfaces as "file is not a database" on the first read.
        if conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_err()
        {
            return Err(StoreError::WrongKey);
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a record the screen confirmed survives a power cut, not just a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The WAL is copied back into the database by `checkpoint` on the shell's minute timer,
        // not by whichever commit happens to fill it: a dose never waits for a checkpoint.
        // Durability is the WAL's own (every commit syncs it); a WAL left by a crash is
        // replayed on the next open.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Every page read is decrypted; keep the indexes a year of records needs in memory
        // (32 MB) rather than decrypting them again on every dose.
        conn.pragma_update(None, "cache_size", -32_768)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // A statement whose bound value meets a partial index's condition (`order_id = ?1`
        // against `order_id IS NULL`) is otherwise prepared again on every new binding: about
        // 7% of a dose's time went on parsing the same few queries. The plans the store
        // relies on name their index or are checked by tests, so they do not depend on values.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        migrate::run(&mut conn)?;
        let device = match conn
            .query_row(
                "SELECT value FROM local_meta WHERE key = 'device_id'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            Some(d) => DeviceId::new(d),
            None => {
                let d = format!("dev-{}", uuid::Uuid::new_v4().simple());
                conn.execute(
                    "INSERT INTO local_meta (key, value) VALUES ('device_id', ?1)",
                    [&d],
                )?;
                DeviceId::new(d)
            }
        };
        let actor = ActorId::random();
        Ok(Store {
            conn,
            device,
            actor,
            docs: HashMap::new(),
            chunks: HashMap::new(),
            to_compact: Default::default(),
            live_sync: HashMap::new(),
            saved_heads: HashMap::new(),
            reference: Default::default(),
            decoded: Default::default(),
            settings: Default::default(),
        })
    }

    /// Seeding a demo or benchmark home writes thousands of records that nobody confirmed at a
    /// bedside; it may skip waiting for the disk. Everything else runs durable.
    pub fn set_durable(&self, durable: bool) -> Result<()> {
        self.conn
            .pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
        Ok(())
    }

    pub fn device(&self) -> &DeviceId {
        &self.device
    }

    /// Direct access for the store's own tests and benchmarks (integrity checks, baselines).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    // ---- local settings --------------------------------------------------------------------

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        if let Some(v) = self.settings.borrow().get(key) {
            return Ok(v.clone());
        }
        let v: Option<String> = self
            .conn
            .prepare_cached("SELECT value FROM local_meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        self.settings
            .borrow_mut()
            .insert(key.to_string(), v.clone());
        Ok(v)
    }

    /// Sets several settings at once: all of them or none.
    pub fn set_meta_all(&mut self, entries: &[(&str, &str)]) -> Result<()> {
        self.settings.borrow_mut().clear();
        let tx = self.conn.transaction()?;
        for (k, v) in entries {
            tx.execute(
                "INSERT INTO local_meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The actor this store writes with, in hex.
    pub fn actor(&self) -> String {
        self.actor.to_hex_string()
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.settings.borrow_mut().remove(key);
        self.conn.execute(
            "INSERT INTO local_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    // ---- documents -------------------------------------------------------------------------

    // ---- home ------------------------------------------------------------------------------

    // ---- residents and orders --------------------------------------------------------------

    // ---- records ---------------------------------------------------------------------------
}

#[cfg(test)]
mod tests;
