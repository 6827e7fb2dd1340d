//! The bedside round through the same service the app calls, on the demo home and a fake clock.

use chrono::Duration;
use medround_demo::{demo_gtin, who};
use medround_domain::barcode::label_code;
use medround_domain::finding::FindingCode;
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::Subject;
use medround_domain::rules::DoseAttempt;
use medround_domain::{OrderId, RemedyId, ResidentId};
use medround_ipc::{DoseRow, DoseState, ErrorCode, IpcError, WitnessPin};
use medround_store::Item;
use medround_tests::{monday_morning, pin, signed_in, Tablet};

fn dose(t: &mut Tablet, resident: &str, medicine: &str) -> DoseRow {
    let v = t.bedside.open_resident(resident).expect("open resident");
    v.doses
        .into_iter()
        .chain(v.prn)
        .find(|d| {
            d.medicine.starts_with(medicine) && d.unavailable.is_none() && d.outcome.is_none()
        })
        .unwrap_or_else(|| panic!("{medicine} not on {resident}'s chart"))
}

fn attempt_for(row: &DoseRow, outcome: OutcomeCode) -> DoseAttempt {
    let subject = if row.slot.is_empty() {
        Subject::Prn {
            order: OrderId::new(&row.order),
        }
    } else {
        Subject::Slot {
            order: OrderId::new(&row.order),
            at: row.slot.parse().unwrap(),
        }
    };
    DoseAttempt::new(subject, outcome)
}

fn scanned(mut a: DoseAttempt, gtin: u32) -> DoseAttempt {
    a.scans
        .push(medround_domain::barcode::parse_scan(&demo_gtin(gtin)).unwrap());
    a
}

fn blocked_by(e: IpcError) -> Vec<FindingCode> {
    assert_eq!(e.code, ErrorCode::Blocked, "{}", e.message);
    e.findings.iter().map(|f| f.code).collect()
}

#[test]
fn s19_wrong_pins_lock_the_account() {
    let mut t = Tablet::demo(monday_morning());
    let e = t.bedside.sign_in("st-amy", "0000").unwrap_err();
    assert_eq!(e.code, ErrorCode::WrongPin);
    assert!(e.message.contains("4 more tries"), "{}", e.message);
    for _ in 0..4 {
        let _ = t.bedside.sign_in("st-amy", "0000");
    }
    let e = t.bedside.sign_in("st-amy", pin("st-amy")).unwrap_err();
    assert_eq!(e.code, ErrorCode::AccountLocked);
    assert_eq!(t.bedside.round().unwrap_err().code, ErrorCode::NotSignedIn);
}

#[test]
fn s19_a_locked_account_is_unlocked_by_another_senior_with_a_new_pin() {
    let mut t = Tablet::demo(monday_morning());
    for _ in 0..5 {
        let _ = t.bedside.sign_in("st-amy", "0000");
    }
    assert_eq!(
        t.bedside.sign_in("st-amy", pin("st-amy")).unwrap_err().code,
        ErrorCode::AccountLocked
    );

    // A carer may not manage PINs; a senior sees who is locked out and may reset it.
    t.bedside.sign_in("st-dev", pin("st-dev")).unwrap();
    assert_eq!(
        t.bedside.staff_pins().unwrap_err().code,
        ErrorCode::NotAllowed
    );
    assert_eq!(
        t.bedside.reset_pin("st-amy", "4826").unwrap_err().code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let v = t.bedside.staff_pins().unwrap();
    let row = |v: &medround_ipc::StaffPinsView, id: &str| {
        v.rows.iter().find(|r| r.staff.id == id).unwrap().clone()
    };
    let amy = row(&v, "st-amy");
    assert!(amy.has_pin && amy.locked && amy.may_reset && amy.last_reset.is_none());
    assert!(!row(&v, "st-claire").locked);
    // Not their own (S19), and not a PIN guessed first.
    assert!(!row(&v, "st-ben").may_reset);
    let e = t.bedside.reset_pin("st-ben", "4826").unwrap_err();
    assert_eq!(e.code, ErrorCode::Blocked);
    assert_eq!(e.findings[0].code, FindingCode::ResetNeedsAnotherSenior);
    for weak in ["1234", "1111", "98765", "12", "12a4"] {
        assert_eq!(
            t.bedside.reset_pin("st-amy", weak).unwrap_err().code,
            ErrorCode::BadInput,
            "{weak}"
        );
    }
    assert_eq!(
        t.bedside.reset_pin("st-nobody", "4826").unwrap_err().code,
        ErrorCode::NotFound
    );
    assert!(row(&t.bedside.staff_pins().unwrap(), "st-amy").locked);
    let done = t.bedside.reset_pin("st-amy", "4826").unwrap();
    assert!(done.message.contains("Amy Carter"), "{}", done.message);
    let amy = row(&t.bedside.staff_pins().unwrap(), "st-amy");
    assert!(!amy.locked);
    assert_eq!(
        amy.last_reset.as_deref(),
        Some("Reset by Ben Okoro, 23 Nov 2026 07:55")
    );

    // The old PIN no longer works; the new one does.
    assert_eq!(
        t.bedside.sign_in("st-amy", pin("st-amy")).unwrap_err().code,
        ErrorCode::WrongPin
    );
    t.bedside.sign_in("st-amy", "4826").unwrap();
}

#[test]
fn s19_a_manager_adds_a_carer_who_signs_in_with_her_own_pin_and_closes_a_leaver() {
    use medround_domain::staff::Role;
    use medround_ipc::SaveStaff;
    // As typed: stray spaces and lower-case initials are tidied when saved.
    let priya = |id: Option<String>, active: bool| SaveStaff {
        name: " Priya Nair ".into(),
        initials: "pn".into(),
        ..medround_tests::priya_nair(id, active)
    };
    let mut t = signed_in("st-ben");
    assert_eq!(
        t.bedside.save_staff(&priya(None, true)).unwrap_err().code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let bad = SaveStaff {
        initials: "P.N.".into(),
        ..priya(None, true)
    };
    assert_eq!(
        t.bedside.save_staff(&bad).unwrap_err().code,
        ErrorCode::Blocked
    );
    let saved = t.bedside.save_staff(&priya(None, true)).unwrap();
    assert!(
        saved.message.starts_with("Priya Nair added as care worker"),
        "{}",
        saved.message
    );
    let home = t.bedside.home().unwrap();
    let card = home.staff.iter().find(|s| s.id == saved.id).unwrap();
    assert_eq!(
        (card.name.as_str(), card.initials.as_str()),
        ("Priya Nair", "PN")
    );
    // No PIN yet: she is asked to get one from a senior, who sets it as she types it.
    assert_eq!(
        t.bedside.sign_in(&saved.id, "4826").unwrap_err().code,
        ErrorCode::NoPin
    );
    t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let row = t
        .bedside
        .staff_pins()
        .unwrap()
        .rows
        .into_iter()
        .find(|r| r.staff.id == saved.id)
        .unwrap();
    assert!(!row.has_pin && row.may_reset && row.medication_trained);
    t.bedside.reset_pin(&saved.id, "4826").unwrap();
    t.bedside.sign_in(&saved.id, "4826").unwrap();
    let r = dose(&mut t, "res-01", "Amlodipine");
    let done = t
        .bedside
        .record_dose(
            "res-01",
            &scanned(attempt_for(&r, OutcomeCode::Given), 3),
            None,
        )
        .unwrap();
    assert!(done.message.contains("Amlodipine"), "{}", done.message);

    // She leaves: her PIN no longer signs in, she is off the sign-in list, her dose keeps her.
    t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let left = t
        .bedside
        .save_staff(&priya(Some(saved.id.clone()), false))
        .unwrap();
    assert!(left.message.contains("has left"), "{}", left.message);
    assert_eq!(
        t.bedside.sign_in(&saved.id, "4826").unwrap_err().code,
        ErrorCode::NotFound
    );
    assert!(!t
        .bedside
        .home()
        .unwrap()
        .staff
        .iter()
        .any(|s| s.id == saved.id));
    let v = t.bedside.open_resident("res-01").unwrap();
    assert!(
        v.records.iter().any(|x| x.by.contains("Priya Nair")),
        "{:?}",
        v.records
    );

    // A manager cannot close their own account or take away their own role.
    let own = SaveStaff {
        id: Some("st-claire".into()),
        name: "Claire Manning".into(),
        initials: "CM".into(),
        role: Role::Senior,
        medication_trained: true,
        homely_authorised: false,
        active: true,
    };
    let e = t.bedside.save_staff(&own).unwrap_err();
    assert_eq!(e.findings[0].code, FindingCode::OwnAccountChange);
    assert_eq!(
        t.bedside
            .save_staff(&SaveStaff {
                id: Some("st-nobody".into()),
                ..own
            })
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
}

#[test]
fn s19_only_a_manager_sets_how_the_tablet_locks() {
    let mut t = signed_in("st-ben");
    assert_eq!(
        t.bedside.set_screen_lock(2, true).unwrap_err().code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    for bad in [0, 31] {
        assert_eq!(
            t.bedside.set_screen_lock(bad, true).unwrap_err().code,
            ErrorCode::BadInput
        );
    }
    assert!(!t.bedside.staff_pins().unwrap().lock_after_each_resident);
    let done = t.bedside.set_screen_lock(2, true).unwrap();
    assert_eq!(
        done.message,
        "This tablet now locks after 2 idle minutes and after each resident."
    );
    let v = t.bedside.staff_pins().unwrap();
    assert!(v.may_change_lock && v.lock_after_each_resident);
    assert_eq!(v.idle_lock_minutes, 2);
    // Both take effect: the session locks after 2 idle minutes, and on leaving a resident.
    t.clock.advance(Duration::minutes(3));
    assert_eq!(
        t.bedside.round().unwrap_err().code,
        ErrorCode::SessionLocked
    );
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    assert!(t.bedside.leave_resident());
    assert_eq!(t.bedside.round().unwrap_err().code, ErrorCode::NotSignedIn);
}

#[test]
fn s15_a_senior_records_a_resident_gone_to_hospital_and_back_and_the_doses_follow() {
    use medround_domain::rules::PresenceChange;
    let mut t = signed_in("st-amy");
    assert_eq!(
        t.bedside
            .set_presence(who::PARKINSONS, PresenceChange::ToHospital)
            .unwrap_err()
            .code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let done = t
        .bedside
        .set_presence(who::PARKINSONS, PresenceChange::ToHospital)
        .unwrap();
    assert!(
        done.message.contains("in hospital from 07:55"),
        "{}",
        done.message
    );
    assert_eq!(
        t.bedside
            .set_presence(who::PARKINSONS, PresenceChange::OnLeave)
            .unwrap_err()
            .code,
        ErrorCode::Blocked
    );
    let card = |t: &mut Tablet| {
        t.bedside
            .round()
            .unwrap()
            .units
            .into_iter()
            .flat_map(|u| u.residents)
            .find(|c| c.id == who::PARKINSONS)
            .unwrap()
    };
    assert!(card(&mut t).away.is_some());

    // While away, the 08:00 doses close as HOSPITAL, not MISSED, once their window and its
    // late allowance have passed (S8, S15).
    t.clock.advance(Duration::hours(4));
    t.bedside.close_windows().unwrap();
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let v = t.bedside.open_resident(who::PARKINSONS).unwrap();
    let at_eight: Vec<_> = v
        .doses
        .iter()
        .filter(|d| d.slot.contains("T08:00"))
        .map(|d| d.outcome)
        .collect();
    assert!(!at_eight.is_empty());
    assert!(
        at_eight.iter().all(|o| *o == Some(OutcomeCode::Hospital)),
        "{at_eight:?}"
    );

    // Back: the doses lock until a senior reconciles (S15).
    let back = t
        .bedside
        .set_presence(who::PARKINSONS, PresenceChange::Back)
        .unwrap();
    assert!(back.message.contains("stay locked"), "{}", back.message);
    assert!(card(&mut t).away.is_none());
    let r = dose(&mut t, who::PARKINSONS, "Co-careldopa");
    let e = t
        .bedside
        .record_dose(
            who::PARKINSONS,
            &scanned(attempt_for(&r, OutcomeCode::Given), 5),
            None,
        )
        .unwrap_err();
    assert!(
        blocked_by(e).contains(&FindingCode::ReconciliationPending),
        "locked until reconciled"
    );
    t.bedside.reconcile(who::PARKINSONS).unwrap();
    assert!(
        !t.bedside
            .open_resident(who::PARKINSONS)
            .unwrap()
            .locked_for_reconciliation
    );
}

#[test]
fn s19_idle_screen_locks() {
    let mut t = signed_in("st-amy");
    t.clock.advance(Duration::minutes(4));
    assert!(t.bedside.round().is_ok());
    t.clock.advance(Duration::minutes(6));
    assert_eq!(
        t.bedside.round().unwrap_err().code,
        ErrorCode::SessionLocked
    );
}

#[test]
fn lock_after_each_resident_when_the_home_chooses() {
    let mut t = signed_in("st-amy");
    assert!(!t.bedside.leave_resident());
    t.bedside.set_lock_after_each_resident(true).unwrap();
    assert!(t.bedside.leave_resident());
    assert_eq!(t.bedside.round().unwrap_err().code, ErrorCode::NotSignedIn);
}

#[test]
fn round_shows_due_late_time_critical_and_away_by_unit() {
    let mut t = signed_in("st-amy");
    let r = t.bedside.round().unwrap();
    assert_eq!(r.home, "Larch House");
    assert_eq!(r.units.len(), 2);
    assert_eq!(r.units.iter().map(|u| u.residents.len()).sum::<usize>(), 20);
    let card = |id: &str| {
        r.units
            .iter()
            .flat_map(|u| &u.residents)
            .find(|c| c.id == id)
            .unwrap()
            .clone()
    };
    assert!(card(who::IN_HOSPITAL)
        .away
        .as_deref()
        .unwrap()
        .starts_with("In hospital"));
    // The 06:00 co-careldopa is late and not yet closed; 08:00 doses are due.
    let p = card(who::PARKINSONS);
    assert!(p.late >= 1, "{p:?}");
    assert!(p.due_now >= 1, "{p:?}");
    assert!(r.units.iter().map(|u| u.due_now).sum::<u32>() > 20);
}

#[test]
fn s01_s02_scans_at_the_bedside() {
    let mut t = signed_in("st-amy");
    let res = who::PARKINSONS;
    let row = dose(&mut t, res, "Amlodipine");
    let ok = t.bedside.scan(res, &demo_gtin(3)).unwrap();
    assert!(
        ok.ok && ok.order.as_deref() == Some(row.order.as_str()),
        "{ok:?}"
    );
    let wrong = t.bedside.scan(res, &demo_gtin(19)).unwrap();
    assert!(!wrong.ok && wrong.message.starts_with("STOP"));
    let other = t
        .bedside
        .scan(
            res,
            &label_code(&ResidentId::new("res-02"), &OrderId::new("x")),
        )
        .unwrap();
    assert!(!other.ok && other.message.contains("another resident"));
    let bad = t.bedside.scan(res, "0102000000000X").unwrap_err();
    assert_eq!(bad.code, ErrorCode::BadBarcode);
    // Giving with another resident's label blocks (S1); with a wrong pack blocks (S2).
    let mut a = scanned(attempt_for(&row, OutcomeCode::Given), 3);
    a.scans.push(
        medround_domain::barcode::parse_scan(&label_code(
            &ResidentId::new("res-02"),
            &OrderId::new(&row.order),
        ))
        .unwrap(),
    );
    assert_eq!(
        blocked_by(t.bedside.record_dose(res, &a, None).unwrap_err()),
        vec![FindingCode::WrongResidentLabel]
    );
    let a = scanned(attempt_for(&row, OutcomeCode::Given), 19);
    assert_eq!(
        blocked_by(t.bedside.record_dose(res, &a, None).unwrap_err()),
        vec![FindingCode::WrongProduct]
    );
}

#[test]
fn a_round_gives_refuses_is_blocked_by_prn_interval_and_witnesses_a_cd_then_survives_restart() {
    let mut t = signed_in("st-amy");

    // Give a regular dose, scanned.
    let row = dose(&mut t, who::PARKINSONS, "Amlodipine");
    assert_eq!(row.state, DoseState::Due);
    let given = t
        .bedside
        .record_dose(
            who::PARKINSONS,
            &scanned(attempt_for(&row, OutcomeCode::Given), 3),
            None,
        )
        .unwrap();
    assert!(given.message.contains("Amlodipine"));

    // Refuse one: the note is needed (S8).
    let row = dose(&mut t, who::PARKINSONS, "Furosemide");
    let mut refuse = attempt_for(&row, OutcomeCode::Refused);
    assert_eq!(
        blocked_by(
            t.bedside
                .record_dose(who::PARKINSONS, &refuse, None)
                .unwrap_err()
        ),
        vec![FindingCode::NoteNeeded]
    );
    refuse.note = Some("Said she feels dizzy; will tell the senior.".into());
    t.bedside
        .record_dose(who::PARKINSONS, &refuse, None)
        .unwrap();

    // PRN paracetamol, then co-codamol inside four hours: blocked across products (S4).
    let para = dose(&mut t, who::TWO_PARACETAMOLS, "Paracetamol");
    let mut a = scanned(attempt_for(&para, OutcomeCode::Given), 1);
    a.quantity = Some(Qty::whole(2));
    a.prn_reason = Some("Knee pain".into());
    t.bedside
        .record_dose(who::TWO_PARACETAMOLS, &a, None)
        .unwrap();
    t.clock.advance(Duration::minutes(90));
    // Ninety minutes later the screen has locked itself; the carer signs in again.
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    let cocod = dose(&mut t, who::TWO_PARACETAMOLS, "Co-codamol");
    let mut b = scanned(attempt_for(&cocod, OutcomeCode::Given), 2);
    b.quantity = Some(Qty::whole(1));
    b.prn_reason = Some("Still in pain".into());
    let e = t
        .bedside
        .record_dose(who::TWO_PARACETAMOLS, &b, None)
        .unwrap_err();
    assert_eq!(blocked_by(e.clone()), vec![FindingCode::PrnIntervalNotMet]);
    assert!(e.message.contains("paracetamol"), "{}", e.message);

    // A controlled drug needs a witness with their own PIN (S7), and writes the register.
    let mor = dose(&mut t, who::MORPHINE, "Morphine");
    let mut c = scanned(attempt_for(&mor, OutcomeCode::Given), 18);
    c.quantity = Some(Qty::from_f64(2.5));
    c.prn_reason = Some("Breakthrough pain, score 7/10".into());
    assert_eq!(
        blocked_by(t.bedside.record_dose(who::MORPHINE, &c, None).unwrap_err()),
        vec![FindingCode::WitnessNeeded]
    );
    let wrong = WitnessPin {
        staff_id: "st-ben".into(),
        pin: "1111".into(),
    };
    assert_eq!(
        t.bedside
            .record_dose(who::MORPHINE, &c, Some(&wrong))
            .unwrap_err()
            .code,
        ErrorCode::WrongPin
    );
    let me = WitnessPin {
        staff_id: "st-amy".into(),
        pin: pin("st-amy").into(),
    };
    assert_eq!(
        t.bedside
            .record_dose(who::MORPHINE, &c, Some(&me))
            .unwrap_err()
            .code,
        ErrorCode::NotAllowed
    );
    let ben = WitnessPin {
        staff_id: "st-ben".into(),
        pin: pin("st-ben").into(),
    };
    t.bedside
        .record_dose(who::MORPHINE, &c, Some(&ben))
        .unwrap();
    let register: Vec<_> = t
        .bedside
        .store()
        .items_for_order(&OrderId::new(&mor.order), "cd_entry")
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::CdEntry(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(register.len(), 2);
    let received = register[0].balance_after;
    assert_eq!(register[1].balance_after, received - Qty::from_f64(2.5));
    assert_eq!(register[1].witness.as_str(), "st-ben");

    // Stock went down by what was given (S14).
    let stock = t.bedside.store().stock_levels().unwrap()[&OrderId::new(&mor.order)];
    assert_eq!(stock, received - Qty::from_f64(2.5));

    // Close the app and open it again: every confirmed record is there.
    let mut t = t.restart();
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    let v = t.bedside.open_resident(who::PARKINSONS).unwrap();
    let outcomes: Vec<OutcomeCode> = v.records.iter().map(|r| r.outcome).collect();
    assert!(
        outcomes.contains(&OutcomeCode::Given) && outcomes.contains(&OutcomeCode::Refused),
        "{outcomes:?}"
    );
    let v = t.bedside.open_resident(who::MORPHINE).unwrap();
    assert!(v
        .records
        .iter()
        .any(|r| r.witness.as_deref() == Some("Ben Okoro")));
    assert_eq!(v.follow_ups.len(), 1, "a PRN dose asks 'was it effective?'");
}

#[test]
fn s09_a_correction_voids_and_the_original_stays_struck_through() {
    let mut t = signed_in("st-amy");
    let row = dose(&mut t, who::PARKINSONS, "Amlodipine");
    let rec = t
        .bedside
        .record_dose(
            who::PARKINSONS,
            &scanned(attempt_for(&row, OutcomeCode::Given), 3),
            None,
        )
        .unwrap();
    let e = t
        .bedside
        .correct(who::PARKINSONS, &rec.record, "  ", None)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Blocked);
    t.bedside
        .correct(
            who::PARKINSONS,
            &rec.record,
            "Recorded on the wrong chart",
            None,
        )
        .unwrap();
    let v = t.bedside.open_resident(who::PARKINSONS).unwrap();
    let original = v.records.iter().find(|r| r.id == rec.record).unwrap();
    assert!(original.voided);
    assert!(v
        .records
        .iter()
        .any(|r| r.outcome == OutcomeCode::EnteredInError
            && r.correction_of.as_deref() == Some(rec.record.as_str())));
    // The slot is open again.
    assert!(v
        .doses
        .iter()
        .any(|d| d.order == row.order && d.slot == row.slot && d.outcome.is_none()));
}

#[test]
fn s08_windows_close_as_missed_and_a_missed_time_critical_dose_raises_an_incident() {
    let mut t = signed_in("st-amy");
    let before = t.bedside.store().count_kind("incident").unwrap();
    // 08:31: the 06:00 co-careldopa (time-critical) closed at 08:30.
    t.clock.set("2026-11-23T08:31:00Z".parse().unwrap());
    let n = t.bedside.close_windows().unwrap();
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    assert!(n >= 1);
    assert!(t.bedside.store().count_kind("incident").unwrap() > before);
    // Nothing closes twice.
    assert_eq!(t.bedside.close_windows().unwrap(), 0);
    let r = t.bedside.round().unwrap();
    let p = r
        .units
        .iter()
        .flat_map(|u| &u.residents)
        .find(|c| c.id == who::PARKINSONS)
        .unwrap();
    assert!(p.missed >= 1);
    assert!(r.open_incidents > 0);
    // The hospital resident's doses resolve as HOSPITAL, not MISSED (S15).
    let v = t.bedside.open_resident(who::IN_HOSPITAL).unwrap();
    assert!(
        v.records.iter().any(|r| r.outcome == OutcomeCode::Hospital),
        "{:?}",
        v.records
    );
    assert!(!v.records.iter().any(|r| r.outcome == OutcomeCode::Missed));
}

#[test]
fn s05_s12_s15_s17_at_the_bedside() {
    let mut t = signed_in("st-amy");
    // S5: the pending order is shown, greyed, and cannot be given.
    let v = t.bedside.open_resident(who::PENDING_ORDER).unwrap();
    let pending = v
        .doses
        .iter()
        .find(|d| d.medicine.starts_with("Trimethoprim"))
        .unwrap();
    assert!(pending
        .unavailable
        .as_deref()
        .unwrap()
        .contains("check it in"));
    // S15: away resident.
    let row = dose(&mut t, who::IN_HOSPITAL, "Paracetamol");
    let mut a = scanned(attempt_for(&row, OutcomeCode::Given), 1);
    a.quantity = Some(Qty::whole(1));
    a.prn_reason = Some("pain".into());
    assert!(blocked_by(
        t.bedside
            .record_dose(who::IN_HOSPITAL, &a, None)
            .unwrap_err()
    )
    .contains(&FindingCode::ResidentAway));
    // S12: covert out of date.
    let v = t.bedside.open_resident(who::COVERT_OUT_OF_DATE).unwrap();
    assert!(v.covert_plan.unwrap().contains("OUT OF DATE"));
    let v = t.bedside.open_resident(who::COVERT_IN_DATE).unwrap();
    assert!(v.doses.iter().any(|d| d.covert_offered));
    // S17: an authorised carer gives a homely remedy from the list; an unknown one is refused.
    let mut h = DoseAttempt::new(
        Subject::Homely {
            remedy: RemedyId::new("hr-linctus"),
        },
        OutcomeCode::Given,
    );
    h.product_tapped = true;
    h.prn_reason = Some("Tickly cough".into());
    t.bedside.record_dose("res-02", &h, None).unwrap();
    let mut u = h.clone();
    u.subject = Subject::Homely {
        remedy: RemedyId::new("hr-whisky"),
    };
    assert_eq!(
        blocked_by(t.bedside.record_dose("res-02", &u, None).unwrap_err()),
        vec![FindingCode::RemedyNotOnList]
    );
    let mut d = signed_in("st-dev");
    let e = d.bedside.record_dose("res-02", &h, None).unwrap_err();
    assert!(blocked_by(e).contains(&FindingCode::NotAuthorisedForRemedies));
}

#[test]
fn s15_reconciliation_needs_a_senior() {
    let mut t = signed_in("st-amy");
    let now = t.bedside.now();
    let mut r = t
        .bedside
        .store()
        .resident(&ResidentId::new("res-02"))
        .unwrap();
    r.reconciliation_pending = true;
    t.bedside.store_mut().put_resident(&r, now).unwrap();
    let row = dose(&mut t, "res-02", "Paracetamol");
    let mut a = scanned(attempt_for(&row, OutcomeCode::Given), 1);
    a.quantity = Some(Qty::whole(1));
    a.prn_reason = Some("pain".into());
    assert_eq!(
        blocked_by(t.bedside.record_dose("res-02", &a, None).unwrap_err()),
        vec![FindingCode::ReconciliationPending]
    );
    assert_eq!(
        t.bedside.reconcile("res-02").unwrap_err().code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    t.bedside.reconcile("res-02").unwrap();
    t.bedside.record_dose("res-02", &a, None).unwrap();
}

#[test]
fn s10_a_dose_recorded_after_its_window_closed_is_retrospective_and_listed() {
    let mut t = signed_in("st-amy");
    let row = dose(&mut t, who::PARKINSONS, "Amlodipine");
    // The carer gave it at 08:05 but the tablet was flat; by 11:30 the slot closed as MISSED.
    t.clock.set("2026-11-23T11:30:00Z".parse().unwrap());
    t.bedside.close_windows().unwrap();
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    let incidents = t.bedside.store().count_kind("incident").unwrap();
    let mut a = scanned(attempt_for(&row, OutcomeCode::Given), 3);
    a.occurred_at = Some("2026-11-23T08:05:00Z".parse().unwrap());
    assert_eq!(
        blocked_by(
            t.bedside
                .record_dose(who::PARKINSONS, &a, None)
                .unwrap_err()
        ),
        vec![FindingCode::RetrospectiveReasonNeeded]
    );
    a.retrospective_reason = Some("Tablet battery was flat on the round".into());
    t.bedside.record_dose(who::PARKINSONS, &a, None).unwrap();
    let v = t.bedside.open_resident(who::PARKINSONS).unwrap();
    let rec = v
        .records
        .iter()
        .find(|r| r.retrospective)
        .expect("retrospective record");
    assert_eq!(rec.outcome, OutcomeCode::Given);
    // The staff record stands over the system's MISSED, and the manager's list has it.
    let slot = v
        .doses
        .iter()
        .find(|d| d.order == row.order && d.slot == row.slot)
        .unwrap();
    assert_eq!(slot.outcome, Some(OutcomeCode::Given));
    assert_eq!(
        t.bedside.store().count_kind("incident").unwrap(),
        incidents + 1
    );
}
