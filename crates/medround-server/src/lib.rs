//! medround-server: the provider's central record. Tablets enrol with a one-time code, then sync
//! their home's Automerge documents over HTTP(S) (`medround_sync::serve` does the protocol; this
//! crate owns the sockets, the credentials and the storage).
//!
//! [`Central`] is the service without HTTP: enrolment, authentication, revocation and one sync
//! step, each a plain function that tests can call. [`http`] puts it behind axum.

pub mod config;
pub mod http;
pub mod postgres;
pub mod replica;
pub mod sqlite;
pub mod storage;
pub mod tls;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ROOT};
use chrono::{DateTime, Duration, Utc};
use medround_domain::order::{Order, OrderSource, OrderStatus};
use medround_sync::api::{ApiCode, ApiError, Enrolment};
use medround_sync::SyncError;
use replica::HomeReplica;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use storage::{Changes, Device, Home, Storage, StorageError};

/// Opens the storage `database` names: a `postgres://` (or `postgresql://`) URL, or else the
/// path of an SQLite file.
pub fn open_storage(database: &str) -> Result<Box<dyn Storage>, StorageError> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        Ok(Box::new(postgres::PostgresStorage::connect(database)?))
    } else {
        Ok(Box::new(sqlite::SqliteStorage::open(
            std::path::Path::new(database),
        )?))
    }
}

/// What the central record allows, so that no client, enrolled or not, can exhaust it. A
/// home's real day is about 2,000 records: a tablet sends about 1 MB of them (a tenth of that
/// gzipped) and creates a few documents, so each limit is far above honest use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; more wait to be accepted (below the common limit of 1,024
    /// open files, which the database needs some of).
    pub max_connections: usize,
    /// A request's headers must have arrived within this.
    pub header_timeout: std::time::Duration,
    /// A sync request's body must have arrived within this once its credential is checked.
    pub body_timeout: std::time::Duration,
    /// The largest sync request body, as sent (gzipped).
    pub max_request_bytes: usize,
    /// What one device may send in a day (UTC), in bytes as sent.
    pub daily_bytes: u64,
    /// New documents one device may create in a day (a year-old home of 120 residents, sent
    /// up by its first tablet, is about 3,300).
    pub daily_new_documents: u64,
    /// What all of one home's devices may send in a day together, in bytes as sent, and the
    /// new documents they may create: a home with many tablets, each within its own day, still
    /// cannot take the whole central record.
    pub home_daily_bytes: u64,
    pub home_daily_new_documents: u64,
    /// How long one sync step may run: checked between documents, so that no message, however
    /// crafted, holds a home (or a storage connection) for longer. A step that runs past it
    /// stores nothing and is answered "try again".
    pub step_budget: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(120),
            max_request_bytes: 32 * 1024 * 1024,
            daily_bytes: 512 * 1024 * 1024,
            daily_new_documents: 10_000,
            home_daily_bytes: 2 * 1024 * 1024 * 1024,
            home_daily_new_documents: 40_000,
            step_budget: std::time::Duration::from_secs(30),
        }
    }
}

/// What one device has sent on one day.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    day: Option<chrono::NaiveDate>,
    bytes: u64,
    new_documents: u64,
}

/// How long an enrolment code can be used.
pub const CODE_LIFETIME_HOURS: i64 = 24;

/// One change of a document and who sent it (`Central::change_senders`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeSender {
    pub hash: String,
    /// The Automerge actor that wrote it, in hex.
    pub actor: String,
    pub seq: u64,
    /// The time the writer gave it (seconds since 1970, as Automerge keeps it).
    pub time: i64,
    /// The enrolled device it came from; none for the central record's own changes.
    pub device: Option<String>,
}

/// Homes whose documents stay loaded between requests.
const CACHED_HOMES: usize = 16;

/// Each home's sync lock with its loaded documents, and the homes in the order last synced.
#[derive(Debug, Default)]
struct HomeLocks {
    locks: HashMap<String, Arc<Mutex<replica::DocCache>>>,
    recent: std::collections::VecDeque<String>,
}

/// Opens another connection to the central record's storage.
pub type Opener = Box<dyn Fn() -> Result<Box<dyn Storage>, StorageError> + Send + Sync>;

/// A storage connection taken from the pool, given back when dropped.
struct Lease<'a> {
    central: &'a Central,
    storage: Option<Box<dyn Storage>>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = Box<dyn Storage>;
    fn deref(&self) -> &Self::Target {
        self.storage.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.storage.as_mut().expect("held until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.storage.take() {
            self.central
                .pool
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(s);
            self.central.returned.notify_one();
        }
    }
}

/// Where the central record gets the time from (tests pass a fixed one).
pub type Now = Box<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The central record's service.
pub struct Central {
    /// Connections to the storage not in use; a request takes one for as long as it needs it.
    pool: Mutex<Vec<Box<dyn Storage>>>,
    returned: std::sync::Condvar,
    /// Opens another connection when every one is in use, up to `max_connections`: one home's
    /// long exchange then holds one connection, and the other homes' syncs go on beside it.
    open: Option<Opener>,
    connections: Mutex<usize>,
    max_connections: usize,
    /// Sync states of exchanges under way, by device: they carry what each side has already
    /// sent, which the stored state (the shared heads) does not.
    live: Mutex<HashMap<String, HashMap<String, replica::Live>>>,
    admin_token_hash: Option<String>,
    now: Now,
    /// Each home's loaded documents, locked for one sync step at a time: one home's steps run
    /// in turn, while other homes' run beside them.
    homes: Mutex<HomeLocks>,
    /// This process's Automerge actor for the changes the central record makes itself; one per
    /// process, so two servers on one database never reuse a sequence number.
    actor: String,
    limits: Limits,
    /// Each device's use today. Kept in memory: a restart forgets it, which at worst allows a
    /// device a second day's worth.
    usage: Mutex<HashMap<String, Usage>>,
}

impl std::fmt::Debug for Central {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Central").finish_non_exhaustive()
    }
}

pub fn api_error(code: ApiCode, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
        retry_after: None,
    }
}

fn unavailable(e: StorageError) -> ApiError {
    tracing::error!(error = %e, "storage failed");
    api_error(
        ApiCode::Unavailable,
        "The central record could not store this just now; nothing was changed. Try again.",
    )
}

/// SHA-256 of a secret, in hex: credentials and codes are kept only as hashes.
pub fn hash_secret(secret: &str) -> String {
    let d = Sha256::digest(secret.trim().as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Random bytes from the operating system, by way of UUID v4 (122 random bits each).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        out.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out.truncate(n);
    out
}

/// A code a manager can read out or type: 12 letters and digits (no 0/O, 1/I/L), in groups of
/// four. About 60 bits, usable once, for a day.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let chars: Vec<char> = random_bytes(24)
        .iter()
        .filter(|b| usize::from(**b) < ALPHABET.len() * 8)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .take(12)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Codes are typed by people: case and separators do not matter.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Central {
    pub fn new(storage: Box<dyn Storage>, admin_token: Option<&str>, now: Now) -> Central {
        Central {
            pool: Mutex::new(vec![storage]),
            returned: std::sync::Condvar::new(),
            open: None,
            connections: Mutex::new(1),
            max_connections: 1,
            live: Mutex::new(HashMap::new()),
            admin_token_hash: admin_token.map(hash_secret),
            now,
            homes: Mutex::new(HomeLocks::default()),
            actor: format!("central-{}", uuid::Uuid::new_v4().simple()),
            limits: Limits::default(),
            usage: Mutex::new(HashMap::new()),
        }
    }

    /// The same service, opening up to `max` connections to its storage with `open` as
    /// requests need them (one is the single connection given to `new`).
    pub fn with_connections(mut self, open: Opener, max: usize) -> Central {
        self.open = Some(open);
        self.max_connections = max.max(1);
        self
    }

    /// The same service with other limits (tests use small ones).
    pub fn with_limits(mut self, limits: Limits) -> Central {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Counts what a device sends against its day, refusing what would go past it with the
    /// seconds until the day ends.
    pub fn charge(&self, device: &Device, bytes: u64, new_documents: u64) -> Result<(), ApiError> {
        let now = (self.now)();
        let today = now.date_naive();
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        // A device's day and its home's day, each counted on its own key.
        let keys = [
            (
                device.id.clone(),
                self.limits.daily_bytes,
                self.limits.daily_new_documents,
            ),
            (
                format!("home:{}", device.home),
                self.limits.home_daily_bytes,
                self.limits.home_daily_new_documents,
            ),
        ];
        let mut over = false;
        for (key, max_bytes, max_docs) in &keys {
            let u = usage.entry(key.clone()).or_default();
            if u.day != Some(today) {
                *u = Usage {
                    day: Some(today),
                    ..Usage::default()
                };
            }
            over |= u.bytes + bytes > *max_bytes || u.new_documents + new_documents > *max_docs;
        }
        if over {
            let midnight = (today + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc();
            tracing::warn!(device = %device.id, home = %device.home, "a daily limit was reached");
            return Err(ApiError {
                code: ApiCode::Limited,
                message: "This tablet, or its home, has sent more today than the central record \
                          takes in a day; nothing of this request was stored. It will sync \
                          again after midnight (UTC); if it keeps happening, tell the \
                          provider."
                    .into(),
                retry_after: Some((midnight - now).num_seconds().max(1) as u64),
            });
        }
        for (key, _, _) in &keys {
            let u = usage.entry(key.clone()).or_default();
            u.bytes += bytes;
            u.new_documents += new_documents;
        }
        Ok(())
    }

    /// A connection to the storage: an idle one, a new one while fewer than the most are
    /// open, or else the next one returned. A panic in an earlier request cannot have left a
    /// half-written transaction behind (each write is one transaction), so a poisoned lock is
    /// taken as it is.
    fn storage(&self) -> Lease<'_> {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(s) = pool.pop() {
                return Lease {
                    central: self,
                    storage: Some(s),
                };
            }
            if let Some(open) = &self.open {
                let mut n = self.connections.lock().unwrap_or_else(|p| p.into_inner());
                if *n < self.max_connections {
                    match open() {
                        Ok(s) => {
                            *n += 1;
                            return Lease {
                                central: self,
                                storage: Some(s),
                            };
                        }
                        Err(e) => tracing::error!(error = %e, "opening another storage connection"),
                    }
                }
            }
            pool = self.returned.wait(pool).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The lock of one home's sync steps, and its loaded documents: whoever holds it holds
    /// that home's syncs, and only that home's (the provider's maintenance, and the tests that
    /// show one home's long exchange does not stop another's).
    pub fn home(&self, home: &str) -> Arc<Mutex<replica::DocCache>> {
        let mut homes = self.homes.lock().unwrap_or_else(|p| p.into_inner());
        let lock = homes.locks.entry(home.to_string()).or_default().clone();
        homes.recent.retain(|h| h != home);
        homes.recent.push_back(home.to_string());
        // Only the homes synced most recently keep documents loaded, so that a provider's
        // memory does not grow with its number of homes; a home's lock itself stays.
        while homes.recent.len() > CACHED_HOMES {
            let Some(old) = homes.recent.pop_front() else {
                break;
            };
            if let Some(cache) = homes.locks.get(&old) {
                if let Ok(mut c) = cache.try_lock() {
                    *c = replica::DocCache::default();
                }
            }
        }
        lock
    }

    pub fn is_admin(&self, token: Option<&str>) -> bool {
        match (&self.admin_token_hash, token) {
            (Some(h), Some(t)) => &hash_secret(t) == h,
            _ => false,
        }
    }

    pub fn add_home(&self, id: &str, name: &str) -> Result<Home, ApiError> {
        if medround_record::check_doc_id(&format!("resident:{id}")).is_err() {
            return Err(api_error(
                ApiCode::Malformed,
                "A home id is letters, digits, '-' and '_' only.",
            ));
        }
        if !medround_domain::tablet::valid_name(name) {
            return Err(api_error(
                ApiCode::Malformed,
                "Give the home a name of up to 100 characters, with no control characters.",
            ));
        }
        let home = Home {
            id: id.into(),
            name: name.trim().into(),
        };
        match self.storage().add_home(&home, (self.now)()) {
            Ok(()) => Ok(home),
            Err(StorageError::HomeExists(h)) => Err(api_error(
                ApiCode::Malformed,
                format!("Home {h} already exists."),
            )),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub fn homes(&self) -> Result<Vec<Home>, ApiError> {
        self.storage().homes().map_err(unavailable)
    }

    /// Issues a one-time enrolment code for `home`; the code is returned once and kept only as
    /// a hash.
    pub fn issue_code(&self, home: &str) -> Result<(String, DateTime<Utc>), ApiError> {
        let code = new_code();
        let expires = (self.now)() + Duration::hours(CODE_LIFETIME_HOURS);
        match self
            .storage()
            .add_code(home, &hash_secret(&normalise_code(&code)), expires)
        {
            Ok(()) => Ok((code, expires)),
            Err(StorageError::NoHome(h)) => Err(api_error(
                ApiCode::NotFound,
                format!("There is no home {h}."),
            )),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub fn enrol(
        &self,
        code: &str,
        device_name: &str,
        actor: Option<&str>,
    ) -> Result<Enrolment, ApiError> {
        let name = device_name.trim();
        // An actor is at most 64 bytes, in hex; never one of the central record's own.
        if let Some(a) = actor {
            let ok = automerge::ActorId::try_from(a).is_ok_and(|id| {
                !id.to_bytes().is_empty()
                    && id.to_bytes().len() <= 64
                    && !id.to_bytes().starts_with(b"central")
            });
            if !ok {
                return Err(api_error(
                    ApiCode::Malformed,
                    "The tablet's writer id is not one the central record accepts.",
                ));
            }
        }
        if !medround_domain::tablet::valid_name(name) {
            return Err(api_error(
                ApiCode::Malformed,
                "Give the tablet a name of up to 100 characters, with no control characters.",
            ));
        }
        let device = format!("dev-{}", uuid::Uuid::new_v4().simple());
        let credential: String = random_bytes(32)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut storage = self.storage();
        let enrolled = storage
            .enrol(
                &hash_secret(&normalise_code(code)),
                &device,
                name,
                &hash_secret(&credential),
                actor,
                (self.now)(),
            )
            .map_err(|e| match e {
                StorageError::ActorTaken(_) => api_error(
                    ApiCode::Malformed,
                    "This tablet's writer id belongs to another device. Update the app and \
                     enrol again.",
                ),
                e => unavailable(e),
            })?
            .ok_or_else(|| {
                api_error(
                    ApiCode::BadCode,
                    "That enrolment code is not known, has been used, or has expired. Ask the \
                     manager for a new one.",
                )
            })?;
        let home_name = storage
            .homes()
            .map_err(unavailable)?
            .into_iter()
            .find(|h| h.id == enrolled.home)
            .map(|h| h.name)
            .unwrap_or_default();
        Ok(Enrolment {
            device: enrolled.id,
            home: enrolled.home,
            home_name,
            credential,
        })
    }

    /// The device a credential belongs to, if it may sync.
    pub fn authenticate(&self, credential: Option<&str>) -> Result<Device, ApiError> {
        let Some(credential) = credential else {
            return Err(api_error(
                ApiCode::Unauthorised,
                "This device has no credential; enrol it first.",
            ));
        };
        let device = self
            .storage()
            .device_by_token(&hash_secret(credential))
            .map_err(unavailable)?
            .ok_or_else(|| {
                api_error(
                    ApiCode::Unauthorised,
                    "The central record does not know this device; enrol it again.",
                )
            })?;
        if device.revoked.is_some() {
            return Err(api_error(
                ApiCode::Revoked,
                "This device has been revoked by the provider; it can no longer sync. Its \
                 records stay on the tablet.",
            ));
        }
        Ok(device)
    }

    pub fn revoke(&self, device: &str) -> Result<(), ApiError> {
        if self
            .storage()
            .revoke(device, (self.now)())
            .map_err(unavailable)?
        {
            self.live
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(device);
            Ok(())
        } else {
            Err(api_error(
                ApiCode::NotFound,
                format!("There is no device {device}."),
            ))
        }
    }

    /// S16: an order from the pharmacy (new, changed, or stopped) goes into the resident's
    /// document as pending; it reaches every tablet of the home at its next sync and cannot be
    /// given until a senior checks it in.
    pub fn submit_order(&self, home: &str, json: &str) -> Result<Order, ApiError> {
        let mut o: Order = serde_json::from_str(json).map_err(|e| {
            api_error(
                ApiCode::Malformed,
                format!("The order is not understood: {e}"),
            )
        })?;
        o.status = OrderStatus::Pending;
        o.source = OrderSource::Pharmacy;
        o.checked_in_by.clear();
        // Where a replacing order's slots begin, and a prescriber's note that two orders are
        // both meant, are set at check-in by the senior who read them, never sent in.
        o.slots_after = None;
        o.both_intended = None;
        let doc_id = format!("resident:{}", o.resident);
        let key = format!("order/{}", o.id);
        let value =
            serde_json::to_string(&o).map_err(|e| api_error(ApiCode::Malformed, e.to_string()))?;
        medround_record::check_entry(&doc_id, &key, &value)
            .map_err(|e| api_error(ApiCode::Malformed, e.to_string()))?;
        let mut storage = self.storage();
        let (bytes, _) = storage
            .document(home, &doc_id)
            .map_err(unavailable)?
            .ok_or_else(|| {
                api_error(
                    ApiCode::NotFound,
                    format!("There is no resident {} in home {home}.", o.resident),
                )
            })?;
        let mut doc = AutoCommit::load(&bytes)
            .map_err(|e| unavailable(StorageError::Other(format!("{doc_id} is damaged: {e}"))))?;
        doc.set_actor(ActorId::from(self.actor.as_bytes()));
        let stored = doc.get_heads();
        doc.put(ROOT, key.as_str(), value.as_str())
            .map_err(|e| unavailable(StorageError::Other(e.to_string())))?;
        doc.commit_with(CommitOptions::default().with_time((self.now)().timestamp()));
        let chunk = doc.save_after(&stored);
        storage
            .store_changes(home, &doc_id, Changes::Incremental(&chunk))
            .map_err(unavailable)?;
        Ok(o)
    }

    /// The audit trail of one document: each change with the enrolled device that sent it
    /// (none for the central record's own, an order from the pharmacy), in the order Automerge
    /// applies them.
    pub fn change_senders(&self, home: &str, doc_id: &str) -> Result<Vec<ChangeSender>, ApiError> {
        medround_record::check_doc_id(doc_id)
            .map_err(|e| api_error(ApiCode::Malformed, e.to_string()))?;
        let mut storage = self.storage();
        let (bytes, _) = storage
            .document(home, doc_id)
            .map_err(unavailable)?
            .ok_or_else(|| api_error(ApiCode::NotFound, format!("{home} has no {doc_id}.")))?;
        let mut doc = AutoCommit::load(&bytes)
            .map_err(|e| unavailable(StorageError::Other(format!("{doc_id} is damaged: {e}"))))?;
        let mut owners: HashMap<String, Option<String>> = HashMap::new();
        let mut out = Vec::new();
        for change in doc.get_changes(&[]) {
            let actor = change.actor_id().to_hex_string();
            let device = match owners.get(&actor) {
                Some(d) => d.clone(),
                None => {
                    let d = storage.actor_owner(&actor).map_err(unavailable)?;
                    owners.insert(actor.clone(), d.clone());
                    d
                }
            };
            out.push(ChangeSender {
                hash: change.hash().to_string(),
                actor,
                seq: change.seq(),
                time: change.timestamp(),
                device,
            });
        }
        Ok(out)
    }

    pub fn devices(&self) -> Result<Vec<Device>, ApiError> {
        self.storage().devices().map_err(unavailable)
    }

    /// One sync step for an authenticated device: the request envelope in, the reply out. The
    /// device's home scopes every document it names.
    pub fn sync(&self, device: &Device, request: &[u8]) -> Result<Vec<u8>, ApiError> {
        // A device whose store went back (restored from a backup, or replaced) starts its
        // exchange from an older feed position than it has reported before: the central record
        // forgets what it believed the device had, so that it gets back everything it lacks.
        use medround_sync::wire::Envelope;
        if let Some((cursor, start)) = Envelope::cursor_and_start(request) {
            let restored = self
                .storage()
                .note_cursor(&device.id, cursor, start)
                .map_err(unavailable)?;
            if restored {
                tracing::warn!(
                    device = %device.id,
                    "the device starts from an older store than it had (restored); it is brought \
                     back to everything"
                );
                self.live
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&device.id);
            }
        }
        let mut live_all = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let mut live = live_all.remove(&device.id).unwrap_or_default();
        drop(live_all);
        let result = {
            let home = self.home(&device.home);
            let mut cache = home.lock().unwrap_or_else(|p| p.into_inner());
            let mut storage = self.storage();
            let mut replica = HomeReplica::new(
                &mut **storage,
                &device.home,
                &device.id,
                &mut live,
                &mut cache,
                (self.now)(),
            )
            .with_deadline(std::time::Instant::now() + self.limits.step_budget);
            match medround_sync::serve(&mut replica, request) {
                Ok(reply) => match self.charge(device, 0, replica.new_documents()) {
                    Ok(()) => replica.commit().map(|()| reply),
                    Err(limited) => return Err(limited),
                },
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(reply) => {
                // The feed position this reply brings the device to, once its documents
                // settle: a later exchange starting from before it comes from an older store.
                if let Some((cursor, _)) = Envelope::cursor_and_start(&reply) {
                    self.storage()
                        .note_cursor(&device.id, cursor, false)
                        .map_err(unavailable)?;
                }
                self.live
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(device.id.clone(), live);
                Ok(reply)
            }
            // A failed step forgets the exchange's in-flight state: the next request starts
            // again from what is stored.
            Err(e @ (SyncError::Malformed(_) | SyncError::Version(_))) => {
                Err(api_error(ApiCode::Malformed, e.to_string()))
            }
            Err(e @ SyncError::Refused { .. }) => Err(api_error(ApiCode::Refused, e.to_string())),
            Err(e @ (SyncError::NoProgress(_) | SyncError::Storage(_))) => {
                tracing::error!(device = %device.id, error = %e, "sync step failed");
                Err(api_error(
                    ApiCode::Unavailable,
                    "The central record could not store this just now; nothing was changed. Try again.",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_step_past_its_time_budget_stores_nothing_and_says_try_again() {
        use automerge::sync::SyncDoc;
        let dir = tempfile::tempdir().unwrap();
        let open = |budget: u64| {
            let storage = sqlite::SqliteStorage::open(&dir.path().join("central.db")).unwrap();
            let now: DateTime<Utc> = "2026-11-23T08:00:00Z".parse().unwrap();
            Central::new(Box::new(storage), None, Box::new(move || now)).with_limits(Limits {
                step_budget: std::time::Duration::from_millis(budget),
                ..Limits::default()
            })
        };
        let central = open(0);
        central.add_home("larch", "Larch House").unwrap();
        let (code, _) = central.issue_code("larch").unwrap();
        let e = central.enrol(&code, "Oak", None).unwrap();
        let device = central.authenticate(Some(&e.credential)).unwrap();
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "home/name", "\"Larch House\"").unwrap();
        doc.commit();
        let mut state = automerge::sync::State::new();
        let msg = doc
            .sync()
            .generate_sync_message(&mut state)
            .unwrap()
            .encode();
        let request = medround_sync::wire::Envelope {
            kind: medround_sync::wire::Kind::Request,
            cursor: 0,
            flag: true,
            start: true,
            docs: vec![("home".into(), msg)],
        }
        .encode();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let err = central.sync(&device, &request).unwrap_err();
        assert_eq!(err.code, ApiCode::Unavailable, "{}", err.message);
        assert!(central
            .storage()
            .document("larch", "home")
            .unwrap()
            .is_none());
        drop(central);
        let central = open(30_000);
        assert!(central.sync(&device, &request).is_ok());
    }

    #[test]
    fn a_devices_day_is_bounded_in_bytes_and_new_documents_and_starts_again_at_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let storage = sqlite::SqliteStorage::open(&dir.path().join("central.db")).unwrap();
        let clock = Arc::new(Mutex::new(
            "2026-11-23T23:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        ));
        let c = clock.clone();
        let central = Central::new(
            Box::new(storage),
            None,
            Box::new(move || *c.lock().unwrap()),
        )
        .with_limits(Limits {
            daily_bytes: 1000,
            daily_new_documents: 10,
            ..Limits::default()
        });
        let device = Device {
            id: "dev-1".into(),
            home: "larch".into(),
            name: "Oak".into(),
            enrolled: *clock.lock().unwrap(),
            revoked: None,
        };
        central.charge(&device, 600, 6).unwrap();
        central.charge(&device, 400, 4).unwrap();
        for (bytes, docs) in [(1, 0), (0, 1)] {
            let e = central.charge(&device, bytes, docs).unwrap_err();
            assert_eq!(e.code, ApiCode::Limited);
            assert_eq!(e.retry_after, Some(3600), "an hour to midnight");
        }
        // Another device has its own day; this one's starts again after midnight.
        let other = Device {
            id: "dev-2".into(),
            ..device.clone()
        };
        central.charge(&other, 1000, 10).unwrap();
        *clock.lock().unwrap() += Duration::hours(2);
        central.charge(&device, 1000, 10).unwrap();
        // A home's devices together are bounded too.
        let limited = Central::new(
            Box::new(sqlite::SqliteStorage::open(&dir.path().join("other.db")).unwrap()),
            None,
            Box::new(move || *clock.lock().unwrap()),
        )
        .with_limits(Limits {
            daily_bytes: 1000,
            home_daily_bytes: 1500,
            ..Limits::default()
        });
        limited.charge(&device, 1000, 0).unwrap();
        assert!(
            limited.charge(&other, 600, 0).is_err(),
            "the home's day is spent"
        );
        limited.charge(&other, 500, 0).unwrap();
    }

    #[test]
    fn a_tablet_name_is_counted_in_characters_and_must_not_be_blank() {
        let dir = tempfile::tempdir().unwrap();
        let storage = sqlite::SqliteStorage::open(&dir.path().join("central.db")).unwrap();
        let now: DateTime<Utc> = "2026-11-23T08:00:00Z".parse().unwrap();
        let central = Central::new(Box::new(storage), None, Box::new(move || now));
        central.add_home("larch", "Larch House").unwrap();
        let enrol = |name: &str| {
            let (code, _) = central.issue_code("larch").unwrap();
            central.enrol(&code, name, None)
        };
        // 100 characters, more than 100 bytes: accepted, as the tablet counts it.
        let welsh = "ŵ".repeat(100);
        assert!(enrol(&welsh).is_ok());
        for bad in [
            "",
            "   ",
            &"ŵ".repeat(101),
            "Tablet\u{0}A",
            "Tablet \u{1b}[2J",
            "Tablet \u{202e}A",
        ] {
            let e = enrol(bad).unwrap_err();
            assert_eq!(e.code, ApiCode::Malformed, "{bad:?}");
        }
        // A home's name too.
        for bad in ["", "Larch\u{0}", "Larch \u{202e}House"] {
            let e = central.add_home("other", bad).unwrap_err();
            assert_eq!(e.code, ApiCode::Malformed, "{bad:?}");
        }
        assert!(central.homes().unwrap().iter().all(|h| h.id != "other"));
    }
}
