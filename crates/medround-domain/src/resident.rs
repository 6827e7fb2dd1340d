//! Residents, their allergies, presence and covert plans.

use crate::ids::{ResidentId, StaffId, UnitId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allergy {
    pub substance: String,
    pub reaction: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Presence {
    Present,
    InHospital {
        since: DateTime<Utc>,
    },
    OnLeave {
        since: DateTime<Utc>,
    },
    /// Left the home for good: discharged, or died. Their records stay (kept 8 years after
    /// care ends); their doses stop and they leave the round.
    Left {
        since: DateTime<Utc>,
        reason: LeftReason,
    },
}

/// Why a resident left the home for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    Discharged,
    Died,
}

/// Covert administration needs a documented plan (mental capacity assessment, best-interests
/// decision, pharmacist's advice); it is usable only until its review date (S12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CovertPlan {
    pub agreed_on: NaiveDate,
    pub review_by: NaiveDate,
    pub how: String,
}

impl CovertPlan {
    pub fn in_date(&self, today: NaiveDate) -> bool {
        today >= self.agreed_on && today <= self.review_by
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    pub by: StaffId,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resident {
    pub id: ResidentId,
    pub unit: UnitId,
    pub room: String,
    pub given_name: String,
    pub family_name: String,
    #[serde(default)]
    pub preferred_name: Option<String>,
    pub date_of_birth: NaiveDate,
    pub nhs_number: String,
    /// An image the UI can show (a data: URL or an SVG).
    #[serde(default)]
    pub photo: Option<String>,
    #[serde(default)]
    pub allergies: Vec<Allergy>,
    pub presence: Presence,
    /// Set when the resident comes back from hospital; cleared by a senior's reconciliation (S15).
    #[serde(default)]
    pub reconciliation_pending: bool,
    #[serde(default)]
    pub covert_plan: Option<CovertPlan>,
}

impl Resident {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }

    /// In hospital or on leave, and coming back (S15).
    pub fn is_away(&self) -> bool {
        matches!(
            self.presence,
            Presence::InHospital { .. } | Presence::OnLeave { .. }
        )
    }

    /// Discharged or died: no longer on the round.
    pub fn has_left(&self) -> bool {
        matches!(self.presence, Presence::Left { .. })
    }

    pub fn allergic_to(&self, substance: &str) -> Option<&Allergy> {
        self.allergies
            .iter()
            .find(|a| crate::medicine::same_substance(&a.substance, substance))
    }
}
