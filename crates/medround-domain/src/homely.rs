//! The home's list of homely remedies (S17): non-prescribed medicines that named, authorised staff
//! may give within limits, for a few days before the GP is asked.

use crate::ids::RemedyId;
use crate::medicine::Medicine;
use crate::order::Dose;
use crate::qty::Qty;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomelyRemedy {
    pub id: RemedyId,
    pub medicine: Medicine,
    pub dose: Dose,
    pub unit: String,
    pub indication: String,
    pub min_interval_minutes: u32,
    pub max_per_24h: Qty,
    /// Days on which it may be given before a GP referral is prompted.
    pub max_days: u32,
}
