//! Turning records into what the screens show. Pure functions of their inputs.

use chrono::{DateTime, Datelike, Duration, Utc};
use medround_domain::barcode::Scan;
use medround_domain::checks::format_nhs_number;
use medround_domain::homely::HomelyRemedy;
use medround_domain::incident::IncidentKind;
use medround_domain::mar::{resident_round, slot_outcome, slot_state, SlotState};
use medround_domain::order::{Application, Dose, Order, OrderStatus};
use medround_domain::record::{follow_ups_outstanding, standing, Administration, Subject};
use medround_domain::resident::{LeftReason, Presence, Resident};
use medround_domain::schedule::{slots_between, window, HOME_TZ};
use medround_domain::staff::Staff;
use medround_domain::RecordId;
use medround_ipc::*;
use medround_store::{Item, Unit};
use std::collections::{HashMap, HashSet};

pub fn staff_card(s: &Staff) -> StaffCard {
    StaffCard {
        id: s.id.to_string(),
        name: s.name.clone(),
        initials: s.initials.clone(),
        role: s.role,
        role_label: s.role.label().into(),
    }
}

pub(crate) fn local(t: DateTime<Utc>, fmt: &str) -> String {
    t.with_timezone(&HOME_TZ).format(fmt).to_string()
}

fn away_text(r: &Resident) -> Option<String> {
    match r.presence {
        Presence::Present => None,
        Presence::InHospital { since } => Some(format!(
            "In hospital since {}",
            local(since, "%-d %b %H:%M")
        )),
        Presence::OnLeave { since } => {
            Some(format!("On leave since {}", local(since, "%-d %b %H:%M")))
        }
        Presence::Left {
            since,
            reason: LeftReason::Discharged,
        } => Some(format!("Discharged {}", local(since, "%-d %b %Y"))),
        Presence::Left {
            since,
            reason: LeftReason::Died,
        } => Some(format!("Died {}", local(since, "%-d %b %Y"))),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn round(
    home: String,
    units: &[Unit],
    residents: &[Resident],
    orders: &[Order],
    history: &[Administration],
    now: DateTime<Utc>,
    lookback: Duration,
    open_incidents: u32,
) -> RoundView {
    let mut orders_by: HashMap<&str, Vec<Order>> = HashMap::new();
    for o in orders {
        orders_by
            .entry(o.resident.as_str())
            .or_default()
            .push(o.clone());
    }
    let mut hist_by: HashMap<&str, Vec<Administration>> = HashMap::new();
    for a in history {
        hist_by
            .entry(a.resident.as_str())
            .or_default()
            .push(a.clone());
    }
    let mut out: Vec<UnitRound> = units
        .iter()
        .map(|u| UnitRound {
            id: u.id.to_string(),
            name: u.name.clone(),
            residents: vec![],
            due_now: 0,
            late: 0,
            missed: 0,
            time_critical_soon: 0,
        })
        .collect();
    let mut left = Vec::new();
    for r in residents {
        let rr = resident_round(
            r,
            orders_by
                .get(r.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            hist_by.get(r.id.as_str()).map(Vec::as_slice).unwrap_or(&[]),
            now,
            lookback,
            HOME_TZ,
        );
        let card = ResidentCard {
            id: r.id.to_string(),
            name: r.full_name(),
            preferred_name: r.preferred_name.clone(),
            room: r.room.clone(),
            photo: r.photo.clone(),
            due_now: rr.due_now,
            late: rr.late,
            missed: rr.missed,
            time_critical_soon: rr.time_critical_soon,
            away: away_text(r),
            locked_for_reconciliation: rr.locked_for_reconciliation,
        };
        // Someone who has left the home is off the round, and listed apart.
        if r.has_left() {
            left.push(card);
            continue;
        }
        let unit = match out.iter_mut().find(|u| u.id == r.unit.as_str()) {
            Some(u) => u,
            None => {
                out.push(UnitRound {
                    id: r.unit.to_string(),
                    name: r.unit.to_string(),
                    residents: vec![],
                    due_now: 0,
                    late: 0,
                    missed: 0,
                    time_critical_soon: 0,
                });
                out.last_mut().expect("just pushed")
            }
        };
        unit.due_now += card.due_now;
        unit.late += card.late;
        unit.missed += card.missed;
        unit.time_critical_soon += card.time_critical_soon;
        unit.residents.push(card);
    }
    // Most urgent first: time-critical, late, due, then by room.
    for u in &mut out {
        u.residents.sort_by_key(|c| {
            (
                c.away.is_some(),
                std::cmp::Reverse(c.time_critical_soon),
                std::cmp::Reverse(c.late + c.due_now),
                c.room.clone(),
            )
        });
    }
    RoundView {
        home,
        now_local: local(now, "%a %-d %b %H:%M"),
        units: out,
        open_incidents,
        left,
    }
}

fn dose_row(o: &Order, resident: &Resident, today: chrono::NaiveDate) -> DoseRow {
    let (min, max) = match o.dose {
        Dose::Fixed { qty } => (qty, qty),
        Dose::Range { min, max, .. } => (min, max),
    };
    let unavailable = match &o.status {
        _ if resident.has_left() => Some("Left the home".to_string()),
        OrderStatus::Pending => Some("Waiting for a senior to check it in".to_string()),
        OrderStatus::Discontinued { reason, .. } => Some(format!("Stopped: {reason}")),
        OrderStatus::Active if o.is_ended(today) => Some(format!(
            "Ended {}",
            o.end
                .map(|e| e.format("%-d %b").to_string())
                .unwrap_or_default()
        )),
        OrderStatus::Active => None,
    };
    DoseRow {
        order: o.id.to_string(),
        slot: String::new(),
        time: String::new(),
        window: String::new(),
        medicine: o.medicine.label(),
        dose: o.dose_text(),
        route: o.route.label().into(),
        instructions: o.instructions.clone(),
        state: DoseState::Upcoming,
        outcome: None,
        variable: o.dose.is_variable(),
        min_qty: min,
        max_qty: max,
        unit: o.unit.clone(),
        controlled: o.cd.map(|c| match c {
            medround_domain::order::CdSchedule::Schedule2 => "CD Schedule 2".to_string(),
            medround_domain::order::CdSchedule::Schedule3 => "CD Schedule 3".to_string(),
        }),
        time_critical: o.time_critical,
        needs_site: o.application.needs_site(),
        patch: matches!(o.application, Application::Patch { .. }),
        covert_offered: o.covert_allowed
            && resident
                .covert_plan
                .as_ref()
                .is_some_and(|p| p.in_date(today)),
        prn_indication: o.prn.as_ref().map(|p| p.indication.clone()),
        pending_check_in: o.status == OrderStatus::Pending,
        hand_entered: o.source == medround_domain::order::OrderSource::HandEntered,
        unavailable,
    }
}

pub fn resident(
    r: &Resident,
    orders: &[Order],
    remedies: &[HomelyRemedy],
    items: &[Item],
    staff: &[Staff],
    now: DateTime<Utc>,
) -> ResidentView {
    let today = now.with_timezone(&HOME_TZ).date_naive();
    let day_start = medround_domain::schedule::local_to_utc(
        HOME_TZ,
        today.and_hms_opt(0, 0, 0).expect("midnight"),
    );
    let day_end = day_start + Duration::hours(25);
    let admins: Vec<Administration> = items
        .iter()
        .filter_map(|i| match i {
            Item::Administration(a) => Some(a.clone()),
            _ => None,
        })
        .collect();
    let stand: Vec<&Administration> = standing(&admins).collect();

    let mut doses = Vec::new();
    let mut prn = Vec::new();
    for o in orders {
        let mut base = dose_row(o, r, today);
        // S5: a course's last slot stays on the chart in its window after the end date's
        // midnight (22:00 given at 00:10), as the rules allow it.
        if o.status == OrderStatus::Active
            && o.is_ended(today)
            && !r.has_left()
            && slots_between(o, now - Duration::hours(14), now, HOME_TZ)
                .into_iter()
                .any(|at| now <= window(o, at, HOME_TZ).closes)
        {
            base.unavailable = None;
        }
        if o.is_prn() {
            prn.push(base);
            continue;
        }
        if base.unavailable.is_some() {
            // Show recently ended or pending orders once, greyed, with the reason, and the
            // times they are due (a regular order is not "when required" for having no slot).
            if o.status == OrderStatus::Pending
                || o.end.is_some_and(|e| (today - e).num_days() <= 7)
            {
                let mut row = base;
                row.time = o
                    .schedule
                    .times()
                    .iter()
                    .map(|t| t.format("%H:%M").to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                doses.push(row);
            }
            continue;
        }
        // Today's slots, plus any earlier slot still open (late, not yet closed).
        for at in slots_between(o, now - Duration::hours(14), day_end, HOME_TZ) {
            let w = window(o, at, HOME_TZ);
            let subject = Subject::Slot {
                order: o.id.clone(),
                at,
            };
            let outcome = slot_outcome(stand.iter().copied().filter(|x| x.subject == subject));
            let state = slot_state(&w, outcome, now);
            if at < day_start && (outcome.is_some() || now > w.closes) {
                continue;
            }
            let mut row = base.clone();
            row.slot = at.to_rfc3339();
            row.time = local(at, "%H:%M");
            row.window = format!(
                "{}–{}",
                local(w.opens, "%H:%M"),
                local(w.late_after, "%H:%M")
            );
            row.outcome = outcome.map(|x| x.outcome);
            row.state = match state {
                SlotState::Upcoming => DoseState::Upcoming,
                SlotState::Due => DoseState::Due,
                SlotState::Late if now <= w.closes => DoseState::Late,
                SlotState::Late => DoseState::Done,
                SlotState::Done(_) => DoseState::Done,
            };
            doses.push(row);
        }
    }
    doses.sort_by(|a, b| a.slot.cmp(&b.slot).then(a.medicine.cmp(&b.medicine)));

    let homely = remedies
        .iter()
        .map(|h| {
            let (min, max) = match h.dose {
                Dose::Fixed { qty } => (qty, qty),
                Dose::Range { min, max, .. } => (min, max),
            };
            DoseRow {
                order: h.id.to_string(),
                slot: String::new(),
                time: String::new(),
                window: String::new(),
                medicine: h.medicine.label(),
                dose: h.dose.describe(&h.unit),
                route: "by mouth".into(),
                instructions: format!(
                    "Homely remedy for {}. Up to {} days, then ask the GP.",
                    h.indication.to_lowercase(),
                    h.max_days
                ),
                state: DoseState::Upcoming,
                outcome: None,
                variable: h.dose.is_variable(),
                min_qty: min,
                max_qty: max,
                unit: h.unit.clone(),
                controlled: None,
                time_critical: false,
                needs_site: false,
                patch: false,
                covert_offered: false,
                prn_indication: Some(h.indication.clone()),
                pending_check_in: false,
                hand_entered: false,
                unavailable: None,
            }
        })
        .collect();

    let names: HashMap<&str, &str> = staff
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let name = |id: &str| {
        names.get(id).map(|n| n.to_string()).unwrap_or_else(|| {
            if id == "system" {
                "Medround (system)".into()
            } else {
                id.to_string()
            }
        })
    };
    let medicine_of = |s: &Subject| {
        match s {
            Subject::Slot { order, .. } | Subject::Prn { order } => orders
                .iter()
                .find(|o| &o.id == order)
                .map(|o| o.medicine.label()),
            Subject::Homely { remedy } => remedies
                .iter()
                .find(|x| &x.id == remedy)
                .map(|x| format!("{} (homely remedy)", x.medicine.label())),
        }
        .unwrap_or_else(|| "Unknown medicine".into())
    };
    let voided: HashSet<&str> = admins
        .iter()
        .filter_map(|a| a.voids.as_ref().map(|v| v.as_str()))
        .collect();
    let mut records: Vec<RecordRow> = admins
        .iter()
        .filter(|a| a.recorded_at >= now - Duration::hours(24))
        .map(|a| RecordRow {
            id: a.id.to_string(),
            time: local(a.occurred_at, "%a %H:%M"),
            medicine: medicine_of(&a.subject),
            outcome: a.outcome,
            quantity: a.quantity.map(|q| q.to_string()),
            note: a.note.clone(),
            by: name(a.author.as_str()),
            witness: a.witness.as_ref().map(|w| name(w.as_str())),
            voided: voided.contains(a.id.as_str()),
            correction_of: a.voids.as_ref().map(|v| v.to_string()),
            late: a.is_late(),
            retrospective: a.is_retrospective(),
            device: a.device.to_string(),
        })
        .collect();
    records.sort_by(|a, b| b.time.cmp(&a.time));
    records.reverse();
    records.sort_by_key(|r| {
        std::cmp::Reverse(
            admins
                .iter()
                .find(|a| a.id.as_str() == r.id)
                .map(|a| a.recorded_at),
        )
    });

    let followed: HashSet<&RecordId> = items
        .iter()
        .filter_map(|i| match i {
            Item::PrnFollowUp(f) => Some(&f.administration),
            _ => None,
        })
        .collect();
    let follow_ups = follow_ups_outstanding(&admins, &followed, orders, now)
        .into_iter()
        .map(|f| FollowUpRow {
            administration: f.administration.to_string(),
            medicine: medicine_of(&f.subject),
            given_at: local(f.given_at, "%H:%M"),
            due: now >= f.due_at,
        })
        .collect();
    let reviews = items
        .iter()
        .filter_map(|i| match i {
            Item::Incident(x) if x.kind == IncidentKind::RepeatedOmission => {
                Some(x.message.clone())
            }
            _ => None,
        })
        .collect();

    let age = {
        let dob = r.date_of_birth;
        let mut a = today.year() - dob.year();
        if (today.month(), today.day()) < (dob.month(), dob.day()) {
            a -= 1;
        }
        a.max(0) as u32
    };
    ResidentView {
        id: r.id.to_string(),
        name: r.full_name(),
        preferred_name: r.preferred_name.clone(),
        date_of_birth: r.date_of_birth.format("%-d %b %Y").to_string(),
        age,
        nhs_number: format_nhs_number(&r.nhs_number),
        room: r.room.clone(),
        // The unit's name and the name alert need the home's units and residents: the
        // bedside fills them in.
        unit: String::new(),
        name_alert: None,
        photo: r.photo.clone(),
        allergies: r
            .allergies
            .iter()
            .map(|a| AllergyView {
                substance: a.substance.clone(),
                reaction: a.reaction.clone(),
                checked: medround_domain::allergen::read(&a.substance).checked(),
            })
            .collect(),
        away: away_text(r),
        locked_for_reconciliation: r.reconciliation_pending,
        left: r.has_left(),
        covert_plan: r.covert_plan.as_ref().map(|p| {
            if p.in_date(today) {
                format!("Covert plan in date until {}: {}", p.review_by.format("%-d %b %Y"), p.how)
            } else {
                format!("Covert plan OUT OF DATE since {}: covert administration not allowed until reviewed", p.review_by.format("%-d %b %Y"))
            }
        }),
        doses,
        prn,
        homely,
        records,
        follow_ups,
        reviews,
    }
}

pub fn scan(r: &Resident, orders: &[Order], scan: Scan) -> ScanView {
    match &scan {
        Scan::Label { resident, order } => {
            if resident != &r.id {
                ScanView {
                    kind: "label".into(),
                    message: format!(
                        "STOP: this label is for another resident, not {}.",
                        r.full_name()
                    ),
                    order: None,
                    ok: false,
                    scan,
                }
            } else if let Some(o) = orders.iter().find(|o| &o.id == order) {
                ScanView {
                    kind: "label".into(),
                    message: format!("Label matches {}: {}.", r.full_name(), o.medicine.label()),
                    order: Some(o.id.to_string()),
                    ok: true,
                    scan,
                }
            } else {
                ScanView {
                    kind: "label".into(),
                    message: "This label's medicine is not on the chart.".into(),
                    order: None,
                    ok: false,
                    scan,
                }
            }
        }
        Scan::Product { gtin, .. } => {
            let matching: Vec<&Order> = orders
                .iter()
                .filter(|o| o.medicine.gtins.iter().any(|g| g == gtin))
                .collect();
            match matching.first() {
                Some(o) => ScanView {
                    kind: "product".into(),
                    message: format!("Pack matches {}.", o.medicine.label()),
                    order: Some(o.id.to_string()),
                    ok: true,
                    scan,
                },
                None => ScanView {
                    kind: "product".into(),
                    message: format!(
                        "STOP: this pack is not a medicine on {}'s chart.",
                        r.full_name()
                    ),
                    order: None,
                    ok: false,
                    scan,
                },
            }
        }
    }
}
