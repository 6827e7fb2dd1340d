//! The typed boundary between the UI (wasm) and the shell: one Rust definition per command, with
//! its arguments, its result, and a serializable error code, so the UI never matches on strings.

use medround_domain::finding::{Finding, FindingCode};
use medround_domain::incident::IncidentKind;
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
pub use medround_domain::review::{Counts, DoseClass};
use medround_domain::rules::DoseAttempt;
use medround_domain::staff::Role;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// A command the UI sends to the shell.
pub trait Command: Serialize + DeserializeOwned {
    /// The Tauri command name.
    const NAME: &'static str;
    type Output: Serialize + DeserializeOwned;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    WrongPin,
    AccountLocked,
    NoPin,
    NotSignedIn,
    /// Idle too long: sign in again.
    SessionLocked,
    NotFound,
    /// The safety rules refused: see `findings`.
    Blocked,
    BadBarcode,
    BadInput,
    NotAllowed,
    Storage,
    /// Something inside the app failed that the person cannot put right (a chart that could not
    /// be written as PDF); nothing was changed.
    Internal,
    /// A sync message was refused (damaged, hostile, or from another version).
    SyncRefused,
    /// The central record cannot be reached (no network, or it is down); records wait here.
    Offline,
    /// The tablet is not enrolled with a central record.
    NotEnrolled,
    /// The enrolment code was unknown, used or expired.
    BadEnrolmentCode,
    /// The provider revoked this tablet; it can no longer sync.
    DeviceRevoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpcError {
    pub code: ErrorCode,
    /// For the person: what happened and what to do.
    pub message: String,
    #[serde(default)]
    pub findings: Vec<Finding>,
}

impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for IpcError {}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IpcError {
            code,
            message: message.into(),
            findings: vec![],
        }
    }
}

// ---- views ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffCard {
    pub id: String,
    pub name: String,
    pub initials: String,
    pub role: Role,
    pub role_label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeView {
    pub name: String,
    pub demo: bool,
    pub staff: Vec<StaffCard>,
    pub device: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub staff: StaffCard,
    pub idle_lock_minutes: u32,
    pub lock_after_each_resident: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentCard {
    pub id: String,
    pub name: String,
    pub preferred_name: Option<String>,
    pub room: String,
    pub photo: Option<String>,
    pub due_now: u32,
    pub late: u32,
    pub missed: u32,
    pub time_critical_soon: u32,
    pub away: Option<String>,
    pub locked_for_reconciliation: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRound {
    pub id: String,
    pub name: String,
    pub residents: Vec<ResidentCard>,
    pub due_now: u32,
    pub late: u32,
    pub missed: u32,
    pub time_critical_soon: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundView {
    pub home: String,
    /// Local time, e.g. "Mon 23 Nov 07:58".
    pub now_local: String,
    pub units: Vec<UnitRound>,
    pub open_incidents: u32,
    /// Residents who have left the home (discharged or died), off the round.
    #[serde(default)]
    pub left: Vec<ResidentCard>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoseState {
    Upcoming,
    Due,
    Late,
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoseRow {
    pub order: String,
    /// RFC 3339 instant of the slot; empty for when-required lines.
    pub slot: String,
    /// Local "08:00".
    pub time: String,
    pub window: String,
    pub medicine: String,
    pub dose: String,
    pub route: String,
    pub instructions: String,
    pub state: DoseState,
    pub outcome: Option<OutcomeCode>,
    pub variable: bool,
    pub min_qty: Qty,
    pub max_qty: Qty,
    pub unit: String,
    pub controlled: Option<String>,
    pub time_critical: bool,
    pub needs_site: bool,
    pub patch: bool,
    pub covert_offered: bool,
    pub prn_indication: Option<String>,
    /// Why it cannot be given at all (pending, ended...), shown greyed with the reason.
    pub unavailable: Option<String>,
    /// Waiting for a senior to check it in (S16).
    #[serde(default)]
    pub pending_check_in: bool,
    /// Typed in by hand, so its check-in needs a second trained person (S16).
    #[serde(default)]
    pub hand_entered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordRow {
    pub id: String,
    pub time: String,
    pub medicine: String,
    pub outcome: OutcomeCode,
    pub quantity: Option<String>,
    pub note: Option<String>,
    pub by: String,
    pub witness: Option<String>,
    pub voided: bool,
    pub correction_of: Option<String>,
    pub late: bool,
    pub retrospective: bool,
    pub device: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpRow {
    pub administration: String,
    pub medicine: String,
    pub given_at: String,
    pub due: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllergyView {
    pub substance: String,
    pub reaction: String,
    /// False when the system cannot match it to any substance or class it knows: shown as
    /// "not checked by the system" (S6).
    #[serde(default)]
    pub checked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResidentView {
    pub id: String,
    pub name: String,
    pub preferred_name: Option<String>,
    pub date_of_birth: String,
    pub age: u32,
    pub nhs_number: String,
    pub room: String,
    /// The unit's name.
    pub unit: String,
    pub photo: Option<String>,
    pub allergies: Vec<AllergyView>,
    /// S1: another resident of the unit shares the family name.
    pub name_alert: Option<String>,
    pub away: Option<String>,
    pub locked_for_reconciliation: bool,
    /// Discharged or died: no doses, and the chart is kept for the record.
    #[serde(default)]
    pub left: bool,
    pub covert_plan: Option<String>,
    pub doses: Vec<DoseRow>,
    pub prn: Vec<DoseRow>,
    pub homely: Vec<DoseRow>,
    pub records: Vec<RecordRow>,
    pub follow_ups: Vec<FollowUpRow>,
    pub reviews: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanView {
    /// "product" or "label".
    pub kind: String,
    pub message: String,
    /// The order the scan matches on this resident's chart, if any.
    pub order: Option<String>,
    pub ok: bool,
    pub scan: medround_domain::barcode::Scan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub record: String,
    pub message: String,
    /// Warnings the person acknowledged, as recorded.
    pub acknowledged: Vec<FindingCode>,
}

/// Where the tablet stands with the central record: shown on every screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SyncStatus {
    /// Enrolled with a central record.
    pub enrolled: bool,
    pub server: Option<String>,
    pub home_name: Option<String>,
    /// When the last complete sync finished (RFC 3339, UTC).
    pub last_synced: Option<String>,
    /// Changes recorded here and not yet at the central record.
    pub waiting: u64,
    /// The central record answered the last attempt.
    pub online: bool,
    /// A sync is under way.
    pub running: bool,
    /// Round trips and documents so far, while a sync runs.
    pub progress: Option<SyncProgress>,
    /// Why the last attempt failed, for the person (the records are safe either way).
    pub last_error: Option<String>,
    pub last_error_code: Option<ErrorCode>,
    /// Possible double doses the last syncs found (S18).
    pub incidents_found: u64,
    /// The nightly window in which everything is synced, as "HH:MM-HH:MM" (home time).
    pub nightly: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SyncProgress {
    pub round_trips: u32,
    pub settled: u64,
    pub to_send: u64,
    pub bytes: u64,
}

// ---- the manager's review -------------------------------------------------------------------

/// One row of counts: a unit, resident, medicine, member of staff or day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRow {
    /// The id behind the row (resident, unit, staff id, date), for tapping through.
    pub key: String,
    pub label: String,
    pub counts: Counts,
}

/// A dose that went wrong, with what the manager needs to see at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRow {
    pub resident: String,
    pub resident_name: String,
    pub unit: String,
    pub medicine: String,
    /// Local date and time the dose was due, e.g. "Mon 23 Nov 08:00".
    pub due: String,
    pub class: DoseClass,
    /// "Late", "Missed", "Refused"...
    pub class_label: String,
    pub outcome: Option<OutcomeCode>,
    pub time_critical: bool,
    pub staff: Option<String>,
    pub record: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRow {
    pub id: String,
    pub resident: String,
    pub resident_name: String,
    pub kind: IncidentKind,
    pub kind_label: String,
    /// The safety rule, e.g. "S18".
    pub rule: String,
    pub message: String,
    pub raised: String,
    pub device: String,
    /// The records the incident names (for a double dose, both).
    pub records: Vec<String>,
    pub open: bool,
    /// "Claire Manning, Tue 1 Dec 09:14: GP informed" for each acknowledgement.
    pub acknowledgements: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewView {
    /// The period, as ISO dates (inclusive).
    pub from: String,
    pub to: String,
    /// "3 Nov to 30 Nov 2026".
    pub period: String,
    pub totals: Counts,
    pub by_unit: Vec<CountRow>,
    pub by_resident: Vec<CountRow>,
    pub by_medicine: Vec<CountRow>,
    pub by_staff: Vec<CountRow>,
    pub by_day: Vec<CountRow>,
    /// When-required doses given, by resident.
    pub prn_given: Vec<CountRow>,
    pub exceptions: Vec<ExceptionRow>,
    pub incidents: Vec<IncidentRow>,
    pub open_incidents: u32,
    /// Seniors and managers may acknowledge; an auditor only reads.
    pub may_acknowledge: bool,
    /// When-required doses of the last day still waiting for "was it effective?".
    pub follow_ups: Vec<FollowUpDueRow>,
}

/// One record in a resident's audit trail (every record, correction and override).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    /// When it happened (device clock), local.
    pub at: String,
    /// When it was written down, local, if different (S10).
    pub recorded: Option<String>,
    /// "Dose", "Correction", "CD register", "Stock", "Incident", "Acknowledgement"...
    pub kind: String,
    pub summary: String,
    pub by: String,
    pub witness: Option<String>,
    pub device: String,
    pub voided: bool,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub resident: String,
    pub resident_name: String,
    pub period: String,
    pub rows: Vec<AuditRow>,
}

/// The home's staff as a senior sees them to manage PINs (S19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffPinsView {
    pub rows: Vec<StaffPinRow>,
    /// This tablet's screen lock: minutes idle, and whether it locks after each resident.
    pub idle_lock_minutes: u32,
    pub lock_after_each_resident: bool,
    /// Only a manager changes the screen lock, and adds staff or changes their details.
    pub may_change_lock: bool,
    pub may_edit_staff: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffPinRow {
    pub staff: StaffCard,
    pub has_pin: bool,
    /// Locked on this tablet after too many wrong PINs.
    pub locked: bool,
    /// "Reset by Ben Okoro, 23 Nov 08:05" when another senior last reset it.
    pub last_reset: Option<String>,
    /// Whether the signed-in senior may reset it (not their own, S19).
    pub may_reset: bool,
    pub medication_trained: bool,
    pub homely_authorised: bool,
}

/// A member of staff added or changed, and what to tell the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSaved {
    pub id: String,
    pub message: String,
}

/// The form that admits a resident or changes their details: the details as they stand (none
/// for an admission) and the home's units to choose from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentForm {
    pub resident: Option<String>,
    pub name: Option<String>,
    pub details: Option<medround_domain::admission::ResidentDetails>,
    pub units: Vec<UnitChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitChoice {
    pub id: String,
    pub name: String,
}

/// A resident admitted or changed, and what to tell the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentSaved {
    pub resident: String,
    pub message: String,
}

/// A change made, and what to tell the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub message: String,
    /// Warnings that stand although the change was made (an allergy the medicine meets, S6),
    /// said in the message too; the screen shows the message as a warning when there are any.
    #[serde(default)]
    pub warnings: Vec<Finding>,
}

impl Done {
    /// A change made with nothing to warn of.
    pub fn said(message: impl Into<String>) -> Done {
        Done {
            message: message.into(),
            warnings: vec![],
        }
    }
}

/// A file saved for the person: a MAR chart (PDF) or the reorder list (CSV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFile {
    /// Where the file was saved on this tablet.
    pub path: String,
    /// Pages of a PDF; 0 for other files.
    pub pages: u32,
    pub bytes: u64,
    pub message: String,
}

/// A when-required dose waiting for its "was it effective?" answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpDueRow {
    pub resident: String,
    pub resident_name: String,
    pub administration: String,
    pub medicine: String,
    pub given_at: String,
    /// The protocol's time for the answer has come.
    pub due: bool,
}

/// One order's stock (S14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockRow {
    pub order: String,
    pub resident: String,
    pub resident_name: String,
    pub medicine: String,
    pub unit: String,
    pub level: Qty,
    /// Used per day at the prescribed rate.
    pub per_day: Qty,
    pub days_left: Option<i64>,
    /// "Negative stock", "2 days left", "Course ends 3 Dec".
    pub alerts: Vec<String>,
    /// To order for the next cycle.
    pub reorder: Qty,
    pub cd: bool,
    /// The register balance, for a controlled drug (S7).
    pub cd_balance: Option<Qty>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockView {
    pub rows: Vec<StockRow>,
    /// The cycle the reorder list is for, e.g. "21 Dec 2026 to 17 Jan 2027".
    pub next_cycle: String,
    pub low: u32,
    pub negative: u32,
    pub ending: u32,
    /// Orders a carer found none of in the home (NO_STOCK) whose reorder task is still open
    /// (S14).
    #[serde(default)]
    pub none_in_home: u32,
    /// Seniors and managers may book in deliveries; an auditor only reads.
    pub may_act: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdRegisterRow {
    pub at: String,
    pub movement: String,
    pub balance: Qty,
    pub by: String,
    pub witness: String,
    pub device: String,
}

/// The controlled-drugs register of one drug for one resident, with its running balance (S7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdRegisterView {
    pub order: String,
    pub resident_name: String,
    pub drug: String,
    pub unit: String,
    pub balance: Qty,
    pub rows: Vec<CdRegisterRow>,
}

// ---- commands ------------------------------------------------------------------------------

macro_rules! command {
    ($name:ident, $wire:literal, $out:ty { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name { $(pub $field: $ty),* }
        impl Command for $name {
            const NAME: &'static str = $wire;
            type Output = $out;
        }
    };
}

command!(GetHome, "get_home", HomeView {});
command!(
    SignIn,
    "sign_in",
    SessionView {
        staff_id: String,
        pin: String
    }
);
command!(SignOut, "sign_out", () {});
command!(GetRound, "get_round", RoundView {});
command!(
    OpenResident,
    "open_resident",
    ResidentView { resident: String }
);
command!(LeaveResident, "leave_resident", bool {});
command!(
    ScanCode,
    "scan_code",
    ScanView {
        resident: String,
        raw: String
    }
);
command!(
    AssessDose,
    "assess_dose",
    medround_domain::finding::Assessment {
        resident: String,
        attempt: DoseAttempt
    }
);
command!(RecordDose, "record_dose", Recorded {
    resident: String,
    attempt: DoseAttempt,
    witness: Option<WitnessPin>,
});
command!(
    CorrectRecord,
    "correct_record",
    Recorded {
        resident: String,
        record: String,
        reason: String,
        // A controlled drug's dose goes back on the register in front of a witness (S7).
        witness: Option<WitnessPin>
    }
);
command!(
    RemovePatch,
    "remove_patch",
    Recorded {
        resident: String,
        order: String,
        site: String,
        // A controlled-drug patch is destroyed in front of a witness (S7, S13).
        witness: Option<WitnessPin>
    }
);
command!(RecordFollowUp, "record_follow_up", Recorded {
    resident: String,
    administration: String,
    effective: bool,
    note: Option<String>,
});
command!(Reconcile, "reconcile", () { resident: String });
// S15: a senior records that a resident has gone to hospital or on leave, now, or is back.
command!(
    SetPresence,
    "set_presence",
    Done {
        resident: String,
        change: medround_domain::rules::PresenceChange,
    }
);
command!(GetSyncStatus, "get_sync_status", SyncStatus {});
command!(CheckInOrder, "check_in_order", () {
    resident: String,
    order: String,
    second: Option<WitnessPin>,
    answers: Option<CheckInAnswers>,
});

/// What a senior answers at check-in to a warning (duplicate therapy, S4): the warnings read,
/// and the prescriber's note that both orders are meant, if they said so.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckInAnswers {
    #[serde(default)]
    pub acknowledged: Vec<medround_domain::finding::FindingCode>,
    #[serde(default)]
    pub both_intended: Option<String>,
}
// Starts a sync now (in the background); the status shows its progress.
command!(SyncNow, "sync_now", SyncStatus {});
command!(
    Enrol,
    "enrol",
    SyncStatus {
        server: String,
        code: String,
        device_name: String
    }
);

// The manager's review of a period (ISO dates, inclusive; none: the last 28 days).
command!(GetReview, "get_review", ReviewView {
    from: Option<String>,
    to: Option<String>,
});
command!(
    AcknowledgeIncident,
    "acknowledge_incident",
    Recorded {
        incident: String,
        action: String,
    }
);
command!(GetAudit, "get_audit", AuditView {
    resident: String,
    from: Option<String>,
    to: Option<String>,
});
// The MAR chart of one resident, or of a whole unit, for the cycle containing `from`.
command!(ExportMar, "export_mar", SavedFile {
    resident: Option<String>,
    unit: Option<String>,
    from: Option<String>,
});
command!(GetStock, "get_stock", StockView {});
command!(ExportReorderList, "export_reorder_list", SavedFile {});
// Books in a delivery (S14); a controlled drug also goes in the register with a witness (S7).
// `counted`: the stock counted after putting the delivery away, if it was counted.
command!(BookDelivery, "book_delivery", Recorded {
    order: String,
    quantity: Qty,
    counted: Option<Qty>,
    supplier: String,
    witness: Option<WitnessPin>,
});
command!(
    CdStockCheck,
    "cd_stock_check",
    Recorded {
        order: String,
        counted: Qty,
        witness: WitnessPin,
    }
);
command!(
    GetCdRegister,
    "get_cd_register",
    CdRegisterView { order: String }
);

command!(GetStaffPins, "get_staff_pins", StaffPinsView {});
// A senior sets a new PIN for someone else, who types it in themselves (S19).
command!(
    ResetPin,
    "reset_pin",
    Done {
        staff_id: String,
        pin: String,
    }
);
// A manager adds a member of staff (no `id`) or changes one; `active: false` when they have
// left, so their PIN no longer signs in anywhere (S19).
command!(SaveStaff, "save_staff", StaffSaved {
    id: Option<String>,
    name: String,
    initials: String,
    role: medround_domain::staff::Role,
    medication_trained: bool,
    homely_authorised: bool,
    active: bool,
});
// A senior admits a resident (no `resident`) or changes their details (S1, S6).
command!(
    GetResidentForm,
    "get_resident_form",
    ResidentForm {
        resident: Option<String>
    }
);
command!(
    SaveResident,
    "save_resident",
    ResidentSaved {
        resident: Option<String>,
        details: medround_domain::admission::ResidentDetails,
    }
);
// A senior writes up an order by hand from a letter; it waits, pending, for a second trained
// person's check (S16).
command!(
    EnterOrder,
    "enter_order",
    Done {
        resident: String,
        draft: medround_domain::order_entry::OrderDraft,
    }
);
command!(
    SetScreenLock,
    "set_screen_lock",
    Done {
        idle_lock_minutes: u32,
        lock_after_each_resident: bool,
    }
);

/// A witness's own credentials, checked on the device at the moment of witnessing (S7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessPin {
    pub staff_id: String,
    pub pin: String,
}

/// The Tauri arguments object: Tauri passes named arguments, so each command is wrapped as
/// `{ "args": <command> }`.
pub fn invoke_args<C: Command>(c: &C) -> serde_json::Value {
    serde_json::json!({ "args": c })
}
