//! The controlled drugs register (S7): every movement with a running balance that can never go
//! negative; a count that disagrees opens an incident.

use crate::ids::{DeviceId, OrderId, RecordId, ResidentId, StaffId};
use crate::qty::Qty;
use crate::rules::{Finding, FindingCode, Rule};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CdMovement {
    Received {
        qty: Qty,
        from: String,
    },
    Administered {
        qty: Qty,
        administration: RecordId,
    },
    Destroyed {
        qty: Qty,
    },
    Returned {
        qty: Qty,
    },
    /// A physical count. It changes nothing; a mismatch opens an incident.
    Count {
        counted: Qty,
    },
    /// A dose recorded in error and voided (S9): what it took goes back on the balance, named
    /// by who corrected it and a witness.
    Voided {
        qty: Qty,
        administration: RecordId,
        correction: RecordId,
    },
    /// A controlled-drug patch taken off and destroyed in front of a witness (S13). The
    /// balance counted it out when it went on, so this changes nothing.
    PatchRemovedAndDestroyed {
        removal: RecordId,
        site: String,
    },
}

impl CdMovement {
    pub fn delta(&self) -> Qty {
        match self {
            CdMovement::Received { qty, .. } => *qty,
            CdMovement::Administered { qty, .. }
            | CdMovement::Destroyed { qty }
            | CdMovement::Returned { qty } => -*qty,
            CdMovement::Voided { qty, .. } => *qty,
            CdMovement::Count { .. } | CdMovement::PatchRemovedAndDestroyed { .. } => Qty::ZERO,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdEntry {
    pub id: RecordId,
    pub resident: ResidentId,
    pub order: OrderId,
    /// Drug, form and strength as written in the register.
    pub drug: String,
    pub movement: CdMovement,
    /// The balance after this entry as the recording device saw it.
    pub balance_after: Qty,
    pub at: DateTime<Utc>,
    pub by: StaffId,
    pub witness: StaffId,
    pub device: DeviceId,
}

/// The running balance over entries in time order (entries from several devices merge by time).
pub fn balance(entries: &[CdEntry]) -> Qty {
    entries.iter().map(|e| e.movement.delta()).sum()
}

/// The next entry's balance, or the finding that stops it (S7).
pub fn next_balance(current: Qty, movement: &CdMovement, unit: &str) -> Result<Qty, Finding> {
    let next = current + movement.delta();
    if next.is_negative() {
        return Err(Finding::block(
            Rule::S7,
            FindingCode::CdBalanceNegative,
            format!("The register balance would fall below zero ({current} {unit} in stock)."),
        ));
    }
    Ok(next)
}

/// A count that disagrees with the balance: the warning that opens an incident (S7).
pub fn count_discrepancy(current: Qty, counted: Qty, unit: &str) -> Option<Finding> {
    (current != counted).then(|| {
        Finding::warn(
            Rule::S7,
            FindingCode::CdCountDiscrepancy,
            format!("Counted {counted} {unit}; the register says {current} {unit}."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s07_balance_never_negative() {
        let b = Qty::from_f64(5.0);
        assert_eq!(
            next_balance(
                b,
                &CdMovement::Destroyed {
                    qty: Qty::from_f64(2.5)
                },
                "ml"
            ),
            Ok(Qty::from_f64(2.5))
        );
        let err = next_balance(
            b,
            &CdMovement::Destroyed {
                qty: Qty::from_f64(5.5),
            },
            "ml",
        )
        .unwrap_err();
        assert_eq!(err.code, FindingCode::CdBalanceNegative);
    }

    #[test]
    fn s07_count_that_disagrees_opens_an_incident() {
        assert!(count_discrepancy(Qty::whole(10), Qty::whole(10), "ml").is_none());
        let f = count_discrepancy(Qty::whole(10), Qty::whole(9), "ml").unwrap();
        assert_eq!(f.code, FindingCode::CdCountDiscrepancy);
        assert_eq!(
            CdMovement::Count {
                counted: Qty::whole(9)
            }
            .delta(),
            Qty::ZERO
        );
    }
}
