//! The Automerge side of the store: documents loaded and kept, each write as one change and
//! one chunk in the same transaction as its projection rows, housekeeping (warming today's
//! documents, compacting long ones), and whole documents for export and sync.

use automerge::{transaction::Transactable, AutoCommit, ReadDoc, ScalarValue, Value, ROOT};
use chrono::{DateTime, Utc};
use medround_domain::schedule::HOME_TZ;
use rusqlite::params;

use crate::projection::{project_entry, project_resident, Projected};
use crate::{
    check, cycle_of, doc_schema, Change, Result, Store, StoreError, COMPACT_AFTER_CHUNKS,
    DOC_SCHEMA,
};

impl Store {
    pub(crate) fn doc(&mut self, doc_id: &str) -> Result<&mut AutoCommit> {
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
    pub(crate) fn write(
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
    pub(crate) fn write_changes(&mut self, changes: &[Change<'_>]) -> Result<()> {
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

    pub(crate) fn write_changes_inner(&mut self, changes: &[Change<'_>]) -> Result<()> {
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
}

/// Every `(key, json)` at the root of a document. Where two devices wrote the same key, the
/// Automerge winner is taken here; records have unique keys and so never conflict.
pub(crate) fn doc_entries(doc: &AutoCommit) -> Result<Vec<(String, String)>> {
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
