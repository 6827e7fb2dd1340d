//! An enrolled tablet turned hostile: what it sends through the real HTTP API with its own
//! credential, and what the central record and the home's other tablets do with it. Each
//! attack is refused with its reason and stores nothing, or, where what arrives is legitimate
//! offline but unsafe, is stored and raises an incident. Afterwards a new tablet downloads the
//! home and finds it exactly as the honest tablets have it.

use crate::central::{enrol, larch_house, push, same_records, sync};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT};
use medround_domain::record::Administration;
use medround_ipc::{ErrorCode, IpcError};
use medround_store::Item;
use medround_sync::wire::{Envelope, Kind};
use medround_tests::central::{central_time, Backend, CentralServer, TestBackend};
use medround_tests::{monday_morning, pin, Tablet};

/// The hostile device's copy of a document: tablet A's, written from now on by an actor of its
/// own choosing.
fn copy_of(t: &mut Tablet, doc_id: &str) -> AutoCommit {
    let bytes = t.bedside.store_mut().document_bytes(doc_id).unwrap();
    let mut doc = AutoCommit::load(&bytes).unwrap();
    doc.set_actor(ActorId::random());
    doc
}

/// The document a record sits in.
fn doc_of(t: &Tablet, record: &str) -> String {
    t.bedside
        .store()
        .connection()
        .query_row(
            "SELECT doc_id FROM p_records WHERE id = ?1",
            [record],
            |r| r.get(0),
        )
        .unwrap()
}

/// A given dose from tablet A's history, and the document it sits in.
fn a_given_dose(t: &Tablet) -> (Administration, String) {
    let residents = t.bedside.store().residents().unwrap();
    for r in residents {
        let found = t
            .bedside
            .store()
            .administrations_for(&r.id, None)
            .unwrap()
            .into_iter()
            .find(|a| a.outcome == medround_domain::outcome::OutcomeCode::Given);
        if let Some(a) = found {
            let doc = doc_of(t, a.id.as_str());
            return (a, doc);
        }
    }
    panic!("the demo history has given doses");
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn put(doc: &mut AutoCommit, key: &str, value: &str) {
    doc.put(ROOT, key, value).unwrap();
    doc.commit();
}

fn record_json(a: &Administration) -> String {
    serde_json::to_string(&Item::Administration(a.clone())).unwrap()
}

/// Syncs several hand-made documents at once, so that their changes reach the central record
/// in one request, as one envelope.
fn push_together(
    link: &medround_link::Link,
    credential: &str,
    docs: &mut [(&str, &mut AutoCommit)],
) -> Result<(), IpcError> {
    use automerge::sync::SyncDoc;
    let mut states: Vec<automerge::sync::State> =
        docs.iter().map(|_| automerge::sync::State::new()).collect();
    let mut start = true;
    for _ in 0..20 {
        let mut out = Vec::new();
        for ((id, doc), state) in docs.iter_mut().zip(states.iter_mut()) {
            if let Some(m) = doc.sync().generate_sync_message(state) {
                out.push((id.to_string(), m.encode()));
            }
        }
        if out.is_empty() {
            return Ok(());
        }
        let env = Envelope {
            kind: Kind::Request,
            cursor: 0,
            flag: false,
            start,
            docs: out,
        };
        start = false;
        let reply = Envelope::decode(&link.exchange(credential, &env.encode())?).unwrap();
        for (id, m) in reply.docs {
            let i = docs.iter().position(|(d, _)| *d == id).unwrap();
            docs[i]
                .1
                .sync()
                .receive_sync_message(
                    &mut states[i],
                    automerge::sync::Message::decode(&m).unwrap(),
                )
                .unwrap();
        }
    }
    panic!("the exchange did not settle");
}

fn refused(result: Result<usize, IpcError>, because: &str) {
    let e = result.expect_err("refused");
    assert_eq!(e.code, ErrorCode::SyncRefused, "{}", e.message);
    assert!(e.message.contains(because), "{because:?} in {}", e.message);
}

/// A new tablet downloads the home and finds it as tablet A has it.
fn a_new_tablet_finds_the_home_untouched(server: &CentralServer, a: &Tablet) -> Tablet {
    let mut c = Tablet::empty(monday_morning());
    enrol(&mut c, server, &server.url(), "larch", "Spare");
    sync(&mut c);
    same_records(a, &c);
    c
}

/// S9 through the central record: an enrolled device cannot rewrite, shadow or delete a
/// record, write one by someone who is not staff of the home or dated in the future, or get
/// half of a refused request stored.
pub(crate) fn hostile_records_are_only_ever_added_by_staff_of_the_home(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    let cred = a.bedside.enrolment().unwrap().unwrap().credential;
    let link = medround_link::Link::new(&server.url()).unwrap();
    let (dose, doc_id) = a_given_dose(&a);
    let key = format!("administration/{}", dose.id);

    // Rewritten in place: another author, another outcome.
    let mut rewritten = dose.clone();
    rewritten.author = medround_domain::StaffId::new("st-claire");
    rewritten.outcome = medround_domain::outcome::OutcomeCode::Refused;
    let mut doc = copy_of(&mut a, &doc_id);
    put(&mut doc, &key, &record_json(&rewritten));
    refused(push(&link, &cred, &doc_id, &mut doc), "rewrites record");
    // The same, from a document that never saw the record: a second value beside it.
    let mut shadow = AutoCommit::new();
    put(&mut shadow, &key, &record_json(&rewritten));
    refused(
        push(&link, &cred, &doc_id, &mut shadow),
        "second, different",
    );
    // Deleted.
    let mut doc = copy_of(&mut a, &doc_id);
    doc.delete(ROOT, key.as_str()).unwrap();
    doc.commit();
    refused(push(&link, &cred, &doc_id, &mut doc), "deletes");

    // New records by someone who is not staff of the home, and dated 2099.
    let fresh = |id: &str| {
        let mut d = dose.clone();
        d.id = medround_domain::RecordId::new(id);
        d
    };
    let mut stranger = fresh("adm-stranger");
    stranger.author = medround_domain::StaffId::new("st-nobody");
    let mut doc = copy_of(&mut a, &doc_id);
    put(
        &mut doc,
        "administration/adm-stranger",
        &record_json(&stranger),
    );
    refused(
        push(&link, &cred, &doc_id, &mut doc),
        "not staff of the home",
    );
    for (id, at) in [
        ("adm-2099", "2099-01-01T08:00:00Z"),
        (
            "adm-tomorrow",
            &(central_time() + chrono::Duration::days(1)).to_rfc3339(),
        ),
    ] {
        let mut future = fresh(id);
        future.occurred_at = at.parse().unwrap();
        future.recorded_at = future.occurred_at;
        let mut doc = copy_of(&mut a, &doc_id);
        put(
            &mut doc,
            &format!("administration/{id}"),
            &record_json(&future),
        );
        refused(
            push(&link, &cred, &doc_id, &mut doc),
            "check the tablet's clock",
        );
    }

    // A note that reads on screen as something other than what is stored.
    let mut reversed = fresh("adm-reversed");
    reversed.note = Some("Given \u{202e}desufer".into());
    let mut doc = copy_of(&mut a, &doc_id);
    put(
        &mut doc,
        "administration/adm-reversed",
        &record_json(&reversed),
    );
    refused(
        push(&link, &cred, &doc_id, &mut doc),
        "hides or reorders text",
    );

    // One request holding a valid new record and a staff entry that is not staff: neither
    // is stored.
    let valid = fresh("adm-valid");
    let mut cycle = copy_of(&mut a, &doc_id);
    put(&mut cycle, "administration/adm-valid", &record_json(&valid));
    let mut home = copy_of(&mut a, "home");
    put(&mut home, "staff/st-evil", "{\"name\": 42}");
    let e = push_together(
        &link,
        &cred,
        &mut [(doc_id.as_str(), &mut cycle), ("home", &mut home)],
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::SyncRefused, "{}", e.message);
    assert!(e.message.contains("staff record"), "{}", e.message);

    // A valid record written as tablet B (its actor, bound to it at enrolment), or as the
    // central record itself: a device writes only as itself.
    for (actor, because) in [
        (
            ActorId::from(hex_bytes(&b.bedside.actor())),
            "written as another tablet",
        ),
        (
            ActorId::from(b"central".as_slice()),
            "written as the central record",
        ),
    ] {
        let mut doc = copy_of(&mut a, &doc_id);
        doc.set_actor(actor);
        put(
            &mut doc,
            "administration/adm-as-b",
            &record_json(&fresh("adm-as-b")),
        );
        refused(push(&link, &cred, &doc_id, &mut doc), because);
    }

    // Tablet B, and a new tablet, have the home as tablet A has it: the dose as given, by its
    // author, and none of the records above.
    sync(&mut b);
    same_records(&a, &b);
    let c = a_new_tablet_finds_the_home_untouched(&server, &a);
    for t in [&b, &c] {
        let s = t.bedside.store();
        match s.item(dose.id.as_str()).unwrap() {
            Some(Item::Administration(held)) => assert_eq!(held, dose),
            other => panic!("{other:?}"),
        }
        for id in [
            "adm-stranger",
            "adm-2099",
            "adm-tomorrow",
            "adm-valid",
            "adm-as-b",
            "adm-reversed",
        ] {
            assert!(s.item(id).unwrap().is_none(), "{id}");
        }
        assert!(s.staff_member("st-evil").unwrap().is_none());
    }
    // The valid record alone is taken: the refusal above was the staff entry's.
    let mut cycle = copy_of(&mut a, &doc_id);
    put(&mut cycle, "administration/adm-valid", &record_json(&valid));
    push(&link, &cred, &doc_id, &mut cycle).expect("a valid record is taken");
    sync(&mut b);
    assert!(b.bedside.store().item("adm-valid").unwrap().is_some());
    // The audit trail names, for every change of the document, the tablet that sent it: the
    // valid record's change is tablet A's, whose credential sent it, whatever actor it chose.
    let senders: Vec<medround_server::ChangeSender> = {
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let url = format!(
            "{}/admin/v1/homes/larch/documents/{doc_id}/changes",
            server.url()
        );
        let mut resp = agent
            .get(url)
            .header(
                "Authorization",
                format!("Bearer {}", medround_tests::central::ADMIN_TOKEN),
            )
            .call()
            .unwrap();
        serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap()
    };
    let (on_a, on_b) = (
        a.bedside.enrolment().unwrap().unwrap().device,
        b.bedside.enrolment().unwrap().unwrap().device,
    );
    assert!(senders.len() > 1);
    assert!(
        senders
            .iter()
            .all(|c| c.device.as_ref().is_some_and(|d| *d == on_a || *d == on_b)),
        "{senders:?}"
    );
    let hostile_actor = cycle.get_actor().to_hex_string();
    let sent = senders.iter().find(|c| c.actor == hostile_actor).unwrap();
    assert_eq!(sent.device.as_ref(), Some(&on_a));
}

/// S19 through the central record: an enrolled device cannot take over a PIN, and cannot put
/// anything in the home's lists or a resident's details that would stop the home's tablets.
pub(crate) fn hostile_pins_staff_and_residents_keep_their_shape(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    let cred = a.bedside.enrolment().unwrap().unwrap().credential;
    let link = medround_link::Link::new(&server.url()).unwrap();
    // Amy's verifier, as the manager's: Amy's PIN would sign in as the manager.
    let amy: serde_json::Value = {
        let json: String = a
            .bedside
            .store()
            .connection()
            .query_row(
                "SELECT json FROM p_pins WHERE staff_id = 'st-amy'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&json).unwrap()
    };
    let hash = amy["hash"].as_str().unwrap();
    let at = monday_morning().to_rfc3339();
    for (verifier, because) in [
        (
            serde_json::json!({ "staff": "st-claire", "hash": hash }),
            "without naming who reset it",
        ),
        (
            serde_json::json!({ "staff": "st-claire", "hash": hash, "set_by": "st-claire", "set_at": at }),
            "by its owner",
        ),
        (
            serde_json::json!({ "staff": "st-claire", "hash": hash, "set_by": "st-amy", "set_at": at }),
            "not a senior",
        ),
    ] {
        let mut home = copy_of(&mut a, "home");
        put(&mut home, "pin/st-claire", &verifier.to_string());
        refused(push(&link, &cred, "home", &mut home), because);
    }
    // Staff entries that are not staff records, and a staff record under another's key.
    for (key, value) in [
        ("staff/st-evil", "{\"not\": \"staff\"}".to_string()),
        ("staff/st-evil", "42".to_string()),
        (
            "staff/st-evil",
            serde_json::to_string(&a.bedside.store().staff_member("st-amy").unwrap().unwrap())
                .unwrap(),
        ),
    ] {
        let mut home = copy_of(&mut a, "home");
        put(&mut home, key, &value);
        refused(push(&link, &cred, "home", &mut home), "not a staff record");
    }
    // A new manager, or a manager's own demotion, without a manager of the home named as who
    // made the change (S19).
    let claire = a
        .bedside
        .store()
        .staff_member("st-claire")
        .unwrap()
        .unwrap();
    let evil = medround_domain::staff::Staff {
        id: medround_domain::StaffId::new("st-evil"),
        name: "Eve Vil".into(),
        initials: "EV".into(),
        ..claire.clone()
    };
    let demoted = medround_domain::staff::Staff {
        role: medround_domain::staff::Role::Carer,
        ..claire.clone()
    };
    for (staff, by, because) in [
        (&evil, None, "without naming who made the change"),
        (&evil, Some("st-amy"), "not a manager of the home"),
        (&evil, Some("st-nobody"), "not a manager of the home"),
        (&demoted, Some("st-claire"), "their own role"),
    ] {
        let mut home = copy_of(&mut a, "home");
        let entry = medround_record::staff_entry(staff, by).unwrap();
        put(&mut home, &format!("staff/{}", staff.id), &entry);
        refused(push(&link, &cred, "home", &mut home), because);
    }

    // A resident's given name set to a number, and a resident holding only a given name.
    let resident = a.bedside.store().residents().unwrap()[0].id.clone();
    let doc_id = format!("resident:{resident}");
    let mut doc = copy_of(&mut a, &doc_id);
    put(&mut doc, "profile/given_name", "42");
    refused(
        push(&link, &cred, &doc_id, &mut doc),
        "no longer a whole resident",
    );
    let mut only_a_name = AutoCommit::new();
    put(&mut only_a_name, "profile/given_name", "\"Eve\"");
    refused(
        push(&link, &cred, "resident:res-eve", &mut only_a_name),
        "no longer a whole resident",
    );
    // A value far larger than any record.
    let mut home = copy_of(&mut a, "home");
    put(
        &mut home,
        "home/name",
        &format!("\"{}\"", "x".repeat(70_000)),
    );
    refused(
        push(&link, &cred, "home", &mut home),
        "more than a value may hold",
    );

    // The manager still signs in with her own PIN, and Amy's does not sign her in, on B and
    // on a new tablet; every tablet reaches the sign-in screen.
    sync(&mut b);
    let mut c = a_new_tablet_finds_the_home_untouched(&server, &a);
    for t in [&mut b, &mut c] {
        assert!(t.bedside.sign_in("st-claire", pin("st-amy")).is_err());
        t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
        assert!(t.bedside.store().staff_member("st-evil").unwrap().is_none());
        assert!(t
            .bedside
            .store()
            .residents()
            .unwrap()
            .iter()
            .all(|r| r.id.as_str() != "res-eve"));
    }
    // A real reset by another senior is taken, and the tablets show who made it.
    a.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    a.bedside.reset_pin("st-claire", "8642").unwrap();
    sync(&mut a);
    sync(&mut b);
    b.bedside.sign_in("st-claire", "8642").unwrap();
    let status = b
        .bedside
        .store()
        .pin_status(&medround_domain::StaffId::new("st-claire"))
        .unwrap();
    assert_eq!(status.set_by, Some(medround_domain::StaffId::new("st-ben")));
}

/// S7 through the central record: a register line that is right on its own tablet and takes
/// the balance below zero once merged is kept (it happened) and raises an incident on every
/// tablet, never silently.
pub(crate) fn hostile_a_register_merged_below_zero_raises_an_incident(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    let cred = a.bedside.enrolment().unwrap().unwrap().credential;
    let link = medround_link::Link::new(&server.url()).unwrap();
    let order = a
        .bedside
        .store()
        .all_orders()
        .unwrap()
        .into_iter()
        .find(|o| o.cd.is_some())
        .expect("the demo has a controlled drug");
    let balance = a.bedside.store().cd_balance(&order.id).unwrap();
    let line = a
        .bedside
        .store()
        .items_for_order(&order.id, "cd_entry")
        .unwrap()
        .into_iter()
        .find_map(|i| match i {
            Item::CdEntry(e) => Some(e),
            _ => None,
        })
        .unwrap();
    let doc_id = doc_of(&a, line.id.as_str());
    let mut destroyed = line.clone();
    destroyed.id = medround_domain::RecordId::new("cd-destroyed-elsewhere");
    destroyed.movement = medround_domain::cd::CdMovement::Destroyed {
        qty: balance + medround_domain::qty::Qty::whole(1000),
    };
    let mut doc = copy_of(&mut a, &doc_id);
    put(
        &mut doc,
        "cd_entry/cd-destroyed-elsewhere",
        &serde_json::to_string(&Item::CdEntry(destroyed)).unwrap(),
    );
    push(&link, &cred, &doc_id, &mut doc).expect("stored: it may have happened offline");
    let summary = sync(&mut b);
    assert!(
        summary
            .incidents
            .iter()
            .any(|i| i.as_str().starts_with("inc-cdneg-")),
        "{summary:?}"
    );
    let raised = b
        .bedside
        .store()
        .incidents(monday_morning() - chrono::Duration::days(400))
        .unwrap()
        .into_iter()
        .filter(|(i, _)| i.id.as_str().starts_with("inc-cdneg-"))
        .count();
    assert_eq!(raised, 1);
    // Tablet A finds the same one and raises no second.
    sync(&mut a);
    sync(&mut b);
    let on_a = a
        .bedside
        .store()
        .incidents(monday_morning() - chrono::Duration::days(400))
        .unwrap()
        .into_iter()
        .filter(|(i, _)| i.id.as_str().starts_with("inc-cdneg-"))
        .count();
    assert_eq!(on_a, 1);
    assert!(a
        .bedside
        .store()
        .cd_balance(&order.id)
        .unwrap()
        .is_negative());
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test]
            fn $name() {
                let b = super::TestBackend::sqlite();
                super::$name(&b.backend);
            })*
        }
        mod on_postgres {
            $(#[test]
            fn $name() {
                let b = super::TestBackend::postgres();
                super::$name(&b.backend);
            })*
        }
    };
}

on_both_backends!(
    hostile_records_are_only_ever_added_by_staff_of_the_home,
    hostile_pins_staff_and_residents_keep_their_shape,
    hostile_a_register_merged_below_zero_raises_an_incident,
);
