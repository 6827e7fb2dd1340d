//! Residents' documents: each profile (a key per field) and the orders.

use chrono::{DateTime, Utc};
use medround_domain::order::Order;
use medround_domain::record::ResidentEvent;
use medround_domain::resident::Resident;
use medround_domain::schedule::HOME_TZ;
use medround_domain::{OrderId, ResidentId};
use std::collections::HashMap;

use crate::documents::doc_entries;
use crate::{cycle_of, item_json, Change, Item, Result, Store, StoreError};

impl Store {
    /// Writes the fields of the resident that differ from what is stored, one key each.
    pub fn put_resident(&mut self, r: &Resident, now: DateTime<Utc>) -> Result<()> {
        let doc_id = format!("resident:{}", r.id);
        let entries = self.resident_entries(r)?;
        if entries.is_empty() {
            return Ok(());
        }
        self.write(&doc_id, now, &entries)
    }

    /// Writes the resident's changed fields and the record of who changed them and why (a
    /// `ResidentEvent`, in the resident's cycle document) in one durable transaction: a
    /// resident is never recorded as gone, back or admitted without the record saying so, nor
    /// the other way round. A record id that already exists is refused (S9).
    pub fn put_resident_recording(
        &mut self,
        r: &Resident,
        event: &ResidentEvent,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let item = Item::ResidentEvent(event.clone());
        if self
            .conn
            .prepare_cached("SELECT 1 FROM p_records WHERE id = ?1")?
            .exists([item.id()])?
        {
            return Err(StoreError::Duplicate(item.id().to_string()));
        }
        let profile = (format!("resident:{}", r.id), self.resident_entries(r)?);
        let cycle = cycle_of(now.with_timezone(&HOME_TZ).date_naive());
        let record = (
            format!("cycle:{}:{cycle}", r.id),
            vec![(format!("{}/{}", item.kind(), item.id()), item_json(&item)?)],
        );
        let changes: Vec<Change<'_>> = [&profile, &record]
            .into_iter()
            .filter(|(_, entries)| !entries.is_empty())
            .map(|(d, e)| (d.as_str(), now, e.as_slice()))
            .collect();
        self.write_changes(&changes)
    }

    /// The profile keys of `r` whose stored values differ, as `(key, json)`.
    pub(crate) fn resident_entries(&mut self, r: &Resident) -> Result<Vec<(String, String)>> {
        let doc_id = format!("resident:{}", r.id);
        let value = serde_json::to_value(r)?;
        let serde_json::Value::Object(fields) = value else {
            return Err(StoreError::Corrupt("resident is not an object".into()));
        };
        let existing: HashMap<String, String> =
            doc_entries(self.doc(&doc_id)?)?.into_iter().collect();
        let mut entries = Vec::new();
        for (k, v) in fields {
            let key = format!("profile/{k}");
            let json = serde_json::to_string(&v)?;
            if existing.get(&key) != Some(&json) {
                entries.push((key, json));
            }
        }
        Ok(entries)
    }

    /// Orders of one resident written in one change: an order and the one it replaces
    /// (S16), so neither is ever seen without the other.
    pub fn put_orders(&mut self, orders: &[Order], now: DateTime<Utc>) -> Result<()> {
        let Some(first) = orders.first() else {
            return Ok(());
        };
        if orders.iter().any(|o| o.resident != first.resident) {
            return Err(StoreError::NotFound(
                "orders of one resident to write together".into(),
            ));
        }
        let entries = orders
            .iter()
            .map(|o| Ok((format!("order/{}", o.id), serde_json::to_string(o)?)))
            .collect::<Result<Vec<_>>>()?;
        self.write(&format!("resident:{}", first.resident), now, &entries)
    }

    pub fn put_order(&mut self, o: &Order, now: DateTime<Utc>) -> Result<()> {
        let doc_id = format!("resident:{}", o.resident);
        self.write(
            &doc_id,
            now,
            &[(format!("order/{}", o.id), serde_json::to_string(o)?)],
        )
    }

    pub fn residents(&self) -> Result<Vec<Resident>> {
        self.all_json("SELECT json FROM p_residents ORDER BY unit, id", [])
    }

    pub fn resident(&self, id: &ResidentId) -> Result<Resident> {
        self.through_reference(
            |r| r.residents.get(id),
            |r, v| {
                r.residents.insert(id.clone(), v);
            },
            || {
                self.all_json("SELECT json FROM p_residents WHERE id = ?1", [id.as_str()])?
                    .pop()
                    .ok_or_else(|| StoreError::NotFound(format!("resident {id}")))
            },
        )
    }

    pub fn orders_for(&self, resident: &ResidentId) -> Result<Vec<Order>> {
        self.through_reference(
            |r| r.orders.get(resident),
            |r, v| {
                r.orders.insert(resident.clone(), v);
            },
            || {
                self.all_json(
                    "SELECT json FROM p_orders WHERE resident = ?1 ORDER BY id",
                    [resident.as_str()],
                )
            },
        )
    }

    pub fn all_orders(&self) -> Result<Vec<Order>> {
        self.all_json("SELECT json FROM p_orders ORDER BY resident, id", [])
    }

    pub fn order(&self, id: &OrderId) -> Result<Order> {
        self.all_json("SELECT json FROM p_orders WHERE id = ?1", [id.as_str()])?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("order {id}")))
    }
}
