//! Property tests of the rules' invariants over random histories: doses, late entries,
//! corrections, deliveries, closings after a tablet was off for up to a fortnight, and two
//! tablets' records merged. Each composes the domain's functions as the bedside does.

use crate::cd::{CdEntry, CdMovement};
use crate::entail;
use crate::entail::record_dose;
use crate::fact::DoseFact;
use crate::ids::{DeviceId, OrderId, RecordId, StaffId};
use crate::incident::{possible_double_doses, DoubleDose, Incident, IncidentKind};
use crate::mar::{close, closing_from};
use crate::medicine::IngredientLimit;
use crate::order::{Dose, Order};
use crate::outcome::OutcomeCode;
use crate::qty::Qty;
use crate::record::{standing, Administration, Subject};
use crate::rules::tests::{hm, medicine, paracetamol, prn, regular, resident, staff, utc};
use crate::rules::{Corrector, DoseAttempt, DoseContext, Witness};
use crate::schedule::{slots_between, window, HOME_TZ};
use crate::staff::Role;
use crate::stock::{StockMovement, StockReason};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[allow(clippy::too_many_arguments)]
fn ctx<'a>(
    now: DateTime<Utc>,
    r: &'a crate::resident::Resident,
    orders: &'a [Order],
    limits: &'a [IngredientLimit],
    history: &'a [Administration],
    author: &'a crate::staff::Staff,
    witness: Option<Witness<'a>>,
    cd_balance: Option<Qty>,
) -> DoseContext<'a> {
    DoseContext {
        now,
        tz: HOME_TZ,
        resident: r,
        orders,
        remedies: &[],
        limits,
        history,
        slot_history: &[],
        patch_removals: &[],
        author,
        witness,
        cd_balance,
    }
}

/// Records `a` as a person who acknowledges every warning would; none if anything blocks.
fn record_acknowledging(
    c: &DoseContext<'_>,
    mut a: DoseAttempt,
    id: &str,
    ids: &mut dyn FnMut(&str) -> RecordId,
) -> Option<(Administration, entail::Entailed)> {
    let first = crate::rules::assess(c, &a);
    if first.blocked() {
        return None;
    }
    a.acknowledged = first.unacknowledged;
    record_dose(c, &a, RecordId::new(id), DeviceId::new("t"), ids).ok()
}

fn counter() -> impl FnMut(&str) -> RecordId {
    let mut n = 0;
    move |p: &str| {
        n += 1;
        RecordId::new(format!("{p}-{n}"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// S8: closing from where the last closing reached, however far apart the closings (up to
    /// a fortnight off), leaves no slot whose window has closed without an outcome, and gives
    /// no slot two.
    #[test]
    fn s08_no_slot_is_left_blank_however_long_the_tablet_was_off(
        hours in prop::collection::btree_set(0u32..24, 1..4),
        gaps in prop::collection::vec(1i64..(14 * 24 * 60), 1..5),
        given in prop::collection::vec(any::<bool>(), 120),
    ) {
        let times: Vec<_> = hours.iter().map(|h| hm(*h, 0)).collect();
        let orders = vec![regular("o", &times)];
        let r = resident();
        let start = utc("2026-01-01T00:00:00Z");
        let mut history: Vec<Administration> = slots_between(&orders[0], start, start + Duration::days(40), HOME_TZ)
            .into_iter()
            .zip(given)
            .filter(|(_, g)| *g)
            .map(|(at, _)| {
                let mut a = Administration::system(
                    RecordId::new(format!("g-{}", at.timestamp())),
                    r.id.clone(),
                    Subject::Slot { order: OrderId::new("o"), at },
                    OutcomeCode::Given,
                    at,
                    StaffId::new("c1"),
                    DeviceId::new("t"),
                );
                a.quantity = Some(Qty::whole(1));
                a
            })
            .collect();
        let mut mark = None;
        let mut now = start + Duration::hours(1);
        for g in gaps {
            now += Duration::minutes(g);
            let since = closing_from(mark, &orders, now, HOME_TZ);
            let seen: Vec<Administration> = history
                .iter()
                .filter(|a| a.occurred_at >= since - Duration::days(1))
                .cloned()
                .collect();
            let facts: Vec<DoseFact> = history.iter().map(DoseFact::from).collect();
            let closed = close(&r, &orders, &seen, &facts, &[], since, now, HOME_TZ, &DeviceId::new("t"));
            history.extend(closed.records);
            mark = Some(now);
        }
        for at in slots_between(&orders[0], start, now, HOME_TZ) {
            if window(&orders[0], at, HOME_TZ).closes > now {
                continue;
            }
            let n = standing(&history)
                .filter(|a| a.subject.slot().map(|(_, s)| s) == Some(at))
                .count();
            prop_assert_eq!(n, 1, "slot {} has {} outcomes", at, n);
        }
    }

    /// S4, S10: whatever the order of entry (late entries for earlier times included, every
    /// warning acknowledged), no 24 hours hold more paracetamol than its limit unless a
    /// limit-breach incident names a dose in them.
    #[test]
    fn s04_no_24_hours_pass_the_limit_without_an_incident(
        steps in prop::collection::vec((0usize..3, 1i64..=2, 0i64..300, 0i64..600), 1..25),
    ) {
        let cocod = prn(
            "cocod",
            medicine("Co-codamol", "02000000000022", &[("codeine", Some(30)), ("paracetamol", Some(500))]),
            Dose::Range { min: Qty::whole(1), max: Qty::whole(2), halves: false },
            240,
            8,
        );
        let orders = vec![paracetamol(), cocod, Order {
            medicine: medicine("Paracetamol 500mg tablets", "02000000000015", &[("paracetamol", Some(500))]),
            dose: Dose::Fixed { qty: Qty::whole(2) },
            ..regular("regpara", &[hm(8, 0), hm(12, 0), hm(17, 0), hm(22, 0)])
        }];
        let limits = vec![IngredientLimit { substance: "paracetamol".into(), max_mg_24h: Qty::whole(4000) }];
        let mut r = resident();
        r.allergies.clear();
        let author = staff("c1", Role::Senior);
        let mut now = utc("2026-01-05T06:00:00Z");
        let mut history: Vec<Administration> = vec![];
        let mut incidents: Vec<Incident> = vec![];
        let mut ids = counter();
        for (i, (which, qty, wait, back)) in steps.into_iter().enumerate() {
            now += Duration::minutes(wait);
            let when = now - Duration::minutes(back);
            let subject = if which < 2 {
                Subject::Prn { order: orders[which].id.clone() }
            } else {
                // The regular slot nearest to when it happened.
                match slots_between(&orders[2], when - Duration::hours(3), when + Duration::hours(3), HOME_TZ).first() {
                    Some(at) => Subject::Slot { order: orders[2].id.clone(), at: *at },
                    None => continue,
                }
            };
            let mut a = DoseAttempt::new(subject, OutcomeCode::Given);
            a.quantity = Some(Qty::whole(qty));
            a.product_tapped = true;
            a.prn_reason = Some("pain".into());
            a.late_reason = Some("busy".into());
            if back > 0 {
                a.occurred_at = Some(when);
                a.retrospective_reason = Some("entered late".into());
            }
            let c = ctx(now, &r, &orders, &limits, &history, &author, None, None);
            if let Some((rec, e)) = record_acknowledging(&c, a, &format!("d{i}"), &mut ids) {
                history.push(rec);
                incidents.extend(e.incidents);
            }
        }
        let mg = |a: &Administration| {
            let m = &orders.iter().find(|o| Some(&o.id) == a.subject.order()).unwrap().medicine;
            a.quantity.unwrap_or(Qty::ZERO).times(m.ingredient("paracetamol").unwrap().mg_per_unit.unwrap())
        };
        for end in history.iter().map(|a| a.occurred_at) {
            let inside: Vec<&Administration> = history
                .iter()
                .filter(|a| a.occurred_at <= end && end - a.occurred_at < Duration::hours(24))
                .collect();
            let total: Qty = inside.iter().map(|a| mg(a)).sum();
            if total > Qty::whole(4000) {
                let named = incidents.iter().any(|i| {
                    i.kind == IncidentKind::LimitBreach
                        && inside.iter().any(|a| i.records.contains(&a.id))
                });
                prop_assert!(named, "{} mg in the 24 hours to {} with no incident", total, end);
            }
        }
    }

    /// S7, S14: the controlled-drug register's balance always equals the stock level, through
    /// doses, corrections and deliveries in any order.
    #[test]
    fn s07_the_register_balance_always_equals_the_cd_stock_level(
        ops in prop::collection::vec((0u8..3, 5i64..=10, 0usize..20), 1..30),
    ) {
        let morphine = Order {
            medicine: medicine("Morphine 10mg/5ml", "02000000000053", &[("morphine", Some(2))]),
            dose: Dose::Range { min: Qty::from_f64(2.5), max: Qty::whole(5), halves: false },
            unit: "ml".into(),
            cd: Some(crate::order::CdSchedule::Schedule2),
            ..prn("mor", medicine("x", "0", &[]), Dose::Fixed { qty: Qty::whole(1) }, 60, 100)
        };
        let orders = vec![morphine];
        let mut r = resident();
        r.allergies.clear();
        let (author, witness) = (staff("c1", Role::Carer), staff("s1", Role::Senior));
        let mut now = utc("2026-01-05T06:00:00Z");
        let mut doses: Vec<Administration> = vec![];
        let mut register: Vec<CdEntry> = vec![];
        let mut movements: Vec<StockMovement> = vec![];
        let mut ids = counter();
        let balance = |reg: &[CdEntry]| reg.iter().map(|e| e.movement.delta()).sum::<Qty>();
        let stock = |mv: &[StockMovement], doses: &[Administration]| {
            mv.iter().map(|m| m.delta).sum::<Qty>()
                - doses.iter().filter_map(|d| d.from_stock).sum::<Qty>()
        };
        for (i, (op, half_ml, pick)) in ops.into_iter().enumerate() {
            now += Duration::minutes(90);
            match op {
                0 => {
                    let q = Qty::milli(half_ml * 500);
                    movements.push(StockMovement {
                        id: ids("stk"), order: OrderId::new("mor"), delta: q,
                        reason: StockReason::Received, at: now, by: author.id.clone(), device: DeviceId::new("t"),
                    });
                    register.push(CdEntry {
                        id: ids("cd"), resident: r.id.clone(), order: OrderId::new("mor"), drug: "Morphine".into(),
                        movement: CdMovement::Received { qty: q, from: "Pharmacy".into() },
                        balance_after: balance(&register) + q, at: now, by: author.id.clone(),
                        witness: witness.id.clone(), device: DeviceId::new("t"),
                    });
                }
                1 => {
                    let mut a = DoseAttempt::new(Subject::Prn { order: OrderId::new("mor") }, OutcomeCode::Given);
                    a.quantity = Some(Qty::milli(half_ml.clamp(5, 10) * 500));
                    a.product_tapped = true;
                    a.prn_reason = Some("pain".into());
                    let w = Some(Witness { staff: &witness, authenticated: true });
                    let c = ctx(now, &r, &orders, &[], &doses, &author, w, Some(balance(&register)));
                    if let Some((rec, e)) = record_acknowledging(&c, a, &format!("d{i}"), &mut ids) {
                        doses.push(rec);
                        register.extend(e.cd_entry);
                    }
                }
                _ => {
                    let targets: Vec<Administration> = standing(&doses).cloned().collect();
                    if targets.is_empty() {
                        continue;
                    }
                    let target = &targets[pick % targets.len()];
                    let c = crate::rules::correct(
                        &doses, &orders, &target.id, "wrong resident",
                        Corrector { author: &author, witness: Some(Witness { staff: &witness, authenticated: true }) },
                        now, RecordId::new(format!("c{i}")), DeviceId::new("t"),
                    );
                    if let Ok(c) = c {
                        let (m, e) = entail::correction(
                            Some(&orders[0]), target, &c, Some(&witness.id), Some(balance(&register)), &mut ids,
                        );
                        doses.push(c);
                        movements.extend(m);
                        register.extend(e);
                    }
                }
            }
            prop_assert_eq!(balance(&register), stock(&movements, &doses));
            prop_assert!(!balance(&register).is_negative());
        }
    }

    /// S18: two tablets' records of the same slots, merged in any order, give exactly one
    /// possible double dose per slot given more than once, naming every record of it.
    #[test]
    fn s18_every_slot_given_twice_has_exactly_one_finding_whatever_the_merge_order(
        on_a in prop::collection::vec(any::<bool>(), 14),
        on_b in prop::collection::vec(any::<bool>(), 14),
        seed in any::<u64>(),
    ) {
        let orders = vec![regular("o", &[hm(8, 0), hm(20, 0)])];
        let start = utc("2026-01-05T00:00:00Z");
        let slots = slots_between(&orders[0], start, start + Duration::days(7), HOME_TZ);
        let mut merged: Vec<Administration> = vec![];
        for (tablet, given) in [("a", &on_a), ("b", &on_b)] {
            for (at, g) in slots.iter().zip(given.iter()) {
                if *g {
                    let mut a = Administration::system(
                        RecordId::new(format!("{tablet}-{}", at.timestamp())),
                        resident().id,
                        Subject::Slot { order: OrderId::new("o"), at: *at },
                        OutcomeCode::Given,
                        *at,
                        StaffId::new(tablet),
                        DeviceId::new(tablet),
                    );
                    a.quantity = Some(Qty::whole(1));
                    merged.push(a);
                }
            }
        }
        let findings = |h: &[Administration]| {
            let mut f: Vec<Vec<RecordId>> = possible_double_doses(&orders, &[], h)
                .into_iter()
                .filter_map(|d| match d {
                    DoubleDose::SameSlot { records } => Some(records),
                    DoubleDose::PrnInterval { .. } => None,
                })
                .collect();
            f.sort();
            f
        };
        let expected = findings(&merged);
        let mut by_slot: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
        for a in &merged {
            *by_slot.entry(a.subject.slot().unwrap().1).or_default() += 1;
        }
        prop_assert_eq!(expected.len(), by_slot.values().filter(|n| **n > 1).count());
        prop_assert!(expected.iter().all(|r| r.len() == 2));
        // Another order of arrival finds the same.
        let mut shuffled = merged.clone();
        let n = shuffled.len();
        for i in (1..n).rev() {
            shuffled.swap(i, (seed as usize).wrapping_mul(i + 7) % (i + 1));
        }
        prop_assert_eq!(findings(&shuffled), expected);
    }
}
