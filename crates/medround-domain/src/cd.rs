//! The controlled drugs register (S7): every movement with a running balance that can never go
//! negative; a count that disagrees opens an incident.

use crate::finding::{Finding, FindingCode, Rule};
use crate::ids::{DeviceId, OrderId, RecordId, ResidentId, StaffId};
use crate::qty::Qty;
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

/// S7 after a merge: entries recorded apart on two tablets can each be right and together take
/// the register below zero. They stay (each happened), and the register raises an incident for
/// the senior to count the stock, once: its id comes from the entries, so every tablet that
/// finds it raises the same one. `entries` are all of one order's register lines.
pub fn negative_after_merge(
    entries: &[CdEntry],
    unit: &str,
    now: DateTime<Utc>,
    device: &DeviceId,
) -> Option<crate::incident::Incident> {
    use crate::incident::{fnv1a, Incident, IncidentKind};
    let first = entries.first()?;
    let total = balance(entries);
    if !total.is_negative() {
        return None;
    }
    let mut ids: Vec<RecordId> = entries.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    Some(Incident {
        id: RecordId::new(format!("inc-cdneg-{:016x}", fnv1a(&ids))),
        resident: first.resident.clone(),
        kind: IncidentKind::CdCountDiscrepancy,
        records: ids,
        message: format!(
            "The register for {} stands at {total} {unit} after records from more than one \
             tablet met: below zero, which cannot be. Count the stock with a witness and record \
             the count.",
            first.drug
        ),
        raised_at: now,
        device: device.clone(),
    })
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
    fn s07_a_register_below_zero_after_a_merge_raises_one_incident() {
        let at: DateTime<Utc> = "2026-11-23T08:00:00Z".parse().unwrap();
        let line = |id: &str, movement: CdMovement| CdEntry {
            id: RecordId::new(id),
            resident: ResidentId::new("r1"),
            order: OrderId::new("o1"),
            drug: "Morphine sulfate 10mg/5ml oral solution".into(),
            movement,
            balance_after: Qty::ZERO,
            at,
            by: StaffId::new("a"),
            witness: StaffId::new("b"),
            device: DeviceId::new("t1"),
        };
        let received = line(
            "cd-1",
            CdMovement::Received {
                qty: Qty::whole(280),
                from: "pharmacy".into(),
            },
        );
        let destroyed = |id: &str, qty| {
            line(
                id,
                CdMovement::Destroyed {
                    qty: Qty::whole(qty),
                },
            )
        };
        let dev = DeviceId::new("t2");
        // Two tablets each destroyed what they saw in stock: right apart, below zero together.
        assert!(
            negative_after_merge(&[received.clone(), destroyed("cd-2", 280)], "ml", at, &dev)
                .is_none()
        );
        let both = [received, destroyed("cd-2", 280), destroyed("cd-3", 280)];
        let i = negative_after_merge(&both, "ml", at, &dev).expect("an incident");
        assert_eq!(i.kind, crate::incident::IncidentKind::CdCountDiscrepancy);
        assert!(i.message.contains("-280"), "{}", i.message);
        // Every tablet raises the same one, whatever order it holds the lines in.
        let mut reversed = both.to_vec();
        reversed.reverse();
        assert_eq!(
            negative_after_merge(&reversed, "ml", at, &dev).unwrap().id,
            i.id
        );
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
