//! Where the central record keeps homes, devices and documents: one trait, with an embedded
//! SQLite implementation ([`crate::sqlite`]) for a single provider and PostgreSQL for many homes.
//! Every method that writes is one transaction, so a request cut off half way leaves nothing
//! half-written.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("this database was written by a newer medround-server (schema {database}; this one knows up to {app}); nothing has been changed")]
    TooNew { database: i64, app: i64 },
    #[error("no home {0}")]
    NoHome(String),
    #[error("home {0} already exists")]
    HomeExists(String),
    #[error("actor {0} is bound to another device")]
    ActorTaken(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Home {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub home: String,
    pub name: String,
    pub enrolled: DateTime<Utc>,
    pub revoked: Option<DateTime<Utc>>,
}

/// What is stored of a document's changes.
#[derive(Debug, Clone, Copy)]
pub enum Changes<'a> {
    /// New changes, appended after the stored ones.
    Incremental(&'a [u8]),
    /// The whole document, replacing every stored chunk (compaction).
    Whole(&'a [u8]),
}

/// One document's part in what a sync request stores.
#[derive(Debug, Clone, Copy)]
pub struct Checkin<'a> {
    pub doc_id: &'a str,
    pub changes: Option<Changes<'a>>,
    pub state: &'a [u8],
}

pub trait Storage: Send + std::fmt::Debug {
    fn add_home(&mut self, home: &Home, now: DateTime<Utc>) -> Result<()>;
    fn homes(&mut self) -> Result<Vec<Home>>;
    /// Keeps a one-time enrolment code (its hash) for `home` until `expires`.
    fn add_code(&mut self, home: &str, code_hash: &str, expires: DateTime<Utc>) -> Result<()>;
    /// Spends a code and enrols the device, binding `actor` to it, in one transaction. `None`
    /// when the code is unknown, already used or expired at `now`; `ActorTaken` when the actor
    /// is another device's.
    fn enrol(
        &mut self,
        code_hash: &str,
        device_id: &str,
        name: &str,
        token_hash: &str,
        actor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Device>>;
    /// Notes the change-feed position a device reports. At the start of an exchange, a
    /// position below the furthest it has reported means its store went back (restored from
    /// a backup, or replaced): its sync states are then forgotten, so that everything it lacks
    /// is found again, and `true` is returned.
    fn note_cursor(&mut self, device: &str, cursor: u64, start: bool) -> Result<bool>;
    /// The device an actor is bound to, if any.
    fn actor_owner(&mut self, actor: &str) -> Result<Option<String>>;
    fn device_by_token(&mut self, token_hash: &str) -> Result<Option<Device>>;
    /// Revokes a device at once. Returns false when there is no such device.
    fn revoke(&mut self, device_id: &str, now: DateTime<Utc>) -> Result<bool>;
    fn devices(&mut self) -> Result<Vec<Device>>;

    /// A document of one home as its stored chunks joined (Automerge loads them as one), and
    /// how many chunks there are; `None` if the home has no such document.
    fn document(&mut self, home: &str, doc_id: &str) -> Result<Option<(Vec<u8>, u32)>>;
    /// The document's position in its home's change feed (it moves with every change stored),
    /// or `None` if there is no such document.
    fn doc_seq(&mut self, home: &str, doc_id: &str) -> Result<Option<u64>>;
    fn sync_state(&mut self, device: &str, doc_id: &str) -> Result<Option<Vec<u8>>>;
    /// Stores what one sync request brought, in one transaction: each document's new changes
    /// (if any; the document then moves to the end of the home's change feed) and the
    /// device's sync state for it. Either all of it is stored or none. Returns, for each, the
    /// document's new feed position when changes were stored. `claims` are actors first seen
    /// in this request (changes the tablet wrote before it was enrolled), bound to `device` in
    /// the same transaction.
    fn checkin(
        &mut self,
        home: &str,
        device: &str,
        docs: &[Checkin<'_>],
        claims: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<u64>>>;
    /// Stores changes the central record made itself (an order from the pharmacy); the
    /// document moves to the end of the home's change feed.
    fn store_changes(&mut self, home: &str, doc_id: &str, changes: Changes<'_>) -> Result<()>;
    /// Up to `limit` documents of `home` changed after feed position `cursor`, the position
    /// after the last of them, and whether more follow.
    fn changed_since(
        &mut self,
        home: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64, bool)>;
}
