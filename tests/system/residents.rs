//! Admitting a resident and changing their details on the tablet (S1, S6), through the same
//! service the app calls, on the demo home.

use medround_demo::demo_gtin;
use medround_domain::admission::ResidentDetails;
use medround_domain::barcode::parse_scan;
use medround_domain::finding::FindingCode;
use medround_domain::order::{Dose, OrderStatus, Route};
use medround_domain::order_entry::OrderDraft;
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::Subject;
use medround_domain::resident::Allergy;
use medround_domain::rules::DoseAttempt;
use medround_domain::{OrderId, ResidentId, StaffId, UnitId};
use medround_ipc::{ErrorCode, IpcError, WitnessPin};
use medround_tests::{edith_clarke, give, monday_morning, pin, row, signed_in, Tablet};

fn codes(e: &IpcError) -> Vec<FindingCode> {
    assert_eq!(e.code, ErrorCode::Blocked, "{}", e.message);
    e.findings.iter().map(|f| f.code).collect()
}

/// What the audit trail says of a resident's own events, newest first.
fn resident_events(t: &mut Tablet, resident: &str) -> Vec<(String, String)> {
    t.bedside
        .audit(resident, None, None)
        .unwrap()
        .rows
        .into_iter()
        .filter(|r| r.kind == "Resident")
        .map(|r| (r.summary, r.by))
        .collect()
}

/// What a refused admission must leave as it was: the residents and every document.
fn footprint(t: &Tablet) -> (usize, Vec<String>) {
    let s = t.bedside.store();
    (s.residents().unwrap().len(), s.document_ids().unwrap())
}

#[test]
fn s01_a_senior_admits_a_resident_who_joins_the_round_and_a_carer_cannot() {
    let mut t = Tablet::demo(monday_morning());
    t.bedside.sign_in("st-dev", pin("st-dev")).unwrap();
    assert_eq!(
        t.bedside.resident_form(None).unwrap_err().code,
        ErrorCode::NotAllowed
    );
    assert_eq!(
        t.bedside
            .save_resident(None, &edith_clarke())
            .unwrap_err()
            .code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let form = t.bedside.resident_form(None).unwrap();
    assert!(form.details.is_none() && form.resident.is_none());
    let units: Vec<&str> = form.units.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(units, ["rowan", "willow"]);

    // Every mistake at once, and nothing written.
    let before = footprint(&t);
    let bad = ResidentDetails {
        nhs_number: "943 476 5918".into(),
        no_known_allergies: false,
        unit: UnitId::new("attic"),
        ..edith_clarke()
    };
    let e = t.bedside.save_resident(None, &bad).unwrap_err();
    assert_eq!(
        codes(&e),
        [
            FindingCode::NhsNumberInvalid,
            FindingCode::UnknownUnit,
            FindingCode::AllergyStatusNeeded
        ]
    );
    assert_eq!(e.message, "3 things to put right before saving.");
    // Someone already in the home, admitted again by mistake.
    let margaret = t
        .bedside
        .store()
        .resident(&ResidentId::new("res-01"))
        .unwrap();
    let again = ResidentDetails {
        nhs_number: margaret.nhs_number.clone(),
        ..edith_clarke()
    };
    let e = t.bedside.save_resident(None, &again).unwrap_err();
    assert_eq!(codes(&e), [FindingCode::NhsNumberInUse]);
    assert!(e.message.contains(&margaret.full_name()), "{}", e.message);
    assert_eq!(footprint(&t), before, "a refused admission wrote something");

    let saved = t.bedside.save_resident(None, &edith_clarke()).unwrap();
    assert_eq!(
        saved.message,
        "Edith Clarke admitted to Rowan (ground floor), room 14. Their medicines arrive from \
         the pharmacy and wait for a senior to check them in."
    );
    let round = t.bedside.round().unwrap();
    let rowan = round.units.iter().find(|u| u.id == "rowan").unwrap();
    let card = rowan
        .residents
        .iter()
        .find(|r| r.id == saved.resident)
        .expect("on the round, in Rowan");
    assert_eq!(card.name, "Edith Clarke");
    let v = t.bedside.open_resident(&saved.resident).unwrap();
    assert_eq!(v.nhs_number, "943 476 5919");
    assert_eq!(v.preferred_name.as_deref(), Some("Edie"));
    assert_eq!(v.unit, "Rowan (ground floor)");
    assert!(v.allergies.is_empty() && v.doses.is_empty());
    assert!(v
        .photo
        .as_deref()
        .is_some_and(|p| p.starts_with("data:image/svg+xml")));
    // The same person cannot be admitted twice, and she is still there after a restart.
    let e = t.bedside.save_resident(None, &edith_clarke()).unwrap_err();
    assert_eq!(codes(&e), [FindingCode::NhsNumberInUse]);
    let mut t = t.restart();
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    assert_eq!(
        t.bedside.open_resident(&saved.resident).unwrap().name,
        "Edith Clarke"
    );
}

/// A move to another unit is a change of details: the records stay with the resident, and the
/// round shows them in their new unit (vendors' charts broke on a move).
#[test]
fn s01_a_resident_moved_to_another_unit_keeps_their_records() {
    let mut t = signed_in("st-ben");
    let given = give(&mut t, "res-01", "Amlodipine", 3, None, false);
    let form = t.bedside.resident_form(Some("res-01")).unwrap();
    let mut d = form.details.expect("her details");
    assert_eq!(d.unit, UnitId::new("rowan"));
    d.unit = UnitId::new("willow");
    d.room = "W3".into();
    let saved = t.bedside.save_resident(Some("res-01"), &d).unwrap();
    assert!(
        saved
            .message
            .ends_with("is now in Willow (first floor), room W3. Their records go with them."),
        "{}",
        saved.message
    );
    let v = t.bedside.open_resident("res-01").unwrap();
    assert_eq!(
        (v.unit.as_str(), v.room.as_str()),
        ("Willow (first floor)", "W3")
    );
    assert!(
        v.records.iter().any(|r| r.id == given),
        "the dose given before the move is on her chart"
    );
    let round = t.bedside.round().unwrap();
    let unit_of = |id: &str| {
        round
            .units
            .iter()
            .find(|u| u.residents.iter().any(|r| r.id == id))
            .map(|u| u.id.clone())
    };
    assert_eq!(unit_of("res-01").as_deref(), Some("willow"));
    // Her presence and covert plan are not the form's to change.
    let r = t
        .bedside
        .store()
        .resident(&ResidentId::new("res-01"))
        .unwrap();
    assert!(!r.is_away());
}

/// S1: a resident admitted to a unit where someone shares their family name brings up a name
/// alert on both charts.
#[test]
fn s01_a_shared_family_name_on_a_unit_raises_a_name_alert_on_both_charts() {
    let mut t = signed_in("st-ben");
    let margaret = t
        .bedside
        .store()
        .resident(&ResidentId::new("res-01"))
        .unwrap();
    assert_eq!(t.bedside.open_resident("res-01").unwrap().name_alert, None);
    let namesake = ResidentDetails {
        family_name: margaret.family_name.clone(),
        unit: margaret.unit.clone(),
        ..edith_clarke()
    };
    let id = t.bedside.save_resident(None, &namesake).unwrap().resident;
    let theirs = t
        .bedside
        .open_resident("res-01")
        .unwrap()
        .name_alert
        .unwrap();
    assert!(
        theirs.contains(&format!("Edith {} (room 14)", margaret.family_name)),
        "{theirs}"
    );
    let hers = t.bedside.open_resident(&id).unwrap().name_alert.unwrap();
    assert!(hers.contains(&margaret.full_name()), "{hers}");
}

/// S6: an allergy added to a resident's details is checked at the very next dose.
#[test]
fn s06_an_allergy_added_to_a_residents_details_blocks_that_medicine() {
    let mut t = signed_in("st-ben");
    let mut d = t
        .bedside
        .resident_form(Some("res-01"))
        .unwrap()
        .details
        .unwrap();
    d.allergies.push(Allergy {
        substance: "Amlodipine".into(),
        reaction: "ankle swelling".into(),
    });
    d.no_known_allergies = false;
    t.bedside.save_resident(Some("res-01"), &d).unwrap();
    let v = t.bedside.open_resident("res-01").unwrap();
    assert!(v.allergies.iter().any(|a| a.substance == "Amlodipine"));
    let r = row(&mut t, "res-01", "Amlodipine");
    let mut a = DoseAttempt::new(
        Subject::Slot {
            order: OrderId::new(&r.order),
            at: r.slot.parse().unwrap(),
        },
        OutcomeCode::Given,
    );
    a.scans.push(parse_scan(&demo_gtin(3)).unwrap());
    let e = t.bedside.record_dose("res-01", &a, None).unwrap_err();
    assert!(
        e.findings
            .iter()
            .any(|f| f.code == FindingCode::AllergyMatch),
        "{:?}",
        e.findings
    );
}

/// Furosemide 40mg each morning, as copied from a discharge letter.
fn furosemide() -> OrderDraft {
    OrderDraft {
        name: "Furosemide".into(),
        strength: "40mg".into(),
        form: "tablets".into(),
        ingredients: vec!["furosemide".into()],
        dose: Dose::Fixed { qty: Qty::whole(1) },
        unit: "tablet".into(),
        route: Route::Oral,
        times: vec![chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap()],
        prn: None,
        instructions: "In the morning.".into(),
        prescriber: "Dr A Patel, Royal Infirmary".into(),
        start: None,
        end: None,
        course_days: None,
        time_critical: false,
        cd: None,
        patch_site_rest_days: None,
    }
}

/// S16: a resident admitted from hospital has her medicine written up by hand from the
/// discharge letter; it cannot be given until a senior and a second trained person, with
/// their own PIN, have checked it in.
#[test]
fn s16_an_order_written_up_by_hand_is_given_only_after_a_second_persons_check() {
    let mut t = signed_in("st-ben");
    let edith = t
        .bedside
        .save_resident(None, &edith_clarke())
        .unwrap()
        .resident;
    let her = ResidentId::new(&edith);
    t.bedside.sign_in("st-dev", pin("st-dev")).unwrap();
    assert_eq!(
        t.bedside
            .enter_order(&edith, &furosemide())
            .unwrap_err()
            .code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let use_as_directed = OrderDraft {
        times: vec![],
        prescriber: "".into(),
        ..furosemide()
    };
    let e = t.bedside.enter_order(&edith, &use_as_directed).unwrap_err();
    assert_eq!(
        codes(&e),
        [
            FindingCode::OrderDraftInvalid,
            FindingCode::OrderDraftInvalid
        ]
    );
    assert!(t.bedside.store().orders_for(&her).unwrap().is_empty());

    let done = t.bedside.enter_order(&edith, &furosemide()).unwrap();
    assert!(
        done.message
            .starts_with("Furosemide 40mg tablets written up for Edith Clarke."),
        "{}",
        done.message
    );
    let order = t.bedside.store().orders_for(&her).unwrap().remove(0);
    assert_eq!(order.start, monday_morning().date_naive());
    let v = t.bedside.open_resident(&edith).unwrap();
    let row = v
        .doses
        .iter()
        .find(|d| d.order == order.id.as_str())
        .unwrap();
    assert!(row.pending_check_in && row.hand_entered && row.unavailable.is_some());

    // One person alone, or the same person twice, or a wrong PIN, does not check it in.
    let amy = |pin: &str| WitnessPin {
        staff_id: "st-amy".into(),
        pin: pin.into(),
    };
    let e = t
        .bedside
        .check_in_order(&edith, order.id.as_str(), None, &Default::default())
        .unwrap_err();
    assert_eq!(codes(&e), [FindingCode::SecondCheckerNeeded]);
    let himself = WitnessPin {
        staff_id: "st-ben".into(),
        pin: pin("st-ben").into(),
    };
    assert_eq!(
        t.bedside
            .check_in_order(
                &edith,
                order.id.as_str(),
                Some(&himself),
                &Default::default()
            )
            .unwrap_err()
            .code,
        ErrorCode::NotAllowed
    );
    assert_eq!(
        t.bedside
            .check_in_order(
                &edith,
                order.id.as_str(),
                Some(&amy("1111")),
                &Default::default()
            )
            .unwrap_err()
            .code,
        ErrorCode::WrongPin
    );
    assert_eq!(
        t.bedside.store().order(&order.id).unwrap().status,
        OrderStatus::Pending
    );
    t.bedside
        .check_in_order(
            &edith,
            order.id.as_str(),
            Some(&amy(pin("st-amy"))),
            &Default::default(),
        )
        .unwrap();
    let checked = t.bedside.store().order(&order.id).unwrap();
    assert_eq!(checked.status, OrderStatus::Active);
    assert_eq!(
        checked.checked_in_by,
        [StaffId::new("st-ben"), StaffId::new("st-amy")]
    );
    // Typed by hand, it has no pack barcode: the carer confirms the product by tapping it.
    give(&mut t, &edith, "Furosemide", 0, None, false);
}

/// S15: a resident goes to hospital before the morning round and is back at 13:00, and the
/// tablet was off in between, so no window was closed while she was away. Closed after her
/// return, her 08:00 and 12:00 doses are HOSPITAL, not MISSED, and a missed time-critical dose
/// raises no incident for a morning she spent in hospital. The audit trail names who recorded
/// her going and coming back.
#[test]
fn s15_doses_due_while_away_close_as_hospital_even_when_closed_after_the_return() {
    use medround_domain::rules::PresenceChange;
    let mut t = signed_in("st-ben");
    let who = medround_demo::who::PARKINSONS;
    t.bedside
        .set_presence(who, PresenceChange::ToHospital)
        .unwrap();
    t.clock.advance(chrono::Duration::hours(5));
    // The tablet was off: nothing closed the windows of the morning.
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    t.bedside.set_presence(who, PresenceChange::Back).unwrap();
    t.bedside.close_windows().unwrap();
    let closed: Vec<(String, String, OutcomeCode)> = t
        .bedside
        .store()
        .administrations_for(&ResidentId::new(who), None)
        .unwrap()
        .into_iter()
        .filter(|a| a.author.as_str() == "system")
        .map(|a| {
            let (_, at) = a.subject.slot().unwrap();
            (a.id.to_string(), at.format("%H:%M").to_string(), a.outcome)
        })
        .collect();
    // She left at 07:55 and was back at 12:55: what fell between is HOSPITAL; a dose missed
    // before she left stays MISSED.
    for (_, at, outcome) in &closed {
        let away = ("07:55".."12:55").contains(&at.as_str());
        assert_eq!(
            *outcome,
            if away {
                OutcomeCode::Hospital
            } else {
                OutcomeCode::Missed
            },
            "{closed:?}"
        );
    }
    assert!(closed.iter().any(|(_, at, _)| at == "08:00"), "{closed:?}");
    // Incidents only for doses missed in the home, none for a morning in hospital.
    let missed: Vec<&str> = closed
        .iter()
        .filter(|(_, _, o)| *o == OutcomeCode::Missed)
        .map(|(id, _, _)| id.as_str())
        .collect();
    for i in t
        .bedside
        .store()
        .items_of_kind_since("incident", monday_morning() - chrono::Duration::days(1))
        .unwrap()
    {
        if let medround_store::Item::Incident(i) = i {
            assert!(
                i.records.iter().all(|r| missed.contains(&r.as_str())),
                "an incident for a dose due in hospital: {}",
                i.message
            );
        }
    }
    let said = resident_events(&mut t, who);
    // Newest first, as the audit trail lists.
    assert_eq!(said.len(), 2, "{said:?}");
    assert_eq!(said[0].0, "Back from hospital, away since Mon 23 Nov 07:55");
    assert_eq!(said[1].0, "Gone to hospital");
    assert!(said.iter().all(|(_, by)| by == "Ben Okoro"), "{said:?}");
}

/// S8: Edith is admitted at 11:00 and her 08:00 medicine, written up that day and checked in,
/// is not recorded as missed: the slot came before she was in the home. The admission and the
/// change to her details are in her audit trail.
#[test]
fn s08_a_dose_due_before_admission_is_not_missed() {
    let mut t = Tablet::demo(monday_morning() + chrono::Duration::hours(3));
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let edith = t
        .bedside
        .save_resident(None, &edith_clarke())
        .unwrap()
        .resident;
    t.bedside.enter_order(&edith, &furosemide()).unwrap();
    let order = t
        .bedside
        .store()
        .orders_for(&ResidentId::new(&edith))
        .unwrap()
        .remove(0);
    let amy = WitnessPin {
        staff_id: "st-amy".into(),
        pin: pin("st-amy").into(),
    };
    t.bedside
        .check_in_order(&edith, order.id.as_str(), Some(&amy), &Default::default())
        .unwrap();
    t.bedside.close_windows().unwrap();
    assert!(t
        .bedside
        .store()
        .administrations_for(&ResidentId::new(&edith), None)
        .unwrap()
        .is_empty());
    t.clock.advance(chrono::Duration::minutes(10));
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let mut d = edith_clarke();
    d.room = "15".into();
    t.bedside.save_resident(Some(&edith), &d).unwrap();
    assert_eq!(
        t.bedside.save_resident(Some(&edith), &d).unwrap().message,
        "Nothing was changed."
    );
    let kinds: Vec<String> = resident_events(&mut t, &edith)
        .into_iter()
        .map(|(what, _)| what)
        .collect();
    assert_eq!(kinds, ["Details changed: room", "Admitted to the home"]);
}

/// S15: a senior records a resident as discharged. They leave the round and are listed apart;
/// a dose is refused; the minute timer closes nothing for them; their records stay in the
/// audit trail. Readmitted, they are back on the round, locked until reconciled.
#[test]
fn s15_a_discharged_resident_leaves_the_round_and_can_be_readmitted() {
    use medround_domain::rules::PresenceChange;
    let mut t = signed_in("st-ben");
    let who = "res-04";
    let before = t
        .bedside
        .store()
        .administrations_for(&ResidentId::new(who), None)
        .unwrap()
        .len();
    let done = t
        .bedside
        .set_presence(who, PresenceChange::Discharged)
        .unwrap();
    assert!(
        done.message.contains("has left the home"),
        "{}",
        done.message
    );
    let round = t.bedside.round().unwrap();
    assert!(round
        .units
        .iter()
        .all(|u| u.residents.iter().all(|r| r.id != who)));
    let gone = round
        .left
        .iter()
        .find(|r| r.id == who)
        .expect("listed apart");
    assert!(
        gone.away
            .as_deref()
            .is_some_and(|a| a.starts_with("Discharged")),
        "{:?}",
        gone.away
    );
    let v = t.bedside.open_resident(who).unwrap();
    assert!(v.left);
    assert!(v.doses.iter().all(|d| d.unavailable.is_some()));
    t.clock.advance(chrono::Duration::hours(12));
    t.bedside.close_windows().unwrap();
    assert_eq!(
        t.bedside
            .store()
            .administrations_for(&ResidentId::new(who), None)
            .unwrap()
            .len(),
        before,
        "doses were closed for someone who has left"
    );
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    assert_eq!(
        t.bedside
            .set_presence(who, PresenceChange::ToHospital)
            .unwrap_err()
            .code,
        ErrorCode::Blocked
    );
    t.bedside.set_presence(who, PresenceChange::Back).unwrap();
    let card = t
        .bedside
        .round()
        .unwrap()
        .units
        .into_iter()
        .flat_map(|u| u.residents)
        .find(|r| r.id == who)
        .expect("back on the round");
    assert!(card.locked_for_reconciliation);
    let said: Vec<String> = resident_events(&mut t, who)
        .into_iter()
        .map(|(what, _)| what)
        .collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].starts_with("Readmitted to the home, left"),
        "{said:?}"
    );
    assert_eq!(said[1], "Discharged from the home");
}
