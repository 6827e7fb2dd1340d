//! Stock (S14), the controlled-drugs register and its stock checks (S7), the reorder list, and
//! outstanding PRN follow-ups, through the same service the app calls.

use chrono::Duration;
use medround_demo::who;
use medround_domain::incident::IncidentKind;
use medround_domain::qty::Qty;
use medround_ipc::{ErrorCode, StockRow, WitnessPin};
use medround_tests::{give, monday_morning, pin, Tablet};

fn senior() -> Tablet {
    let mut t = Tablet::demo(monday_morning());
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    t
}

fn witness(staff: &str) -> WitnessPin {
    WitnessPin {
        staff_id: staff.into(),
        pin: pin(staff).into(),
    }
}

fn row(t: &mut Tablet, resident: &str, medicine: &str) -> StockRow {
    t.bedside
        .stock()
        .unwrap()
        .rows
        .into_iter()
        .find(|r| r.resident == resident && r.medicine.starts_with(medicine))
        .unwrap_or_else(|| panic!("no stock row for {medicine}"))
}

#[test]
fn s14_a_dose_takes_from_stock_and_a_delivery_adds_to_it_corrected_by_a_count() {
    let mut t = senior();
    let before = row(&mut t, who::PARKINSONS, "Amlodipine");
    let dose = give(&mut t, who::PARKINSONS, "Amlodipine", 3, None, false);
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let after = row(&mut t, who::PARKINSONS, "Amlodipine");
    assert_eq!(after.level, before.level - Qty::whole(1));
    // The dose is its own stock record, and the audit trail's row for it says what it took.
    let audit = t.bedside.audit(who::PARKINSONS, None, None).unwrap();
    let row_of_dose = audit
        .rows
        .iter()
        .find(|r| r.id == dose)
        .expect("the dose in the audit trail");
    assert!(
        row_of_dose.summary.contains("1 from stock"),
        "{}",
        row_of_dose.summary
    );

    let e = t
        .bedside
        .book_delivery(&after.order, Qty::ZERO, None, "", None)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::BadInput);
    t.bedside
        .book_delivery(
            &after.order,
            Qty::whole(28),
            None,
            "Larchfield Pharmacy",
            None,
        )
        .unwrap();
    assert_eq!(
        row(&mut t, who::PARKINSONS, "Amlodipine").level,
        after.level + Qty::whole(28)
    );
    // Put away and counted: two fewer on the shelf than the records say. The count wins.
    let level = row(&mut t, who::PARKINSONS, "Amlodipine").level;
    t.bedside
        .book_delivery(
            &after.order,
            Qty::whole(10),
            Some(level + Qty::whole(8)),
            "",
            None,
        )
        .unwrap();
    assert_eq!(
        row(&mut t, who::PARKINSONS, "Amlodipine").level,
        level + Qty::whole(8)
    );

    // A carer does not book in stock.
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    assert_eq!(
        t.bedside
            .book_delivery(&after.order, Qty::whole(1), None, "", None)
            .unwrap_err()
            .code,
        ErrorCode::NotAllowed
    );
}

#[test]
fn s07_a_cd_delivery_needs_a_witness_and_enters_the_register_with_its_balance() {
    let mut t = senior();
    let m = row(&mut t, who::MORPHINE, "Morphine");
    assert!(m.cd);
    let balance = m.cd_balance.unwrap();
    let e = t
        .bedside
        .book_delivery(&m.order, Qty::whole(100), None, "Pharmacy", None)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Blocked);
    let e = t
        .bedside
        .book_delivery(
            &m.order,
            Qty::whole(100),
            None,
            "Pharmacy",
            Some(&witness("st-ben")),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed, "{}", e.message);
    t.bedside
        .book_delivery(
            &m.order,
            Qty::whole(100),
            None,
            "Larchfield Pharmacy",
            Some(&witness("st-claire")),
        )
        .unwrap();
    let reg = t.bedside.cd_register(&m.order).unwrap();
    assert_eq!(reg.balance, balance + Qty::whole(100));
    let last = reg.rows.last().unwrap();
    assert!(
        last.movement
            .contains("Received 100 ml from Larchfield Pharmacy"),
        "{}",
        last.movement
    );
    assert_eq!(
        (last.by.as_str(), last.witness.as_str()),
        ("Ben Okoro", "Claire Manning")
    );
    assert_eq!(last.balance, reg.balance);
    assert_eq!(
        row(&mut t, who::MORPHINE, "Morphine").cd_balance,
        Some(reg.balance)
    );
}

#[test]
fn s07_a_stock_check_that_agrees_is_recorded_and_one_that_disagrees_opens_an_incident() {
    let mut t = senior();
    let m = row(&mut t, who::MORPHINE, "Morphine");
    let balance = m.cd_balance.unwrap();
    let before = t.bedside.round().unwrap().open_incidents;
    let ok = t
        .bedside
        .cd_stock_check(&m.order, balance, &witness("st-claire"))
        .unwrap();
    assert!(ok.message.contains("agrees"), "{}", ok.message);
    assert_eq!(t.bedside.round().unwrap().open_incidents, before);
    let bad = t
        .bedside
        .cd_stock_check(&m.order, balance - Qty::whole(5), &witness("st-claire"))
        .unwrap();
    assert!(bad.message.contains("incident"), "{}", bad.message);
    assert_eq!(t.bedside.round().unwrap().open_incidents, before + 1);
    let v = t.bedside.review(None, None).unwrap();
    let inc = v
        .incidents
        .iter()
        .find(|i| i.kind == IncidentKind::CdCountDiscrepancy)
        .expect("count discrepancy incident");
    assert!(inc.open && inc.rule == "S7", "{inc:?}");
    // A count changes nothing: the balance stands until the discrepancy is investigated.
    let reg = t.bedside.cd_register(&m.order).unwrap();
    assert_eq!(reg.balance, balance);
    assert_eq!(
        reg.rows
            .iter()
            .filter(|r| r.movement.starts_with("Stock check"))
            .count(),
        2
    );
    // A stock check of something that is not a CD, or without a proper witness, is refused.
    let aml = row(&mut t, who::PARKINSONS, "Amlodipine");
    assert_eq!(
        t.bedside
            .cd_stock_check(&aml.order, Qty::whole(1), &witness("st-claire"))
            .unwrap_err()
            .code,
        ErrorCode::BadInput
    );
    let wrong = WitnessPin {
        staff_id: "st-claire".into(),
        pin: "0000".into(),
    };
    assert_eq!(
        t.bedside
            .cd_stock_check(&m.order, balance, &wrong)
            .unwrap_err()
            .code,
        ErrorCode::WrongPin
    );
}

#[test]
fn s14_the_reorder_list_is_csv_for_the_next_cycle_with_every_low_order_on_it() {
    let mut t = senior();
    let v = t.bedside.stock().unwrap();
    assert!(v.rows.iter().all(|r| !r.reorder.is_negative()));
    let (name, csv) = t.bedside.reorder_csv().unwrap();
    assert!(name.starts_with("reorder-") && name.ends_with(".csv"));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "resident,nhs_number,room,medicine,dmd_code,unit,in_stock,per_day,quantity_to_order"
    );
    let body: Vec<&str> = lines.collect();
    let to_order: Vec<&StockRow> = v.rows.iter().filter(|r| r.reorder.is_positive()).collect();
    assert_eq!(body.len(), to_order.len());
    assert!(
        !body.is_empty(),
        "the demo's stock was booked for one cycle and runs low"
    );
    // Every line has nine fields and ends with the quantity the screen shows.
    for (line, r) in body.iter().zip(&to_order) {
        assert!(line.ends_with(&format!(",{}", r.reorder)), "{line}");
    }
    // Paracetamol has a real dm+d code, which the pharmacy's system reads.
    assert!(csv.contains("322236009"), "{csv}");
}

#[test]
fn prn_follow_ups_outstanding_are_listed_for_the_senior_until_the_carer_records_them() {
    let mut t = Tablet::demo(monday_morning());
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    let rec = give(
        &mut t,
        who::TWO_PARACETAMOLS,
        "Paracetamol",
        1,
        Some(2),
        true,
    );
    t.clock.advance(Duration::minutes(70));
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let v = t.bedside.review(None, None).unwrap();
    let f = v
        .follow_ups
        .iter()
        .find(|f| f.administration == rec)
        .expect("follow-up listed");
    assert!(f.due && f.medicine.starts_with("Paracetamol"));
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    t.bedside
        .follow_up(who::TWO_PARACETAMOLS, &rec, true, Some("Pain eased".into()))
        .unwrap();
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let v = t.bedside.review(None, None).unwrap();
    assert!(v.follow_ups.iter().all(|f| f.administration != rec));
}
