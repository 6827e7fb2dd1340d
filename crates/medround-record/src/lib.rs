//! medround-record: the record model the tablets and the central record share. What a
//! document may hold (`Item`, the home's lists, a resident's profile), the shape versions of
//! documents, and the checks every arriving change meets before it is stored
//! ([`check::check_changes`]), run by the same code on every tablet and on the central record.
//! **Invariants:** no IO, no SQL and no clock of its own: the time a check needs is passed in.

pub mod check;

pub use check::{
    check_changes, check_doc_id, check_entry, doc_schema, staff_entry, Arrival, DocId, PinVerifier,
    Roster, CLOCK_SKEW_MINUTES, DOC_SCHEMA, MAX_VALUE_BYTES, SCHEMA_KEY,
};

use chrono::{DateTime, Utc};
use medround_domain::cd::CdEntry;
use medround_domain::incident::{Incident, IncidentAck};
use medround_domain::record::{Administration, PatchRemoval, PrnFollowUp, ResidentEvent};
use medround_domain::stock::StockMovement;
use medround_domain::{ResidentId, UnitId};
use serde::{Deserialize, Serialize};

/// Why a document or a change is not one a Medround device may hold.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "{doc} was written by a newer version of Medround (document version {version}; this \
         app reads up to {app}). Update this app; nothing has been changed."
    )]
    DocumentTooNew { doc: String, version: u32, app: u32 },
    /// A stored document, or a value, that is not what its key says.
    #[error("A stored document is damaged: {0}")]
    Corrupt(String),
    /// Changes from another device that break a rule every document keeps.
    #[error("{0}")]
    Refused(String),
    #[error("document: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
}

/// One replicated record appended to a resident's cycle document.
// Items are built one at a time and written at once; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum Item {
    Administration(Administration),
    PatchRemoval(PatchRemoval),
    PrnFollowUp(PrnFollowUp),
    CdEntry(CdEntry),
    StockMovement(StockMovement),
    Incident(Incident),
    IncidentAck(IncidentAck),
    /// Admitted, details changed, gone, back or reconciled (document version 3).
    ResidentEvent(ResidentEvent),
}

impl Item {
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Administration(_) => "administration",
            Item::PatchRemoval(_) => "patch_removal",
            Item::PrnFollowUp(_) => "prn_follow_up",
            Item::CdEntry(_) => "cd_entry",
            Item::StockMovement(_) => "stock_movement",
            Item::Incident(_) => "incident",
            Item::IncidentAck(_) => "incident_ack",
            Item::ResidentEvent(_) => "resident_event",
        }
    }
    pub fn id(&self) -> &str {
        match self {
            Item::Administration(r) => r.id.as_str(),
            Item::PatchRemoval(r) => r.id.as_str(),
            Item::PrnFollowUp(r) => r.id.as_str(),
            Item::CdEntry(r) => r.id.as_str(),
            Item::StockMovement(r) => r.id.as_str(),
            Item::Incident(r) => r.id.as_str(),
            Item::IncidentAck(r) => r.id.as_str(),
            Item::ResidentEvent(r) => r.id.as_str(),
        }
    }
    pub fn resident(&self) -> Option<&ResidentId> {
        match self {
            Item::Administration(r) => Some(&r.resident),
            Item::PatchRemoval(r) => Some(&r.resident),
            Item::CdEntry(r) => Some(&r.resident),
            Item::Incident(r) => Some(&r.resident),
            Item::IncidentAck(r) => Some(&r.resident),
            Item::ResidentEvent(r) => Some(&r.resident),
            Item::PrnFollowUp(_) | Item::StockMovement(_) => None,
        }
    }
    pub fn order(&self) -> Option<&str> {
        match self {
            Item::Administration(r) => r.subject.order().map(|o| o.as_str()),
            Item::PatchRemoval(r) => Some(r.order.as_str()),
            Item::PrnFollowUp(_) => None,
            Item::CdEntry(r) => Some(r.order.as_str()),
            Item::StockMovement(r) => Some(r.order.as_str()),
            Item::Incident(_) | Item::IncidentAck(_) | Item::ResidentEvent(_) => None,
        }
    }
    /// Whether two values of one record's key are the same system record: two tablets that
    /// each closed a slot, or each raised an incident, write it under an id derived from what
    /// it is, and only the device and the time of writing differ.
    pub fn same_system_record(&self, other: &Item) -> bool {
        match (self, other) {
            (Item::Administration(a), Item::Administration(b)) => {
                a.author.as_str() == "system"
                    && a.author == b.author
                    && a.id == b.id
                    && a.resident == b.resident
                    && a.subject == b.subject
                    && a.outcome == b.outcome
            }
            (Item::Incident(a), Item::Incident(b)) => {
                a.id == b.id
                    && a.resident == b.resident
                    && a.kind == b.kind
                    && a.records == b.records
            }
            _ => false,
        }
    }
    /// When it happened (for an incident, when it was raised).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Item::Administration(r) => r.occurred_at,
            Item::PatchRemoval(r) => r.occurred_at,
            Item::PrnFollowUp(r) => r.occurred_at,
            Item::CdEntry(r) => r.at,
            Item::StockMovement(r) => r.at,
            Item::Incident(r) => r.raised_at,
            Item::IncidentAck(r) => r.at,
            Item::ResidentEvent(r) => r.at,
        }
    }
}

/// Unit of the home (a floor or wing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub id: UnitId,
    pub name: String,
}
