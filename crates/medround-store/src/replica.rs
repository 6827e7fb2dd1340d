//! The store as one side of a sync exchange (see medround-sync). Documents that arrive are
//! checked and projected in the same transaction that stores them: a change the projections
//! cannot take (a record that does not parse, a record filed under another resident) is
//! refused whole, and the document stays as it was.

use crate::check::{Arrival, Roster};
use crate::projection::{project_entry, project_resident};
use crate::{Store, StoreError};
use automerge::sync;
use automerge::AutoCommit;
use chrono::{DateTime, Utc};
use medround_sync::{Replica, SyncError};
use rusqlite::{params, OptionalExtension};

/// Where this device stands with a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncMark {
    /// Position in the peer's change feed.
    pub cursor: u64,
    pub last_synced: Option<DateTime<Utc>>,
    /// Local changes not yet sent.
    pub waiting: u64,
}

/// The documents to send, and the mark that says which local changes this exchange covers.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub docs: Vec<String>,
    pub through_seq: i64,
}

/// The store as seen by one peer during an exchange.
#[derive(Debug)]
pub struct StorePeer<'a> {
    store: &'a mut Store,
    peer: String,
}

/// The value Automerge shows at `key` (the winner where two devices wrote it; records have
/// unique keys and never conflict).
fn winner(doc: &AutoCommit, key: &str) -> crate::Result<Option<String>> {
    use automerge::{ReadDoc, ScalarValue, Value, ROOT};
    Ok(match doc.get(ROOT, key)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(v) => Some(v.to_string()),
            _ => None,
        },
        _ => None,
    })
}

fn storage(e: impl std::error::Error + Send + Sync + 'static) -> SyncError {
    SyncError::Storage(Box::new(e))
}

impl Store {
    pub fn sync_peer(&mut self, peer: &str) -> StorePeer<'_> {
        StorePeer {
            store: self,
            peer: peer.to_string(),
        }
    }

    pub fn sync_mark(&self, peer: &str) -> crate::Result<SyncMark> {
        let row: Option<(i64, Option<String>)> = self
            .conn
            .query_row(
                "SELECT cursor, last_synced FROM local_sync WHERE peer = ?1",
                [peer],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let waiting: i64 = self.conn.query_row(
            "SELECT coalesce(sum(changes), 0) FROM local_dirty",
            [],
            |r| r.get(0),
        )?;
        let (cursor, last) = row.unwrap_or((0, None));
        Ok(SyncMark {
            cursor: cursor as u64,
            last_synced: last
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| t.with_timezone(&Utc)),
            waiting: waiting as u64,
        })
    }

    /// What an exchange starting now should send.
    pub fn outgoing(&self) -> crate::Result<Outgoing> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc_id FROM local_dirty ORDER BY last_seq")?;
        let docs = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        let through_seq: i64 =
            self.conn
                .query_row("SELECT coalesce(max(seq), 0) FROM doc_chunks", [], |r| {
                    r.get(0)
                })?;
        Ok(Outgoing { docs, through_seq })
    }

    /// Records a completed exchange: the feed cursor, the time, and the local changes it sent.
    pub fn sync_completed(
        &mut self,
        peer: &str,
        cursor: u64,
        sent: &Outgoing,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO local_sync (peer, cursor, last_synced) VALUES (?1, ?2, ?3)
             ON CONFLICT (peer) DO UPDATE SET cursor = excluded.cursor, last_synced = excluded.last_synced",
            params![peer, cursor as i64, crate::ts(now)],
        )?;
        tx.execute(
            "DELETE FROM local_dirty WHERE last_seq <= ?1",
            [sent.through_seq],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stores the feed cursor reached so far, so that an exchange cut off part way through a
    /// long sync starts again from there.
    pub fn sync_cursor(&mut self, peer: &str, cursor: u64) -> crate::Result<()> {
        self.conn.execute(
            "INSERT INTO local_sync (peer, cursor) VALUES (?1, ?2)
             ON CONFLICT (peer) DO UPDATE SET cursor = max(cursor, excluded.cursor)",
            params![peer, cursor as i64],
        )?;
        Ok(())
    }
}

impl Replica for StorePeer<'_> {
    fn begin(&mut self) {
        let peer = self.peer.clone();
        self.store.live_sync.retain(|(p, _), _| p != &peer);
    }

    fn checkout(&mut self, doc_id: &str) -> Result<(AutoCommit, sync::State), SyncError> {
        self.store.doc(doc_id).map_err(storage)?;
        let doc = self.store.docs.remove(doc_id).expect("loaded above");
        let state = match self
            .store
            .live_sync
            .get(&(self.peer.clone(), doc_id.to_string()))
        {
            Some(s) => s.clone(),
            None => {
                let bytes: Option<Vec<u8>> = self
                    .store
                    .conn
                    .query_row(
                        "SELECT state FROM local_sync_state WHERE peer = ?1 AND doc_id = ?2",
                        [&self.peer, doc_id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(storage)?;
                match bytes {
                    Some(b) => sync::State::decode(&b).map_err(storage)?,
                    None => sync::State::new(),
                }
            }
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
        let refused = |e: StoreError| SyncError::Refused {
            doc: doc_id.into(),
            reason: e.to_string(),
        };
        // Only what arrived is checked and projected: the cost follows the changes, not the
        // size of the document. Every value of a touched key is checked, conflicts included.
        let mut keys = Default::default();
        let since = self
            .store
            .saved_heads
            .get(doc_id)
            .cloned()
            .unwrap_or_default();
        if changed {
            // The same checks as the central record's, less the clock: this tablet's may be
            // wrong, and what arrives here has passed the central record's.
            let roster = if doc_id == "home" {
                Roster::of_home(&doc).map_err(StoreError::from)
            } else {
                self.store.doc("home").and_then(|h| Ok(Roster::of_home(h)?))
            }
            .map_err(refused)?;
            let arrival = Arrival {
                sender: None,
                now: None,
                roster: &roster,
            };
            keys = crate::check::check_changes(doc_id, &mut doc, &since, &arrival)
                .map_err(|e| refused(e.into()))?;
        }
        let tx = self.store.conn.transaction().map_err(storage)?;
        if changed {
            let chunk = doc.save_after(&since);
            tx.execute(
                "INSERT INTO doc_chunks (doc_id, bytes) VALUES (?1, ?2)",
                params![doc_id, chunk],
            )
            .map_err(storage)?;
            for k in &keys {
                if let Some(v) = winner(&doc, k).map_err(refused)? {
                    project_entry(&tx, doc_id, k, &v).map_err(refused)?;
                }
            }
            if doc_id.starts_with("resident:") {
                project_resident(&tx, &doc).map_err(refused)?;
            }
        }
        tx.execute(
            "INSERT INTO local_sync_state (peer, doc_id, state) VALUES (?1, ?2, ?3)
             ON CONFLICT (peer, doc_id) DO UPDATE SET state = excluded.state",
            params![self.peer, doc_id, state.encode()],
        )
        .map_err(storage)?;
        if changed {
            // What arrived may change an order, a resident or the home's lists.
            self.store.reference.borrow_mut().clear();
        }
        tx.commit().map_err(storage)?;
        if changed {
            *self.store.chunks.entry(doc_id.to_string()).or_insert(0) += 1;
        }
        self.store
            .saved_heads
            .insert(doc_id.to_string(), doc.get_heads());
        self.store.docs.insert(doc_id.to_string(), doc);
        self.store
            .live_sync
            .insert((self.peer.clone(), doc_id.to_string()), state);
        Ok(())
    }
}
