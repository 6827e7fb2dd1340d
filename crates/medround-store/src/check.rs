//! What a Medround document may hold. Every value that arrives from another device passes these
//! checks before it is stored: on a tablet as it is projected, on the central record before it
//! is kept. They read no database, so the server can run them on its own storage.

use crate::{Item, StoreError};
use automerge::{AutoCommit, ReadDoc, ScalarValue, Value, ROOT};
use medround_domain::order::Order;
use medround_domain::tablet::Tablet;

/// What one `(key, value)` of a document is, once checked.
#[derive(Debug)]
pub(crate) enum Entry<'a> {
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
pub fn doc_schema(doc: &AutoCommit) -> Result<u32, StoreError> {
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
pub(crate) fn readable(doc_id: &str, version: u32) -> Result<(), StoreError> {
    if version > DOC_SCHEMA {
        return Err(StoreError::DocumentTooNew {
            doc: doc_id.to_string(),
            version,
            app: DOC_SCHEMA,
        });
    }
    Ok(())
}

fn parse_schema(json: &str) -> Result<u32, StoreError> {
    match serde_json::from_str::<u32>(json) {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(StoreError::Corrupt(format!(
            "{json:?} is not a document version"
        ))),
    }
}

/// What the home document keeps of a PIN: whose it is and its Argon2id hash, and who set it
/// when another senior reset it (S19). PINs set before that was kept say nothing of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct PinVerifier {
    pub staff: String,
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The shapes a document id may take: `home`, `resident:<id>`, `cycle:<resident>:<n>`.
pub fn check_doc_id(doc_id: &str) -> Result<(), StoreError> {
    let ok_id = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let ok = if doc_id == "home" {
        true
    } else if let Some(r) = doc_id.strip_prefix("resident:") {
        ok_id(r)
    } else if let Some(rest) = doc_id.strip_prefix("cycle:") {
        match rest.rsplit_once(':') {
            Some((r, n)) => ok_id(r) && n.parse::<i64>().is_ok(),
            None => false,
        }
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "{doc_id:?} is not a document name"
        )))
    }
}

/// Checks one entry against the document it sits in.
pub(crate) fn classify<'a>(
    doc_id: &'a str,
    key: &'a str,
    json: &str,
) -> Result<Entry<'a>, StoreError> {
    let (kind, id) = key.split_once('/').unwrap_or((key, ""));
    let misplaced = || StoreError::Corrupt(format!("{key} does not belong in {doc_id}"));
    match kind {
        SCHEMA_KEY if id.is_empty() => {
            readable(doc_id, parse_schema(json)?)?;
            Ok(Entry::Schema)
        }
        "home" | "unit" | "limit" | "staff" | "remedy" => {
            if doc_id != "home" {
                return Err(misplaced());
            }
            serde_json::from_str::<serde_json::Value>(json)?;
            Ok(match kind {
                "staff" => Entry::Staff(id),
                "remedy" => Entry::Remedy(id),
                _ => Entry::Home,
            })
        }
        "device" => {
            if doc_id != "home" {
                return Err(misplaced());
            }
            let t: Tablet = serde_json::from_str(json)?;
            if t.id.as_str() != id || !t.name_is_valid() {
                return Err(StoreError::Corrupt(format!("{key} is not a tablet's name")));
            }
            Ok(Entry::Tablet(Box::new(t)))
        }
        "pin" => {
            if doc_id != "home" {
                return Err(misplaced());
            }
            let v: PinVerifier = serde_json::from_str(json)?;
            if v.staff != id || !v.hash.starts_with("$argon2id$") {
                return Err(StoreError::Corrupt(format!("{key} is not a PIN verifier")));
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
                return Err(StoreError::Corrupt(format!(
                    "{key} holds record {}",
                    item.id()
                )));
            }
            let resident = doc_id
                .strip_prefix("cycle:")
                .and_then(|r| r.rsplit_once(':'))
                .map(|(r, _)| r)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("record {key} outside a cycle document"))
                })?;
            if item.resident().is_some_and(|r| r.as_str() != resident) {
                return Err(StoreError::Corrupt(format!(
                    "{key} belongs to another resident than {doc_id}"
                )));
            }
            Ok(Entry::Record(Box::new(item), resident))
        }
    }
}

/// Checks one `(key, value)` of a document: the value parses as what its key says, and sits in
/// the right document.
pub fn check_entry(doc_id: &str, key: &str, json: &str) -> Result<(), StoreError> {
    classify(doc_id, key, json).map(|_| ())
}

/// Checks what the changes since `since` wrote: every key they touched, with all its values.
/// A document only ever holds text at root keys, so a change that reaches inside any other
/// object is refused. The cost follows the new changes, not the size of the document.
/// `sender` is the central id of the enrolled tablet the changes came from, where the checker
/// knows it (the central record): a tablet names only itself, so a `device/` entry must carry
/// the sender's own central id.
pub fn check_changes(
    doc_id: &str,
    doc: &mut AutoCommit,
    since: &[automerge::ChangeHash],
    sender: Option<&str>,
) -> Result<(), StoreError> {
    for k in changed_keys(doc_id, doc, since)? {
        check_key(doc_id, doc, &k, sender)?;
    }
    Ok(())
}

/// The root keys the changes since `since` wrote, in order. A document only ever holds text at
/// root keys, so a change that reaches inside any other object is refused.
pub(crate) fn changed_keys(
    doc_id: &str,
    doc: &mut AutoCommit,
    since: &[automerge::ChangeHash],
) -> Result<std::collections::BTreeSet<String>, StoreError> {
    check_doc_id(doc_id)?;
    let mut keys = std::collections::BTreeSet::new();
    for change in doc.get_changes(since) {
        for op in change.decode().operations {
            match (op.obj, op.key) {
                (automerge::legacy::ObjectId::Root, automerge::legacy::Key::Map(k)) => {
                    keys.insert(k.to_string());
                }
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "a change to {doc_id} reaches inside an object"
                    )))
                }
            }
        }
    }
    Ok(keys)
}

pub(crate) fn check_key(
    doc_id: &str,
    doc: &AutoCommit,
    k: &str,
    sender: Option<&str>,
) -> Result<(), StoreError> {
    for (v, _) in doc.get_all(ROOT, k)? {
        let json = match &v {
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Str(json) => json,
                _ => return Err(StoreError::Corrupt(format!("{k} in {doc_id} is not text"))),
            },
            Value::Object(_) => {
                return Err(StoreError::Corrupt(format!("{k} in {doc_id} is not text")))
            }
        };
        if let (Entry::Tablet(t), Some(sender)) = (classify(doc_id, k, json)?, sender) {
            if t.central != sender {
                return Err(StoreError::Corrupt(format!(
                    "{k} names another tablet than the one that sent it"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "device/dev-a", json.as_str()).unwrap();
        doc.commit();
        assert!(check_changes("home", &mut doc.clone(), &[], Some("dev-central-1")).is_ok());
        assert!(check_changes("home", &mut doc, &[], Some("dev-central-2")).is_err());
    }

    #[test]
    fn document_names_are_checked() {
        for ok in ["home", "resident:res-01", "cycle:res-01:700"] {
            assert!(check_doc_id(ok).is_ok(), "{ok}");
        }
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
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "home/name", "\"Larch House\"").unwrap();
        doc.commit();
        assert!(check_changes("home", &mut doc, &[], None).is_ok());
        let before = doc.get_heads();
        // A bad value written earlier is not this change's; a bad value now is refused.
        doc.put(ROOT, "unit/rowan", "not json").unwrap();
        doc.commit();
        assert!(check_changes("home", &mut doc, &before, None).is_err());
        let mut nested = AutoCommit::new();
        let obj = nested
            .put_object(ROOT, "home/name", automerge::ObjType::Map)
            .unwrap();
        nested.put(&obj, "x", "\"y\"").unwrap();
        nested.commit();
        assert!(check_changes("home", &mut nested, &[], None).is_err());
        assert!(check_changes("../x", &mut doc, &before, None).is_err());
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
