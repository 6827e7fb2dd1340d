//! A replica kept in memory: for tests and benchmarks of the protocol, and as the reference the
//! stored replicas are checked against. It keeps documents as saved bytes, as a real store does,
//! so a refused step can never leave a half-applied document behind.

use crate::{Feed, Replica, SyncError};
use automerge::sync;
use automerge::{ActorId, AutoCommit, ReadDoc, ScalarValue, Value, ROOT};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub struct MemoryReplica {
    actor: Vec<u8>,
    docs: BTreeMap<String, Vec<u8>>,
    /// Stored sync states by (peer, document).
    states: BTreeMap<(String, String), Vec<u8>>,
    /// The states of the exchange under way.
    live: BTreeMap<(String, String), sync::State>,
    /// Documents holding changes that wait for their dependencies, for the exchange under way.
    waiting: BTreeMap<(String, String), AutoCommit>,
    /// The peer the next exchange is with.
    pub peer: String,
    seq: u64,
    changed_at: BTreeMap<String, u64>,
    dirty: BTreeSet<String>,
    /// Refuse changes whose values are not JSON, as the real stores do.
    pub check_json: bool,
}

impl MemoryReplica {
    pub fn new(actor: &str) -> MemoryReplica {
        MemoryReplica {
            actor: actor.as_bytes().to_vec(),
            peer: "server".into(),
            check_json: true,
            ..MemoryReplica::default()
        }
    }

    fn load(&self, doc_id: &str) -> AutoCommit {
        let mut doc = match self.docs.get(doc_id) {
            Some(b) => AutoCommit::load(b).expect("stored documents load"),
            None => AutoCommit::new(),
        };
        doc.set_actor(ActorId::from(self.actor.clone()));
        doc
    }

    fn bump(&mut self, doc_id: &str) {
        self.seq += 1;
        self.changed_at.insert(doc_id.to_string(), self.seq);
    }

    /// A local edit: one change putting `value` at `key`.
    pub fn put(&mut self, doc_id: &str, key: &str, value: &str) {
        let mut doc = self.load(doc_id);
        automerge::transaction::Transactable::put(&mut doc, ROOT, key, value).expect("put");
        doc.commit();
        self.docs.insert(doc_id.to_string(), doc.save());
        self.dirty.insert(doc_id.to_string());
        self.bump(doc_id);
    }

    /// A whole saved document, as if it had arrived here: for tests that bring in documents
    /// written elsewhere (by an older build, say). The bytes must load.
    pub fn insert_saved(&mut self, doc_id: &str, bytes: &[u8]) {
        AutoCommit::load(bytes).expect("a saved Automerge document");
        self.docs.insert(doc_id.to_string(), bytes.to_vec());
        self.bump(doc_id);
    }

    /// The documents written here since the last call.
    pub fn take_dirty(&mut self) -> Vec<String> {
        std::mem::take(&mut self.dirty).into_iter().collect()
    }

    pub fn doc_ids(&self) -> Vec<String> {
        self.docs.keys().cloned().collect()
    }

    /// Every value at `key`, conflicting ones included: nothing is hidden behind a winner.
    pub fn values(&self, doc_id: &str, key: &str) -> Vec<String> {
        values_in(&self.load(doc_id), key)
    }

    /// Every key and its values, for comparing replicas.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
        self.docs
            .keys()
            .map(|id| {
                let doc = self.load(id);
                let keys: BTreeMap<String, Vec<String>> = doc
                    .keys(ROOT)
                    .map(|k| {
                        let v = values_in(&doc, &k);
                        (k, v)
                    })
                    .collect();
                (id.clone(), keys)
            })
            .collect()
    }
}

impl Replica for MemoryReplica {
    fn begin(&mut self) {
        let peer = self.peer.clone();
        self.live.retain(|(p, _), _| p != &peer);
        self.waiting.retain(|(p, _), _| p != &peer);
    }

    fn checkout(&mut self, doc_id: &str) -> Result<(AutoCommit, sync::State), SyncError> {
        let key = (self.peer.clone(), doc_id.to_string());
        let state = match (self.live.get(&key), self.states.get(&key)) {
            (Some(s), _) => s.clone(),
            (None, Some(b)) => {
                sync::State::decode(b).map_err(|e| SyncError::Storage(Box::new(e)))?
            }
            (None, None) => sync::State::new(),
        };
        let doc = match self.waiting.remove(&key) {
            Some(d) => d,
            None => self.load(doc_id),
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
        if changed {
            if self.check_json {
                for k in doc.keys(ROOT).collect::<Vec<_>>() {
                    for (v, _) in doc
                        .get_all(ROOT, k.as_str())
                        .map_err(|e| SyncError::Storage(Box::new(e)))?
                    {
                        let ok = matches!(&v, Value::Scalar(s) if matches!(s.as_ref(), ScalarValue::Str(t) if is_json(t)));
                        if !ok {
                            return Err(SyncError::Refused {
                                doc: doc_id.into(),
                                reason: format!("{k} is not a record"),
                            });
                        }
                    }
                }
            }
            self.docs.insert(doc_id.to_string(), doc.save());
            self.bump(doc_id);
        }
        let key = (self.peer.clone(), doc_id.to_string());
        self.states.insert(key.clone(), state.encode());
        self.live.insert(key.clone(), state);
        if !doc.get_missing_deps(&[]).is_empty() {
            self.waiting.insert(key, doc);
        }
        Ok(())
    }
}

/// Every value a Medround document holds is JSON; the real stores go further and parse the
/// record itself.
fn is_json(s: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(s).is_ok()
}

impl Feed for MemoryReplica {
    fn changed_since(
        &mut self,
        cursor: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64, bool), SyncError> {
        let mut changed: Vec<(u64, &String)> = self
            .changed_at
            .iter()
            .filter(|(_, s)| **s > cursor)
            .map(|(d, s)| (*s, d))
            .collect();
        changed.sort();
        let more = changed.len() > limit;
        changed.truncate(limit);
        let next = changed.last().map(|(s, _)| *s).unwrap_or(cursor);
        Ok((
            changed.into_iter().map(|(_, d)| d.clone()).collect(),
            next,
            more,
        ))
    }
}

/// Every string value at `key` in the root of `doc`, sorted.
fn values_in(doc: &AutoCommit, key: &str) -> Vec<String> {
    let mut out: Vec<String> = doc
        .get_all(ROOT, key)
        .expect("read")
        .into_iter()
        .filter_map(|(v, _)| match v {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Str(s) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    out.sort();
    out
}
