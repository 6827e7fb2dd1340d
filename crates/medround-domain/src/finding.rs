//! What a check says: a finding blocks or warns, names its safety rule (S1-S19) and carries a
//! stable code, so that the UI and the audit trail never match on message text.
//!
//! Every check in the crate returns findings, which is why they live apart from the rules that
//! make most of them: admission, staff, order entry, the register and the merge checks all say
//! what they found in the same shape.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    S1,
    S2,
    S3,
    S4,
    S5,
    S6,
    S7,
    S8,
    S9,
    S10,
    S11,
    S12,
    S13,
    S14,
    S15,
    S16,
    S17,
    S18,
    S19,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Block,
    Warn,
}

/// A stable code for each finding, so the UI and the audit trail never match on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    // S1
    WrongResident,
    WrongResidentLabel,
    WrongOrderLabel,
    /// A resident's names, date of birth or room would not identify them (admission).
    ResidentDetailsInvalid,
    NhsNumberInvalid,
    /// Another resident of the home has this NHS number.
    NhsNumberInUse,
    UnknownUnit,
    // S2
    WrongProduct,
    ProductExpired,
    ProductNotConfirmed,
    // S3
    TooEarly,
    LateReasonNeeded,
    SlotClosed,
    /// The time named is not one of the order's slots (a weekly order on another day).
    NotAScheduledDose,
    // S4
    NoPrnProtocol,
    PrnReasonNeeded,
    PrnIntervalNotMet,
    PrnMaxExceeded,
    IngredientMaxExceeded,
    /// An order's amount of a limited substance per unit is not recorded (S4).
    IngredientAmountUnknown,
    /// Two active orders share an active ingredient (duplicate therapy).
    DuplicateTherapy,
    // S5
    OrderPending,
    OrderNotActive,
    OrderEnded,
    OrderNotStarted,
    UnknownOrder,
    // S6
    AllergyMatch,
    AllergyOverridden,
    /// The medicine is in the same class as, or a class cross-sensitive with, a recorded
    /// allergy, or its excipients are not recorded against an excipient allergy (S6).
    AllergyClassWarning,
    /// A recorded allergy names nothing the system knows, so it was matched word for word
    /// only (S6).
    AllergyNotChecked,
    /// Neither allergies nor "no known allergies" recorded at admission.
    AllergyStatusNeeded,
    // S7
    WitnessNeeded,
    WitnessSamePerson,
    WitnessNotTrained,
    WitnessNotAuthenticated,
    CdBalanceNegative,
    CdCountDiscrepancy,
    // S8
    NoteNeeded,
    OutcomeNotAllowed,
    QuantityNeeded,
    QuantityOutOfRange,
    AlreadyRecorded,
    // S9
    NothingToCorrect,
    AlreadyCorrected,
    // S10
    FutureTime,
    RetrospectiveReasonNeeded,
    // S12
    CovertNotAllowed,
    CovertPlanOutOfDate,
    // S13
    SiteNeeded,
    PreviousPatchNotRemoved,
    SiteReusedTooSoon,
    // S15
    ResidentAway,
    ReconciliationPending,
    /// The resident is already where the change would put them.
    PresenceUnchanged,
    /// Discharged or died.
    ResidentLeft,
    // S16
    SecondCheckerNeeded,
    /// An order typed in by hand is missing what the round needs to give it safely.
    OrderDraftInvalid,
    // S17
    RemedyNotOnList,
    NotAuthorisedForRemedies,
    RemedyDaysExceeded,
    // S19
    RoleNotAllowed,
    ResetNeedsAnotherSenior,
    /// A manager may not take away their own role or account (the home would be left without
    /// the person who can give it back).
    OwnAccountChange,
    StaffDetailsInvalid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub code: FindingCode,
    /// Plain English for the person at the bedside: what is wrong and what to do.
    pub message: String,
}

impl Finding {
    pub fn block(rule: Rule, code: FindingCode, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: Severity::Block,
            code,
            message: message.into(),
        }
    }
    pub fn warn(rule: Rule, code: FindingCode, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: Severity::Warn,
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Assessment {
    pub findings: Vec<Finding>,
    /// Warnings not yet acknowledged by the person recording.
    pub unacknowledged: Vec<FindingCode>,
}

impl Assessment {
    pub fn blocked(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Block)
    }
    pub fn ready(&self) -> bool {
        !self.blocked() && self.unacknowledged.is_empty()
    }
    pub fn has(&self, code: FindingCode) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }
    pub fn blocks(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Block)
    }
}
