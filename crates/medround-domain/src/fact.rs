//! Dose facts: the few fields of an administration that the rules' history, the review and the
//! printed MAR read, so that a month of a large home is read without decoding every record.

use crate::ids::{OrderId, RecordId, ResidentId, StaffId};
use crate::outcome::OutcomeCode;
use crate::record::Administration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The fields of one administration record that the review and the MAR read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoseFact {
    pub id: RecordId,
    pub resident: ResidentId,
    /// The order of a scheduled or PRN dose; none for a homely remedy.
    pub order: Option<OrderId>,
    /// The scheduled slot, for a scheduled dose.
    pub slot: Option<DateTime<Utc>>,
    pub outcome: OutcomeCode,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    /// Given after its window, with a reason (S3).
    pub late: bool,
    pub author: StaffId,
    /// Set on a correction: the record it voids (S9).
    pub voids: Option<RecordId>,
}

impl From<&Administration> for DoseFact {
    fn from(a: &Administration) -> Self {
        DoseFact {
            id: a.id.clone(),
            resident: a.resident.clone(),
            order: a.subject.order().cloned(),
            slot: a.subject.slot().map(|(_, at)| at),
            outcome: a.outcome,
            occurred_at: a.occurred_at,
            recorded_at: a.recorded_at,
            late: a.is_late(),
            author: a.author.clone(),
            voids: a.voids.clone(),
        }
    }
}

impl DoseFact {
    pub fn is_system(&self) -> bool {
        self.outcome == OutcomeCode::Missed
    }
}

/// The facts that still stand: not voided by a correction, and not corrections themselves (S9).
pub fn standing_facts(facts: &[DoseFact]) -> impl Iterator<Item = &DoseFact> {
    let voided: HashSet<&RecordId> = facts.iter().filter_map(|f| f.voids.as_ref()).collect();
    facts
        .iter()
        .filter(move |f| f.voids.is_none() && !voided.contains(&f.id))
}
