//! One home's documents as seen by one enrolled device: the central record's side of
//! `medround_sync::serve`. Every document name is scoped by the home the device belongs to, so a
//! device can only ever read or write its own home's records; whatever arrives is checked
//! (`medround_store::check_document`) before it is kept.

use crate::storage::{Changes, Storage, StorageError};
use automerge::{sync, ActorId, AutoCommit};
use medround_sync::{Feed, Replica, SyncError};
use std::collections::HashMap;

/// A document is saved whole, replacing its chunks, once it has this many.
const COMPACT_AFTER_CHUNKS: u32 = 64;

/// One document's part in an exchange under way: Automerge's sync state (what each side has
/// sent), and the document itself while it holds changes that wait for their dependencies
/// (they exist only in memory until those arrive).
#[derive(Debug, Default)]
pub struct Live {
    pub state: sync::State,
    pub waiting: Option<AutoCommit>,
}

#[derive(Debug)]
pub struct HomeReplica<'a> {
    pub storage: &'a mut dyn Storage,
    pub home: &'a str,
    pub device: &'a str,
    /// The exchange under way with this device (kept between requests).
    pub live: &'a mut HashMap<String, Live>,
    chunks: HashMap<String, u32>,
    /// Each checked-out document's heads as stored, so only what arrives is checked.
    stored_heads: HashMap<String, Vec<automerge::ChangeHash>>,
}

impl<'a> HomeReplica<'a> {
    pub fn new(
        storage: &'a mut dyn Storage,
        home: &'a str,
        device: &'a str,
        live: &'a mut HashMap<String, Live>,
    ) -> HomeReplica<'a> {
        HomeReplica {
            storage,
            home,
            device,
            live,
            chunks: HashMap::new(),
            stored_heads: HashMap::new(),
        }
    }
}

fn storage(e: StorageError) -> SyncError {
    SyncError::Storage(Box::new(e))
}

impl Replica for HomeReplica<'_> {
    fn begin(&mut self) {
        self.live.clear();
    }

    fn checkout(&mut self, doc_id: &str) -> Result<(AutoCommit, sync::State), SyncError> {
        medround_store::check_doc_id(doc_id).map_err(|e| SyncError::Refused {
            doc: doc_id.into(),
            reason: e.to_string(),
        })?;
        let waiting = self.live.get_mut(doc_id).and_then(|l| l.waiting.take());
        let mut doc = match waiting {
            Some(d) => d,
            None => match self.storage.document(self.home, doc_id).map_err(storage)? {
                Some((bytes, n)) => {
                    self.chunks.insert(doc_id.to_string(), n);
                    AutoCommit::load(&bytes).map_err(|e| {
                        SyncError::Storage(
                            format!("stored document {doc_id} is damaged: {e}").into(),
                        )
                    })?
                }
                None => AutoCommit::new(),
            },
        };
        doc.set_actor(ActorId::from(b"central".as_slice()));
        self.stored_heads
            .insert(doc_id.to_string(), doc.get_heads());
        // Later saves hold only what arrives from now on.
        let _ = doc.save_incremental();
        let state = match self.live.get(doc_id) {
            Some(l) => l.state.clone(),
            None => match self
                .storage
                .sync_state(self.device, doc_id)
                .map_err(storage)?
            {
                Some(b) => sync::State::decode(&b).map_err(|e| SyncError::Storage(Box::new(e)))?,
                None => sync::State::new(),
            },
        };
        Ok((doc, state))
    }

    fn checkin(
        &mut self,
        doc_id: &str,
        mut doc: AutoCommit,
        state: sync::State,
        changed: bool,
    ) -> Result<(), SyncError> {
        let (whole, incremental);
        let changes = if changed {
            let since = self.stored_heads.get(doc_id).cloned().unwrap_or_default();
            medround_store::check_changes(doc_id, &mut doc, &since).map_err(|e| {
                SyncError::Refused {
                    doc: doc_id.into(),
                    reason: e.to_string(),
                }
            })?;
            if self.chunks.get(doc_id).copied().unwrap_or(0) >= COMPACT_AFTER_CHUNKS {
                whole = doc.save();
                Some(Changes::Whole(&whole))
            } else {
                incremental = doc.save_incremental();
                Some(Changes::Incremental(&incremental))
            }
        } else {
            None
        };
        self.storage
            .checkin(self.home, self.device, doc_id, changes, &state.encode())
            .map_err(storage)?;
        let waiting = (!doc.get_missing_deps(&[]).is_empty()).then_some(doc);
        self.live
            .insert(doc_id.to_string(), Live { state, waiting });
        Ok(())
    }
}

impl Feed for HomeReplica<'_> {
    fn changed_since(
        &mut self,
        cursor: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64, bool), SyncError> {
        self.storage
            .changed_since(self.home, cursor, limit)
            .map_err(storage)
    }
}
