//! Incidents found by looking across records, in particular after two devices' records merge (S18).

use crate::homely::HomelyRemedy;
use crate::ids::RecordId;
use crate::order::Order;
use crate::record::{standing, Administration, Subject};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DoubleDose {
    /// Two GIVEN records for one scheduled slot.
    SameSlot { records: Vec<RecordId> },
    /// When-required doses sharing an ingredient inside the minimum interval.
    PrnInterval {
        first: RecordId,
        second: RecordId,
        substance: String,
    },
}

/// S18: possible double doses among one resident's records. Nothing is merged away: both records
/// stand and the incident names them.
pub fn possible_double_doses(
    orders: &[Order],
    remedies: &[HomelyRemedy],
    history: &[Administration],
) -> Vec<DoubleDose> {
    let mut out = Vec::new();
    let taken: Vec<&Administration> = standing(history).filter(|r| r.outcome.is_taken()).collect();

    let mut by_slot: BTreeMap<String, Vec<RecordId>> = BTreeMap::new();
    for r in &taken {
        if let Subject::Slot { order, at } = &r.subject {
            by_slot
                .entry(format!("{order}@{}", at.to_rfc3339()))
                .or_default()
                .push(r.id.clone());
        }
    }
    for (_, mut records) in by_slot {
        if records.len() > 1 {
            records.sort();
            out.push(DoubleDose::SameSlot { records });
        }
    }

    // (medicine, min interval) of each when-required record.
    let prn_of = |r: &Administration| match &r.subject {
        Subject::Prn { order } => orders
            .iter()
            .find(|o| &o.id == order)
            .and_then(|o| Some((&o.medicine, o.prn.as_ref()?.min_interval_minutes))),
        Subject::Homely { remedy } => remedies
            .iter()
            .find(|x| &x.id == remedy)
            .map(|x| (&x.medicine, x.min_interval_minutes)),
        Subject::Slot { .. } => None,
    };
    let mut prn: Vec<&&Administration> = taken.iter().filter(|r| prn_of(r).is_some()).collect();
    prn.sort_by_key(|r| (r.occurred_at, r.id.clone()));
    for (i, a) in prn.iter().enumerate() {
        for b in &prn[i + 1..] {
            let (Some((ma, _)), Some((mb, ib))) = (prn_of(a), prn_of(b)) else {
                continue;
            };
            if b.occurred_at - a.occurred_at >= Duration::minutes(i64::from(ib)) {
                continue;
            }
            if let Some(s) = ma.shared_substances(mb).next() {
                out.push(DoubleDose::PrnInterval {
                    first: a.id.clone(),
                    second: b.id.clone(),
                    substance: s.to_string(),
                });
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// S18.
    PossibleDoubleDose,
    /// S8 with S3: a time-critical dose closed as MISSED.
    MissedTimeCritical,
    /// S7.
    CdCountDiscrepancy,
    /// S11: a review task for the GP or pharmacist.
    RepeatedOmission,
    /// S10: listed for the manager.
    Retrospective,
    /// S6.
    AllergyOverride,
}

impl IncidentKind {
    pub fn label(self) -> &'static str {
        match self {
            IncidentKind::PossibleDoubleDose => "Possible double dose",
            IncidentKind::MissedTimeCritical => "Time-critical dose missed",
            IncidentKind::CdCountDiscrepancy => "Controlled drug count discrepancy",
            IncidentKind::RepeatedOmission => "Repeated omissions: review with GP or pharmacist",
            IncidentKind::Retrospective => "Retrospective entry",
            IncidentKind::AllergyOverride => "Allergy override",
        }
    }
}

/// An incident or review task. Raised once, never deleted; acknowledgement is a later record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: RecordId,
    pub resident: crate::ids::ResidentId,
    pub kind: IncidentKind,
    pub records: Vec<RecordId>,
    pub message: String,
    pub raised_at: chrono::DateTime<chrono::Utc>,
    pub device: crate::ids::DeviceId,
}
