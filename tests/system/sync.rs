//! Tablets syncing through a central record held in memory: convergence, the first download of
//! a home, and the merge checks for possible double doses (S18).

use medround_demo::who;
use medround_domain::ResidentId;
use medround_sync::memory::MemoryReplica;
use medround_tests::{double_doses, give, monday_morning, pin, Tablet};

/// The central record and two tablets of Larch House: A built the home, B downloaded it (with
/// the staff's PIN verifiers, so everyone signs in on B with the PIN they use on A).
fn home_with_two_tablets() -> (MemoryReplica, Tablet, Tablet) {
    let mut server = MemoryReplica::new("central");
    let mut a = Tablet::demo(monday_morning());
    server.peer = "tab-a".into();
    a.bedside
        .sync_with(&mut server)
        .expect("A uploads the home");
    let mut b = Tablet::empty(monday_morning());
    server.peer = "tab-b".into();
    b.bedside
        .sync_with(&mut server)
        .expect("B downloads the home");
    a.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    b.bedside.sign_in("st-dev", pin("st-dev")).unwrap();
    (server, a, b)
}

fn sync(t: &mut Tablet, server: &mut MemoryReplica, name: &str) -> medround_bedside::SyncSummary {
    server.peer = name.into();
    t.bedside.sync_with(server).expect("sync")
}

#[test]
fn a_new_tablet_downloads_the_whole_home() {
    let (_server, a, b) = home_with_two_tablets();
    let (sa, sb) = (a.bedside.store(), b.bedside.store());
    assert_eq!(sa.residents().unwrap(), sb.residents().unwrap());
    assert_eq!(sa.all_orders().unwrap(), sb.all_orders().unwrap());
    assert_eq!(sa.record_count().unwrap(), sb.record_count().unwrap());
    assert!(
        sb.record_count().unwrap() > 500,
        "{}",
        sb.record_count().unwrap()
    );
}

#[test]
fn doses_recorded_offline_on_two_tablets_reach_both() {
    let (mut server, mut a, mut b) = home_with_two_tablets();
    let on_a = give(&mut a, who::PARKINSONS, "Amlodipine", 3, None, false);
    let on_b = give(&mut b, who::PARKINSONS, "Furosemide", 0, None, false);
    sync(&mut a, &mut server, "tab-a");
    let got = sync(&mut b, &mut server, "tab-b");
    assert!(got.documents_changed >= 1);
    sync(&mut a, &mut server, "tab-a");
    for t in [&a, &b] {
        assert!(t.bedside.store().item(&on_a).unwrap().is_some());
        assert!(t.bedside.store().item(&on_b).unwrap().is_some());
    }
    // Nothing was doubled: the two stores hold the same records.
    assert_eq!(
        a.bedside.store().record_count().unwrap(),
        b.bedside.store().record_count().unwrap()
    );
    assert!(
        double_doses(&a, who::PARKINSONS).is_empty(),
        "no double dose without one"
    );
}

#[test]
fn s18_the_same_slot_given_on_two_tablets_raises_one_incident_on_both() {
    let (mut server, mut a, mut b) = home_with_two_tablets();
    let first = give(&mut a, who::PARKINSONS, "Amlodipine", 3, None, false);
    let second = give(&mut b, who::PARKINSONS, "Amlodipine", 3, None, false);
    sync(&mut a, &mut server, "tab-a");
    let on_b = sync(&mut b, &mut server, "tab-b");
    assert_eq!(on_b.incidents.len(), 1, "B finds the double dose on merge");
    let on_a = sync(&mut a, &mut server, "tab-a");
    assert!(
        on_a.incidents.is_empty(),
        "A receives B's incident rather than raising another"
    );
    for t in [&a, &b] {
        let found = double_doses(t, who::PARKINSONS);
        assert_eq!(found.len(), 1);
        let mut named = found[0].records.clone();
        named.sort();
        let mut both = vec![first.clone(), second.clone()];
        both.sort();
        assert_eq!(
            named.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            both
        );
        assert!(
            found[0].message.contains("Amy Carter") && found[0].message.contains("Dev Shah"),
            "{}",
            found[0].message
        );
        // Both records stand: nothing was overwritten.
        assert!(t.bedside.store().item(&first).unwrap().is_some());
        assert!(t.bedside.store().item(&second).unwrap().is_some());
    }
}

#[test]
fn s18_prn_paracetamol_on_two_tablets_inside_the_interval_raises_an_incident() {
    let (mut server, mut a, mut b) = home_with_two_tablets();
    give(
        &mut a,
        who::TWO_PARACETAMOLS,
        "Paracetamol",
        1,
        Some(2),
        true,
    );
    give(
        &mut b,
        who::TWO_PARACETAMOLS,
        "Co-codamol",
        2,
        Some(1),
        true,
    );
    sync(&mut a, &mut server, "tab-a");
    let on_b = sync(&mut b, &mut server, "tab-b");
    assert_eq!(on_b.incidents.len(), 1);
    sync(&mut a, &mut server, "tab-a");
    let found = double_doses(&a, who::TWO_PARACETAMOLS);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].message.contains("paracetamol"),
        "{}",
        found[0].message
    );
}

#[test]
fn s19_a_pin_reset_on_one_tablet_unlocks_the_account_on_the_other() {
    let (mut server, mut a, mut b) = home_with_two_tablets();
    let ben = medround_domain::StaffId::new("st-ben");
    for _ in 0..5 {
        let _ = b.bedside.store_mut().check_pin(&ben, "0000").unwrap();
    }
    assert_eq!(
        b.bedside
            .store_mut()
            .check_pin(&ben, pin("st-ben"))
            .unwrap(),
        medround_store::PinCheck::Locked
    );
    // Locked on B only: the count of wrong tries is the device's own.
    assert_eq!(
        a.bedside
            .store_mut()
            .check_pin(&ben, pin("st-ben"))
            .unwrap(),
        medround_store::PinCheck::Ok
    );
    a.bedside
        .store_mut()
        .set_pin(
            &ben,
            "8642",
            Some(&medround_domain::StaffId::new("st-claire")),
            monday_morning(),
        )
        .unwrap();
    sync(&mut a, &mut server, "tab-a");
    sync(&mut b, &mut server, "tab-b");
    assert_eq!(
        b.bedside.store_mut().check_pin(&ben, "8642").unwrap(),
        medround_store::PinCheck::Ok
    );
}

#[test]
fn s19_staff_added_on_one_tablet_sign_in_on_the_other_and_a_leaver_stops_signing_in_there() {
    use medround_ipc::ErrorCode;
    let (mut server, mut a, mut b) = home_with_two_tablets();
    a.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let id = a
        .bedside
        .save_staff(&medround_tests::priya_nair(None, true))
        .unwrap()
        .id;
    a.bedside.reset_pin(&id, "5937").unwrap();
    assert_eq!(
        b.bedside.sign_in(&id, "5937").unwrap_err().code,
        ErrorCode::NotFound,
        "not on B before a sync"
    );
    sync(&mut a, &mut server, "tab-a");
    sync(&mut b, &mut server, "tab-b");
    assert!(b.bedside.home().unwrap().staff.iter().any(|s| s.id == id));
    b.bedside.sign_in(&id, "5937").unwrap();

    a.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    a.bedside
        .save_staff(&medround_tests::priya_nair(Some(id.clone()), false))
        .unwrap();
    sync(&mut a, &mut server, "tab-a");
    sync(&mut b, &mut server, "tab-b");
    assert_eq!(
        b.bedside.sign_in(&id, "5937").unwrap_err().code,
        ErrorCode::NotFound
    );
    assert!(!b.bedside.home().unwrap().staff.iter().any(|s| s.id == id));
}

#[test]
fn resident_details_edited_on_two_tablets_merge_field_by_field() {
    let (mut server, mut a, mut b) = home_with_two_tablets();
    let id = ResidentId::new(who::PARKINSONS);
    let mut on_a = a.bedside.store().resident(&id).unwrap();
    on_a.preferred_name = Some("Bobby".into());
    a.bedside
        .store_mut()
        .put_resident(&on_a, monday_morning())
        .unwrap();
    let mut on_b = b.bedside.store().resident(&id).unwrap();
    on_b.room = "14B".into();
    b.bedside
        .store_mut()
        .put_resident(&on_b, monday_morning())
        .unwrap();
    sync(&mut a, &mut server, "tab-a");
    sync(&mut b, &mut server, "tab-b");
    sync(&mut a, &mut server, "tab-a");
    for t in [&a, &b] {
        let r = t.bedside.store().resident(&id).unwrap();
        assert_eq!(r.preferred_name.as_deref(), Some("Bobby"), "A's edit kept");
        assert_eq!(r.room, "14B", "B's edit kept");
    }
}

#[test]
fn an_incident_acknowledged_on_one_tablet_is_closed_on_the_other_and_a_cd_count_travels() {
    let (mut server, mut a, mut b) = home_with_two_tablets();
    // On A, a CD count that disagrees opens an incident (S7).
    a.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let morphine = a
        .bedside
        .store()
        .orders_for(&ResidentId::new(who::MORPHINE))
        .unwrap()
        .into_iter()
        .find(|o| o.cd.is_some())
        .unwrap();
    let balance = a.bedside.store().cd_balance(&morphine.id).unwrap();
    let witness = medround_ipc::WitnessPin {
        staff_id: "st-claire".into(),
        pin: pin("st-claire").into(),
    };
    a.bedside
        .cd_stock_check(
            morphine.id.as_str(),
            balance - medround_domain::qty::Qty::whole(1),
            &witness,
        )
        .unwrap();
    sync(&mut a, &mut server, "tab-a");
    sync(&mut b, &mut server, "tab-b");
    b.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let open = b.bedside.round().unwrap().open_incidents;
    let inc = b
        .bedside
        .review(None, None)
        .unwrap()
        .incidents
        .into_iter()
        .find(|i| i.kind == medround_domain::incident::IncidentKind::CdCountDiscrepancy)
        .expect("the incident reached B");
    // The manager acknowledges it on B; A sees it closed after its next sync.
    b.bedside
        .acknowledge_incident(
            &inc.id,
            "Recounted with the pharmacist: a spillage, destroyed and recorded",
        )
        .unwrap();
    assert_eq!(b.bedside.round().unwrap().open_incidents, open - 1);
    sync(&mut b, &mut server, "tab-b");
    sync(&mut a, &mut server, "tab-a");
    let on_a = a.bedside.review(None, None).unwrap();
    let same = on_a.incidents.iter().find(|i| i.id == inc.id).unwrap();
    assert!(!same.open);
    assert!(same.acknowledgements[0].contains("spillage"));
    assert_eq!(a.bedside.round().unwrap().open_incidents, open - 1);
    // The register on both tablets holds the count, and the balances agree.
    assert_eq!(
        a.bedside.store().cd_balance(&morphine.id).unwrap(),
        b.bedside.store().cd_balance(&morphine.id).unwrap()
    );
}

/// The store keeps each resident's orders decoded for the next dose; an order stopped on
/// another tablet must still reach the rules at the first dose after the sync (S5).
#[test]
fn s05_an_order_stopped_on_one_tablet_is_refused_on_the_other_after_sync() {
    use medround_domain::finding::FindingCode;
    use medround_domain::order::OrderStatus;
    use medround_domain::outcome::OutcomeCode;
    use medround_domain::record::Subject;
    use medround_domain::rules::DoseAttempt;
    use medround_domain::OrderId;
    let (mut server, mut a, mut b) = home_with_two_tablets();
    // B reads the chart (and so the orders) before the order is stopped.
    let r = medround_tests::row(&mut b, who::PARKINSONS, "Amlodipine");
    let mut attempt = DoseAttempt::new(
        Subject::Slot {
            order: OrderId::new(&r.order),
            at: r.slot.parse().unwrap(),
        },
        OutcomeCode::Given,
    );
    attempt.product_tapped = true;
    assert!(
        b.bedside
            .assess(who::PARKINSONS, &attempt)
            .unwrap()
            .blocks()
            .next()
            .is_none(),
        "the dose may be given before the order is stopped"
    );
    let mut order = a.bedside.store().order(&OrderId::new(&r.order)).unwrap();
    order.status = OrderStatus::Discontinued {
        at: monday_morning(),
        reason: "Stopped by the GP".into(),
    };
    a.bedside
        .store_mut()
        .put_order(&order, monday_morning())
        .unwrap();
    sync(&mut a, &mut server, "tab-a");
    sync(&mut b, &mut server, "tab-b");
    let refused = b
        .bedside
        .record_dose(who::PARKINSONS, &attempt, None)
        .expect_err("a stopped order cannot be given");
    assert!(
        refused
            .findings
            .iter()
            .any(|f| f.code == FindingCode::OrderNotActive),
        "{:?}",
        refused.findings
    );
}

/// S1: the same person admitted on two tablets while they were apart makes two charts with one
/// NHS number. Both stay (nothing is merged silently), and after the sync one "two charts for
/// one person" incident, the same on both tablets, names both charts.
#[test]
fn s01_the_same_person_admitted_on_two_tablets_apart_raises_one_duplicate_chart_incident() {
    use medround_domain::incident::IncidentKind;
    let (mut server, mut a, mut b) = home_with_two_tablets();
    for t in [&mut a, &mut b] {
        t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    }
    let on_a = a
        .bedside
        .save_resident(None, &medround_tests::edith_clarke())
        .unwrap()
        .resident;
    let mut in_willow = medround_tests::edith_clarke();
    in_willow.unit = medround_domain::UnitId::new("willow");
    in_willow.room = "W3".into();
    let on_b = b.bedside.save_resident(None, &in_willow).unwrap().resident;
    sync(&mut a, &mut server, "tab-a");
    let found = sync(&mut b, &mut server, "tab-b");
    assert_eq!(found.incidents.len(), 1, "{found:?}");
    sync(&mut a, &mut server, "tab-a");
    let incident = |t: &Tablet| {
        t.bedside
            .store()
            .items_of_kind_since("incident", monday_morning() - chrono::Duration::days(1))
            .unwrap()
            .into_iter()
            .filter_map(|i| match i {
                medround_store::Item::Incident(i) if i.kind == IncidentKind::DuplicateChart => {
                    Some(i)
                }
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let (on_a_incidents, on_b_incidents) = (incident(&a), incident(&b));
    assert_eq!(on_a_incidents.len(), 1);
    assert_eq!(on_a_incidents, on_b_incidents);
    let message = &on_a_incidents[0].message;
    assert!(
        message.contains("room 14, Rowan") && message.contains("room W3, Willow"),
        "{message}"
    );
    assert!(message.contains("943 476 5919"), "{message}");
    // Both charts are still there, on both tablets.
    for t in [&a, &b] {
        for id in [&on_a, &on_b] {
            assert!(t.bedside.store().resident(&ResidentId::new(id)).is_ok());
        }
    }
}
