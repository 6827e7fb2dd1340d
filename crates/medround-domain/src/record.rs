//! Records. Every one is immutable once written (S9): corrections are new records that point at
//! the record they void. Every record names its author and device.

use crate::barcode::Scan;
use crate::finding::FindingCode;
use crate::ids::{DeviceId, OrderId, RecordId, RemedyId, ResidentId, StaffId};
use crate::outcome::OutcomeCode;
use crate::qty::Qty;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How the product was confirmed (S2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProductCheck {
    Scanned {
        gtin: String,
    },
    /// No scanner to hand: the carer tapped to confirm the product. Recorded as "not scanned".
    TappedNotScanned,
}

/// What the record is about: a scheduled slot, a PRN dose of an order, or a homely remedy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Slot { order: OrderId, at: DateTime<Utc> },
    Prn { order: OrderId },
    Homely { remedy: RemedyId },
}

impl Subject {
    pub fn order(&self) -> Option<&OrderId> {
        match self {
            Subject::Slot { order, .. } | Subject::Prn { order } => Some(order),
            Subject::Homely { .. } => None,
        }
    }
    pub fn slot(&self) -> Option<(&OrderId, DateTime<Utc>)> {
        match self {
            Subject::Slot { order, at } => Some((order, *at)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Administration {
    pub id: RecordId,
    pub resident: ResidentId,
    pub subject: Subject,
    pub outcome: OutcomeCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Qty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it happened, by the device's clock (S10).
    pub occurred_at: DateTime<Utc>,
    /// When it was written down.
    pub recorded_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrospective_reason: Option<String>,
    pub author: StaffId,
    pub device: DeviceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<StaffId>,
    #[serde(default)]
    pub product: Option<ProductCheck>,
    #[serde(default)]
    pub scans: Vec<Scan>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub covert: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prn_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allergy_override: Option<String>,
    /// Warnings shown and acknowledged before recording.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledged: Vec<FindingCode>,
    /// Set on an ENTERED_IN_ERROR correction: the record it voids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voids: Option<RecordId>,
    /// What this dose took from its order's stock (S14): the quantity given, or destroyed.
    /// The dose is its own stock record, written once: an order's level is the sum of its
    /// stock movements and of these. A dose recorded before this field existed has none, and
    /// took its stock through a separate stock movement instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_stock: Option<Qty>,
}

impl Administration {
    pub fn is_late(&self) -> bool {
        self.late_reason.is_some()
    }
    pub fn is_retrospective(&self) -> bool {
        self.retrospective_reason.is_some()
    }
    pub fn is_system(&self) -> bool {
        self.outcome == OutcomeCode::Missed
    }

    /// A record the system writes when a slot's window closes with no outcome (S8, S15).
    pub fn system(
        id: RecordId,
        resident: ResidentId,
        subject: Subject,
        outcome: OutcomeCode,
        now: DateTime<Utc>,
        author: StaffId,
        device: DeviceId,
    ) -> Administration {
        Administration {
            id,
            resident,
            subject,
            outcome,
            quantity: None,
            note: None,
            occurred_at: now,
            recorded_at: now,
            late_reason: None,
            retrospective_reason: None,
            author,
            device,
            witness: None,
            product: None,
            scans: vec![],
            covert: false,
            site: None,
            prn_reason: None,
            allergy_override: None,
            acknowledged: vec![],
            voids: None,
            from_stock: None,
        }
    }
}

/// The records that still stand: those not voided by a correction, and not corrections themselves.
pub fn standing(records: &[Administration]) -> impl Iterator<Item = &Administration> {
    let voided: std::collections::HashSet<&RecordId> =
        records.iter().filter_map(|r| r.voids.as_ref()).collect();
    records
        .iter()
        .filter(move |r| r.voids.is_none() && !voided.contains(&r.id))
}

/// S13: removal of a patch, recorded before the next one goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchRemoval {
    pub id: RecordId,
    pub resident: ResidentId,
    pub order: OrderId,
    pub site: String,
    pub occurred_at: DateTime<Utc>,
    pub author: StaffId,
    pub device: DeviceId,
}

/// What happened to a resident's place in the home (S15) or their details (S1), and who said
/// so: kept as a record so the audit trail names who admitted them, changed their details,
/// recorded them gone or back, or reconciled their medicines, and so that an away period is
/// still known once it has ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentEvent {
    pub id: RecordId,
    pub resident: ResidentId,
    pub change: ResidentChange,
    pub at: DateTime<Utc>,
    pub author: StaffId,
    pub device: DeviceId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResidentChange {
    Admitted,
    /// The details a senior changed, by the names the chart gives them ("room", "allergies").
    DetailsChanged {
        fields: Vec<String>,
    },
    /// Gone to hospital or on leave: the presence it began.
    Away {
        presence: crate::resident::Presence,
    },
    /// Back in the home: the away period it ended (hospital or leave, and since when).
    Back {
        was: crate::resident::Presence,
    },
    /// A senior checked the medicines that came back with them (S15).
    Reconciled,
}

/// The answer to "was it effective?" for a PRN dose, recorded later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrnFollowUp {
    pub id: RecordId,
    pub administration: RecordId,
    pub effective: bool,
    pub note: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub author: StaffId,
    pub device: DeviceId,
}

/// A when-required dose still waiting for its "was it effective?" answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpDue {
    pub administration: RecordId,
    pub resident: ResidentId,
    pub subject: Subject,
    pub given_at: DateTime<Utc>,
    /// When the protocol asks for the answer (an hour after, for a homely remedy).
    pub due_at: DateTime<Utc>,
}

/// How long a follow-up stays on the list before it is too late to ask.
pub const FOLLOW_UP_HOURS: i64 = 24;

/// The when-required and homely-remedy doses given in the last day that have no follow-up yet.
pub fn follow_ups_outstanding(
    records: &[Administration],
    answered: &std::collections::HashSet<&RecordId>,
    orders: &[crate::order::Order],
    now: DateTime<Utc>,
) -> Vec<FollowUpDue> {
    let mut out: Vec<FollowUpDue> = standing(records)
        .filter(|a| {
            a.outcome.is_taken()
                && matches!(a.subject, Subject::Prn { .. } | Subject::Homely { .. })
                && !answered.contains(&a.id)
                && now - a.occurred_at < chrono::Duration::hours(FOLLOW_UP_HOURS)
        })
        .map(|a| {
            let minutes = match &a.subject {
                Subject::Prn { order } => orders
                    .iter()
                    .find(|o| &o.id == order)
                    .and_then(|o| o.prn.as_ref())
                    .map(|p| p.follow_up_minutes)
                    .unwrap_or(60),
                _ => 60,
            };
            FollowUpDue {
                administration: a.id.clone(),
                resident: a.resident.clone(),
                subject: a.subject.clone(),
                given_at: a.occurred_at,
                due_at: a.occurred_at + chrono::Duration::minutes(i64::from(minutes)),
            }
        })
        .collect();
    out.sort_by(|a, b| (a.due_at, &a.administration).cmp(&(b.due_at, &b.administration)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record is written once into its document and its projection, and travels in every
    /// sync: it says only what it has. A record written before, with every absent field as
    /// `null`, reads the same.
    #[test]
    fn a_record_leaves_out_what_it_does_not_have_and_reads_the_same_either_way() {
        let at: DateTime<Utc> = "2026-11-23T08:00:00Z".parse().unwrap();
        let rec = Administration {
            id: RecordId::new("adm-1"),
            resident: ResidentId::new("res-1"),
            subject: Subject::Slot {
                order: OrderId::new("ord-1"),
                at,
            },
            outcome: OutcomeCode::Given,
            quantity: Some(Qty::from_f64(1.0)),
            note: None,
            occurred_at: at,
            recorded_at: at,
            late_reason: None,
            retrospective_reason: None,
            author: StaffId::new("st-1"),
            device: DeviceId::new("dev-1"),
            witness: None,
            product: Some(ProductCheck::Scanned {
                gtin: "02000000000015".into(),
            }),
            scans: vec![Scan::Product {
                gtin: "02000000000015".into(),
                expiry: None,
                batch: None,
                serial: None,
            }],
            covert: false,
            site: None,
            prn_reason: None,
            allergy_override: None,
            acknowledged: vec![],
            voids: None,
            from_stock: Some(Qty::from_f64(1.0)),
        };
        let json = serde_json::to_string(&rec).unwrap();
        for absent in [
            "null",
            "\"note\"",
            "\"witness\"",
            "\"covert\"",
            "\"acknowledged\"",
            "\"expiry\"",
        ] {
            assert!(!json.contains(absent), "{absent} in {json}");
        }
        assert_eq!(serde_json::from_str::<Administration>(&json).unwrap(), rec);

        let older = r#"{"id":"adm-1","resident":"res-1",
            "subject":{"kind":"slot","order":"ord-1","at":"2026-11-23T08:00:00Z"},
            "outcome":"GIVEN","quantity":1.0,"note":null,
            "occurred_at":"2026-11-23T08:00:00Z","recorded_at":"2026-11-23T08:00:00Z",
            "late_reason":null,"retrospective_reason":null,"author":"st-1","device":"dev-1",
            "witness":null,"product":{"kind":"scanned","gtin":"02000000000015"},
            "scans":[{"kind":"product","gtin":"02000000000015","expiry":null,"batch":null,"serial":null}],
            "covert":false,"site":null,"prn_reason":null,"allergy_override":null,
            "acknowledged":[],"voids":null,"from_stock":1.0}"#;
        assert_eq!(serde_json::from_str::<Administration>(older).unwrap(), rec);

        let covert = Administration {
            covert: true,
            acknowledged: vec![FindingCode::LateReasonNeeded],
            ..rec
        };
        let json = serde_json::to_string(&covert).unwrap();
        assert!(json.contains("\"covert\":true") && json.contains("\"acknowledged\""));
        assert_eq!(
            serde_json::from_str::<Administration>(&json).unwrap(),
            covert
        );
    }
}
