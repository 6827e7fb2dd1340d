//! The home document: its name, units, staff, tablets, homely remedies and ingredient limits.

use chrono::{DateTime, Utc};
use medround_domain::homely::HomelyRemedy;
use medround_domain::medicine::IngredientLimit;
use medround_domain::staff::Staff;
use medround_domain::tablet::Tablet;
use medround_domain::StaffId;
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;

use crate::{Result, Store, Unit};

impl Store {
    pub fn put_home_name(&mut self, name: &str, now: DateTime<Utc>) -> Result<()> {
        self.write(
            "home",
            now,
            &[("home/name".into(), serde_json::to_string(name)?)],
        )
    }

    pub fn put_unit(&mut self, unit: &Unit, now: DateTime<Utc>) -> Result<()> {
        self.write(
            "home",
            now,
            &[(format!("unit/{}", unit.id), serde_json::to_string(unit)?)],
        )
    }

    /// Adds or changes a member of staff; `by` is the manager who made the change (S19),
    /// none only while the home is first set up.
    pub fn put_staff(&mut self, s: &Staff, by: Option<&StaffId>, now: DateTime<Utc>) -> Result<()> {
        let entry = medround_record::staff_entry(s, by.map(|b| b.as_str()))?;
        self.write("home", now, &[(format!("staff/{}", s.id), entry)])
    }

    pub fn put_remedy(&mut self, r: &HomelyRemedy, now: DateTime<Utc>) -> Result<()> {
        self.write(
            "home",
            now,
            &[(format!("remedy/{}", r.id), serde_json::to_string(r)?)],
        )
    }

    pub fn put_limit(&mut self, l: &IngredientLimit, now: DateTime<Utc>) -> Result<()> {
        let key = format!("limit/{}", l.substance.to_lowercase());
        self.write("home", now, &[(key, serde_json::to_string(l)?)])
    }

    pub fn home_name(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT json FROM p_home WHERE key = 'home/name'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .map(|j| serde_json::from_str(&j))
            .transpose()?)
    }

    pub fn units(&self) -> Result<Vec<Unit>> {
        self.home_prefixed("unit/")
    }

    /// The home's tablets by name, as each wrote itself into the home document when enrolled.
    pub fn tablets(&self) -> Result<Vec<Tablet>> {
        self.home_prefixed("device/")
    }

    pub fn put_tablet(&mut self, t: &Tablet, now: DateTime<Utc>) -> Result<()> {
        let key = format!("device/{}", t.id);
        self.write("home", now, &[(key, serde_json::to_string(t)?)])
    }

    pub fn limits(&self) -> Result<Vec<IngredientLimit>> {
        self.through_reference(
            |r| r.limits.as_ref(),
            |r, l| r.limits = Some(l),
            || self.home_prefixed("limit/"),
        )
    }

    pub(crate) fn home_prefixed<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT json FROM p_home WHERE key >= ?1 AND key < ?2 ORDER BY key")?;
        let upper = format!("{prefix}\u{10FFFF}");
        let rows = stmt.query_map(params![prefix, upper], |r| r.get::<_, String>(0))?;
        rows.map(|j| Ok(serde_json::from_str(&j?)?)).collect()
    }

    pub fn staff(&self) -> Result<Vec<Staff>> {
        self.all_json("SELECT json FROM p_staff ORDER BY id", [])
    }

    pub fn staff_member(&self, id: &str) -> Result<Option<Staff>> {
        Ok(self
            .all_json("SELECT json FROM p_staff WHERE id = ?1", [id])?
            .pop())
    }

    pub fn remedies(&self) -> Result<Vec<HomelyRemedy>> {
        self.through_reference(
            |r| r.remedies.as_ref(),
            |r, v| r.remedies = Some(v),
            || self.all_json("SELECT json FROM p_remedies ORDER BY id", []),
        )
    }
}
