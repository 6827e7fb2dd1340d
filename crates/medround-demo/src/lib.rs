//! The demo care home, Larch House, and larger generated homes for benchmarks.
//!
//! Everything is deterministic from a seed and a "now", so tests and screenshots are repeatable.
//! Medicines carry a dm+d code only where the code was checked against published dm+d data;
//! otherwise the code is absent, never invented. Pack barcodes use GS1 restricted-circulation
//! numbers (prefix 02), which no real product carries, so a demo pack can never match a real one.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use medround_domain::cd::{CdEntry, CdMovement};
use medround_domain::homely::HomelyRemedy;
use medround_domain::ids::*;
use medround_domain::medicine::{Ingredient, IngredientLimit, Medicine};
use medround_domain::order::*;
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::{Administration, PatchRemoval, ProductCheck, Subject};
use medround_domain::resident::{Allergy, CovertPlan, Presence, Resident};
use medround_domain::schedule::{slots_between, HOME_TZ};
use medround_domain::staff::{Role, Staff};
use medround_domain::stock::{StockMovement, StockReason};
use medround_store::{Item, Store, StoreError, Unit};
use std::collections::HashMap;

/// Demo staff and their PINs (printed in README; a real home sets its own).
pub const DEMO_STAFF: &[(&str, &str, &str, Role, &str)] = &[
    ("st-amy", "Amy Carter", "AC", Role::Carer, "1357"),
    ("st-dev", "Dev Shah", "DS", Role::Carer, "2580"),
    ("st-ben", "Ben Okoro", "BO", Role::Senior, "2468"),
    ("st-claire", "Claire Manning", "CM", Role::Manager, "3579"),
    ("st-ines", "Ines Ward", "IW", Role::Auditor, "9753"),
];

/// A small deterministic generator (SplitMix64), so the demo needs no random-number crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, per_thousand: u64) -> bool {
        self.below(1000) < per_thousand
    }
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

/// A GS1 restricted-circulation GTIN-14 with a correct check digit.
pub fn demo_gtin(n: u32) -> String {
    let body = format!("02{:011}", n);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// NHS numbers in the 999 range, which the NHS reserves for testing.
pub fn test_nhs_number(rng: &mut Rng) -> String {
    loop {
        let body = format!("999{:06}", rng.below(1_000_000));
        let sum: u32 = body
            .bytes()
            .enumerate()
            .map(|(i, b)| u32::from(b - b'0') * (10 - i as u32))
            .sum();
        match 11 - sum % 11 {
            10 => continue,
            11 => return format!("{body}0"),
            c => return format!("{body}{c}"),
        }
    }
}

struct Med {
    name: &'static str,
    strength: &'static str,
    form: &'static str,
    dmd: Option<&'static str>,
    gtin: u32,
    ingredients: &'static [(&'static str, Option<i64>)],
}

fn medicine(m: &Med) -> Medicine {
    Medicine {
        name: m.name.into(),
        strength: m.strength.into(),
        form: m.form.into(),
        dmd: m.dmd.map(String::from),
        excipients: vec![],
        gtins: vec![demo_gtin(m.gtin)],
        ingredients: m
            .ingredients
            .iter()
            .map(|(s, mg)| Ingredient {
                substance: (*s).into(),
                mg_per_unit: mg.map(Qty::whole),
            })
            .collect(),
    }
}

const PARACETAMOL: Med = Med {
    name: "Paracetamol",
    strength: "500mg",
    form: "tablets",
    dmd: Some("322236009"),
    gtin: 1,
    ingredients: &[("paracetamol", Some(500))],
};
const CO_CODAMOL: Med = Med {
    name: "Co-codamol",
    strength: "30mg/500mg",
    form: "tablets",
    dmd: None,
    gtin: 2,
    ingredients: &[("codeine", Some(30)), ("paracetamol", Some(500))],
};
const AMLODIPINE: Med = Med {
    name: "Amlodipine",
    strength: "5mg",
    form: "tablets",
    dmd: Some("319773006"),
    gtin: 3,
    ingredients: &[("amlodipine", None)],
};
const METFORMIN: Med = Med {
    name: "Metformin",
    strength: "500mg",
    form: "tablets",
    dmd: None,
    gtin: 4,
    ingredients: &[("metformin", None)],
};
const ATORVASTATIN: Med = Med {
    name: "Atorvastatin",
    strength: "20mg",
    form: "tablets",
    dmd: None,
    gtin: 5,
    ingredients: &[("atorvastatin", None)],
};
const LANSOPRAZOLE: Med = Med {
    name: "Lansoprazole",
    strength: "15mg",
    form: "gastro-resistant capsules",
    dmd: None,
    gtin: 6,
    ingredients: &[("lansoprazole", None)],
};
const SERTRALINE: Med = Med {
    name: "Sertraline",
    strength: "50mg",
    form: "tablets",
    dmd: None,
    gtin: 7,
    ingredients: &[("sertraline", None)],
};
const FUROSEMIDE: Med = Med {
    name: "Furosemide",
    strength: "40mg",
    form: "tablets",
    dmd: None,
    gtin: 8,
    ingredients: &[("furosemide", None)],
};
const LEVOTHYROXINE: Med = Med {
    name: "Levothyroxine",
    strength: "50microgram",
    form: "tablets",
    dmd: None,
    gtin: 9,
    ingredients: &[("levothyroxine", None)],
};
const SENNA: Med = Med {
    name: "Senna",
    strength: "7.5mg",
    form: "tablets",
    dmd: None,
    gtin: 10,
    ingredients: &[("sennosides", None)],
};
const DONEPEZIL: Med = Med {
    name: "Donepezil",
    strength: "10mg",
    form: "tablets",
    dmd: None,
    gtin: 11,
    ingredients: &[("donepezil", None)],
};
const BISOPROLOL: Med = Med {
    name: "Bisoprolol",
    strength: "2.5mg",
    form: "tablets",
    dmd: None,
    gtin: 12,
    ingredients: &[("bisoprolol", None)],
};
const RAMIPRIL: Med = Med {
    name: "Ramipril",
    strength: "2.5mg",
    form: "capsules",
    dmd: None,
    gtin: 13,
    ingredients: &[("ramipril", None)],
};
const ADCAL: Med = Med {
    name: "Calcium carbonate / colecalciferol",
    strength: "1.5g/400unit",
    form: "chewable tablets",
    dmd: None,
    gtin: 14,
    ingredients: &[("calcium carbonate", None), ("colecalciferol", None)],
};
const MIRTAZAPINE: Med = Med {
    name: "Mirtazapine",
    strength: "15mg",
    form: "tablets",
    dmd: None,
    gtin: 15,
    ingredients: &[("mirtazapine", None)],
};
const ASPIRIN: Med = Med {
    name: "Aspirin",
    strength: "75mg",
    form: "dispersible tablets",
    dmd: None,
    gtin: 16,
    ingredients: &[("aspirin", None)],
};
const CO_CARELDOPA: Med = Med {
    name: "Co-careldopa",
    strength: "25mg/100mg",
    form: "tablets",
    dmd: None,
    gtin: 17,
    ingredients: &[("carbidopa", None), ("levodopa", None)],
};
const MORPHINE: Med = Med {
    name: "Morphine sulfate",
    strength: "10mg/5ml",
    form: "oral solution",
    dmd: None,
    gtin: 18,
    ingredients: &[("morphine", Some(2))],
};
const TEMAZEPAM: Med = Med {
    name: "Temazepam",
    strength: "10mg",
    form: "tablets",
    dmd: Some("321152004"),
    gtin: 19,
    ingredients: &[("temazepam", None)],
};
const ALENDRONIC: Med = Med {
    name: "Alendronic acid",
    strength: "70mg",
    form: "tablets",
    dmd: None,
    gtin: 20,
    ingredients: &[("alendronic acid", None)],
};
const FENTANYL: Med = Med {
    name: "Fentanyl",
    strength: "12micrograms/hour",
    form: "transdermal patches",
    dmd: None,
    gtin: 21,
    ingredients: &[("fentanyl", None)],
};
const EMOLLIENT: Med = Med {
    name: "Emollient",
    strength: "",
    form: "cream",
    dmd: None,
    gtin: 22,
    ingredients: &[("liquid paraffin", None), ("white soft paraffin", None)],
};
const LATANOPROST: Med = Med {
    name: "Latanoprost",
    strength: "50micrograms/ml",
    form: "eye drops",
    dmd: None,
    gtin: 23,
    ingredients: &[("latanoprost", None)],
};
const AMOXICILLIN: Med = Med {
    name: "Amoxicillin",
    strength: "500mg",
    form: "capsules",
    dmd: None,
    gtin: 24,
    ingredients: &[("amoxicillin", None)],
};
const TRIMETHOPRIM: Med = Med {
    name: "Trimethoprim",
    strength: "200mg",
    form: "tablets",
    dmd: None,
    gtin: 25,
    ingredients: &[("trimethoprim", None)],
};
const SIMPLE_LINCTUS: Med = Med {
    name: "Simple linctus",
    strength: "",
    form: "oral solution",
    dmd: None,
    gtin: 26,
    ingredients: &[("citric acid", None)],
};

/// Regular medicines handed out round-robin to fill each resident's chart.
/// A regular medicine, its times of day and its instructions.
type Regular = (&'static Med, &'static [(u32, u32)], &'static str);

const REGULARS: &[Regular] = &[
    (&AMLODIPINE, &[(8, 0)], "Swallow whole."),
    (&METFORMIN, &[(8, 0), (17, 0)], "With or just after food."),
    (&ATORVASTATIN, &[(22, 0)], ""),
    (&LANSOPRAZOLE, &[(8, 0)], "Half an hour before breakfast."),
    (&SERTRALINE, &[(8, 0)], ""),
    (&FUROSEMIDE, &[(8, 0)], "In the morning."),
    (&LEVOTHYROXINE, &[(8, 0)], "Before breakfast."),
    (&DONEPEZIL, &[(22, 0)], ""),
    (
        &BISOPROLOL,
        &[(8, 0)],
        "Check pulse first: withhold if below 50.",
    ),
    (&RAMIPRIL, &[(8, 0)], ""),
    (&ADCAL, &[(8, 0), (17, 0)], "Chew."),
    (&MIRTAZAPINE, &[(22, 0)], ""),
    (&ASPIRIN, &[(8, 0)], "Dissolve in water; after food."),
];

const GIVEN_NAMES: &[&str] = &[
    "Margaret",
    "Arthur",
    "Edith",
    "Harold",
    "Joan",
    "Stanley",
    "Doris",
    "Kenneth",
    "Winifred",
    "Albert",
    "Irene",
    "Leonard",
    "Beryl",
    "Frank",
    "Gwendolyn",
    "Walter",
    "Mavis",
    "Sidney",
    "Phyllis",
    "Reginald",
    "Dorothy",
    "Ernest",
    "Vera",
    "Cyril",
    "Hilda",
    "Norman",
    "Elsie",
    "Clifford",
    "Audrey",
    "Dennis",
];
const FAMILY_NAMES: &[&str] = &[
    "Ellis",
    "Whitaker",
    "Marsh",
    "Pennington",
    "Hughes",
    "Oduya",
    "Fairbairn",
    "Kowalski",
    "Ashworth",
    "Bramley",
    "Chaudhry",
    "Dunmore",
    "Greaves",
    "Holloway",
    "Iqbal",
    "Jenkins",
    "Kerr",
    "Lockwood",
    "Mensah",
    "Nuttall",
];
const PREFERRED: &[Option<&str>] = &[
    Some("Peggy"),
    None,
    Some("Edie"),
    Some("Harry"),
    None,
    Some("Stan"),
    None,
    Some("Ken"),
];

/// What to build.
#[derive(Debug, Clone)]
pub struct HomeSpec {
    pub name: String,
    pub residents: usize,
    /// Days of history to generate before `now`.
    pub history_days: i64,
    pub seed: u64,
    pub now: DateTime<Utc>,
}

impl HomeSpec {
    /// Larch House: 20 residents over two units, a week of history.
    pub fn larch_house(now: DateTime<Utc>) -> Self {
        HomeSpec {
            name: "Larch House".into(),
            residents: 20,
            history_days: 7,
            seed: 7,
            now,
        }
    }
}

/// What was built, for tests and benchmarks to find their way around.
#[derive(Debug, Clone)]
pub struct Built {
    pub residents: Vec<Resident>,
    pub orders: Vec<Order>,
    pub remedies: Vec<HomelyRemedy>,
    pub staff: Vec<Staff>,
    pub records: usize,
}

/// Well-known residents of the demo home, by role in the story.
pub mod who {
    pub const PARKINSONS: &str = "res-01";
    pub const TWO_PARACETAMOLS: &str = "res-03";
    pub const MORPHINE: &str = "res-04";
    pub const TEMAZEPAM: &str = "res-05";
    pub const ALENDRONIC: &str = "res-06";
    pub const FENTANYL: &str = "res-07";
    pub const CREAM: &str = "res-08";
    pub const EYE_DROPS: &str = "res-09";
    pub const ENDED_ORDER: &str = "res-10";
    pub const PENDING_ORDER: &str = "res-11";
    pub const IN_HOSPITAL: &str = "res-12";
    pub const COVERT_IN_DATE: &str = "res-13";
    pub const COVERT_OUT_OF_DATE: &str = "res-14";
}

pub fn staff() -> Vec<Staff> {
    DEMO_STAFF
        .iter()
        .map(|(id, name, initials, role, _)| Staff {
            id: StaffId::new(*id),
            name: (*name).into(),
            initials: (*initials).into(),
            role: *role,
            medication_trained: *role != Role::Auditor,
            homely_authorised: matches!(role, Role::Senior | Role::Manager) || *id == "st-amy",
            active: true,
        })
        .collect()
}

pub fn remedies() -> Vec<HomelyRemedy> {
    let range = |a, b| Dose::Range {
        min: Qty::whole(a),
        max: Qty::whole(b),
        halves: false,
    };
    vec![
        HomelyRemedy {
            id: RemedyId::new("hr-paracetamol"),
            medicine: medicine(&PARACETAMOL),
            dose: range(1, 2),
            unit: "tablet".into(),
            indication: "Mild pain or fever".into(),
            min_interval_minutes: 240,
            max_per_24h: Qty::whole(8),
            max_days: 2,
        },
        HomelyRemedy {
            id: RemedyId::new("hr-senna"),
            medicine: medicine(&SENNA),
            dose: range(1, 2),
            unit: "tablet".into(),
            indication: "Constipation".into(),
            min_interval_minutes: 720,
            max_per_24h: Qty::whole(2),
            max_days: 3,
        },
        HomelyRemedy {
            id: RemedyId::new("hr-linctus"),
            medicine: medicine(&SIMPLE_LINCTUS),
            dose: Dose::Fixed { qty: Qty::whole(5) },
            unit: "ml".into(),
            indication: "Dry cough".into(),
            min_interval_minutes: 240,
            max_per_24h: Qty::whole(20),
            max_days: 3,
        },
    ]
}

/// Builds the home into the store. Run once on an empty store.
pub fn build(store: &mut Store, spec: &HomeSpec) -> Result<Built, StoreError> {
    let mut rng = Rng::new(spec.seed);
    let now = spec.now;
    let today = now.with_timezone(&HOME_TZ).date_naive();
    let cycle_start = orders_start(spec);
    let setup_time = now - Duration::days(spec.history_days + 2);

    store.set_durable(false)?;
    store.put_home_name(&spec.name, setup_time)?;
    let units = [
        ("rowan", "Rowan (ground floor)"),
        ("willow", "Willow (first floor)"),
    ];
    for (id, name) in units {
        store.put_unit(
            &Unit {
                id: UnitId::new(id),
                name: name.into(),
            },
            setup_time,
        )?;
    }
    let staff = staff();
    for (s, (_, _, _, _, pin)) in staff.iter().zip(DEMO_STAFF) {
        store.put_staff(s, None, setup_time)?;
        store.set_pin(&s.id, pin, None, setup_time)?;
    }
    let remedies = remedies();
    for r in &remedies {
        store.put_remedy(r, setup_time)?;
    }
    store.put_limit(
        &IngredientLimit {
            substance: "paracetamol".into(),
            max_mg_24h: Qty::whole(4000),
        },
        setup_time,
    )?;

    let mut residents = Vec::new();
    let mut orders = Vec::new();
    let mut oseq = 0;
    for i in 0..spec.residents {
        let n = i + 1;
        let id = format!("res-{n:02}");
        let given = GIVEN_NAMES[i % GIVEN_NAMES.len()];
        let family = FAMILY_NAMES[(i * 7 + i / FAMILY_NAMES.len()) % FAMILY_NAMES.len()];
        let dob = NaiveDate::from_ymd_opt(
            1928 + (rng.below(22) as i32),
            1 + rng.below(12) as u32,
            1 + rng.below(28) as u32,
        )
        .expect("valid date");
        let mut allergies = Vec::new();
        if n % 4 == 1 {
            allergies.push(Allergy {
                substance: "penicillin".into(),
                reaction: "rash and swelling".into(),
            });
        }
        if n % 6 == 2 {
            allergies.push(Allergy {
                substance: "ibuprofen".into(),
                reaction: "wheeze".into(),
            });
        }
        let mut r = Resident {
            id: ResidentId::new(&id),
            unit: UnitId::new(if i < spec.residents / 2 {
                "rowan"
            } else {
                "willow"
            }),
            room: format!("{}{:02}", if i < spec.residents / 2 { "G" } else { "F" }, n),
            given_name: given.into(),
            family_name: family.into(),
            preferred_name: PREFERRED[i % PREFERRED.len()].map(String::from),
            date_of_birth: dob,
            nhs_number: test_nhs_number(&mut rng),
            photo: Some(medround_domain::admission::avatar(
                given,
                family,
                n as u64 * 47,
            )),
            allergies,
            presence: Presence::Present,
            reconciliation_pending: false,
            covert_plan: None,
        };
        if id == who::IN_HOSPITAL {
            r.presence = Presence::InHospital {
                since: now - Duration::hours(20),
            };
        }
        if id == who::COVERT_IN_DATE {
            r.covert_plan = Some(CovertPlan {
                agreed_on: today - Duration::days(40),
                review_by: today + Duration::days(50),
                how: "Crush and mix with a spoonful of yoghurt (pharmacist advice 2 Oct)".into(),
            });
        }
        if id == who::COVERT_OUT_OF_DATE {
            r.covert_plan = Some(CovertPlan {
                agreed_on: today - Duration::days(200),
                review_by: today - Duration::days(10),
                how: "Mix with thickened juice".into(),
            });
        }

        let mut mk = |med: &Med,
                      dose: Dose,
                      unit: &str,
                      route: Route,
                      schedule: Schedule,
                      instructions: &str| {
            oseq += 1;
            Order {
                id: OrderId::new(format!("ord-{n:02}-{oseq:03}")),
                resident: r.id.clone(),
                medicine: medicine(med),
                dose,
                unit: unit.into(),
                route,
                schedule,
                instructions: instructions.into(),
                prescriber: ["Dr A. Okafor", "Dr S. Lindqvist", "Dr R. Mistry"][n % 3].into(),
                start: cycle_start,
                end: None,
                status: OrderStatus::Active,
                source: OrderSource::Pharmacy,
                checked_in_by: vec![StaffId::new("st-ben")],
                cd: None,
                time_critical: false,
                covert_allowed: false,
                both_intended: None,
                replaces: None,
                slots_after: None,
                application: Application::Standard,
                prn: None,
            }
        };
        let one = Dose::Fixed { qty: Qty::whole(1) };
        let daily = |times: &[(u32, u32)]| Schedule::Daily {
            times: times.iter().map(|(h, m)| t(*h, *m)).collect(),
        };
        let mut mine = Vec::new();
        // Four regular medicines each, spread over the list; a prescriber would not choose
        // one the resident's allergies bear on (aspirin for someone allergic to ibuprofen),
        // so the next in the list is taken instead (S6).
        let allergies = r.allergies.clone();
        let mut k = 0;
        let mut chosen = 0;
        while chosen < 4 && k < REGULARS.len() * 2 {
            let (med, times, instr) = REGULARS[(i * 3 + k * 5) % REGULARS.len()];
            k += 1;
            if !medround_domain::allergen::hits(&allergies, &medicine(med)).is_empty() {
                continue;
            }
            mine.push(mk(med, one, "tablet", Route::Oral, daily(times), instr));
            chosen += 1;
        }
        // Everyone has paracetamol when required, and senna 1 or 2 at night.
        let mut para = mk(
            &PARACETAMOL,
            Dose::Range {
                min: Qty::whole(1),
                max: Qty::whole(2),
                halves: false,
            },
            "tablet",
            Route::Oral,
            Schedule::Prn,
            "For pain. Leave 4 hours between doses.",
        );
        para.prn = Some(PrnProtocol {
            indication: "Mild to moderate pain".into(),
            min_interval_minutes: 240,
            max_per_24h: Qty::whole(8),
            follow_up_minutes: 60,
        });
        mine.push(para);
        mine.push(mk(
            &SENNA,
            Dose::Range {
                min: Qty::whole(1),
                max: Qty::whole(2),
                halves: false,
            },
            "tablet",
            Route::Oral,
            daily(&[(22, 0)]),
            "At night.",
        ));

        match id.as_str() {
            who::PARKINSONS => {
                let mut o = mk(
                    &CO_CARELDOPA,
                    one,
                    "tablet",
                    Route::Oral,
                    daily(&[(6, 0), (10, 0), (14, 0), (18, 0), (22, 0)]),
                    "Parkinson's: give on time, every time.",
                );
                o.time_critical = true;
                mine.push(o);
            }
            who::TWO_PARACETAMOLS => {
                let mut o = mk(
                    &CO_CODAMOL,
                    Dose::Range {
                        min: Qty::whole(1),
                        max: Qty::whole(2),
                        halves: false,
                    },
                    "tablet",
                    Route::Oral,
                    Schedule::Prn,
                    "For moderate pain. Contains paracetamol.",
                );
                o.prn = Some(PrnProtocol {
                    indication: "Moderate pain not eased by paracetamol".into(),
                    min_interval_minutes: 240,
                    max_per_24h: Qty::whole(8),
                    follow_up_minutes: 60,
                });
                mine.push(o);
            }
            who::MORPHINE => {
                let mut o = mk(
                    &MORPHINE,
                    Dose::Range {
                        min: Qty::from_f64(2.5),
                        max: Qty::whole(5),
                        halves: false,
                    },
                    "ml",
                    Route::Oral,
                    Schedule::Prn,
                    "For breakthrough pain.",
                );
                o.cd = Some(CdSchedule::Schedule2);
                o.prn = Some(PrnProtocol {
                    indication: "Breakthrough pain".into(),
                    min_interval_minutes: 120,
                    max_per_24h: Qty::whole(30),
                    follow_up_minutes: 30,
                });
                mine.push(o);
            }
            who::TEMAZEPAM => {
                let mut o = mk(
                    &TEMAZEPAM,
                    one,
                    "tablet",
                    Route::Oral,
                    daily(&[(22, 0)]),
                    "At bedtime.",
                );
                o.cd = Some(CdSchedule::Schedule3);
                mine.push(o);
            }
            who::ALENDRONIC => {
                mine.push(mk(
                    &ALENDRONIC,
                    one,
                    "tablet",
                    Route::Oral,
                    Schedule::Weekly {
                        days: vec![Weekday::Mon],
                        times: vec![t(7, 0)],
                    },
                    "Weekly, 30 minutes before breakfast with a full glass of water; stay upright.",
                ));
            }
            who::FENTANYL => {
                let mut o = mk(
                    &FENTANYL,
                    one,
                    "patch",
                    Route::Transdermal,
                    Schedule::EveryNDays {
                        every: 3,
                        times: vec![t(9, 0)],
                    },
                    "Change every 72 hours. Remove the old patch first.",
                );
                o.cd = Some(CdSchedule::Schedule2);
                o.application = Application::Patch { site_rest_days: 7 };
                mine.push(o);
            }
            who::CREAM => {
                let mut o = mk(
                    &EMOLLIENT,
                    one,
                    "application",
                    Route::Topical,
                    daily(&[(8, 0), (20, 0)]),
                    "Apply thinly to both lower legs.",
                );
                o.application = Application::Topical;
                mine.push(o);
            }
            who::EYE_DROPS => {
                mine.push(mk(
                    &LATANOPROST,
                    one,
                    "drop",
                    Route::Eye,
                    daily(&[(22, 0)]),
                    "One drop into both eyes at night.",
                ));
            }
            who::ENDED_ORDER => {
                let mut o = mk(
                    &AMOXICILLIN,
                    one,
                    "capsule",
                    Route::Oral,
                    daily(&[(8, 0), (14, 0), (22, 0)]),
                    "Course of 5 days.",
                );
                o.end = Some(today - Duration::days(2));
                mine.push(o);
            }
            who::PENDING_ORDER => {
                let mut o = mk(
                    &TRIMETHOPRIM,
                    one,
                    "tablet",
                    Route::Oral,
                    daily(&[(8, 0), (20, 0)]),
                    "Course of 3 days.",
                );
                o.status = OrderStatus::Pending;
                o.start = today;
                o.checked_in_by.clear();
                mine.push(o);
            }
            who::COVERT_IN_DATE => {
                if let Some(o) = mine.first_mut() {
                    o.covert_allowed = true;
                }
            }
            _ => {}
        }
        store.put_resident(&r, setup_time)?;
        for o in &mine {
            store.put_order(o, setup_time)?;
        }
        residents.push(r);
        orders.extend(mine);
    }

    // Supplies booked in at the start of the cycle, with CD register entries.
    for o in &orders {
        // A cycle's supply at the prescribed rate, in whole units as a pharmacy dispenses.
        let supply =
            Qty::whole((medround_domain::stock::daily_use(o).as_milli() * 28 + 999) / 1000);
        let mut items = vec![Item::StockMovement(StockMovement {
            id: RecordId::new(format!("stk-in-{}", o.id)),
            order: o.id.clone(),
            delta: supply,
            reason: StockReason::Received,
            at: setup_time,
            by: StaffId::new("st-ben"),
            device: store.device().clone(),
        })];
        if o.cd.is_some() {
            items.push(Item::CdEntry(CdEntry {
                id: RecordId::new(format!("cd-in-{}", o.id)),
                resident: o.resident.clone(),
                order: o.id.clone(),
                drug: o.medicine.label(),
                movement: CdMovement::Received {
                    qty: supply,
                    from: "Larchfield Pharmacy".into(),
                },
                balance_after: supply,
                at: setup_time,
                by: StaffId::new("st-ben"),
                witness: StaffId::new("st-claire"),
                device: store.device().clone(),
            }));
        }
        store.append(&o.resident, setup_time, &items)?;
    }

    let records = history(store, spec, &residents, &orders, &mut rng)?;
    store.set_durable(true)?;
    Ok(Built {
        residents,
        orders,
        remedies,
        staff,
        records,
    })
}

/// A cycle's supply at the prescribed rate, in whole units as a pharmacy dispenses.
fn cycle_supply(o: &Order) -> Qty {
    Qty::whole((medround_domain::stock::daily_use(o).as_milli() * 28 + 999) / 1000)
}

/// Where patches go, in turn: four sites, so each rests nine days between patches (S13).
const PATCH_SITES: [&str; 4] = [
    "Left upper arm",
    "Right upper arm",
    "Left upper chest",
    "Right upper chest",
];

/// The day the home's orders start: the day before its history begins.
fn orders_start(spec: &HomeSpec) -> NaiveDate {
    spec.now.with_timezone(&HOME_TZ).date_naive() - Duration::days(spec.history_days.max(0) + 1)
}

/// Past doses up to two hours before `now`: mostly given on time, some refused, a few missed.
fn history(
    store: &mut Store,
    spec: &HomeSpec,
    residents: &[Resident],
    orders: &[Order],
    rng: &mut Rng,
) -> Result<usize, StoreError> {
    let end = spec.now - Duration::hours(2);
    // From the day the orders started, so that no slot of the home's life is left blank.
    let start = medround_domain::schedule::local_to_utc(
        HOME_TZ,
        orders_start(spec).and_hms_opt(0, 0, 0).expect("midnight"),
    );
    let carers = ["st-amy", "st-dev", "st-ben"];
    let device = store.device().clone();
    let mut count = 0;
    // Running register balances and patches applied, by order.
    let mut cd_balance: HashMap<OrderId, Qty> = HashMap::new();
    let mut patches: HashMap<OrderId, usize> = HashMap::new();
    let by_resident: Vec<(&Resident, Vec<&Order>)> = residents
        .iter()
        .map(|r| {
            let mine = orders
                .iter()
                .filter(|o| o.resident == r.id && o.status == OrderStatus::Active)
                .collect();
            (r, mine)
        })
        .collect();
    // Day by day across the home, so that documents are written in the order the app would
    // have written them (the current cycle's last).
    let mut day = start;
    while day < end {
        let day_end = (day + Duration::days(1)).min(end);
        for (r, mine) in &by_resident {
            // One document change per event, as the app makes them: a delivery, or a dose
            // with what it wrote beside it.
            let mut events: Vec<(DateTime<Utc>, Vec<Item>)> = Vec::new();
            // A controlled drug's next cycle arrives every 28 days, witnessed into the register.
            let day_no = (day.with_timezone(&HOME_TZ).date_naive() - orders_start(spec)).num_days();
            if day_no > 0 && day_no % 28 == 0 {
                for o in mine.iter().filter(|o| o.cd.is_some()) {
                    let mut items = Vec::new();
                    let supply = cycle_supply(o);
                    let bal = cd_balance.entry(o.id.clone()).or_insert(supply);
                    *bal += supply;
                    items.push(Item::StockMovement(StockMovement {
                        id: RecordId::new(format!("h-stk-in-{}-{day_no}", o.id)),
                        order: o.id.clone(),
                        delta: supply,
                        reason: StockReason::Received,
                        at: day,
                        by: StaffId::new("st-ben"),
                        device: device.clone(),
                    }));
                    items.push(Item::CdEntry(CdEntry {
                        id: RecordId::new(format!("h-cd-in-{}-{day_no}", o.id)),
                        resident: r.id.clone(),
                        order: o.id.clone(),
                        drug: o.medicine.label(),
                        movement: CdMovement::Received {
                            qty: supply,
                            from: "Larchfield Pharmacy".into(),
                        },
                        balance_after: *bal,
                        at: day,
                        by: StaffId::new("st-ben"),
                        witness: StaffId::new("st-claire"),
                        device: device.clone(),
                    }));
                    events.push((day, items));
                }
            }
            for o in mine {
                for at in slots_between(o, day, day_end, HOME_TZ) {
                    if let Presence::InHospital { since } = r.presence {
                        if at >= since {
                            continue;
                        }
                    }
                    count += 1;
                    let mut items = Vec::new();
                    let roll = rng.below(1000);
                    let (outcome, note) = match roll {
                        0..=24 => (
                            OutcomeCode::Refused,
                            Some("Declined; offered again later, still declined.".to_string()),
                        ),
                        25..=34 => (OutcomeCode::Asleep, None),
                        35..=39 => (OutcomeCode::Missed, None),
                        40..=44 => (
                            OutcomeCode::Withheld,
                            Some("Pulse below 50; GP advice followed.".to_string()),
                        ),
                        _ => (OutcomeCode::Given, None),
                    };
                    // About 3% of doses go late, with the reason the carer gave (S3).
                    let late = outcome == OutcomeCode::Given && rng.chance(30);
                    let offset = if late {
                        Duration::minutes(o.window_minutes() + 5 + rng.below(40) as i64)
                    } else {
                        Duration::minutes(rng.below(40) as i64 - 20)
                    };
                    let author = if outcome == OutcomeCode::Missed {
                        "system"
                    } else {
                        carers[rng.below(3) as usize]
                    };
                    let occurred = if outcome == OutcomeCode::Missed {
                        at + Duration::hours(3)
                    } else {
                        at + offset
                    };
                    let given = outcome.is_taken();
                    let id = RecordId::new(format!("h-{}-{}", o.id, at.timestamp()));
                    // A patch goes on a new site once the old one is off (S13); a cream's site
                    // is recorded too.
                    let site = match o.application {
                        Application::Patch { .. } if given => {
                            let n = patches.entry(o.id.clone()).or_insert(0);
                            if *n > 0 {
                                items.push(Item::PatchRemoval(PatchRemoval {
                                    id: RecordId::new(format!("h-rm-{}-{}", o.id, at.timestamp())),
                                    resident: r.id.clone(),
                                    order: o.id.clone(),
                                    site: PATCH_SITES[(*n - 1) % PATCH_SITES.len()].into(),
                                    occurred_at: occurred - Duration::minutes(2),
                                    author: StaffId::new(author),
                                    device: device.clone(),
                                }));
                            }
                            *n += 1;
                            Some(PATCH_SITES[(*n - 1) % PATCH_SITES.len()].to_string())
                        }
                        Application::Topical if given => Some("Both lower legs".to_string()),
                        _ => None,
                    };
                    // A controlled drug given is witnessed and written in the register (S7).
                    let witness = (given && o.cd.is_some()).then(|| StaffId::new("st-claire"));
                    if given && o.cd.is_some() {
                        let bal = cd_balance
                            .entry(o.id.clone())
                            .or_insert_with(|| cycle_supply(o));
                        *bal -= o.dose.max();
                        items.push(Item::CdEntry(CdEntry {
                            id: RecordId::new(format!("h-cd-{}-{}", o.id, at.timestamp())),
                            resident: r.id.clone(),
                            order: o.id.clone(),
                            drug: o.medicine.label(),
                            movement: CdMovement::Administered {
                                qty: o.dose.max(),
                                administration: id.clone(),
                            },
                            balance_after: *bal,
                            at: occurred,
                            by: StaffId::new(author),
                            witness: StaffId::new("st-claire"),
                            device: device.clone(),
                        }));
                    }
                    items.push(Item::Administration(Administration {
                        id,
                        resident: r.id.clone(),
                        subject: Subject::Slot {
                            order: o.id.clone(),
                            at,
                        },
                        outcome,
                        quantity: outcome.is_taken().then(|| o.dose.max()),
                        note,
                        occurred_at: occurred,
                        recorded_at: occurred,
                        late_reason: late.then(|| "Resident was with the chiropodist.".to_string()),
                        retrospective_reason: None,
                        author: StaffId::new(author),
                        device: device.clone(),
                        witness,
                        product: outcome.is_taken().then(|| ProductCheck::Scanned {
                            gtin: o.medicine.gtins[0].clone(),
                        }),
                        scans: vec![],
                        covert: false,
                        site,
                        prn_reason: None,
                        allergy_override: None,
                        acknowledged: vec![],
                        voids: None,
                        // The history's doses take from stock only where the register counts
                        // it, so that the cycle's stock, booked in at its start, stays right.
                        from_stock: (given && o.cd.is_some()).then(|| o.dose.max()),
                    }));
                    events.push((occurred, items));
                }
            }
            if !events.is_empty() {
                store.append_each(&r.id, &events)?;
            }
        }
        day = day_end;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use medround_domain::checks::{gtin_is_valid, nhs_number_is_valid, snomed_id_is_valid};

    #[test]
    fn larch_house_has_what_the_brief_asks_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db"), &medround_store::Key::generate()).unwrap();
        let now: DateTime<Utc> = "2026-11-23T07:55:00Z".parse().unwrap();
        let b = build(&mut s, &HomeSpec::larch_house(now)).unwrap();
        assert_eq!(b.residents.len(), 20);
        assert!(
            (110..=140).contains(&b.orders.len()),
            "{} orders",
            b.orders.len()
        );
        assert!(b
            .residents
            .iter()
            .all(|r| nhs_number_is_valid(&r.nhs_number)));
        assert!(b.residents.iter().all(|r| r.photo.is_some()));
        let units: std::collections::BTreeSet<_> =
            b.residents.iter().map(|r| r.unit.clone()).collect();
        assert_eq!(units.len(), 2);
        let o = &b.orders;
        assert!(o
            .iter()
            .any(|o| o.cd == Some(CdSchedule::Schedule2) && o.is_prn()));
        assert!(o.iter().any(|o| o.cd == Some(CdSchedule::Schedule3)));
        assert!(o.iter().any(|o| o.time_critical));
        assert!(o
            .iter()
            .any(|o| matches!(o.schedule, Schedule::Weekly { .. })));
        assert!(o
            .iter()
            .any(|o| matches!(o.application, Application::Patch { .. })));
        assert!(o.iter().any(|o| o.application == Application::Topical));
        assert!(o.iter().any(|o| o.route == Route::Eye));
        assert!(o.iter().any(|o| o.dose.is_variable() && !o.is_prn()));
        assert!(o.iter().any(|o| o.end.is_some()));
        assert!(o.iter().any(|o| o.status == OrderStatus::Pending));
        assert!(o
            .iter()
            .filter(|o| o.medicine.contains("paracetamol") && o.is_prn())
            .map(|o| &o.resident)
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w[0] == w[1]));
        assert!(b.residents.iter().any(|r| r.is_away()));
        assert_eq!(
            b.residents
                .iter()
                .filter(|r| r.covert_plan.is_some())
                .count(),
            2
        );
        assert_eq!(b.remedies.len(), 3);
        for o in o {
            if let Some(code) = &o.medicine.dmd {
                assert!(snomed_id_is_valid(code), "{code}");
            }
            assert!(o
                .medicine
                .gtins
                .iter()
                .all(|g| gtin_is_valid(g) && g.starts_with("02")));
        }
        assert!(b.records > 500);
        assert_eq!(s.residents().unwrap().len(), 20);
    }
}
