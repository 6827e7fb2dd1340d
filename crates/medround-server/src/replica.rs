//! One home's documents as seen by one enrolled device: the central record's side of
//! `medround_sync::serve`. Every document name is scoped by the home the device belongs to, so a
//! device can only ever read or write its own home's records; whatever arrives is checked
//! (`medround_record::check_changes`) before it is kept, and what one request brings is stored
//! whole or not at all.

use crate::storage::{Changes, Checkin, Storage, StorageError};
use automerge::{sync, ActorId, AutoCommit};
use chrono::{DateTime, Utc};
use medround_record::{Arrival, Roster};
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

/// Documents recently synced, kept loaded: a year-old home's current cycle documents are large,
/// and loading them again for every request of every exchange costs more than the sync itself.
/// An entry is used only while the document's feed position is unchanged, so a change stored by
/// another request, or another server process on the same database, is never missed.
#[derive(Debug, Default)]
pub struct DocCache {
    entries: HashMap<(String, String), Cached>,
    /// Keys in the order they were last put, each with the tick it was put at; an older tick
    /// of a key put again since is skipped when evicting.
    order: std::collections::VecDeque<((String, String), u64)>,
    tick: u64,
}

#[derive(Debug)]
struct Cached {
    seq: u64,
    chunks: u32,
    doc: AutoCommit,
    tick: u64,
}

/// Documents kept loaded at most.
const CACHE_DOCS: usize = 256;

impl DocCache {
    fn take(&mut self, home: &str, doc_id: &str, seq: u64) -> Option<(AutoCommit, u32)> {
        let key = (home.to_string(), doc_id.to_string());
        let c = self.entries.remove(&key)?;
        (c.seq == seq).then_some((c.doc, c.chunks))
    }

    fn put(&mut self, home: &str, doc_id: &str, seq: u64, chunks: u32, doc: AutoCommit) {
        self.tick += 1;
        let key = (home.to_string(), doc_id.to_string());
        self.order.push_back((key.clone(), self.tick));
        let tick = self.tick;
        self.entries.insert(
            key,
            Cached {
                seq,
                chunks,
                doc,
                tick,
            },
        );
        // Evict the least recently put documents beyond the limit.
        while self.entries.len() > CACHE_DOCS {
            let Some((old, t)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|c| c.tick == t) {
                self.entries.remove(&old);
            }
        }
        if self.order.len() > 4 * CACHE_DOCS {
            let entries = &self.entries;
            self.order
                .retain(|(k, t)| entries.get(k).is_some_and(|c| c.tick == *t));
        }
    }
}

/// A document checked in during a request, kept until the request's end: a request is stored
/// whole or not at all.
#[derive(Debug)]
struct Pending {
    doc_id: String,
    /// The changes to store, and whether they are the whole document (compaction).
    changes: Option<(Vec<u8>, bool)>,
    state: sync::State,
    doc: AutoCommit,
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
    /// Each checked-out document's feed position, for the cache.
    seqs: HashMap<String, u64>,
    cache: &'a mut DocCache,
    /// What this request has checked in so far, stored by [`HomeReplica::commit`].
    pending: Vec<Pending>,
    /// The home's staff, read once per request (and again when the home document changes).
    roster: Option<Roster>,
    now: DateTime<Utc>,
    /// Actors seen in this request, and the device each is bound to (none yet: this one
    /// claims it at commit).
    owners: HashMap<String, Option<String>>,
    claims: Vec<String>,
    /// Documents the home did not have when this request named them.
    absent: std::collections::BTreeSet<String>,
    /// When this step must have finished by (see `Limits::step_budget`).
    deadline: Option<std::time::Instant>,
}

impl<'a> HomeReplica<'a> {
    pub fn new(
        storage: &'a mut dyn Storage,
        home: &'a str,
        device: &'a str,
        live: &'a mut HashMap<String, Live>,
        cache: &'a mut DocCache,
        now: DateTime<Utc>,
    ) -> HomeReplica<'a> {
        HomeReplica {
            storage,
            home,
            device,
            live,
            chunks: HashMap::new(),
            stored_heads: HashMap::new(),
            seqs: HashMap::new(),
            cache,
            pending: Vec::new(),
            roster: None,
            now,
            owners: HashMap::new(),
            claims: Vec::new(),
            absent: Default::default(),
            deadline: None,
        }
    }

    /// Stops the step with an error, storing nothing, if it runs past `deadline`.
    pub fn with_deadline(mut self, deadline: std::time::Instant) -> HomeReplica<'a> {
        self.deadline = Some(deadline);
        self
    }

    /// The stored document, from the cache where its feed position is unchanged.
    fn stored(&mut self, doc_id: &str) -> Result<Option<AutoCommit>, SyncError> {
        let seq = self.storage.doc_seq(self.home, doc_id).map_err(storage)?;
        let cached = seq.and_then(|q| self.cache.take(self.home, doc_id, q));
        Ok(match (seq, cached) {
            (Some(q), Some((d, n))) => {
                self.seqs.insert(doc_id.to_string(), q);
                self.chunks.insert(doc_id.to_string(), n);
                Some(d)
            }
            _ => match self.storage.document(self.home, doc_id).map_err(storage)? {
                Some((bytes, n)) => {
                    if let Some(q) = seq {
                        self.seqs.insert(doc_id.to_string(), q);
                    }
                    self.chunks.insert(doc_id.to_string(), n);
                    Some(AutoCommit::load(&bytes).map_err(|e| {
                        SyncError::Storage(
                            format!("stored document {doc_id} is damaged: {e}").into(),
                        )
                    })?)
                }
                None => None,
            },
        })
    }

    /// The home's staff as stored, or as checked in earlier in this request.
    fn roster(&mut self) -> Result<Roster, SyncError> {
        if let Some(r) = &self.roster {
            return Ok(r.clone());
        }
        let roster = match self.pending.iter().find(|p| p.doc_id == "home") {
            Some(p) => Roster::of_home(&p.doc),
            None => match self.stored("home")? {
                Some(doc) => {
                    let r = Roster::of_home(&doc);
                    if let Some(q) = self.seqs.get("home").copied() {
                        let n = self.chunks.get("home").copied().unwrap_or(0);
                        self.cache.put(self.home, "home", q, n, doc);
                    }
                    r
                }
                None => Ok(Roster::default()),
            },
        }
        .map_err(|e| SyncError::Storage(Box::new(e)))?;
        self.roster = Some(roster.clone());
        Ok(roster)
    }

    /// Each new change is written by an actor of this device's: the one bound to it at
    /// enrolment, or one no device has sent before (changes the tablet wrote before it was
    /// enrolled), which it then claims. An actor of another device's, or of the central
    /// record's own, is refused: a device cannot write as another.
    fn check_actors(
        &mut self,
        doc_id: &str,
        doc: &mut AutoCommit,
        since: &[automerge::ChangeHash],
    ) -> Result<(), SyncError> {
        let actors: std::collections::BTreeSet<automerge::ActorId> = doc
            .get_changes(since)
            .iter()
            .map(|c| c.actor_id().clone())
            .collect();
        for actor in actors {
            if actor.to_bytes().starts_with(b"central") {
                return Err(SyncError::Refused {
                    doc: doc_id.into(),
                    reason: "a change written as the central record itself was refused".into(),
                });
            }
            let hex = actor.to_hex_string();
            let owner = match self.owners.get(&hex) {
                Some(o) => o.clone(),
                None => {
                    let o = self.storage.actor_owner(&hex).map_err(storage)?;
                    self.owners.insert(hex.clone(), o.clone());
                    if o.is_none() {
                        self.claims.push(hex.clone());
                    }
                    o
                }
            };
            if owner.as_deref().is_some_and(|o| o != self.device) {
                return Err(SyncError::Refused {
                    doc: doc_id.into(),
                    reason: format!(
                        "a change written as another tablet (actor {hex}) was refused: each \
                         tablet writes as itself"
                    ),
                });
            }
        }
        Ok(())
    }

    /// How many documents this request creates.
    pub fn new_documents(&self) -> u64 {
        self.pending
            .iter()
            .filter(|p| p.changes.is_some() && self.absent.contains(&p.doc_id))
            .count() as u64
    }

    /// Stores everything this request checked in, in one transaction, then keeps the
    /// documents loaded and the exchange's states for its next request. Nothing of a request
    /// that failed part way is stored: its replica is dropped without this.
    pub fn commit(mut self) -> Result<(), SyncError> {
        let states: Vec<Vec<u8>> = self.pending.iter().map(|p| p.state.encode()).collect();
        let items: Vec<Checkin<'_>> = self
            .pending
            .iter()
            .zip(&states)
            .map(|(p, state)| Checkin {
                doc_id: &p.doc_id,
                changes: p.changes.as_ref().map(|(bytes, whole)| {
                    if *whole {
                        Changes::Whole(bytes)
                    } else {
                        Changes::Incremental(bytes)
                    }
                }),
                state,
            })
            .collect();
        let stored_at = self
            .storage
            .checkin(self.home, self.device, &items, &self.claims, self.now)
            .map_err(storage)?;
        drop(items);
        for (mut p, stored_at) in std::mem::take(&mut self.pending).into_iter().zip(stored_at) {
            let mut waiting = None;
            if !p.doc.get_missing_deps(&[]).is_empty() {
                waiting = Some(p.doc);
            } else {
                // Keep it loaded for the next request, at the feed position it is stored at.
                let seq = stored_at.or_else(|| self.seqs.get(&p.doc_id).copied());
                if let Some(seq) = seq {
                    let had = self.chunks.get(&p.doc_id).copied().unwrap_or(0);
                    let n = match &p.changes {
                        Some((_, true)) => 1,
                        Some((_, false)) => had + 1,
                        None => had,
                    };
                    self.cache.put(self.home, &p.doc_id, seq, n, p.doc);
                }
            }
            self.live.insert(
                p.doc_id,
                Live {
                    state: p.state,
                    waiting,
                },
            );
        }
        Ok(())
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
        medround_record::check_doc_id(doc_id).map_err(|e| SyncError::Refused {
            doc: doc_id.into(),
            reason: e.to_string(),
        })?;
        if self.deadline.is_some_and(|d| std::time::Instant::now() > d) {
            return Err(SyncError::Storage(
                "the sync step ran past its time budget; nothing of it was stored".into(),
            ));
        }
        // A document checked in earlier in this request is handed out as it was left.
        if let Some(i) = self.pending.iter().position(|p| p.doc_id == doc_id) {
            let p = self.pending.remove(i);
            return Ok((p.doc, p.state));
        }
        let waiting = self.live.get_mut(doc_id).and_then(|l| l.waiting.take());
        let mut doc = match waiting {
            Some(d) => d,
            None => match self.stored(doc_id)? {
                Some(d) => d,
                None => {
                    self.absent.insert(doc_id.to_string());
                    AutoCommit::new()
                }
            },
        };
        doc.set_actor(ActorId::from(b"central".as_slice()));
        self.stored_heads
            .insert(doc_id.to_string(), doc.get_heads());
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
        let refused = |e: medround_record::RecordError| SyncError::Refused {
            doc: doc_id.into(),
            reason: e.to_string(),
        };
        // A document handed out twice in one request keeps the changes of the first time.
        let changed = changed
            || self
                .stored_heads
                .get(doc_id)
                .is_some_and(|h| *h != doc.get_heads());
        let changes = if changed {
            let since = self.stored_heads.get(doc_id).cloned().unwrap_or_default();
            let roster = if doc_id == "home" {
                Roster::of_home(&doc).map_err(refused)?
            } else {
                self.roster()?
            };
            let arrival = Arrival {
                sender: Some(self.device),
                now: Some(self.now),
                roster: &roster,
            };
            medround_record::check_changes(doc_id, &mut doc, &since, &arrival).map_err(refused)?;
            self.check_actors(doc_id, &mut doc, &since)?;
            if doc_id == "home" {
                self.roster = Some(roster);
            }
            if self.chunks.get(doc_id).copied().unwrap_or(0) >= COMPACT_AFTER_CHUNKS {
                Some((doc.save(), true))
            } else {
                // What arrived after the stored heads (Automerge's `save_incremental` would
                // encode a freshly loaded document whole once, only to find its place).
                Some((doc.save_after(&since), false))
            }
        } else {
            None
        };
        self.pending.push(Pending {
            doc_id: doc_id.to_string(),
            changes,
            state,
            doc,
        });
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

    fn position(&mut self, doc_id: &str) -> Result<Option<u64>, SyncError> {
        self.storage.doc_seq(self.home, doc_id).map_err(storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_cache_keeps_the_most_recently_used_and_checks_the_feed_position() {
        let mut c = DocCache::default();
        for i in 0..CACHE_DOCS + 50 {
            c.put("h", &format!("resident:r{i}"), 1, 1, AutoCommit::new());
            // The first document is used on every step: it must never be the one evicted.
            let (d, n) = c.take("h", "resident:r0", 1).expect("kept");
            c.put("h", "resident:r0", 1, n, d);
        }
        assert_eq!(c.entries.len(), CACHE_DOCS);
        assert!(c.take("h", "resident:r0", 1).is_some());
        assert!(
            c.take("h", "resident:r1", 1).is_none(),
            "the oldest went first"
        );
        // A document stored again since (another feed position) is not served from memory.
        c.put("h", "home", 7, 1, AutoCommit::new());
        assert!(c.take("h", "home", 8).is_none());
        assert!(c.take("h", "home", 7).is_none(), "a stale entry is dropped");
        // Homes are kept apart.
        c.put("a", "home", 1, 1, AutoCommit::new());
        assert!(c.take("b", "home", 1).is_none());
        assert!(c.order.len() <= 4 * CACHE_DOCS + 1);
    }
}
