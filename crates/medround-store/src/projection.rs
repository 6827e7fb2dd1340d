//! Projections: the query tables (`p_*`) the screens read, kept in step with the documents in
//! the same transaction, and rebuilt from the documents alone when asked.

use automerge::AutoCommit;
use medround_domain::resident::Resident;
use rusqlite::params;

use crate::documents::doc_entries;
use crate::{check, ts, Item, Reference, Result, Store};

impl Store {
    /// Every row of every projection table, one line each (`table<TAB>row as JSON`), for tests
    /// that pin what documents project to. A column holding JSON is shown parsed, with its keys
    /// in order, so that the line does not depend on how a map was laid out when it was written.
    pub fn projection_rows(&self) -> Result<Vec<String>> {
        let tables: Vec<String> = self
            .conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'p\\_%' \
                 ESCAPE '\\' ORDER BY name",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for table in tables {
            let mut stmt = self.conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
            let names: Vec<String> = stmt.column_names().map(|c| c.to_string()).collect();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let mut cells = serde_json::Map::new();
                for (i, name) in names.iter().enumerate() {
                    use rusqlite::types::ValueRef;
                    let v = match row.get_ref(i)? {
                        ValueRef::Null => serde_json::Value::Null,
                        ValueRef::Integer(n) => n.into(),
                        ValueRef::Real(x) => x.into(),
                        ValueRef::Text(t) => {
                            let t = String::from_utf8_lossy(t);
                            match serde_json::from_str::<serde_json::Value>(&t) {
                                Ok(
                                    j
                                    @ (serde_json::Value::Object(_) | serde_json::Value::Array(_)),
                                ) => j,
                                _ => t.into_owned().into(),
                            }
                        }
                        ValueRef::Blob(b) => b
                            .iter()
                            .map(|x| format!("{x:02x}"))
                            .collect::<String>()
                            .into(),
                    };
                    cells.insert(name.clone(), v);
                }
                out.push(format!("{table}\t{}", serde_json::Value::Object(cells)));
            }
        }
        Ok(out)
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
}

/// What `project_entry` wrote: a record, or reference data (home, staff, PINs, remedies,
/// orders, a resident's profile), which the store keeps decoded and must then forget.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Projected {
    Record,
    Reference,
}

impl Reference {
    pub(crate) fn clear(&mut self) {
        *self = Reference::default();
    }
}

pub(crate) fn project_entry(
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

pub(crate) fn project_resident(tx: &rusqlite::Transaction<'_>, doc: &AutoCommit) -> Result<()> {
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

/// The columns the review and the MAR read without decoding the record: (slot, outcome,
/// late, author, the record it refers to).
pub(crate) fn columns(item: &Item) -> Columns<'_> {
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

/// The columns of `p_records` beyond the record's kind, id and time (migration 0005).
#[derive(Debug, Default)]
pub(crate) struct Columns<'a> {
    slot_at: Option<String>,
    outcome: Option<&'static str>,
    late: bool,
    author: Option<&'a str>,
    recorded_at: Option<String>,
    refers_to: Option<&'a str>,
    /// Thousandths a stock movement, dose or register entry changes the level by.
    qty: i64,
}
