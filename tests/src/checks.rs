//! What the checks of arriving changes cost, for the sync benchmark: `check_changes` timed on
//! exactly the changes a tablet sends, as the central record runs it (with the home's roster,
//! the sender and a clock), so that its share of a whole exchange can be printed beside it.

use crate::Tablet;
use automerge::{AutoCommit, ChangeHash};
use medround_store::{check_changes, Arrival, Roster};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Each of a tablet's documents' heads now.
pub fn heads(t: &mut Tablet) -> HashMap<String, Vec<ChangeHash>> {
    let store = t.bedside.store_mut();
    let mut out = HashMap::new();
    for id in store.document_ids().expect("documents") {
        let bytes = store.document_bytes(&id).expect("document");
        let mut doc = AutoCommit::load(&bytes).expect("load");
        out.insert(id, doc.get_heads());
    }
    out
}

/// The time the central record's checks take over what the tablet wrote since `before`, and
/// how many changes that is.
pub fn check_time(t: &mut Tablet, before: &HashMap<String, Vec<ChangeHash>>) -> (Duration, usize) {
    let sender = t
        .bedside
        .enrolment()
        .expect("enrolment")
        .map(|e| e.device)
        .unwrap_or_default();
    let now = crate::central::central_time();
    let store = t.bedside.store_mut();
    let home = AutoCommit::load(&store.document_bytes("home").expect("home")).expect("load");
    let roster = Roster::of_home(&home).expect("roster");
    let arrival = Arrival {
        sender: Some(&sender),
        now: Some(now),
        roster: &roster,
    };
    let (mut spent, mut changes) = (Duration::ZERO, 0);
    for id in store.document_ids().expect("documents") {
        let since = before.get(&id).cloned().unwrap_or_default();
        let mut doc =
            AutoCommit::load(&store.document_bytes(&id).expect("document")).expect("load");
        let n = doc.get_changes(&since).len();
        if n == 0 {
            continue;
        }
        changes += n;
        let started = Instant::now();
        check_changes(&id, &mut doc, &since, &arrival).expect("the tablet's own changes pass");
        spent += started.elapsed();
    }
    (spent, changes)
}
