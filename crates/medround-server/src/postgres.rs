//! The central record on PostgreSQL, for a provider with many homes: the same tables and the
//! same behaviour as [`crate::sqlite`], checked by the same test suite.

use crate::storage::{Changes, Checkin, Device, Home, Result, Storage, StorageError};
use chrono::{DateTime, Utc};
use postgres::{Client, NoTls};

/// Forward-only migrations, tracked in the table `medround_schema`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_central.sql"),
    include_str!("../migrations/postgres/0002_devices_answer_for_their_changes.sql"),
];

pub struct PostgresStorage {
    client: Client,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresStorage")
    }
}

impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> StorageError {
        StorageError::Other(format!("postgres: {e}"))
    }
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://user@host:port/db`) and brings the schema up to date.
    pub fn connect(url: &str) -> Result<PostgresStorage> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute(
            "CREATE TABLE IF NOT EXISTS medround_schema (version INTEGER NOT NULL);
             LOCK TABLE medround_schema IN EXCLUSIVE MODE;",
        )?;
        let have: i32 = client
            .query_opt("SELECT max(version) FROM medround_schema", &[])?
            .and_then(|r| r.get::<_, Option<i32>>(0))
            .unwrap_or(0);
        let latest = MIGRATIONS.len() as i32;
        if have > latest {
            return Err(StorageError::TooNew {
                database: i64::from(have),
                app: i64::from(latest),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
            let mut tx = client.transaction()?;
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO medround_schema (version) VALUES ($1)",
                &[&(i as i32 + 1)],
            )?;
            tx.commit()?;
        }
        Ok(PostgresStorage { client })
    }
}

fn device_row(r: &postgres::Row) -> Device {
    Device {
        id: r.get(0),
        home: r.get(1),
        name: r.get(2),
        enrolled: r.get(3),
        revoked: r.get(4),
    }
}

/// Appends (or, for a whole save, replaces) a document's chunks and moves the document to the
/// end of its home's feed.
fn put_chunk(
    tx: &mut postgres::Transaction<'_>,
    home: &str,
    doc_id: &str,
    changes: Changes<'_>,
) -> Result<u64> {
    // One writer per home at a time, so feed positions commit in the order they are handed
    // out and a reader never skips one that commits late.
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&home])?;
    let (bytes, whole) = match changes {
        Changes::Incremental(b) => (b, false),
        Changes::Whole(b) => {
            tx.execute(
                "DELETE FROM chunks WHERE home = $1 AND doc_id = $2",
                &[&home, &doc_id],
            )?;
            (b, true)
        }
    };
    let seq: i64 = tx
        .query_one(
            "INSERT INTO chunks (home, doc_id, bytes) VALUES ($1, $2, $3) RETURNING seq",
            &[&home, &doc_id, &bytes],
        )?
        .get(0);
    tx.execute(
        "INSERT INTO documents (home, doc_id, seq, chunks) VALUES ($1, $2, $3, 1)
         ON CONFLICT (home, doc_id) DO UPDATE SET seq = excluded.seq,
           chunks = CASE WHEN $4 THEN 1 ELSE documents.chunks + 1 END",
        &[&home, &doc_id, &seq, &whole],
    )?;
    Ok(seq as u64)
}

const DEVICE_COLUMNS: &str = "id, home, name, enrolled, revoked";

impl Storage for PostgresStorage {
    fn add_home(&mut self, home: &Home, now: DateTime<Utc>) -> Result<()> {
        let n = self.client.execute(
            "INSERT INTO homes (id, name, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&home.id, &home.name, &now],
        )?;
        if n == 0 {
            return Err(StorageError::HomeExists(home.id.clone()));
        }
        Ok(())
    }

    fn homes(&mut self) -> Result<Vec<Home>> {
        Ok(self
            .client
            .query("SELECT id, name FROM homes ORDER BY id", &[])?
            .iter()
            .map(|r| Home {
                id: r.get(0),
                name: r.get(1),
            })
            .collect())
    }

    fn add_code(&mut self, home: &str, code_hash: &str, expires: DateTime<Utc>) -> Result<()> {
        if self
            .client
            .query_opt("SELECT 1 FROM homes WHERE id = $1", &[&home])?
            .is_none()
        {
            return Err(StorageError::NoHome(home.into()));
        }
        self.client.execute(
            "INSERT INTO enrolment_codes (code_hash, home, expires) VALUES ($1, $2, $3)",
            &[&code_hash, &home, &expires],
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
        let mut tx = self.client.transaction()?;
        if let Some(actor) = actor {
            if tx
                .query_opt("SELECT device FROM actors WHERE actor = $1", &[&actor])?
                .is_some()
            {
                return Err(StorageError::ActorTaken(actor.into()));
            }
        }
        // FOR UPDATE: two tablets racing with one code cannot both spend it.
        let Some(row) = tx.query_opt(
            "SELECT home FROM enrolment_codes
             WHERE code_hash = $1 AND used_by IS NULL AND expires > $2 FOR UPDATE",
            &[&code_hash, &now],
        )?
        else {
            return Ok(None);
        };
        let home: String = row.get(0);
        tx.execute(
            "UPDATE enrolment_codes SET used_by = $2 WHERE code_hash = $1",
            &[&code_hash, &device_id],
        )?;
        tx.execute(
            "INSERT INTO devices (id, home, name, token_hash, enrolled) VALUES ($1, $2, $3, $4, $5)",
            &[&device_id, &home, &name, &token_hash, &now],
        )?;
        if let Some(actor) = actor {
            tx.execute(
                "INSERT INTO actors (actor, device, bound) VALUES ($1, $2, $3)",
                &[&actor, &device_id, &now],
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
        Ok(self
            .client
            .query_opt(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = $1"),
                &[&token_hash],
            )?
            .map(|r| device_row(&r)))
    }

    fn revoke(&mut self, device_id: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = self.client.execute(
            "UPDATE devices SET revoked = coalesce(revoked, $2) WHERE id = $1",
            &[&device_id, &now],
        )?;
        Ok(n > 0)
    }

    fn devices(&mut self) -> Result<Vec<Device>> {
        Ok(self
            .client
            .query(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY home, enrolled"),
                &[],
            )?
            .iter()
            .map(device_row)
            .collect())
    }

    fn document(&mut self, home: &str, doc_id: &str) -> Result<Option<(Vec<u8>, u32)>> {
        let rows = self.client.query(
            "SELECT bytes FROM chunks WHERE home = $1 AND doc_id = $2 ORDER BY seq",
            &[&home, &doc_id],
        )?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        for r in &rows {
            bytes.extend_from_slice(r.get::<_, &[u8]>(0));
        }
        Ok(Some((bytes, rows.len() as u32)))
    }

    fn doc_seq(&mut self, home: &str, doc_id: &str) -> Result<Option<u64>> {
        Ok(self
            .client
            .query_opt(
                "SELECT seq FROM documents WHERE home = $1 AND doc_id = $2",
                &[&home, &doc_id],
            )?
            .map(|r| r.get::<_, i64>(0) as u64))
    }

    fn sync_state(&mut self, device: &str, doc_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .client
            .query_opt(
                "SELECT state FROM sync_states WHERE device = $1 AND doc_id = $2",
                &[&device, &doc_id],
            )?
            .map(|r| r.get(0)))
    }

    fn checkin(
        &mut self,
        home: &str,
        device: &str,
        docs: &[Checkin<'_>],
        claims: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<u64>>> {
        let mut tx = self.client.transaction()?;
        for actor in claims {
            tx.execute(
                "INSERT INTO actors (actor, device, bound) VALUES ($1, $2, $3)",
                &[actor, &device, &now],
            )?;
        }
        let mut seqs = Vec::with_capacity(docs.len());
        for d in docs {
            seqs.push(match d.changes {
                Some(changes) => Some(put_chunk(&mut tx, home, d.doc_id, changes)?),
                None => None,
            });
            tx.execute(
                "INSERT INTO sync_states (device, doc_id, state) VALUES ($1, $2, $3)
                 ON CONFLICT (device, doc_id) DO UPDATE SET state = excluded.state",
                &[&device, &d.doc_id, &d.state],
            )?;
        }
        tx.commit()?;
        Ok(seqs)
    }

    fn note_cursor(&mut self, device: &str, cursor: u64, start: bool) -> Result<bool> {
        let mut tx = self.client.transaction()?;
        let seen: i64 = tx
            .query_one(
                "SELECT cursor_seen FROM devices WHERE id = $1 FOR UPDATE",
                &[&device],
            )?
            .get(0);
        let cursor = cursor as i64;
        let restored = start && cursor < seen;
        if restored {
            tx.execute("DELETE FROM sync_states WHERE device = $1", &[&device])?;
        }
        if restored || cursor > seen {
            tx.execute(
                "UPDATE devices SET cursor_seen = $2 WHERE id = $1",
                &[&device, &cursor],
            )?;
        }
        tx.commit()?;
        Ok(restored)
    }

    fn actor_owner(&mut self, actor: &str) -> Result<Option<String>> {
        Ok(self
            .client
            .query_opt("SELECT device FROM actors WHERE actor = $1", &[&actor])?
            .map(|r| r.get(0)))
    }

    fn store_changes(&mut self, home: &str, doc_id: &str, changes: Changes<'_>) -> Result<()> {
        let mut tx = self.client.transaction()?;
        put_chunk(&mut tx, home, doc_id, changes)?;
        tx.commit()?;
        Ok(())
    }

    fn changed_since(
        &mut self,
        home: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64, bool)> {
        let rows = self.client.query(
            "SELECT doc_id, seq FROM documents WHERE home = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&home, &(cursor as i64), &(limit as i64 + 1)],
        )?;
        let more = rows.len() > limit;
        let page: Vec<(String, i64)> = rows
            .iter()
            .take(limit)
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let next = page.last().map(|(_, s)| *s as u64).unwrap_or(cursor);
        Ok((page.into_iter().map(|(d, _)| d).collect(), next, more))
    }
}
