//! Shared helpers for the whole-system tests and benchmarks: temporary tablets on a fake clock.

use chrono::{DateTime, Utc};
use medround_bedside::{Bedside, FakeClock};
use medround_demo::demo_gtin;
use medround_domain::incident::{Incident, IncidentKind};
use medround_domain::outcome::OutcomeCode;
use medround_domain::record::Subject;
use medround_domain::rules::DoseAttempt;
use medround_domain::{OrderId, ResidentId};
use medround_ipc::DoseRow;
use medround_store::Item;
use std::path::{Path, PathBuf};

pub mod central;
pub mod checks;
pub mod figures;
pub mod postgres;
pub mod storm;

/// A tablet with its own data directory, key directory and clock.
#[derive(Debug)]
pub struct Tablet {
    pub bedside: Bedside,
    pub clock: FakeClock,
    pub dir: tempfile::TempDir,
}

impl Tablet {
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/medround.db")
    }
    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("keys/medround.key")
    }

    /// An empty tablet.
    pub fn empty(now: DateTime<Utc>) -> Tablet {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = FakeClock::at(now);
        let bedside = Bedside::open(
            &dir.path().join("data/medround.db"),
            &dir.path().join("keys/medround.key"),
            Box::new(clock.clone()),
        )
        .expect("open tablet");
        Tablet {
            bedside,
            clock,
            dir,
        }
    }

    /// A tablet holding the Larch House demo home, built at `now`.
    pub fn demo(now: DateTime<Utc>) -> Tablet {
        let mut t = Tablet::empty(now);
        t.bedside.seed_demo_if_empty().expect("seed demo");
        t
    }

    /// Copies the tablet's database, closed, to `to`: a backup as a home would take one.
    pub fn backup(self, to: &Path) -> Tablet {
        self.close_and(|data| copy_dir(data, to))
    }

    /// Puts back the database from a backup at `from`, as a home restoring a tablet would.
    pub fn restore(self, from: &Path) -> Tablet {
        self.close_and(|data| {
            std::fs::remove_dir_all(data).expect("remove the database");
            copy_dir(from, data);
        })
    }

    fn close_and(self, f: impl FnOnce(&Path)) -> Tablet {
        let Tablet {
            bedside,
            clock,
            dir,
        } = self;
        drop(bedside);
        f(&dir.path().join("data"));
        let bedside = Bedside::open(
            &dir.path().join("data/medround.db"),
            &dir.path().join("keys/medround.key"),
            Box::new(clock.clone()),
        )
        .expect("reopen tablet");
        Tablet {
            bedside,
            clock,
            dir,
        }
    }

    /// Closes the app and opens it again on the same files (the clock carries on).
    pub fn restart(self) -> Tablet {
        let Tablet {
            bedside,
            clock,
            dir,
        } = self;
        drop(bedside);
        let bedside = Bedside::open(
            &dir.path().join("data/medround.db"),
            &dir.path().join("keys/medround.key"),
            Box::new(clock.clone()),
        )
        .expect("reopen tablet");
        Tablet {
            bedside,
            clock,
            dir,
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's folder");
    for entry in std::fs::read_dir(from).expect("read the folder") {
        let entry = entry.expect("a file");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy a file");
    }
}

/// Monday 23 November 2026, 07:55 in London (GMT): the morning round is about to start.
pub fn monday_morning() -> DateTime<Utc> {
    "2026-11-23T07:55:00Z".parse().expect("valid time")
}

/// A demo tablet on Monday morning with `staff` signed in.
pub fn signed_in(staff: &str) -> Tablet {
    let mut t = Tablet::demo(monday_morning());
    t.bedside.sign_in(staff, pin(staff)).expect("sign in");
    t
}

/// The PIN of a demo staff member.
pub fn pin(staff: &str) -> &'static str {
    medround_demo::DEMO_STAFF
        .iter()
        .find(|s| s.0 == staff)
        .map(|s| s.4)
        .expect("demo staff")
}

/// The first available dose row of `medicine` on a resident's chart.
pub fn row(t: &mut Tablet, resident: &str, medicine: &str) -> DoseRow {
    let v = t.bedside.open_resident(resident).expect("open resident");
    v.doses
        .into_iter()
        .chain(v.prn)
        .find(|d| d.medicine.starts_with(medicine) && d.unavailable.is_none())
        .unwrap_or_else(|| panic!("{medicine} not on {resident}'s chart"))
}

/// Gives (or for PRN, gives with a reason) the first available dose of `medicine`, scanning demo
/// pack `gtin` (0: the product is tapped instead). Returns the record id.
pub fn give(
    t: &mut Tablet,
    resident: &str,
    medicine: &str,
    gtin: u32,
    qty: Option<i64>,
    prn: bool,
) -> String {
    let r = row(t, resident, medicine);
    let subject = if prn {
        Subject::Prn {
            order: OrderId::new(&r.order),
        }
    } else {
        Subject::Slot {
            order: OrderId::new(&r.order),
            at: r.slot.parse().unwrap(),
        }
    };
    let mut a = DoseAttempt::new(subject, OutcomeCode::Given);
    if gtin == 0 {
        a.product_tapped = true;
    } else {
        a.scans
            .push(medround_domain::barcode::parse_scan(&demo_gtin(gtin)).unwrap());
    }
    a.quantity = qty.map(medround_domain::qty::Qty::whole);
    if prn {
        a.prn_reason = Some("Pain".into());
    }
    let done = t
        .bedside
        .record_dose(resident, &a, None)
        .unwrap_or_else(|e| panic!("{}: {:?}", e.message, e.findings));
    t.bedside.leave_resident();
    done.record
}

/// The possible-double-dose incidents (S18) a tablet holds for a resident.
pub fn double_doses(t: &Tablet, resident: &str) -> Vec<Incident> {
    t.bedside
        .store()
        .items_for(&ResidentId::new(resident), None)
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::Incident(x) if x.kind == IncidentKind::PossibleDoubleDose => Some(x),
            _ => None,
        })
        .collect()
}

/// Records `n` doses: every regular slot from `from` on, in time order, as the round would, and
/// returns how long each took to record, in milliseconds (benchmarks).
pub fn record_round(b: &mut Bedside, clock: &FakeClock, from: DateTime<Utc>, n: usize) -> Vec<f64> {
    use chrono::Duration;
    use medround_domain::order::OrderStatus;
    use medround_domain::schedule::{slots_between, window, HOME_TZ};
    use std::time::Instant;
    let residents = b.store().residents().unwrap();
    let orders = b.store().all_orders().unwrap();
    let mut slots = Vec::new();
    for o in orders.iter().filter(|o| {
        o.status == OrderStatus::Active && o.cd.is_none() && !o.application.needs_site()
    }) {
        if residents
            .iter()
            .any(|r| r.id == o.resident && (r.is_away() || r.reconciliation_pending))
        {
            continue;
        }
        for at in slots_between(o, from, from + Duration::days(10), HOME_TZ) {
            if window(o, at, HOME_TZ).opens >= from {
                slots.push((at, o.clone()));
            }
        }
    }
    slots.sort_by_key(|(at, o)| (*at, o.id.clone()));
    let mut ms = Vec::with_capacity(n);
    for (at, o) in slots.into_iter().take(n) {
        clock.set(at);
        let mut a = DoseAttempt::new(
            Subject::Slot {
                order: o.id.clone(),
                at,
            },
            OutcomeCode::Given,
        );
        a.scans
            .push(medround_domain::barcode::parse_scan(&o.medicine.gtins[0]).unwrap());
        a.quantity = Some(o.dose.max());
        let t = Instant::now();
        b.record_dose(o.resident.as_str(), &a, None)
            .unwrap_or_else(|e| panic!("{}: {:?}", e.message, e.findings));
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        // The app's minute timer does its housekeeping (checkpoint, compaction) between doses;
        // a busy round records a few doses a minute.
        if ms.len() % 5 == 0 {
            b.store_mut().compact_pending().expect("housekeeping");
        }
    }
    assert_eq!(ms.len(), n, "not enough slots to record");
    ms
}

/// Priya Nair, a medication-trained carer the tests add to the demo home (S19): `id` none to
/// add her, her id to change her; `active` false when she has left.
pub fn priya_nair(id: Option<String>, active: bool) -> medround_ipc::SaveStaff {
    medround_ipc::SaveStaff {
        id,
        name: "Priya Nair".into(),
        initials: "PN".into(),
        role: medround_domain::staff::Role::Carer,
        medication_trained: true,
        homely_authorised: false,
        active,
    }
}

/// A new resident as a senior types her in at admission: Edith Clarke, to Rowan, room 14, no
/// known allergies, with an NHS number no demo resident has (theirs start 999).
pub fn edith_clarke() -> medround_domain::admission::ResidentDetails {
    medround_domain::admission::ResidentDetails {
        given_name: "Edith".into(),
        family_name: "Clarke".into(),
        preferred_name: Some("Edie".into()),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1938, 4, 12).expect("a date"),
        nhs_number: "943 476 5919".into(),
        unit: medround_domain::UnitId::new("rowan"),
        room: "14".into(),
        allergies: vec![],
        no_known_allergies: true,
    }
}
