//! The safety rules (S1-S19 of `shared/domain.md`) applied to one attempt to record a dose.
//!
//! [`assess`] returns every finding at once, so the carer sees all that stands in the way rather
//! than one problem at a time. [`record`] turns an attempt into an immutable record only when
//! nothing blocks and every warning has been acknowledged.

use crate::barcode::Scan;
use crate::fact::{standing_facts, DoseFact};
use crate::finding::{Assessment, Finding, FindingCode, Rule, Severity};
use crate::homely::HomelyRemedy;
use crate::ids::{DeviceId, RecordId, StaffId};
use crate::medicine::{IngredientLimit, Medicine};
use crate::order::{Application, Order, OrderStatus};
use crate::outcome::OutcomeCode;
use crate::qty::Qty;
use crate::record::{standing, Administration, PatchRemoval, ProductCheck, Subject};
use crate::resident::Resident;
use crate::schedule::window;
use crate::staff::Staff;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The second person for a controlled drug, as the shell established them.
#[derive(Debug, Clone, Copy)]
pub struct Witness<'a> {
    pub staff: &'a Staff,
    /// The witness's own PIN was checked on this device just now.
    pub authenticated: bool,
}

/// Everything the rules need to know, gathered by the caller. Nothing here is fetched lazily, so
/// the rules stay pure and the same inputs always give the same findings.
#[derive(Debug, Clone, Copy)]
pub struct DoseContext<'a> {
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub resident: &'a Resident,
    /// All of this resident's orders (for ingredients across products, S4).
    pub orders: &'a [Order],
    /// The home's homely-remedy list (S17).
    pub remedies: &'a [HomelyRemedy],
    pub limits: &'a [IngredientLimit],
    /// This resident's administration records, corrections included: every record of the
    /// last two days, and of orders with a body site (S13) their last records whatever their age.
    pub history: &'a [Administration],
    /// The last records of each of the resident's orders, however old, as dose facts: enough
    /// to see whether a slot already has an outcome (S8), even one days back entered after the
    /// event (S10).
    pub slot_history: &'a [DoseFact],
    pub patch_removals: &'a [PatchRemoval],
    pub author: &'a Staff,
    pub witness: Option<Witness<'a>>,
    /// The CD register balance for this resident's supply of the order's drug (S7).
    pub cd_balance: Option<Qty>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoseAttempt {
    pub subject: Subject,
    pub outcome: OutcomeCode,
    #[serde(default)]
    pub quantity: Option<Qty>,
    #[serde(default)]
    pub note: Option<String>,
    /// When it happened, if not now (S10).
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub late_reason: Option<String>,
    #[serde(default)]
    pub retrospective_reason: Option<String>,
    #[serde(default)]
    pub scans: Vec<Scan>,
    /// No scanner: the carer confirmed the product by tapping it (S2).
    #[serde(default)]
    pub product_tapped: bool,
    #[serde(default)]
    pub covert: bool,
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub prn_reason: Option<String>,
    #[serde(default)]
    pub allergy_override: Option<String>,
    #[serde(default)]
    pub acknowledged: Vec<FindingCode>,
}

impl DoseAttempt {
    pub fn new(subject: Subject, outcome: OutcomeCode) -> Self {
        DoseAttempt {
            subject,
            outcome,
            quantity: None,
            note: None,
            occurred_at: None,
            late_reason: None,
            retrospective_reason: None,
            scans: vec![],
            product_tapped: false,
            covert: false,
            site: None,
            prn_reason: None,
            allergy_override: None,
            acknowledged: vec![],
        }
    }
}

/// A record entered more than this long after the event is retrospective (S10).
pub const RETROSPECTIVE_AFTER_MINUTES: i64 = 15;

fn filled(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.trim().is_empty())
}

/// What is being given: an order or a homely remedy, seen through the same lens.
struct Product<'a> {
    medicine: &'a Medicine,
    dose: crate::order::Dose,
    unit: &'a str,
    /// (min interval, max per 24h) where the product is "when required".
    prn: Option<(u32, Qty)>,
}

impl<'a> DoseContext<'a> {
    fn order(&self, id: &crate::ids::OrderId) -> Option<&'a Order> {
        self.orders.iter().find(|o| &o.id == id)
    }
    fn remedy(&self, id: &crate::ids::RemedyId) -> Option<&'a HomelyRemedy> {
        self.remedies.iter().find(|r| &r.id == id)
    }
    fn medicine_of(&self, s: &Subject) -> Option<&'a Medicine> {
        match s {
            Subject::Slot { order, .. } | Subject::Prn { order } => {
                self.order(order).map(|o| &o.medicine)
            }
            Subject::Homely { remedy } => self.remedy(remedy).map(|r| &r.medicine),
        }
    }
    /// Standing records of doses that went in.
    fn taken(&self) -> impl Iterator<Item = &'a Administration> {
        standing(self.history).filter(|r| r.outcome.is_taken())
    }
}

/// Applies every rule to the attempt.
pub fn assess(ctx: &DoseContext<'_>, a: &DoseAttempt) -> Assessment {
    let mut f: Vec<Finding> = Vec::new();
    let t = a.occurred_at.unwrap_or(ctx.now);
    let today = t.with_timezone(&ctx.tz).date_naive();
    let taken = a.outcome.is_taken();

    // S19: only trained staff in a role that administers.
    if !ctx.author.may_administer() {
        f.push(Finding::block(
            Rule::S19,
            FindingCode::RoleNotAllowed,
            format!("{} is not authorised to give medicines.", ctx.author.name),
        ));
    }

    // S8: the outcome must be one staff may choose, with a note where needed.
    if !a.outcome.staff_may_choose() {
        f.push(Finding::block(
            Rule::S8,
            FindingCode::OutcomeNotAllowed,
            format!("{} is set by the system, not chosen.", a.outcome.code()),
        ));
    }
    if a.outcome.needs_note() && !filled(&a.note) {
        f.push(Finding::block(
            Rule::S8,
            FindingCode::NoteNeeded,
            format!("{} needs a note saying what happened.", a.outcome.code()),
        ));
    }

    // S10: honest time.
    if t > ctx.now + Duration::minutes(1) {
        f.push(Finding::block(
            Rule::S10,
            FindingCode::FutureTime,
            "A dose cannot be recorded for a time that has not happened yet.",
        ));
    }
    if ctx.now - t > Duration::minutes(RETROSPECTIVE_AFTER_MINUTES)
        && !filled(&a.retrospective_reason)
    {
        f.push(Finding::block(
            Rule::S10,
            FindingCode::RetrospectiveReasonNeeded,
            "This is being recorded after the event: say why it was not recorded at the time.",
        ));
    }

    // S15: left the home, away, or back and not yet reconciled.
    if ctx.resident.has_left() {
        f.push(Finding::block(
            Rule::S15,
            FindingCode::ResidentLeft,
            format!(
                "{} has left the home: no doses are recorded for them.",
                ctx.resident.full_name()
            ),
        ));
    }
    if ctx.resident.is_away() && !matches!(a.outcome, OutcomeCode::Hospital | OutcomeCode::Leave) {
        f.push(Finding::block(
            Rule::S15,
            FindingCode::ResidentAway,
            format!(
                "{} is away from the home; doses resolve as HOSPITAL or LEAVE.",
                ctx.resident.full_name()
            ),
        ));
    }
    if ctx.resident.reconciliation_pending && taken {
        f.push(Finding::block(
            Rule::S15,
            FindingCode::ReconciliationPending,
            "Back from hospital: a senior must confirm the medicines before any dose.",
        ));
    }

    let product = match &a.subject {
        Subject::Slot { order, .. } | Subject::Prn { order } => match ctx.order(order) {
            Some(o) => {
                assess_order(ctx, a, o, t, today, &mut f);
                Some(Product {
                    medicine: &o.medicine,
                    dose: o.dose,
                    unit: &o.unit,
                    prn: o
                        .prn
                        .as_ref()
                        .map(|p| (p.min_interval_minutes, p.max_per_24h)),
                })
            }
            None => {
                f.push(Finding::block(
                    Rule::S5,
                    FindingCode::UnknownOrder,
                    "This order is not on the resident's chart.",
                ));
                None
            }
        },
        Subject::Homely { remedy } => match ctx.remedy(remedy) {
            Some(r) => {
                assess_homely(ctx, a, r, t, &mut f);
                Some(Product {
                    medicine: &r.medicine,
                    dose: r.dose,
                    unit: &r.unit,
                    prn: Some((r.min_interval_minutes, r.max_per_24h)),
                })
            }
            None => {
                f.push(Finding::block(
                    Rule::S17,
                    FindingCode::RemedyNotOnList,
                    "Only remedies on the home's homely-remedy list may be given.",
                ));
                None
            }
        },
    };

    if let Some(p) = &product {
        // S8: quantities.
        if a.outcome == OutcomeCode::Given {
            match a.quantity {
                None if p.dose.is_variable() => f.push(Finding::block(
                    Rule::S8,
                    FindingCode::QuantityNeeded,
                    format!("Say how many were given ({}).", p.dose.describe(p.unit)),
                )),
                Some(q) if !p.dose.allows(q) => f.push(Finding::block(
                    Rule::S8,
                    FindingCode::QuantityOutOfRange,
                    format!(
                        "{q} {} is not the prescribed dose ({}).",
                        p.unit,
                        p.dose.describe(p.unit)
                    ),
                )),
                _ => {}
            }
        }
        if taken {
            if let Some(o) = a.subject.order().and_then(|id| ctx.order(id)) {
                for (other, substance) in crate::order::duplicates(o, ctx.orders, today) {
                    f.push(Finding::warn(
                        Rule::S4,
                        FindingCode::DuplicateTherapy,
                        format!(
                            "{} is also prescribed, and it too contains {substance}: check with \
                             the prescriber that both are meant before giving this.",
                            other.medicine.label()
                        ),
                    ));
                }
            }
            assess_product_scan(ctx, a, p.medicine, today, &mut f);
            assess_allergy(ctx, a, p.medicine, &mut f);
            assess_ingredient_limits(ctx, a, p, t, &mut f);
            if let Some((interval, max)) = p.prn {
                assess_prn(ctx, a, p, interval, max, t, &mut f);
            }
        }
    }

    let acknowledged: BTreeSet<FindingCode> = a.acknowledged.iter().copied().collect();
    let unacknowledged = f
        .iter()
        .filter(|x| x.severity == Severity::Warn && !acknowledged.contains(&x.code))
        .map(|x| x.code)
        .collect();
    Assessment {
        findings: f,
        unacknowledged,
    }
}

/// Every finding about giving (or not giving) one order's dose, step by step: the right
/// person (S1), an active order (S5), the right slot and time (S3, S8) or a when-required
/// protocol (S4), the register (S7), covert administration (S12) and the site (S13).
fn assess_order(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    o: &Order,
    t: DateTime<Utc>,
    today: chrono::NaiveDate,
    f: &mut Vec<Finding>,
) {
    assess_right_person(ctx, a, o, f);
    assess_active_order(ctx, a, o, today, f);
    match &a.subject {
        Subject::Slot { at, .. } => assess_slot(ctx, a, o, *at, t, f),
        Subject::Prn { .. } => {
            if o.prn.is_none() {
                f.push(Finding::block(
                    Rule::S4,
                    FindingCode::NoPrnProtocol,
                    "No when-required dose without a protocol: ask the prescriber for one.",
                ));
            }
        }
        Subject::Homely { .. } => {}
    }
    assess_register(ctx, a, o, f);
    assess_covert(ctx, a, o, today, f);
    assess_site(ctx, a, o, t, f);
}

/// S1: the order must be this resident's, and any label scanned must be this resident's and
/// this order's.
fn assess_right_person(ctx: &DoseContext<'_>, a: &DoseAttempt, o: &Order, f: &mut Vec<Finding>) {
    if o.resident != ctx.resident.id {
        f.push(Finding::block(
            Rule::S1,
            FindingCode::WrongResident,
            "This medicine is prescribed for someone else.",
        ));
    }
    for s in &a.scans {
        if let Scan::Label { resident, order } = s {
            if resident != &ctx.resident.id {
                f.push(Finding::block(
                    Rule::S1,
                    FindingCode::WrongResidentLabel,
                    format!(
                        "STOP: this label is for another resident, not {}.",
                        ctx.resident.full_name()
                    ),
                ));
            } else if order != &o.id {
                f.push(Finding::block(
                    Rule::S1,
                    FindingCode::WrongOrderLabel,
                    format!(
                        "This label is for a different medicine of {}, not {}.",
                        ctx.resident.full_name(),
                        o.medicine.name
                    ),
                ));
            }
        }
    }
}

/// S5: only an active order that has started and not ended can be given.
fn assess_active_order(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    o: &Order,
    today: chrono::NaiveDate,
    f: &mut Vec<Finding>,
) {
    match &o.status {
        OrderStatus::Pending => f.push(Finding::block(
            Rule::S5,
            FindingCode::OrderPending,
            "This order is waiting to be checked in by a senior.",
        )),
        OrderStatus::Discontinued { reason, .. } => f.push(Finding::block(
            Rule::S5,
            FindingCode::OrderNotActive,
            format!("This order was stopped: {reason}."),
        )),
        OrderStatus::Active => {
            // S5: a scheduled dose belongs to the day of its slot, so a course's last dose
            // (due 22:00 on its last day) can still be given in its window after midnight.
            let day = match &a.subject {
                Subject::Slot { at, .. } => at.with_timezone(&ctx.tz).date_naive(),
                _ => today,
            };
            if o.is_ended(day) {
                f.push(Finding::block(
                    Rule::S5,
                    FindingCode::OrderEnded,
                    "This order has ended.",
                ));
            } else if day < o.start {
                f.push(Finding::block(
                    Rule::S5,
                    FindingCode::OrderNotStarted,
                    format!("This order starts on {}.", o.start.format("%-d %b %Y")),
                ));
            }
        }
    }
}

/// A scheduled dose: one outcome per slot (S8), a slot the order really schedules (S3, S5),
/// and the right time, judged at the moment it happened (S3).
fn assess_slot(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    o: &Order,
    at: DateTime<Utc>,
    t: DateTime<Utc>,
    f: &mut Vec<Finding>,
) {
    let taken = a.outcome.is_taken();
    // S8: one outcome per slot; a MISSED set by the system may be answered by staff.
    let order = a.subject.order();
    let existing = standing(ctx.history).any(|r| r.subject == a.subject && !r.is_system())
        || standing_facts(ctx.slot_history)
            .any(|f| f.order.as_ref() == order && f.slot == Some(at) && !f.is_system());
    if existing {
        f.push(Finding::block(
            Rule::S8,
            FindingCode::AlreadyRecorded,
            "This dose already has an outcome. To change it, correct the earlier record.",
        ));
    }
    if o.is_prn() {
        f.push(Finding::block(
            Rule::S4,
            FindingCode::NoPrnProtocol,
            "A when-required medicine has no scheduled doses.",
        ));
    }
    if a.outcome == OutcomeCode::NotRequired && !o.dose.is_variable() {
        f.push(Finding::block(
            Rule::S8,
            FindingCode::OutcomeNotAllowed,
            "NOT_REQUIRED is only for when-required or variable doses.",
        ));
    }
    // S3/S5: the time named must be one the order schedules. The chart offers only
    // real slots, but a record can name any time: methotrexate on a Tuesday when it
    // is ordered on Mondays, or an every-other-day order on its day off.
    let scheduled = crate::schedule::slots_between(o, at, at + Duration::seconds(1), ctx.tz)
        .first()
        == Some(&at);
    let runs = o.runs_on(at.with_timezone(&ctx.tz).date_naive());
    let answered_before = o.slots_after.is_some_and(|after| at <= after);
    if !o.is_prn() && runs && answered_before {
        f.push(Finding::block(
            Rule::S8,
            FindingCode::AlreadyRecorded,
            format!(
                "The {} dose was already recorded under the order this one replaced: \
                 the new dose starts from the next one.",
                at.with_timezone(&ctx.tz).format("%H:%M")
            ),
        ));
    } else if !o.is_prn() && runs && !scheduled {
        f.push(Finding::block(
            Rule::S3,
            FindingCode::NotAScheduledDose,
            format!(
                "{} is not due at {}: its order does not schedule a dose then.",
                o.medicine.label(),
                at.with_timezone(&ctx.tz).format("%H:%M on %a %-d %b")
            ),
        ));
    }
    // S3: right time, judged at the moment it happened.
    let w = window(o, at, ctx.tz);
    let away_outcome = matches!(a.outcome, OutcomeCode::Hospital | OutcomeCode::Leave);
    if t < w.opens && !away_outcome {
        f.push(Finding::block(
            Rule::S3,
            FindingCode::TooEarly,
            format!(
                "Too early: this dose can be given from {}.",
                w.opens.with_timezone(&ctx.tz).format("%H:%M")
            ),
        ));
    } else if t > w.closes && !away_outcome {
        f.push(Finding::block(
            Rule::S3,
            FindingCode::SlotClosed,
            "This dose's window has closed and it is recorded as MISSED. If it was given \
             earlier, record it with the time it was given.",
        ));
    } else if t > w.late_after && taken && !filled(&a.late_reason) {
        f.push(Finding::block(
            Rule::S3,
            FindingCode::LateReasonNeeded,
            "This dose is late: give a reason.",
        ));
    }
}

/// S7: controlled drugs need a witness, and the register can never go negative.
fn assess_register(ctx: &DoseContext<'_>, a: &DoseAttempt, o: &Order, f: &mut Vec<Finding>) {
    let taken = a.outcome.is_taken();
    if o.cd.is_some() && (taken || a.outcome == OutcomeCode::Destroyed) {
        assess_witness(ctx, f);
        let q = a.quantity.unwrap_or(o.dose.max());
        let bal = ctx.cd_balance.unwrap_or(Qty::ZERO);
        if (bal - q).is_negative() {
            f.push(Finding::block(
                Rule::S7,
                FindingCode::CdBalanceNegative,
                format!(
                    "The register shows {bal} {} in stock; {q} cannot be taken from it. Count \
                     the stock and report the discrepancy.",
                    o.unit
                ),
            ));
        }
    }
}

/// S12: covert only with an in-date plan that covers this medicine.
fn assess_covert(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    o: &Order,
    today: chrono::NaiveDate,
    f: &mut Vec<Finding>,
) {
    if a.covert {
        match &ctx.resident.covert_plan {
            Some(p) if p.in_date(today) => {
                if !o.covert_allowed {
                    f.push(Finding::block(
                        Rule::S12,
                        FindingCode::CovertNotAllowed,
                        "The covert plan does not cover this medicine.",
                    ));
                }
            }
            Some(_) => f.push(Finding::block(
                Rule::S12,
                FindingCode::CovertPlanOutOfDate,
                "The covert plan is past its review date: it cannot be used until reviewed.",
            )),
            None => f.push(Finding::block(
                Rule::S12,
                FindingCode::CovertNotAllowed,
                "There is no covert administration plan for this resident.",
            )),
        }
    }
}

/// S13: a patch or cream needs its site; a patch needs the previous one's removal first, and a
/// site used too recently warns.
fn assess_site(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    o: &Order,
    t: DateTime<Utc>,
    f: &mut Vec<Finding>,
) {
    let taken = a.outcome.is_taken();
    if taken && o.application.needs_site() {
        let site = a.site.as_deref().map(str::trim).unwrap_or("");
        if site.is_empty() {
            f.push(Finding::block(
                Rule::S13,
                FindingCode::SiteNeeded,
                "Record where on the body it was applied.",
            ));
        }
        if let Application::Patch { site_rest_days } = o.application {
            let previous = ctx
                .taken()
                .filter(|r| r.subject.order() == Some(&o.id))
                .max_by_key(|r| r.occurred_at);
            if let Some(prev) = previous {
                let removed = ctx
                    .patch_removals
                    .iter()
                    .any(|pr| pr.order == o.id && pr.occurred_at >= prev.occurred_at);
                if !removed {
                    f.push(Finding::block(
                        Rule::S13,
                        FindingCode::PreviousPatchNotRemoved,
                        format!(
                            "Remove the previous patch ({}) and record its removal first.",
                            prev.site.as_deref().unwrap_or("site not recorded")
                        ),
                    ));
                }
            }
            let rest = Duration::days(i64::from(site_rest_days));
            let reused = ctx.taken().any(|r| {
                r.subject.order() == Some(&o.id)
                    && r.site
                        .as_deref()
                        .map(str::trim)
                        .is_some_and(|s| !site.is_empty() && s.eq_ignore_ascii_case(site))
                    && t - r.occurred_at < rest
            });
            if reused {
                f.push(Finding::warn(
                    Rule::S13,
                    FindingCode::SiteReusedTooSoon,
                    format!(
                        "{site} was used within the last {site_rest_days} days: choose another site \
                         if you can."
                    ),
                ));
            }
        }
    }
}

fn assess_witness(ctx: &DoseContext<'_>, f: &mut Vec<Finding>) {
    f.extend(witness_finding(ctx.author, ctx.witness));
}

/// S7: what is wrong with the second person for a controlled drug, if anything.
pub fn witness_finding(author: &Staff, witness: Option<Witness<'_>>) -> Option<Finding> {
    match witness {
        None => Some(Finding::block(
            Rule::S7,
            FindingCode::WitnessNeeded,
            "A controlled drug needs a second trained person to witness, with their own PIN.",
        )),
        Some(w) if w.staff.id == author.id => Some(Finding::block(
            Rule::S7,
            FindingCode::WitnessSamePerson,
            "The witness must be a different person.",
        )),
        Some(w) if !w.staff.may_witness() => Some(Finding::block(
            Rule::S7,
            FindingCode::WitnessNotTrained,
            format!(
                "{} is not trained to witness controlled drugs.",
                w.staff.name
            ),
        )),
        Some(w) if !w.authenticated => Some(Finding::block(
            Rule::S7,
            FindingCode::WitnessNotAuthenticated,
            "The witness must enter their own PIN.",
        )),
        Some(_) => None,
    }
}

fn assess_homely(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    r: &HomelyRemedy,
    t: DateTime<Utc>,
    f: &mut Vec<Finding>,
) {
    if a.outcome.is_taken() && !ctx.author.homely_authorised {
        f.push(Finding::block(
            Rule::S17,
            FindingCode::NotAuthorisedForRemedies,
            format!(
                "{} is not on the list of staff authorised to give homely remedies.",
                ctx.author.name
            ),
        ));
    }
    if a.outcome.is_taken() {
        // Days on which this remedy was given in the fortnight up to now, today included.
        let mut days: BTreeSet<chrono::NaiveDate> = ctx
            .taken()
            .filter(|x| x.subject == a.subject && t - x.occurred_at < Duration::days(14))
            .map(|x| x.occurred_at.with_timezone(&ctx.tz).date_naive())
            .collect();
        days.insert(t.with_timezone(&ctx.tz).date_naive());
        if days.len() as u32 > r.max_days {
            f.push(Finding::warn(
                Rule::S17,
                FindingCode::RemedyDaysExceeded,
                format!(
                    "{} has been given on {} days: the home's limit is {} days. Refer to the GP.",
                    r.medicine.name,
                    days.len(),
                    r.max_days
                ),
            ));
        }
    }
}

fn assess_product_scan(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    m: &Medicine,
    today: chrono::NaiveDate,
    f: &mut Vec<Finding>,
) {
    let _ = ctx;
    let products: Vec<_> = a
        .scans
        .iter()
        .filter_map(|s| match s {
            Scan::Product { gtin, expiry, .. } => Some((gtin, expiry)),
            Scan::Label { .. } => None,
        })
        .collect();
    if products.is_empty() && !a.product_tapped {
        f.push(Finding::block(
            Rule::S2,
            FindingCode::ProductNotConfirmed,
            "Scan the pack, or tap to confirm the product if there is no barcode.",
        ));
    }
    for (gtin, expiry) in products {
        if !m.gtins.iter().any(|g| g == gtin) {
            f.push(Finding::block(
                Rule::S2,
                FindingCode::WrongProduct,
                format!("STOP: the pack scanned is not {}.", m.label()),
            ));
        }
        if let Some(e) = expiry {
            if *e < today {
                f.push(Finding::block(
                    Rule::S2,
                    FindingCode::ProductExpired,
                    format!("This pack expired on {}.", e.format("%-d %b %Y")),
                ));
            }
        }
    }
}

fn assess_allergy(ctx: &DoseContext<'_>, a: &DoseAttempt, m: &Medicine, f: &mut Vec<Finding>) {
    use crate::allergen::{hits, unchecked, Strength};
    let name = ctx.resident.full_name();
    for hit in hits(&ctx.resident.allergies, m) {
        let al = hit.allergy;
        match hit.strength {
            Strength::Block if filled(&a.allergy_override) => f.push(Finding::warn(
                Rule::S6,
                FindingCode::AllergyOverridden,
                format!(
                    "Allergy to {} ({}) overridden on the prescriber's note: {}.",
                    al.substance, al.reaction, hit.reason
                ),
            )),
            Strength::Block => f.push(Finding::block(
                Rule::S6,
                FindingCode::AllergyMatch,
                format!(
                    "STOP: {name} is allergic to {} ({}): {}.",
                    al.substance, al.reaction, hit.reason
                ),
            )),
            Strength::Warn => f.push(Finding::warn(
                Rule::S6,
                FindingCode::AllergyClassWarning,
                format!(
                    "{name} is allergic to {} ({}): {}. Check with the prescriber or pharmacist \
                     before giving it.",
                    al.substance, al.reaction, hit.reason
                ),
            )),
        }
    }
    for al in unchecked(&ctx.resident.allergies) {
        f.push(Finding::warn(
            Rule::S6,
            FindingCode::AllergyNotChecked,
            format!(
                "{name}'s allergy to \"{}\" is not one the system knows, so it has not been \
                 checked against this medicine: check the label yourself.",
                al.substance.trim()
            ),
        ));
    }
}

/// The most of something in any 24 hours that holds `t`, with `this` at `t` added to the
/// `doses` (time, amount) around it: the 24 hours up to `t`, and up to each dose in the day
/// after `t`. A dose entered for an earlier time is checked against what was recorded after
/// that time as well as before (S4, S10). Returns the total and the end of that 24 hours.
fn worst_24h(t: DateTime<Utc>, this: Qty, doses: &[(DateTime<Utc>, Qty)]) -> (Qty, DateTime<Utc>) {
    let day = Duration::hours(24);
    let ends = std::iter::once(t).chain(
        doses
            .iter()
            .map(|(at, _)| *at)
            .filter(|at| *at > t && *at - t < day),
    );
    ends.map(|e| {
        let before: Qty = doses
            .iter()
            .filter(|(at, _)| *at <= e && e - *at < day)
            .map(|(_, q)| *q)
            .sum();
        (before + this, e)
    })
    .max_by_key(|(q, _)| *q)
    .unwrap_or((this, t))
}

/// A limit broken by a dose now blocks it. A record entered after the event (S10) tells of
/// something that has happened: it is kept, as a warning the person must acknowledge, and
/// the breach raises an incident for the senior (`entail::dose`), never silently.
fn limit_finding(ctx: &DoseContext<'_>, t: DateTime<Utc>, code: FindingCode, m: String) -> Finding {
    if ctx.now - t > Duration::minutes(RETROSPECTIVE_AFTER_MINUTES) {
        Finding::warn(
            Rule::S4,
            code,
            format!(
                "{m} This happened before it was recorded: it will be kept, and the senior told."
            ),
        )
    } else {
        Finding::block(Rule::S4, code, m)
    }
}

/// S4: a ceiling per substance over 24 hours, across every product that contains it, prescribed or
/// homely, regular or when required.
fn assess_ingredient_limits(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    p: &Product<'_>,
    t: DateTime<Utc>,
    f: &mut Vec<Finding>,
) {
    let q = a.quantity.unwrap_or(p.dose.max());
    for ing in &p.medicine.ingredients {
        let Some(limit) = ctx
            .limits
            .iter()
            .find(|l| crate::medicine::same_substance(&l.substance, &ing.substance))
        else {
            continue;
        };
        let Some(per_unit) = ing.mg_per_unit else {
            // S4: an amount nobody recorded cannot be counted; say so rather than let the
            // dose pass the limit unseen.
            f.push(Finding::warn(
                Rule::S4,
                FindingCode::IngredientAmountUnknown,
                format!(
                    "The amount of {} in each {} of {} is not recorded, so this dose cannot be \
                     counted against the limit of {} mg in 24 hours. Check today's total \
                     yourself and ask the senior to correct the order.",
                    ing.substance, p.unit, p.medicine.name, limit.max_mg_24h
                ),
            ));
            continue;
        };
        let doses: Vec<(DateTime<Utc>, Qty)> = ctx
            .taken()
            .filter(|r| (r.occurred_at - t).num_hours().abs() < 24)
            .filter_map(|r| {
                let m = ctx.medicine_of(&r.subject)?;
                let mg = m.ingredient(&ing.substance)?.mg_per_unit?;
                Some((r.occurred_at, r.quantity.unwrap_or(Qty::ZERO).times(mg)))
            })
            .collect();
        let this = q.times(per_unit);
        let (total, end) = worst_24h(t, this, &doses);
        if total > limit.max_mg_24h {
            let so_far = total - this;
            let message = if end == t {
                format!(
                    "{} mg of {} in the last 24 hours (from every product); {} mg more would pass \
                     the maximum of {} mg.",
                    so_far, ing.substance, this, limit.max_mg_24h
                )
            } else {
                format!(
                    "{} mg of {} was recorded in the 24 hours to {} (from every product, some \
                     of it after this dose's time); {} mg more would pass the maximum of {} mg.",
                    so_far,
                    ing.substance,
                    end.with_timezone(&ctx.tz).format("%H:%M %-d %b"),
                    this,
                    limit.max_mg_24h
                )
            };
            f.push(limit_finding(
                ctx,
                t,
                FindingCode::IngredientMaxExceeded,
                message,
            ));
        }
    }
}

fn assess_prn(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    p: &Product<'_>,
    interval_min: u32,
    max_24h: Qty,
    t: DateTime<Utc>,
    f: &mut Vec<Finding>,
) {
    if !filled(&a.prn_reason) {
        f.push(Finding::block(
            Rule::S4,
            FindingCode::PrnReasonNeeded,
            "Say why this when-required dose is needed.",
        ));
    }
    let interval = Duration::minutes(i64::from(interval_min));
    // Doses of any product sharing an ingredient: the last before this one, and the first
    // recorded after its time (a dose entered late for an earlier time, S10).
    let sharing = |r: &&'_ Administration| {
        let m = ctx.medicine_of(&r.subject)?;
        let shared = p.medicine.shared_substances(m).next()?.to_string();
        Some((r.occurred_at, shared, m))
    };
    let last = ctx
        .taken()
        .filter(|r| r.occurred_at <= t)
        .filter_map(|r| sharing(&r))
        .max_by_key(|(at, _, _)| *at);
    if let Some((at, substance, m)) = last {
        if t - at < interval {
            let next = (at + interval).with_timezone(&ctx.tz);
            let message = format!(
                "{} ({}) was given at {}; the next dose of {} can be given from {}.",
                m.name,
                substance,
                at.with_timezone(&ctx.tz).format("%H:%M"),
                substance,
                next.format("%H:%M")
            );
            f.push(limit_finding(
                ctx,
                t,
                FindingCode::PrnIntervalNotMet,
                message,
            ));
        }
    }
    let after = ctx
        .taken()
        .filter(|r| r.occurred_at > t)
        .filter_map(|r| sharing(&r))
        .min_by_key(|(at, _, _)| *at);
    if let Some((at, substance, m)) = after {
        if at - t < interval {
            let message = format!(
                "{} ({}) is recorded at {}, less than {} minutes after this dose's time: two \
                 doses of {} too close together.",
                m.name,
                substance,
                at.with_timezone(&ctx.tz).format("%H:%M"),
                interval_min,
                substance
            );
            f.push(limit_finding(
                ctx,
                t,
                FindingCode::PrnIntervalNotMet,
                message,
            ));
        }
    }
    let q = a.quantity.unwrap_or(p.dose.max());
    let same_product: Vec<(DateTime<Utc>, Qty)> = ctx
        .taken()
        .filter(|r| r.subject == a.subject && (r.occurred_at - t).num_hours().abs() < 24)
        .map(|r| (r.occurred_at, r.quantity.unwrap_or(Qty::ZERO)))
        .collect();
    let (total, _) = worst_24h(t, q, &same_product);
    if total > max_24h {
        let message = format!(
            "{} {} given in the 24 hours around this dose; the maximum is {max_24h}.",
            total - q,
            p.unit
        );
        f.push(limit_finding(ctx, t, FindingCode::PrnMaxExceeded, message));
    }
}

/// Turns an attempt into a record, if nothing blocks and every warning is acknowledged.
pub fn record(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    id: RecordId,
    device: DeviceId,
) -> Result<Administration, Assessment> {
    let assessment = assess(ctx, a);
    if !assessment.ready() {
        return Err(assessment);
    }
    Ok(make_record(ctx, a, id, device))
}

/// The record an assessed attempt makes. Only [`record`] and `entail::record_dose` call it,
/// once nothing blocks and every warning is acknowledged.
pub(crate) fn make_record(
    ctx: &DoseContext<'_>,
    a: &DoseAttempt,
    id: RecordId,
    device: DeviceId,
) -> Administration {
    let occurred_at = a.occurred_at.unwrap_or(ctx.now);
    let dose = match &a.subject {
        Subject::Slot { order, .. } | Subject::Prn { order } => ctx.order(order).map(|o| o.dose),
        Subject::Homely { remedy } => ctx.remedy(remedy).map(|r| r.dose),
    };
    let quantity = if a.outcome.is_taken() {
        a.quantity.or(dose.map(|d| d.max()))
    } else {
        None
    };
    let product = if a.outcome.is_taken() {
        a.scans
            .iter()
            .find_map(|s| match s {
                Scan::Product { gtin, .. } => Some(ProductCheck::Scanned { gtin: gtin.clone() }),
                Scan::Label { .. } => None,
            })
            .or(Some(ProductCheck::TappedNotScanned))
    } else {
        None
    };
    // S14: a dose given or destroyed from an order takes its quantity from that order's stock.
    // A homely remedy comes from the home's own supply, which is not counted per resident.
    let from_stock = match &a.subject {
        Subject::Slot { order, .. } | Subject::Prn { order }
            if a.outcome.is_taken() || a.outcome == OutcomeCode::Destroyed =>
        {
            ctx.order(order).map(|o| quantity.unwrap_or(o.dose.max()))
        }
        _ => None,
    };
    let retrospective = ctx.now - occurred_at > Duration::minutes(RETROSPECTIVE_AFTER_MINUTES);
    let late = match &a.subject {
        Subject::Slot { order, at } => ctx
            .order(order)
            .is_some_and(|o| occurred_at > window(o, *at, ctx.tz).late_after),
        _ => false,
    };
    Administration {
        id,
        resident: ctx.resident.id.clone(),
        subject: a.subject.clone(),
        outcome: a.outcome,
        quantity,
        note: plain_text(&a.note),
        occurred_at,
        recorded_at: ctx.now,
        late_reason: if late && a.outcome.is_taken() {
            plain_text(&a.late_reason)
        } else {
            None
        },
        retrospective_reason: if retrospective {
            plain_text(&a.retrospective_reason)
        } else {
            None
        },
        author: ctx.author.id.clone(),
        device,
        witness: ctx.witness.map(|w| w.staff.id.clone()),
        product,
        scans: a.scans.clone(),
        covert: a.covert,
        site: plain_text(&a.site),
        prn_reason: plain_text(&a.prn_reason),
        allergy_override: a.allergy_override.clone().filter(|s| !s.trim().is_empty()),
        acknowledged: a.acknowledged.clone(),
        voids: None,
        from_stock,
    }
}

/// Who corrects a record, and for a controlled drug's dose the witness it goes back on the
/// register in front of (S7).
#[derive(Debug, Clone, Copy)]
pub struct Corrector<'a> {
    pub author: &'a Staff,
    pub witness: Option<Witness<'a>>,
}

/// S9: a correction is a new ENTERED_IN_ERROR record pointing at the record it voids. The earlier
/// record stays, shown struck through. Voiding a controlled drug's dose puts it back on the
/// register, which needs a witness as taking it off did (S7).
#[allow(clippy::too_many_arguments)]
pub fn correct(
    history: &[Administration],
    orders: &[Order],
    target: &RecordId,
    reason: &str,
    by: Corrector<'_>,
    now: DateTime<Utc>,
    id: RecordId,
    device: DeviceId,
) -> Result<Administration, Vec<Finding>> {
    let author = by.author;
    let mut f = Vec::new();
    let Some(t) = history.iter().find(|r| &r.id == target) else {
        return Err(vec![Finding::block(
            Rule::S9,
            FindingCode::NothingToCorrect,
            "There is no such record to correct.",
        )]);
    };
    let cd_dose = t
        .subject
        .order()
        .and_then(|o| orders.iter().find(|x| &x.id == o))
        .is_some_and(|o| {
            o.cd.is_some() && (t.outcome.is_taken() || t.outcome == OutcomeCode::Destroyed)
        });
    if cd_dose && t.voids.is_none() {
        f.extend(witness_finding(author, by.witness));
    }
    if t.voids.is_some() {
        f.push(Finding::block(
            Rule::S9,
            FindingCode::NothingToCorrect,
            "A correction cannot itself be corrected; record what happened instead.",
        ));
    }
    if history.iter().any(|r| r.voids.as_ref() == Some(target)) {
        f.push(Finding::block(
            Rule::S9,
            FindingCode::AlreadyCorrected,
            "This record has already been corrected.",
        ));
    }
    if reason.trim().is_empty() {
        f.push(Finding::block(
            Rule::S8,
            FindingCode::NoteNeeded,
            "Say why the record was wrong.",
        ));
    }
    if author.role == crate::staff::Role::Auditor || !author.active {
        f.push(Finding::block(
            Rule::S19,
            FindingCode::RoleNotAllowed,
            "This account cannot correct records.",
        ));
    }
    if !f.is_empty() {
        return Err(f);
    }
    // The dose it voids keeps its place in the stock; what it took goes back in with a
    // movement of its own (`entail::correction`), which says when and by whom.
    let mut c = Administration::system(
        id,
        t.resident.clone(),
        t.subject.clone(),
        OutcomeCode::EnteredInError,
        now,
        author.id.clone(),
        device,
    );
    c.note = Some(reason.trim().to_string());
    c.voids = Some(target.clone());
    Ok(c)
}

/// S6: what a senior reads, when an order is written up or checked in, of a recorded allergy
/// the medicine meets, and what it will mean at each dose.
pub fn allergy_warning(resident: &Resident, hit: &crate::allergen::AllergyHit<'_>) -> Finding {
    let (code, then) = match hit.strength {
        crate::allergen::Strength::Block => (
            FindingCode::AllergyMatch,
            "Each dose will be blocked unless a prescriber's note overrides it.",
        ),
        crate::allergen::Strength::Warn => (
            FindingCode::AllergyClassWarning,
            "Each dose will ask the carer to check first.",
        ),
    };
    Finding::warn(
        Rule::S6,
        code,
        format!(
            "{} is recorded as allergic to {} ({}): {}. {then}",
            resident.full_name(),
            hit.allergy.substance,
            hit.allergy.reaction,
            hit.reason
        ),
    )
}

/// S16: who may check in an order. A hand-entered order needs a second, different senior.
/// What the senior must read first is refused as warnings until `acknowledged` holds them:
/// another active order with the same active ingredient (duplicate therapy), and a recorded
/// allergy the medicine meets (S6), for an order from the pharmacy as for one typed in, since
/// the system's records meet the rules staff records do. A prescriber's note that two orders
/// are both meant (`both_intended`) goes on the order and settles it for every dose.
pub fn check_in(
    order: &Order,
    by: &Staff,
    second: Option<&Staff>,
    resident: &Resident,
    others: &[Order],
    today: chrono::NaiveDate,
    acknowledged: &[FindingCode],
) -> Result<Vec<StaffId>, Vec<Finding>> {
    if !by.role.is_senior() || !by.active {
        return Err(vec![Finding::block(
            Rule::S16,
            FindingCode::RoleNotAllowed,
            "Only a senior carer or manager can check in an order.",
        )]);
    }
    if order.status != OrderStatus::Pending {
        return Err(vec![Finding::block(
            Rule::S16,
            FindingCode::OrderNotActive,
            "Only a pending order can be checked in.",
        )]);
    }
    let mut ids = vec![by.id.clone()];
    if order.source == crate::order::OrderSource::HandEntered {
        match second {
            Some(s)
                if s.id != by.id
                    && s.active
                    && s.medication_trained
                    && s.role != crate::staff::Role::Auditor =>
            {
                ids.push(s.id.clone())
            }
            _ => {
                return Err(vec![Finding::block(
                    Rule::S16,
                    FindingCode::SecondCheckerNeeded,
                    "An order typed in by hand needs a second trained person to check it.",
                )])
            }
        }
    }
    let mut warnings = Vec::new();
    let live = Order {
        status: OrderStatus::Active,
        ..order.clone()
    };
    let dupes = crate::order::duplicates(&live, others, today.max(order.start));
    if !dupes.is_empty() {
        let list: Vec<String> = dupes
            .iter()
            .map(|(o, s)| format!("{} (also {s})", o.medicine.label()))
            .collect();
        warnings.push(Finding::warn(
            Rule::S4,
            FindingCode::DuplicateTherapy,
            format!(
                "{} shares an active ingredient with {}. Check with the prescriber that both \
                 are meant; if they are, note what they said, and no dose will warn again.",
                order.medicine.label(),
                list.join(" and ")
            ),
        ));
    }
    warnings.extend(
        crate::allergen::hits(&resident.allergies, &order.medicine)
            .iter()
            .map(|hit| allergy_warning(resident, hit)),
    );
    warnings.retain(|w| !acknowledged.contains(&w.code));
    if !warnings.is_empty() {
        return Err(warnings);
    }
    Ok(ids)
}

/// S15: reconciliation after a return from hospital needs a senior.
pub fn reconcile(resident: &Resident, by: &Staff) -> Result<(), Finding> {
    if !by.role.is_senior() || !by.active {
        return Err(Finding::block(
            Rule::S15,
            FindingCode::RoleNotAllowed,
            "Only a senior carer or manager can reconcile medicines after a return.",
        ));
    }
    if !resident.reconciliation_pending {
        return Err(Finding::block(
            Rule::S15,
            FindingCode::ReconciliationPending,
            "Nothing is waiting to be reconciled.",
        ));
    }
    Ok(())
}

/// Where a resident has gone, or that they are back (S15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceChange {
    ToHospital,
    OnLeave,
    /// Back from hospital or leave, or readmitted after leaving.
    Back,
    /// Left the home for good.
    Discharged,
    Died,
}

/// S15: a senior records that a resident has gone to hospital or on leave, from `now`, or that
/// they are back. While away, their slots resolve as HOSPITAL or LEAVE rather than MISSED,
/// which is why only a senior may say so. On return their doses stay locked until a senior
/// has checked the medicines that came back with them (`reconcile`). Returns the resident as
/// they now are.
pub fn change_presence(
    resident: &Resident,
    by: &Staff,
    change: PresenceChange,
    now: DateTime<Utc>,
) -> Result<Resident, Finding> {
    use crate::resident::Presence;
    if !by.role.is_senior() || !by.active {
        return Err(Finding::block(
            Rule::S15,
            FindingCode::RoleNotAllowed,
            "Only a senior carer or manager can record that a resident has gone or come back.",
        ));
    }
    use crate::resident::LeftReason;
    let mut r = resident.clone();
    let name = resident.full_name();
    let unchanged = |message: String| {
        Err(Finding::block(
            Rule::S15,
            FindingCode::PresenceUnchanged,
            message,
        ))
    };
    match (change, &resident.presence) {
        (
            PresenceChange::ToHospital
            | PresenceChange::OnLeave
            | PresenceChange::Discharged
            | PresenceChange::Died,
            Presence::Left { .. },
        ) => {
            return unchanged(format!(
                "{name} has left the home. Readmit them first ('Back in the home')."
            ));
        }
        (PresenceChange::ToHospital, Presence::Present) => {
            r.presence = Presence::InHospital { since: now };
        }
        (PresenceChange::OnLeave, Presence::Present) => {
            r.presence = Presence::OnLeave { since: now };
        }
        (PresenceChange::Discharged | PresenceChange::Died, _) => {
            r.presence = Presence::Left {
                since: now,
                reason: if change == PresenceChange::Died {
                    LeftReason::Died
                } else {
                    LeftReason::Discharged
                },
            };
            r.reconciliation_pending = false;
        }
        // Back from an absence, or readmitted: the medicines that come with them are checked
        // before any dose.
        (PresenceChange::Back, Presence::InHospital { .. } | Presence::OnLeave { .. })
        | (PresenceChange::Back, Presence::Left { .. }) => {
            r.presence = Presence::Present;
            r.reconciliation_pending = true;
        }
        (PresenceChange::Back, Presence::Present) => {
            return unchanged(format!("{name} is not recorded as away."));
        }
        (
            PresenceChange::ToHospital | PresenceChange::OnLeave,
            Presence::InHospital { .. } | Presence::OnLeave { .. },
        ) => {
            return unchanged(format!(
                "{name} is already recorded as away. Record them back first."
            ));
        }
    }
    Ok(r)
}

#[cfg(test)]
#[path = "rules_tests.rs"]
pub(crate) mod tests;

/// Typed text as the record keeps it: without formatting characters, and none if blank.
fn plain_text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(crate::text::plain)
        .filter(|t| !t.trim().is_empty())
}
