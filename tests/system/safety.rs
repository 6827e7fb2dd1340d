//! The clinical-safety cases that were seen to fail (issue 13), each through the same service the
//! app calls, on the demo home with a fake clock: allergy classes, a day's paracetamol across
//! orders typed in by hand, omissions closed by the system, a tablet off for days, a double dose
//! found days late, a late entry that reveals a breach, a course's last dose, NO_STOCK, a voided
//! controlled drug, whole tablets, a weekly order given on the wrong day, duplicate therapy, and
//! a controlled-drug patch's removal.

use chrono::{DateTime, NaiveTime, Utc};
use medround_demo::{demo_gtin, who};
use medround_domain::cd::CdMovement;
use medround_domain::finding::{FindingCode, Severity};
use medround_domain::incident::IncidentKind;
use medround_domain::order::{Dose, OrderStatus, Route};
use medround_domain::order_entry::OrderDraft;
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::Subject;
use medround_domain::resident::Allergy;
use medround_domain::rules::DoseAttempt;
use medround_domain::schedule::{slots_between, HOME_TZ};
use medround_domain::{OrderId, RemedyId, ResidentId};
use medround_ipc::{CheckInAnswers, ErrorCode, IpcError, WitnessPin};
use medround_store::Item;
use medround_sync::memory::MemoryReplica;
use medround_tests::{
    double_doses, edith_clarke, give, monday_morning, pin, row, signed_in, Tablet,
};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn time(h: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, 0, 0).unwrap()
}

fn codes(e: &IpcError) -> Vec<FindingCode> {
    assert_eq!(e.code, ErrorCode::Blocked, "{}", e.message);
    e.findings.iter().map(|f| f.code).collect()
}

fn witness(staff: &str) -> WitnessPin {
    WitnessPin {
        staff_id: staff.into(),
        pin: pin(staff).into(),
    }
}

/// The answers of a senior who has read a warning at check-in.
fn read(code: FindingCode) -> CheckInAnswers {
    CheckInAnswers {
        acknowledged: vec![code],
        both_intended: None,
    }
}

/// Edith Clarke admitted by Ben (a senior), with these allergies (none: no known allergies).
fn admit(t: &mut Tablet, allergies: &[&str]) -> String {
    let mut d = edith_clarke();
    d.no_known_allergies = allergies.is_empty();
    d.allergies = allergies
        .iter()
        .map(|a| Allergy {
            substance: a.to_string(),
            reaction: "rash".into(),
        })
        .collect();
    t.bedside.save_resident(None, &d).unwrap().resident
}

/// A regular order as a senior types it from a discharge letter.
fn draft(name: &str, strength: &str, ingredients: &[&str], times: &[u32]) -> OrderDraft {
    OrderDraft {
        name: name.into(),
        strength: strength.into(),
        form: "tablets".into(),
        ingredients: ingredients.iter().map(|s| s.to_string()).collect(),
        dose: Dose::Fixed { qty: Qty::whole(1) },
        unit: "tablet".into(),
        route: Route::Oral,
        times: times.iter().map(|h| time(*h)).collect(),
        prn: None,
        instructions: String::new(),
        prescriber: "Dr A Patel, Royal Infirmary".into(),
        start: None,
        end: None,
        course_days: None,
        time_critical: false,
        cd: None,
        patch_site_rest_days: None,
    }
}

/// Writes `d` up for `resident` and checks it in with Amy as the second checker, answering a
/// duplicate-therapy warning with `answers`. Returns the order's id.
fn write_up(t: &mut Tablet, resident: &str, d: &OrderDraft, answers: &CheckInAnswers) -> OrderId {
    let before: Vec<OrderId> = t
        .bedside
        .store()
        .orders_for(&ResidentId::new(resident))
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    t.bedside.enter_order(resident, d).unwrap();
    let id = t
        .bedside
        .store()
        .orders_for(&ResidentId::new(resident))
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .find(|o| !before.contains(o))
        .unwrap();
    t.bedside
        .check_in_order(resident, id.as_str(), Some(&witness("st-amy")), answers)
        .unwrap();
    id
}

fn slot_attempt(order: &OrderId, slot: &str, outcome: OutcomeCode) -> DoseAttempt {
    let mut a = DoseAttempt::new(
        Subject::Slot {
            order: order.clone(),
            at: at(slot),
        },
        outcome,
    );
    a.product_tapped = true;
    a
}

fn incidents(t: &Tablet, resident: &str, kind: IncidentKind) -> Vec<String> {
    t.bedside
        .store()
        .items_for(&ResidentId::new(resident), None)
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::Incident(x) if x.kind == kind => Some(x.message),
            _ => None,
        })
        .collect()
}

#[test]
fn s06_penicillin_allergy_blocks_flucloxacillin() {
    let mut t = signed_in("st-ben");
    let edith = admit(&mut t, &["Penicillin"]);
    // Written up from the letter, the allergy is said at once.
    let fluclox = draft(
        "Flucloxacillin",
        "500mg",
        &["flucloxacillin 500mg"],
        &[8, 12, 18, 22],
    );
    let done = t.bedside.enter_order(&edith, &fluclox).unwrap();
    assert!(done.message.contains("penicillins"), "{}", done.message);
    let order = t
        .bedside
        .store()
        .orders_for(&ResidentId::new(&edith))
        .unwrap()[0]
        .id
        .clone();
    // At check-in the senior reads it again, and says so.
    let e = t
        .bedside
        .check_in_order(
            &edith,
            order.as_str(),
            Some(&witness("st-amy")),
            &Default::default(),
        )
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::AllergyMatch]);
    assert_eq!(e.findings[0].severity, Severity::Warn);
    t.bedside
        .check_in_order(
            &edith,
            order.as_str(),
            Some(&witness("st-amy")),
            &read(FindingCode::AllergyMatch),
        )
        .unwrap();
    let e = t
        .bedside
        .record_dose(
            &edith,
            &slot_attempt(&order, "2026-11-23T08:00:00Z", OutcomeCode::Given),
            None,
        )
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::AllergyMatch]);
    assert!(e.message.starts_with("STOP"), "{}", e.message);
    // Co-amoxiclav, as the pharmacy lists it (amoxicillin with clavulanic acid), blocks too.
    let coamox = draft(
        "Co-amoxiclav",
        "500mg/125mg",
        &["amoxicillin 500mg", "clavulanic acid 125mg"],
        &[8],
    );
    let o = write_up(&mut t, &edith, &coamox, &read(FindingCode::AllergyMatch));
    let e = t
        .bedside
        .record_dose(
            &edith,
            &slot_attempt(&o, "2026-11-23T08:00:00Z", OutcomeCode::Given),
            None,
        )
        .unwrap_err();
    assert!(codes(&e).contains(&FindingCode::AllergyMatch));
    // Nothing was recorded for either.
    assert!(t
        .bedside
        .store()
        .administrations_for(&ResidentId::new(&edith), None)
        .unwrap()
        .is_empty());
}

#[test]
fn s06_an_allergy_the_system_cannot_read_is_shown_as_not_checked_at_every_dose() {
    let mut t = signed_in("st-ben");
    let edith = admit(&mut t, &["Zyxomab"]);
    let v = t.bedside.open_resident(&edith).unwrap();
    assert!(!v.allergies[0].checked);
    let o = write_up(
        &mut t,
        &edith,
        &draft("Furosemide", "40mg", &["furosemide 40mg"], &[8]),
        &Default::default(),
    );
    let e = t
        .bedside
        .record_dose(
            &edith,
            &slot_attempt(&o, "2026-11-23T08:00:00Z", OutcomeCode::Given),
            None,
        )
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::AllergyNotChecked]);
    assert_eq!(e.findings[0].severity, Severity::Warn);
    // Read and acknowledged, the dose is recorded.
    let mut a = slot_attempt(&o, "2026-11-23T08:00:00Z", OutcomeCode::Given);
    a.acknowledged = vec![FindingCode::AllergyNotChecked];
    t.bedside.record_dose(&edith, &a, None).unwrap();
}

#[test]
fn s04_a_days_paracetamol_counts_an_order_typed_in_by_hand() {
    let mut t = signed_in("st-ben");
    let edith = admit(&mut t, &[]);
    // Without its amount per tablet, paracetamol cannot be counted: refused, nothing written.
    let mut para = draft("Paracetamol", "500mg", &["Paracetamol"], &[8, 12, 17, 22]);
    para.dose = Dose::Fixed { qty: Qty::whole(2) };
    let e = t.bedside.enter_order(&edith, &para).unwrap_err();
    assert_eq!(codes(&e), [FindingCode::OrderDraftInvalid]);
    assert!(e.message.contains("4000 mg"), "{}", e.message);
    assert!(t
        .bedside
        .store()
        .orders_for(&ResidentId::new(&edith))
        .unwrap()
        .is_empty());
    para.ingredients = vec!["paracetamol 500mg".into()];
    let o = write_up(&mut t, &edith, &para, &Default::default());
    for (h, slot) in [
        ("08", "2026-11-23T08:00:00Z"),
        ("12", "2026-11-23T12:00:00Z"),
        ("17", "2026-11-23T17:00:00Z"),
        ("22", "2026-11-23T22:00:00Z"),
    ] {
        t.clock.set(at(&format!("2026-11-23T{h}:00:00Z")));
        t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
        t.bedside
            .record_dose(&edith, &slot_attempt(&o, slot, OutcomeCode::Given), None)
            .unwrap();
    }
    // 00:10: a homely-remedy gram would make 5 g in 24 hours.
    t.clock.set(at("2026-11-24T00:10:00Z"));
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let mut a = DoseAttempt::new(
        Subject::Homely {
            remedy: RemedyId::new("hr-paracetamol"),
        },
        OutcomeCode::Given,
    );
    a.quantity = Some(Qty::whole(2));
    a.product_tapped = true;
    a.prn_reason = Some("headache".into());
    let e = t.bedside.record_dose(&edith, &a, None).unwrap_err();
    assert!(
        codes(&e).contains(&FindingCode::IngredientMaxExceeded),
        "{e:?}"
    );
}

#[test]
fn s11_refused_refused_then_missed_raises_a_review() {
    let mut t = signed_in("st-ben");
    let edith = admit(&mut t, &[]);
    let o = write_up(
        &mut t,
        &edith,
        &draft("Furosemide", "40mg", &["furosemide 40mg"], &[8]),
        &Default::default(),
    );
    for d in ["23", "24"] {
        t.clock.set(at(&format!("2026-11-{d}T08:00:00Z")));
        t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
        let mut a = slot_attempt(&o, &format!("2026-11-{d}T08:00:00Z"), OutcomeCode::Refused);
        a.note = Some("Declined".into());
        t.bedside.record_dose(&edith, &a, None).unwrap();
    }
    assert!(incidents(&t, &edith, IncidentKind::RepeatedOmission).is_empty());
    // Wednesday's 08:00 is never recorded: its window closes at 11:00.
    t.clock.set(at("2026-11-25T11:30:00Z"));
    t.bedside.close_windows().unwrap();
    let reviews = incidents(&t, &edith, IncidentKind::RepeatedOmission);
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert!(
        reviews[0].contains("REFUSED, REFUSED, MISSED"),
        "{}",
        reviews[0]
    );
    // Closing again raises nothing more.
    t.bedside.close_windows().unwrap();
    assert_eq!(
        incidents(&t, &edith, IncidentKind::RepeatedOmission).len(),
        1
    );
}

#[test]
fn s08_a_tablet_off_from_monday_to_thursday_closes_mondays_slots_when_it_starts() {
    let mut t = signed_in("st-amy");
    t.bedside.close_windows().unwrap();
    // Off from Monday 07:55 to Thursday 10:00: nobody recorded anything in between.
    t.clock.set(at("2026-11-26T10:00:00Z"));
    let t = t.restart();
    let mut t = t;
    t.bedside.close_windows().unwrap();
    let store = t.bedside.store();
    let r = ResidentId::new("res-02");
    let records = store
        .administrations_for(&r, Some(at("2026-11-23T00:00:00Z")))
        .unwrap();
    let mut checked = 0;
    for o in store
        .orders_for(&r)
        .unwrap()
        .iter()
        .filter(|o| o.status == OrderStatus::Active)
    {
        for slot in slots_between(
            o,
            at("2026-11-23T08:00:00Z"),
            at("2026-11-26T05:00:00Z"),
            HOME_TZ,
        ) {
            checked += 1;
            assert!(
                records
                    .iter()
                    .any(|a| a.subject.slot() == Some((&o.id, slot))),
                "{} at {slot} was left blank",
                o.medicine.label()
            );
        }
    }
    assert!(checked >= 12, "{checked}");
}

#[test]
fn s18_a_double_dose_found_when_one_tablet_syncs_three_days_later() {
    let mut server = MemoryReplica::new("central");
    let mut a = Tablet::demo(monday_morning());
    server.peer = "tab-a".into();
    a.bedside.sync_with(&mut server).unwrap();
    let mut b = Tablet::empty(monday_morning());
    server.peer = "tab-b".into();
    b.bedside.sync_with(&mut server).unwrap();
    a.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    b.bedside.sign_in("st-dev", pin("st-dev")).unwrap();
    give(&mut a, who::PARKINSONS, "Amlodipine", 3, None, false);
    give(&mut b, who::PARKINSONS, "Amlodipine", 3, None, false);
    server.peer = "tab-a".into();
    a.bedside.sync_with(&mut server).unwrap();
    // B stays off the network until Thursday.
    for t in [&mut a, &mut b] {
        t.clock.set(at("2026-11-26T09:00:00Z"));
    }
    server.peer = "tab-b".into();
    let got = b.bedside.sync_with(&mut server).unwrap();
    assert_eq!(got.incidents.len(), 1, "B finds Monday's double dose");
    server.peer = "tab-a".into();
    a.bedside.sync_with(&mut server).unwrap();
    for t in [&a, &b] {
        assert_eq!(double_doses(t, who::PARKINSONS).len(), 1);
    }
}

#[test]
fn s04_s10_a_late_entry_that_reveals_a_breach_raises_an_incident() {
    let mut t = signed_in("st-amy");
    t.clock.set(at("2026-11-23T16:00:00Z"));
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    give(
        &mut t,
        who::TWO_PARACETAMOLS,
        "Co-codamol",
        0,
        Some(2),
        true,
    );
    // 18:00: paracetamol entered as given at 14:00, two hours before the co-codamol.
    t.clock.set(at("2026-11-23T18:00:00Z"));
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    let para = row(&mut t, who::TWO_PARACETAMOLS, "Paracetamol");
    let mut a = DoseAttempt::new(
        Subject::Prn {
            order: OrderId::new(&para.order),
        },
        OutcomeCode::Given,
    );
    a.quantity = Some(Qty::whole(2));
    a.product_tapped = true;
    a.prn_reason = Some("Pain".into());
    a.occurred_at = Some(at("2026-11-23T14:00:00Z"));
    a.retrospective_reason = Some("The tablet was charging".into());
    let e = t
        .bedside
        .record_dose(who::TWO_PARACETAMOLS, &a, None)
        .unwrap_err();
    let f = e
        .findings
        .iter()
        .find(|f| f.code == FindingCode::PrnIntervalNotMet)
        .expect("the co-codamol after it is seen");
    assert_eq!(f.severity, Severity::Warn, "it happened: kept, not refused");
    a.acknowledged = e
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warn)
        .map(|f| f.code)
        .collect();
    t.bedside
        .record_dose(who::TWO_PARACETAMOLS, &a, None)
        .unwrap();
    let breaches = incidents(&t, who::TWO_PARACETAMOLS, IncidentKind::LimitBreach);
    assert_eq!(breaches.len(), 1);
    assert!(breaches[0].contains("16:00"), "{}", breaches[0]);
}

#[test]
fn s05_the_last_dose_of_a_course_can_be_given_after_midnight_in_its_window() {
    let mut t = signed_in("st-ben");
    let edith = admit(&mut t, &[]);
    let mut course = draft("Trimethoprim", "200mg", &["trimethoprim 200mg"], &[22]);
    course.course_days = Some(1);
    let o = write_up(&mut t, &edith, &course, &Default::default());
    // 00:10 on Tuesday: the course ended on Monday, and its 22:00 dose is still in its window.
    t.clock.set(at("2026-11-24T00:10:00Z"));
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let v = t.bedside.open_resident(&edith).unwrap();
    let on_chart = v
        .doses
        .iter()
        .find(|d| d.order == o.as_str() && d.slot.starts_with("2026-11-23T22:00"))
        .expect("the course's last dose is on the chart");
    assert!(on_chart.unavailable.is_none(), "{:?}", on_chart.unavailable);
    let mut a = slot_attempt(&o, "2026-11-23T22:00:00Z", OutcomeCode::Given);
    a.late_reason = Some("Asleep at 22:00, woke at midnight".into());
    t.bedside.record_dose(&edith, &a, None).unwrap();
    t.clock.set(at("2026-11-24T03:00:00Z"));
    t.bedside.close_windows().unwrap();
    let missed = t
        .bedside
        .store()
        .administrations_for(&ResidentId::new(&edith), None)
        .unwrap()
        .into_iter()
        .filter(|r| r.outcome == OutcomeCode::Missed)
        .count();
    assert_eq!(missed, 0);
}

#[test]
fn s14_no_stock_raises_a_stock_alert_and_a_task_for_the_senior() {
    let mut t = signed_in("st-amy");
    let before = t.bedside.round().unwrap().open_incidents;
    let aml = row(&mut t, who::PARKINSONS, "Amlodipine");
    let mut a = DoseAttempt::new(
        Subject::Slot {
            order: OrderId::new(&aml.order),
            at: aml.slot.parse().unwrap(),
        },
        OutcomeCode::NoStock,
    );
    a.product_tapped = true;
    t.bedside.record_dose(who::PARKINSONS, &a, None).unwrap();
    let tasks = incidents(&t, who::PARKINSONS, IncidentKind::NoStock);
    assert_eq!(tasks.len(), 1);
    assert!(tasks[0].contains("reorder"), "{}", tasks[0]);
    assert_eq!(t.bedside.round().unwrap().open_incidents, before + 1);
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let s = t.bedside.stock().unwrap();
    assert_eq!(s.none_in_home, 1);
    let r = s.rows.iter().find(|r| r.order == aml.order).unwrap();
    assert!(
        r.alerts[0].starts_with("None in the home"),
        "{:?}",
        r.alerts
    );
    let review = t.bedside.review(None, None).unwrap();
    assert!(review
        .incidents
        .iter()
        .any(|i| i.kind == IncidentKind::NoStock));
}

#[test]
fn s07_a_voided_cd_dose_goes_back_on_the_register_as_well_as_into_stock() {
    let mut t = signed_in("st-amy");
    let morphine = row(&mut t, who::MORPHINE, "Morphine");
    let order = OrderId::new(&morphine.order);
    let register = |t: &Tablet| t.bedside.store().cd_balance(&order).unwrap();
    let stock = |t: &Tablet| t.bedside.store().stock_levels().unwrap()[&order];
    let (reg0, stock0) = (register(&t), stock(&t));
    assert_eq!(reg0, stock0, "the demo's register and stock agree");
    let mut a = DoseAttempt::new(
        Subject::Prn {
            order: order.clone(),
        },
        OutcomeCode::Given,
    );
    a.quantity = Some(Qty::whole(5));
    a.product_tapped = true;
    a.prn_reason = Some("Breakthrough pain".into());
    let dose = t
        .bedside
        .record_dose(who::MORPHINE, &a, Some(&witness("st-ben")))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(register(&t), reg0 - Qty::whole(5));
    assert_eq!(stock(&t), register(&t));
    // Ten minutes later: voiding it needs the witness as taking it did.
    t.clock
        .set(monday_morning() + chrono::Duration::minutes(10));
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    let e = t
        .bedside
        .correct(
            who::MORPHINE,
            &dose.record,
            "Given to the wrong resident",
            None,
        )
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::WitnessNeeded]);
    assert_eq!(register(&t), reg0 - Qty::whole(5), "nothing half-written");
    t.bedside
        .correct(
            who::MORPHINE,
            &dose.record,
            "Given to the wrong resident",
            Some(&witness("st-ben")),
        )
        .unwrap();
    assert_eq!(register(&t), reg0);
    assert_eq!(stock(&t), register(&t));
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let reg = t.bedside.cd_register(&morphine.order).unwrap();
    let last = reg.rows.last().unwrap();
    assert!(
        last.movement.contains("recorded in error"),
        "{}",
        last.movement
    );
    assert!(
        last.by.contains("Amy") && last.witness.contains("Ben"),
        "{last:?}"
    );
}

#[test]
fn s08_one_or_two_tablets_is_not_one_and_a_half() {
    let mut t = signed_in("st-amy");
    let para = row(&mut t, who::TWO_PARACETAMOLS, "Paracetamol");
    let mut a = DoseAttempt::new(
        Subject::Prn {
            order: OrderId::new(&para.order),
        },
        OutcomeCode::Given,
    );
    a.quantity = Some(Qty::from_f64(1.5));
    a.product_tapped = true;
    a.prn_reason = Some("Pain".into());
    let e = t
        .bedside
        .record_dose(who::TWO_PARACETAMOLS, &a, None)
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::QuantityOutOfRange]);
}

#[test]
fn s03_a_weekly_order_cannot_be_recorded_on_a_day_it_is_not_due() {
    // Alendronic acid is weekly, on Mondays at 07:00. Tuesday 07:00 is no slot of it.
    let mut t = signed_in("st-amy");
    let o = t
        .bedside
        .store()
        .orders_for(&ResidentId::new(who::ALENDRONIC))
        .unwrap()
        .into_iter()
        .find(|o| o.medicine.name.starts_with("Alendronic"))
        .unwrap();
    t.clock.set(at("2026-11-24T07:00:00Z"));
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    let e = t
        .bedside
        .record_dose(
            who::ALENDRONIC,
            &slot_attempt(&o.id, "2026-11-24T07:00:00Z", OutcomeCode::Given),
            None,
        )
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::NotAScheduledDose]);
    assert!(e.message.contains("Tue"), "{}", e.message);
}

#[test]
fn s04_duplicate_therapy_warns_at_check_in_and_at_every_dose_unless_both_are_meant() {
    let mut t = signed_in("st-ben");
    let edith = admit(&mut t, &[]);
    let mut para = draft(
        "Paracetamol",
        "500mg",
        &["paracetamol 500mg"],
        &[8, 12, 17, 22],
    );
    para.dose = Dose::Fixed { qty: Qty::whole(2) };
    write_up(&mut t, &edith, &para, &Default::default());
    let mut cocod = draft(
        "Co-codamol",
        "30mg/500mg",
        &["codeine 30mg", "paracetamol 500mg"],
        &[8, 12, 17, 22],
    );
    cocod.dose = Dose::Fixed { qty: Qty::whole(2) };
    t.bedside.enter_order(&edith, &cocod).unwrap();
    let pending = t
        .bedside
        .store()
        .orders_for(&ResidentId::new(&edith))
        .unwrap()
        .into_iter()
        .find(|o| o.status == OrderStatus::Pending)
        .unwrap();
    let e = t
        .bedside
        .check_in_order(
            &edith,
            pending.id.as_str(),
            Some(&witness("st-amy")),
            &Default::default(),
        )
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::DuplicateTherapy]);
    assert!(e.message.contains("Paracetamol"), "{}", e.message);
    // Read, without a note from the prescriber: checked in, and each dose warns.
    t.bedside
        .check_in_order(
            &edith,
            pending.id.as_str(),
            Some(&witness("st-amy")),
            &read(FindingCode::DuplicateTherapy),
        )
        .unwrap();
    let e = t
        .bedside
        .record_dose(
            &edith,
            &slot_attempt(&pending.id, "2026-11-23T08:00:00Z", OutcomeCode::Given),
            None,
        )
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::DuplicateTherapy]);
}

#[test]
fn s13_s07_a_fentanyl_patch_removed_is_destroyed_on_the_register_before_a_witness() {
    let mut t = signed_in("st-amy");
    let patch = t
        .bedside
        .store()
        .orders_for(&ResidentId::new(who::FENTANYL))
        .unwrap()
        .into_iter()
        .find(|o| o.cd.is_some())
        .unwrap();
    let patch = medround_ipc::DoseRow {
        order: patch.id.to_string(),
        ..row(&mut t, who::FENTANYL, "Paracetamol")
    };
    let e = t
        .bedside
        .remove_patch(who::FENTANYL, &patch.order, "Left upper arm", None)
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::WitnessNeeded]);
    let before = t
        .bedside
        .store()
        .cd_balance(&OrderId::new(&patch.order))
        .unwrap();
    t.bedside
        .remove_patch(
            who::FENTANYL,
            &patch.order,
            "Left upper arm",
            Some(&witness("st-ben")),
        )
        .unwrap();
    let entries: Vec<CdMovement> = t
        .bedside
        .store()
        .items_for_order(&OrderId::new(&patch.order), "cd_entry")
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::CdEntry(e) => Some(e.movement),
            _ => None,
        })
        .collect();
    assert!(matches!(
        entries.last(),
        Some(CdMovement::PatchRemovedAndDestroyed { site, .. }) if site == "Left upper arm"
    ));
    assert_eq!(
        t.bedside
            .store()
            .cd_balance(&OrderId::new(&patch.order))
            .unwrap(),
        before
    );
}

#[test]
fn s16_s05_a_dose_changed_the_same_day_is_not_given_twice() {
    // Amlodipine 5 mg given at 08:00; then the pharmacy's 10 mg, replacing it, is checked in.
    let mut t = signed_in("st-amy");
    t.clock.set(at("2026-11-23T08:05:00Z"));
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    let five = row(&mut t, who::PARKINSONS, "Amlodipine");
    give(&mut t, who::PARKINSONS, "Amlodipine", 3, None, false);
    let mut ten = t.bedside.store().order(&OrderId::new(&five.order)).unwrap();
    ten.replaces = Some(ten.id.clone());
    ten.id = OrderId::new("ord-amlodipine-10");
    ten.medicine.strength = "10mg".into();
    ten.status = OrderStatus::Pending;
    ten.checked_in_by = vec![];
    // As the central record writes a pharmacy order.
    t.bedside
        .store_mut()
        .put_order(&ten, at("2026-11-23T09:00:00Z"))
        .unwrap();
    t.clock.set(at("2026-11-23T09:10:00Z"));
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    // One prescription changed, not duplicate therapy.
    t.bedside
        .check_in_order(
            who::PARKINSONS,
            "ord-amlodipine-10",
            None,
            &Default::default(),
        )
        .unwrap();
    let old = t.bedside.store().order(&OrderId::new(&five.order)).unwrap();
    assert!(matches!(old.status, OrderStatus::Discontinued { .. }));
    // The 10 mg's 08:00 is not late: it was answered under the 5 mg.
    let v = t.bedside.open_resident(who::PARKINSONS).unwrap();
    assert!(
        !v.doses
            .iter()
            .any(|d| d.order == "ord-amlodipine-10" && d.slot.starts_with("2026-11-23T08:00")),
        "today's 08:00 belongs to the 5 mg"
    );
    let e = t
        .bedside
        .record_dose(
            who::PARKINSONS,
            &slot_attempt(
                &OrderId::new("ord-amlodipine-10"),
                "2026-11-23T08:00:00Z",
                OutcomeCode::Given,
            ),
            None,
        )
        .unwrap_err();
    assert!(codes(&e).contains(&FindingCode::AlreadyRecorded), "{e:?}");
    // Nor is it closed as MISSED; tomorrow's 08:00 is the 10 mg's.
    t.clock.set(at("2026-11-23T13:00:00Z"));
    t.bedside.close_windows().unwrap();
    assert!(t
        .bedside
        .store()
        .administrations_for(
            &ResidentId::new(who::PARKINSONS),
            Some(at("2026-11-23T00:00:00Z"))
        )
        .unwrap()
        .iter()
        .all(|r| r.subject.order().map(|o| o.as_str()) != Some("ord-amlodipine-10")));
    t.clock.set(at("2026-11-24T08:00:00Z"));
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    let mut a = slot_attempt(
        &OrderId::new("ord-amlodipine-10"),
        "2026-11-24T08:00:00Z",
        OutcomeCode::Given,
    );
    a.scans
        .push(medround_domain::barcode::parse_scan(&demo_gtin(3)).unwrap());
    t.bedside.record_dose(who::PARKINSONS, &a, None).unwrap();
}
