//! What a Medround document may hold. Every value that arrives from another device passes these
//! checks before it is stored: on a tablet as it is projected, on the central record before it
//! is kept. They read no database, so the server can run them on its own storage.

use crate::{Item, RecordError};
use automerge::{AutoCommit, ReadDoc, ScalarValue, Value, ROOT};
use chrono::{DateTime, Utc};
use medround_domain::homely::HomelyRemedy;
use medround_domain::medicine::IngredientLimit;
use medround_domain::order::Order;
use medround_domain::staff::Staff;
use medround_domain::tablet::Tablet;
use medround_domain::text;

/// What one `(key, value)` of a document is, once checked.
#[derive(Debug)]
pub enum Entry<'a> {
    /// `home/*`, `unit/*`, `limit/*` in the home document.
    Home,
    /// `device/*` in the home document: a tablet's name.
    Tablet(Box<Tablet>),
    Staff(&'a str),
    Remedy(&'a str),
    /// A member of staff's PIN verifier (an Argon2id hash, never the PIN).
    Pin(&'a str),
    Order(&'a str, Box<Order>),
    /// One field of a resident's profile (projected as a whole elsewhere).
    Profile,
    /// A record in a cycle document, and the resident whose document it sits in.
    Record(Box<Item>, &'a str),
    /// The document's shape version (`schema`).
    Schema,
}

/// The root key of every document that says which shape of document it is.
pub const SCHEMA_KEY: &str = "schema";

/// The document shape this build writes and the newest it reads. Each version says what
/// changed; a reader of an older version would misread a newer document, so it refuses one.
/// - 1: every document written before 2026-12-01 (they have no `schema` key).
/// - 2: a dose carries what it took from stock (`from_stock`) and writes no stock movement
///   beside it; the home document names its tablets (`device/<id>`).
///
/// - 3: a cycle document may hold `resident_event` records (admitted, details changed, gone
///   to hospital or on leave, back, reconciled), which an older build would refuse as unknown.
///
/// - 4: register lines for a voided controlled-drug dose and a patch removed and destroyed,
///   NO_STOCK and late-entry limit incidents, the allergy, duplicate-therapy and amount
///   findings a dose may acknowledge, and on an order its excipients, a range that allows
///   halves, the prescriber's note that two orders with one ingredient are both meant, and
///   the order it replaces with where its slots begin. An older build would refuse each.
///
/// Versions 2 to 4 only add: an older document reads the same, and takes the new `schema`
/// with its next change (`doc_schema` and the store's writer).
pub const DOC_SCHEMA: u32 = 4;

/// A document's shape version: the largest of its `schema` values (two tablets may write it
/// at once), or 1 for a document from before versions were written.
pub fn doc_schema(doc: &AutoCommit) -> Result<u32, RecordError> {
    let mut version = 1;
    for (v, _) in doc.get_all(ROOT, SCHEMA_KEY)? {
        if let Value::Scalar(s) = &v {
            if let ScalarValue::Str(json) = s.as_ref() {
                version = version.max(parse_schema(json)?);
            }
        }
    }
    Ok(version)
}

/// Refuses a document whose shape version is newer than this build reads.
pub fn readable(doc_id: &str, version: u32) -> Result<(), RecordError> {
    if version > DOC_SCHEMA {
        return Err(RecordError::DocumentTooNew {
            doc: doc_id.to_string(),
            version,
            app: DOC_SCHEMA,
        });
    }
    Ok(())
}

fn parse_schema(json: &str) -> Result<u32, RecordError> {
    match serde_json::from_str::<u32>(json) {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(RecordError::Corrupt(format!(
            "{json:?} is not a document version"
        ))),
    }
}

/// What the home document keeps of a PIN: whose it is and its Argon2id hash, and who set it
/// when another senior reset it (S19). PINs set before that was kept say nothing of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PinVerifier {
    pub staff: String,
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A document's name: the home's, a resident's, or one resident's 28-day cycle of records.
/// Written `home`, `resident:<id>`, `cycle:<resident>:<n>`; a resident id is 1 to 64 letters,
/// digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DocId {
    Home,
    Resident(medround_domain::ResidentId),
    Cycle(medround_domain::ResidentId, i64),
}

impl DocId {
    pub fn parse(doc_id: &str) -> Result<DocId, RecordError> {
        let ok_id = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let id = |s: &str| medround_domain::ResidentId::new(s);
        let parsed = if doc_id == "home" {
            Some(DocId::Home)
        } else if let Some(r) = doc_id.strip_prefix("resident:") {
            ok_id(r).then(|| DocId::Resident(id(r)))
        } else if let Some(rest) = doc_id.strip_prefix("cycle:") {
            rest.rsplit_once(':').and_then(|(r, n)| {
                let n = n.parse::<i64>().ok()?;
                ok_id(r).then(|| DocId::Cycle(id(r), n))
            })
        } else {
            None
        };
        parsed.ok_or_else(|| RecordError::Corrupt(format!("{doc_id:?} is not a document name")))
    }

    /// The resident a resident's or a cycle document belongs to.
    pub fn resident(&self) -> Option<&medround_domain::ResidentId> {
        match self {
            DocId::Home => None,
            DocId::Resident(r) | DocId::Cycle(r, _) => Some(r),
        }
    }
}

impl std::fmt::Display for DocId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocId::Home => f.write_str("home"),
            DocId::Resident(r) => write!(f, "resident:{r}"),
            DocId::Cycle(r, n) => write!(f, "cycle:{r}:{n}"),
        }
    }
}

/// Whether `doc_id` is a document name ([`DocId`]).
pub fn check_doc_id(doc_id: &str) -> Result<(), RecordError> {
    DocId::parse(doc_id).map(|_| ())
}

/// Checks one entry against the document it sits in.
pub fn classify<'a>(doc_id: &'a str, key: &'a str, json: &str) -> Result<Entry<'a>, RecordError> {
    let (kind, id) = key.split_once('/').unwrap_or((key, ""));
    let misplaced = || RecordError::Corrupt(format!("{key} does not belong in {doc_id}"));
    match kind {
        SCHEMA_KEY if id.is_empty() => {
            readable(doc_id, parse_schema(json)?)?;
            Ok(Entry::Schema)
        }
        "home" | "unit" | "limit" | "staff" | "remedy" => {
            if doc_id != "home" {
                return Err(misplaced());
            }
            // Each of the home's lists holds its own shape: a staff entry that is not a staff
            // record would stop every tablet of the home at the sign-in screen.
            let not = |what: &str| RecordError::Corrupt(format!("{key} is not {what}"));
            match kind {
                "staff" => {
                    let s: Staff = serde_json::from_str(json).map_err(|_| not("a staff record"))?;
                    if s.id.as_str() != id
                        || !text::readable(s.name.trim(), 100)
                        || !text::readable(s.initials.trim(), 8)
                    {
                        return Err(not("a staff record"));
                    }
                    Ok(Entry::Staff(id))
                }
                "remedy" => {
                    let r: HomelyRemedy =
                        serde_json::from_str(json).map_err(|_| not("a homely remedy"))?;
                    if r.id.as_str() != id {
                        return Err(not("a homely remedy"));
                    }
                    Ok(Entry::Remedy(id))
                }
                "unit" => {
                    let u: crate::Unit = serde_json::from_str(json).map_err(|_| not("a unit"))?;
                    if u.id.as_str() != id || !text::readable(u.name.trim(), 100) {
                        return Err(not("a unit"));
                    }
                    Ok(Entry::Home)
                }
                "limit" => {
                    let l: IngredientLimit =
                        serde_json::from_str(json).map_err(|_| not("an ingredient limit"))?;
                    if l.substance.to_lowercase() != id {
                        return Err(not("an ingredient limit"));
                    }
                    Ok(Entry::Home)
                }
                _ => {
                    let name: String =
                        serde_json::from_str(json).map_err(|_| not("the home's name"))?;
                    if id != "name" || !text::readable(name.trim(), 100) {
                        return Err(not("the home's name"));
                    }
                    Ok(Entry::Home)
                }
            }
        }
        "device" => {
            if doc_id != "home" {
                return Err(misplaced());
            }
            let t: Tablet = serde_json::from_str(json)?;
            if t.id.as_str() != id || !t.name_is_valid() {
                return Err(RecordError::Corrupt(format!(
                    "{key} is not a tablet's name"
                )));
            }
            Ok(Entry::Tablet(Box::new(t)))
        }
        "pin" => {
            if doc_id != "home" {
                return Err(misplaced());
            }
            let v: PinVerifier = serde_json::from_str(json)?;
            if v.staff != id || !v.hash.starts_with("$argon2id$") {
                return Err(RecordError::Corrupt(format!("{key} is not a PIN verifier")));
            }
            Ok(Entry::Pin(id))
        }
        "order" => {
            let o: Order = serde_json::from_str(json)?;
            if doc_id.strip_prefix("resident:") != Some(o.resident.as_str()) || o.id.as_str() != id
            {
                return Err(misplaced());
            }
            Ok(Entry::Order(id, Box::new(o)))
        }
        "profile" => {
            if !doc_id.starts_with("resident:") {
                return Err(misplaced());
            }
            serde_json::from_str::<serde_json::Value>(json)?;
            Ok(Entry::Profile)
        }
        _ => {
            let item: Item = serde_json::from_str(json)?;
            // A record lives under its own kind and id, in its own resident's document: a
            // record that claims otherwise (a damaged or hostile sync) is refused.
            if item.kind() != kind || item.id() != id {
                return Err(RecordError::Corrupt(format!(
                    "{key} holds record {}",
                    item.id()
                )));
            }
            let resident = doc_id
                .strip_prefix("cycle:")
                .and_then(|r| r.rsplit_once(':'))
                .map(|(r, _)| r)
                .ok_or_else(|| {
                    RecordError::Corrupt(format!("record {key} outside a cycle document"))
                })?;
            if item.resident().is_some_and(|r| r.as_str() != resident) {
                return Err(RecordError::Corrupt(format!(
                    "{key} belongs to another resident than {doc_id}"
                )));
            }
            Ok(Entry::Record(Box::new(item), resident))
        }
    }
}

/// Checks one `(key, value)` of a document: the value parses as what its key says, and sits in
/// the right document.
pub fn check_entry(doc_id: &str, key: &str, json: &str) -> Result<(), RecordError> {
    classify(doc_id, key, json).map(|_| ())
}

/// How far past the receiver's clock a record's time may be: tablets' clocks drift a little.
pub const CLOCK_SKEW_MINUTES: i64 = 10;
/// The largest value one key may hold. A record, an order or a resident's detail is a few
/// hundred bytes; a larger value is a device filling the home's storage.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// New changes, and operations in them, one document may take at once: a resident's 28-day
/// cycle holds a few hundred records, each one operation, so these are far above honest use.
pub const MAX_NEW_CHANGES: usize = 20_000;
pub const MAX_NEW_OPERATIONS: usize = 100_000;

/// The home's staff as its home document holds them: whom a record may name as its author or
/// witness, and who may reset a PIN. Staff who have left stay on it, since their records stay.
#[derive(Debug, Clone, Default)]
pub struct Roster(std::collections::HashMap<String, Staff>);

impl Roster {
    /// The staff entries of a home document (the empty roster for an empty document).
    pub fn of_home(doc: &AutoCommit) -> Result<Roster, RecordError> {
        let mut staff = std::collections::HashMap::new();
        for k in doc.keys(ROOT) {
            if let Some(id) = k.strip_prefix("staff/") {
                if let Some((Value::Scalar(s), _)) = doc.get(ROOT, k.as_str())? {
                    if let ScalarValue::Str(json) = s.as_ref() {
                        if let Ok(member) = serde_json::from_str::<Staff>(json) {
                            staff.insert(id.to_string(), member);
                        }
                    }
                }
            }
        }
        Ok(Roster(staff))
    }

    /// The staff entries of a home document as they stood at `heads`.
    pub fn of_home_at(
        doc: &AutoCommit,
        heads: &[automerge::ChangeHash],
    ) -> Result<Roster, RecordError> {
        let mut staff = std::collections::HashMap::new();
        if heads.is_empty() {
            return Ok(Roster(staff));
        }
        for k in doc.keys_at(ROOT, heads) {
            if let Some(id) = k.strip_prefix("staff/") {
                if let Some((Value::Scalar(s), _)) = doc.get_at(ROOT, k.as_str(), heads)? {
                    if let ScalarValue::Str(json) = s.as_ref() {
                        if let Ok(member) = serde_json::from_str::<Staff>(json) {
                            staff.insert(id.to_string(), member);
                        }
                    }
                }
            }
        }
        Ok(Roster(staff))
    }

    pub fn get(&self, id: &str) -> Option<&Staff> {
        self.0.get(id)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Who added or changed a member of staff: the staff entry names them beside the record
/// (`changed_by`), as a PIN verifier names who reset it.
#[derive(Debug, serde::Deserialize)]
struct StaffChangedBy {
    #[serde(default)]
    changed_by: Option<String>,
}

/// The staff entry a manager writes: the member of staff and who made the change (S19).
pub fn staff_entry(staff: &Staff, changed_by: Option<&str>) -> Result<String, RecordError> {
    let mut v = serde_json::to_value(staff)?;
    if let (Some(by), serde_json::Value::Object(map)) = (changed_by, &mut v) {
        map.insert("changed_by".into(), serde_json::Value::String(by.into()));
    }
    Ok(serde_json::to_string(&v)?)
}

/// A member of staff added or changed after the home was set up names a manager of the home as
/// who made the change, and no manager changes their own role or closes their own account
/// (S19, `staff::check_staff_change`). `roster` is the home's staff as it stood before this
/// change, and takes it.
fn check_staff_op(key: &str, json: &str, roster: &mut Roster) -> Result<(), RecordError> {
    let (Ok(after), Ok(by)) = (
        serde_json::from_str::<Staff>(json),
        serde_json::from_str::<StaffChangedBy>(json),
    ) else {
        // Its shape is checked with the rest of the entry's values.
        return Ok(());
    };
    if key.strip_prefix("staff/") != Some(after.id.as_str()) {
        return Ok(());
    }
    let refused = |why: &str| {
        Err(RecordError::Refused(format!(
            "{key} is {why}: only a manager of the home adds staff or changes their details (S19)"
        )))
    };
    let Some(by) = by.changed_by else {
        return refused("written without naming who made the change");
    };
    match roster.get(&by) {
        Some(m) if m.role == medround_domain::staff::Role::Manager => {}
        _ => {
            return refused(&format!(
                "written by {by}, who is not a manager of the home"
            ))
        }
    }
    if let Some(before) = roster.get(after.id.as_str()) {
        if before.id.as_str() == by && (after.role != before.role || !after.active) {
            return refused("a manager's change to their own role or account");
        }
    }
    roster.0.insert(after.id.to_string(), after);
    Ok(())
}

/// What the receiver of changes knows when it checks them.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// The central id of the enrolled tablet the changes came from, where the checker knows it
    /// (the central record): a tablet names only itself, so a `device/` entry must carry it.
    pub sender: Option<&'a str>,
    /// The receiver's time, where its clock is the authority: the central record's. A tablet
    /// passes none, since its own clock may be wrong and what reaches it has been checked
    /// against the central record's.
    pub now: Option<DateTime<Utc>>,
    /// The home's staff, with any who arrive in the same exchange.
    pub roster: &'a Roster,
}

/// Checks what the changes since `since` did, operation by operation, before anything is
/// stored, and returns the root keys they wrote:
/// - a document only ever holds text at its root keys, no larger than [`MAX_VALUE_BYTES`], and
///   nothing is ever deleted;
/// - a record is only ever added (S9): an operation that replaces a record's value is refused,
///   and two values for one record's key are allowed only where two tablets wrote the same
///   system record (a slot closed as missed on both);
/// - every value has its key's shape, and a resident's profile stays a whole resident;
/// - a record's author and witness are staff of the home with the role it needs, and its time
///   is not in the receiver's future;
/// - a PIN verifier is replaced only by another senior's reset (S19), which it names.
///
/// The cost follows the new changes, not the size of the document.
pub fn check_changes(
    doc_id: &str,
    doc: &mut AutoCommit,
    since: &[automerge::ChangeHash],
    arrival: &Arrival<'_>,
) -> Result<std::collections::BTreeSet<String>, RecordError> {
    check_doc_id(doc_id)?;
    let is_cycle = doc_id.starts_with("cycle:");
    // The home's staff before these changes, taken forward change by change: once a home has
    // staff, each one added or changed names the manager who did it. A home that had none is
    // being set up, and its first staff name nobody.
    let mut staff_so_far = match doc_id {
        "home" => Some(Roster::of_home_at(doc, since)?).filter(|r| !r.is_empty()),
        _ => None,
    };
    // Each key's new values, and whether one of them replaced a value it had seen.
    let mut written: std::collections::BTreeMap<String, (Vec<String>, bool)> = Default::default();
    let changes = doc.get_changes(since);
    if changes.len() > MAX_NEW_CHANGES
        || changes.iter().map(|c| c.len()).sum::<usize>() > MAX_NEW_OPERATIONS
    {
        return Err(RecordError::Refused(format!(
            "{} new changes to {doc_id} at once: more than a document takes ({MAX_NEW_CHANGES} \
             changes, {MAX_NEW_OPERATIONS} operations)",
            changes.len()
        )));
    }
    for change in changes {
        for op in change.decode().operations {
            let key = match (op.obj, op.key) {
                (automerge::legacy::ObjectId::Root, automerge::legacy::Key::Map(k)) => k,
                _ => {
                    return Err(RecordError::Refused(format!(
                        "a change to {doc_id} reaches inside an object"
                    )))
                }
            };
            let json = match op.action {
                automerge::legacy::OpType::Put(ScalarValue::Str(json)) => json,
                automerge::legacy::OpType::Delete => {
                    return Err(RecordError::Refused(format!(
                        "a change to {doc_id} deletes {key}: nothing is ever deleted (S9)"
                    )))
                }
                _ => {
                    return Err(RecordError::Refused(format!(
                        "{key} in {doc_id} is not text"
                    )))
                }
            };
            if let Some(c) = text::unreadable_in_json(&json) {
                return Err(RecordError::Refused(format!(
                    "{key} in {doc_id} holds the character U+{:04X}, which hides or reorders \
                     text on screen",
                    u32::from(c)
                )));
            }
            if json.len() > MAX_VALUE_BYTES {
                return Err(RecordError::Refused(format!(
                    "{key} in {doc_id} is {} bytes, more than a value may hold ({MAX_VALUE_BYTES})",
                    json.len()
                )));
            }
            if let (Some(roster), true) = (&mut staff_so_far, key.starts_with("staff/")) {
                check_staff_op(&key, &json, roster)?;
            }
            let replaces = !op.pred.is_empty();
            if replaces && is_cycle && key.as_str() != SCHEMA_KEY {
                return Err(RecordError::Refused(format!(
                    "a change to {doc_id} rewrites record {key}: records are only ever added, \
                     and a correction is a new record (S9)"
                )));
            }
            let entry = written.entry(key.to_string()).or_default();
            entry.0.push(json.to_string());
            entry.1 |= replaces;
        }
    }
    let mut profile_changed = false;
    for (key, (values, replaces)) in &written {
        for json in values {
            let entry = classify(doc_id, key, json).map_err(|e| match e {
                RecordError::Corrupt(why) => RecordError::Refused(why),
                RecordError::Json(e) => RecordError::Refused(format!("{key} in {doc_id}: {e}")),
                e => e,
            })?;
            match entry {
                Entry::Tablet(t) if arrival.sender.is_some_and(|s| t.central != s) => {
                    return Err(RecordError::Refused(format!(
                        "{key} names another tablet than the one that sent it"
                    )));
                }
                Entry::Record(item, _) => check_record(&item, arrival)?,
                Entry::Pin(staff) => {
                    let before =
                        !since.is_empty() && doc.get_at(ROOT, key.as_str(), since)?.is_some();
                    check_pin(
                        staff,
                        json,
                        *replaces || before || values.len() > 1,
                        arrival,
                    )?;
                }
                Entry::Profile => profile_changed = true,
                _ => {}
            }
        }
        if is_cycle && key.as_str() != SCHEMA_KEY {
            same_record_everywhere(doc_id, doc, key)?;
        }
    }
    if profile_changed {
        whole_resident(doc_id, doc)?;
    }
    Ok(written.into_keys().collect())
}

/// The values one record's key holds (more than one where devices wrote it concurrently) must
/// all be the same system record; any other second value is an attempt to replace a record.
fn same_record_everywhere(doc_id: &str, doc: &AutoCommit, key: &str) -> Result<(), RecordError> {
    let values = doc.get_all(ROOT, key)?;
    if values.len() < 2 {
        return Ok(());
    }
    let mut items = Vec::new();
    for (v, _) in &values {
        if let Value::Scalar(s) = v {
            if let ScalarValue::Str(json) = s.as_ref() {
                items.push(serde_json::from_str::<Item>(json)?);
            }
        }
    }
    let first = &items[0];
    if items.iter().all(|i| first.same_system_record(i)) {
        Ok(())
    } else {
        Err(RecordError::Refused(format!(
            "a change to {doc_id} writes a second, different {key}: records are only ever \
             added, and a correction is a new record (S9)"
        )))
    }
}

/// A record names staff of the home in the roles it needs, and happened no later than the
/// receiver's clock allows.
fn check_record(item: &Item, arrival: &Arrival<'_>) -> Result<(), RecordError> {
    use medround_domain::outcome::OutcomeCode;
    let id = item.id();
    let staff = |who: &str, what: &str| -> Result<&Staff, RecordError> {
        arrival.roster.get(who).ok_or_else(|| {
            RecordError::Refused(format!(
                "record {id} names {who} as its {what}, who is not staff of the home"
            ))
        })
    };
    let trained = |who: &str, what: &str| -> Result<(), RecordError> {
        let s = staff(who, what)?;
        if s.medication_trained && s.role != medround_domain::staff::Role::Auditor {
            Ok(())
        } else {
            Err(RecordError::Refused(format!(
                "record {id} names {who} as its {what}, who is not medication-trained"
            )))
        }
    };
    let mut times = vec![item.at()];
    match item {
        Item::Administration(a) => {
            times.push(a.recorded_at);
            let by_system = matches!(
                a.outcome,
                OutcomeCode::Missed | OutcomeCode::Hospital | OutcomeCode::Leave
            ) && a.author.as_str() == "system";
            if !by_system {
                staff(a.author.as_str(), "author")?;
            }
            if let Some(w) = &a.witness {
                trained(w.as_str(), "witness")?;
                if w == &a.author {
                    return Err(RecordError::Refused(format!(
                        "record {id} is witnessed by its own author (S7)"
                    )));
                }
            }
        }
        Item::CdEntry(e) => {
            staff(e.by.as_str(), "author")?;
            trained(e.witness.as_str(), "witness")?;
            if e.by == e.witness {
                return Err(RecordError::Refused(format!(
                    "register entry {id} is witnessed by its own author (S7)"
                )));
            }
        }
        Item::PatchRemoval(r) => {
            staff(r.author.as_str(), "author")?;
        }
        Item::PrnFollowUp(r) => {
            staff(r.author.as_str(), "author")?;
        }
        Item::StockMovement(m) => {
            staff(m.by.as_str(), "author")?;
        }
        Item::IncidentAck(k) => {
            if !staff(k.by.as_str(), "author")?.role.is_senior() {
                return Err(RecordError::Refused(format!(
                    "record {id} acknowledges an incident by {}, who is not a senior",
                    k.by
                )));
            }
        }
        Item::ResidentEvent(e) => {
            staff(e.author.as_str(), "author")?;
        }
        Item::Incident(_) => {}
    }
    if let Some(now) = arrival.now {
        let latest = now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES);
        if let Some(t) = times.into_iter().find(|t| *t > latest) {
            return Err(RecordError::Refused(format!(
                "record {id} is dated {t}, after the central record's time ({now}): check the \
                 tablet's clock"
            )));
        }
    }
    Ok(())
}

/// A PIN verifier that replaces another is a reset by another senior of the home (S19), and
/// names them and the time. The first PIN of a member of staff is set as they join.
fn check_pin(
    staff: &str,
    json: &str,
    replaces: bool,
    arrival: &Arrival<'_>,
) -> Result<(), RecordError> {
    let v: PinVerifier = serde_json::from_str(json)?;
    if arrival.roster.get(staff).is_none() {
        return Err(RecordError::Refused(format!(
            "a PIN for {staff}, who is not staff of the home"
        )));
    }
    if !replaces {
        return Ok(());
    }
    let refused = |why: &str| {
        Err(RecordError::Refused(format!(
            "the PIN of {staff} is replaced {why}: a reset needs another senior (S19)"
        )))
    };
    let (Some(by), Some(at)) = (&v.set_by, v.set_at) else {
        return refused("without naming who reset it");
    };
    if by == staff {
        return refused("by its owner");
    }
    match arrival.roster.get(by) {
        Some(s) if s.role.is_senior() => {}
        _ => return refused(&format!("by {by}, who is not a senior of the home")),
    }
    if let Some(now) = arrival.now {
        if at > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
            return refused(&format!("with a reset dated {at}, in the future"));
        }
    }
    Ok(())
}

/// A resident's profile, once changed, is still a whole resident of this document.
fn whole_resident(doc_id: &str, doc: &AutoCommit) -> Result<(), RecordError> {
    let mut obj = serde_json::Map::new();
    for k in doc.keys(ROOT) {
        if let Some(field) = k.strip_prefix("profile/") {
            if let Some((Value::Scalar(s), _)) = doc.get(ROOT, k.as_str())? {
                if let ScalarValue::Str(v) = s.as_ref() {
                    obj.insert(field.to_string(), serde_json::from_str(v)?);
                }
            }
        }
    }
    let r: medround_domain::resident::Resident =
        serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| {
            RecordError::Refused(format!("{doc_id} is no longer a whole resident: {e}"))
        })?;
    if doc_id.strip_prefix("resident:") != Some(r.id.as_str())
        || !text::readable(r.given_name.trim(), 100)
        || !text::readable(r.family_name.trim(), 100)
    {
        return Err(RecordError::Refused(format!(
            "{doc_id} holds another resident or an unreadable name"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from<'a>(sender: Option<&'a str>, roster: &'a Roster) -> Arrival<'a> {
        Arrival {
            sender,
            now: None,
            roster,
        }
    }

    #[test]
    fn a_tablet_names_only_itself_and_only_in_the_home_document() {
        use automerge::transaction::Transactable;
        use medround_domain::DeviceId;
        let t = Tablet {
            id: DeviceId::new("dev-a"),
            central: "dev-central-1".into(),
            name: "Oak unit tablet".into(),
            enrolled: "2026-11-23T08:00:00Z".parse().unwrap(),
        };
        let json = serde_json::to_string(&t).unwrap();
        assert!(check_entry("home", "device/dev-a", &json).is_ok());
        assert!(check_entry("home", "device/dev-b", &json).is_err());
        assert!(check_entry("resident:r1", "device/dev-a", &json).is_err());
        let blank = Tablet {
            name: "  ".into(),
            ..t.clone()
        };
        let blank = serde_json::to_string(&blank).unwrap();
        assert!(check_entry("home", "device/dev-a", &blank).is_err());
        // Through the central record: only the tablet enrolled as dev-central-1 may write it.
        let r = Roster::default();
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "device/dev-a", json.as_str()).unwrap();
        doc.commit();
        assert!(check_changes(
            "home",
            &mut doc.clone(),
            &[],
            &from(Some("dev-central-1"), &r)
        )
        .is_ok());
        assert!(check_changes("home", &mut doc, &[], &from(Some("dev-central-2"), &r)).is_err());
    }

    #[test]
    fn a_document_takes_at_most_so_many_new_changes_at_once() {
        use automerge::transaction::Transactable;
        let r = Roster::default();
        let mut doc = AutoCommit::new();
        for i in 0..=MAX_NEW_CHANGES {
            doc.put(ROOT, "home/name", format!("\"Larch House {i}\""))
                .unwrap();
            doc.commit();
        }
        let e = check_changes("home", &mut doc, &[], &from(None, &r)).unwrap_err();
        assert!(e.to_string().contains("more than a document takes"), "{e}");
        let heads = doc.get_heads();
        doc.put(ROOT, "home/name", "\"Larch House\"").unwrap();
        doc.commit();
        assert!(check_changes("home", &mut doc, &heads, &from(None, &r)).is_ok());
    }

    #[test]
    fn document_names_are_checked() {
        for ok in ["home", "resident:res-01", "cycle:res-01:700"] {
            assert!(check_doc_id(ok).is_ok(), "{ok}");
            assert_eq!(DocId::parse(ok).unwrap().to_string(), ok);
        }
        assert_eq!(
            DocId::parse("cycle:res-01:700").unwrap(),
            DocId::Cycle(medround_domain::ResidentId::new("res-01"), 700)
        );
        for bad in [
            "",
            "homes",
            "resident:",
            "resident:a/b",
            "cycle:res-01",
            "cycle:res-01:x",
            "../etc/passwd",
        ] {
            assert!(check_doc_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_what_changed_is_checked_and_nothing_may_nest() {
        use automerge::transaction::Transactable;
        let r = Roster::default();
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "home/name", "\"Larch House\"").unwrap();
        doc.commit();
        assert!(check_changes("home", &mut doc, &[], &from(None, &r)).is_ok());
        let before = doc.get_heads();
        // A bad value written earlier is not this change's; a bad value now is refused.
        doc.put(ROOT, "unit/rowan", "not json").unwrap();
        doc.commit();
        assert!(check_changes("home", &mut doc, &before, &from(None, &r)).is_err());
        let mut nested = AutoCommit::new();
        let obj = nested
            .put_object(ROOT, "home/name", automerge::ObjType::Map)
            .unwrap();
        nested.put(&obj, "x", "\"y\"").unwrap();
        nested.commit();
        assert!(check_changes("home", &mut nested, &[], &from(None, &r)).is_err());
        assert!(check_changes("../x", &mut doc, &before, &from(None, &r)).is_err());
    }

    #[test]
    fn entries_must_sit_in_their_own_document() {
        assert!(check_entry("home", "home/name", "\"Larch House\"").is_ok());
        assert!(check_entry("resident:res-01", "home/name", "\"Larch House\"").is_err());
        assert!(check_entry("home", "profile/name", "\"Ann\"").is_err());
        assert!(check_entry("home", "home/name", "not json").is_err());
        assert!(check_entry("cycle:res-01:700", "administration/adm-1", "{}").is_err());
    }
}
