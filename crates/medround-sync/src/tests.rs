use crate::memory::MemoryReplica;
use crate::wire::{Envelope, Kind};
use crate::{serve, sync_in_memory, Client, SyncError};

/// A tablet: its replica and its stored cursor.
struct Tablet {
    name: &'static str,
    replica: MemoryReplica,
    cursor: u64,
}

impl Tablet {
    fn new(name: &'static str) -> Tablet {
        Tablet {
            name,
            replica: MemoryReplica::new(name),
            cursor: 0,
        }
    }
    fn record(&mut self, doc: &str, id: &str) {
        self.replica.put(
            doc,
            &format!("administration/{id}"),
            &format!("{{\"id\":\"{id}\"}}"),
        );
    }
    fn sync(&mut self, server: &mut MemoryReplica) -> Client {
        server.peer = self.name.into();
        let dirty = self.replica.take_dirty();
        let c = sync_in_memory(&mut self.replica, self.cursor, dirty, server).unwrap();
        self.cursor = c.cursor();
        c
    }
}

const CYCLE: &str = "cycle:res-01:713";

#[test]
fn two_tablets_converge_through_the_central_record() {
    let mut server = MemoryReplica::new("server");
    let (mut a, mut b) = (Tablet::new("tab-a"), Tablet::new("tab-b"));
    a.record(CYCLE, "a1");
    b.record(CYCLE, "b1");
    b.record("cycle:res-02:713", "b2");
    a.sync(&mut server);
    let got = b.sync(&mut server);
    assert!(got.progress().changed.contains(&CYCLE.to_string()));
    a.sync(&mut server);
    assert_eq!(a.replica.snapshot(), server.snapshot());
    assert_eq!(b.replica.snapshot(), server.snapshot());
    assert_eq!(server.snapshot()[CYCLE].len(), 2);
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 1 {
        return vec![vec![0]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn three_tablets_converge_in_every_order_of_delivery() {
    for order in permutations(3) {
        let mut server = MemoryReplica::new("server");
        let mut tabs = [
            Tablet::new("tab-a"),
            Tablet::new("tab-b"),
            Tablet::new("tab-c"),
        ];
        for (i, t) in tabs.iter_mut().enumerate() {
            t.record(CYCLE, &format!("r{i}"));
            t.record(&format!("cycle:res-1{i}:713"), &format!("own{i}"));
        }
        // One pass in this order, then a second pass in the same order: everyone has everything.
        for _ in 0..2 {
            for &i in &order {
                tabs[i].sync(&mut server);
            }
        }
        for t in &tabs {
            assert_eq!(t.replica.snapshot(), server.snapshot(), "order {order:?}");
        }
        assert_eq!(server.snapshot()[CYCLE].len(), 3);
    }
}

#[test]
fn duplicated_and_reordered_messages_change_nothing_twice() {
    let mut server = MemoryReplica::new("server");
    let (mut a, mut b) = (Tablet::new("tab-a"), Tablet::new("tab-b"));
    for i in 0..20 {
        a.record(CYCLE, &format!("a{i}"));
    }
    b.record(CYCLE, "b0");
    b.sync(&mut server);

    // Tablet A's exchange, with every request sent twice and every reply delivered twice, the
    // second copy late, after the next reply.
    server.peer = "tab-a".into();
    let mut c = Client::new(0, a.replica.take_dirty());
    let mut late: Option<Vec<u8>> = None;
    while let Some(req) = c.request(&mut a.replica).unwrap() {
        let first = serve(&mut server, &req).unwrap();
        let second = serve(&mut server, &req).unwrap();
        c.reply(&mut a.replica, &first).unwrap();
        if let Some(old) = late.replace(second) {
            c.reply(&mut a.replica, &old).unwrap();
        }
    }
    if let Some(old) = late {
        c.reply(&mut a.replica, &old).unwrap();
    }
    // Then clean exchanges until both sides say nothing more.
    a.cursor = 0;
    a.sync(&mut server);
    b.sync(&mut server);
    assert_eq!(a.replica.snapshot(), server.snapshot());
    assert_eq!(b.replica.snapshot(), server.snapshot());
    let records = &server.snapshot()[CYCLE];
    assert_eq!(records.len(), 21);
    assert!(
        records.values().all(|v| v.len() == 1),
        "a record appeared twice"
    );
}

#[test]
fn the_same_key_written_on_two_tablets_keeps_both_values() {
    let mut server = MemoryReplica::new("server");
    let (mut a, mut b) = (Tablet::new("tab-a"), Tablet::new("tab-b"));
    a.replica.put("resident:res-01", "profile/room", "\"G04\"");
    b.replica.put("resident:res-01", "profile/room", "\"G05\"");
    a.sync(&mut server);
    b.sync(&mut server);
    a.sync(&mut server);
    // Both values are there to be seen; neither tablet silently lost the other's.
    assert_eq!(
        a.replica.values("resident:res-01", "profile/room"),
        ["\"G04\"", "\"G05\""]
    );
    assert_eq!(a.replica.snapshot(), b.replica.snapshot());
}

#[test]
fn a_cut_exchange_is_started_again_and_loses_nothing() {
    let mut server = MemoryReplica::new("server");
    let (mut a, mut b) = (Tablet::new("tab-a"), Tablet::new("tab-b"));
    for r in 0..30 {
        a.record(&format!("cycle:res-{r:02}:713"), "a");
    }
    a.sync(&mut server);
    // B starts, gets one reply, and the connection drops.
    server.peer = "tab-b".into();
    let mut c = Client::new(b.cursor, b.replica.take_dirty());
    for _ in 0..2 {
        let req = c.request(&mut b.replica).unwrap().unwrap();
        let rep = serve(&mut server, &req).unwrap();
        c.reply(&mut b.replica, &rep).unwrap();
    }
    assert_eq!(
        c.cursor(),
        0,
        "the cursor moved past documents still talking"
    );
    b.sync(&mut server);
    assert_eq!(b.replica.snapshot(), server.snapshot());
}

#[test]
fn a_second_sync_with_nothing_new_resends_no_history() {
    let mut server = MemoryReplica::new("server");
    let mut a = Tablet::new("tab-a");
    for r in 0..60 {
        for i in 0..20 {
            a.record(&format!("cycle:res-{r:02}:713"), &format!("x{i}"));
        }
    }
    let first = a.sync(&mut server);
    let again = a.sync(&mut server);
    assert!(first.progress().bytes_sent > 10_000);
    // Nothing new on either side: one round trip of a few bytes, whatever the history.
    let p = again.progress();
    assert_eq!(p.round_trips, 1, "{p:?}");
    assert!(p.bytes_sent + p.bytes_received < 100, "{p:?}");
}

#[test]
fn a_malformed_request_is_refused_and_changes_nothing() {
    let mut server = MemoryReplica::new("server");
    let mut a = Tablet::new("tab-a");
    a.record(CYCLE, "a1");
    a.sync(&mut server);
    let before = server.snapshot();

    assert!(matches!(
        serve(&mut server, b"GET / HTTP/1.1\r\n"),
        Err(SyncError::Malformed(_))
    ));
    // A well-formed envelope whose Automerge message is rubbish.
    let bad = Envelope {
        kind: Kind::Request,
        cursor: 0,
        flag: false,
        start: true,
        docs: vec![(CYCLE.into(), vec![0x42, 0x00, 0xff, 0x13])],
    };
    assert!(matches!(
        serve(&mut server, &bad.encode()),
        Err(SyncError::Refused { .. })
    ));
    // Real Automerge changes carrying something that is not a record.
    let mut evil = Tablet::new("tab-evil");
    evil.replica.check_json = false;
    evil.replica.put(CYCLE, "administration/x", "DROP TABLE");
    server.peer = "tab-evil".into();
    let err = sync_in_memory(&mut evil.replica, 0, vec![CYCLE.into()], &mut server).unwrap_err();
    assert!(matches!(err, SyncError::Refused { .. }), "{err}");
    assert_eq!(server.snapshot(), before);
    // And the server still syncs honest tablets afterwards.
    let mut b = Tablet::new("tab-b");
    b.sync(&mut server);
    assert_eq!(b.replica.snapshot(), before);
}

/// A change can arrive before the change it depends on (a bloom-filter false positive told the
/// sender the other side had it). The central record must keep it while it asks for the
/// dependency, rather than reload the stored document and lose it: otherwise the exchange asks
/// for the dependency, then for the lost change, for ever (seen as a sync that never settled).
#[test]
fn a_change_that_arrives_before_its_dependency_waits_for_it() {
    use automerge::sync::{Message, MessageVersion};
    use automerge::transaction::Transactable;
    let mut server = MemoryReplica::new("server");
    let mut doc = automerge::AutoCommit::new();
    doc.set_actor(automerge::ActorId::from(b"tab-a".as_slice()));
    doc.put(automerge::ROOT, "administration/y", "{\"id\":\"y\"}")
        .unwrap();
    doc.commit();
    doc.put(automerge::ROOT, "administration/x", "{\"id\":\"x\"}")
        .unwrap();
    doc.commit();
    let changes = doc.get_changes(&[]);
    let (y, x) = (changes[0].clone(), changes[1].clone());
    let send = |server: &mut MemoryReplica, start: bool, c: &automerge::Change| {
        let msg = Message {
            heads: vec![x.hash()],
            need: vec![],
            have: vec![],
            changes: vec![c.raw_bytes().to_vec()].into(),
            flags: None,
            version: MessageVersion::V1,
        };
        let req = Envelope {
            kind: Kind::Request,
            cursor: 0,
            flag: false,
            start,
            docs: vec![(CYCLE.into(), msg.encode())],
        };
        Envelope::decode(&serve(server, &req.encode()).unwrap()).unwrap()
    };
    // X alone: the server cannot apply it yet, and asks for Y.
    let reply = send(&mut server, true, &x);
    let asked = Message::decode(&reply.docs[0].1).unwrap();
    assert_eq!(asked.need, vec![y.hash()]);
    // Y, in the next request of the same exchange: both are now there.
    send(&mut server, false, &y);
    assert_eq!(server.values(CYCLE, "administration/x"), ["{\"id\":\"x\"}"]);
    assert_eq!(server.values(CYCLE, "administration/y"), ["{\"id\":\"y\"}"]);
}
