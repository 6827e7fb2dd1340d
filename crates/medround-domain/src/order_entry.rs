//! An order typed in by hand (S16): from a hospital discharge letter or a GP's instruction,
//! before the pharmacy's own order arrives. It is checked here for what the round needs to give
//! it safely (times, or a when-required protocol; a prescriber; the active ingredients the
//! allergy and 24-hour checks read), then kept as pending until a senior and a second trained
//! person check it against the letter (`rules::check_in`).

use crate::finding::{Finding, FindingCode, Rule};
use crate::ids::{OrderId, ResidentId};
use crate::medicine::{parse_ingredient, IngredientLimit, Medicine};
use crate::order::{
    Application, CdSchedule, Dose, Order, OrderSource, OrderStatus, PrnProtocol, Route, Schedule,
};
use crate::resident::Resident;
use crate::staff::Staff;
use crate::text::tidy;
use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

/// The longest text field of an order typed in by hand, in characters.
pub const MAX_ORDER_TEXT_CHARS: usize = 200;

/// What a senior types in from the letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDraft {
    /// "Furosemide".
    pub name: String,
    /// "40mg".
    pub strength: String,
    /// "tablets".
    pub form: String,
    /// The active ingredients, which the allergy check (S6) and the when-required limits
    /// across products (S4) compare.
    pub ingredients: Vec<String>,
    pub dose: Dose,
    /// "tablet", "ml".
    pub unit: String,
    pub route: Route,
    /// Every day at these times; empty for a when-required order.
    #[serde(default)]
    pub times: Vec<NaiveTime>,
    /// The when-required protocol (S4); none for a regular order.
    #[serde(default)]
    pub prn: Option<PrnProtocol>,
    #[serde(default)]
    pub instructions: String,
    /// Who prescribed it, as on the letter.
    pub prescriber: String,
    /// The first day it is given; none for today.
    #[serde(default)]
    pub start: Option<NaiveDate>,
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// A course of so many days from the first (an antibiotic for 7 days), when no last day
    /// is given.
    #[serde(default)]
    pub course_days: Option<u32>,
    #[serde(default)]
    pub time_critical: bool,
    #[serde(default)]
    pub cd: Option<CdSchedule>,
    /// For a patch: the days a site rests before it is used again (S13).
    #[serde(default)]
    pub patch_site_rest_days: Option<u32>,
}

/// A field of the order as typed, tidied, that a colleague can read.
fn readable(s: &str) -> bool {
    crate::text::readable(&tidy(s), MAX_ORDER_TEXT_CHARS)
}

impl OrderDraft {
    /// The last day doses are due: the one given, or the last of the course.
    pub fn last_day(&self, today: NaiveDate) -> Option<NaiveDate> {
        self.end.or_else(|| {
            self.course_days.filter(|d| *d > 0).and_then(|d| {
                self.start
                    .unwrap_or(today)
                    .checked_add_days(chrono::Days::new(u64::from(d) - 1))
            })
        })
    }

    /// The order this draft makes for `resident`: pending, typed in by hand, checked in by
    /// nobody yet, starting on `today` unless the draft gives a first day.
    pub fn order(&self, id: &OrderId, resident: &ResidentId, today: NaiveDate) -> Order {
        let mut times = self.times.clone();
        times.sort();
        times.dedup();
        Order {
            id: id.clone(),
            resident: resident.clone(),
            medicine: Medicine {
                name: tidy(&self.name),
                strength: tidy(&self.strength),
                form: tidy(&self.form),
                // A hand-typed order has no dm+d code or pack barcodes: never guessed, so the
                // carer confirms the product by tapping it (S2).
                dmd: None,
                excipients: vec![],
                gtins: vec![],
                // Checked by `check_order_draft` first, so an amount that cannot be read
                // never reaches here: an order is made only from a draft with no findings.
                ingredients: self
                    .ingredients
                    .iter()
                    .filter(|s| !tidy(s).is_empty())
                    .filter_map(|s| parse_ingredient(s).ok())
                    .collect(),
            },
            dose: self.dose,
            unit: tidy(&self.unit),
            route: self.route,
            schedule: if self.prn.is_some() {
                Schedule::Prn
            } else {
                Schedule::Daily { times }
            },
            instructions: tidy(&self.instructions),
            prescriber: tidy(&self.prescriber),
            start: self.start.unwrap_or(today),
            end: self.last_day(today),
            status: OrderStatus::Pending,
            source: OrderSource::HandEntered,
            checked_in_by: vec![],
            cd: self.cd,
            time_critical: self.time_critical,
            covert_allowed: false,
            both_intended: None,
            replaces: None,
            slots_after: None,
            application: match (self.route, self.patch_site_rest_days) {
                (Route::Transdermal, Some(days)) => Application::Patch {
                    site_rest_days: days,
                },
                (Route::Topical, _) => Application::Topical,
                _ => Application::Standard,
            },
            prn: self.prn.clone().map(|p| PrnProtocol {
                indication: tidy(&p.indication),
                ..p
            }),
        }
    }
}

/// Every reason the draft cannot be kept, at once; a medicine the resident is recorded as
/// allergic to is a warning here (a prescriber may have chosen it knowingly) and blocks each
/// dose until a prescriber's note overrides it (S6).
pub fn check_order_draft(
    actor: &Staff,
    resident: &Resident,
    draft: &OrderDraft,
    limits: &[IngredientLimit],
    today: NaiveDate,
) -> Vec<Finding> {
    if !actor.role.is_senior() || !actor.active {
        return vec![Finding::block(
            Rule::S16,
            FindingCode::RoleNotAllowed,
            "Only a senior carer or manager can write up an order by hand.",
        )];
    }
    let mut out = Vec::new();
    let invalid = |out: &mut Vec<Finding>, message: &str| {
        out.push(Finding::block(
            Rule::S16,
            FindingCode::OrderDraftInvalid,
            message,
        ))
    };
    if ![&draft.name, &draft.strength, &draft.form]
        .iter()
        .all(|s| readable(s))
    {
        invalid(
            &mut out,
            "Give the medicine's name, strength and form as on the letter (for example \
             Furosemide, 40mg, tablets).",
        );
    }
    let typed: Vec<&String> = draft
        .ingredients
        .iter()
        .filter(|s| !tidy(s).is_empty())
        .collect();
    if typed.is_empty() || typed.iter().any(|s| !readable(s)) {
        invalid(
            &mut out,
            "Give its active ingredients, each with its amount in one tablet or ml (for example \
             paracetamol 500mg, or morphine 10mg/5ml): they are what the allergy check and the \
             24-hour limits compare.",
        );
    }
    for s in &typed {
        match parse_ingredient(s) {
            Err(_) => invalid(
                &mut out,
                &format!(
                    "\"{}\": write the amount as a number and mg, g or micrograms (for example \
                     500mg, or 10mg/5ml for a liquid).",
                    tidy(s)
                ),
            ),
            // S4: a substance the home limits over 24 hours is counted by its amount, so an
            // order without it would slip past the limit.
            Ok(i) if i.mg_per_unit.is_none() => {
                if let Some(l) = limits
                    .iter()
                    .find(|l| crate::medicine::same_substance(&l.substance, &i.substance))
                {
                    out.push(Finding::block(
                        Rule::S4,
                        FindingCode::OrderDraftInvalid,
                        format!(
                            "Give the amount of {} in each {} (for example {} 500mg): the home \
                             counts it against its limit of {} mg in 24 hours, from every \
                             medicine.",
                            i.substance,
                            if tidy(&draft.unit).is_empty() {
                                "unit".into()
                            } else {
                                tidy(&draft.unit)
                            },
                            i.substance,
                            l.max_mg_24h
                        ),
                    ));
                }
            }
            Ok(_) => {}
        }
    }
    let dose_ok = match draft.dose {
        Dose::Fixed { qty } => qty.is_positive(),
        Dose::Range { min, max, .. } => min.is_positive() && max > min,
    };
    if !dose_ok || !readable(&draft.unit) {
        invalid(
            &mut out,
            "Give the dose as a quantity above nothing, with its unit (a range goes from the \
             smaller to the larger).",
        );
    }
    if !readable(&draft.prescriber) {
        invalid(
            &mut out,
            "Give who prescribed it, as on the letter (for example Dr A Patel, Royal Infirmary).",
        );
    }
    if draft.instructions.chars().count() > MAX_ORDER_TEXT_CHARS
        || draft.instructions.chars().any(char::is_control)
    {
        invalid(&mut out, "The instructions are at most 200 characters.");
    }
    if draft.end.is_some_and(|e| e < draft.start.unwrap_or(today)) {
        invalid(
            &mut out,
            "The last day comes before the first. Check the dates.",
        );
    }
    if draft.course_days.is_some_and(|d| d == 0 || d > 366)
        || (draft.course_days.is_some() && draft.end.is_some())
    {
        invalid(
            &mut out,
            "A course is 1 to 366 days, or give a last day instead: not both.",
        );
    }
    match &draft.prn {
        None if draft.times.is_empty() => invalid(
            &mut out,
            "Give the times it is due, or make it when required with its protocol: an order \
             with no times schedules nothing, and its doses would never be asked for.",
        ),
        None => {}
        Some(_) if !draft.times.is_empty() => invalid(
            &mut out,
            "A when-required medicine has no set times. Untick the times, or untick when \
             required.",
        ),
        Some(p)
            if !readable(&p.indication)
                || p.min_interval_minutes == 0
                || p.max_per_24h < draft.dose.max() =>
        {
            out.push(Finding::block(
                Rule::S4,
                FindingCode::NoPrnProtocol,
                "A when-required medicine needs its protocol: what it is for, the least time \
                 between doses, and the most in 24 hours (at least one dose).",
            ));
        }
        Some(_) => {}
    }
    if draft.route == Route::Transdermal && draft.patch_site_rest_days.is_none_or(|d| d == 0) {
        out.push(Finding::block(
            Rule::S13,
            FindingCode::OrderDraftInvalid,
            "For a patch, give how many days a site rests before it is used again.",
        ));
    }
    // S6: a prescriber may have chosen it knowingly, so this warns; each dose then blocks
    // unless a prescriber's note overrides it.
    let order = draft.order(&OrderId::new("draft"), &resident.id, today);
    out.extend(
        crate::allergen::hits(&resident.allergies, &order.medicine)
            .iter()
            .map(|hit| crate::rules::allergy_warning(resident, hit)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::ResidentDetails;
    use crate::finding::Severity;
    use crate::qty::Qty;
    use crate::resident::Allergy;
    use crate::staff::Role;
    use crate::UnitId;

    fn staff(role: Role) -> Staff {
        crate::rules::tests::staff("s", role)
    }

    fn resident() -> Resident {
        ResidentDetails {
            given_name: "Edith".into(),
            family_name: "Clarke".into(),
            preferred_name: None,
            date_of_birth: NaiveDate::from_ymd_opt(1938, 4, 12).unwrap(),
            nhs_number: "9434765919".into(),
            unit: UnitId::new("rowan"),
            room: "14".into(),
            allergies: vec![Allergy {
                substance: "Penicillin".into(),
                reaction: "rash".into(),
            }],
            no_known_allergies: false,
        }
        .apply(&ResidentId::new("r"), None, String::new())
    }

    fn furosemide() -> OrderDraft {
        OrderDraft {
            name: " Furosemide".into(),
            strength: "40mg".into(),
            form: "tablets".into(),
            ingredients: vec!["furosemide".into()],
            dose: Dose::Fixed { qty: Qty::whole(1) },
            unit: "tablet".into(),
            route: Route::Oral,
            times: vec![NaiveTime::from_hms_opt(8, 0, 0).unwrap()],
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

    fn codes(f: &[Finding]) -> Vec<FindingCode> {
        f.iter().map(|f| f.code).collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    #[test]
    fn s16_a_senior_writes_up_an_order_that_stays_pending_until_checked_in() {
        assert!(check_order_draft(
            &staff(Role::Senior),
            &resident(),
            &furosemide(),
            &[],
            today()
        )
        .is_empty());
        for r in [Role::Carer, Role::Auditor] {
            assert_eq!(
                codes(&check_order_draft(
                    &staff(r),
                    &resident(),
                    &furosemide(),
                    &[],
                    today()
                )),
                [FindingCode::RoleNotAllowed]
            );
        }
        let o = furosemide().order(&OrderId::new("o"), &ResidentId::new("r"), today());
        assert_eq!(o.status, OrderStatus::Pending);
        assert_eq!(o.source, OrderSource::HandEntered);
        assert!(o.checked_in_by.is_empty() && o.medicine.gtins.is_empty());
        assert_eq!(o.medicine.name, "Furosemide");
        assert_eq!(o.application, Application::Standard);
        assert_eq!(o.start, today());
        // And check-in then needs a second trained person.
        let senior = staff(Role::Senior);
        assert_eq!(
            crate::rules::check_in(&o, &senior, None, &resident(), &[], today(), &[]).unwrap_err()
                [0]
            .code,
            FindingCode::SecondCheckerNeeded
        );
    }

    #[test]
    fn s16_an_order_that_would_schedule_nothing_or_name_no_prescriber_is_refused() {
        let bad = OrderDraft {
            name: "".into(),
            ingredients: vec![" ".into()],
            dose: Dose::Range {
                min: Qty::whole(2),
                max: Qty::whole(1),
                halves: false,
            },
            times: vec![],
            prescriber: " ".into(),
            end: NaiveDate::from_ymd_opt(2026, 11, 30),
            ..furosemide()
        };
        let f = check_order_draft(&staff(Role::Senior), &resident(), &bad, &[], today());
        assert_eq!(codes(&f), [FindingCode::OrderDraftInvalid; 6]);
        assert!(f.iter().any(|f| f.message.contains("schedules nothing")));
        let zero = OrderDraft {
            dose: Dose::Fixed { qty: Qty::ZERO },
            ..furosemide()
        };
        assert_eq!(
            codes(&check_order_draft(
                &staff(Role::Senior),
                &resident(),
                &zero,
                &[],
                today()
            )),
            [FindingCode::OrderDraftInvalid]
        );
    }

    #[test]
    fn s16_a_course_of_seven_days_ends_on_the_seventh() {
        let course = OrderDraft {
            course_days: Some(7),
            ..furosemide()
        };
        assert!(
            check_order_draft(&staff(Role::Senior), &resident(), &course, &[], today()).is_empty()
        );
        let o = course.order(&OrderId::new("o"), &ResidentId::new("r"), today());
        assert_eq!(o.end, NaiveDate::from_ymd_opt(2026, 12, 7));
        assert!(o.runs_on(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()));
        assert!(!o.runs_on(NaiveDate::from_ymd_opt(2026, 12, 8).unwrap()));
        for bad in [
            OrderDraft {
                course_days: Some(0),
                ..furosemide()
            },
            OrderDraft {
                end: NaiveDate::from_ymd_opt(2026, 12, 9),
                ..course.clone()
            },
        ] {
            assert_eq!(
                codes(&check_order_draft(
                    &staff(Role::Senior),
                    &resident(),
                    &bad,
                    &[],
                    today()
                )),
                [FindingCode::OrderDraftInvalid]
            );
        }
    }

    #[test]
    fn s04_a_when_required_order_needs_its_whole_protocol() {
        let protocol = PrnProtocol {
            indication: "Breathlessness".into(),
            min_interval_minutes: 240,
            max_per_24h: Qty::whole(4),
            follow_up_minutes: 60,
        };
        let prn = OrderDraft {
            times: vec![],
            prn: Some(protocol.clone()),
            ..furosemide()
        };
        assert!(
            check_order_draft(&staff(Role::Senior), &resident(), &prn, &[], today()).is_empty()
        );
        assert_eq!(
            prn.order(&OrderId::new("o"), &ResidentId::new("r"), today())
                .schedule,
            Schedule::Prn
        );
        for p in [
            PrnProtocol {
                indication: "".into(),
                ..protocol.clone()
            },
            PrnProtocol {
                min_interval_minutes: 0,
                ..protocol.clone()
            },
            PrnProtocol {
                max_per_24h: Qty::ZERO,
                ..protocol.clone()
            },
        ] {
            let d = OrderDraft {
                prn: Some(p),
                ..prn.clone()
            };
            assert_eq!(
                codes(&check_order_draft(
                    &staff(Role::Senior),
                    &resident(),
                    &d,
                    &[],
                    today()
                )),
                [FindingCode::NoPrnProtocol]
            );
        }
        let both = OrderDraft {
            times: furosemide().times,
            ..prn
        };
        assert_eq!(
            codes(&check_order_draft(
                &staff(Role::Senior),
                &resident(),
                &both,
                &[],
                today()
            )),
            [FindingCode::OrderDraftInvalid]
        );
    }

    #[test]
    fn s06_an_order_for_a_medicine_the_resident_is_allergic_to_is_a_warning() {
        let amoxicillin = OrderDraft {
            name: "Co-amoxiclav".into(),
            ingredients: vec!["Amoxicillin".into(), "penicillin".into()],
            ..furosemide()
        };
        let f = check_order_draft(
            &staff(Role::Senior),
            &resident(),
            &amoxicillin,
            &[],
            today(),
        );
        assert_eq!(codes(&f), [FindingCode::AllergyMatch]);
        assert_eq!(f[0].severity, Severity::Warn);
        assert!(
            f[0].message.contains("Penicillin (rash)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn s13_a_patch_typed_in_by_hand_needs_its_site_rest() {
        let patch = OrderDraft {
            route: Route::Transdermal,
            unit: "patch".into(),
            ..furosemide()
        };
        assert_eq!(
            codes(&check_order_draft(
                &staff(Role::Senior),
                &resident(),
                &patch,
                &[],
                today()
            )),
            [FindingCode::OrderDraftInvalid]
        );
        let rested = OrderDraft {
            patch_site_rest_days: Some(7),
            ..patch
        };
        assert!(
            check_order_draft(&staff(Role::Senior), &resident(), &rested, &[], today()).is_empty()
        );
        assert_eq!(
            rested
                .order(&OrderId::new("o"), &ResidentId::new("r"), today())
                .application,
            Application::Patch { site_rest_days: 7 }
        );
    }

    #[test]
    fn s04_an_order_for_a_limited_substance_needs_its_amount_per_unit() {
        let limits = [crate::medicine::IngredientLimit {
            substance: "paracetamol".into(),
            max_mg_24h: Qty::whole(4000),
        }];
        let para = OrderDraft {
            name: "Paracetamol".into(),
            strength: "500mg".into(),
            ingredients: vec!["Paracetamol".into()],
            ..furosemide()
        };
        let f = check_order_draft(&staff(Role::Senior), &resident(), &para, &limits, today());
        assert_eq!(codes(&f), [FindingCode::OrderDraftInvalid]);
        assert_eq!(f[0].rule, Rule::S4);
        assert!(f[0].message.contains("4000 mg"), "{}", f[0].message);
        // An amount that cannot be read is refused, not dropped.
        let typo = OrderDraft {
            ingredients: vec!["paracetamol 5OOmg".into()],
            ..para.clone()
        };
        let f = check_order_draft(&staff(Role::Senior), &resident(), &typo, &limits, today());
        assert_eq!(codes(&f), [FindingCode::OrderDraftInvalid]);
        let ok = OrderDraft {
            ingredients: vec!["paracetamol 500mg".into()],
            ..para
        };
        assert!(
            check_order_draft(&staff(Role::Senior), &resident(), &ok, &limits, today()).is_empty()
        );
        let o = ok.order(&OrderId::new("o"), &ResidentId::new("r"), today());
        assert_eq!(o.medicine.ingredients[0].mg_per_unit, Some(Qty::whole(500)));
    }
}
