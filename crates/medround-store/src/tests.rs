use super::*;
use crate::records::{
    ADMINISTRATIONS_SINCE_SQL, COUNT_KIND_SQL, DOSE_FACTS_SQL, HOMELY_SQL, INCIDENTS_SQL,
    ITEMS_OF_KIND_SINCE_SQL, OPEN_INCIDENTS_SQL, SLOT_FACTS_SQL, STOCK_LEVELS_SQL,
    WHEN_REQUIRED_SINCE_SQL,
};
use automerge::{ReadDoc, ROOT};
use chrono::NaiveTime;
use medround_domain::fact::DoseFact;
use medround_domain::incident::{Incident, IncidentAck};
use medround_domain::medicine::{Ingredient, Medicine};
use medround_domain::order::*;
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::Subject;
use medround_domain::resident::{Allergy, Presence};
use medround_domain::schedule::HOME_TZ;
use medround_domain::staff::Role;
use medround_domain::staff::Staff;
use medround_domain::UnitId;
use medround_domain::{OrderId, RecordId, StaffId};

fn now() -> DateTime<Utc> {
    "2026-11-20T08:00:00Z".parse().unwrap()
}

fn open(dir: &tempfile::TempDir) -> (Store, Key) {
    let key = Key::generate();
    (
        Store::open(&dir.path().join("medround.db"), &key).unwrap(),
        key,
    )
}

fn resident(id: &str, name: &str) -> Resident {
    Resident {
        id: ResidentId::new(id),
        unit: UnitId::new("rowan"),
        room: "4".into(),
        given_name: name.into(),
        family_name: "Ashworth".into(),
        preferred_name: None,
        date_of_birth: NaiveDate::from_ymd_opt(1938, 5, 1).unwrap(),
        nhs_number: "9434765919".into(),
        photo: None,
        allergies: vec![Allergy {
            substance: "penicillin".into(),
            reaction: "rash".into(),
        }],
        presence: Presence::Present,
        reconciliation_pending: false,
        covert_plan: None,
    }
}

fn order(id: &str, resident: &str) -> Order {
    Order {
        id: OrderId::new(id),
        resident: ResidentId::new(resident),
        medicine: Medicine {
            name: "Amlodipine".into(),
            strength: "5mg".into(),
            form: "tablets".into(),
            dmd: None,
            excipients: vec![],
            gtins: vec![],
            ingredients: vec![Ingredient {
                substance: "amlodipine".into(),
                mg_per_unit: None,
            }],
        },
        dose: Dose::Fixed { qty: Qty::whole(1) },
        unit: "tablet".into(),
        route: Route::Oral,
        schedule: Schedule::Daily {
            times: vec![NaiveTime::from_hms_opt(8, 0, 0).unwrap()],
        },
        instructions: String::new(),
        prescriber: "Dr Okafor".into(),
        start: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        end: None,
        status: OrderStatus::Active,
        source: OrderSource::Pharmacy,
        checked_in_by: vec![],
        cd: None,
        time_critical: false,
        covert_allowed: false,
        both_intended: None,
        replaces: None,
        slots_after: None,
        application: Application::Standard,
        prn: None,
    }
}

fn admin(id: &str, resident: &str, at: &str) -> Administration {
    let t: DateTime<Utc> = at.parse().unwrap();
    Administration {
        id: RecordId::new(id),
        resident: ResidentId::new(resident),
        subject: Subject::Slot {
            order: OrderId::new("o1"),
            at: t,
        },
        outcome: OutcomeCode::Given,
        quantity: Some(Qty::whole(1)),
        note: None,
        occurred_at: t,
        recorded_at: t,
        late_reason: None,
        retrospective_reason: None,
        author: StaffId::new("c1"),
        device: DeviceId::new("tab"),
        witness: None,
        product: None,
        scans: vec![],
        covert: false,
        site: None,
        prn_reason: None,
        allergy_override: None,
        acknowledged: vec![],
        voids: None,
        from_stock: None,
    }
}

fn fill(s: &mut Store) {
    s.put_home_name("Larch House", now()).unwrap();
    s.put_unit(
        &Unit {
            id: UnitId::new("rowan"),
            name: "Rowan".into(),
        },
        now(),
    )
    .unwrap();
    s.put_staff(
        &Staff {
            id: StaffId::new("c1"),
            name: "Amy Carer".into(),
            initials: "AC".into(),
            role: Role::Carer,
            medication_trained: true,
            homely_authorised: false,
            active: true,
        },
        None,
        now(),
    )
    .unwrap();
    s.put_resident(&resident("r1", "Winifred"), now()).unwrap();
    s.put_order(&order("o1", "r1"), now()).unwrap();
    for (i, d) in ["2026-11-18", "2026-11-19", "2026-11-20"]
        .iter()
        .enumerate()
    {
        let at = format!("{d}T08:00:00Z");
        s.append(
            &ResidentId::new("r1"),
            at.parse().unwrap(),
            &[Item::Administration(admin(&format!("a{i}"), "r1", &at))],
        )
        .unwrap();
    }
}

/// One value from the store's database, for tests that look underneath the API.
fn one<T: rusqlite::types::FromSql>(s: &Store, sql: &str, p: impl rusqlite::Params) -> T {
    s.conn.query_row(sql, p, |r| r.get(0)).unwrap()
}

fn dump(s: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for t in [
        "p_home",
        "p_staff",
        "p_remedies",
        "p_residents",
        "p_orders",
        "p_records",
    ] {
        let mut st = s
            .conn
            .prepare(&format!("SELECT * FROM {t} ORDER BY 1"))
            .unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                let cols: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{t}: {}", cols.join(" | ")))
            })
            .unwrap();
        out.extend(rows.map(|r| r.unwrap()));
    }
    out
}

#[test]
fn migrations_apply_in_order_and_give_the_expected_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    assert_eq!(migrate::current(&s.conn).unwrap(), migrate::latest());
    let mut st = s
        .conn
        .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    let schema: Vec<String> = st
        .query_map([], |r| {
            Ok(format!(
                "{} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        schema,
        [
            "index doc_chunks_doc",
            "index p_orders_resident",
            "index p_records_homely",
            "index p_records_order",
            "index p_records_refers",
            "index p_records_resident",
            "table doc_chunks",
            "table local_dirty",
            "table local_meta",
            "table local_pins",
            "table local_sync",
            "table local_sync_state",
            "table p_home",
            "table p_orders",
            "table p_pins",
            "table p_records",
            "table p_remedies",
            "table p_residents",
            "table p_staff",
        ]
    );
    // The homely-remedy question (S17) is answered from its partial index.
    let plan: Vec<String> = s
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {HOMELY_SQL}"))
        .unwrap()
        .query_map(["r1", "2026-11-01"], |r| r.get::<_, String>(3))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        plan.iter().any(|p| p.contains("p_records_homely")),
        "{plan:?}"
    );
    // Numbered files, strictly increasing, one per version.
    for (i, (v, name, _)) in migrate::MIGRATIONS.iter().enumerate() {
        assert_eq!(*v, i as i64 + 1);
        assert!(name.starts_with(&format!("{v:04}_")));
    }
}

#[test]
fn an_older_app_refuses_a_newer_database() {
    let dir = tempfile::tempdir().unwrap();
    let (s, key) = open(&dir);
    s.conn
        .pragma_update(None, "user_version", migrate::latest() + 1)
        .unwrap();
    drop(s);
    let err = Store::open(&dir.path().join("medround.db"), &key).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("newer version"));
}

#[test]
fn file_is_encrypted_and_the_key_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = open(&dir);
    fill(&mut s);
    s.conn
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    drop(s);
    let bytes = std::fs::read(dir.path().join("medround.db")).unwrap();
    assert!(bytes.len() > 4096);
    assert!(!bytes.starts_with(b"SQLite format 3"));
    let hay = String::from_utf8_lossy(&bytes);
    assert!(!hay.contains("Winifred"), "resident's name found in clear");
    assert!(!hay.contains("Amlodipine"));
    // The key is not in the file.
    assert!(!hay.contains(&key.to_hex()));
    let err = Store::open(&dir.path().join("medround.db"), &Key::generate()).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey));
    let s = Store::open(&dir.path().join("medround.db"), &key).unwrap();
    assert_eq!(
        s.resident(&ResidentId::new("r1")).unwrap().given_name,
        "Winifred"
    );
}

#[test]
fn key_file_round_trips_and_bad_key_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("keys/medround.key");
    let k = Key::load_or_create(&p).unwrap();
    assert_eq!(Key::load_or_create(&p).unwrap(), k);
    std::fs::write(&p, "not a key").unwrap();
    assert!(matches!(
        Key::load_or_create(&p),
        Err(StoreError::BadKeyFile)
    ));
}

#[test]
fn projections_rebuild_from_documents_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let before = dump(&s);
    assert!(before.len() > 6);
    s.rebuild_projections().unwrap();
    assert_eq!(dump(&s), before);
    // Also from a fresh process's point of view: compacted documents give the same answer.
    for id in s.document_ids().unwrap() {
        s.compact(&id).unwrap();
    }
    s.rebuild_projections().unwrap();
    assert_eq!(dump(&s), before);
}

#[test]
fn s09_records_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let mut again = admin("a0", "r1", "2026-11-20T08:00:00Z");
    again.outcome = OutcomeCode::Refused;
    let err = s
        .append(
            &ResidentId::new("r1"),
            now(),
            &[Item::Administration(again)],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)));
    let a = s.administrations_for(&ResidentId::new("r1"), None).unwrap();
    assert_eq!(
        a.iter().find(|r| r.id.as_str() == "a0").unwrap().outcome,
        OutcomeCode::Given
    );
}

#[test]
fn everything_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = open(&dir);
    fill(&mut s);
    let before = dump(&s);
    let device = s.device().clone();
    drop(s);
    let s = Store::open(&dir.path().join("medround.db"), &key).unwrap();
    assert_eq!(dump(&s), before);
    assert_eq!(s.device(), &device);
    assert_eq!(
        s.administrations_for(&ResidentId::new("r1"), None)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn resident_edits_write_only_changed_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let chunks = |s: &Store| -> i64 { one(s, "SELECT count(*) FROM doc_chunks", []) };
    let n = chunks(&s);
    s.put_resident(&resident("r1", "Winifred"), now()).unwrap();
    assert_eq!(chunks(&s), n, "an unchanged resident writes nothing");
    let mut r = resident("r1", "Winifred");
    r.preferred_name = Some("Winnie".into());
    s.put_resident(&r, now()).unwrap();
    assert_eq!(chunks(&s), n + 1);
    assert_eq!(
        s.resident(&r.id).unwrap().preferred_name.as_deref(),
        Some("Winnie")
    );
}

#[test]
fn s19_pins_are_hashed_and_lock_after_repeated_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    let id = StaffId::new("c1");
    assert_eq!(s.check_pin(&id, "4071").unwrap(), PinCheck::NoPin);
    s.set_pin(&id, "4071", None, Utc::now()).unwrap();
    let stored: String = s
        .conn
        .query_row("SELECT hash FROM local_pins", [], |r| r.get(0))
        .unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains("4071"));
    assert_eq!(s.check_pin(&id, "4071").unwrap(), PinCheck::Ok);
    for left in (1..5).rev() {
        assert_eq!(
            s.check_pin(&id, "0000").unwrap(),
            PinCheck::Wrong {
                attempts_left: left
            }
        );
    }
    assert_eq!(s.check_pin(&id, "0000").unwrap(), PinCheck::Locked);
    // Even the right PIN is refused until a reset.
    assert_eq!(s.check_pin(&id, "4071").unwrap(), PinCheck::Locked);
    assert!(s.pin_status(&id).unwrap().locked);
    // A reset by another senior says who made it and when.
    let at = Utc::now();
    let senior = StaffId::new("s1");
    s.set_pin(&id, "5182", Some(&senior), at).unwrap();
    let status = s.pin_status(&id).unwrap();
    assert!(status.set && !status.locked);
    assert_eq!(
        (status.set_by, status.set_at.map(|t| t.timestamp())),
        (Some(senior), Some(at.timestamp()))
    );
    assert_eq!(s.check_pin(&id, "5182").unwrap(), PinCheck::Ok);
    // Reading the status tries nothing: no wrong try is counted.
    for _ in 0..10 {
        s.pin_status(&id).unwrap();
    }
    assert_eq!(s.check_pin(&id, "5182").unwrap(), PinCheck::Ok);
    assert!(!s.pin_status(&StaffId::new("nobody")).unwrap().set);
}

#[test]
fn cycles_split_records_by_28_days() {
    assert_eq!(cycle_of(NaiveDate::from_ymd_opt(2000, 1, 3).unwrap()), 0);
    assert_eq!(cycle_of(NaiveDate::from_ymd_opt(2000, 1, 30).unwrap()), 0);
    assert_eq!(cycle_of(NaiveDate::from_ymd_opt(2000, 1, 31).unwrap()), 1);
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let cycles: Vec<String> = s
        .document_ids()
        .unwrap()
        .into_iter()
        .filter(|d| d.starts_with("cycle:"))
        .collect();
    assert!(!cycles.is_empty());
}

#[test]
fn documents_are_compacted_off_the_write_path_and_load_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = open(&dir);
    let chunks = |s: &Store| -> i64 {
        one(
            s,
            "SELECT count(*) FROM doc_chunks WHERE doc_id = 'home'",
            [],
        )
    };
    for i in 0..(COMPACT_AFTER_CHUNKS + 5) {
        s.put_home_name(&format!("Home {i}"), Utc::now()).unwrap();
    }
    // No write waited for a compaction...
    assert_eq!(chunks(&s), i64::from(COMPACT_AFTER_CHUNKS + 5));
    let before = s.document_bytes("home").unwrap();
    // ...the housekeeping does it, once.
    assert_eq!(s.compact_pending().unwrap(), 1);
    assert_eq!(chunks(&s), 1);
    assert_eq!(s.compact_pending().unwrap(), 0);
    drop(s);
    let mut s = Store::open(&dir.path().join("medround.db"), &key).unwrap();
    assert_eq!(s.document_bytes("home").unwrap(), before);
    assert_eq!(
        s.home_name().unwrap().as_deref(),
        Some(&*format!("Home {}", COMPACT_AFTER_CHUNKS + 4))
    );
}

/// Records with everything the review reads: late, a correction, a PRN dose, a MISSED.
fn review_records(s: &mut Store) -> Vec<Administration> {
    let mut late = admin("l1", "r1", "2026-11-19T12:00:00Z");
    late.late_reason = Some("Resident at the hairdresser".into());
    late.recorded_at = "2026-11-19T13:20:00Z".parse().unwrap();
    let mut missed = admin("m1", "r1", "2026-11-19T17:00:00Z");
    missed.outcome = OutcomeCode::Missed;
    missed.author = StaffId::new("system");
    let mut prn = admin("p1", "r1", "2026-11-19T15:00:00Z");
    prn.subject = Subject::Prn {
        order: OrderId::new("o1"),
    };
    let mut fix = admin("x1", "r1", "2026-11-21T09:00:00Z");
    fix.outcome = OutcomeCode::EnteredInError;
    fix.voids = Some(RecordId::new("a1"));
    let recs = vec![late, missed, prn, fix];
    for r in &recs {
        s.append(
            &r.resident,
            r.occurred_at,
            &[Item::Administration(r.clone())],
        )
        .unwrap();
    }
    recs
}

#[test]
fn dose_facts_are_the_records_columns_and_a_later_correction_is_included() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let recs = review_records(&mut s);
    let since: DateTime<Utc> = "2026-11-19T00:00:00Z".parse().unwrap();
    let until: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().unwrap();
    let mut facts = s.dose_facts(since, until).unwrap();
    facts.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want: Vec<DoseFact> = recs.iter().map(DoseFact::from).collect();
    let a1 = s.item("a1").unwrap();
    let Some(Item::Administration(a1)) = a1 else {
        panic!("a1 is an administration")
    };
    want.push(DoseFact::from(&a1));
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(facts, want);
}

#[test]
fn migration_0005_fills_the_review_columns_as_the_projection_does() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    review_records(&mut s);
    let since: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let until: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
    stock_and_register(&mut s);
    let projected = s.dose_facts(since, until).unwrap();
    let levels = s.stock_levels().unwrap();
    let balance = s.cd_balance(&OrderId::new("o1")).unwrap();
    assert_eq!(levels[&OrderId::new("o1")], Qty::from_f64(27.5));
    assert_eq!(balance, Qty::from_f64(7.5));
    // As a database written before migration 0005 would have them: no columns.
    s.conn
        .execute_batch(
            "UPDATE p_records SET slot_at = NULL, outcome = NULL, late = 0, author = NULL,
                                  recorded_at = NULL, refers_to = NULL, qty = 0",
        )
        .unwrap();
    let sql = migrate::MIGRATIONS[4].2;
    let fill = &sql[sql.find("UPDATE p_records").unwrap()..sql.find("CREATE INDEX").unwrap()];
    s.conn.execute_batch(fill).unwrap();
    assert_eq!(s.dose_facts(since, until).unwrap(), projected);
    assert_eq!(s.stock_levels().unwrap(), levels);
    assert_eq!(s.cd_balance(&OrderId::new("o1")).unwrap(), balance);
}

#[test]
fn incidents_stay_and_an_acknowledgement_closes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let raised: DateTime<Utc> = "2026-11-19T10:00:00Z".parse().unwrap();
    let incident = Incident {
        id: RecordId::new("inc-1"),
        resident: ResidentId::new("r1"),
        kind: medround_domain::incident::IncidentKind::Retrospective,
        records: vec![RecordId::new("a1")],
        message: "Entered after the event".into(),
        raised_at: raised,
        device: DeviceId::new("tab"),
    };
    let r1 = ResidentId::new("r1");
    s.append(&r1, raised, &[Item::Incident(incident.clone())])
        .unwrap();
    assert_eq!(s.open_incident_count().unwrap(), 1);
    let ack = IncidentAck {
        id: RecordId::new("ack-1"),
        incident: incident.id.clone(),
        resident: r1.clone(),
        action: "Spoke to the carer".into(),
        at: now(),
        by: StaffId::new("m1"),
        device: DeviceId::new("tab"),
    };
    s.append(&r1, now(), &[Item::IncidentAck(ack.clone())])
        .unwrap();
    assert_eq!(s.open_incident_count().unwrap(), 0);
    // Still listed for the period it was raised in, with its acknowledgement.
    assert_eq!(
        s.incidents(raised).unwrap(),
        [(incident.clone(), vec![ack.clone()])]
    );
    // Closed and older than the period: not listed.
    assert_eq!(s.incidents(now()).unwrap(), []);
    // Projections rebuilt from the documents give the same.
    s.rebuild_projections().unwrap();
    assert_eq!(s.open_incident_count().unwrap(), 0);
    assert_eq!(s.incidents(raised).unwrap(), [(incident, vec![ack])]);
}

/// S14: a dose is its own stock record (`from_stock`). A dose written before that took its stock
/// through a movement beside it instead; each counts once, and the level is the same after the
/// projections are rebuilt from the documents.
#[test]
fn s14_a_dose_counts_against_stock_once_whether_written_before_or_after_from_stock() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    // 30 in, and an older dose's 2.5 out as its own movement.
    stock_and_register(&mut s);
    let o1 = OrderId::new("o1");
    let before = s.stock_levels().unwrap()[&o1];
    assert_eq!(before, Qty::from_f64(27.5));
    let mut new = admin("a-new", "r1", "2026-11-20T08:00:00Z");
    new.from_stock = Some(Qty::whole(2));
    let refused = Administration {
        outcome: OutcomeCode::Refused,
        quantity: None,
        ..admin("a-refused", "r1", "2026-11-20T20:00:00Z")
    };
    let at: DateTime<Utc> = "2026-11-20T20:00:00Z".parse().unwrap();
    s.append(
        &ResidentId::new("r1"),
        at,
        &[Item::Administration(new), Item::Administration(refused)],
    )
    .unwrap();
    assert_eq!(s.stock_levels().unwrap()[&o1], Qty::from_f64(25.5));
    s.rebuild_projections().unwrap();
    assert_eq!(s.stock_levels().unwrap()[&o1], Qty::from_f64(25.5));
}

/// Stock movements and register entries of order o1: 30 in, 2.5 out; CD 10 in, 2.5 out, a count.
fn stock_and_register(s: &mut Store) {
    use medround_domain::cd::{CdEntry, CdMovement};
    use medround_domain::stock::{StockMovement, StockReason};
    let at: DateTime<Utc> = "2026-11-19T09:00:00Z".parse().unwrap();
    let stock = |id: &str, delta: f64, reason| {
        Item::StockMovement(StockMovement {
            id: RecordId::new(id),
            order: OrderId::new("o1"),
            delta: Qty::from_f64(delta),
            reason,
            at,
            by: StaffId::new("c1"),
            device: DeviceId::new("tab"),
        })
    };
    let cd = |id: &str, movement, balance: f64| {
        Item::CdEntry(CdEntry {
            id: RecordId::new(id),
            resident: ResidentId::new("r1"),
            order: OrderId::new("o1"),
            drug: "Morphine 10mg/5ml oral solution".into(),
            movement,
            balance_after: Qty::from_f64(balance),
            at,
            by: StaffId::new("c1"),
            witness: StaffId::new("s1"),
            device: DeviceId::new("tab"),
        })
    };
    let items = [
        stock("s1", 30.0, StockReason::Received),
        stock("s2", -2.5, StockReason::Administered),
        cd(
            "c1",
            CdMovement::Received {
                qty: Qty::whole(10),
                from: "Pharmacy".into(),
            },
            10.0,
        ),
        cd(
            "c2",
            CdMovement::Administered {
                qty: Qty::from_f64(2.5),
                administration: RecordId::new("a1"),
            },
            7.5,
        ),
        cd(
            "c3",
            CdMovement::Count {
                counted: Qty::from_f64(7.5),
            },
            7.5,
        ),
    ];
    s.append(&ResidentId::new("r1"), at, &items).unwrap();
}

#[test]
fn a_period_holds_its_own_records_and_later_corrections_only() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    review_records(&mut s);
    let since: DateTime<Utc> = "2026-11-19T00:00:00Z".parse().unwrap();
    let until: DateTime<Utc> = "2026-11-20T00:00:00Z".parse().unwrap();
    let mut ids: Vec<String> = s
        .items_in_period(&ResidentId::new("r1"), since, until)
        .unwrap()
        .iter()
        .map(|i| i.id().to_string())
        .collect();
    ids.sort();
    // a1, l1, m1, p1 happened on the 19th; x1 (on the 21st) voids a1; a2 (the 20th) is out.
    assert_eq!(ids, ["a1", "l1", "m1", "p1", "x1"]);
    assert_eq!(
        cycle_start(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()
    );
    assert_eq!(
        cycle_of(cycle_start(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap())),
        cycle_of(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap())
    );
}

#[test]
fn s09_imported_history_is_one_change_per_event_and_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let r1 = ResidentId::new("r1");
    let event = |id: &str, at: &str| {
        (
            at.parse::<DateTime<Utc>>().unwrap(),
            vec![Item::Administration(admin(id, "r1", at))],
        )
    };
    let cycle = format!("cycle:r1:{}", cycle_of(now().date_naive()));
    let changes = |s: &mut Store| s.doc(&cycle.clone()).unwrap().get_changes(&[]).len();
    let before = changes(&mut s);
    s.append_each(
        &r1,
        &[
            event("h1", "2026-11-20T12:00:00Z"),
            event("h2", "2026-11-20T17:00:00Z"),
        ],
    )
    .unwrap();
    assert_eq!(changes(&mut s), before + 2, "one change per event");
    // A repeated id, stored already or earlier in the same import, writes nothing at all.
    for repeat in ["a0", "h3"] {
        let err = s
            .append_each(
                &r1,
                &[
                    event("h3", "2026-11-20T20:00:00Z"),
                    event(repeat, "2026-11-20T21:00:00Z"),
                ],
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    }
    let ids: Vec<String> = s
        .administrations_for(&r1, None)
        .unwrap()
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(!ids.contains(&"h3".to_string()));
    assert_eq!(changes(&mut s), before + 2);
}

#[test]
fn a_reloaded_document_stores_only_its_new_change() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = open(&dir);
    fill(&mut s);
    drop(s);
    let mut s = Store::open(&dir.path().join("medround.db"), &key).unwrap();
    let cycle = format!("cycle:r1:{}", cycle_of(now().date_naive()));
    let stored = s.document_bytes(&cycle).unwrap();
    s.append(
        &ResidentId::new("r1"),
        now(),
        &[Item::Administration(admin(
            "a9",
            "r1",
            "2026-11-20T12:00:00Z",
        ))],
    )
    .unwrap();
    let (last, all): (Vec<u8>, Vec<Vec<u8>>) = {
        let mut stmt = s
            .conn
            .prepare("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")
            .unwrap();
        let all: Vec<Vec<u8>> = stmt
            .query_map([&cycle], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (all.last().unwrap().clone(), all)
    };
    let mut joined = AutoCommit::load(&all.concat()).unwrap();
    assert_eq!(
        joined.get_changes(&[]).len(),
        4,
        "three old changes and the new one"
    );
    // The new chunk holds the one change, not the document again: on its own it waits for
    // exactly what was stored before it.
    let mut only = AutoCommit::new();
    only.load_incremental(&last).unwrap();
    assert_eq!(
        only.get_missing_deps(&[]),
        AutoCommit::load(&stored).unwrap().get_heads()
    );
}

#[test]
fn s17_homely_remedies_of_the_fortnight_come_from_their_own_index() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let r1 = ResidentId::new("r1");
    let mut remedy = admin("hr1", "r1", "2026-11-10T10:00:00Z");
    remedy.subject = Subject::Homely {
        remedy: medround_domain::ids::RemedyId::new("senna"),
    };
    let old_remedy = {
        let mut a = admin("hr0", "r1", "2026-10-01T10:00:00Z");
        a.subject = remedy.subject.clone();
        a
    };
    let prescribed = admin("p1", "r1", "2026-11-10T08:00:00Z");
    for a in [remedy, old_remedy, prescribed] {
        s.append(&r1, a.occurred_at, &[Item::Administration(a)])
            .unwrap();
    }
    let got: Vec<String> = s
        .administrations_for_rules(
            &r1,
            &[],
            "2026-11-19T08:00:00Z".parse().unwrap(),
            "2026-11-06T08:00:00Z".parse().unwrap(),
            12,
        )
        .unwrap()
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    // The fortnight's remedy and the last day's doses; not the older remedy, nor a prescribed
    // dose of ten days ago.
    assert_eq!(got, ["hr1", "a1", "a2"]);
    let in_index: i64 = one(
        &s,
        "SELECT count(*) FROM p_records INDEXED BY p_records_homely
         WHERE kind = 'administration' AND order_id IS NULL",
        [],
    );
    assert_eq!(in_index, 2, "only the remedies enter the partial index");
}

#[test]
fn an_orders_last_slots_are_read_from_the_index_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let plan: Vec<String> = s
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {SLOT_FACTS_SQL}"))
        .unwrap()
        .query_map(params!["o1", 12], |r| r.get::<_, String>(3))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        plan.iter()
            .any(|p| p.contains("COVERING INDEX p_records_order")),
        "{plan:?}"
    );
}

#[test]
fn reference_data_read_after_a_change_is_the_changed_data() {
    // Every dose reads the resident, their orders and the home's lists, which the store keeps
    // decoded; a change to any of them must be seen by the next read, and a dose must not
    // lose them.
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let r1 = ResidentId::new("r1");
    assert_eq!(s.orders_for(&r1).unwrap().len(), 1);
    assert_eq!(s.resident(&r1).unwrap().room, "4");
    assert!(s.limits().unwrap().is_empty());
    assert!(s.remedies().unwrap().is_empty());

    let mut o = order("o1", "r1");
    o.status = OrderStatus::Pending;
    s.put_order(&o, now()).unwrap();
    s.put_order(&order("o2", "r1"), now()).unwrap();
    let orders = s.orders_for(&r1).unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].status, OrderStatus::Pending);

    let mut r = resident("r1", "Winifred");
    r.room = "12".into();
    s.put_resident(&r, now()).unwrap();
    assert_eq!(s.resident(&r1).unwrap().room, "12");

    // The home's lists live in their own document.
    assert!(s.limits().unwrap().is_empty());
    assert!(s.remedies().unwrap().is_empty());
    s.put_limit(
        &IngredientLimit {
            substance: "Paracetamol".into(),
            max_mg_24h: Qty::whole(4000),
        },
        now(),
    )
    .unwrap();
    assert_eq!(s.limits().unwrap().len(), 1);
    assert!(s.remedies().unwrap().is_empty());
    s.put_remedy(
        &HomelyRemedy {
            id: medround_domain::RemedyId::new("hr1"),
            medicine: order("x", "r1").medicine,
            dose: Dose::Fixed { qty: Qty::whole(1) },
            unit: "tablet".into(),
            indication: "Indigestion".into(),
            min_interval_minutes: 240,
            max_per_24h: Qty::whole(4),
            max_days: 3,
        },
        now(),
    )
    .unwrap();
    assert_eq!(s.remedies().unwrap().len(), 1);

    // A dose, and a refused duplicate, leave the reference data as it is.
    let at = "2026-11-21T08:00:00Z";
    s.append(
        &r1,
        at.parse().unwrap(),
        &[Item::Administration(admin("a9", "r1", at))],
    )
    .unwrap();
    assert!(s
        .append(
            &r1,
            at.parse().unwrap(),
            &[Item::Administration(admin("a9", "r1", at))],
        )
        .is_err());
    assert_eq!(s.orders_for(&r1).unwrap().len(), 2);
    assert_eq!(s.resident(&r1).unwrap().room, "12");

    // Projections rebuilt from the documents read the same.
    let before = (s.orders_for(&r1).unwrap(), s.resident(&r1).unwrap());
    s.rebuild_projections().unwrap();
    assert_eq!(
        (s.orders_for(&r1).unwrap(), s.resident(&r1).unwrap()),
        before
    );
}

fn plan(s: &Store, sql: &str) -> Vec<String> {
    let mut stmt = s
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let n = stmt.parameter_count();
    let params: Vec<String> = (0..n).map(|_| "2026-11-01T00:00:00.000Z".into()).collect();
    stmt.query_map(rusqlite::params_from_iter(params), |r| {
        r.get::<_, String>(3)
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

#[test]
fn questions_across_the_home_search_the_resident_or_order_index() {
    // With no index on the kind alone (migration 0007), each of these must still be ranges
    // of an index, not a scan of every record the home has written.
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    for (sql, index) in [
        (ADMINISTRATIONS_SINCE_SQL, "p_records_resident"),
        (DOSE_FACTS_SQL, "p_records_resident"),
        (INCIDENTS_SQL, "p_records_resident"),
        (STOCK_LEVELS_SQL, "p_records_order"),
        (ITEMS_OF_KIND_SINCE_SQL, "p_records_resident"),
        (OPEN_INCIDENTS_SQL, "p_records_resident"),
        (WHEN_REQUIRED_SINCE_SQL, "p_records_resident"),
        (COUNT_KIND_SQL, "p_records_resident"),
    ] {
        let plan = plan(&s, sql);
        assert!(
            plan.iter()
                .any(|p| p.starts_with("SEARCH p_records") || p.starts_with("SEARCH i"))
                && plan.iter().any(|p| p.contains(index)),
            "{sql}: {plan:?}"
        );
        assert!(
            !plan
                .iter()
                .any(|p| p.starts_with("SCAN p_records") || p.starts_with("SCAN i ")),
            "{sql}: {plan:?}"
        );
    }
}

#[test]
fn chunk_numbers_only_grow_even_when_the_newest_document_is_compacted() {
    // A new chunk takes the largest seq plus one (no AUTOINCREMENT since migration 0007);
    // compaction must not delete the chunk holding the largest, or a number would be used
    // twice and a sync could clear a change it never sent.
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = open(&dir);
    fill(&mut s);
    let max = |s: &Store| -> i64 { one(s, "SELECT max(seq) FROM doc_chunks", []) };
    let before = max(&s);
    let newest: String = one(
        &s,
        "SELECT doc_id FROM doc_chunks ORDER BY seq DESC LIMIT 1",
        [],
    );
    s.compact(&newest).unwrap();
    assert_eq!(
        max(&s),
        before,
        "the newest chunk is kept, holding the whole document"
    );
    let chunks: i64 = one(
        &s,
        "SELECT count(*) FROM doc_chunks WHERE doc_id = ?1",
        [&newest],
    );
    assert_eq!(chunks, 1);
    let at = "2026-11-21T08:00:00Z";
    s.append(
        &ResidentId::new("r1"),
        at.parse().unwrap(),
        &[Item::Administration(admin("a9", "r1", at))],
    )
    .unwrap();
    assert!(max(&s) > before);
    // The document reads the same from its chunks after reopening.
    let doc = s.document_bytes(&newest).unwrap();
    drop(s);
    let mut s = Store::open(&dir.path().join("medround.db"), &key).unwrap();
    assert_eq!(s.document_bytes(&newest).unwrap(), doc);
}

#[test]
fn migration_0007_keeps_every_chunk_with_its_number() {
    // A database at schema 6, as a tablet holds it before this build: chunks numbered by
    // AUTOINCREMENT, with a gap where a compaction deleted some.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("medround.db");
    let key = Key::generate();
    {
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "key", key.pragma()).unwrap();
        for (version, _, sql) in &migrate::MIGRATIONS[..6] {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            tx.pragma_update(None, "user_version", version).unwrap();
            tx.commit().unwrap();
        }
        conn.execute_batch(
            "INSERT INTO doc_chunks (seq, doc_id, bytes) VALUES
                 (3, 'home', x'01'), (7, 'cycle:r1:1', x'0203'), (8, 'home', x'04');
             UPDATE sqlite_sequence SET seq = 12 WHERE name = 'doc_chunks';",
        )
        .unwrap();
    }
    let s = Store::open(&path, &key).unwrap();
    assert_eq!(migrate::current(&s.conn).unwrap(), 7);
    let rows: Vec<(i64, String, Vec<u8>)> = s
        .conn
        .prepare("SELECT seq, doc_id, bytes FROM doc_chunks ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        rows,
        vec![
            (3, "home".to_string(), vec![1]),
            (7, "cycle:r1:1".to_string(), vec![2, 3]),
            (8, "home".to_string(), vec![4]),
        ]
    );
    let sql: String = one(
        &s,
        "SELECT sql FROM sqlite_schema WHERE name = 'doc_chunks'",
        [],
    );
    assert!(!sql.contains("AUTOINCREMENT"), "{sql}");
    let plan = plan(
        &s,
        "SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq",
    );
    assert!(
        plan.iter().any(|p| p.contains("doc_chunks_doc")),
        "{plan:?}"
    );
}

#[test]
fn the_rules_read_the_same_records_whether_decoded_before_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let r1 = ResidentId::new("r1");
    let recent: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let read = |s: &Store| {
        s.administrations_for_rules(&r1, &[OrderId::new("o1")], recent, recent, 12)
            .unwrap()
    };
    let first = read(&s);
    assert_eq!(first.len(), 3);
    assert_eq!(read(&s), first, "read again from the decoded records");
    let at = "2026-11-21T08:00:00Z";
    s.append(
        &r1,
        at.parse().unwrap(),
        &[Item::Administration(admin("a9", "r1", at))],
    )
    .unwrap();
    let after = read(&s);
    assert_eq!(after.len(), 4);
    assert_eq!(&after[..3], &first[..]);
    s.rebuild_projections().unwrap();
    assert_eq!(read(&s), after);
}

#[test]
fn a_setting_read_after_it_is_changed_is_the_new_value() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = open(&dir);
    assert_eq!(s.meta("idle_lock_minutes").unwrap(), None);
    s.set_meta("idle_lock_minutes", "5").unwrap();
    assert_eq!(s.meta("idle_lock_minutes").unwrap().as_deref(), Some("5"));
    s.set_meta_all(&[
        ("idle_lock_minutes", "7"),
        ("lock_after_each_resident", "1"),
    ])
    .unwrap();
    assert_eq!(s.meta("idle_lock_minutes").unwrap().as_deref(), Some("7"));
    assert_eq!(
        s.meta("lock_after_each_resident").unwrap().as_deref(),
        Some("1")
    );
    drop(s);
    let s = Store::open(&dir.path().join("medround.db"), &key).unwrap();
    assert_eq!(s.meta("idle_lock_minutes").unwrap().as_deref(), Some("7"));
}

/// A time in a later cycle than any of `fill`'s records, and r1's cycle document for it.
fn later() -> (DateTime<Utc>, String) {
    let at: DateTime<Utc> = "2027-01-12T08:00:00Z".parse().unwrap();
    let cycle = format!(
        "cycle:r1:{}",
        cycle_of(at.with_timezone(&HOME_TZ).date_naive())
    );
    (at, cycle)
}

#[test]
fn a_document_says_which_shape_it_was_written_in() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open(&dir);
    fill(&mut s);
    let (at, cycle) = later();
    s.append(
        &ResidentId::new("r1"),
        at,
        &[Item::Administration(admin(
            "a-later",
            "r1",
            "2027-01-12T08:00:00Z",
        ))],
    )
    .unwrap();
    for doc in ["home".to_string(), "resident:r1".to_string(), cycle] {
        assert_eq!(
            doc_schema(s.doc(&doc).unwrap()).unwrap(),
            DOC_SCHEMA,
            "{doc}"
        );
    }
}

/// Stores `doc` as the only chunk of `doc_id`, as another build of the app would have.
fn store_as_only_chunk(s: &Store, doc_id: &str, doc: &mut automerge::AutoCommit) {
    s.conn
        .execute(
            "INSERT INTO doc_chunks (doc_id, bytes) VALUES (?1, ?2)",
            params![doc_id, doc.save()],
        )
        .unwrap();
}

#[test]
fn a_version_1_document_reads_the_same_and_takes_the_current_version_with_its_next_change() {
    use automerge::transaction::Transactable;
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = open(&dir);
    fill(&mut s);
    // A cycle document from before versions were written: a dose, with no `schema` key.
    let (at, cycle) = later();
    let old = Item::Administration(admin("a-old", "r1", "2027-01-12T08:00:00Z"));
    let mut v1 = automerge::AutoCommit::new();
    v1.put(
        ROOT,
        "administration/a-old",
        item_json(&old).unwrap().as_str(),
    )
    .unwrap();
    v1.commit();
    store_as_only_chunk(&s, &cycle, &mut v1);
    drop(s);
    let mut s = Store::open(&dir.path().join("medround.db"), &key).unwrap();
    s.rebuild_projections().unwrap();
    assert_eq!(doc_schema(s.doc(&cycle).unwrap()).unwrap(), 1);
    assert_eq!(
        s.item("a-old").unwrap(),
        Some(old.clone()),
        "read as it was written"
    );
    s.append(
        &ResidentId::new("r1"),
        at,
        &[Item::Administration(admin(
            "a-new",
            "r1",
            "2027-01-12T20:00:00Z",
        ))],
    )
    .unwrap();
    assert_eq!(doc_schema(s.doc(&cycle).unwrap()).unwrap(), DOC_SCHEMA);
    assert_eq!(s.item("a-old").unwrap(), Some(old));
    assert!(s.item("a-new").unwrap().is_some());
}

#[test]
fn a_document_of_a_newer_shape_is_refused_and_nothing_is_written() {
    use automerge::transaction::Transactable;
    let dir = tempfile::tempdir().unwrap();
    let (mut s, key) = open(&dir);
    fill(&mut s);
    let (at, cycle) = later();
    let newer = (DOC_SCHEMA + 1).to_string();
    let mut next = automerge::AutoCommit::new();
    next.put(ROOT, "schema", newer.as_str()).unwrap();
    next.commit();
    store_as_only_chunk(&s, &cycle, &mut next);
    drop(s);
    let mut s = Store::open(&dir.path().join("medround.db"), &key).unwrap();
    let chunks = |s: &Store| -> i64 { one(s, "SELECT count(*) FROM doc_chunks", []) };
    let before = chunks(&s);
    let err = s
        .append(
            &ResidentId::new("r1"),
            at,
            &[Item::Administration(admin(
                "a-later",
                "r1",
                "2027-01-12T08:00:00Z",
            ))],
        )
        .unwrap_err();
    assert!(
        matches!(err, StoreError::DocumentTooNew { version, .. } if version == DOC_SCHEMA + 1),
        "{err}"
    );
    assert!(
        err.to_string().contains("newer version of Medround"),
        "{err}"
    );
    assert_eq!(chunks(&s), before);
    assert_eq!(s.item("a-later").unwrap(), None);
    // What arrives is checked the same way, on a tablet and on the central record.
    assert!(matches!(
        check_entry(&cycle, "schema", &newer),
        Err(RecordError::DocumentTooNew { .. })
    ));
    assert!(check_entry(&cycle, "schema", &DOC_SCHEMA.to_string()).is_ok());
    for bad in ["0", "\"2\"", "two", "-1"] {
        assert!(
            matches!(
                check_entry(&cycle, "schema", bad),
                Err(RecordError::Corrupt(_))
            ),
            "{bad}"
        );
    }
}

/// S15: a resident recorded as gone (their profile) and the record that says who recorded it
/// (a `ResidentEvent` in their cycle document) are written in one transaction: a refused
/// record leaves the resident as they were, and both survive a rebuild of the projections.
#[test]
fn s15_a_change_of_presence_and_its_record_are_written_together_or_not_at_all() {
    use medround_domain::record::{ResidentChange, ResidentEvent};
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _key) = open(&dir);
    fill(&mut s);
    let (at, cycle) = later();
    let id = ResidentId::new("r1");
    let mut away = s.resident(&id).unwrap();
    away.presence = Presence::InHospital { since: at };
    let event = ResidentEvent {
        id: RecordId::new("rev-1"),
        resident: id.clone(),
        change: ResidentChange::Away {
            presence: away.presence.clone(),
        },
        at,
        author: StaffId::new("s1"),
        device: s.device().clone(),
    };
    s.put_resident_recording(&away, &event, at).unwrap();
    assert!(s.resident(&id).unwrap().is_away());
    assert_eq!(
        s.item("rev-1").unwrap(),
        Some(Item::ResidentEvent(event.clone()))
    );
    assert!(s.document_ids().unwrap().contains(&cycle));
    // The same record again, now saying she is back, is refused, and she stays away.
    let mut back = away.clone();
    back.presence = Presence::Present;
    assert!(matches!(
        s.put_resident_recording(&back, &event, at),
        Err(StoreError::Duplicate(_))
    ));
    assert!(s.resident(&id).unwrap().is_away());
    s.rebuild_projections().unwrap();
    assert!(s.resident(&id).unwrap().is_away());
    assert_eq!(s.item("rev-1").unwrap(), Some(Item::ResidentEvent(event)));
}
