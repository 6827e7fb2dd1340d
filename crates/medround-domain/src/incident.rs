//! Incidents found by looking across records, in particular after two devices' records merge (S18).

use crate::finding::{Finding, FindingCode, Rule};
use crate::homely::HomelyRemedy;
use crate::ids::RecordId;
use crate::order::Order;
use crate::record::{standing, Administration, Subject};
use crate::staff::Staff;
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

/// S18: the incidents a merge reveals among one resident's records (`history`: every record
/// the merge brought, with those around them), one per possible double dose. Each id comes
/// from the records it names, so two tablets that find the same pair raise the same incident,
/// not two; `known` says whether an incident id is already held, and those are left out.
#[allow(clippy::too_many_arguments)]
pub fn merge_incidents(
    resident: &crate::ids::ResidentId,
    orders: &[Order],
    remedies: &[HomelyRemedy],
    history: &[Administration],
    staff: &[Staff],
    now: chrono::DateTime<chrono::Utc>,
    device: &crate::ids::DeviceId,
    known: &mut dyn FnMut(&RecordId) -> bool,
) -> Vec<Incident> {
    let name = |a: &Administration| {
        staff
            .iter()
            .find(|s| s.id == a.author)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| a.author.to_string())
    };
    let describe = |id: &RecordId| {
        history.iter().find(|a| &a.id == id).map(|a| {
            format!(
                "{} at {} on {}",
                name(a),
                a.occurred_at
                    .with_timezone(&crate::schedule::HOME_TZ)
                    .format("%H:%M"),
                a.device
            )
        })
    };
    let mut out = Vec::new();
    for dd in possible_double_doses(orders, remedies, history) {
        let (records, what) = match &dd {
            DoubleDose::SameSlot { records } => (records.clone(), "one dose slot".to_string()),
            DoubleDose::PrnInterval {
                first,
                second,
                substance,
            } => (
                vec![first.clone(), second.clone()],
                format!("{substance} inside its minimum interval"),
            ),
        };
        let id = RecordId::new(format!("inc-dd-{:016x}", fnv1a(&records)));
        if known(&id) {
            continue;
        }
        let who: Vec<String> = records.iter().filter_map(describe).collect();
        out.push(Incident {
            id,
            resident: resident.clone(),
            kind: IncidentKind::PossibleDoubleDose,
            records,
            message: format!(
                "Possible double dose: {} records given for {}: {}. Check the resident and tell the manager.",
                who.len(),
                what,
                who.join("; ")
            ),
            raised_at: now,
            device: device.clone(),
        });
    }
    out
}

/// A stable hash of a set of record ids, whatever their order (FNV-1a over the sorted ids):
/// the ids of incidents that every tablet derives alike from the records they name.
pub fn fnv1a(ids: &[RecordId]) -> u64 {
    let mut sorted: Vec<&str> = ids.iter().map(|r| r.as_str()).collect();
    sorted.sort_unstable();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for id in sorted {
        for b in id.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
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
    /// S1: two charts with one NHS number, found after a sync (two tablets admitted the same
    /// person while apart).
    DuplicateChart,
    /// S14: NO_STOCK recorded at a dose: a task for the senior to reorder.
    NoStock,
    /// S4 with S10: a dose entered after the event broke an interval or a 24-hour limit.
    LimitBreach,
}

impl IncidentKind {
    /// The safety rule the incident comes from.
    pub fn rule(self) -> Rule {
        match self {
            IncidentKind::PossibleDoubleDose => Rule::S18,
            IncidentKind::MissedTimeCritical => Rule::S8,
            IncidentKind::CdCountDiscrepancy => Rule::S7,
            IncidentKind::RepeatedOmission => Rule::S11,
            IncidentKind::Retrospective => Rule::S10,
            IncidentKind::AllergyOverride => Rule::S6,
            IncidentKind::DuplicateChart => Rule::S1,
            IncidentKind::NoStock => Rule::S14,
            IncidentKind::LimitBreach => Rule::S4,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            IncidentKind::PossibleDoubleDose => "Possible double dose",
            IncidentKind::MissedTimeCritical => "Time-critical dose missed",
            IncidentKind::CdCountDiscrepancy => "Controlled drug count discrepancy",
            IncidentKind::RepeatedOmission => "Repeated omissions: review with GP or pharmacist",
            IncidentKind::Retrospective => "Retrospective entry",
            IncidentKind::AllergyOverride => "Allergy override",
            IncidentKind::DuplicateChart => "Two charts for one person",
            IncidentKind::NoStock => "Out of stock: reorder",
            IncidentKind::LimitBreach => "Limit broken by a late entry",
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

/// A senior's or manager's answer to an incident: what was done about it. The incident stays as
/// it was raised; the acknowledgement is a record of its own (S9), so nothing disappears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentAck {
    pub id: RecordId,
    pub incident: RecordId,
    pub resident: crate::ids::ResidentId,
    /// The action taken, in the acknowledger's words.
    pub action: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub by: crate::ids::StaffId,
    pub device: crate::ids::DeviceId,
}

/// Whether `by` may acknowledge `incident` with `action`: a senior carer or manager, with a
/// note of the action taken, once. (Two tablets acknowledging at once both keep their notes.)
pub fn acknowledge(
    incident: &Incident,
    earlier: &[IncidentAck],
    by: &Staff,
    action: &str,
) -> Result<(), Finding> {
    if !by.role.is_senior() || !by.active {
        return Err(Finding::block(
            Rule::S19,
            FindingCode::RoleNotAllowed,
            "Only a senior carer or manager can acknowledge an incident.",
        ));
    }
    if action.trim().is_empty() {
        return Err(Finding::block(
            incident.kind.rule(),
            FindingCode::NoteNeeded,
            "Say what was done about it: the note stays with the incident.",
        ));
    }
    if earlier.iter().any(|a| a.incident == incident.id) {
        return Err(Finding::block(
            incident.kind.rule(),
            FindingCode::AlreadyRecorded,
            "This incident has already been acknowledged.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DeviceId, ResidentId};
    use crate::rules::tests::{staff, utc};
    use crate::staff::Role;

    fn incident() -> Incident {
        Incident {
            id: RecordId::new("inc-1"),
            resident: ResidentId::new("r1"),
            kind: IncidentKind::PossibleDoubleDose,
            records: vec![RecordId::new("a"), RecordId::new("b")],
            message: "Two GIVEN records".into(),
            raised_at: utc("2026-06-01T08:00:00Z"),
            device: DeviceId::new("tab1"),
        }
    }

    #[test]
    fn s19_only_a_senior_or_manager_acknowledges_an_incident() {
        let i = incident();
        let carer = staff("c1", Role::Carer);
        let f = acknowledge(&i, &[], &carer, "Checked").unwrap_err();
        assert_eq!((f.rule, f.code), (Rule::S19, FindingCode::RoleNotAllowed));
        assert!(acknowledge(&i, &[], &staff("s1", Role::Senior), "Checked").is_ok());
        assert!(acknowledge(&i, &[], &staff("m1", Role::Manager), "Checked").is_ok());
        let f = acknowledge(&i, &[], &staff("a1", Role::Auditor), "Checked").unwrap_err();
        assert_eq!(f.code, FindingCode::RoleNotAllowed);
    }

    #[test]
    fn s18_acknowledging_needs_an_action_note_and_happens_once() {
        let i = incident();
        let m = staff("m1", Role::Manager);
        let f = acknowledge(&i, &[], &m, "  ").unwrap_err();
        assert_eq!((f.rule, f.code), (Rule::S18, FindingCode::NoteNeeded));
        let ack = IncidentAck {
            id: RecordId::new("ack-1"),
            incident: i.id.clone(),
            resident: i.resident.clone(),
            action: "GP informed; observations for 24 h".into(),
            at: utc("2026-06-01T09:00:00Z"),
            by: m.id.clone(),
            device: DeviceId::new("tab1"),
        };
        let f = acknowledge(&i, &[ack], &m, "again").unwrap_err();
        assert_eq!(f.code, FindingCode::AlreadyRecorded);
    }
}
