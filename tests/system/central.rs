//! Tablets and a real central record over HTTP on loopback: enrolment, offline recording and
//! convergence, connections cut mid-sync, a server restarted mid-sync, revoked devices, another
//! home's tablets, and hostile messages.

use medround_demo::who;
use medround_ipc::ErrorCode;
use medround_sync::wire::{Envelope, Kind};
use medround_tests::central::{Backend, CentralServer, Fault, FaultProxy, TestBackend};
use medround_tests::{double_doses, give, monday_morning, pin, Tablet};
use std::time::Duration;

/// Enrols a tablet with `server_url` using a fresh code for `home`; a tablet that already holds
/// a home needs its manager signed in.
pub(crate) fn enrol(t: &mut Tablet, server: &CentralServer, url: &str, home: &str, name: &str) {
    let code = server.home_with_code(home, "Larch House");
    if !t.bedside.store().staff().unwrap().is_empty() {
        t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    }
    medround_link::enrol(&mut t.bedside, url, &code, name).expect("enrol");
}

pub(crate) fn sync(t: &mut Tablet) -> medround_bedside::SyncSummary {
    medround_link::sync(&mut t.bedside, &mut |_| {}).expect("sync")
}

/// A central record with Larch House: tablet A built the home and sent it up; tablet B was
/// enrolled afterwards and downloaded it.
pub(crate) fn larch_house(server: &CentralServer, url: &str) -> (Tablet, Tablet) {
    let mut a = Tablet::demo(monday_morning());
    enrol(&mut a, server, url, "larch", "Oak unit tablet");
    sync(&mut a);
    let mut b = Tablet::empty(monday_morning());
    enrol(&mut b, server, url, "larch", "Elm unit tablet");
    sync(&mut b);
    a.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    b.bedside.sign_in("st-dev", pin("st-dev")).unwrap();
    (a, b)
}

/// The opening Automerge sync message about `doc` from a fresh sync state.
fn first_message(doc: &mut automerge::AutoCommit) -> Vec<u8> {
    use automerge::sync::SyncDoc;
    let mut state = automerge::sync::State::new();
    doc.sync()
        .generate_sync_message(&mut state)
        .expect("a first message")
        .encode()
}

/// Syncs one hand-made document with the central record as a device would, outside the store
/// (so nothing checks it on this side). Returns how many keys the document took from the other
/// side.
pub(crate) fn push(
    link: &medround_link::Link,
    credential: &str,
    doc_id: &str,
    doc: &mut automerge::AutoCommit,
) -> Result<usize, medround_ipc::IpcError> {
    use automerge::sync::SyncDoc;
    use automerge::ReadDoc;
    let before = doc.keys(automerge::ROOT).count();
    let mut state = automerge::sync::State::new();
    let mut start = true;
    loop {
        let Some(msg) = doc.sync().generate_sync_message(&mut state) else {
            break;
        };
        let env = Envelope {
            kind: Kind::Request,
            cursor: 0,
            flag: false,
            start,
            docs: vec![(doc_id.into(), msg.encode())],
        };
        start = false;
        let reply = Envelope::decode(&link.exchange(credential, &env.encode())?).unwrap();
        if reply.docs.is_empty() {
            break;
        }
        for (_, m) in reply.docs {
            doc.sync()
                .receive_sync_message(&mut state, automerge::sync::Message::decode(&m).unwrap())
                .unwrap();
        }
    }
    Ok(doc.keys(automerge::ROOT).count() - before)
}

pub(crate) fn same_records(a: &Tablet, b: &Tablet) {
    let (sa, sb) = (a.bedside.store(), b.bedside.store());
    assert_eq!(sa.record_count().unwrap(), sb.record_count().unwrap());
    assert_eq!(sa.residents().unwrap(), sb.residents().unwrap());
    assert_eq!(sa.all_orders().unwrap(), sb.all_orders().unwrap());
    // A dose is its own stock record (S14): both tablets count it against the same stock.
    assert_eq!(sa.stock_levels().unwrap(), sb.stock_levels().unwrap());
}

fn central_offline_doses_on_two_tablets_reach_both_over_http(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    same_records(&a, &b);
    let before = a.bedside.sync_status().unwrap();
    assert_eq!(before.waiting, 0);
    let on_a = give(&mut a, who::PARKINSONS, "Amlodipine", 3, None, false);
    let on_b = give(&mut b, who::PARKINSONS, "Furosemide", 0, None, false);
    assert!(
        a.bedside.sync_status().unwrap().waiting > 0,
        "A has records waiting to go up"
    );
    sync(&mut a);
    assert_eq!(a.bedside.sync_status().unwrap().waiting, 0);
    sync(&mut b);
    sync(&mut a);
    for t in [&a, &b] {
        assert!(t.bedside.store().item(&on_a).unwrap().is_some());
        assert!(t.bedside.store().item(&on_b).unwrap().is_some());
    }
    same_records(&a, &b);
    assert!(double_doses(&a, who::PARKINSONS).is_empty());
    // A second sync with nothing new is one small round trip.
    let again = sync(&mut a);
    assert_eq!(again.round_trips, 1);
    assert!(again.bytes_sent + again.bytes_received < 200, "{again:?}");
}

/// Each tablet writes its name into the home document when it is enrolled, so the audit trail
/// on any tablet says on which tablet a record was made. A tablet names only itself: a name
/// for another tablet's central id is refused by the central record.
fn central_each_tablet_is_named_in_the_others_audit_trail(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    let on_a = give(&mut a, who::PARKINSONS, "Amlodipine", 3, None, false);
    let on_b = give(&mut b, who::PARKINSONS, "Furosemide", 0, None, false);
    sync(&mut a);
    sync(&mut b);
    sync(&mut a);
    for t in [&mut a, &mut b] {
        t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
        let audit = t.bedside.audit(who::PARKINSONS, None, None).unwrap();
        let device = |id: &str| {
            audit
                .rows
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.device.clone())
                .expect("the dose in the audit trail")
        };
        assert_eq!(device(&on_a), "Oak unit tablet");
        assert_eq!(device(&on_b), "Elm unit tablet");
    }
    let e = b.bedside.enrolment().unwrap().unwrap();
    let a_central = a.bedside.enrolment().unwrap().unwrap().device;
    let link = medround_link::Link::new(&server.url()).unwrap();
    let mut forged = automerge::AutoCommit::new();
    let tablet = medround_domain::tablet::Tablet {
        id: medround_domain::DeviceId::new("dev-forged"),
        central: a_central,
        name: "Oak unit tablet (really B)".into(),
        enrolled: monday_morning(),
    };
    automerge::transaction::Transactable::put(
        &mut forged,
        automerge::ROOT,
        "device/dev-forged",
        serde_json::to_string(&tablet).unwrap().as_str(),
    )
    .unwrap();
    let err = push(&link, &e.credential, "home", &mut forged).unwrap_err();
    assert_eq!(err.code, ErrorCode::SyncRefused, "{}", err.message);
}

/// A member of staff added on one tablet reaches the other through the central record, which
/// keeps the entry; closed as a leaver there, they no longer sign in on either (S19).
fn central_staff_added_on_one_tablet_sign_in_on_the_other(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    a.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let id = a
        .bedside
        .save_staff(&medround_tests::priya_nair(None, true))
        .unwrap()
        .id;
    a.bedside.reset_pin(&id, "5937").unwrap();
    sync(&mut a);
    sync(&mut b);
    b.bedside.sign_in(&id, "5937").unwrap();
    a.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    a.bedside
        .save_staff(&medround_tests::priya_nair(Some(id.clone()), false))
        .unwrap();
    sync(&mut a);
    sync(&mut b);
    assert_eq!(
        b.bedside.sign_in(&id, "5937").unwrap_err().code,
        ErrorCode::NotFound
    );
}

fn central_s18_double_dose_over_http_raises_one_incident_on_both(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    give(&mut a, who::PARKINSONS, "Amlodipine", 3, None, false);
    give(&mut b, who::PARKINSONS, "Amlodipine", 3, None, false);
    sync(&mut a);
    assert_eq!(sync(&mut b).incidents.len(), 1);
    assert!(sync(&mut a).incidents.is_empty());
    for t in [&a, &b] {
        assert_eq!(double_doses(t, who::PARKINSONS).len(), 1);
    }
}

fn central_connection_cut_mid_sync_then_resumed_loses_and_doubles_nothing(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let proxy = FaultProxy::start(server.addr);
    // A's first upload of the whole home (two round trips) is cut after the first answer, an
    // answer is truncated, and a connection is dropped: each attempt ends in an error the
    // screen can show.
    let mut a = Tablet::demo(monday_morning());
    enrol(&mut a, &server, &proxy.url(), "larch", "Oak unit tablet");
    for fault in [Fault::CutAfter(1), Fault::Truncate(40), Fault::Drop] {
        proxy.set(fault);
        let e = medround_link::sync(&mut a.bedside, &mut |_| {}).expect_err("cut");
        assert_eq!(e.code, ErrorCode::Offline, "{fault:?}: {}", e.message);
    }
    proxy.set(Fault::Delay(Duration::from_millis(20)));
    sync(&mut a);
    proxy.set(Fault::Pass);
    // B downloads through a connection cut part way, then finishes.
    let mut b = Tablet::empty(monday_morning());
    enrol(&mut b, &server, &proxy.url(), "larch", "Elm unit tablet");
    proxy.set(Fault::CutAfter(1));
    assert!(medround_link::sync(&mut b.bedside, &mut |_| {}).is_err());
    proxy.set(Fault::Pass);
    sync(&mut b);
    same_records(&a, &b);
    // Nothing is doubled at the central record either: a third tablet gets the same.
    let mut c = Tablet::empty(monday_morning());
    enrol(&mut c, &server, &server.url(), "larch", "Spare tablet");
    sync(&mut c);
    same_records(&a, &c);
}

fn central_server_restarted_mid_sync_then_resumed(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let url = server.url();
    let mut a = Tablet::demo(monday_morning());
    enrol(&mut a, &server, &url, "larch", "Oak unit tablet");
    // Stop the server after the first of the two round trips of A's first upload.
    let mut server = Some(server);
    let mut trips = 0;
    let r = medround_link::sync(&mut a.bedside, &mut |_| {
        trips += 1;
        if trips == 1 {
            drop(server.take());
        }
    });
    assert_eq!(r.expect_err("server went away").code, ErrorCode::Offline);
    let server = CentralServer::start_at(backend, url[7..].parse().unwrap());
    sync(&mut a);
    let mut b = Tablet::empty(monday_morning());
    enrol(&mut b, &server, &url, "larch", "Elm unit tablet");
    sync(&mut b);
    same_records(&a, &b);
}

fn central_revoked_device_is_refused_at_once(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, _b) = larch_house(&server, &server.url());
    let device = a.bedside.enrolment().unwrap().unwrap().device;
    server.central.revoke(&device).unwrap();
    give(&mut a, who::PARKINSONS, "Amlodipine", 3, None, false);
    let e = medround_link::sync(&mut a.bedside, &mut |_| {}).expect_err("revoked");
    assert_eq!(e.code, ErrorCode::DeviceRevoked, "{}", e.message);
    // The record stays on the tablet, waiting.
    assert!(a.bedside.sync_status().unwrap().waiting > 0);
}

fn central_enrolment_codes_are_single_use_and_checked(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let code = server.home_with_code("larch", "Larch House");
    let mut a = Tablet::empty(monday_morning());
    medround_link::enrol(&mut a.bedside, &server.url(), &code.to_lowercase(), "Oak")
        .expect("codes are not case sensitive");
    let mut b = Tablet::empty(monday_morning());
    let e = medround_link::enrol(&mut b.bedside, &server.url(), &code, "Elm").expect_err("used");
    assert_eq!(e.code, ErrorCode::BadEnrolmentCode);
    let e = medround_link::enrol(&mut b.bedside, &server.url(), "NOPE-NOPE-NOPE", "Elm")
        .expect_err("unknown");
    assert_eq!(e.code, ErrorCode::BadEnrolmentCode);
    assert!(
        b.bedside.enrolment().unwrap().is_none(),
        "nothing half-kept"
    );
    let e = medround_link::enrol(&mut b.bedside, "ftp://x", &code, "Elm").expect_err("address");
    assert_eq!(e.code, ErrorCode::BadInput);
    // Nobody answering: offline, clearly.
    let e = medround_link::enrol(&mut b.bedside, "http://127.0.0.1:9", &code, "Elm")
        .expect_err("nobody there");
    assert_eq!(e.code, ErrorCode::Offline);
}

fn central_only_a_manager_connects_a_tablet_that_holds_a_home(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let code = server.home_with_code("larch", "Larch House");
    let mut a = Tablet::demo(monday_morning());
    let e = medround_link::enrol(&mut a.bedside, &server.url(), &code, "Oak").unwrap_err();
    assert_eq!(e.code, ErrorCode::NotSignedIn);
    a.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let e = medround_link::enrol(&mut a.bedside, &server.url(), &code, "Oak").unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed, "{}", e.message);
    assert!(a.bedside.enrolment().unwrap().is_none());
    // The code was not spent by the refusals: the manager can still use it.
    a.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    medround_link::enrol(&mut a.bedside, &server.url(), &code, "Oak").expect("manager enrols");
}

fn central_a_device_of_one_home_never_reads_or_writes_another_home(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (a, _b) = larch_house(&server, &server.url());
    // A tablet of another home syncs: it receives nothing of Larch House.
    let mut other = Tablet::empty(monday_morning());
    let code = server.home_with_code("birch", "Birch Court");
    medround_link::enrol(&mut other.bedside, &server.url(), &code, "Birch tablet").unwrap();
    sync(&mut other);
    assert_eq!(other.bedside.store().record_count().unwrap(), 0);
    assert!(other.bedside.store().residents().unwrap().is_empty());
    // It asks for Larch House's documents by name, and writes to one: it only ever reaches
    // its own home's documents of that name.
    let cred = other.bedside.enrolment().unwrap().unwrap().credential;
    let link = medround_link::Link::new(&server.url()).unwrap();
    // Birch Court's own home document holds this tablet's name and its shape version, and
    // nothing else yet.
    let own_name = format!("device/{}", other.bedside.store().device());
    for doc in ["home", "resident:res-01", "cycle:res-01:700"] {
        let mut probe = automerge::AutoCommit::new();
        push(&link, &cred, doc, &mut probe).expect("its own home's document");
        let keys: Vec<String> = automerge::ReadDoc::keys(&probe, automerge::ROOT).collect();
        assert!(
            keys.iter().all(|k| *k == own_name || k == "schema"),
            "{doc}: another home's records reached this device: {keys:?}"
        );
    }
    let mut hack = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(
        &mut hack,
        automerge::ROOT,
        "home/name",
        "\"Not Larch House\"",
    )
    .unwrap();
    push(&link, &cred, "home", &mut hack).expect("a home may name itself");
    // Larch House is as it was.
    let mut c = Tablet::empty(monday_morning());
    enrol(&mut c, &server, &server.url(), "larch", "Spare");
    sync(&mut c);
    same_records(&a, &c);
    assert_eq!(
        c.bedside.store().home_name().unwrap().as_deref(),
        Some("Larch House")
    );
}

fn central_corrupt_or_hostile_messages_are_refused_and_change_nothing(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (a, _b) = larch_house(&server, &server.url());
    let e = a.bedside.enrolment().unwrap().unwrap();
    let link = medround_link::Link::new(&server.url()).unwrap();
    // Garbage, a truncated envelope, and an envelope naming a document outside the scheme.
    let err = link
        .exchange(&e.credential, b"not a sync message")
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::SyncRefused, "{}", err.message);
    let mut hostile = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(
        &mut hostile,
        automerge::ROOT,
        "administration/adm-x",
        "{\"not\": \"a record\"}",
    )
    .unwrap();
    for doc in ["cycle:res-01:700", "../../etc/passwd", "home"] {
        let err = push(&link, &e.credential, doc, &mut hostile.clone()).unwrap_err();
        assert_eq!(err.code, ErrorCode::SyncRefused, "{doc}: {}", err.message);
    }
    for (doc, bytes) in [
        ("home", vec![0xde, 0xad, 0xbe, 0xef]),
        ("home", first_message(&mut hostile)),
    ] {
        let garbage = bytes[0] == 0xde;
        let env = Envelope {
            kind: Kind::Request,
            cursor: 0,
            flag: false,
            start: true,
            docs: vec![(doc.into(), bytes)],
        }
        .encode();
        if garbage {
            let err = link.exchange(&e.credential, &env[..]).unwrap_err();
            assert_eq!(err.code, ErrorCode::SyncRefused, "{doc}: {}", err.message);
        }
        let cut = link
            .exchange(&e.credential, &env[..env.len() / 2])
            .unwrap_err();
        assert_eq!(cut.code, ErrorCode::SyncRefused, "{doc}: {}", cut.message);
    }
    // A document of a newer shape than this central record reads is refused, and says why.
    let mut newer = automerge::AutoCommit::new();
    automerge::transaction::Transactable::put(&mut newer, automerge::ROOT, "schema", "99").unwrap();
    let err = push(&link, &e.credential, "home", &mut newer).unwrap_err();
    assert_eq!(err.code, ErrorCode::SyncRefused, "{}", err.message);
    assert!(
        err.message.contains("newer version of Medround"),
        "{}",
        err.message
    );
    // A record filed under the wrong resident is refused too.
    let mut misfiled = automerge::AutoCommit::new();
    let adm = a
        .bedside
        .store()
        .administrations_for(&medround_domain::ResidentId::new(who::PARKINSONS), None)
        .unwrap()
        .pop()
        .expect("the demo history has administrations");
    automerge::transaction::Transactable::put(
        &mut misfiled,
        automerge::ROOT,
        format!("administration/{}", adm.id).as_str(),
        serde_json::to_string(&medround_store::Item::Administration(adm))
            .unwrap()
            .as_str(),
    )
    .unwrap();
    let err = push(
        &link,
        &e.credential,
        "cycle:someone-else:700",
        &mut misfiled,
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::SyncRefused, "{}", err.message);
    // One 100-byte message whose Bloom filter claims entries and no bits: Automerge 0.12
    // divides by zero on it. Refused with a reason, not a panic, and the home still syncs.
    let zero_bits = vec![0x42, 0, 0, 1, 0, 3, 5, 0, 7, 0];
    for doc in ["home", &format!("resident:{}", who::PARKINSONS)] {
        let env = Envelope {
            kind: Kind::Request,
            cursor: 0,
            flag: false,
            start: true,
            docs: vec![(doc.to_string(), zero_bits.clone())],
        }
        .encode();
        let err = link.exchange(&e.credential, &env).unwrap_err();
        assert_eq!(err.code, ErrorCode::SyncRefused, "{doc}: {}", err.message);
        assert!(err.message.contains("Bloom filter"), "{}", err.message);
        assert!(!err.message.contains("panicked"), "{}", err.message);
    }
    // No credential, or a wrong one.
    assert_eq!(
        link.exchange("wrong", b"x").unwrap_err().code,
        ErrorCode::NotEnrolled
    );
    // Bodies are gzipped: a damaged one, one that would inflate to gigabytes, and an encoding
    // the central record does not read are refused with a code; a plain body is still read,
    // and answered plainly to a client that did not ask for gzip.
    let post = |encoding: Option<&str>, body: &[u8]| {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut req = agent
            .post(format!("{}{}", server.url(), medround_sync::api::SYNC_PATH))
            .header("Authorization", format!("Bearer {}", e.credential));
        if let Some(enc) = encoding {
            req = req.header("Content-Encoding", enc);
        }
        let mut resp = req.send(body).unwrap();
        let gzipped = resp.headers().contains_key("content-encoding");
        (
            resp.status().as_u16(),
            gzipped,
            resp.body_mut().read_to_vec().unwrap(),
        )
    };
    let hello = Envelope {
        kind: Kind::Request,
        cursor: 0,
        flag: false,
        start: true,
        docs: vec![],
    }
    .encode();
    let packed = medround_sync::api::gzip(&hello);
    let bomb = medround_sync::api::gzip(&vec![0u8; 80 << 20]);
    for (encoding, body) in [
        (Some("gzip"), packed[..packed.len() - 6].to_vec()),
        (Some("gzip"), b"not gzip".to_vec()),
        (Some("gzip"), bomb),
        (Some("br"), hello.clone()),
    ] {
        let (status, _, body) = post(encoding, &body);
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
        let err: medround_sync::api::ApiError = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            err.code,
            medround_sync::api::ApiCode::Malformed,
            "{}",
            err.message
        );
    }
    for (encoding, body) in [(None, hello.clone()), (Some("gzip"), packed)] {
        let (status, gzipped, reply) = post(encoding, &body);
        assert_eq!((status, gzipped), (200, false));
        assert_eq!(Envelope::decode(&reply).unwrap().kind, Kind::Reply);
    }
    // The stored documents are untouched: a new tablet gets exactly Larch House.
    let mut c = Tablet::empty(monday_morning());
    enrol(&mut c, &server, &server.url(), "larch", "Spare");
    sync(&mut c);
    same_records(&a, &c);
    assert!(c.bedside.store().item("adm-x").unwrap().is_none());
}

/// A resident admitted on one tablet reaches the central record and the home's other tablet,
/// and the pharmacy's first order for them then lands on both, pending until checked in (S1,
/// S16). Before admission on a tablet, the central record knows no such resident.
fn central_a_resident_admitted_on_a_tablet_gets_orders_from_the_pharmacy(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    a.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let id = a
        .bedside
        .save_resident(None, &medround_tests::edith_clarke())
        .unwrap()
        .resident;
    let mut order = a
        .bedside
        .store()
        .orders_for(&medround_domain::ResidentId::new(who::PARKINSONS))
        .unwrap()
        .into_iter()
        .find(|o| o.medicine.name.starts_with("Amlodipine"))
        .expect("amlodipine on a chart");
    order.id = medround_domain::OrderId::new("ord-edith-1");
    order.resident = medround_domain::ResidentId::new(&id);
    let json = serde_json::to_string(&order).unwrap();
    assert!(
        server.central.submit_order("larch", &json).is_err(),
        "an order for a resident the central record has not heard of"
    );
    sync(&mut a);
    server.central.submit_order("larch", &json).unwrap();
    sync(&mut a);
    sync(&mut b);
    for t in [&mut a, &mut b] {
        let v = t.bedside.open_resident(&id).unwrap();
        assert_eq!(v.name, "Edith Clarke");
        let row = v
            .doses
            .iter()
            .find(|d| d.order == "ord-edith-1")
            .expect("the pharmacy's order is on her chart");
        assert!(row.pending_check_in && row.unavailable.is_some());
        t.bedside.leave_resident();
    }
    b.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    b.bedside
        .check_in_order(&id, "ord-edith-1", None, &Default::default())
        .unwrap();
    let round = b.bedside.round().unwrap();
    assert!(round
        .units
        .iter()
        .flat_map(|u| u.residents.iter())
        .any(|r| r.id == id));
}

/// S16: orders from the pharmacy arrive at the central record and reach every tablet as
/// pending; they cannot be given until a senior checks them in, and the check-in travels back.
fn central_s16_pharmacy_orders_arrive_pending_until_a_senior_checks_them_in(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    let resident = medround_domain::ResidentId::new(who::PARKINSONS);
    let mut order = a
        .bedside
        .store()
        .orders_for(&resident)
        .unwrap()
        .into_iter()
        .find(|o| o.medicine.name.starts_with("Amlodipine"))
        .expect("amlodipine on the chart");
    // A new prescription replacing it, sent as if already active: the central record makes
    // it pending.
    let replaced = order.id.clone();
    order.replaces = Some(replaced.clone());
    order.id = medround_domain::OrderId::new("ord-pharmacy-1");
    order.instructions = "New from the pharmacy: take with water.".into();
    order.checked_in_by = vec![medround_domain::StaffId::new("st-amy")];
    // What only a senior sets at check-in cannot be sent in: a start for its slots that would
    // hide them, or a note that waives the duplicate-therapy warning.
    order.slots_after = Some("2030-01-01T00:00:00Z".parse().unwrap());
    order.both_intended = Some("both meant".into());
    let sent = server
        .central
        .submit_order("larch", &serde_json::to_string(&order).unwrap())
        .unwrap();
    assert_eq!(sent.status, medround_domain::order::OrderStatus::Pending);
    assert!(sent.checked_in_by.is_empty());
    assert!(sent.slots_after.is_none() && sent.both_intended.is_none());
    // Orders for someone who is not in the home, or that are not orders, are refused.
    let mut stranger = order.clone();
    stranger.resident = medround_domain::ResidentId::new("res-99");
    assert!(server
        .central
        .submit_order("larch", &serde_json::to_string(&stranger).unwrap())
        .is_err());
    assert!(server
        .central
        .submit_order("larch", "{\"not\": 1}")
        .is_err());

    sync(&mut a);
    sync(&mut b);
    for t in [&mut a, &mut b] {
        let v = t.bedside.open_resident(who::PARKINSONS).unwrap();
        let row = v
            .doses
            .iter()
            .find(|d| d.order == "ord-pharmacy-1")
            .expect("the new order is on the chart");
        assert!(row.pending_check_in && row.unavailable.is_some());
        t.bedside.leave_resident();
    }
    // A carer cannot check it in; a senior can, on either tablet.
    let e = b
        .bedside
        .check_in_order(who::PARKINSONS, "ord-pharmacy-1", None, &Default::default())
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Blocked, "{}", e.message);
    b.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    b.bedside
        .check_in_order(who::PARKINSONS, "ord-pharmacy-1", None, &Default::default())
        .unwrap();
    sync(&mut b);
    sync(&mut a);
    let checked = a
        .bedside
        .store()
        .order(&medround_domain::OrderId::new("ord-pharmacy-1"))
        .unwrap();
    assert_eq!(checked.status, medround_domain::order::OrderStatus::Active);
    assert_eq!(
        checked.checked_in_by,
        vec![medround_domain::StaffId::new("st-ben")]
    );
    // The order it replaces stopped in the same change, on both tablets.
    for t in [&a, &b] {
        assert!(matches!(
            t.bedside.store().order(&replaced).unwrap().status,
            medround_domain::order::OrderStatus::Discontinued { .. }
        ));
    }
}

/// The admin endpoints answer only to the server's admin token.
fn central_admin_endpoints_need_the_admin_token(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = |p: &str| format!("{}{p}", server.url());
    let post = |path: &str, token: Option<&str>, body: &str| {
        let mut r = agent.post(url(path)).content_type("application/json");
        if let Some(t) = token {
            r = r.header("Authorization", format!("Bearer {t}"));
        }
        let mut resp = r.send(body).unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    };
    let token = Some(medround_tests::central::ADMIN_TOKEN);
    let home = r#"{"id": "larch", "name": "Larch House"}"#;
    assert_eq!(post("/admin/v1/homes", None, home).0, 403);
    assert_eq!(post("/admin/v1/homes", Some("guess"), home).0, 403);
    assert_eq!(post("/admin/v1/homes", token, home).0, 201);
    assert_eq!(
        post("/admin/v1/homes", token, home).0,
        400,
        "no second home of one id"
    );
    let (status, body) = post("/admin/v1/homes/larch/enrolment-codes", token, "");
    assert_eq!(status, 201, "{body}");
    let code: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code["code"].as_str().unwrap().len(), 14);
    assert_eq!(
        post("/admin/v1/homes/nowhere/enrolment-codes", token, "").0,
        404
    );
    assert_eq!(post("/admin/v1/devices/dev-none/revoke", token, "").0, 404);
    assert_eq!(
        post("/admin/v1/homes/larch/orders", token, "not json").0,
        400
    );
    let mut resp = agent.get(url("/v1/health")).call().unwrap();
    // Every answer carries the id its log lines carry, so a report can be found in the log;
    // one the caller sent is kept.
    let id = resp.headers().get("x-request-id").expect("a request id");
    assert_eq!(id.to_str().unwrap().len(), 36, "a UUID: {id:?}");
    assert_eq!(resp.body_mut().read_to_string().unwrap(), "ok");
    let resp = agent
        .get(url("/v1/health"))
        .header("x-request-id", "tablet-report-17")
        .call()
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "tablet-report-17");
}

/// A tablet restored from its own backup is brought back to everything it lost on its next
/// sync: the doses it recorded and sent after the backup, and what other tablets recorded.
/// Doses it records after the restore, before that sync, reach the home as well.
fn central_a_tablet_restored_from_its_backup_gets_back_what_it_lost(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (a, mut b) = larch_house(&server, &server.url());
    let kept = tempfile::tempdir().unwrap();
    let mut a = a.backup(kept.path());
    a.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    // A dose on a chart nobody touches afterwards: only the central record and tablet B hold
    // it once tablet A is restored.
    let (resident, medicine) = ["res-02", "res-03", "res-05", "res-06", "res-08", "res-09"]
        .into_iter()
        .find_map(|r| {
            let v = a.bedside.open_resident(r).ok()?;
            a.bedside.leave_resident();
            v.doses
                .into_iter()
                .find(|d| {
                    d.unavailable.is_none()
                        && d.outcome.is_none()
                        && d.controlled.is_none()
                        && !d.variable
                        && !d.needs_site
                        && !d.patch
                })
                .map(|d| (r, d.medicine))
        })
        .expect("a dose due this morning");
    let lost = give(&mut a, resident, &medicine, 0, None, false);
    sync(&mut a);
    let on_b = give(&mut b, who::PARKINSONS, "Furosemide", 0, None, false);
    sync(&mut b);
    let mut a = a.restore(kept.path());
    assert!(a.bedside.store().item(&lost).unwrap().is_none(), "restored");
    // Used before it syncs: a dose recorded on the restored tablet.
    a.bedside.sign_in("st-dev", pin("st-dev")).unwrap();
    let after = give(&mut a, who::PARKINSONS, "Amlodipine", 3, None, false);
    sync(&mut a);
    sync(&mut b);
    for id in [&lost, &on_b, &after] {
        assert!(a.bedside.store().item(id).unwrap().is_some(), "{id} on A");
        assert!(b.bedside.store().item(id).unwrap().is_some(), "{id} on B");
    }
    same_records(&a, &b);
    // The resident's chart on A shows the dose as given again, not as due.
    let v = a.bedside.open_resident(resident).unwrap();
    assert!(v
        .doses
        .iter()
        .any(|d| d.medicine == medicine && d.outcome.is_some()));
}

/// A tablet offline for 30 days, recording every day (and closing windows as MISSED), while
/// another keeps syncing: when it reconnects nothing is lost and nothing is doubled.
fn central_a_tablet_offline_for_30_days_syncs_without_loss_or_duplicates(backend: &Backend) {
    let server = CentralServer::start_on(backend);
    let (mut a, mut b) = larch_house(&server, &server.url());
    let mut on_a = Vec::new();
    let mut on_b = Vec::new();
    for day in 0..30 {
        let morning = monday_morning() + chrono::Duration::days(day);
        for (t, who_signs, mine) in [(&mut a, "st-amy", &mut on_a), (&mut b, "st-dev", &mut on_b)] {
            t.clock.set(morning);
            t.bedside.close_windows().unwrap();
            t.bedside.sign_in(who_signs, pin(who_signs)).unwrap();
            mine.push(give(
                t,
                who::PARKINSONS,
                if who_signs == "st-amy" {
                    "Amlodipine"
                } else {
                    "Furosemide"
                },
                if who_signs == "st-amy" { 3 } else { 0 },
                None,
                false,
            ));
        }
        // B is online and syncs every day; A is not.
        sync(&mut b);
    }
    assert!(a.bedside.sync_status().unwrap().waiting > 30);
    let back = sync(&mut a);
    assert!(back.documents_changed > 0);
    sync(&mut b);
    same_records(&a, &b);
    for id in on_a.iter().chain(&on_b) {
        assert!(a.bedside.store().item(id).unwrap().is_some(), "{id} on A");
        assert!(b.bedside.store().item(id).unwrap().is_some(), "{id} on B");
    }
    assert!(double_doses(&a, who::PARKINSONS).is_empty());
}

/// The central record over HTTPS with the provider's own certificate: a tablet that trusts it
/// enrols and syncs; one that trusts only the public roots refuses the server.
fn central_https_with_the_providers_own_certificate(backend: &Backend) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, key_pem) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();
    let tls = medround_server::tls::config(&cert_pem, &key_pem).unwrap();
    let server = CentralServer::start_tls(backend, tls);
    let url = format!("https://{}", server.addr);

    let mut a = Tablet::demo(monday_morning());
    a.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let code = server.home_with_code("larch", "Larch House");
    // Trusting only the public roots, the tablet refuses this server before sending anything.
    let e = medround_link::enrol(&mut a.bedside, &url, &code, "Oak").unwrap_err();
    assert_eq!(e.code, ErrorCode::Offline, "{}", e.message);
    assert!(a.bedside.enrolment().unwrap().is_none());
    // Trusting the provider's certificate, it enrols, and keeps trusting it for every sync.
    let link = medround_link::Link::with_ca(&url, cert.pem().as_bytes()).unwrap();
    medround_link::enrol_via(&mut a.bedside, &link, &code, "Oak").unwrap();
    sync(&mut a);
    let mut b = Tablet::empty(monday_morning());
    let code = server.home_with_code("larch", "Larch House");
    medround_link::enrol_via(&mut b.bedside, &link, &code, "Elm").unwrap();
    sync(&mut b);
    same_records(&a, &b);
    // Plain HTTP to the HTTPS port gets no answer a tablet would take.
    let plain = medround_link::Link::new(&format!("http://{}", server.addr)).unwrap();
    assert!(plain.exchange("x", b"x").is_err());
    // A damaged certificate file is a clear message, not a panic.
    assert_eq!(
        medround_link::Link::with_ca(&url, b"not a certificate")
            .unwrap_err()
            .code,
        ErrorCode::BadInput
    );
}

/// Every test above, once against the SQLite central record and once against PostgreSQL (a
/// real server, started for each test).
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
    central_offline_doses_on_two_tablets_reach_both_over_http,
    central_each_tablet_is_named_in_the_others_audit_trail,
    central_staff_added_on_one_tablet_sign_in_on_the_other,
    central_s18_double_dose_over_http_raises_one_incident_on_both,
    central_connection_cut_mid_sync_then_resumed_loses_and_doubles_nothing,
    central_server_restarted_mid_sync_then_resumed,
    central_revoked_device_is_refused_at_once,
    central_enrolment_codes_are_single_use_and_checked,
    central_only_a_manager_connects_a_tablet_that_holds_a_home,
    central_a_device_of_one_home_never_reads_or_writes_another_home,
    central_corrupt_or_hostile_messages_are_refused_and_change_nothing,
    central_https_with_the_providers_own_certificate,
    central_s16_pharmacy_orders_arrive_pending_until_a_senior_checks_them_in,
    central_a_resident_admitted_on_a_tablet_gets_orders_from_the_pharmacy,
    central_admin_endpoints_need_the_admin_token,
    central_a_tablet_offline_for_30_days_syncs_without_loss_or_duplicates,
    central_a_tablet_restored_from_its_backup_gets_back_what_it_lost,
);
