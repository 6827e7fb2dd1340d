//! The printed MAR chart of a resident or a whole unit, for one 28-day cycle.

use crate::review::{bounds, may_review};
use crate::{storage, Bedside};
use chrono::{Duration, NaiveDate};
use medround_domain::fact::DoseFact;
use medround_domain::record::{Administration, PrnFollowUp, Subject};
use medround_domain::schedule::HOME_TZ;
use medround_domain::ResidentId;
use medround_ipc::{ErrorCode, IpcError};
use medround_print::{MarInput, CYCLE_DAYS};
use medround_store::{cycle_start, Item};
use std::collections::HashMap;

/// A MAR chart ready to save: the PDF, its page count and a file name for it.
#[derive(Debug)]
pub struct MarPdf {
    pub bytes: Vec<u8>,
    pub pages: u32,
    pub file_name: String,
    pub residents: usize,
}

/// One resident's records of the cycle, sorted for the chart.
struct Records {
    facts: Vec<DoseFact>,
    prn: Vec<Administration>,
    follow_ups: Vec<PrnFollowUp>,
    cd: Vec<medround_domain::cd::CdEntry>,
}

impl Bedside {
    pub fn export_mar(
        &mut self,
        resident: Option<&str>,
        unit: Option<&str>,
        from: Option<&str>,
    ) -> Result<MarPdf, IpcError> {
        let me = self.who()?;
        may_review(&me)?;
        self.mar_pdf(resident, unit, from)
    }

    /// The chart without a session check (benchmarks and tests call this directly).
    pub fn mar_pdf(
        &self,
        resident: Option<&str>,
        unit: Option<&str>,
        from: Option<&str>,
    ) -> Result<MarPdf, IpcError> {
        let now = self.now();
        let today = now.with_timezone(&HOME_TZ).date_naive();
        let day = match from {
            Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                IpcError::new(
                    ErrorCode::BadInput,
                    format!("{s:?} is not a date (year-month-day)."),
                )
            })?,
            None => today,
        };
        let start = cycle_start(day);
        let store = self.store();
        let mut residents = store.residents().map_err(storage)?;
        residents.retain(|r| match (resident, unit) {
            (Some(id), _) => r.id.as_str() == id,
            (None, Some(u)) => r.unit.as_str() == u,
            (None, None) => false,
        });
        if residents.is_empty() {
            return Err(IpcError::new(
                ErrorCode::NotFound,
                "Choose a resident or a unit to print.",
            ));
        }
        residents.sort_by(|a, b| (a.room.as_str(), &a.id).cmp(&(b.room.as_str(), &b.id)));
        let home = store.home_name().map_err(storage)?.unwrap_or_default();
        let units = self.unit_names()?;
        let initials: HashMap<String, String> = store
            .staff()
            .map_err(storage)?
            .into_iter()
            .map(|s| (s.id.to_string(), s.initials))
            .chain([("system".to_string(), "--".to_string())])
            .collect();
        let remedies: HashMap<String, String> = store
            .remedies()
            .map_err(storage)?
            .into_iter()
            .map(|r| (r.id.to_string(), r.medicine.label()))
            .collect();
        let (since, until) = bounds(start, start + Duration::days(CYCLE_DAYS - 1));
        let mut per = Vec::with_capacity(residents.len());
        for r in &residents {
            let orders = store.orders_for(&r.id).map_err(storage)?;
            per.push((
                orders,
                self.cycle_records(&r.id, since - Duration::days(1), until)?,
            ));
        }
        let inputs: Vec<MarInput<'_>> = residents
            .iter()
            .zip(&per)
            .map(|(r, (orders, recs))| MarInput {
                home: &home,
                unit: units
                    .get(r.unit.as_str())
                    .map(|s| s.as_str())
                    .unwrap_or(r.unit.as_str()),
                resident: r,
                orders,
                facts: &recs.facts,
                prn: &recs.prn,
                follow_ups: &recs.follow_ups,
                cd: &recs.cd,
                initials: &initials,
                remedies: &remedies,
                start,
                now,
                tz: HOME_TZ,
            })
            .collect();
        let who = match (resident, unit) {
            (Some(_), _) => residents[0].full_name(),
            _ => units
                .get(unit.unwrap_or_default())
                .cloned()
                .unwrap_or_default(),
        };
        let title = format!("MAR {who} {start}");
        let (bytes, pages) = medround_print::document(&inputs, &title).map_err(|e| {
            IpcError::new(
                ErrorCode::Internal,
                format!(
                    "The chart could not be made ({e}). Nothing was changed; tell the provider."
                ),
            )
        })?;
        let slug: String = who
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        Ok(MarPdf {
            bytes,
            pages,
            file_name: format!("mar-{slug}-{start}.pdf"),
            residents: residents.len(),
        })
    }

    /// Everything a chart shows for one resident in `[since, until)`, with later corrections.
    fn cycle_records(
        &self,
        id: &ResidentId,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Records, IpcError> {
        let mut out = Records {
            facts: vec![],
            prn: vec![],
            follow_ups: vec![],
            cd: vec![],
        };
        // A day past the cycle for the follow-ups of its last doses.
        let records = self
            .store()
            .items_in_period(id, since, until + chrono::Duration::days(1))
            .map_err(storage)?;
        for it in records {
            match it {
                Item::Administration(a) if a.voids.is_some() || a.occurred_at < until => {
                    out.facts.push(DoseFact::from(&a));
                    if !matches!(a.subject, Subject::Slot { .. }) {
                        out.prn.push(a);
                    }
                }
                Item::PrnFollowUp(f) => out.follow_ups.push(f),
                Item::CdEntry(e) if e.at < until => out.cd.push(e),
                _ => {}
            }
        }
        Ok(out)
    }
}
