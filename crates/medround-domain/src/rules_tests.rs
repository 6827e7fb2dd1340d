//! Each safety rule, holding and refusing. Test names carry the rule.

use super::*;
use crate::barcode::{label_code, parse_scan};
use crate::cd::CdMovement;
use crate::entail::record_dose;
use crate::fact::DoseFact;
use crate::ids::*;
use crate::incident::{possible_double_doses, DoubleDose, Incident, IncidentKind};
use crate::mar::{closures, omission_review, resident_round};
use crate::medicine::Ingredient;
use crate::order::*;
use crate::record::ResidentEvent;
use crate::resident::*;
use crate::schedule::HOME_TZ;
use crate::staff::Role;
use chrono::{NaiveDate, NaiveTime};

const PARA_GTIN: &str = "02000000000015";
const COCOD_GTIN: &str = "02000000000022";

pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}
pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
pub(crate) fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

pub(crate) fn staff(id: &str, role: Role) -> Staff {
    Staff {
        id: StaffId::new(id),
        name: format!("Staff {id}"),
        initials: id.to_uppercase(),
        role,
        medication_trained: true,
        homely_authorised: true,
        active: true,
    }
}

pub(crate) fn resident() -> Resident {
    Resident {
        id: ResidentId::new("r1"),
        unit: UnitId::new("u1"),
        room: "1".into(),
        given_name: "Edith".into(),
        family_name: "Walker".into(),
        preferred_name: Some("Edie".into()),
        date_of_birth: day(1936, 4, 2),
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

pub(crate) fn medicine(name: &str, gtin: &str, ingredients: &[(&str, Option<i64>)]) -> Medicine {
    Medicine {
        name: name.into(),
        strength: "".into(),
        form: "tablets".into(),
        dmd: None,
        excipients: vec![],
        gtins: vec![gtin.into()],
        ingredients: ingredients
            .iter()
            .map(|(s, mg)| Ingredient {
                substance: s.to_string(),
                mg_per_unit: mg.map(Qty::whole),
            })
            .collect(),
    }
}

pub(crate) fn regular(id: &str, times: &[NaiveTime]) -> Order {
    Order {
        id: OrderId::new(id),
        resident: ResidentId::new("r1"),
        medicine: medicine("Amlodipine", "02000000000039", &[("amlodipine", Some(5))]),
        dose: Dose::Fixed { qty: Qty::whole(1) },
        unit: "tablet".into(),
        route: Route::Oral,
        schedule: Schedule::Daily {
            times: times.to_vec(),
        },
        instructions: String::new(),
        prescriber: "Dr Patel".into(),
        start: day(2026, 1, 1),
        end: None,
        status: OrderStatus::Active,
        source: OrderSource::Pharmacy,
        checked_in_by: vec![StaffId::new("s1")],
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

pub(crate) fn prn(id: &str, m: Medicine, dose: Dose, interval: u32, max: i64) -> Order {
    Order {
        medicine: m,
        dose,
        schedule: Schedule::Prn,
        prn: Some(PrnProtocol {
            indication: "pain".into(),
            min_interval_minutes: interval,
            max_per_24h: Qty::whole(max),
            follow_up_minutes: 60,
        }),
        ..regular(id, &[])
    }
}

pub(crate) fn paracetamol() -> Order {
    prn(
        "para",
        medicine(
            "Paracetamol 500mg tablets",
            PARA_GTIN,
            &[("paracetamol", Some(500))],
        ),
        Dose::Range {
            min: Qty::whole(1),
            max: Qty::whole(2),
            halves: false,
        },
        240,
        8,
    )
}

fn cocodamol() -> Order {
    prn(
        "cocod",
        medicine(
            "Co-codamol 30mg/500mg tablets",
            COCOD_GTIN,
            &[("codeine", Some(30)), ("paracetamol", Some(500))],
        ),
        Dose::Range {
            min: Qty::whole(1),
            max: Qty::whole(2),
            halves: false,
        },
        240,
        8,
    )
}

struct World {
    now: DateTime<Utc>,
    resident: Resident,
    orders: Vec<Order>,
    remedies: Vec<HomelyRemedy>,
    limits: Vec<IngredientLimit>,
    history: Vec<Administration>,
    slot_history: Vec<DoseFact>,
    removals: Vec<PatchRemoval>,
    author: Staff,
    witness: Option<(Staff, bool)>,
    cd_balance: Option<Qty>,
    next_id: u32,
}

impl World {
    /// The slots of this resident's orders closed since `since`, at `now` (S8, S15).
    fn close(&self, events: &[ResidentEvent], since: &str) -> Vec<crate::mar::Closure> {
        closures(
            &self.resident,
            &self.orders,
            &self.history,
            events,
            utc(since),
            self.now,
            HOME_TZ,
        )
    }

    fn new(now: &str) -> Self {
        World {
            now: utc(now),
            resident: resident(),
            orders: vec![regular("aml", &[hm(8, 0)]), paracetamol(), cocodamol()],
            remedies: vec![],
            limits: vec![IngredientLimit {
                substance: "paracetamol".into(),
                max_mg_24h: Qty::whole(4000),
            }],
            history: vec![],
            slot_history: vec![],
            removals: vec![],
            author: staff("c1", Role::Carer),
            witness: None,
            cd_balance: None,
            next_id: 0,
        }
    }

    fn ctx(&self) -> DoseContext<'_> {
        DoseContext {
            now: self.now,
            tz: HOME_TZ,
            resident: &self.resident,
            orders: &self.orders,
            remedies: &self.remedies,
            limits: &self.limits,
            history: &self.history,
            slot_history: &self.slot_history,
            patch_removals: &self.removals,
            author: &self.author,
            witness: self.witness.as_ref().map(|(s, a)| Witness {
                staff: s,
                authenticated: *a,
            }),
            cd_balance: self.cd_balance,
        }
    }

    fn assess(&self, a: &DoseAttempt) -> Assessment {
        assess(&self.ctx(), a)
    }

    /// Records the attempt, panicking with the findings if it is refused.
    fn record(&mut self, a: &DoseAttempt) -> RecordId {
        self.next_id += 1;
        let id = RecordId::new(format!("rec{}", self.next_id));
        let rec = record(&self.ctx(), a, id.clone(), DeviceId::new("tab1"))
            .unwrap_or_else(|e| panic!("refused: {:#?}", e.findings));
        self.history.push(rec);
        id
    }

    fn at(&mut self, now: &str) -> &mut Self {
        self.now = utc(now);
        self
    }
}

fn slot(order: &str, at: &str) -> Subject {
    Subject::Slot {
        order: OrderId::new(order),
        at: utc(at),
    }
}

fn give(subject: Subject, gtin: &str) -> DoseAttempt {
    let mut a = DoseAttempt::new(subject, OutcomeCode::Given);
    a.scans = vec![parse_scan(gtin).unwrap()];
    a
}

fn give_prn(order: &str, gtin: &str, qty: i64) -> DoseAttempt {
    let mut a = give(
        Subject::Prn {
            order: OrderId::new(order),
        },
        gtin,
    );
    a.quantity = Some(Qty::whole(qty));
    a.prn_reason = Some("headache".into());
    a
}

fn facts(history: &[Administration]) -> Vec<DoseFact> {
    history.iter().map(DoseFact::from).collect()
}

fn codes(a: &Assessment) -> Vec<FindingCode> {
    a.findings.iter().map(|f| f.code).collect()
}

// --- S1 right person -------------------------------------------------------------------------

#[test]
fn s01_own_label_is_accepted() {
    let w = World::new("2026-01-05T08:00:00Z");
    let mut a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    a.scans
        .push(parse_scan(&label_code(&ResidentId::new("r1"), &OrderId::new("aml"))).unwrap());
    assert!(w.assess(&a).ready(), "{:?}", w.assess(&a));
}

#[test]
fn s01_another_residents_label_blocks() {
    let w = World::new("2026-01-05T08:00:00Z");
    let mut a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    a.scans
        .push(parse_scan(&label_code(&ResidentId::new("r2"), &OrderId::new("aml"))).unwrap());
    let got = w.assess(&a);
    assert!(got.blocked());
    assert!(got.has(FindingCode::WrongResidentLabel));
}

#[test]
fn s01_label_for_another_medicine_of_the_same_resident_blocks() {
    let w = World::new("2026-01-05T08:00:00Z");
    let mut a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    a.scans
        .push(parse_scan(&label_code(&ResidentId::new("r1"), &OrderId::new("para"))).unwrap());
    assert!(w.assess(&a).has(FindingCode::WrongOrderLabel));
}

#[test]
fn s01_order_of_another_resident_blocks() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders[0].resident = ResidentId::new("r2");
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert!(w.assess(&a).has(FindingCode::WrongResident));
}

// --- S2 right medicine -----------------------------------------------------------------------

#[test]
fn s02_matching_gtin_is_accepted_and_recorded_as_scanned() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let id = w.record(&give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039"));
    let r = w.history.iter().find(|r| r.id == id).unwrap();
    assert_eq!(
        r.product,
        Some(ProductCheck::Scanned {
            gtin: "02000000000039".into()
        })
    );
}

#[test]
fn s02_wrong_gtin_blocks() {
    let w = World::new("2026-01-05T08:00:00Z");
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), PARA_GTIN);
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::WrongProduct]);
}

#[test]
fn s02_expired_pack_blocks() {
    let w = World::new("2026-01-05T08:00:00Z");
    let mut a = DoseAttempt::new(slot("aml", "2026-01-05T08:00:00Z"), OutcomeCode::Given);
    a.scans = vec![parse_scan("(01)02000000000039(17)251231(10)B1").unwrap()];
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::ProductExpired]);
}

#[test]
fn s02_no_scan_needs_a_tap_and_is_recorded_as_not_scanned() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let mut a = DoseAttempt::new(slot("aml", "2026-01-05T08:00:00Z"), OutcomeCode::Given);
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::ProductNotConfirmed]);
    a.product_tapped = true;
    let id = w.record(&a);
    assert_eq!(
        w.history.iter().find(|r| r.id == id).unwrap().product,
        Some(ProductCheck::TappedNotScanned)
    );
}

// --- S3 right time ---------------------------------------------------------------------------

#[test]
fn s03_in_window_is_on_time() {
    let mut w = World::new("2026-01-05T07:10:00Z");
    let id = w.record(&give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039"));
    assert!(!w.history.iter().find(|r| r.id == id).unwrap().is_late());
}

#[test]
fn s03_early_dose_blocks() {
    let w = World::new("2026-01-05T06:59:00Z");
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::TooEarly]);
}

#[test]
fn s03_late_dose_needs_a_reason_and_is_recorded_late() {
    let mut w = World::new("2026-01-05T09:30:00Z");
    let mut a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::LateReasonNeeded]);
    a.late_reason = Some("resident at the hairdresser".into());
    let id = w.record(&a);
    assert!(w.history.iter().find(|r| r.id == id).unwrap().is_late());
}

#[test]
fn s03_time_critical_window_is_thirty_minutes() {
    let mut w = World::new("2026-01-05T08:31:00Z");
    w.orders[0].time_critical = true;
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::LateReasonNeeded]);
    w.at("2026-01-05T07:29:00Z");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::TooEarly]);
}

#[test]
fn s03_time_critical_alerts_before_it_is_late() {
    let mut w = World::new("2026-01-05T07:40:00Z");
    w.orders[0].time_critical = true;
    let r = resident_round(
        &w.resident,
        &w.orders,
        &w.history,
        w.now,
        Duration::hours(24),
        HOME_TZ,
    );
    assert_eq!(r.time_critical_soon, 1);
    w.at("2026-01-05T07:20:00Z");
    let r = resident_round(
        &w.resident,
        &w.orders,
        &w.history,
        w.now,
        Duration::hours(24),
        HOME_TZ,
    );
    assert_eq!(r.time_critical_soon, 0);
}

#[test]
fn s03_after_the_window_closes_the_dose_cannot_be_given() {
    let w = World::new("2026-01-05T11:01:00Z");
    let mut a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    a.late_reason = Some("busy".into());
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::SlotClosed]);
}

// --- S4 PRN limits ---------------------------------------------------------------------------

#[test]
fn s04_prn_within_protocol_is_accepted() {
    let mut w = World::new("2026-01-05T10:00:00Z");
    w.record(&give_prn("para", PARA_GTIN, 2));
    w.at("2026-01-05T14:00:00Z");
    w.record(&give_prn("para", PARA_GTIN, 2));
}

#[test]
fn s04_prn_interval_blocks_second_paracetamol() {
    let mut w = World::new("2026-01-05T10:00:00Z");
    w.record(&give_prn("para", PARA_GTIN, 2));
    w.at("2026-01-05T13:00:00Z");
    let got = w.assess(&give_prn("para", PARA_GTIN, 1));
    assert_eq!(codes(&got), vec![FindingCode::PrnIntervalNotMet]);
    assert!(
        got.findings[0].message.contains("14:00"),
        "{}",
        got.findings[0].message
    );
}

#[test]
fn s04_prn_interval_counts_paracetamol_in_co_codamol() {
    let mut w = World::new("2026-01-05T10:00:00Z");
    w.record(&give_prn("cocod", COCOD_GTIN, 2));
    w.at("2026-01-05T12:00:00Z");
    let got = w.assess(&give_prn("para", PARA_GTIN, 1));
    assert_eq!(codes(&got), vec![FindingCode::PrnIntervalNotMet]);
    assert!(got.findings[0].message.contains("paracetamol"));
}

#[test]
fn s04_daily_ingredient_maximum_across_products_and_homely_remedies() {
    let mut w = World::new("2026-01-05T06:00:00Z");
    w.remedies.push(HomelyRemedy {
        id: RemedyId::new("hr-para"),
        medicine: medicine(
            "Paracetamol 500mg tablets",
            PARA_GTIN,
            &[("paracetamol", Some(500))],
        ),
        dose: Dose::Range {
            min: Qty::whole(1),
            max: Qty::whole(2),
            halves: false,
        },
        unit: "tablet".into(),
        indication: "mild pain".into(),
        min_interval_minutes: 240,
        max_per_24h: Qty::whole(8),
        max_days: 2,
    });
    // 06:00 paracetamol 1 g, 10:00 co-codamol (1 g paracetamol), 14:00 homely 1 g: 3 g so far.
    w.record(&give_prn("para", PARA_GTIN, 2));
    w.at("2026-01-05T10:00:00Z");
    w.record(&give_prn("cocod", COCOD_GTIN, 2));
    w.at("2026-01-05T14:00:00Z");
    let mut hr = give(
        Subject::Homely {
            remedy: RemedyId::new("hr-para"),
        },
        PARA_GTIN,
    );
    hr.quantity = Some(Qty::whole(2));
    hr.prn_reason = Some("headache".into());
    w.record(&hr);
    // 18:00: 1 g more reaches 4 g exactly, allowed; 22:00 anything more passes it.
    w.at("2026-01-05T18:00:00Z");
    w.record(&give_prn("para", PARA_GTIN, 2));
    w.at("2026-01-05T22:00:00Z");
    let got = w.assess(&give_prn("para", PARA_GTIN, 1));
    assert_eq!(codes(&got), vec![FindingCode::IngredientMaxExceeded]);
    // Next morning the 06:00 dose has dropped out of the 24 hours.
    w.at("2026-01-06T06:01:00Z");
    assert!(w.assess(&give_prn("para", PARA_GTIN, 2)).ready());
}

#[test]
fn s04_per_order_maximum_in_24_hours() {
    let mut w = World::new("2026-01-05T00:00:00Z");
    w.orders[1].prn.as_mut().unwrap().max_per_24h = Qty::whole(3);
    w.record(&give_prn("para", PARA_GTIN, 2));
    w.at("2026-01-05T04:00:00Z");
    let got = w.assess(&give_prn("para", PARA_GTIN, 2));
    assert_eq!(codes(&got), vec![FindingCode::PrnMaxExceeded]);
    assert!(w.assess(&give_prn("para", PARA_GTIN, 1)).ready());
}

#[test]
fn s04_no_prn_dose_without_a_protocol_or_a_reason() {
    let mut w = World::new("2026-01-05T10:00:00Z");
    w.orders[1].prn = None;
    let got = w.assess(&give_prn("para", PARA_GTIN, 1));
    assert!(got.has(FindingCode::NoPrnProtocol));
    let w = World::new("2026-01-05T10:00:00Z");
    let mut a = give_prn("para", PARA_GTIN, 1);
    a.prn_reason = Some("  ".into());
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::PrnReasonNeeded]);
}

// --- S5 active orders only -------------------------------------------------------------------

#[test]
fn s05_pending_discontinued_and_ended_orders_cannot_be_given() {
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    let mut w = World::new("2026-01-05T08:00:00Z");
    assert!(w.assess(&a).ready());
    w.orders[0].status = OrderStatus::Pending;
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::OrderPending]);
    w.orders[0].status = OrderStatus::Discontinued {
        at: utc("2026-01-04T12:00:00Z"),
        reason: "GP stopped it".into(),
    };
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::OrderNotActive]);
    w.orders[0].status = OrderStatus::Active;
    w.orders[0].end = Some(day(2026, 1, 4));
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::OrderEnded]);
}

#[test]
fn s05_the_last_dose_of_a_course_can_be_given_in_its_window_after_midnight() {
    // A course ending on 5 January: its 22:00 dose is given at 00:10 on the 6th, late with a
    // reason, inside its window. It is the course's dose, not a dose of an ended order.
    let mut w = World::new("2026-01-06T00:10:00Z");
    w.orders[0].schedule = Schedule::Daily {
        times: vec![hm(22, 0)],
    };
    w.orders[0].end = Some(day(2026, 1, 5));
    let mut a = give(slot("aml", "2026-01-05T22:00:00Z"), "02000000000039");
    a.late_reason = Some("resident was in the bath".into());
    assert!(w.assess(&a).ready(), "{:?}", codes(&w.assess(&a)));
    // The next evening's slot is past the course: refused as ended.
    w.at("2026-01-06T22:00:00Z");
    let b = give(slot("aml", "2026-01-06T22:00:00Z"), "02000000000039");
    assert_eq!(codes(&w.assess(&b)), vec![FindingCode::OrderEnded]);
}

#[test]
fn s03_a_dose_at_a_time_the_order_never_schedules_is_refused() {
    // Methotrexate weekly on Mondays: 5 January 2026 is a Monday.
    let mut w = World::new("2026-01-06T08:00:00Z");
    w.orders[0].schedule = Schedule::Weekly {
        days: vec![chrono::Weekday::Mon],
        times: vec![hm(8, 0)],
    };
    let tuesday = give(slot("aml", "2026-01-06T08:00:00Z"), "02000000000039");
    assert_eq!(
        codes(&w.assess(&tuesday)),
        vec![FindingCode::NotAScheduledDose]
    );
    w.at("2026-01-05T08:00:00Z");
    let monday = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert!(w.assess(&monday).ready());
    // Every other day from 1 January: the 2nd is a day off, the 3rd a dose day.
    w.orders[0].schedule = Schedule::EveryNDays {
        every: 2,
        times: vec![hm(8, 0)],
    };
    w.at("2026-01-02T08:00:00Z");
    let off = give(slot("aml", "2026-01-02T08:00:00Z"), "02000000000039");
    assert_eq!(codes(&w.assess(&off)), vec![FindingCode::NotAScheduledDose]);
    w.at("2026-01-03T08:00:00Z");
    assert!(w
        .assess(&give(slot("aml", "2026-01-03T08:00:00Z"), "02000000000039"))
        .ready());
    // A daily order at 08:00 named at 09:00 the same day.
    w.orders[0].schedule = Schedule::Daily {
        times: vec![hm(8, 0)],
    };
    w.at("2026-01-03T09:00:00Z");
    let mut odd = give(slot("aml", "2026-01-03T09:00:00Z"), "02000000000039");
    odd.late_reason = Some("x".into());
    assert!(codes(&w.assess(&odd)).contains(&FindingCode::NotAScheduledDose));
}

#[test]
fn s08_a_range_of_whole_units_takes_whole_units_unless_halves_are_allowed() {
    let mut w = World::new("2026-01-05T10:00:00Z");
    let mut a = give_prn("para", PARA_GTIN, 1);
    a.quantity = Some(Qty::from_f64(1.5));
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::QuantityOutOfRange]);
    w.orders[1].dose = Dose::Range {
        min: Qty::whole(1),
        max: Qty::whole(2),
        halves: true,
    };
    assert!(w.assess(&a).ready(), "{:?}", codes(&w.assess(&a)));
    a.quantity = Some(Qty::from_f64(1.25));
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::QuantityOutOfRange]);
    // A range measured in parts of a unit (2.5 to 5 ml) takes any amount in it.
    w.orders[1].dose = Dose::Range {
        min: Qty::from_f64(2.5),
        max: Qty::whole(5),
        halves: false,
    };
    a.quantity = Some(Qty::from_f64(3.75));
    assert!(w.assess(&a).ready(), "{:?}", codes(&w.assess(&a)));
}

#[test]
fn s05_unknown_order_blocks() {
    let w = World::new("2026-01-05T08:00:00Z");
    let a = give(slot("nope", "2026-01-05T08:00:00Z"), "02000000000039");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::UnknownOrder]);
}

// --- S6 allergies ----------------------------------------------------------------------------

fn amoxicillin() -> Order {
    Order {
        medicine: medicine(
            "Amoxicillin 500mg capsules",
            "02000000000046",
            &[("amoxicillin", None), ("Penicillin", None)],
        ),
        ..regular("amox", &[hm(8, 0)])
    }
}

#[test]
fn s06_allergy_match_blocks() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders.push(amoxicillin());
    let a = give(slot("amox", "2026-01-05T08:00:00Z"), "02000000000046");
    let got = w.assess(&a);
    assert_eq!(codes(&got), vec![FindingCode::AllergyMatch]);
    assert!(got.findings[0].message.contains("penicillin"));
}

#[test]
fn s06_prescriber_override_is_a_warning_that_must_be_acknowledged_and_is_recorded() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders.push(amoxicillin());
    let mut a = give(slot("amox", "2026-01-05T08:00:00Z"), "02000000000046");
    a.allergy_override = Some("Dr Patel 4 Jan: rash was not allergic, tolerated since".into());
    let got = w.assess(&a);
    assert!(!got.blocked());
    assert!(!got.ready());
    assert_eq!(got.unacknowledged, vec![FindingCode::AllergyOverridden]);
    a.acknowledged.push(FindingCode::AllergyOverridden);
    let id = w.record(&a);
    let r = w.history.iter().find(|r| r.id == id).unwrap();
    assert!(r.allergy_override.is_some());
    assert_eq!(r.acknowledged, vec![FindingCode::AllergyOverridden]);
}

// --- S7 controlled drugs ---------------------------------------------------------------------

fn morphine() -> Order {
    Order {
        medicine: medicine(
            "Morphine sulfate 10mg/5ml oral solution",
            "02000000000053",
            &[("morphine", Some(2))],
        ),
        dose: Dose::Fixed {
            qty: Qty::from_f64(2.5),
        },
        unit: "ml".into(),
        cd: Some(CdSchedule::Schedule2),
        ..regular("mor", &[hm(8, 0)])
    }
}

#[test]
fn s07_cd_with_a_trained_authenticated_witness_is_accepted() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders.push(morphine());
    w.witness = Some((staff("s1", Role::Senior), true));
    w.cd_balance = Some(Qty::whole(100));
    let id = w.record(&give(slot("mor", "2026-01-05T08:00:00Z"), "02000000000053"));
    let r = w.history.iter().find(|r| r.id == id).unwrap();
    assert_eq!(r.witness, Some(StaffId::new("s1")));
    assert_eq!(r.quantity, Some(Qty::from_f64(2.5)));
}

#[test]
fn s07_cd_without_witness_or_with_same_untrained_or_unauthenticated_witness_blocks() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders.push(morphine());
    w.cd_balance = Some(Qty::whole(100));
    let a = give(slot("mor", "2026-01-05T08:00:00Z"), "02000000000053");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::WitnessNeeded]);
    w.witness = Some((w.author.clone(), true));
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::WitnessSamePerson]);
    let mut untrained = staff("s2", Role::Senior);
    untrained.medication_trained = false;
    w.witness = Some((untrained, true));
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::WitnessNotTrained]);
    w.witness = Some((staff("s1", Role::Senior), false));
    assert_eq!(
        codes(&w.assess(&a)),
        vec![FindingCode::WitnessNotAuthenticated]
    );
}

#[test]
fn s07_cd_balance_can_never_go_negative() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders.push(morphine());
    w.witness = Some((staff("s1", Role::Senior), true));
    w.cd_balance = Some(Qty::from_f64(2.0));
    let a = give(slot("mor", "2026-01-05T08:00:00Z"), "02000000000053");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::CdBalanceNegative]);
    w.cd_balance = Some(Qty::from_f64(2.5));
    assert!(w.assess(&a).ready());
    assert_eq!(
        crate::cd::next_balance(
            Qty::from_f64(2.5),
            &CdMovement::Administered {
                qty: Qty::from_f64(2.5),
                administration: RecordId::new("x")
            },
            "ml"
        ),
        Ok(Qty::ZERO)
    );
}

// --- S8 no blanks ----------------------------------------------------------------------------

#[test]
fn s08_refusal_needs_a_note() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let mut a = DoseAttempt::new(slot("aml", "2026-01-05T08:00:00Z"), OutcomeCode::Refused);
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::NoteNeeded]);
    a.note = Some("Said she would take it later; offered again at 09:00, declined".into());
    w.record(&a);
}

#[test]
fn s08_staff_cannot_choose_missed() {
    let w = World::new("2026-01-05T08:00:00Z");
    let a = DoseAttempt::new(slot("aml", "2026-01-05T08:00:00Z"), OutcomeCode::Missed);
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::OutcomeNotAllowed]);
}

#[test]
fn s08_variable_dose_needs_a_quantity_in_range() {
    let w = World::new("2026-01-05T10:00:00Z");
    let mut a = give_prn("para", PARA_GTIN, 3);
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::QuantityOutOfRange]);
    a.quantity = None;
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::QuantityNeeded]);
}

#[test]
fn s08_unresolved_slots_close_as_missed_and_show_on_the_round() {
    let mut w = World::new("2026-01-05T11:30:00Z");
    w.orders[0].schedule = Schedule::Daily {
        times: vec![hm(8, 0), hm(17, 0)],
    };
    let c = w.close(&[], "2026-01-05T00:00:00Z");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].outcome, OutcomeCode::Missed);
    assert_eq!(c[0].at, utc("2026-01-05T08:00:00Z"));
    // Not yet closed at 10:59: the late allowance still runs.
    let early = closures(
        &w.resident,
        &w.orders,
        &w.history,
        &[],
        utc("2026-01-05T00:00:00Z"),
        utc("2026-01-05T10:59:00Z"),
        HOME_TZ,
    );
    assert!(early.is_empty());
    // The system's MISSED record shows on the round.
    // (Yesterday's 17:00 dose was never closed in this test, so it counts as missed too.)
    w.history
        .push(system_missed("m1", "aml", "2026-01-05T08:00:00Z", w.now));
    let r = resident_round(
        &w.resident,
        &w.orders,
        &w.history,
        w.now,
        Duration::hours(6),
        HOME_TZ,
    );
    assert_eq!(r.missed, 1);
    let r = resident_round(
        &w.resident,
        &w.orders,
        &w.history,
        w.now,
        Duration::hours(24),
        HOME_TZ,
    );
    assert_eq!(r.missed, 2);
    // And is not closed twice.
    assert!(w.close(&[], "2026-01-05T00:00:00Z").is_empty());
}

fn system_missed(id: &str, order: &str, at: &str, now: DateTime<Utc>) -> Administration {
    Administration {
        id: RecordId::new(id),
        resident: ResidentId::new("r1"),
        subject: slot(order, at),
        outcome: OutcomeCode::Missed,
        quantity: None,
        note: None,
        occurred_at: now,
        recorded_at: now,
        late_reason: None,
        retrospective_reason: None,
        author: StaffId::new("system"),
        device: DeviceId::new("tab1"),
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

#[test]
fn s08_one_outcome_per_slot() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    w.record(&a);
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::AlreadyRecorded]);
}

#[test]
fn s08_a_slot_days_back_already_recorded_is_seen_from_the_older_slot_history() {
    // Given on the 5th; on the 8th only the order's slot history still holds it.
    let mut w = World::new("2026-01-05T08:00:00Z");
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    w.record(&a);
    w.slot_history = facts(&w.history);
    w.history.clear();
    w.at("2026-01-08T08:00:00Z");
    let mut late = a.clone();
    late.occurred_at = Some(utc("2026-01-05T08:10:00Z"));
    late.retrospective_reason = Some("Written up late".into());
    assert!(codes(&w.assess(&late)).contains(&FindingCode::AlreadyRecorded));
    // Voided by a correction, it no longer stands in the way.
    let mut fix = w.slot_history[0].clone();
    fix.id = RecordId::new("fix");
    fix.outcome = OutcomeCode::EnteredInError;
    fix.voids = Some(w.slot_history[0].id.clone());
    w.slot_history.push(fix);
    assert!(!codes(&w.assess(&late)).contains(&FindingCode::AlreadyRecorded));
}

// --- S9 append-only corrections --------------------------------------------------------------

#[test]
fn s09_correction_voids_without_deleting() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let id = w.record(&give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039"));
    let before = w.history.clone();
    let c = correct(
        &w.history,
        &w.orders,
        &id,
        "recorded for the wrong resident",
        Corrector {
            author: &w.author,
            witness: None,
        },
        w.now,
        RecordId::new("c1"),
        DeviceId::new("tab1"),
    )
    .unwrap();
    assert_eq!(c.outcome, OutcomeCode::EnteredInError);
    assert_eq!(c.voids.as_ref(), Some(&id));
    w.history.push(c);
    // The original is untouched and still present.
    assert_eq!(&w.history[..before.len()], &before[..]);
    assert_eq!(standing(&w.history).count(), 0);
    // The slot is open again and can be recorded properly.
    let mut a = DoseAttempt::new(slot("aml", "2026-01-05T08:00:00Z"), OutcomeCode::Asleep);
    a.note = None;
    assert!(w.assess(&a).ready());
}

#[test]
fn s09_correction_needs_a_reason_and_only_once() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let id = w.record(&give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039"));
    let e = correct(
        &w.history,
        &w.orders,
        &id,
        " ",
        Corrector {
            author: &w.author,
            witness: None,
        },
        w.now,
        RecordId::new("c1"),
        DeviceId::new("t"),
    )
    .unwrap_err();
    assert_eq!(e[0].code, FindingCode::NoteNeeded);
    let c = correct(
        &w.history,
        &w.orders,
        &id,
        "wrong",
        Corrector {
            author: &w.author,
            witness: None,
        },
        w.now,
        RecordId::new("c1"),
        DeviceId::new("t"),
    )
    .unwrap();
    w.history.push(c);
    let e = correct(
        &w.history,
        &w.orders,
        &id,
        "again",
        Corrector {
            author: &w.author,
            witness: None,
        },
        w.now,
        RecordId::new("c2"),
        DeviceId::new("t"),
    )
    .unwrap_err();
    assert_eq!(e[0].code, FindingCode::AlreadyCorrected);
    let e = correct(
        &w.history,
        &w.orders,
        &RecordId::new("c1"),
        "undo",
        Corrector {
            author: &w.author,
            witness: None,
        },
        w.now,
        RecordId::new("c3"),
        DeviceId::new("t"),
    )
    .unwrap_err();
    assert_eq!(e[0].code, FindingCode::NothingToCorrect);
    let e = correct(
        &w.history,
        &w.orders,
        &RecordId::new("zzz"),
        "x",
        Corrector {
            author: &w.author,
            witness: None,
        },
        w.now,
        RecordId::new("c4"),
        DeviceId::new("t"),
    )
    .unwrap_err();
    assert_eq!(e[0].code, FindingCode::NothingToCorrect);
}

// --- S10 honest time -------------------------------------------------------------------------

#[test]
fn s10_retrospective_entry_needs_a_reason_and_is_marked() {
    let mut w = World::new("2026-01-05T11:30:00Z");
    w.history.push(system_missed(
        "m1",
        "aml",
        "2026-01-05T08:00:00Z",
        utc("2026-01-05T11:00:00Z"),
    ));
    let mut a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    a.occurred_at = Some(utc("2026-01-05T08:05:00Z"));
    assert_eq!(
        codes(&w.assess(&a)),
        vec![FindingCode::RetrospectiveReasonNeeded]
    );
    a.retrospective_reason = Some("tablet battery flat during the round".into());
    let id = w.record(&a);
    let r = w.history.iter().find(|r| r.id == id).unwrap();
    assert!(r.is_retrospective());
    assert_eq!(r.occurred_at, utc("2026-01-05T08:05:00Z"));
    assert_eq!(r.recorded_at, utc("2026-01-05T11:30:00Z"));
    // The staff record now stands over the system's MISSED.
    let stand: Vec<_> = standing(&w.history).collect();
    assert_eq!(
        crate::mar::slot_outcome(stand.into_iter()).unwrap().outcome,
        OutcomeCode::Given
    );
}

#[test]
fn s10_future_time_blocks() {
    let w = World::new("2026-01-05T08:00:00Z");
    let mut a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    a.occurred_at = Some(utc("2026-01-05T08:30:00Z"));
    assert!(w.assess(&a).has(FindingCode::FutureTime));
}

// --- S11 repeated omissions ------------------------------------------------------------------

#[test]
fn s11_three_consecutive_omissions_raise_a_review() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let refuse = |w: &mut World, d: &str| {
        w.at(&format!("{d}T08:00:00Z"));
        let mut a = DoseAttempt::new(slot("aml", &format!("{d}T08:00:00Z")), OutcomeCode::Refused);
        a.note = Some("declined".into());
        w.record(&a);
    };
    refuse(&mut w, "2026-01-05");
    refuse(&mut w, "2026-01-06");
    assert!(omission_review(&w.orders[0], &facts(&w.history)).is_none());
    w.history.push(system_missed(
        "m",
        "aml",
        "2026-01-07T08:00:00Z",
        utc("2026-01-07T11:00:00Z"),
    ));
    let r = omission_review(&w.orders[0], &facts(&w.history)).unwrap();
    assert_eq!(
        r.outcomes,
        vec![
            OutcomeCode::Refused,
            OutcomeCode::Refused,
            OutcomeCode::Missed
        ]
    );
}

#[test]
fn s11_a_dose_given_in_between_resets_the_count() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    for (d, given) in [
        ("2026-01-05", false),
        ("2026-01-06", true),
        ("2026-01-07", false),
        ("2026-01-08", false),
    ] {
        w.at(&format!("{d}T08:00:00Z"));
        let s = slot("aml", &format!("{d}T08:00:00Z"));
        if given {
            w.record(&give(s, "02000000000039"));
        } else {
            let mut a = DoseAttempt::new(s, OutcomeCode::Refused);
            a.note = Some("no".into());
            w.record(&a);
        }
    }
    assert!(omission_review(&w.orders[0], &facts(&w.history)).is_none());
}

// --- S12 covert ------------------------------------------------------------------------------

#[test]
fn s12_covert_only_with_an_in_date_plan() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders[0].covert_allowed = true;
    let mut a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    a.covert = true;
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::CovertNotAllowed]);
    w.resident.covert_plan = Some(CovertPlan {
        agreed_on: day(2025, 6, 1),
        review_by: day(2025, 12, 1),
        how: "crushed in yoghurt".into(),
    });
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::CovertPlanOutOfDate]);
    w.resident.covert_plan = Some(CovertPlan {
        agreed_on: day(2025, 12, 1),
        review_by: day(2026, 6, 1),
        how: "crushed in yoghurt".into(),
    });
    assert!(w.assess(&a).ready());
    w.orders[0].covert_allowed = false;
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::CovertNotAllowed]);
}

// --- S13 patches and creams ------------------------------------------------------------------

fn fentanyl() -> Order {
    Order {
        medicine: medicine(
            "Fentanyl 12micrograms/hour transdermal patches",
            "02000000000060",
            &[("fentanyl", None)],
        ),
        unit: "patch".into(),
        route: Route::Transdermal,
        schedule: Schedule::EveryNDays {
            every: 3,
            times: vec![hm(9, 0)],
        },
        cd: Some(CdSchedule::Schedule2),
        application: Application::Patch { site_rest_days: 7 },
        ..regular("fen", &[])
    }
}

#[test]
fn s13_patch_needs_a_site_and_removal_of_the_previous_one() {
    let mut w = World::new("2026-01-01T09:00:00Z");
    w.orders.push(fentanyl());
    w.witness = Some((staff("s1", Role::Senior), true));
    w.cd_balance = Some(Qty::whole(5));
    let mut a = give(slot("fen", "2026-01-01T09:00:00Z"), "02000000000060");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::SiteNeeded]);
    a.site = Some("left upper arm".into());
    w.record(&a);

    w.at("2026-01-04T09:00:00Z");
    let mut b = give(slot("fen", "2026-01-04T09:00:00Z"), "02000000000060");
    b.site = Some("right upper arm".into());
    assert_eq!(
        codes(&w.assess(&b)),
        vec![FindingCode::PreviousPatchNotRemoved]
    );
    w.removals.push(PatchRemoval {
        id: RecordId::new("rm1"),
        resident: ResidentId::new("r1"),
        order: OrderId::new("fen"),
        site: "left upper arm".into(),
        occurred_at: utc("2026-01-04T08:58:00Z"),
        author: StaffId::new("c1"),
        device: DeviceId::new("tab1"),
    });
    assert!(w.assess(&b).ready());
}

#[test]
fn s13_site_reused_too_soon_warns() {
    let mut w = World::new("2026-01-01T09:00:00Z");
    w.orders.push(fentanyl());
    w.witness = Some((staff("s1", Role::Senior), true));
    w.cd_balance = Some(Qty::whole(5));
    let mut a = give(slot("fen", "2026-01-01T09:00:00Z"), "02000000000060");
    a.site = Some("left upper arm".into());
    w.record(&a);
    w.removals.push(PatchRemoval {
        id: RecordId::new("rm1"),
        resident: ResidentId::new("r1"),
        order: OrderId::new("fen"),
        site: "left upper arm".into(),
        occurred_at: utc("2026-01-04T08:58:00Z"),
        author: StaffId::new("c1"),
        device: DeviceId::new("tab1"),
    });
    w.at("2026-01-04T09:00:00Z");
    let mut b = give(slot("fen", "2026-01-04T09:00:00Z"), "02000000000060");
    b.site = Some("Left upper arm".into());
    let got = w.assess(&b);
    assert_eq!(got.unacknowledged, vec![FindingCode::SiteReusedTooSoon]);
    b.acknowledged = vec![FindingCode::SiteReusedTooSoon];
    assert!(w.assess(&b).ready());
}

#[test]
fn s13_cream_needs_a_site() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders[0].application = Application::Topical;
    let mut a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::SiteNeeded]);
    a.site = Some("both lower legs".into());
    assert!(w.assess(&a).ready());
}

// --- S14 stock -------------------------------------------------------------------------------

#[test]
fn s14_a_dose_given_takes_its_quantity_from_its_orders_stock() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.record(&give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039"));
    // The order's dose, when no quantity was chosen.
    assert_eq!(w.history[0].from_stock, Some(Qty::whole(1)));
    w.at("2026-01-05T09:00:00Z");
    w.record(&give_prn("para", PARA_GTIN, 2));
    // The quantity chosen, for a variable dose.
    assert_eq!(w.history[1].from_stock, Some(Qty::whole(2)));
}

#[test]
fn s14_a_dose_not_given_or_from_the_homes_own_remedies_takes_nothing_from_stock() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let mut refused = DoseAttempt::new(slot("aml", "2026-01-05T08:00:00Z"), OutcomeCode::Refused);
    refused.note = Some("Declined, offered again at 09:00".into());
    w.record(&refused);
    assert_eq!(w.history[0].from_stock, None);
    // A homely remedy comes from the home's supply, not a resident's order.
    w.at("2026-01-05T20:00:00Z");
    with_remedy(&mut w);
    w.record(&give_remedy("hr-sen"));
    assert_eq!(w.history[1].from_stock, None);
    // A correction takes nothing itself: the app books the voided dose's quantity back in.
    let void = correct(
        &w.history,
        &w.orders,
        &w.history[0].id.clone(),
        "Wrong resident",
        Corrector {
            author: &w.author,
            witness: None,
        },
        w.now,
        RecordId::new("void1"),
        DeviceId::new("tab1"),
    )
    .unwrap();
    assert_eq!(void.from_stock, None);
}

#[test]
fn s14_stock_alerts() {
    use crate::stock::{alerts, daily_use, StockAlert};
    let mut o = regular("aml", &[hm(8, 0), hm(20, 0)]);
    assert_eq!(daily_use(&o), Qty::whole(2));
    let today = day(2026, 1, 5);
    assert!(alerts(&o, Qty::whole(28), today).is_empty());
    assert_eq!(
        alerts(&o, Qty::whole(5), today),
        vec![StockAlert::Low {
            level: Qty::whole(5),
            days_left: 2
        }]
    );
    assert_eq!(
        alerts(&o, Qty::whole(-1), today),
        vec![StockAlert::Negative {
            level: Qty::whole(-1)
        }]
    );
    o.end = Some(day(2026, 1, 7));
    assert!(
        alerts(&o, Qty::whole(28), today).contains(&StockAlert::CourseEnding {
            on: day(2026, 1, 7)
        })
    );
}

// --- S15 away and reconciliation -------------------------------------------------------------

#[test]
fn s15_away_resident_slots_resolve_to_hospital() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.resident.presence = Presence::InHospital {
        since: utc("2026-01-04T15:00:00Z"),
    };
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::ResidentAway]);
    w.at("2026-01-05T12:00:00Z");
    let c = w.close(&[], "2026-01-05T00:00:00Z");
    assert_eq!(c[0].outcome, OutcomeCode::Hospital);
    let r = resident_round(
        &w.resident,
        &w.orders,
        &w.history,
        w.now,
        Duration::hours(24),
        HOME_TZ,
    );
    assert!(r.away);
}

fn event(resident: &Resident, change: crate::record::ResidentChange, at: &str) -> ResidentEvent {
    ResidentEvent {
        id: RecordId::new(format!("ev-{at}")),
        resident: resident.id.clone(),
        change,
        at: utc(at),
        author: StaffId::new("s1"),
        device: DeviceId::new("dev-a"),
    }
}

/// S15: the resident went to hospital at 07:00 and was back at 13:00, and no tablet closed the
/// 08:00 and 12:00 windows in between. Closed afterwards, they are HOSPITAL, not MISSED; the
/// 17:00 slot, after the return, is missed.
#[test]
fn s15_slots_while_away_close_as_hospital_even_when_closed_after_the_return() {
    use crate::record::ResidentChange;
    let mut w = World::new("2026-01-05T20:00:00Z");
    w.orders[0].schedule = Schedule::Daily {
        times: vec![hm(8, 0), hm(12, 0), hm(17, 0)],
    };
    let back = event(
        &w.resident,
        ResidentChange::Back {
            was: Presence::InHospital {
                since: utc("2026-01-05T07:00:00Z"),
            },
        },
        "2026-01-05T13:00:00Z",
    );
    let c = w.close(std::slice::from_ref(&back), "2026-01-05T00:00:00Z");
    let outcomes: Vec<(DateTime<Utc>, OutcomeCode)> = c.iter().map(|c| (c.at, c.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (utc("2026-01-05T08:00:00Z"), OutcomeCode::Hospital),
            (utc("2026-01-05T12:00:00Z"), OutcomeCode::Hospital),
            (utc("2026-01-05T17:00:00Z"), OutcomeCode::Missed),
        ]
    );
    // Without the return's record, the same slots would all be MISSED: the event is what
    // keeps the period.
    let blind = w.close(&[], "2026-01-05T00:00:00Z");
    assert!(blind.iter().all(|c| c.outcome == OutcomeCode::Missed));
    // Someone else's return says nothing of this resident.
    let mut other = back.clone();
    other.resident = ResidentId::new("someone-else");
    assert!(w
        .close(&[other], "2026-01-05T00:00:00Z")
        .iter()
        .all(|c| c.outcome == OutcomeCode::Missed));
}

/// S8: a resident admitted at 11:00 did not miss the 08:00 dose of an order that started that
/// day; the 17:00 one, after admission, is theirs.
#[test]
fn s08_slots_before_admission_are_not_closed_as_missed() {
    use crate::record::ResidentChange;
    let mut w = World::new("2026-01-05T20:00:00Z");
    w.orders[0].schedule = Schedule::Daily {
        times: vec![hm(8, 0), hm(17, 0)],
    };
    let admitted = event(
        &w.resident,
        ResidentChange::Admitted,
        "2026-01-05T11:00:00Z",
    );
    let c = w.close(&[admitted], "2026-01-05T00:00:00Z");
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].at, c[0].outcome),
        (utc("2026-01-05T17:00:00Z"), OutcomeCode::Missed)
    );
}

/// S15: a resident discharged or who has died leaves the round: their doses are refused, and
/// their slots from then on are not closed as missed. Readmitted, they come back locked until
/// a senior reconciles their medicines.
#[test]
fn s15_a_resident_who_leaves_the_home_has_no_more_doses_and_can_be_readmitted() {
    use crate::record::ResidentChange;
    let mut w = World::new("2026-01-05T07:00:00Z");
    w.orders[0].schedule = Schedule::Daily {
        times: vec![hm(8, 0), hm(17, 0)],
    };
    let senior = staff("s1", Role::Senior);
    assert_eq!(
        change_presence(
            &w.resident,
            &staff("c1", Role::Carer),
            PresenceChange::Died,
            w.now
        )
        .unwrap_err()
        .code,
        FindingCode::RoleNotAllowed
    );
    // From hospital too: someone may die there.
    let in_hospital =
        change_presence(&w.resident, &senior, PresenceChange::ToHospital, w.now).unwrap();
    let died = change_presence(&in_hospital, &senior, PresenceChange::Died, w.now).unwrap();
    assert!(died.has_left() && !died.is_away());
    assert_eq!(
        died.presence,
        Presence::Left {
            since: w.now,
            reason: LeftReason::Died
        }
    );
    let discharged =
        change_presence(&w.resident, &senior, PresenceChange::Discharged, w.now).unwrap();
    for change in [
        PresenceChange::ToHospital,
        PresenceChange::OnLeave,
        PresenceChange::Discharged,
    ] {
        assert_eq!(
            change_presence(&discharged, &senior, change, w.now)
                .unwrap_err()
                .code,
            FindingCode::PresenceUnchanged
        );
    }
    w.resident = discharged.clone();
    w.at("2026-01-05T08:00:00Z");
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert!(codes(&w.assess(&a)).contains(&FindingCode::ResidentLeft));
    // Nothing closes for the slots after they left.
    w.at("2026-01-05T20:00:00Z");
    assert!(w.close(&[], "2026-01-05T00:00:00Z").is_empty());
    // Readmitted at 20:00: locked until reconciled, and the day they were gone stays unclosed.
    let back = change_presence(&discharged, &senior, PresenceChange::Back, w.now).unwrap();
    assert_eq!(back.presence, Presence::Present);
    assert!(back.reconciliation_pending);
    let readmitted = event(
        &back,
        ResidentChange::Back {
            was: discharged.presence.clone(),
        },
        "2026-01-05T20:00:00Z",
    );
    assert!(closures(
        &back,
        &w.orders,
        &w.history,
        &[readmitted],
        utc("2026-01-05T00:00:00Z"),
        w.now,
        HOME_TZ,
    )
    .is_empty());
}

#[test]
fn s15_back_from_hospital_stays_locked_until_a_senior_reconciles() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.resident.reconciliation_pending = true;
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert_eq!(
        codes(&w.assess(&a)),
        vec![FindingCode::ReconciliationPending]
    );
    assert!(reconcile(&w.resident, &staff("c2", Role::Carer)).is_err());
    assert!(reconcile(&w.resident, &staff("s1", Role::Senior)).is_ok());
    w.resident.reconciliation_pending = false;
    assert!(w.assess(&a).ready());
}

#[test]
fn s15_a_senior_records_a_resident_gone_to_hospital_and_back_and_doses_lock() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let senior = staff("s1", Role::Senior);
    let carer = staff("c1", Role::Carer);
    assert_eq!(
        change_presence(&w.resident, &carer, PresenceChange::ToHospital, w.now)
            .unwrap_err()
            .code,
        FindingCode::RoleNotAllowed
    );
    assert_eq!(
        change_presence(&w.resident, &senior, PresenceChange::Back, w.now)
            .unwrap_err()
            .code,
        FindingCode::PresenceUnchanged
    );
    let gone = change_presence(&w.resident, &senior, PresenceChange::ToHospital, w.now).unwrap();
    assert_eq!(gone.presence, Presence::InHospital { since: w.now });
    for again in [PresenceChange::ToHospital, PresenceChange::OnLeave] {
        assert_eq!(
            change_presence(&gone, &senior, again, w.now)
                .unwrap_err()
                .code,
            FindingCode::PresenceUnchanged
        );
    }
    w.resident = gone;
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::ResidentAway]);
    let back = change_presence(&w.resident, &senior, PresenceChange::Back, w.now).unwrap();
    assert_eq!(back.presence, Presence::Present);
    assert!(back.reconciliation_pending);
    w.resident = back;
    assert_eq!(
        codes(&w.assess(&a)),
        vec![FindingCode::ReconciliationPending]
    );
    // Leave works the same way, and its return locks doses as well.
    let mut present = w.resident.clone();
    present.reconciliation_pending = false;
    let leave = change_presence(&present, &senior, PresenceChange::OnLeave, w.now).unwrap();
    assert_eq!(leave.presence, Presence::OnLeave { since: w.now });
    assert!(
        change_presence(&leave, &senior, PresenceChange::Back, w.now)
            .unwrap()
            .reconciliation_pending
    );
}

// --- S16 new and changed orders --------------------------------------------------------------

#[test]
fn s16_pending_order_checked_in_by_a_senior_hand_entered_by_two() {
    let mut o = regular("new", &[hm(8, 0)]);
    o.status = OrderStatus::Pending;
    let senior = staff("s1", Role::Senior);
    let other = staff("s2", Role::Senior);
    assert_eq!(
        check_in(
            &o,
            &staff("c1", Role::Carer),
            None,
            &resident(),
            &[],
            day(2026, 1, 5),
            &[]
        )
        .unwrap_err()[0]
            .code,
        FindingCode::RoleNotAllowed
    );
    assert_eq!(
        check_in(&o, &senior, None, &resident(), &[], day(2026, 1, 5), &[]).unwrap(),
        vec![StaffId::new("s1")]
    );
    o.source = OrderSource::HandEntered;
    assert_eq!(
        check_in(&o, &senior, None, &resident(), &[], day(2026, 1, 5), &[]).unwrap_err()[0].code,
        FindingCode::SecondCheckerNeeded
    );
    assert_eq!(
        check_in(
            &o,
            &senior,
            Some(&senior),
            &resident(),
            &[],
            day(2026, 1, 5),
            &[]
        )
        .unwrap_err()[0]
            .code,
        FindingCode::SecondCheckerNeeded
    );
    assert_eq!(
        check_in(
            &o,
            &senior,
            Some(&other),
            &resident(),
            &[],
            day(2026, 1, 5),
            &[]
        )
        .unwrap()
        .len(),
        2
    );
    o.status = OrderStatus::Active;
    assert!(check_in(
        &o,
        &senior,
        Some(&other),
        &resident(),
        &[],
        day(2026, 1, 5),
        &[]
    )
    .is_err());
}

// --- S17 homely remedies ---------------------------------------------------------------------

fn with_remedy(w: &mut World) {
    w.remedies.push(HomelyRemedy {
        id: RemedyId::new("hr-sen"),
        medicine: medicine(
            "Senna 7.5mg tablets",
            "02000000000077",
            &[("sennosides", None)],
        ),
        dose: Dose::Range {
            min: Qty::whole(1),
            max: Qty::whole(2),
            halves: false,
        },
        unit: "tablet".into(),
        indication: "constipation".into(),
        min_interval_minutes: 720,
        max_per_24h: Qty::whole(2),
        max_days: 2,
    });
}

fn give_remedy(id: &str) -> DoseAttempt {
    let mut a = give(
        Subject::Homely {
            remedy: RemedyId::new(id),
        },
        "02000000000077",
    );
    a.quantity = Some(Qty::whole(2));
    a.prn_reason = Some("constipation".into());
    a
}

#[test]
fn s17_homely_remedy_from_the_list_by_authorised_staff() {
    let mut w = World::new("2026-01-05T20:00:00Z");
    with_remedy(&mut w);
    assert!(w.assess(&give_remedy("hr-sen")).ready());
    assert_eq!(
        codes(&w.assess(&give_remedy("hr-unknown"))),
        vec![FindingCode::RemedyNotOnList]
    );
    w.author.homely_authorised = false;
    assert_eq!(
        codes(&w.assess(&give_remedy("hr-sen"))),
        vec![FindingCode::NotAuthorisedForRemedies]
    );
}

#[test]
fn s17_homely_remedy_limits_and_gp_referral_after_the_allowed_days() {
    let mut w = World::new("2026-01-05T20:00:00Z");
    with_remedy(&mut w);
    w.record(&give_remedy("hr-sen"));
    w.at("2026-01-06T02:00:00Z");
    assert!(w
        .assess(&give_remedy("hr-sen"))
        .has(FindingCode::PrnIntervalNotMet));
    w.at("2026-01-06T20:00:00Z");
    w.record(&give_remedy("hr-sen"));
    w.at("2026-01-07T20:00:00Z");
    let got = w.assess(&give_remedy("hr-sen"));
    assert_eq!(got.unacknowledged, vec![FindingCode::RemedyDaysExceeded]);
    assert!(got.findings[0].message.contains("GP"));
}

// --- S18 one dose, two tablets ---------------------------------------------------------------

#[test]
fn s18_two_given_records_for_one_slot_are_a_possible_double_dose() {
    let mut a = World::new("2026-01-05T08:00:00Z");
    let mut b = World::new("2026-01-05T08:05:00Z");
    a.record(&give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039"));
    b.next_id = 100;
    b.record(&give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039"));
    assert!(possible_double_doses(&a.orders, &[], &a.history).is_empty());
    let merged: Vec<_> = a.history.iter().chain(&b.history).cloned().collect();
    let found = possible_double_doses(&a.orders, &[], &merged);
    assert_eq!(
        found,
        vec![DoubleDose::SameSlot {
            records: vec![RecordId::new("rec1"), RecordId::new("rec101")]
        }]
    );
}

#[test]
fn s18_prn_doses_inside_the_interval_after_merge() {
    let mut a = World::new("2026-01-05T10:00:00Z");
    let mut b = World::new("2026-01-05T11:00:00Z");
    a.record(&give_prn("para", PARA_GTIN, 2));
    b.next_id = 100;
    b.record(&give_prn("cocod", COCOD_GTIN, 2));
    let merged: Vec<_> = a.history.iter().chain(&b.history).cloned().collect();
    let found = possible_double_doses(&a.orders, &[], &merged);
    assert_eq!(found.len(), 1);
    assert!(
        matches!(&found[0], DoubleDose::PrnInterval { substance, .. } if substance == "paracetamol")
    );
    // Four hours apart is not a double dose.
    let mut c = World::new("2026-01-05T14:00:00Z");
    c.next_id = 200;
    c.record(&give_prn("para", PARA_GTIN, 2));
    let apart: Vec<_> = a.history.iter().chain(&c.history).cloned().collect();
    assert!(possible_double_doses(&a.orders, &[], &apart).is_empty());
}

// --- S19 roles -------------------------------------------------------------------------------

#[test]
fn s19_auditor_and_untrained_staff_cannot_record() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    w.author = staff("a1", Role::Auditor);
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::RoleNotAllowed]);
    w.author = staff("c9", Role::Carer);
    w.author.medication_trained = false;
    assert_eq!(codes(&w.assess(&a)), vec![FindingCode::RoleNotAllowed]);
}

// --- Issue 13: checks that look both ways, records the system makes, what a dose entails -----

fn regular_paracetamol() -> Order {
    Order {
        medicine: medicine(
            "Paracetamol 500mg tablets",
            PARA_GTIN,
            &[("paracetamol", Some(500))],
        ),
        dose: Dose::Fixed { qty: Qty::whole(2) },
        ..regular("regpara", &[hm(8, 0), hm(12, 0), hm(17, 0), hm(22, 0)])
    }
}

fn new_ids() -> impl FnMut(&str) -> RecordId {
    let mut n = 0;
    move |p: &str| {
        n += 1;
        RecordId::new(format!("{p}-{n}"))
    }
}

#[test]
fn s04_s10_a_late_entry_is_checked_against_doses_recorded_after_its_time() {
    // Co-codamol 2 tablets (1 g paracetamol) at 16:00; paracetamol entered at 18:00 as given
    // at 14:00: two hours apart, where the protocol asks four.
    let mut w = World::new("2026-01-05T16:00:00Z");
    w.record(&give_prn("cocod", COCOD_GTIN, 2));
    w.at("2026-01-05T18:00:00Z");
    let mut late = give_prn("para", PARA_GTIN, 2);
    late.occurred_at = Some(utc("2026-01-05T14:00:00Z"));
    late.retrospective_reason = Some("tablet was flat".into());
    let got = w.assess(&late);
    let f = got
        .findings
        .iter()
        .find(|f| f.code == FindingCode::PrnIntervalNotMet)
        .expect("the later co-codamol is seen");
    // It happened: kept as a warning to acknowledge, never silently.
    assert_eq!(f.severity, Severity::Warn);
    assert!(f.message.contains("16:00"), "{}", f.message);
    assert!(!got.ready());
    late.acknowledged = got.unacknowledged.clone();
    let mut ids = new_ids();
    let (rec, entailed) = record_dose(
        &w.ctx(),
        &late,
        RecordId::new("late"),
        DeviceId::new("t"),
        &mut ids,
    )
    .unwrap();
    assert!(rec.is_retrospective());
    let kinds: Vec<IncidentKind> = entailed.incidents.iter().map(|i| i.kind).collect();
    assert!(kinds.contains(&IncidentKind::LimitBreach), "{kinds:?}");
    assert!(kinds.contains(&IncidentKind::Retrospective), "{kinds:?}");
    // The same dose given now, two hours after the co-codamol, is refused outright.
    let now = give_prn("para", PARA_GTIN, 2);
    let f = w.assess(&now);
    assert!(f.blocks().any(|f| f.code == FindingCode::PrnIntervalNotMet));
}

#[test]
fn s04_a_late_entry_reveals_a_24_hour_total_passed_after_its_time() {
    let mut w = World::new("2026-01-05T07:00:00Z");
    w.orders.push(regular_paracetamol());
    let mut prn = give_prn("para", PARA_GTIN, 2);
    prn.acknowledged = vec![FindingCode::DuplicateTherapy];
    w.record(&prn);
    for at in ["12:00", "17:00", "22:00"] {
        w.at(&format!("2026-01-05T{at}:00Z"));
        let mut a = give(slot("regpara", &format!("2026-01-05T{at}:00Z")), PARA_GTIN);
        a.acknowledged = vec![FindingCode::DuplicateTherapy];
        w.record(&a);
    }
    // 22:30: the 08:00 dose, given but not recorded, is entered. The 24 hours to 22:00 then
    // hold 5 g: 1 g at 07:00, this 1 g at 08:00, and 3 g recorded after it.
    w.at("2026-01-05T22:30:00Z");
    let mut a = give(slot("regpara", "2026-01-05T08:00:00Z"), PARA_GTIN);
    a.occurred_at = Some(utc("2026-01-05T08:00:00Z"));
    a.retrospective_reason = Some("forgot to press Record".into());
    a.acknowledged = vec![FindingCode::DuplicateTherapy];
    let got = w.assess(&a);
    let f = got
        .findings
        .iter()
        .find(|f| f.code == FindingCode::IngredientMaxExceeded)
        .unwrap_or_else(|| panic!("{:?}", codes(&got)));
    assert_eq!(f.severity, Severity::Warn);
    assert!(f.message.contains("22:00"), "{}", f.message);
}

#[test]
fn s04_a_limited_ingredient_with_no_amount_is_never_silently_uncounted() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders.truncate(1);
    w.orders[0].medicine = medicine("Paracetamol", "02000000000039", &[("paracetamol", None)]);
    let got = w.assess(&give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039"));
    assert_eq!(codes(&got), vec![FindingCode::IngredientAmountUnknown]);
    assert!(!got.ready());
}

#[test]
fn duplicate_therapy_warns_at_the_dose_and_at_check_in_unless_both_are_meant() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders.push(regular_paracetamol());
    let mut cocod = w.orders[2].clone();
    cocod.id = OrderId::new("regcocod");
    cocod.schedule = Schedule::Daily {
        times: vec![hm(8, 0)],
    };
    cocod.prn = None;
    cocod.dose = Dose::Fixed { qty: Qty::whole(2) };
    w.orders.push(cocod.clone());
    let a = give(slot("regpara", "2026-01-05T08:00:00Z"), PARA_GTIN);
    let got = w.assess(&a);
    let dupes: Vec<&Finding> = got
        .findings
        .iter()
        .filter(|f| f.code == FindingCode::DuplicateTherapy)
        .collect();
    // Co-codamol (regular and when required) and paracetamol (when required) all contain
    // paracetamol.
    assert_eq!(dupes.len(), 3, "{:?}", codes(&got));
    assert!(dupes.iter().all(|f| f.severity == Severity::Warn));
    assert!(!got.ready());
    // Two when-required orders are left to the cross-product checks (S4).
    let prn_only = w.assess(&give_prn("para", PARA_GTIN, 1));
    assert_eq!(
        prn_only
            .findings
            .iter()
            .filter(|f| f.code == FindingCode::DuplicateTherapy)
            .count(),
        2,
        "only the regular orders: {:?}",
        codes(&prn_only)
    );
    // At check-in: refused with the warning until acknowledged.
    let senior = staff("s1", Role::Senior);
    let mut pending = cocod.clone();
    pending.status = OrderStatus::Pending;
    let others: Vec<Order> = w
        .orders
        .iter()
        .filter(|o| o.id != cocod.id)
        .cloned()
        .collect();
    let e = check_in(
        &pending,
        &senior,
        None,
        &w.resident,
        &others,
        day(2026, 1, 5),
        &[],
    )
    .unwrap_err();
    assert_eq!(e[0].code, FindingCode::DuplicateTherapy);
    assert!(e[0].message.contains("Paracetamol"), "{}", e[0].message);
    assert!(check_in(
        &pending,
        &senior,
        None,
        &w.resident,
        &others,
        day(2026, 1, 5),
        &[FindingCode::DuplicateTherapy]
    )
    .is_ok());
    // The prescriber's note that both are meant settles it for every dose.
    for o in w.orders.iter_mut().filter(|o| o.id.as_str() == "regcocod") {
        o.both_intended = Some("Dr Patel: both meant, 4 g a day at most".into());
    }
    let got = w.assess(&a);
    assert_eq!(
        got.findings
            .iter()
            .filter(|f| f.code == FindingCode::DuplicateTherapy)
            .count(),
        2,
        "the when-required orders still warn: {:?}",
        codes(&got)
    );
}

#[test]
fn s11_a_slot_the_system_closes_as_missed_counts_towards_a_review() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    for d in ["2026-01-05", "2026-01-06"] {
        w.at(&format!("{d}T08:00:00Z"));
        let mut a = DoseAttempt::new(slot("aml", &format!("{d}T08:00:00Z")), OutcomeCode::Refused);
        a.note = Some("declined".into());
        w.record(&a);
    }
    w.at("2026-01-07T12:00:00Z");
    let closed = crate::mar::close(
        &w.resident,
        &w.orders,
        &w.history,
        &[],
        &[],
        utc("2026-01-07T00:00:00Z"),
        w.now,
        HOME_TZ,
        &DeviceId::new("t"),
    );
    assert_eq!(closed.records.len(), 1);
    assert_eq!(closed.records[0].outcome, OutcomeCode::Missed);
    let reviews: Vec<&Incident> = closed
        .incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::RepeatedOmission)
        .collect();
    assert_eq!(reviews.len(), 1, "{:?}", closed.incidents);
    assert!(reviews[0].message.contains("REFUSED, REFUSED, MISSED"));
    // The refusals can come from the order's older slots as facts rather than history.
    let old = facts(&w.history);
    let closed = crate::mar::close(
        &w.resident,
        &w.orders,
        &[],
        &old,
        &[],
        utc("2026-01-07T00:00:00Z"),
        w.now,
        HOME_TZ,
        &DeviceId::new("t"),
    );
    assert_eq!(closed.incidents.len(), 1);
}

#[test]
fn s14_no_stock_raises_a_task_to_reorder() {
    let w = World::new("2026-01-05T08:00:00Z");
    let a = DoseAttempt::new(slot("aml", "2026-01-05T08:00:00Z"), OutcomeCode::NoStock);
    let mut ids = new_ids();
    let (_, entailed) = record_dose(
        &w.ctx(),
        &a,
        RecordId::new("ns"),
        DeviceId::new("t"),
        &mut ids,
    )
    .unwrap();
    assert_eq!(entailed.incidents.len(), 1);
    assert_eq!(entailed.incidents[0].kind, IncidentKind::NoStock);
    assert!(entailed.incidents[0].message.contains("reorder"));
}

#[test]
fn s07_a_voided_cd_dose_goes_back_on_the_register_before_a_witness() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders.push(morphine());
    w.witness = Some((staff("s2", Role::Senior), true));
    w.cd_balance = Some(Qty::whole(100));
    let mut ids = new_ids();
    let a = give(slot("mor", "2026-01-05T08:00:00Z"), "02000000000053");
    let (dose, entailed) = record_dose(
        &w.ctx(),
        &a,
        RecordId::new("d1"),
        DeviceId::new("t"),
        &mut ids,
    )
    .unwrap();
    let entry = entailed.cd_entry.unwrap();
    assert_eq!(entry.balance_after, Qty::from_f64(97.5));
    w.history.push(dose.clone());
    // Without a witness the correction is refused.
    let author = w.author.clone();
    let e = correct(
        &w.history,
        &w.orders,
        &dose.id,
        "wrong resident",
        Corrector {
            author: &author,
            witness: None,
        },
        w.now,
        RecordId::new("c1"),
        DeviceId::new("t"),
    )
    .unwrap_err();
    assert_eq!(e[0].code, FindingCode::WitnessNeeded);
    let witness = staff("s2", Role::Senior);
    let c = correct(
        &w.history,
        &w.orders,
        &dose.id,
        "wrong resident",
        Corrector {
            author: &author,
            witness: Some(Witness {
                staff: &witness,
                authenticated: true,
            }),
        },
        w.now,
        RecordId::new("c1"),
        DeviceId::new("t"),
    )
    .unwrap();
    let (stock, back) = crate::entail::correction(
        Some(&w.orders[3]),
        &dose,
        &c,
        Some(&witness.id),
        Some(entry.balance_after),
        &mut ids,
    );
    let back = back.unwrap();
    assert_eq!(back.balance_after, Qty::whole(100));
    assert_eq!(back.by, author.id);
    assert_eq!(back.witness, witness.id);
    assert_eq!(stock.unwrap().delta, Qty::from_f64(2.5));
    // A dose that was not given has nothing to put back.
    let mut refused = dose.clone();
    refused.outcome = OutcomeCode::Refused;
    refused.from_stock = None;
    refused.quantity = None;
    assert_eq!(
        crate::entail::correction(
            Some(&w.orders[3]),
            &refused,
            &c,
            Some(&witness.id),
            Some(Qty::ZERO),
            &mut ids
        ),
        (None, None)
    );
}

#[test]
fn s06_penicillin_allergy_blocks_flucloxacillin_and_an_unknown_allergy_warns_at_every_dose() {
    let mut w = World::new("2026-01-05T08:00:00Z");
    w.orders[0].medicine = medicine(
        "Flucloxacillin 500mg capsules",
        "02000000000039",
        &[("flucloxacillin", None)],
    );
    let a = give(slot("aml", "2026-01-05T08:00:00Z"), "02000000000039");
    let got = w.assess(&a);
    assert_eq!(codes(&got), vec![FindingCode::AllergyMatch]);
    assert!(
        got.findings[0].message.contains("penicillins"),
        "{}",
        got.findings[0].message
    );
    // A cephalosporin warns (cross-sensitivity), to be acknowledged.
    w.orders[0].medicine = medicine("Cefalexin 500mg", "02000000000039", &[("cefalexin", None)]);
    let got = w.assess(&a);
    assert_eq!(codes(&got), vec![FindingCode::AllergyClassWarning]);
    assert!(!got.ready());
    // An allergy typed as something the system does not know is shown at every dose.
    w.resident.allergies = vec![Allergy {
        substance: "Zyxomab".into(),
        reaction: "swelling".into(),
    }];
    w.orders[0].medicine = medicine("Amlodipine", "02000000000039", &[("amlodipine", Some(5))]);
    let got = w.assess(&a);
    assert_eq!(codes(&got), vec![FindingCode::AllergyNotChecked]);
    assert!(got.findings[0].message.contains("Zyxomab"));
}

#[test]
fn s13_s07_a_cd_patch_removed_is_destroyed_on_the_register_with_both_names() {
    let o = fentanyl();
    let removal = PatchRemoval {
        id: RecordId::new("rm1"),
        resident: ResidentId::new("r1"),
        order: o.id.clone(),
        site: "left upper arm".into(),
        occurred_at: utc("2026-01-04T09:00:00Z"),
        author: StaffId::new("c1"),
        device: DeviceId::new("t"),
    };
    let mut ids = new_ids();
    let e = crate::entail::patch_removed(
        &o,
        &removal,
        &StaffId::new("s2"),
        Qty::whole(4),
        &mut ids,
        &DeviceId::new("t"),
        removal.occurred_at,
    )
    .unwrap();
    assert_eq!(e.balance_after, Qty::whole(4));
    assert_eq!((e.by.as_str(), e.witness.as_str()), ("c1", "s2"));
    assert!(matches!(
        e.movement,
        CdMovement::PatchRemovedAndDestroyed { .. }
    ));
    // A patch that is not a controlled drug has no register.
    let plain = Order {
        cd: None,
        ..fentanyl()
    };
    assert!(crate::entail::patch_removed(
        &plain,
        &removal,
        &StaffId::new("s2"),
        Qty::ZERO,
        &mut ids,
        &DeviceId::new("t"),
        removal.occurred_at
    )
    .is_none());
}
