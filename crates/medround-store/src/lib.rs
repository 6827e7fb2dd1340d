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

mod key;
pub mod migrate;
mod pins;
pub mod replica;

pub use key::Key;
/// The record model and the checks of arriving changes live in `medround-record`, which the
/// central record shares; the store re-exports what its callers name.
pub use medround_record::check;
pub use medround_record::{
    check_changes, check_doc_id, check_entry, doc_schema, Arrival, Item, RecordError, Roster, Unit,
    CLOCK_SKEW_MINUTES, DOC_SCHEMA, MAX_VALUE_BYTES,
};
pub use pins::{PinCheck, PinStatus};

use automerge::{
    transaction::Transactable, ActorId, AutoCommit, ReadDoc, ScalarValue, Value, ROOT,
};
use chrono::{DateTime, NaiveDate, Utc};
use medround_domain::fact::DoseFact;
use medround_domain::homely::HomelyRemedy;
use medround_domain::incident::{Incident, IncidentAck};
use medround_domain::medicine::IngredientLimit;
use medround_domain::order::Order;
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::{Administration, ResidentEvent};
use medround_domain::resident::Resident;
use medround_domain::schedule::HOME_TZ;
use medround_domain::staff::Staff;
use medround_domain::tablet::Tablet;
use medround_domain::{DeviceId, OrderId, RecordId, ResidentId, StaffId};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
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

/// The columns the review and the MAR read without decoding the record: (slot, outcome,
/// late, author, the record it refers to).
fn columns(item: &Item) -> Columns<'_> {
    match item {
        Item::Administration(a) => Columns {
            slot_at: a.subject.slot().map(|(_, at)| ts(at)),
            outcome: Some(a.outcome.code()),
            late: a.is_late(),
            author: Some(a.author.as_str()),
            recorded_at: Some(ts(a.recorded_at)),
            refers_to: a.voids.as_ref().map(|v| v.as_str()),
            qty: a.from_stock.map_or(0, |q| -q.as_milli()),
        },
        Item::StockMovement(m) => Columns {
            qty: m.delta.as_milli(),
            ..Columns::default()
        },
        Item::CdEntry(e) => Columns {
            qty: e.movement.delta().as_milli(),
            ..Columns::default()
        },
        Item::IncidentAck(k) => Columns {
            author: Some(k.by.as_str()),
            refers_to: Some(k.incident.as_str()),
            ..Columns::default()
        },
        Item::ResidentEvent(e) => Columns {
            author: Some(e.author.as_str()),
            ..Columns::default()
        },
        _ => Columns::default(),
    }
}

/// A record as its document holds it.
fn item_json(item: &Item) -> Result<String> {
    Ok(serde_json::to_string(item)?)
}

/// The columns of `p_records` beyond the record's kind, id and time (migration 0005).
#[derive(Debug, Default)]
struct Columns<'a> {
    slot_at: Option<String>,
    outcome: Option<&'static str>,
    late: bool,
    author: Option<&'a str>,
    recorded_at: Option<String>,
    refers_to: Option<&'a str>,
    /// Thousandths a stock movement, dose or register entry changes the level by.
    qty: i64,
}

/// A resident's homely-remedy records since a time (S17), from the partial index
/// `p_records_homely`, which holds exactly these rows: the doses of prescribed orders never
/// write to it. Named, because without statistics SQLite would rather take the resident's
/// every record of the fortnight from `p_records_resident` and drop all but the remedies.
const HOMELY_SQL: &str = "SELECT id, json FROM p_records INDEXED BY p_records_homely
     WHERE resident = ?1 AND kind = 'administration' AND order_id IS NULL AND at >= ?2";

/// An order's last slots as dose facts, newest first, read from the covering index
/// `p_records_order` without touching the table (a test checks the plan).
const SLOT_FACTS_SQL: &str =
    "SELECT id, resident, order_id, slot_at, outcome, at, recorded_at, late, author, refers_to
     FROM p_records WHERE order_id = ?1 AND kind = 'administration'
     ORDER BY at DESC LIMIT ?2";

// Questions across the whole home. The records have no index on their kind alone (a dose's
// commit wrote three pages for it, see migration 0007), so each is asked as one range of the
// resident or order index per resident or order the tablet holds. A record of a resident whose
// own document has not arrived yet (a sync cut off part way) is left out until it does, as
// the screens, which list the residents the tablet holds, leave it out anyway.

/// Every resident's administrations since ?1 (the round screen).
const ADMINISTRATIONS_SINCE_SQL: &str = "SELECT json FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = 'administration' AND at >= ?1
     ORDER BY at, id";

/// The facts of the administrations in [?1, ?2) and of every correction made since ?1 (the
/// review).
const DOSE_FACTS_SQL: &str =
    "SELECT id, resident, order_id, slot_at, outcome, at, recorded_at, late, author, refers_to
     FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = 'administration'
       AND at >= ?1 AND (at < ?2 OR refers_to IS NOT NULL)";

/// Incidents raised since ?1, and every older one not yet acknowledged.
const INCIDENTS_SQL: &str = "SELECT i.json FROM p_records i
     WHERE i.resident IN (SELECT id FROM p_residents) AND i.kind = 'incident'
       AND (i.at >= ?1 OR NOT EXISTS (
            SELECT 1 FROM p_records a WHERE a.refers_to = i.id AND a.kind = 'incident_ack'))
     ORDER BY i.at DESC, i.id";

/// Every record of one kind (?1) since ?2, across residents (the day's follow-ups).
const ITEMS_OF_KIND_SINCE_SQL: &str = "SELECT json FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = ?1 AND at >= ?2
     ORDER BY at, id";

/// How many incidents nobody has acknowledged (the count on the round screen).
const OPEN_INCIDENTS_SQL: &str = "SELECT count(*) FROM p_records i
     WHERE i.resident IN (SELECT id FROM p_residents) AND i.kind = 'incident'
       AND NOT EXISTS (
            SELECT 1 FROM p_records a WHERE a.refers_to = i.id AND a.kind = 'incident_ack')";

/// When-required and homely-remedy administrations since ?1: those without a slot.
const WHEN_REQUIRED_SINCE_SQL: &str = "SELECT json FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = 'administration' AND at >= ?1
       AND slot_at IS NULL
     ORDER BY at, id";

/// How many records of one kind (?1) the home holds.
const COUNT_KIND_SQL: &str = "SELECT count(*) FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = ?1";

/// Each order's stock level: the sum of its movements and of what its doses took (S14).
const STOCK_LEVELS_SQL: &str = "SELECT order_id, SUM(qty) FROM p_records
     WHERE order_id IN (SELECT id FROM p_orders) AND kind IN ('administration', 'stock_movement')
     GROUP BY order_id";

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

    fn doc(&mut self, doc_id: &str) -> Result<&mut AutoCommit> {
        if !self.docs.contains_key(doc_id) {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
            let mut bytes = Vec::new();
            let mut n = 0u32;
            let mut rows = stmt.query([doc_id])?;
            while let Some(r) = rows.next()? {
                bytes.extend_from_slice(&r.get::<_, Vec<u8>>(0)?);
                n += 1;
            }
            drop(rows);
            drop(stmt);
            let mut doc = if bytes.is_empty() {
                AutoCommit::new()
            } else {
                AutoCommit::load(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("{doc_id}: {e}")))?
            };
            // A document of a newer shape is not read at all (see `DOC_SCHEMA`).
            check::readable(doc_id, doc_schema(&doc)?)?;
            doc.set_actor(self.actor.clone());
            self.saved_heads.insert(doc_id.to_string(), doc.get_heads());
            self.docs.insert(doc_id.to_string(), doc);
            self.chunks.insert(doc_id.to_string(), n);
        }
        Ok(self.docs.get_mut(doc_id).expect("just inserted"))
    }

    /// Puts `entries` into one document as one change, then stores the change and updates the
    /// projections in one SQLite transaction. If anything fails, nothing is written and the
    /// in-memory copy of the document is dropped so that it is reloaded from disk.
    fn write(
        &mut self,
        doc_id: &str,
        now: DateTime<Utc>,
        entries: &[(String, String)],
    ) -> Result<()> {
        self.write_changes(&[(doc_id, now, entries)])
    }

    /// Makes each `(document, time, entries)` its own document change, in order, and stores
    /// them all with their projections in one SQLite transaction. If anything fails, nothing
    /// is written and the in-memory copies of the documents touched are dropped, so that they
    /// are reloaded from disk as they were.
    fn write_changes(&mut self, changes: &[Change<'_>]) -> Result<()> {
        let result = self.write_changes_inner(changes);
        if result.is_err() {
            self.forget_reference();
            for (doc_id, _, _) in changes {
                self.docs.remove(*doc_id);
                self.chunks.remove(*doc_id);
                self.saved_heads.remove(*doc_id);
            }
        }
        result
    }

    fn write_changes_inner(&mut self, changes: &[Change<'_>]) -> Result<()> {
        // What this tablet writes meets the rule every device's changes meet on arrival
        // (`check::check_changes`): otherwise the central record would refuse it later, and
        // the tablet could never sync again.
        for (doc_id, _, entries) in changes {
            for (k, v) in entries.iter() {
                if let Some(c) = medround_domain::text::unreadable_in_json(v) {
                    return Err(StoreError::Refused(format!(
                        "{k} in {doc_id} holds the character U+{:04X}, which hides or reorders \
                         text on screen; take it out and save again",
                        u32::from(c)
                    )));
                }
                if v.len() > check::MAX_VALUE_BYTES {
                    return Err(StoreError::Refused(format!(
                        "{k} is too long to keep ({} bytes)",
                        v.len()
                    )));
                }
            }
        }
        let mut chunks = Vec::with_capacity(changes.len());
        for (doc_id, now, entries) in changes {
            let doc = self.doc(doc_id)?;
            for (k, v) in entries.iter() {
                doc.put(ROOT, k.as_str(), v.as_str())?;
            }
            // The change is of this build's shape, and says so if the document did not yet.
            if doc_schema(doc)? < DOC_SCHEMA {
                doc.put(ROOT, check::SCHEMA_KEY, DOC_SCHEMA.to_string())?;
            }
            doc.commit_with(
                automerge::transaction::CommitOptions::default().with_time(now.timestamp()),
            );
            let heads = doc.get_heads();
            let saved = self
                .saved_heads
                .insert(doc_id.to_string(), heads)
                .unwrap_or_default();
            let doc = self.docs.get_mut(*doc_id).expect("loaded above");
            chunks.push(doc.save_after(&saved));
        }
        let tx = self.conn.transaction()?;
        let mut reference = false;
        for ((doc_id, _, entries), chunk) in changes.iter().zip(&chunks) {
            tx.prepare_cached("INSERT INTO doc_chunks (doc_id, bytes) VALUES (?1, ?2)")?
                .execute(params![doc_id, chunk])?;
            // Written here: to be sent at the next sync.
            tx.prepare_cached(
                "INSERT INTO local_dirty (doc_id, changes, last_seq) VALUES (?1, 1, ?2)
                 ON CONFLICT (doc_id) DO UPDATE SET changes = changes + 1, last_seq = excluded.last_seq",
            )?
            .execute(params![doc_id, tx.last_insert_rowid()])?;
            for (k, v) in entries.iter() {
                reference |= project_entry(&tx, doc_id, k, v)? == Projected::Reference;
            }
        }
        for (doc_id, _, _) in changes {
            if doc_id.starts_with("resident:") {
                let doc = self.docs.get(*doc_id).expect("loaded above");
                project_resident(&tx, doc)?;
                reference = true;
            }
        }
        if reference {
            self.reference.borrow_mut().clear();
        }
        tx.commit()?;
        for (doc_id, _, _) in changes {
            let n = self.chunks.entry(doc_id.to_string()).or_insert(0);
            *n += 1;
            if *n > COMPACT_AFTER_CHUNKS {
                self.to_compact.insert(doc_id.to_string());
            }
        }
        Ok(())
    }

    /// Loads each resident's current cycle document into memory, so that the first dose of the
    /// day for a resident does not wait for it. Costs nothing for documents already loaded.
    pub fn warm(&mut self, now: DateTime<Utc>) -> Result<usize> {
        let cycle = cycle_of(now.with_timezone(&HOME_TZ).date_naive());
        let ids: Vec<String> = self
            .residents()?
            .iter()
            .map(|r| format!("cycle:{}:{cycle}", r.id))
            .collect();
        for id in &ids {
            self.doc(id)?;
        }
        Ok(ids.len())
    }

    /// Saves whole every document that has gathered too many chunks, and copies the WAL back
    /// into the database. The shell calls this on its minute timer; a dose never waits for it.
    pub fn compact_pending(&mut self) -> Result<usize> {
        let ids: Vec<String> = std::mem::take(&mut self.to_compact).into_iter().collect();
        for id in &ids {
            self.compact(id)?;
        }
        let (busy, frames, copied): (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        // Once every frame is copied back, the next commit starts the WAL afresh: it writes a
        // new WAL header and, with synchronous=FULL, syncs it before its own frames, a second
        // fsync. A small commit made here pays that, so that the next dose does not (it cost
        // the first dose after each checkpoint a fifth more).
        if busy == 0 && frames > 0 && frames == copied {
            self.conn
                .prepare_cached(
                    "INSERT INTO local_meta (key, value) VALUES ('wal_restarts', '1')
                     ON CONFLICT (key) DO UPDATE SET value = value + 1",
                )?
                .execute([])?;
            self.settings.borrow_mut().remove("wal_restarts");
        }
        Ok(ids.len())
    }

    /// Replaces a document's chunks by one full save. Loading the one save gives the same document.
    pub fn compact(&mut self, doc_id: &str) -> Result<()> {
        let doc = self.doc(doc_id)?;
        let full = doc.save();
        let heads = doc.get_heads();
        let tx = self.conn.transaction()?;
        // The whole document goes into its last chunk and the others are deleted. The last
        // chunk may hold the largest seq of all, and that one is never deleted: a new chunk
        // takes the largest seq plus one, and local_dirty and sync rely on seq only growing.
        let last: Option<i64> = tx.query_row(
            "SELECT max(seq) FROM doc_chunks WHERE doc_id = ?1",
            [doc_id],
            |r| r.get(0),
        )?;
        match last {
            Some(last) => {
                tx.execute(
                    "DELETE FROM doc_chunks WHERE doc_id = ?1 AND seq < ?2",
                    params![doc_id, last],
                )?;
                tx.execute(
                    "UPDATE doc_chunks SET bytes = ?2 WHERE seq = ?1",
                    params![last, full],
                )?;
            }
            None => {
                tx.execute(
                    "INSERT INTO doc_chunks (doc_id, bytes) VALUES (?1, ?2)",
                    params![doc_id, full],
                )?;
            }
        }
        tx.commit()?;
        self.saved_heads.insert(doc_id.to_string(), heads);
        self.chunks.insert(doc_id.to_string(), 1);
        Ok(())
    }

    pub fn document_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT doc_id FROM doc_chunks ORDER BY doc_id")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }

    /// The whole document as saved bytes (for sync and for tests).
    pub fn document_bytes(&mut self, doc_id: &str) -> Result<Vec<u8>> {
        Ok(self.doc(doc_id)?.save())
    }

    /// Drops every projection and rebuilds it from the documents.
    pub fn rebuild_projections(&mut self) -> Result<()> {
        self.forget_reference();
        self.decoded.borrow_mut().clear();
        let ids = self.document_ids()?;
        self.docs.clear();
        self.chunks.clear();
        self.saved_heads.clear();
        for id in &ids {
            self.doc(id)?;
        }
        let tx = self.conn.transaction()?;
        for t in [
            "p_home",
            "p_staff",
            "p_remedies",
            "p_pins",
            "p_residents",
            "p_orders",
            "p_records",
        ] {
            tx.execute(&format!("DELETE FROM {t}"), [])?;
        }
        for id in &ids {
            let doc = &self.docs[id];
            for (k, v) in doc_entries(doc)? {
                project_entry(&tx, id, &k, &v)?;
            }
            if id.starts_with("resident:") {
                project_resident(&tx, doc)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    // ---- home ------------------------------------------------------------------------------

    pub fn put_home_name(&mut self, name: &str, now: DateTime<Utc>) -> Result<()> {
        self.write(
            "home",
            now,
            &[("home/name".into(), serde_json::to_string(name)?)],
        )
    }

    pub fn put_unit(&mut self, unit: &Unit, now: DateTime<Utc>) -> Result<()> {
        self.write(
            "home",
            now,
            &[(format!("unit/{}", unit.id), serde_json::to_string(unit)?)],
        )
    }

    /// Adds or changes a member of staff; `by` is the manager who made the change (S19),
    /// none only while the home is first set up.
    pub fn put_staff(&mut self, s: &Staff, by: Option<&StaffId>, now: DateTime<Utc>) -> Result<()> {
        let entry = medround_record::staff_entry(s, by.map(|b| b.as_str()))?;
        self.write("home", now, &[(format!("staff/{}", s.id), entry)])
    }

    pub fn put_remedy(&mut self, r: &HomelyRemedy, now: DateTime<Utc>) -> Result<()> {
        self.write(
            "home",
            now,
            &[(format!("remedy/{}", r.id), serde_json::to_string(r)?)],
        )
    }

    pub fn put_limit(&mut self, l: &IngredientLimit, now: DateTime<Utc>) -> Result<()> {
        let key = format!("limit/{}", l.substance.to_lowercase());
        self.write("home", now, &[(key, serde_json::to_string(l)?)])
    }

    pub fn home_name(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT json FROM p_home WHERE key = 'home/name'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .map(|j| serde_json::from_str(&j))
            .transpose()?)
    }

    pub fn units(&self) -> Result<Vec<Unit>> {
        self.home_prefixed("unit/")
    }

    /// The home's tablets by name, as each wrote itself into the home document when enrolled.
    pub fn tablets(&self) -> Result<Vec<Tablet>> {
        self.home_prefixed("device/")
    }

    pub fn put_tablet(&mut self, t: &Tablet, now: DateTime<Utc>) -> Result<()> {
        let key = format!("device/{}", t.id);
        self.write("home", now, &[(key, serde_json::to_string(t)?)])
    }

    pub fn limits(&self) -> Result<Vec<IngredientLimit>> {
        self.through_reference(
            |r| r.limits.as_ref(),
            |r, l| r.limits = Some(l),
            || self.home_prefixed("limit/"),
        )
    }

    fn home_prefixed<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT json FROM p_home WHERE key >= ?1 AND key < ?2 ORDER BY key")?;
        let upper = format!("{prefix}\u{10FFFF}");
        let rows = stmt.query_map(params![prefix, upper], |r| r.get::<_, String>(0))?;
        rows.map(|j| Ok(serde_json::from_str(&j?)?)).collect()
    }

    pub fn staff(&self) -> Result<Vec<Staff>> {
        self.all_json("SELECT json FROM p_staff ORDER BY id", [])
    }

    pub fn staff_member(&self, id: &str) -> Result<Option<Staff>> {
        Ok(self
            .all_json("SELECT json FROM p_staff WHERE id = ?1", [id])?
            .pop())
    }

    pub fn remedies(&self) -> Result<Vec<HomelyRemedy>> {
        self.through_reference(
            |r| r.remedies.as_ref(),
            |r, v| r.remedies = Some(v),
            || self.all_json("SELECT json FROM p_remedies ORDER BY id", []),
        )
    }

    // ---- residents and orders --------------------------------------------------------------

    /// Writes the fields of the resident that differ from what is stored, one key each.
    pub fn put_resident(&mut self, r: &Resident, now: DateTime<Utc>) -> Result<()> {
        let doc_id = format!("resident:{}", r.id);
        let entries = self.resident_entries(r)?;
        if entries.is_empty() {
            return Ok(());
        }
        self.write(&doc_id, now, &entries)
    }

    /// Writes the resident's changed fields and the record of who changed them and why (a
    /// `ResidentEvent`, in the resident's cycle document) in one durable transaction: a
    /// resident is never recorded as gone, back or admitted without the record saying so, nor
    /// the other way round. A record id that already exists is refused (S9).
    pub fn put_resident_recording(
        &mut self,
        r: &Resident,
        event: &ResidentEvent,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let item = Item::ResidentEvent(event.clone());
        if self
            .conn
            .prepare_cached("SELECT 1 FROM p_records WHERE id = ?1")?
            .exists([item.id()])?
        {
            return Err(StoreError::Duplicate(item.id().to_string()));
        }
        let profile = (format!("resident:{}", r.id), self.resident_entries(r)?);
        let cycle = cycle_of(now.with_timezone(&HOME_TZ).date_naive());
        let record = (
            format!("cycle:{}:{cycle}", r.id),
            vec![(format!("{}/{}", item.kind(), item.id()), item_json(&item)?)],
        );
        let changes: Vec<Change<'_>> = [&profile, &record]
            .into_iter()
            .filter(|(_, entries)| !entries.is_empty())
            .map(|(d, e)| (d.as_str(), now, e.as_slice()))
            .collect();
        self.write_changes(&changes)
    }

    /// The profile keys of `r` whose stored values differ, as `(key, json)`.
    fn resident_entries(&mut self, r: &Resident) -> Result<Vec<(String, String)>> {
        let doc_id = format!("resident:{}", r.id);
        let value = serde_json::to_value(r)?;
        let serde_json::Value::Object(fields) = value else {
            return Err(StoreError::Corrupt("resident is not an object".into()));
        };
        let existing: HashMap<String, String> =
            doc_entries(self.doc(&doc_id)?)?.into_iter().collect();
        let mut entries = Vec::new();
        for (k, v) in fields {
            let key = format!("profile/{k}");
            let json = serde_json::to_string(&v)?;
            if existing.get(&key) != Some(&json) {
                entries.push((key, json));
            }
        }
        Ok(entries)
    }

    /// Orders of one resident written in one change: an order and the one it replaces
    /// (S16), so neither is ever seen without the other.
    pub fn put_orders(&mut self, orders: &[Order], now: DateTime<Utc>) -> Result<()> {
        let Some(first) = orders.first() else {
            return Ok(());
        };
        if orders.iter().any(|o| o.resident != first.resident) {
            return Err(StoreError::NotFound(
                "orders of one resident to write together".into(),
            ));
        }
        let entries = orders
            .iter()
            .map(|o| Ok((format!("order/{}", o.id), serde_json::to_string(o)?)))
            .collect::<Result<Vec<_>>>()?;
        self.write(&format!("resident:{}", first.resident), now, &entries)
    }

    pub fn put_order(&mut self, o: &Order, now: DateTime<Utc>) -> Result<()> {
        let doc_id = format!("resident:{}", o.resident);
        self.write(
            &doc_id,
            now,
            &[(format!("order/{}", o.id), serde_json::to_string(o)?)],
        )
    }

    pub fn residents(&self) -> Result<Vec<Resident>> {
        self.all_json("SELECT json FROM p_residents ORDER BY unit, id", [])
    }

    pub fn resident(&self, id: &ResidentId) -> Result<Resident> {
        self.through_reference(
            |r| r.residents.get(id),
            |r, v| {
                r.residents.insert(id.clone(), v);
            },
            || {
                self.all_json("SELECT json FROM p_residents WHERE id = ?1", [id.as_str()])?
                    .pop()
                    .ok_or_else(|| StoreError::NotFound(format!("resident {id}")))
            },
        )
    }

    pub fn orders_for(&self, resident: &ResidentId) -> Result<Vec<Order>> {
        self.through_reference(
            |r| r.orders.get(resident),
            |r, v| {
                r.orders.insert(resident.clone(), v);
            },
            || {
                self.all_json(
                    "SELECT json FROM p_orders WHERE resident = ?1 ORDER BY id",
                    [resident.as_str()],
                )
            },
        )
    }

    pub fn all_orders(&self) -> Result<Vec<Order>> {
        self.all_json("SELECT json FROM p_orders ORDER BY resident, id", [])
    }

    pub fn order(&self, id: &OrderId) -> Result<Order> {
        self.all_json("SELECT json FROM p_orders WHERE id = ?1", [id.as_str()])?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("order {id}")))
    }

    // ---- records ---------------------------------------------------------------------------

    /// Appends records for one resident as one document change and one durable transaction.
    /// A record id that already exists is refused: records are never overwritten (S9).
    pub fn append(
        &mut self,
        resident: &ResidentId,
        now: DateTime<Utc>,
        items: &[Item],
    ) -> Result<()> {
        self.append_each(resident, &[(now, items.to_vec())])
    }

    /// Appends several events' records for one resident, each event its own document change
    /// (as the app makes one change per dose), all in one durable transaction: how history is
    /// imported (the demo home, records brought over from another system). A record id that
    /// already exists, here or earlier in `events`, is refused and nothing is written (S9).
    pub fn append_each(
        &mut self,
        resident: &ResidentId,
        events: &[(DateTime<Utc>, Vec<Item>)],
    ) -> Result<()> {
        let mut changes = Vec::with_capacity(events.len());
        let mut seen = std::collections::HashSet::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT 1 FROM p_records WHERE id = ?1")?;
            for (now, items) in events {
                let mut entries = Vec::with_capacity(items.len());
                for it in items {
                    if !seen.insert(it.id().to_string()) || stmt.exists([it.id()])? {
                        return Err(StoreError::Duplicate(it.id().to_string()));
                    }
                    entries.push((format!("{}/{}", it.kind(), it.id()), item_json(it)?));
                }
                let cycle = cycle_of(now.with_timezone(&HOME_TZ).date_naive());
                changes.push((format!("cycle:{resident}:{cycle}"), *now, entries));
            }
        }
        let changes: Vec<Change<'_>> = changes
            .iter()
            .map(|(d, t, e)| (d.as_str(), *t, e.as_slice()))
            .collect();
        self.write_changes(&changes)
    }

    /// Records of one resident since `since`, by the time they happened.
    pub fn items_for(
        &self,
        resident: &ResidentId,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Item>> {
        let since = since.map(ts).unwrap_or_default();
        self.all_json(
            "SELECT json FROM p_records WHERE resident = ?1 AND at >= ?2 ORDER BY at, id",
            params![resident.as_str(), since],
        )
    }

    /// One resident's records that happened in `[since, until)`, and every correction made
    /// since `since` (a later correction still voids a record of the period, S9), by time. Only
    /// those are decoded, however much history follows the period.
    pub fn items_in_period(
        &self,
        resident: &ResidentId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Item>> {
        self.all_json(
            "SELECT json FROM p_records
             WHERE resident = ?1 AND at >= ?2
               AND (at < ?3 OR (kind = 'administration' AND refers_to IS NOT NULL))
             ORDER BY at, id",
            params![resident.as_str(), ts(since), ts(until)],
        )
    }

    /// The administrations the safety rules need whole for one resident, bounded however long
    /// the history: every record since `recent` (PRN intervals and 24-hour totals, S4; the
    /// slots of today, S3), the last `per_order` records of each of `orders` (the orders with a
    /// body site: the last patch and its site, S13), and homely-remedy records since `homely`
    /// (days of use, S17). Each part is an index range, so a dose costs the same on day 365 as
    /// on day 1. The other orders' older slots come as facts (`slot_facts`).
    pub fn administrations_for_rules(
        &self,
        resident: &ResidentId,
        orders: &[OrderId],
        recent: DateTime<Utc>,
        homely: DateTime<Utc>,
        per_order: u32,
    ) -> Result<Vec<Administration>> {
        let mut found: HashMap<String, Administration> = HashMap::new();
        let mut fresh = Vec::new();
        let mut collect = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<()> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let mut rows = stmt.query(p)?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                if found.contains_key(&id) {
                    continue;
                }
                if let Some(a) = self.decoded.borrow().get(&id) {
                    found.insert(id, a.clone());
                    continue;
                }
                let json = r.get_ref(1)?.as_str().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(1, Type::Text, Box::new(e))
                })?;
                if let Item::Administration(a) = serde_json::from_str(json)? {
                    fresh.push(a.clone());
                    found.insert(id, a);
                }
            }
            Ok(())
        };
        collect(
            "SELECT id, json FROM p_records
             WHERE resident = ?1 AND kind = 'administration' AND at >= ?2",
            &[&resident.as_str(), &ts(recent)],
        )?;
        collect(HOMELY_SQL, &[&resident.as_str(), &ts(homely)])?;
        for o in orders {
            collect(
                "SELECT id, json FROM p_records
                 WHERE order_id = ?1 AND kind = 'administration' ORDER BY at DESC LIMIT ?2",
                &[&o.as_str(), &per_order],
            )?;
        }
        let mut decoded = self.decoded.borrow_mut();
        if decoded.len() + fresh.len() > DECODED_LIMIT {
            decoded.clear();
        }
        decoded.extend(fresh.into_iter().map(|a| (a.id.to_string(), a)));
        let mut out: Vec<Administration> = found.into_values().collect();
        out.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
        Ok(out)
    }

    /// The last `per_order` administrations of each of `orders`, however old, as dose facts
    /// read from columns: whether a slot has an outcome (S8) and the last slots' outcomes
    /// (S11), without decoding a record.
    pub fn slot_facts(&self, orders: &[OrderId], per_order: u32) -> Result<Vec<DoseFact>> {
        let mut out = Vec::new();
        for o in orders {
            out.extend(self.facts(SLOT_FACTS_SQL, params![o.as_str(), per_order])?);
        }
        Ok(out)
    }

    /// A mark for "what is projected now": the largest row number of the records. Rows
    /// only ever grow (records are appended, S9), so what has a larger number came later,
    /// from this tablet or from a merge.
    pub fn records_mark(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT COALESCE(MAX(rowid), 0) FROM p_records")?
            .query_row([], |r| r.get(0))?)
    }

    /// Each resident with administrations projected after `mark`, and the earliest time any
    /// of them names (when it happened, or the slot it is for): what a merge brought, however
    /// old, for the checks after a merge (S18).
    pub fn administrations_after_mark(
        &self,
        mark: i64,
    ) -> Result<Vec<(ResidentId, DateTime<Utc>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT resident, at, slot_at FROM p_records
             WHERE rowid > ?1 AND kind = 'administration'",
        )?;
        let rows = stmt.query_map([mark], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut earliest: std::collections::BTreeMap<String, DateTime<Utc>> = Default::default();
        let parse = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        for row in rows {
            let (resident, at, slot) = row?;
            let times = [parse(&at), slot.as_deref().and_then(parse)];
            for t in times.into_iter().flatten() {
                earliest
                    .entry(resident.clone())
                    .and_modify(|e| *e = (*e).min(t))
                    .or_insert(t);
            }
        }
        Ok(earliest
            .into_iter()
            .map(|(r, t)| (ResidentId::new(r), t))
            .collect())
    }

    /// One record by its id.
    pub fn item(&self, id: &str) -> Result<Option<Item>> {
        Ok(self
            .all_json("SELECT json FROM p_records WHERE id = ?1", [id])?
            .pop())
    }

    /// The newest `limit` records of one kind for an order, newest first.
    pub fn latest_for_order(&self, order: &OrderId, kind: &str, limit: u32) -> Result<Vec<Item>> {
        self.all_json(
            "SELECT json FROM p_records WHERE order_id = ?1 AND kind = ?2 ORDER BY at DESC, id DESC LIMIT ?3",
            params![order.as_str(), kind, limit],
        )
    }

    pub fn administrations_for(
        &self,
        resident: &ResidentId,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Administration>> {
        let since = since.map(ts).unwrap_or_default();
        self.administrations(
            "SELECT json FROM p_records WHERE resident = ?1 AND kind = 'administration' AND at >= ?2 ORDER BY at, id",
            params![resident.as_str(), since],
        )
    }

    /// Administrations of every resident since `since`, for the round screen.
    pub fn administrations_since(&self, since: DateTime<Utc>) -> Result<Vec<Administration>> {
        self.administrations(ADMINISTRATIONS_SINCE_SQL, [ts(since)])
    }

    /// The review's view of every administration that happened in `[since, until)`, and of
    /// every correction made since `since` (a correction made later still voids a record of
    /// the period, S9). Read from columns, without decoding the records.
    pub fn dose_facts(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<DoseFact>> {
        let sql = DOSE_FACTS_SQL;
        self.facts(sql, params![ts(since), ts(until)])
    }

    fn facts<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<DoseFact>> {
        let time = |s: String| -> rusqlite::Result<DateTime<Utc>> {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(p, |r| {
            let outcome: String = r.get(4)?;
            let occurred_at = time(r.get(5)?)?;
            Ok(DoseFact {
                id: RecordId::new(r.get::<_, String>(0)?),
                resident: ResidentId::new(r.get::<_, String>(1)?),
                order: r.get::<_, Option<String>>(2)?.map(OrderId::new),
                slot: r.get::<_, Option<String>>(3)?.map(time).transpose()?,
                outcome: OutcomeCode::from_code(&outcome).ok_or_else(|| {
                    rusqlite::Error::InvalidColumnType(4, outcome, rusqlite::types::Type::Text)
                })?,
                occurred_at,
                recorded_at: r
                    .get::<_, Option<String>>(6)?
                    .map(time)
                    .transpose()?
                    .unwrap_or(occurred_at),
                late: r.get(7)?,
                author: StaffId::new(r.get::<_, String>(8)?),
                voids: r.get::<_, Option<String>>(9)?.map(RecordId::new),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Incidents raised since `since`, and every older one still open, each with its
    /// acknowledgements, newest first.
    pub fn incidents(&self, since: DateTime<Utc>) -> Result<Vec<(Incident, Vec<IncidentAck>)>> {
        let items: Vec<Item> = self.all_json(INCIDENTS_SQL, [ts(since)])?;
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            if let Item::Incident(i) = it {
                let acks = self.acknowledgements(&i.id)?;
                out.push((i, acks));
            }
        }
        Ok(out)
    }

    /// The acknowledgements of one incident, oldest first.
    pub fn acknowledgements(&self, incident: &RecordId) -> Result<Vec<IncidentAck>> {
        Ok(self
            .all_json::<Item, _>(
                "SELECT json FROM p_records WHERE refers_to = ?1 AND kind = 'incident_ack'
                 ORDER BY at, id",
                [incident.as_str()],
            )?
            .into_iter()
            .filter_map(|a| match a {
                Item::IncidentAck(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    /// The stock level of every order that has stock movements (S14): their sum.
    pub fn stock_levels(&self) -> Result<HashMap<OrderId, Qty>> {
        let mut stmt = self.conn.prepare_cached(STOCK_LEVELS_SQL)?;
        let rows = stmt.query_map([], |r| {
            Ok((OrderId::new(r.get::<_, String>(0)?), Qty::milli(r.get(1)?)))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The controlled-drug register balance of one order (S7): the sum of its entries.
    /// The orders with controlled-drug register lines projected after `mark`: what a merge
    /// brought, for the register's check after a merge (S7).
    pub fn cd_orders_after_mark(&self, mark: i64) -> Result<Vec<OrderId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT order_id FROM p_records
             WHERE rowid > ?1 AND kind = 'cd_entry' AND order_id IS NOT NULL ORDER BY order_id",
        )?;
        let rows = stmt.query_map([mark], |r| r.get::<_, String>(0))?;
        rows.map(|r| r.map(OrderId::new).map_err(StoreError::from))
            .collect()
    }

    pub fn cd_balance(&self, order: &OrderId) -> Result<Qty> {
        Ok(Qty::milli(self.conn.query_row(
            "SELECT COALESCE(SUM(qty), 0) FROM p_records WHERE order_id = ?1 AND kind = 'cd_entry'",
            [order.as_str()],
            |r| r.get(0),
        )?))
    }

    /// Every record of one kind since `since`, across residents (e.g. the day's follow-ups).
    pub fn items_of_kind_since(&self, kind: &str, since: DateTime<Utc>) -> Result<Vec<Item>> {
        self.all_json(ITEMS_OF_KIND_SINCE_SQL, params![kind, ts(since)])
    }

    /// Incidents nobody has acknowledged yet (the count on the round screen).
    pub fn open_incident_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached(OPEN_INCIDENTS_SQL)?
            .query_row([], |r| r.get(0))?)
    }

    /// When-required and homely-remedy administrations (and their corrections) of every
    /// resident since `since`: the records without a scheduled slot.
    pub fn when_required_since(&self, since: DateTime<Utc>) -> Result<Vec<Administration>> {
        self.administrations(WHEN_REQUIRED_SINCE_SQL, [ts(since)])
    }

    pub fn count_kind(&self, kind: &str) -> Result<i64> {
        Ok(self.conn.query_row(COUNT_KIND_SQL, [kind], |r| r.get(0))?)
    }

    pub fn items_for_order(&self, order: &OrderId, kind: &str) -> Result<Vec<Item>> {
        self.all_json(
            "SELECT json FROM p_records WHERE order_id = ?1 AND kind = ?2 ORDER BY at, id",
            params![order.as_str(), kind],
        )
    }

    pub fn record_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM p_records", [], |r| r.get(0))?)
    }

    /// The administrations among the records a query returns (its one column is the JSON).
    fn administrations<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<Administration>> {
        let items: Vec<Item> = self.all_json(sql, p)?;
        Ok(items
            .into_iter()
            .filter_map(|i| match i {
                Item::Administration(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    /// Reads reference data through its decoded copy: `get` finds it there, or `load` reads
    /// it from the projections and `keep` stores it.
    fn through_reference<T: Clone>(
        &self,
        get: impl FnOnce(&Reference) -> Option<&T>,
        keep: impl FnOnce(&mut Reference, T),
        load: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        if let Some(v) = get(&self.reference.borrow()) {
            return Ok(v.clone());
        }
        let v = load()?;
        keep(&mut self.reference.borrow_mut(), v.clone());
        Ok(v)
    }

    /// Empties the decoded reference data; the next read decodes it from the projections.
    fn forget_reference(&self) {
        self.reference.borrow_mut().clear();
    }

    fn all_json<T: DeserializeOwned, P: rusqlite::Params>(
        &self,
        sql: &str,
        p: P,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(p, |r| r.get::<_, String>(0))?;
        rows.map(|j| Ok(serde_json::from_str(&j?)?)).collect()
    }
}

/// Every `(key, json)` at the root of a document. Where two devices wrote the same key, the
/// Automerge winner is taken here; records have unique keys and so never conflict.
fn doc_entries(doc: &AutoCommit) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for k in doc.keys(ROOT) {
        if let Some((Value::Scalar(s), _)) = doc.get(ROOT, k.as_str())? {
            if let ScalarValue::Str(v) = s.as_ref() {
                out.push((k, v.to_string()));
            }
        }
    }
    Ok(out)
}

/// What `project_entry` wrote: a record, or reference data (home, staff, PINs, remedies,
/// orders, a resident's profile), which the store keeps decoded and must then forget.
#[derive(Debug, PartialEq, Eq)]
enum Projected {
    Record,
    Reference,
}

impl Reference {
    fn clear(&mut self) {
        *self = Reference::default();
    }
}

fn project_entry(
    tx: &rusqlite::Transaction<'_>,
    doc_id: &str,
    key: &str,
    json: &str,
) -> Result<Projected> {
    let entry = check::classify(doc_id, key, json)?;
    let projected = match entry {
        check::Entry::Record(..) | check::Entry::Schema => Projected::Record,
        _ => Projected::Reference,
    };
    match entry {
        check::Entry::Home | check::Entry::Tablet(_) => {
            tx.execute(
                "INSERT INTO p_home (key, json) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET json = excluded.json",
                params![key, json],
            )?;
        }
        check::Entry::Staff(id) => {
            tx.execute(
                "INSERT INTO p_staff (id, json) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET json = excluded.json",
                params![id, json],
            )?;
        }
        check::Entry::Pin(id) => {
            tx.execute(
                "INSERT INTO p_pins (staff_id, json) VALUES (?1, ?2)
                 ON CONFLICT (staff_id) DO UPDATE SET json = excluded.json",
                params![id, json],
            )?;
        }
        check::Entry::Remedy(id) => {
            tx.execute(
                "INSERT INTO p_remedies (id, json) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET json = excluded.json",
                params![id, json],
            )?;
        }
        check::Entry::Order(id, o) => {
            tx.execute(
                "INSERT INTO p_orders (id, resident, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET resident = excluded.resident, json = excluded.json",
                params![id, o.resident.as_str(), json],
            )?;
        }
        check::Entry::Profile => {} // projected as a whole by project_resident
        check::Entry::Schema => {}  // read from the document itself
        check::Entry::Record(item, resident) => {
            let c = columns(&item);
            tx.prepare_cached(
                "INSERT INTO p_records (id, kind, resident, order_id, at, doc_id, json,
                                        slot_at, outcome, late, author, recorded_at, refers_to, qty)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (id) DO NOTHING",
            )?
            .execute(params![
                item.id(),
                item.kind(),
                resident,
                item.order(),
                ts(item.at()),
                doc_id,
                json,
                c.slot_at,
                c.outcome,
                c.late,
                c.author,
                c.recorded_at,
                c.refers_to,
                c.qty
            ])?;
        }
    }
    Ok(projected)
}

fn project_resident(tx: &rusqlite::Transaction<'_>, doc: &AutoCommit) -> Result<()> {
    let mut obj = serde_json::Map::new();
    for (k, v) in doc_entries(doc)? {
        if let Some(field) = k.strip_prefix("profile/") {
            obj.insert(field.to_string(), serde_json::from_str(&v)?);
        }
    }
    if obj.is_empty() {
        return Ok(());
    }
    let r: Resident = serde_json::from_value(serde_json::Value::Object(obj))?;
    tx.execute(
        "INSERT INTO p_residents (id, unit, json) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET unit = excluded.unit, json = excluded.json",
        params![r.id.as_str(), r.unit.as_str(), serde_json::to_string(&r)?],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
