//! A resident gone to hospital or on leave and back, leaving the home, and the reconciliation
//! of their medicines on return (S15); an order checked in by a senior (S16).

use medround_domain::finding::FindingCode;
use medround_domain::record::ResidentChange;
use medround_domain::rules::{self};
use medround_domain::schedule::HOME_TZ;
use medround_domain::ResidentId;
use medround_ipc::*;

use crate::staff;
use crate::{storage, views, Bedside, PER_ORDER_RECORDS};

impl Bedside {
    /// S15: a senior confirms the medicines after a return; doses unlock.
    pub fn reconcile(&mut self, resident: &str) -> Result<(), IpcError> {
        let author = self.who()?;
        let now = self.clock.now();
        let mut r = self
            .store
            .resident(&ResidentId::new(resident))
            .map_err(storage)?;
        rules::reconcile(&r, &author).map_err(|f| IpcError {
            code: ErrorCode::NotAllowed,
            message: f.message.clone(),
            findings: vec![f],
        })?;
        r.reconciliation_pending = false;
        let event = self.resident_event(&r.id, ResidentChange::Reconciled, &author);
        self.store
            .put_resident_recording(&r, &event, now)
            .map_err(storage)
    }

    /// S15: a senior records that a resident has gone to hospital or on leave (from now), or
    /// is back, when their doses lock until a senior reconciles the medicines.
    pub fn set_presence(
        &mut self,
        resident: &str,
        change: rules::PresenceChange,
    ) -> Result<medround_ipc::Done, IpcError> {
        let author = self.who()?;
        let now = self.clock.now();
        let r = self
            .store
            .resident(&ResidentId::new(resident))
            .map_err(storage)?;
        let changed = rules::change_presence(&r, &author, change, now).map_err(staff::refused)?;
        // The record keeps the away period once it has ended, so that slots in it close as
        // HOSPITAL or LEAVE even if no tablet closed them while the resident was away.
        let record = match change {
            rules::PresenceChange::Back => ResidentChange::Back {
                was: r.presence.clone(),
            },
            _ => ResidentChange::Away {
                presence: changed.presence.clone(),
            },
        };
        let event = self.resident_event(&r.id, record, &author);
        self.store
            .put_resident_recording(&changed, &event, now)
            .map_err(storage)?;
        let name = changed.full_name();
        let message = match change {
            rules::PresenceChange::ToHospital => format!(
                "{name} is recorded as in hospital from {}. Their doses resolve as HOSPITAL until they are back.",
                views::local(now, "%H:%M")
            ),
            rules::PresenceChange::OnLeave => format!(
                "{name} is recorded as on leave from {}. Their doses resolve as LEAVE until they are back.",
                views::local(now, "%H:%M")
            ),
            rules::PresenceChange::Back if r.has_left() => format!(
                "{name} is readmitted. Their doses stay locked until a senior has checked the medicines they came with."
            ),
            rules::PresenceChange::Back => format!(
                "{name} is back. Their doses stay locked until a senior has checked the medicines that came back with them."
            ),
            rules::PresenceChange::Discharged | rules::PresenceChange::Died => format!(
                "{name} has left the home: their doses stop and they leave the round. Their records are kept, and stay in the review and the audit trail."
            ),
        };
        Ok(medround_ipc::Done::said(message))
    }

    /// S16: a senior checks in a pending order (from the pharmacy, or typed in by hand, which
    /// also needs a second trained person's PIN). From then on it can be given.
    /// Another active order with the same ingredient (duplicate therapy) is refused with a
    /// warning until `check.acknowledged` holds it; `check.both_intended`, the prescriber's
    /// note that both are meant, goes on the order.
    pub fn check_in_order(
        &mut self,
        resident: &str,
        order: &str,
        second: Option<&WitnessPin>,
        check: &CheckInAnswers,
    ) -> Result<(), IpcError> {
        let author = self.who()?;
        let now = self.clock.now();
        let orders = self
            .store
            .orders_for(&ResidentId::new(resident))
            .map_err(storage)?;
        let mut o = orders
            .iter()
            .find(|o| o.id.as_str() == order)
            .cloned()
            .ok_or_else(|| {
                IpcError::new(ErrorCode::NotFound, "That order is not on this chart.")
            })?;
        let second = match second {
            Some(w) => Some(self.check_witness(w, &author)?),
            None => None,
        };
        let note = check
            .both_intended
            .as_deref()
            .map(medround_domain::text::tidy)
            .filter(|n| !n.is_empty());
        let mut acknowledged = check.acknowledged.clone();
        if note.is_some() {
            acknowledged.push(FindingCode::DuplicateTherapy);
        }
        let today = now.with_timezone(&HOME_TZ).date_naive();
        let resident = self
            .store
            .resident(&ResidentId::new(resident))
            .map_err(storage)?;
        let by = rules::check_in(
            &o,
            &author,
            second.as_ref(),
            &resident,
            &orders,
            today,
            &acknowledged,
        )
        .map_err(|f| IpcError {
            code: ErrorCode::Blocked,
            message: f
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            findings: f,
        })?;
        o.status = medround_domain::order::OrderStatus::Active;
        o.checked_in_by = by;
        o.both_intended = note;
        // A changed dose takes over from the order it replaces, in the same write.
        if let Some(old) = o
            .replaces
            .as_ref()
            .and_then(|r| orders.iter().find(|x| &x.id == r))
        {
            let facts = self
                .store
                .slot_facts(std::slice::from_ref(&old.id), PER_ORDER_RECORDS)
                .map_err(storage)?;
            let answered = medround_domain::fact::standing_facts(&facts).filter_map(|f| f.slot);
            let (new, old) = medround_domain::order::take_over(&o, old, answered, now);
            return self.store.put_orders(&[new, old], now).map_err(storage);
        }
        self.store.put_order(&o, now).map_err(storage)
    }
}
