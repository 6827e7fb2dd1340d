//! The manager's review over a generated month, incidents raised and acknowledged, and the
//! audit trail, through the same service the app calls.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use medround_bedside::{Bedside, FakeClock};
use medround_demo::{who, HomeSpec};
use medround_domain::incident::IncidentKind;
use medround_domain::order::OrderStatus;
use medround_domain::outcome::OutcomeCode;
use medround_domain::record::{Administration, Subject};
use medround_domain::schedule::{local_to_utc, slots_between, window, HOME_TZ};
use medround_domain::RecordId;
use medround_ipc::{Counts, ErrorCode};
use medround_store::Item;
use medround_tests::{monday_morning, pin, Tablet};
use std::collections::HashSet;

/// Counts by outcome, the plain way: every slot of every order in the period, and for each,
/// the records of that slot read back whole from the store (not the review's columns).
fn recount(b: &Bedside, from: NaiveDate, to: NaiveDate, now: DateTime<Utc>) -> Counts {
    let store = b.store();
    let start = local_to_utc(HOME_TZ, from.and_hms_opt(0, 0, 0).unwrap());
    let end = local_to_utc(
        HOME_TZ,
        (to + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap(),
    );
    let mut c = Counts::default();
    for r in store.residents().unwrap() {
        let records: Vec<Administration> = store
            .items_for(&r.id, None)
            .unwrap()
            .into_iter()
            .filter_map(|i| match i {
                Item::Administration(a) => Some(a),
                _ => None,
            })
            .collect();
        let voided: HashSet<RecordId> = records.iter().filter_map(|a| a.voids.clone()).collect();
        for o in store.orders_for(&r.id).unwrap() {
            if o.status == OrderStatus::Pending {
                continue;
            }
            for at in slots_between(&o, start, end.min(now), HOME_TZ) {
                let mine: Vec<&Administration> = records
                    .iter()
                    .filter(|a| {
                        a.subject
                            == Subject::Slot {
                                order: o.id.clone(),
                                at,
                            }
                    })
                    .filter(|a| a.voids.is_none() && !voided.contains(&a.id))
                    .collect();
                let staff = mine
                    .iter()
                    .filter(|a| a.outcome != OutcomeCode::Missed)
                    .max_by_key(|a| a.recorded_at);
                let stands = staff.or(mine.first());
                let closed = window(&o, at, HOME_TZ).closes <= now;
                match stands.map(|a| (a.outcome, a.late_reason.is_some())) {
                    None if closed => c.missed += 1,
                    None => c.open += 1,
                    Some((OutcomeCode::Given | OutcomeCode::SelfAdministered, true)) => {
                        c.late += 1;
                        if o.time_critical {
                            c.time_critical_late += 1;
                        }
                    }
                    Some((OutcomeCode::Given | OutcomeCode::SelfAdministered, false)) => {
                        c.on_time += 1
                    }
                    Some((OutcomeCode::Missed, _)) => c.missed += 1,
                    Some((OutcomeCode::Refused, _)) => c.refused += 1,
                    Some((OutcomeCode::Withheld, _)) => c.withheld += 1,
                    Some((OutcomeCode::Hospital | OutcomeCode::Leave, _)) => c.away += 1,
                    Some(_) => c.not_given += 1,
                }
            }
        }
    }
    c
}

fn manager(b: &mut Bedside) {
    b.sign_in("st-claire", pin("st-claire"))
        .expect("manager signs in");
}

#[test]
fn the_review_of_a_generated_month_matches_a_recount_of_the_raw_records() {
    let now = monday_morning();
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::at(now);
    let mut b = Bedside::open(
        &dir.path().join("data/db"),
        &dir.path().join("keys/key"),
        Box::new(clock.clone()),
    )
    .unwrap();
    let spec = HomeSpec {
        name: "Review Home".into(),
        residents: 60,
        history_days: 35,
        seed: 5,
        now,
    };
    medround_demo::build(b.store_mut(), &spec).unwrap();
    b.close_windows().unwrap();
    manager(&mut b);
    // Corrections: three given doses were entered in error, one replaced by a refusal (S9).
    let given: Vec<Administration> = b
        .store()
        .administrations_since(now - Duration::days(10))
        .unwrap()
        .into_iter()
        .filter(|a| a.outcome == OutcomeCode::Given && matches!(a.subject, Subject::Slot { .. }))
        .take(3)
        .collect();
    assert_eq!(given.len(), 3);
    for g in &given {
        b.correct(
            g.resident.as_str(),
            g.id.as_str(),
            "Recorded against the wrong slot",
            None,
        )
        .unwrap();
    }

    let today = now.with_timezone(&HOME_TZ).date_naive();
    let from = today - Duration::days(27);
    let v = b.review(None, None).unwrap();
    assert_eq!(
        (v.from.as_str(), v.to.as_str()),
        (from.to_string().as_str(), today.to_string().as_str())
    );
    let want = recount(&b, from, today, now);
    assert_eq!(v.totals, want);
    // The generator made every kind of outcome the review counts.
    for n in [
        want.on_time,
        want.late,
        want.missed,
        want.refused,
        want.withheld,
        want.not_given,
        want.away,
    ] {
        assert!(n > 0, "{want:?}");
    }
    // The groups add up to the totals, and the days to the period.
    let sum = |rows: &[medround_ipc::CountRow]| rows.iter().map(|r| r.counts.total()).sum::<u32>();
    assert_eq!(sum(&v.by_unit), want.total());
    assert_eq!(sum(&v.by_resident), want.total());
    assert_eq!(sum(&v.by_medicine), want.total());
    assert_eq!(sum(&v.by_day), want.total());
    assert_eq!(v.by_day.len(), 28);
    assert_eq!(v.by_resident.len(), 60);
    assert_eq!(v.exceptions.len() as u32, want.exceptions());
    // Staff are counted for what they recorded; the system's MISSED belongs to nobody.
    assert_eq!(sum(&v.by_staff), want.total() - want.missed - want.open);

    // A week in the middle, counted the same way.
    let (f, t) = (from + Duration::days(7), from + Duration::days(13));
    let w = b
        .review(Some(&f.to_string()), Some(&t.to_string()))
        .unwrap();
    assert_eq!(w.totals, recount(&b, f, t, now));
    assert_eq!(w.by_day.len(), 7);
}

#[test]
fn a_bad_period_is_refused_with_a_clear_message() {
    let mut t = Tablet::demo(monday_morning());
    manager(&mut t.bedside);
    for (from, to, says) in [
        (Some("2026-11-30"), Some("2026-11-01"), "comes after"),
        (Some("yesterday"), None, "not a date"),
        (Some("2026-01-01"), Some("2026-11-01"), "at most"),
    ] {
        let e = t.bedside.review(from, to).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        assert!(e.message.contains(says), "{}", e.message);
    }
}

#[test]
fn s19_carers_do_not_see_the_review_and_an_auditor_reads_but_does_not_act() {
    let mut t = Tablet::demo(monday_morning());
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    assert_eq!(
        t.bedside.review(None, None).unwrap_err().code,
        ErrorCode::NotAllowed
    );
    assert_eq!(
        t.bedside
            .audit(who::PARKINSONS, None, None)
            .unwrap_err()
            .code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-ines", pin("st-ines")).unwrap();
    let v = t.bedside.review(None, None).unwrap();
    assert!(!v.may_acknowledge);
    assert!(!t
        .bedside
        .audit(who::PARKINSONS, None, None)
        .unwrap()
        .rows
        .is_empty());
}

#[test]
fn incidents_are_raised_acknowledged_with_a_note_and_never_disappear() {
    let mut t = Tablet::demo(monday_morning());
    // The 08:00 time-critical dose of the Parkinson's resident is never given: by 11:00 its
    // window has closed, and the minute timer raises an incident (S8 with S3).
    t.clock.set("2026-11-23T11:00:00Z".parse().unwrap());
    t.bedside.close_windows().unwrap();
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let before = t.bedside.round().unwrap().open_incidents;
    assert!(before >= 1);
    let v = t.bedside.review(None, None).unwrap();
    let inc = v
        .incidents
        .iter()
        .find(|i| i.kind == IncidentKind::MissedTimeCritical && i.resident == who::PARKINSONS)
        .expect("missed time-critical incident")
        .clone();
    assert!(inc.open);
    assert_eq!(inc.rule, "S8");
    assert_eq!(v.open_incidents, before);
    // The missed time-critical dose is in the exceptions, marked.
    assert!(v.exceptions.iter().any(|x| x.resident == who::PARKINSONS
        && x.time_critical
        && x.outcome == Some(OutcomeCode::Missed)));

    // A carer may not acknowledge; a senior must say what was done.
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    assert_eq!(
        t.bedside
            .acknowledge_incident(&inc.id, "Seen")
            .unwrap_err()
            .code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let e = t.bedside.acknowledge_incident(&inc.id, "   ").unwrap_err();
    assert_eq!(e.code, ErrorCode::Blocked);
    assert_eq!(
        t.bedside
            .acknowledge_incident("inc-nonesuch", "Seen")
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    t.bedside
        .acknowledge_incident(&inc.id, "Given at 11:05; GP told; observations every hour")
        .unwrap();
    assert_eq!(
        t.bedside
            .acknowledge_incident(&inc.id, "again")
            .unwrap_err()
            .code,
        ErrorCode::Blocked
    );
    assert_eq!(t.bedside.round().unwrap().open_incidents, before - 1);

    // Still there, closed, with the note; and after a restart.
    let mut t = t.restart();
    t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let v = t.bedside.review(None, None).unwrap();
    let same = v.incidents.iter().find(|i| i.id == inc.id).unwrap();
    assert!(!same.open);
    assert!(same.acknowledgements[0].starts_with("Ben Okoro"));
    assert!(same.acknowledgements[0].ends_with("observations every hour"));
    // The audit trail shows the MISSED record, the incident and the acknowledgement, with who
    // and on which device.
    let audit = t.bedside.audit(who::PARKINSONS, None, None).unwrap();
    let kinds: Vec<&str> = audit.rows.iter().map(|r| r.kind.as_str()).collect();
    assert!(
        kinds.contains(&"Incident") && kinds.contains(&"Acknowledgement"),
        "{kinds:?}"
    );
    let ack = audit
        .rows
        .iter()
        .find(|r| r.kind == "Acknowledgement")
        .unwrap();
    assert_eq!(ack.by, "Ben Okoro");
    // A tablet not enrolled with a central record has no name of its own.
    assert_eq!(ack.device, "This tablet");
    assert_eq!(same.device, "This tablet");
    assert!(audit
        .rows
        .iter()
        .any(|r| r.kind == "Dose" && r.summary.contains("MISSED") && r.by.starts_with("Medround")));
}
