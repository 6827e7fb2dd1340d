//! The central record on embedded SQLite: one file, WAL, durable commits.

use crate::storage::{Changes, Checkin, Device, Home, Result, Storage, StorageError};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// Forward-only migrations, tracked in `PRAGMA user_version`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_central.sql"),
    include_str!("../migrations/sqlite/0002_devices_answer_for_their_changes.sql"),
];

#[derive(Debug)]
pub struct SqliteStorage {
    conn: Connection,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl SqliteStorage {
    pub fn open(path: &Path) -> Result<SqliteStorage> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StorageError::Other(format!("{}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let have: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let latest = MIGRATIONS.len() as i64;
        if have > latest {
            return Err(StorageError::TooNew {
                database: have,
                app: latest,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(SqliteStorage { conn })
    }
}

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let enrolled: String = r.get(3)?;
    let revoked: Option<String> = r.get(4)?;
    Ok(Device {
        id: r.get(0)?,
        home: r.get(1)?,
        name: r.get(2)?,
        enrolled: parse_ts(&enrolled).unwrap_or_default(),
        revoked: revoked.as_deref().and_then(parse_ts),
    })
}

/// Appends (or, for a whole save, replaces) a document's chunks and moves the document to the
/// end of its home's feed.
fn put_chunk(
    tx: &rusqlite::Transaction<'_>,
    home: &str,
    doc_id: &str,
    changes: Changes<'_>,
) -> Result<u64> {
    let (bytes, whole) = match changes {
        Changes::Incremental(b) => (b, false),
        Changes::Whole(b) => {
            tx.execute(
                "DELETE FROM chunks WHERE home = ?1 AND doc_id = ?2",
                params![home, doc_id],
            )?;
            (b, true)
        }
    };
    tx.execute(
        "INSERT INTO chunks (home, doc_id, bytes) VALUES (?1, ?2, ?3)",
        params![home, doc_id, bytes],
    )?;
    let seq = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO documents (home, doc_id, seq, chunks) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (home, doc_id) DO UPDATE SET seq = excluded.seq,
           chunks = CASE WHEN ?4 THEN 1 ELSE chunks + 1 END",
        params![home, doc_id, seq, whole],
    )?;
    Ok(seq as u64)
}

const DEVICE_COLUMNS: &str = "id, home, name, enrolled, revoked";

impl Storage for SqliteStorage {
    fn add_home(&mut self, home: &Home, now: DateTime<Utc>) -> Result<()> {
        let n = self.conn.execute(
            "INSERT INTO homes (id, name, created) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![home.id, home.name, ts(now)],
        )?;
        if n == 0 {
            return Err(StorageError::HomeExists(home.id.clone()));
        }
        Ok(())
    }

    fn homes(&mut self) -> Result<Vec<Home>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name FROM homes ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(Home {
                id: r.get(0)?,
                name: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_code(&mut self, home: &str, code_hash: &str, expires: DateTime<Utc>) -> Result<()> {
        let exists: bool = self
            .conn
            .query_row("SELECT 1 FROM homes WHERE id = ?1", [home], |_| Ok(true))
            .optional()?
            .unwrap_or(false);
        if !exists {
            return Err(StorageError::NoHome(home.into()));
        }
        self.conn.execute(
            "INSERT INTO enrolment_codes (code_hash, home, expires) VALUES (?1, ?2, ?3)",
            params![code_hash, home, ts(expires)],
        )?;
        Ok(())
    }

    fn enrol(
        &mut self,
        code_hash: &str,
        device_id: &str,
        name: &str,
        token_hash: &str,
        actor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Device>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if let Some(actor) = actor {
            if tx
                .query_row("SELECT device FROM actors WHERE actor = ?1", [actor], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .is_some()
            {
                return Err(StorageError::ActorTaken(actor.into()));
            }
        }
        let home: Option<String> = tx
            .query_row(
                "SELECT home FROM enrolment_codes
                 WHERE code_hash = ?1 AND used_by IS NULL AND expires > ?2",
                params![code_hash, ts(now)],
                |r| r.get(0),
            )
            .optional()?;
        let Some(home) = home else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE enrolment_codes SET used_by = ?2 WHERE code_hash = ?1",
            params![code_hash, device_id],
        )?;
        tx.execute(
            "INSERT INTO devices (id, home, name, token_hash, enrolled) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![device_id, home, name, token_hash, ts(now)],
        )?;
        if let Some(actor) = actor {
            tx.execute(
                "INSERT INTO actors (actor, device, bound) VALUES (?1, ?2, ?3)",
                params![actor, device_id, ts(now)],
            )?;
        }
        tx.commit()?;
        Ok(Some(Device {
            id: device_id.into(),
            home,
            name: name.into(),
            enrolled: now,
            revoked: None,
        }))
    }

    fn device_by_token(&mut self, token_hash: &str) -> Result<Option<Device>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1"
        ))?;
        Ok(stmt.query_row([token_hash], device_row).optional()?)
    }

    fn revoke(&mut self, device_id: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE devices SET revoked = coalesce(revoked, ?2) WHERE id = ?1",
            params![device_id, ts(now)],
        )?;
        Ok(n > 0)
    }

    fn devices(&mut self) -> Result<Vec<Device>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY home, enrolled"
        ))?;
        let rows = stmt.query_map([], device_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn document(&mut self, home: &str, doc_id: &str) -> Result<Option<(Vec<u8>, u32)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT bytes FROM chunks WHERE home = ?1 AND doc_id = ?2 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![home, doc_id])?;
        let (mut bytes, mut n) = (Vec::new(), 0u32);
        while let Some(r) = rows.next()? {
            bytes.extend_from_slice(&r.get::<_, Vec<u8>>(0)?);
            n += 1;
        }
        Ok((n > 0).then_some((bytes, n)))
    }

    fn doc_seq(&mut self, home: &str, doc_id: &str) -> Result<Option<u64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq FROM documents WHERE home = ?1 AND doc_id = ?2")?;
        Ok(stmt
            .query_row(params![home, doc_id], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|s| s as u64))
    }

    fn sync_state(&mut self, device: &str, doc_id: &str) -> Result<Option<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT state FROM sync_states WHERE device = ?1 AND doc_id = ?2")?;
        Ok(stmt
            .query_row(params![device, doc_id], |r| r.get(0))
            .optional()?)
    }

    fn checkin(
        &mut self,
        home: &str,
        device: &str,
        docs: &[Checkin<'_>],
        claims: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<u64>>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for actor in claims {
            tx.execute(
                "INSERT INTO actors (actor, device, bound) VALUES (?1, ?2, ?3)",
                params![actor, device, ts(now)],
            )?;
        }
        let mut seqs = Vec::with_capacity(docs.len());
        for d in docs {
            seqs.push(match d.changes {
                Some(changes) => Some(put_chunk(&tx, home, d.doc_id, changes)?),
                None => None,
            });
            tx.execute(
                "INSERT INTO sync_states (device, doc_id, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device, doc_id) DO UPDATE SET state = excluded.state",
                params![device, d.doc_id, d.state],
            )?;
        }
        tx.commit()?;
        Ok(seqs)
    }

    fn note_cursor(&mut self, device: &str, cursor: u64, start: bool) -> Result<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let seen: i64 = tx.query_row(
            "SELECT cursor_seen FROM devices WHERE id = ?1",
            [device],
            |r| r.get(0),
        )?;
        let cursor = cursor as i64;
        let restored = start && cursor < seen;
        if restored {
            tx.execute("DELETE FROM sync_states WHERE device = ?1", [device])?;
        }
        if restored || cursor > seen {
            tx.execute(
                "UPDATE devices SET cursor_seen = ?2 WHERE id = ?1",
                params![device, cursor],
            )?;
        }
        tx.commit()?;
        Ok(restored)
    }

    fn actor_owner(&mut self, actor: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT device FROM actors WHERE actor = ?1")?
            .query_row([actor], |r| r.get(0))
            .optional()?)
    }

    fn store_changes(&mut self, home: &str, doc_id: &str, changes: Changes<'_>) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        put_chunk(&tx, home, doc_id, changes)?;
        tx.commit()?;
        Ok(())
    }

    fn changed_since(
        &mut self,
        home: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64, bool)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc_id, seq FROM documents WHERE home = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![home, cursor as i64, limit as i64 + 1], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut page: Vec<(String, i64)> = rows.collect::<Result<_, _>>()?;
        let more = page.len() > limit;
        page.truncate(limit);
        let next = page.last().map(|(_, s)| *s as u64).unwrap_or(cursor);
        Ok((page.into_iter().map(|(d, _)| d).collect(), next, more))
    }
}
