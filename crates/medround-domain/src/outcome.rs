//! The one canonical set of outcome codes (domain brief, "Outcome codes").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutcomeCode {
    Given,
    #[serde(rename = "SELF")]
    SelfAdministered,
    Refused,
    Asleep,
    Nausea,
    Hospital,
    Leave,
    NotRequired,
    Withheld,
    Destroyed,
    NoStock,
    Other,
    Missed,
    EnteredInError,
}

impl OutcomeCode {
    pub const ALL: [OutcomeCode; 14] = [
        OutcomeCode::Given,
        OutcomeCode::SelfAdministered,
        OutcomeCode::Refused,
        OutcomeCode::Asleep,
        OutcomeCode::Nausea,
        OutcomeCode::Hospital,
        OutcomeCode::Leave,
        OutcomeCode::NotRequired,
        OutcomeCode::Withheld,
        OutcomeCode::Destroyed,
        OutcomeCode::NoStock,
        OutcomeCode::Other,
        OutcomeCode::Missed,
        OutcomeCode::EnteredInError,
    ];

    /// The code as printed on the MAR and stored in records.
    pub fn code(self) -> &'static str {
        match self {
            OutcomeCode::Given => "GIVEN",
            OutcomeCode::SelfAdministered => "SELF",
            OutcomeCode::Refused => "REFUSED",
            OutcomeCode::Asleep => "ASLEEP",
            OutcomeCode::Nausea => "NAUSEA",
            OutcomeCode::Hospital => "HOSPITAL",
            OutcomeCode::Leave => "LEAVE",
            OutcomeCode::NotRequired => "NOT_REQUIRED",
            OutcomeCode::Withheld => "WITHHELD",
            OutcomeCode::Destroyed => "DESTROYED",
            OutcomeCode::NoStock => "NO_STOCK",
            OutcomeCode::Other => "OTHER",
            OutcomeCode::Missed => "MISSED",
            OutcomeCode::EnteredInError => "ENTERED_IN_ERROR",
        }
    }

    pub fn from_code(s: &str) -> Option<OutcomeCode> {
        OutcomeCode::ALL.into_iter().find(|c| c.code() == s)
    }

    pub fn meaning(self) -> &'static str {
        match self {
            OutcomeCode::Given => "Given as prescribed",
            OutcomeCode::SelfAdministered => "Self-administered under the resident's plan",
            OutcomeCode::Refused => "Resident declined",
            OutcomeCode::Asleep => "Asleep, not woken for it",
            OutcomeCode::Nausea => "Nausea or vomiting",
            OutcomeCode::Hospital => "In hospital",
            OutcomeCode::Leave => "On social leave",
            OutcomeCode::NotRequired => "Not required (PRN or variable dose)",
            OutcomeCode::Withheld => "Withheld for a clinical reason",
            OutcomeCode::Destroyed => "Dropped, spoiled or contaminated; destroyed",
            OutcomeCode::NoStock => "Not available in the home",
            OutcomeCode::Other => "Other",
            OutcomeCode::Missed => "Missed: window closed with no outcome",
            OutcomeCode::EnteredInError => "Entered in error (correction)",
        }
    }

    /// FHIR R4 MedicationAdministration.status.
    pub fn fhir_status(self) -> &'static str {
        match self {
            OutcomeCode::Given | OutcomeCode::SelfAdministered => "completed",
            OutcomeCode::EnteredInError => "entered-in-error",
            _ => "not-done",
        }
    }

    /// S8: these need a note from the person recording them.
    pub fn needs_note(self) -> bool {
        matches!(
            self,
            OutcomeCode::Refused
                | OutcomeCode::Withheld
                | OutcomeCode::Destroyed
                | OutcomeCode::Other
                | OutcomeCode::EnteredInError
        )
    }

    /// The medicine went in.
    pub fn is_taken(self) -> bool {
        matches!(self, OutcomeCode::Given | OutcomeCode::SelfAdministered)
    }

    /// S8: MISSED is set by the system only; ENTERED_IN_ERROR only through a correction.
    pub fn staff_may_choose(self) -> bool {
        !matches!(self, OutcomeCode::Missed | OutcomeCode::EnteredInError)
    }

    /// Counts as an omission for S11 (a dose the resident needed and did not get). Being away is
    /// not an omission, and neither is a PRN or variable dose that was not needed.
    pub fn is_omission(self) -> bool {
        matches!(
            self,
            OutcomeCode::Refused
                | OutcomeCode::Asleep
                | OutcomeCode::Nausea
                | OutcomeCode::Withheld
                | OutcomeCode::Destroyed
                | OutcomeCode::NoStock
                | OutcomeCode::Other
                | OutcomeCode::Missed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_text_and_serde() {
        for c in OutcomeCode::ALL {
            assert_eq!(OutcomeCode::from_code(c.code()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.code()));
        }
    }

    #[test]
    fn s08_note_required_codes() {
        let needing: Vec<_> = OutcomeCode::ALL
            .into_iter()
            .filter(|c| c.needs_note())
            .map(|c| c.code())
            .collect();
        assert_eq!(
            needing,
            [
                "REFUSED",
                "WITHHELD",
                "DESTROYED",
                "OTHER",
                "ENTERED_IN_ERROR"
            ]
        );
        assert!(!OutcomeCode::Missed.staff_may_choose());
    }
}
