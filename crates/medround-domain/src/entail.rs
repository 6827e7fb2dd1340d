//! What a record entails: the controlled-drug register entry (S7) and the incidents for the
//! senior and the manager (S4, S6, S10, S11, S14) that follow from a dose, a correction or a
//! patch's removal. Decided here, in the domain, so that every record that meets a rule meets
//! it the same way, whoever or whatever wrote it; the bedside gathers the context and writes
//! what comes back. Ids come from the caller (`new_id`, given the kind's prefix), as does the
//! time.

use crate::cd::{CdEntry, CdMovement};
use crate::fact::DoseFact;
use crate::finding::{Assessment, Finding, FindingCode, Severity};
use crate::ids::{DeviceId, RecordId, StaffId};
use crate::incident::{Incident, IncidentKind};
use crate::mar::omission_review;
use crate::order::{Application, Order};
use crate::outcome::OutcomeCode;
use crate::qty::Qty;
use crate::record::{Administration, PatchRemoval};
use crate::rules::{self, DoseAttempt, DoseContext};
use crate::stock::{StockMovement, StockReason};
use chrono::{DateTime, Utc};

/// What follows from one record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entailed {
    /// The register line of a controlled drug (S7).
    pub cd_entry: Option<CdEntry>,
    pub incidents: Vec<Incident>,
}

/// Records a dose with all that it entails ([`dose`]: its register entry, the
/// incidents it raises), if nothing blocks and every warning is acknowledged. `new_id` makes
/// the ids of what follows, given a prefix.
pub fn record_dose(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    id: RecordId,
    device: DeviceId,
    new_id: &mut dyn FnMut(&str) -> RecordId,
) -> Result<(Administration, Entailed), Assessment> {
    let assessment = rules::assess(ctx, a);
    if !assessment.ready() {
        return Err(assessment);
    }
    let rec = rules::make_record(ctx, a, id, device);
    let entailed = dose(ctx, &rec, &assessment.findings, new_id);
    Ok((rec, entailed))
}

/// What follows from a dose `rec` recorded in `ctx`, with the `findings` it was recorded
/// over (its acknowledged warnings).
pub fn dose(
    ctx: &DoseContext<'_>,
    rec: &Administration,
    findings: &[Finding],
    new_id: &mut dyn FnMut(&str) -> RecordId,
) -> Entailed {
    let mut out = Entailed::default();
    let order = rec
        .subject
        .order()
        .and_then(|o| ctx.orders.iter().find(|x| &x.id == o));
    if let Some(o) = order {
        let taken_or_destroyed = rec.outcome.is_taken() || rec.outcome == OutcomeCode::Destroyed;
        // S7: the register entry, with the running balance and both names.
        if let (Some(_), true, Some(bal), Some(w)) = (
            o.cd,
            taken_or_destroyed,
            ctx.cd_balance,
            rec.witness.clone(),
        ) {
            let q = rec.quantity.unwrap_or(o.dose.max());
            let movement = if rec.outcome == OutcomeCode::Destroyed {
                CdMovement::Destroyed { qty: q }
            } else {
                CdMovement::Administered {
                    qty: q,
                    administration: rec.id.clone(),
                }
            };
            out.cd_entry = Some(CdEntry {
                id: new_id("cd"),
                resident: rec.resident.clone(),
                order: o.id.clone(),
                drug: o.medicine.label(),
                balance_after: bal + movement.delta(),
                movement,
                at: rec.occurred_at,
                by: rec.author.clone(),
                witness: w,
                device: rec.device.clone(),
            });
        }
    }
    let mut incident = |kind: IncidentKind, message: String| {
        out.incidents.push(Incident {
            id: new_id("inc"),
            resident: rec.resident.clone(),
            kind,
            records: vec![rec.id.clone()],
            message,
            raised_at: ctx.now,
            device: rec.device.clone(),
        })
    };
    if let Some(why) = &rec.allergy_override {
        incident(
            IncidentKind::AllergyOverride,
            format!("Given despite a recorded allergy: {why}"),
        );
    }
    if let Some(why) = &rec.retrospective_reason {
        incident(
            IncidentKind::Retrospective,
            format!("Entered after the event: {why}"),
        );
    }
    // S4 with S10: a dose entered after the event that breaks a limit is kept (it happened),
    // and the breach goes to the senior.
    let breaches: Vec<&str> = findings
        .iter()
        .filter(|f| {
            f.severity == Severity::Warn
                && matches!(
                    f.code,
                    FindingCode::IngredientMaxExceeded
                        | FindingCode::PrnIntervalNotMet
                        | FindingCode::PrnMaxExceeded
                )
        })
        .map(|f| f.message.as_str())
        .collect();
    if !breaches.is_empty() {
        incident(
            IncidentKind::LimitBreach,
            format!(
                "A dose entered after the event breaks a limit: {} Check the resident.",
                breaches.join(" ")
            ),
        );
    }
    if let (Some(o), true) = (order, rec.outcome.is_omission()) {
        let mut facts = ctx.slot_history.to_vec();
        facts.extend(ctx.history.iter().map(DoseFact::from));
        facts.push(DoseFact::from(rec));
        if let Some(review) = omission_review(o, &facts) {
            let codes: Vec<&str> = review.outcomes.iter().map(|c| c.code()).collect();
            incident(
                IncidentKind::RepeatedOmission,
                format!(
                    "{}: {} in a row. Ask the GP or pharmacist to review.",
                    o.medicine.label(),
                    codes.join(", ")
                ),
            );
        }
    }
    // S14: none in the home is a task for the senior: reorder, and ask the pharmacy today.
    if let (Some(o), OutcomeCode::NoStock) = (order, rec.outcome) {
        incident(
            IncidentKind::NoStock,
            format!(
                "{} was not in the home for the dose due {}: reorder it and ask the pharmacy \
                 for an urgent supply.",
                o.medicine.label(),
                rec.subject
                    .slot()
                    .map(|(_, at)| at)
                    .unwrap_or(rec.occurred_at)
                    .with_timezone(&ctx.tz)
                    .format("%H:%M %-d %b")
            ),
        );
    }
    out
}

/// What a correction entails (S9): what the voided dose took goes back into its order's stock
/// (S14), and a controlled drug's back on the register too, named by who corrected it and
/// their witness (S7), so that the register's balance and the stock level never disagree.
/// `cd_balance` is the register's balance before it, for a controlled drug.
pub fn correction(
    order: Option<&Order>,
    voided: &Administration,
    correction: &Administration,
    witness: Option<&StaffId>,
    cd_balance: Option<Qty>,
    new_id: &mut dyn FnMut(&str) -> RecordId,
) -> (Option<StockMovement>, Option<CdEntry>) {
    // Older doses have no `from_stock` and wrote a movement of their own for what they took.
    let took = voided
        .from_stock
        .or(voided.quantity.filter(|_| voided.outcome.is_taken()));
    let (Some(o), Some(qty)) = (order, took) else {
        return (None, None);
    };
    let movement = StockMovement {
        id: new_id("stk"),
        order: o.id.clone(),
        delta: qty,
        reason: StockReason::CountAdjustment,
        at: correction.occurred_at,
        by: correction.author.clone(),
        device: correction.device.clone(),
    };
    let entry = match (o.cd, witness, cd_balance) {
        (Some(_), Some(w), Some(balance)) => {
            let movement = CdMovement::Voided {
                qty,
                administration: voided.id.clone(),
                correction: correction.id.clone(),
            };
            Some(CdEntry {
                id: new_id("cd"),
                resident: voided.resident.clone(),
                order: o.id.clone(),
                drug: o.medicine.label(),
                balance_after: balance + movement.delta(),
                movement,
                at: correction.occurred_at,
                by: correction.author.clone(),
                witness: w.clone(),
                device: correction.device.clone(),
            })
        }
        _ => None,
    };
    (Some(movement), entry)
}

/// S7, S13: a controlled-drug patch taken off is destroyed in front of a witness, and the
/// register says so (the balance counted the patch out when it went on, so it does not move).
pub fn patch_removed(
    order: &Order,
    removal: &PatchRemoval,
    witness: &StaffId,
    balance: Qty,
    new_id: &mut dyn FnMut(&str) -> RecordId,
    device: &DeviceId,
    at: DateTime<Utc>,
) -> Option<CdEntry> {
    if order.cd.is_none() || !matches!(order.application, Application::Patch { .. }) {
        return None;
    }
    Some(CdEntry {
        id: new_id("cd"),
        resident: removal.resident.clone(),
        order: order.id.clone(),
        drug: order.medicine.label(),
        movement: CdMovement::PatchRemovedAndDestroyed {
            removal: removal.id.clone(),
            site: removal.site.clone(),
        },
        balance_after: balance,
        at,
        by: removal.author.clone(),
        witness: witness.clone(),
        device: device.clone(),
    })
}
