//! Admitting a resident and changing their details. The details are what identify a person at
//! the bedside (S1) and what the allergy check reads (S6), so they are checked before they are
//! kept: a name and date of birth a colleague can read, a valid NHS number that no other
//! resident of the home has, a unit of the home, and an allergy status that was asked, never
//! assumed.

use crate::checks::nhs_number_is_valid;
use crate::finding::{Finding, FindingCode, Rule};
use crate::ids::{ResidentId, UnitId};
use crate::resident::{Allergy, Presence, Resident};
use crate::staff::Staff;
use crate::text::{readable, tidy};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// The longest name (given, family or preferred) a resident may have, in characters.
pub const MAX_RESIDENT_NAME_CHARS: usize = 60;
/// The longest room and allergy texts, in characters.
pub const MAX_ROOM_CHARS: usize = 20;
pub const MAX_ALLERGY_CHARS: usize = 80;
/// The oldest a date of birth may make someone: older is a typing slip (1862 for 1962).
pub const MAX_AGE_YEARS: i32 = 120;

/// What a senior types in when a resident is admitted, or changes later. Presence, the covert
/// plan and the photo are kept elsewhere and never changed by this form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentDetails {
    pub given_name: String,
    pub family_name: String,
    #[serde(default)]
    pub preferred_name: Option<String>,
    pub date_of_birth: NaiveDate,
    pub nhs_number: String,
    pub unit: UnitId,
    pub room: String,
    #[serde(default)]
    pub allergies: Vec<Allergy>,
    /// The person admitting them confirmed (with the resident, family, GP or discharge letter)
    /// that there are no known allergies. An empty list alone means nobody asked.
    #[serde(default)]
    pub no_known_allergies: bool,
}

impl ResidentDetails {
    /// The details as they are kept: names, room and allergies trimmed, the NHS number as its
    /// ten digits, an empty preferred name as none.
    pub fn tidied(&self) -> ResidentDetails {
        let t = tidy;
        ResidentDetails {
            given_name: t(&self.given_name),
            family_name: t(&self.family_name),
            preferred_name: self
                .preferred_name
                .as_deref()
                .map(t)
                .filter(|p| !p.is_empty()),
            date_of_birth: self.date_of_birth,
            nhs_number: self
                .nhs_number
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect(),
            unit: self.unit.clone(),
            room: t(&self.room),
            allergies: self
                .allergies
                .iter()
                .map(|a| Allergy {
                    substance: t(&a.substance),
                    reaction: t(&a.reaction),
                })
                .collect(),
            no_known_allergies: self.no_known_allergies,
        }
    }

    /// The details of a resident as they stand, for the form that changes them.
    pub fn of(r: &Resident) -> ResidentDetails {
        ResidentDetails {
            given_name: r.given_name.clone(),
            family_name: r.family_name.clone(),
            preferred_name: r.preferred_name.clone(),
            date_of_birth: r.date_of_birth,
            nhs_number: r.nhs_number.clone(),
            unit: r.unit.clone(),
            room: r.room.clone(),
            allergies: r.allergies.clone(),
            no_known_allergies: r.allergies.is_empty(),
        }
    }

    /// The resident these details make: a new one (present, no covert plan, the photo given),
    /// or `before` with only its details changed.
    pub fn apply(&self, id: &ResidentId, before: Option<&Resident>, photo: String) -> Resident {
        let d = self.tidied();
        Resident {
            id: id.clone(),
            unit: d.unit,
            room: d.room,
            given_name: d.given_name,
            family_name: d.family_name,
            preferred_name: d.preferred_name,
            date_of_birth: d.date_of_birth,
            nhs_number: d.nhs_number,
            photo: before.map_or(Some(photo), |b| b.photo.clone()),
            allergies: d.allergies,
            presence: before.map_or(Presence::Present, |b| b.presence.clone()),
            reconciliation_pending: before.is_some_and(|b| b.reconciliation_pending),
            covert_plan: before.and_then(|b| b.covert_plan.clone()),
        }
    }
}

fn a_name(s: &str) -> bool {
    readable(s, MAX_RESIDENT_NAME_CHARS)
        && s.chars().next().is_some_and(char::is_alphabetic)
        && s.chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '\u{2019}' | '.'))
}

/// Every reason the details cannot be kept, at once, so the form can show them together.
/// `resident` is the one being admitted or changed; `others` are the home's residents (the
/// resident themself among them is ignored); `units` the home's units.
pub fn check_resident_details(
    actor: &Staff,
    resident: &ResidentId,
    details: &ResidentDetails,
    others: &[Resident],
    units: &[UnitId],
    today: NaiveDate,
) -> Vec<Finding> {
    if !actor.role.is_senior() || !actor.active {
        return vec![Finding::block(
            Rule::S19,
            FindingCode::RoleNotAllowed,
            "Only a senior carer or manager can admit a resident or change their details.",
        )];
    }
    let d = details.tidied();
    let mut out = Vec::new();
    let invalid = |out: &mut Vec<Finding>, message: &str| {
        out.push(Finding::block(
            Rule::S1,
            FindingCode::ResidentDetailsInvalid,
            message,
        ))
    };
    if !a_name(&d.given_name) || !a_name(&d.family_name) {
        invalid(
            &mut out,
            "Give the first and family names as on their NHS records: letters, spaces, hyphens \
             and apostrophes, at most 60 characters each.",
        );
    }
    if d.preferred_name.as_deref().is_some_and(|p| !a_name(p)) {
        invalid(
            &mut out,
            "The name they like to be called is letters, spaces, hyphens and apostrophes, at \
             most 60 characters.",
        );
    }
    let oldest = NaiveDate::from_ymd_opt(today.year() - MAX_AGE_YEARS, 1, 1).unwrap_or(today);
    if d.date_of_birth > today || d.date_of_birth < oldest {
        invalid(
            &mut out,
            &format!(
                "The date of birth must be in the past, and after {}. Check the year.",
                oldest.format("%-d %B %Y")
            ),
        );
    }
    if !readable(&d.room, MAX_ROOM_CHARS) {
        invalid(&mut out, "Give the room (at most 20 characters).");
    }
    if !nhs_number_is_valid(&d.nhs_number) {
        out.push(Finding::block(
            Rule::S1,
            FindingCode::NhsNumberInvalid,
            "That is not a valid NHS number: it has ten digits and the last is a check digit. \
             Copy it again from the NHS letter or the GP record.",
        ));
    } else if let Some(o) = others.iter().find(|o| {
        &o.id != resident
            && o.nhs_number
                .chars()
                .filter(|c| !c.is_whitespace())
                .eq(d.nhs_number.chars())
    }) {
        out.push(Finding::block(
            Rule::S1,
            FindingCode::NhsNumberInUse,
            if o.has_left() {
                format!(
                    "{} has this NHS number and has left the home. One person has one chart: \
                     if they are coming back, readmit them from their chart (under 'Left the \
                     home' on the round).",
                    o.full_name()
                )
            } else {
                format!(
                    "{} (room {}) already has this NHS number. One person has one chart: \
                     check whether they are the same person.",
                    o.full_name(),
                    o.room
                )
            },
        ));
    }
    if !units.contains(&d.unit) {
        out.push(Finding::block(
            Rule::S1,
            FindingCode::UnknownUnit,
            "Choose one of the home's units.",
        ));
    }
    if d.allergies.is_empty() && !d.no_known_allergies {
        out.push(Finding::block(
            Rule::S6,
            FindingCode::AllergyStatusNeeded,
            "Record their allergies, or confirm that they have none known. Ask the resident, \
             their family or the GP, or read the discharge letter: a blank is not 'none'.",
        ));
    } else if !d.allergies.is_empty() && d.no_known_allergies {
        out.push(Finding::block(
            Rule::S6,
            FindingCode::AllergyStatusNeeded,
            "Allergies are listed and 'no known allergies' is ticked too. Untick it, or remove \
             the allergies.",
        ));
    }
    if d.allergies.iter().any(|a| {
        !readable(&a.substance, MAX_ALLERGY_CHARS)
            || !(a.reaction.is_empty() || readable(&a.reaction, MAX_ALLERGY_CHARS))
    }) {
        out.push(Finding::block(
            Rule::S6,
            FindingCode::ResidentDetailsInvalid,
            "Each allergy needs what they are allergic to (at most 80 characters), and the \
             reaction if known.",
        ));
    }
    out
}

/// S1: residents of the home who share an NHS number, each group sorted by id: the same
/// person admitted twice, on two tablets that were apart. One person must have one chart, so
/// each group is raised as an incident after a sync.
pub fn duplicate_charts(residents: &[Resident]) -> Vec<Vec<&Resident>> {
    let digits =
        |r: &Resident| -> String { r.nhs_number.chars().filter(char::is_ascii_digit).collect() };
    let mut by_number: std::collections::BTreeMap<String, Vec<&Resident>> = Default::default();
    for r in residents
        .iter()
        .filter(|r| nhs_number_is_valid(&r.nhs_number))
    {
        by_number.entry(digits(r)).or_default().push(r);
    }
    by_number
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort_by(|a, b| a.id.cmp(&b.id));
            g
        })
        .collect()
}

/// S1: another resident of the same unit shares the family name, so the two are easily
/// confused on a round. The chart says so, with who the other is, on every visit.
pub fn name_alert(resident: &Resident, others: &[Resident]) -> Option<String> {
    let same: Vec<String> = others
        .iter()
        .filter(|o| {
            o.id != resident.id
                && o.unit == resident.unit
                && o.family_name.to_lowercase() == resident.family_name.to_lowercase()
        })
        .map(|o| format!("{} (room {})", o.full_name(), o.room))
        .collect();
    (!same.is_empty()).then(|| {
        format!(
            "Name alert: {} on this unit is also called {}. Check the photo, date of birth and \
             NHS number.",
            same.join(" and "),
            resident.family_name
        )
    })
}

/// A resident's first photo until a real one is taken: their initials on a coloured disc, as an
/// SVG data URL. The hue comes from `seed` so that residents' discs differ.
pub fn avatar(given: &str, family: &str, seed: u64) -> String {
    let initials: String = [given, family]
        .iter()
        .filter_map(|s| s.chars().next())
        .flat_map(char::to_uppercase)
        .filter(|c| c.is_alphanumeric())
        .collect();
    let hue = seed % 360;
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 96 96'><rect width='96' height='96' \
         rx='12' fill='hsl({hue},45%,30%)'/><text x='48' y='60' text-anchor='middle' \
         font-family='sans-serif' font-size='38' font-weight='bold' fill='#fff'>{initials}</text></svg>"
    );
    format!(
        "data:image/svg+xml;utf8,{}",
        svg.replace('%', "%25")
            .replace('#', "%23")
            .replace('<', "%3C")
            .replace('>', "%3E")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staff::Role;

    fn staff(role: Role) -> Staff {
        crate::rules::tests::staff("s", role)
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn edith() -> ResidentDetails {
        ResidentDetails {
            given_name: "  Edith ".into(),
            family_name: "Clarke".into(),
            preferred_name: Some(" ".into()),
            date_of_birth: NaiveDate::from_ymd_opt(1938, 4, 12).unwrap(),
            nhs_number: "943 476 5919".into(),
            unit: UnitId::new("rowan"),
            room: " 14 ".into(),
            allergies: vec![],
            no_known_allergies: true,
        }
    }

    fn codes(f: &[Finding]) -> Vec<FindingCode> {
        f.iter().map(|f| f.code).collect()
    }

    fn check(actor: Role, d: &ResidentDetails, others: &[Resident]) -> Vec<FindingCode> {
        codes(&check_resident_details(
            &staff(actor),
            &ResidentId::new("new"),
            d,
            others,
            &[UnitId::new("rowan"), UnitId::new("birch")],
            today(),
        ))
    }

    #[test]
    fn s01_a_senior_admits_a_resident_with_valid_details_and_a_carer_cannot() {
        assert!(check(Role::Senior, &edith(), &[]).is_empty());
        assert!(check(Role::Manager, &edith(), &[]).is_empty());
        for r in [Role::Carer, Role::Auditor] {
            assert_eq!(check(r, &edith(), &[]), [FindingCode::RoleNotAllowed]);
        }
        let r = edith().apply(&ResidentId::new("new"), None, avatar("Edith", "Clarke", 7));
        assert_eq!(r.given_name, "Edith");
        assert_eq!(r.preferred_name, None);
        assert_eq!(r.nhs_number, "9434765919");
        assert_eq!(r.room, "14");
        assert_eq!(r.presence, Presence::Present);
        assert!(r
            .photo
            .as_deref()
            .unwrap()
            .starts_with("data:image/svg+xml"));
    }

    #[test]
    fn s01_details_that_would_not_identify_the_resident_are_refused_all_at_once() {
        let bad = ResidentDetails {
            given_name: "".into(),
            date_of_birth: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            nhs_number: "9434765918".into(),
            unit: UnitId::new("nowhere"),
            room: "".into(),
            no_known_allergies: false,
            ..edith()
        };
        assert_eq!(
            check(Role::Senior, &bad, &[]),
            [
                FindingCode::ResidentDetailsInvalid,
                FindingCode::ResidentDetailsInvalid,
                FindingCode::ResidentDetailsInvalid,
                FindingCode::NhsNumberInvalid,
                FindingCode::UnknownUnit,
                FindingCode::AllergyStatusNeeded,
            ]
        );
        for (given, family) in [
            ("Ed\u{7}ith", "Clarke"),
            ("<b>", "Clarke"),
            ("Edith", "-Clarke"),
            ("Edith", &"C".repeat(61)),
            ("E1", "Clarke"),
        ] {
            let d = ResidentDetails {
                given_name: given.into(),
                family_name: family.into(),
                ..edith()
            };
            assert_eq!(
                check(Role::Senior, &d, &[]),
                [FindingCode::ResidentDetailsInvalid],
                "{given:?} {family:?}"
            );
        }
        for (given, family) in [
            ("Zoë", "O'Brien"),
            ("Mary-Anne", "St. John"),
            ("Siân", "ap Rhys"),
        ] {
            let d = ResidentDetails {
                given_name: given.into(),
                family_name: family.into(),
                ..edith()
            };
            assert!(check(Role::Senior, &d, &[]).is_empty(), "{given} {family}");
        }
        let ancient = ResidentDetails {
            date_of_birth: NaiveDate::from_ymd_opt(1905, 12, 31).unwrap(),
            ..edith()
        };
        assert_eq!(
            check(Role::Senior, &ancient, &[]),
            [FindingCode::ResidentDetailsInvalid]
        );
    }

    #[test]
    fn s01_an_nhs_number_another_resident_has_is_refused_but_their_own_is_not() {
        let existing = edith().apply(&ResidentId::new("r1"), None, String::new());
        assert_eq!(
            check(Role::Senior, &edith(), std::slice::from_ref(&existing)),
            [FindingCode::NhsNumberInUse]
        );
        // Changing r1's own details keeps its number.
        let f = check_resident_details(
            &staff(Role::Senior),
            &existing.id,
            &ResidentDetails {
                room: "15".into(),
                ..edith()
            },
            std::slice::from_ref(&existing),
            &[UnitId::new("rowan")],
            today(),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn s06_allergies_are_recorded_or_confirmed_none_never_left_blank() {
        let unasked = ResidentDetails {
            no_known_allergies: false,
            ..edith()
        };
        assert_eq!(
            check(Role::Senior, &unasked, &[]),
            [FindingCode::AllergyStatusNeeded]
        );
        let penicillin = ResidentDetails {
            allergies: vec![Allergy {
                substance: "Penicillin".into(),
                reaction: "rash".into(),
            }],
            no_known_allergies: false,
            ..edith()
        };
        assert!(check(Role::Senior, &penicillin, &[]).is_empty());
        let both = ResidentDetails {
            no_known_allergies: true,
            ..penicillin.clone()
        };
        assert_eq!(
            check(Role::Senior, &both, &[]),
            [FindingCode::AllergyStatusNeeded]
        );
        let blank = ResidentDetails {
            allergies: vec![Allergy {
                substance: " ".into(),
                reaction: "".into(),
            }],
            ..penicillin
        };
        assert_eq!(
            check(Role::Senior, &blank, &[]),
            [FindingCode::ResidentDetailsInvalid]
        );
    }

    #[test]
    fn a_change_of_details_keeps_presence_photo_and_covert_plan() {
        let mut before = edith().apply(&ResidentId::new("r1"), None, "photo".into());
        before.reconciliation_pending = true;
        before.presence = Presence::InHospital {
            since: chrono::DateTime::UNIX_EPOCH,
        };
        let after = ResidentDetails {
            unit: UnitId::new("birch"),
            room: "3".into(),
            ..ResidentDetails::of(&before)
        }
        .apply(&before.id, Some(&before), "other".into());
        assert_eq!(after.unit, UnitId::new("birch"));
        assert_eq!(after.photo.as_deref(), Some("photo"));
        assert_eq!(after.presence, before.presence);
        assert!(after.reconciliation_pending);
    }

    #[test]
    fn s01_a_shared_family_name_on_one_unit_raises_a_name_alert() {
        let a = edith().apply(&ResidentId::new("a"), None, String::new());
        let mut b = a.clone();
        b.id = ResidentId::new("b");
        b.given_name = "Harold".into();
        b.family_name = "CLARKE".into();
        b.room = "2".into();
        let alert = name_alert(&a, &[a.clone(), b.clone()]).unwrap();
        assert!(alert.contains("Harold CLARKE (room 2)"), "{alert}");
        b.unit = UnitId::new("birch");
        assert_eq!(name_alert(&a, &[a.clone(), b]), None);
    }

    #[test]
    fn s01_two_charts_with_one_nhs_number_are_found() {
        let a = edith().apply(&ResidentId::new("b"), None, String::new());
        let mut b = a.clone();
        b.id = ResidentId::new("a");
        b.nhs_number = "943 476 5919".into();
        let mut c = a.clone();
        c.id = ResidentId::new("c");
        c.nhs_number = "9876543210".into();
        let all = [a.clone(), b.clone(), c];
        let groups = duplicate_charts(&all);
        assert_eq!(groups.len(), 1);
        let ids: Vec<&str> = groups[0].iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(duplicate_charts(&[a]).is_empty());
    }

    #[test]
    fn an_avatar_is_an_svg_whatever_the_name() {
        let a = avatar("ëdith", "<x>", 400);
        assert!(a.starts_with("data:image/svg+xml;utf8,%3Csvg"));
        assert!(a.contains("hsl(40,45%25,30%25)"));
        assert!(a.contains("Ë"), "{a}");
        assert!(!a.contains('<') && !a.contains('>'));
    }
}
