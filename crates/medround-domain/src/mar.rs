//! The state of each dose slot, the round overview, closing unresolved slots (S8, S15) and
//! repeated omissions (S11).

use crate::fact::{standing_facts, DoseFact};
use crate::ids::{OrderId, ResidentId};
use crate::order::{Order, OrderStatus};
use crate::outcome::OutcomeCode;
use crate::record::{standing, Administration, ResidentChange, ResidentEvent, Subject};
use crate::resident::{Presence, Resident};
use crate::schedule::{slots_between, window, SlotWindow};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "outcome", rename_all = "snake_case")]
pub enum SlotState {
    /// Its window has not opened yet.
    Upcoming,
    /// In its window now.
    Due,
    /// Past its window, still open: can be given late with a reason.
    Late,
    /// Has an outcome.
    Done(OutcomeCode),
}

/// The outcome a slot stands at: the latest standing staff record, else a system MISSED.
pub fn slot_outcome<'a>(
    records: impl Iterator<Item = &'a Administration>,
) -> Option<&'a Administration> {
    slot_outcome_by(records, |r| (r.is_system(), r.recorded_at))
}

/// The same choice over any kind of record, given each one's (is it the system's, when was it
/// recorded): a person's record beats the system's MISSED, and the later beats the earlier.
pub fn slot_outcome_by<T>(
    records: impl Iterator<Item = T>,
    key: impl Fn(&T) -> (bool, DateTime<Utc>),
) -> Option<T> {
    let mut best: Option<T> = None;
    for r in records {
        let (sys, at) = key(&r);
        best = match best {
            None => Some(r),
            Some(b) => {
                let (bsys, bat) = key(&b);
                if (bsys && !sys) || (bsys == sys && at > bat) {
                    Some(r)
                } else {
                    Some(b)
                }
            }
        };
    }
    best
}

pub fn slot_state(
    w: &SlotWindow,
    outcome: Option<&Administration>,
    now: DateTime<Utc>,
) -> SlotState {
    match outcome {
        Some(r) => SlotState::Done(r.outcome),
        None if now < w.opens => SlotState::Upcoming,
        None if now <= w.late_after => SlotState::Due,
        None => SlotState::Late,
    }
}

/// A slot still without an outcome whose window has closed, and what it resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub order: OrderId,
    pub at: DateTime<Utc>,
    /// MISSED, or HOSPITAL/LEAVE while the resident is away (S15).
    pub outcome: OutcomeCode,
}

/// S15: the absence a slot at `at` fell in, if any: the resident's present one (in hospital,
/// on leave, or gone for good), or one that has ended, from the event that recorded the return
/// (in `events`).
pub fn absence_at<'a>(
    resident: &'a Resident,
    events: &'a [ResidentEvent],
    at: DateTime<Utc>,
) -> Option<&'a Presence> {
    let covers = |p: &Presence, until: Option<DateTime<Utc>>| match p {
        Presence::InHospital { since }
        | Presence::OnLeave { since }
        | Presence::Left { since, .. } => *since <= at && until.is_none_or(|u| at < u),
        Presence::Present => false,
    };
    Some(&resident.presence)
        .filter(|p| covers(p, None))
        .or_else(|| {
            events
                .iter()
                .filter(|e| e.resident == resident.id)
                .find_map(|e| match &e.change {
                    ResidentChange::Back { was } if covers(was, Some(e.at)) => Some(was),
                    _ => None,
                })
        })
}

/// S8/S15: the slots in `[since, now)` whose window closed with no outcome: MISSED, or
/// HOSPITAL/LEAVE for a slot while the resident was away, even when the window is closed only
/// after their return (no tablet ran in between). `events` are the resident's recent events;
/// a slot before their admission, or after they left the home, is not theirs to miss.
pub fn closures(
    resident: &Resident,
    orders: &[Order],
    history: &[Administration],
    events: &[ResidentEvent],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<Closure> {
    let admitted = events
        .iter()
        .filter(|e| e.resident == resident.id && e.change == ResidentChange::Admitted)
        .map(|e| e.at)
        .max();
    let since = admitted.map_or(since, |a| since.max(a));
    let mut out = Vec::new();
    let stand: Vec<&Administration> = standing(history).collect();
    for o in orders
        .iter()
        .filter(|o| o.status == OrderStatus::Active && o.resident == resident.id)
    {
        for at in slots_between(o, since, now, tz) {
            let w = window(o, at, tz);
            if w.closes > now {
                continue;
            }
            let subject = Subject::Slot {
                order: o.id.clone(),
                at,
            };
            if stand.iter().any(|r| r.subject == subject) {
                continue;
            }
            let outcome = match absence_at(resident, events, at) {
                Some(Presence::InHospital { .. }) => OutcomeCode::Hospital,
                Some(Presence::OnLeave { .. }) => OutcomeCode::Leave,
                // Not in the home's care then: nothing was due to them.
                Some(Presence::Left { .. }) => continue,
                Some(Presence::Present) | None => OutcomeCode::Missed,
            };
            out.push(Closure {
                order: o.id.clone(),
                at,
                outcome,
            });
        }
    }
    out
}

/// How near to due a time-critical dose must be to raise its alert before it becomes late (S3).
pub const TIME_CRITICAL_ALERT_MINUTES: i64 = 30;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentRound {
    pub due_now: u32,
    pub late: u32,
    /// Closed as MISSED in the lookback period and never answered by staff.
    pub missed: u32,
    pub time_critical_soon: u32,
    pub away: bool,
    pub locked_for_reconciliation: bool,
    /// Earliest due or late slot, to sort the round by.
    pub next_due: Option<DateTime<Utc>>,
}

/// The round overview for one resident at `now`, looking back `lookback` for late and missed
/// doses. Reads only the slots in that period, so it costs the same on day 365 as on day 1.
pub fn resident_round(
    resident: &Resident,
    orders: &[Order],
    history: &[Administration],
    now: DateTime<Utc>,
    lookback: Duration,
    tz: Tz,
) -> ResidentRound {
    let mut r = ResidentRound {
        away: resident.is_away(),
        locked_for_reconciliation: resident.reconciliation_pending,
        ..Default::default()
    };
    if resident.has_left() {
        return r;
    }
    let stand: Vec<&Administration> = standing(history).collect();
    let horizon = now + Duration::minutes(90);
    for o in orders
        .iter()
        .filter(|o| o.status == OrderStatus::Active && o.resident == resident.id)
    {
        for at in slots_between(o, now - lookback, horizon, tz) {
            let w = window(o, at, tz);
            let subject = Subject::Slot {
                order: o.id.clone(),
                at,
            };
            let outcome = slot_outcome(stand.iter().copied().filter(|x| x.subject == subject));
            match (outcome.map(|x| x.outcome), slot_state(&w, outcome, now)) {
                (Some(OutcomeCode::Missed), _) => r.missed += 1,
                (_, SlotState::Due) => {
                    r.due_now += 1;
                    r.next_due = r.next_due.min(Some(at)).or(Some(at));
                }
                (_, SlotState::Late) if now <= w.closes => {
                    r.late += 1;
                    r.next_due = r.next_due.min(Some(at)).or(Some(at));
                }
                (None, SlotState::Late) => r.missed += 1,
                _ => {}
            }
            if o.time_critical
                && outcome.is_none()
                && now >= at - Duration::minutes(TIME_CRITICAL_ALERT_MINUTES)
                && now <= w.late_after
            {
                r.time_critical_soon += 1;
            }
        }
    }
    r
}

/// A review task for the GP or pharmacist (S11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OmissionReview {
    pub resident: ResidentId,
    pub order: OrderId,
    pub outcomes: Vec<OutcomeCode>,
}

/// Consecutive not-given outcomes of one order that raise a review (S11).
pub const OMISSIONS_FOR_REVIEW: usize = 3;

/// S11: the order's last three slot outcomes were all omissions. Reads dose facts, so the
/// caller can give it an order's last slots from however long ago without decoding records.
pub fn omission_review(order: &Order, facts: &[DoseFact]) -> Option<OmissionReview> {
    let stand: Vec<&DoseFact> = standing_facts(facts)
        .filter(|f| f.order.as_ref() == Some(&order.id) && f.slot.is_some())
        .collect();
    let mut slots: Vec<DateTime<Utc>> = stand.iter().filter_map(|f| f.slot).collect();
    slots.sort();
    slots.dedup();
    let last: Vec<OutcomeCode> = slots
        .iter()
        .rev()
        .take(OMISSIONS_FOR_REVIEW)
        .filter_map(|at| {
            slot_outcome_by(stand.iter().copied().filter(|f| f.slot == Some(*at)), |f| {
                (f.is_system(), f.recorded_at)
            })
            .map(|f| f.outcome)
        })
        .collect();
    (last.len() == OMISSIONS_FOR_REVIEW && last.iter().all(|o| o.is_omission())).then(|| {
        OmissionReview {
            resident: order.resident.clone(),
            order: order.id.clone(),
            outcomes: last.into_iter().rev().collect(),
        }
    })
}

/// What closing a resident's windows writes: a record for each slot that closed with no
/// outcome, and the incidents they raise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClosedWindows {
    pub records: Vec<Administration>,
    pub incidents: Vec<crate::incident::Incident>,
}

/// S8, S15, S11, S3: closes every slot in `[since, now)` whose window has closed with no
/// outcome, and decides what follows, as staff records would: a time-critical dose closed as
/// MISSED raises an incident, and a closure that makes the order's third omission in a row
/// raises a review for the GP or pharmacist (S11), which a MISSED set by the system counts
/// towards as much as a REFUSED recorded by a carer. `history` holds the resident's records
/// from `since` on; `recent` the order's last slot outcomes from before (dose facts, however
/// old), so that an omission run that began before `since` is seen. Ids are derived from the
/// slot, so two tablets closing the same slot write the same keys.
#[allow(clippy::too_many_arguments)]
pub fn close(
    resident: &Resident,
    orders: &[Order],
    history: &[Administration],
    recent: &[DoseFact],
    events: &[ResidentEvent],
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: Tz,
    device: &crate::ids::DeviceId,
) -> ClosedWindows {
    use crate::ids::{RecordId, StaffId};
    use crate::incident::{Incident, IncidentKind};
    let mut out = ClosedWindows::default();
    let mut facts: Vec<DoseFact> = recent.to_vec();
    facts.extend(history.iter().map(DoseFact::from));
    let mut reviewed: Vec<OrderId> = Vec::new();
    let mut closed = closures(resident, orders, history, events, since, now, tz);
    closed.sort_by(|a, b| a.at.cmp(&b.at).then(a.order.cmp(&b.order)));
    for c in closed {
        let Some(o) = orders.iter().find(|o| o.id == c.order) else {
            continue;
        };
        let id = RecordId::new(format!(
            "sys-{}-{}-{}",
            c.outcome.code().to_lowercase(),
            c.order,
            c.at.timestamp()
        ));
        let rec = Administration::system(
            id.clone(),
            resident.id.clone(),
            Subject::Slot {
                order: c.order.clone(),
                at: c.at,
            },
            c.outcome,
            now,
            StaffId::new("system"),
            device.clone(),
        );
        facts.push(DoseFact::from(&rec));
        let mut incident = |kind: IncidentKind, key: &str, message: String| {
            out.incidents.push(Incident {
                id: RecordId::new(format!("inc-{key}{id}")),
                resident: resident.id.clone(),
                kind,
                records: vec![id.clone()],
                message,
                raised_at: now,
                device: device.clone(),
            })
        };
        if c.outcome == OutcomeCode::Missed && o.time_critical {
            incident(
                IncidentKind::MissedTimeCritical,
                "",
                format!(
                    "{} due {} was missed.",
                    o.medicine.label(),
                    c.at.with_timezone(&tz).format("%H:%M %d %b")
                ),
            );
        }
        // S11: once per order in one closing, at the slot that made the third omission.
        if c.outcome.is_omission() && !reviewed.contains(&o.id) {
            let upto: Vec<DoseFact> = facts
                .iter()
                .filter(|f| f.slot.is_none_or(|s| s <= c.at))
                .cloned()
                .collect();
            if let Some(review) = omission_review(o, &upto) {
                reviewed.push(o.id.clone());
                let codes: Vec<&str> = review.outcomes.iter().map(|c| c.code()).collect();
                incident(
                    IncidentKind::RepeatedOmission,
                    "s11-",
                    format!(
                        "{}: {} in a row. Ask the GP or pharmacist to review.",
                        o.medicine.label(),
                        codes.join(", ")
                    ),
                );
            }
        }
        out.records.push(rec);
    }
    out
}

/// A slot's window closes at most 3 hours after it (60 minutes, then two hours late); each
/// closing starts this far before the last one reached, so a slot whose window was still
/// open then is closed now.
pub const CLOSE_OVERLAP_HOURS: i64 = 6;

/// S8: where a closing of windows starts, given where the last one on this tablet reached
/// (`mark`): however long ago that was, every slot since is closed, so a tablet switched off
/// from Monday to Thursday closes Monday's slots when it starts. With no mark (a store from
/// before marks were kept, or a new one), from the first day any order starts. Never before
/// the first order starts: a new home does not fill with MISSED records for days before it
/// existed.
pub fn closing_from(
    mark: Option<DateTime<Utc>>,
    orders: &[Order],
    now: DateTime<Utc>,
    tz: Tz,
) -> DateTime<Utc> {
    let first_start = orders
        .iter()
        .map(|o| crate::schedule::local_to_utc(tz, o.start.and_hms_opt(0, 0, 0).expect("midnight")))
        .min();
    let from = match mark {
        Some(t) => t.min(now) - Duration::hours(CLOSE_OVERLAP_HOURS),
        None => first_start.unwrap_or(now),
    };
    first_start.map_or(from, |f| from.max(f))
}
