//! Records: appended to a resident's cycle document (never updated or deleted, S9), and read
//! back for the rules, the review, the MAR, stock and the register, each question one index
//! range.

use chrono::{DateTime, Utc};
use medround_domain::fact::DoseFact;
use medround_domain::incident::{Incident, IncidentAck};
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::Administration;
use medround_domain::schedule::HOME_TZ;
use medround_domain::{OrderId, RecordId, ResidentId, StaffId};
use rusqlite::params;
use rusqlite::types::Type;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

use crate::{
    cycle_of, item_json, ts, Change, Item, Reference, Result, Store, StoreError, DECODED_LIMIT,
};

impl Store {
    /// Appends records for one resident as one document change and one durable transaction.
    /// A record id that already exists is refused: records are never overwritten (S9).
    pub fn append(
        &mut self,
        resident: &ResidentId,
        now: DateTime<Utc>,
        items: &[Item],
    ) -> Result<()> {
        self.append_each(resident, &[(now, items.to_vec())])
    }

    /// Appends several events' records for one resident, each event its own document change
    /// (as the app makes one change per dose), all in one durable transaction: how history is
    /// imported (the demo home, records brought over from another system). A record id that
    /// already exists, here or earlier in `events`, is refused and nothing is written (S9).
    pub fn append_each(
        &mut self,
        resident: &ResidentId,
        events: &[(DateTime<Utc>, Vec<Item>)],
    ) -> Result<()> {
        let mut changes = Vec::with_capacity(events.len());
        let mut seen = std::collections::HashSet::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT 1 FROM p_records WHERE id = ?1")?;
            for (now, items) in events {
                let mut entries = Vec::with_capacity(items.len());
                for it in items {
                    if !seen.insert(it.id().to_string()) || stmt.exists([it.id()])? {
                        return Err(StoreError::Duplicate(it.id().to_string()));
                    }
                    entries.push((format!("{}/{}", it.kind(), it.id()), item_json(it)?));
                }
                let cycle = cycle_of(now.with_timezone(&HOME_TZ).date_naive());
                changes.push((format!("cycle:{resident}:{cycle}"), *now, entries));
            }
        }
        let changes: Vec<Change<'_>> = changes
            .iter()
            .map(|(d, t, e)| (d.as_str(), *t, e.as_slice()))
            .collect();
        self.write_changes(&changes)
    }

    /// Records of one resident since `since`, by the time they happened.
    pub fn items_for(
        &self,
        resident: &ResidentId,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Item>> {
        let since = since.map(ts).unwrap_or_default();
        self.all_json(
            "SELECT json FROM p_records WHERE resident = ?1 AND at >= ?2 ORDER BY at, id",
            params![resident.as_str(), since],
        )
    }

    /// One resident's records that happened in `[since, until)`, and every correction made
    /// since `since` (a later correction still voids a record of the period, S9), by time. Only
    /// those are decoded, however much history follows the period.
    pub fn items_in_period(
        &self,
        resident: &ResidentId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Item>> {
        self.all_json(
            "SELECT json FROM p_records
             WHERE resident = ?1 AND at >= ?2
               AND (at < ?3 OR (kind = 'administration' AND refers_to IS NOT NULL))
             ORDER BY at, id",
            params![resident.as_str(), ts(since), ts(until)],
        )
    }

    /// The administrations the safety rules need whole for one resident, bounded however long
    /// the history: every record since `recent` (PRN intervals and 24-hour totals, S4; the
    /// slots of today, S3), the last `per_order` records of each of `orders` (the orders with a
    /// body site: the last patch and its site, S13), and homely-remedy records since `homely`
    /// (days of use, S17). Each part is an index range, so a dose costs the same on day 365 as
    /// on day 1. The other orders' older slots come as facts (`slot_facts`).
    pub fn administrations_for_rules(
        &self,
        resident: &ResidentId,
        orders: &[OrderId],
        recent: DateTime<Utc>,
        homely: DateTime<Utc>,
        per_order: u32,
    ) -> Result<Vec<Administration>> {
        let mut found: HashMap<String, Administration> = HashMap::new();
        let mut fresh = Vec::new();
        let mut collect = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<()> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let mut rows = stmt.query(p)?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                if found.contains_key(&id) {
                    continue;
                }
                if let Some(a) = self.decoded.borrow().get(&id) {
                    found.insert(id, a.clone());
                    continue;
                }
                let json = r.get_ref(1)?.as_str().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(1, Type::Text, Box::new(e))
                })?;
                if let Item::Administration(a) = serde_json::from_str(json)? {
                    fresh.push(a.clone());
                    found.insert(id, a);
                }
            }
            Ok(())
        };
        collect(
            "SELECT id, json FROM p_records
             WHERE resident = ?1 AND kind = 'administration' AND at >= ?2",
            &[&resident.as_str(), &ts(recent)],
        )?;
        collect(HOMELY_SQL, &[&resident.as_str(), &ts(homely)])?;
        for o in orders {
            collect(
                "SELECT id, json FROM p_records
                 WHERE order_id = ?1 AND kind = 'administration' ORDER BY at DESC LIMIT ?2",
                &[&o.as_str(), &per_order],
            )?;
        }
        let mut decoded = self.decoded.borrow_mut();
        if decoded.len() + fresh.len() > DECODED_LIMIT {
            decoded.clear();
        }
        decoded.extend(fresh.into_iter().map(|a| (a.id.to_string(), a)));
        let mut out: Vec<Administration> = found.into_values().collect();
        out.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
        Ok(out)
    }

    /// The last `per_order` administrations of each of `orders`, however old, as dose facts
    /// read from columns: whether a slot has an outcome (S8) and the last slots' outcomes
    /// (S11), without decoding a record.
    pub fn slot_facts(&self, orders: &[OrderId], per_order: u32) -> Result<Vec<DoseFact>> {
        let mut out = Vec::new();
        for o in orders {
            out.extend(self.facts(SLOT_FACTS_SQL, params![o.as_str(), per_order])?);
        }
        Ok(out)
    }

    /// A mark for "what is projected now": the largest row number of the records. Rows
    /// only ever grow (records are appended, S9), so what has a larger number came later,
    /// from this tablet or from a merge.
    pub fn records_mark(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT COALESCE(MAX(rowid), 0) FROM p_records")?
            .query_row([], |r| r.get(0))?)
    }

    /// Each resident with administrations projected after `mark`, and the earliest time any
    /// of them names (when it happened, or the slot it is for): what a merge brought, however
    /// old, for the checks after a merge (S18).
    pub fn administrations_after_mark(
        &self,
        mark: i64,
    ) -> Result<Vec<(ResidentId, DateTime<Utc>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT resident, at, slot_at FROM p_records
             WHERE rowid > ?1 AND kind = 'administration'",
        )?;
        let rows = stmt.query_map([mark], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut earliest: std::collections::BTreeMap<String, DateTime<Utc>> = Default::default();
        let parse = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        for row in rows {
            let (resident, at, slot) = row?;
            let times = [parse(&at), slot.as_deref().and_then(parse)];
            for t in times.into_iter().flatten() {
                earliest
                    .entry(resident.clone())
                    .and_modify(|e| *e = (*e).min(t))
                    .or_insert(t);
            }
        }
        Ok(earliest
            .into_iter()
            .map(|(r, t)| (ResidentId::new(r), t))
            .collect())
    }

    /// One record by its id.
    pub fn item(&self, id: &str) -> Result<Option<Item>> {
        Ok(self
            .all_json("SELECT json FROM p_records WHERE id = ?1", [id])?
            .pop())
    }

    /// The newest `limit` records of one kind for an order, newest first.
    pub fn latest_for_order(&self, order: &OrderId, kind: &str, limit: u32) -> Result<Vec<Item>> {
        self.all_json(
            "SELECT json FROM p_records WHERE order_id = ?1 AND kind = ?2 ORDER BY at DESC, id DESC LIMIT ?3",
            params![order.as_str(), kind, limit],
        )
    }

    pub fn administrations_for(
        &self,
        resident: &ResidentId,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Administration>> {
        let since = since.map(ts).unwrap_or_default();
        self.administrations(
            "SELECT json FROM p_records WHERE resident = ?1 AND kind = 'administration' AND at >= ?2 ORDER BY at, id",
            params![resident.as_str(), since],
        )
    }

    /// Administrations of every resident since `since`, for the round screen.
    pub fn administrations_since(&self, since: DateTime<Utc>) -> Result<Vec<Administration>> {
        self.administrations(ADMINISTRATIONS_SINCE_SQL, [ts(since)])
    }

    /// The review's view of every administration that happened in `[since, until)`, and of
    /// every correction made since `since` (a correction made later still voids a record of
    /// the period, S9). Read from columns, without decoding the records.
    pub fn dose_facts(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<DoseFact>> {
        let sql = DOSE_FACTS_SQL;
        self.facts(sql, params![ts(since), ts(until)])
    }

    pub(crate) fn facts<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<DoseFact>> {
        let time = |s: String| -> rusqlite::Result<DateTime<Utc>> {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(p, |r| {
            let outcome: String = r.get(4)?;
            let occurred_at = time(r.get(5)?)?;
            Ok(DoseFact {
                id: RecordId::new(r.get::<_, String>(0)?),
                resident: ResidentId::new(r.get::<_, String>(1)?),
                order: r.get::<_, Option<String>>(2)?.map(OrderId::new),
                slot: r.get::<_, Option<String>>(3)?.map(time).transpose()?,
                outcome: OutcomeCode::from_code(&outcome).ok_or_else(|| {
                    rusqlite::Error::InvalidColumnType(4, outcome, rusqlite::types::Type::Text)
                })?,
                occurred_at,
                recorded_at: r
                    .get::<_, Option<String>>(6)?
                    .map(time)
                    .transpose()?
                    .unwrap_or(occurred_at),
                late: r.get(7)?,
                author: StaffId::new(r.get::<_, String>(8)?),
                voids: r.get::<_, Option<String>>(9)?.map(RecordId::new),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Incidents raised since `since`, and every older one still open, each with its
    /// acknowledgements, newest first.
    pub fn incidents(&self, since: DateTime<Utc>) -> Result<Vec<(Incident, Vec<IncidentAck>)>> {
        let items: Vec<Item> = self.all_json(INCIDENTS_SQL, [ts(since)])?;
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            if let Item::Incident(i) = it {
                let acks = self.acknowledgements(&i.id)?;
                out.push((i, acks));
            }
        }
        Ok(out)
    }

    /// The acknowledgements of one incident, oldest first.
    pub fn acknowledgements(&self, incident: &RecordId) -> Result<Vec<IncidentAck>> {
        Ok(self
            .all_json::<Item, _>(
                "SELECT json FROM p_records WHERE refers_to = ?1 AND kind = 'incident_ack'
                 ORDER BY at, id",
                [incident.as_str()],
            )?
            .into_iter()
            .filter_map(|a| match a {
                Item::IncidentAck(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    /// The stock level of every order that has stock movements (S14): their sum.
    pub fn stock_levels(&self) -> Result<HashMap<OrderId, Qty>> {
        let mut stmt = self.conn.prepare_cached(STOCK_LEVELS_SQL)?;
        let rows = stmt.query_map([], |r| {
            Ok((OrderId::new(r.get::<_, String>(0)?), Qty::milli(r.get(1)?)))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The controlled-drug register balance of one order (S7): the sum of its entries.
    /// The orders with controlled-drug register lines projected after `mark`: what a merge
    /// brought, for the register's check after a merge (S7).
    pub fn cd_orders_after_mark(&self, mark: i64) -> Result<Vec<OrderId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT order_id FROM p_records
             WHERE rowid > ?1 AND kind = 'cd_entry' AND order_id IS NOT NULL ORDER BY order_id",
        )?;
        let rows = stmt.query_map([mark], |r| r.get::<_, String>(0))?;
        rows.map(|r| r.map(OrderId::new).map_err(StoreError::from))
            .collect()
    }

    pub fn cd_balance(&self, order: &OrderId) -> Result<Qty> {
        Ok(Qty::milli(self.conn.query_row(
            "SELECT COALESCE(SUM(qty), 0) FROM p_records WHERE order_id = ?1 AND kind = 'cd_entry'",
            [order.as_str()],
            |r| r.get(0),
        )?))
    }

    /// Every record of one kind since `since`, across residents (e.g. the day's follow-ups).
    pub fn items_of_kind_since(&self, kind: &str, since: DateTime<Utc>) -> Result<Vec<Item>> {
        self.all_json(ITEMS_OF_KIND_SINCE_SQL, params![kind, ts(since)])
    }

    /// Incidents nobody has acknowledged yet (the count on the round screen).
    pub fn open_incident_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached(OPEN_INCIDENTS_SQL)?
            .query_row([], |r| r.get(0))?)
    }

    /// When-required and homely-remedy administrations (and their corrections) of every
    /// resident since `since`: the records without a scheduled slot.
    pub fn when_required_since(&self, since: DateTime<Utc>) -> Result<Vec<Administration>> {
        self.administrations(WHEN_REQUIRED_SINCE_SQL, [ts(since)])
    }

    pub fn count_kind(&self, kind: &str) -> Result<i64> {
        Ok(self.conn.query_row(COUNT_KIND_SQL, [kind], |r| r.get(0))?)
    }

    pub fn items_for_order(&self, order: &OrderId, kind: &str) -> Result<Vec<Item>> {
        self.all_json(
            "SELECT json FROM p_records WHERE order_id = ?1 AND kind = ?2 ORDER BY at, id",
            params![order.as_str(), kind],
        )
    }

    pub fn record_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM p_records", [], |r| r.get(0))?)
    }

    /// The administrations among the records a query returns (its one column is the JSON).
    pub(crate) fn administrations<P: rusqlite::Params>(
        &self,
        sql: &str,
        p: P,
    ) -> Result<Vec<Administration>> {
        let items: Vec<Item> = self.all_json(sql, p)?;
        Ok(items
            .into_iter()
            .filter_map(|i| match i {
                Item::Administration(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    /// Reads reference data through its decoded copy: `get` finds it there, or `load` reads
    /// it from the projections and `keep` stores it.
    pub(crate) fn through_reference<T: Clone>(
        &self,
        get: impl FnOnce(&Reference) -> Option<&T>,
        keep: impl FnOnce(&mut Reference, T),
        load: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        if let Some(v) = get(&self.reference.borrow()) {
            return Ok(v.clone());
        }
        let v = load()?;
        keep(&mut self.reference.borrow_mut(), v.clone());
        Ok(v)
    }

    /// Empties the decoded reference data; the next read decodes it from the projections.
    pub(crate) fn forget_reference(&self) {
        self.reference.borrow_mut().clear();
    }

    pub(crate) fn all_json<T: DeserializeOwned, P: rusqlite::Params>(
        &self,
        sql: &str,
        p: P,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(p, |r| r.get::<_, String>(0))?;
        rows.map(|j| Ok(serde_json::from_str(&j?)?)).collect()
    }
}

/// A resident's homely-remedy records since a time (S17), from the partial index
/// `p_records_homely`, which holds exactly these rows: the doses of prescribed orders never
/// write to it. Named, because without statistics SQLite would rather take the resident's
/// every record of the fortnight from `p_records_resident` and drop all but the remedies.
pub(crate) const HOMELY_SQL: &str = "SELECT id, json FROM p_records INDEXED BY p_records_homely
     WHERE resident = ?1 AND kind = 'administration' AND order_id IS NULL AND at >= ?2";

/// An order's last slots as dose facts, newest first, read from the covering index
/// `p_records_order` without touching the table (a test checks the plan).
pub(crate) const SLOT_FACTS_SQL: &str =
    "SELECT id, resident, order_id, slot_at, outcome, at, recorded_at, late, author, refers_to
     FROM p_records WHERE order_id = ?1 AND kind = 'administration'
     ORDER BY at DESC LIMIT ?2";

/// Every resident's administrations since ?1 (the round screen).
pub(crate) const ADMINISTRATIONS_SINCE_SQL: &str = "SELECT json FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = 'administration' AND at >= ?1
     ORDER BY at, id";

/// The facts of the administrations in [?1, ?2) and of every correction made since ?1 (the
/// review).
pub(crate) const DOSE_FACTS_SQL: &str =
    "SELECT id, resident, order_id, slot_at, outcome, at, recorded_at, late, author, refers_to
     FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = 'administration'
       AND at >= ?1 AND (at < ?2 OR refers_to IS NOT NULL)";

/// Incidents raised since ?1, and every older one not yet acknowledged.
pub(crate) const INCIDENTS_SQL: &str = "SELECT i.json FROM p_records i
     WHERE i.resident IN (SELECT id FROM p_residents) AND i.kind = 'incident'
       AND (i.at >= ?1 OR NOT EXISTS (
            SELECT 1 FROM p_records a WHERE a.refers_to = i.id AND a.kind = 'incident_ack'))
     ORDER BY i.at DESC, i.id";

/// Every record of one kind (?1) since ?2, across residents (the day's follow-ups).
pub(crate) const ITEMS_OF_KIND_SINCE_SQL: &str = "SELECT json FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = ?1 AND at >= ?2
     ORDER BY at, id";

/// How many incidents nobody has acknowledged (the count on the round screen).
pub(crate) const OPEN_INCIDENTS_SQL: &str = "SELECT count(*) FROM p_records i
     WHERE i.resident IN (SELECT id FROM p_residents) AND i.kind = 'incident'
       AND NOT EXISTS (
            SELECT 1 FROM p_records a WHERE a.refers_to = i.id AND a.kind = 'incident_ack')";

/// When-required and homely-remedy administrations since ?1: those without a slot.
pub(crate) const WHEN_REQUIRED_SINCE_SQL: &str = "SELECT json FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = 'administration' AND at >= ?1
       AND slot_at IS NULL
     ORDER BY at, id";

/// How many records of one kind (?1) the home holds.
pub(crate) const COUNT_KIND_SQL: &str = "SELECT count(*) FROM p_records
     WHERE resident IN (SELECT id FROM p_residents) AND kind = ?1";

/// Each order's stock level: the sum of its movements and of what its doses took (S14).
pub(crate) const STOCK_LEVELS_SQL: &str = "SELECT order_id, SUM(qty) FROM p_records
     WHERE order_id IN (SELECT id FROM p_orders) AND kind IN ('administration', 'stock_movement')
     GROUP BY order_id";
