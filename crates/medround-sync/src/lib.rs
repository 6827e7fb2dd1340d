//! medround-sync: the sync protocol between a tablet and the central record, as a state machine
//! over bytes. It opens no socket, reads no clock and speaks no SQL: the shell and the server
//! carry the bytes, and a [`Replica`] (the tablet's store, the server's storage, or the in-memory
//! one in [`memory`]) keeps the documents and the sync states.
//!
//! One exchange is a series of request/reply round trips, each an [`wire::Envelope`] carrying
//! Automerge's own sync messages (`automerge::sync`) for many documents at once:
//! 1. The tablet sends its changed documents (those it wrote since its last completed sync).
//! 2. Once those have settled, it asks for the central record's change feed after its cursor:
//!    the documents other tablets (or the pharmacy, or the manager) changed since it last synced.
//! 3. Each document goes back and forth until neither side has anything more to say.
//!
//! The cursor only moves on once every document of a feed page has settled, so an exchange cut
//! off at any point is simply started again: Automerge's protocol makes the repeats cheap and a
//! change is applied once however often it arrives.

pub mod api;
pub mod bounds;
pub mod memory;
pub mod wire;

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use std::collections::{BTreeSet, VecDeque};
use wire::{Envelope, Kind};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the sync message is malformed: {0}")]
    Malformed(String),
    #[error("the sync message is protocol version {0}, which this app does not speak")]
    Version(u8),
    #[error("the changes for {doc} were refused: {reason}")]
    Refused { doc: String, reason: String },
    #[error("the sync did not settle after {0} round trips")]
    NoProgress(u32),
    #[error("storage failed during sync: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where one side keeps its documents and its sync state with the other side.
///
/// A document is checked out for one step and checked back in after it. If a step fails, the
/// document is not checked back in: the replica must then forget what it handed out and load
/// the stored document next time, so a refused message leaves nothing behind.
///
/// A document checked in with changes it could not apply yet (their dependencies have not
/// arrived: `get_missing_deps` is not empty) must be handed out again as it is, for the rest of
/// the exchange: those changes live only in memory, and a replica that reloaded the stored
/// document would ask for the missing dependency, then lose the change that needed it, for ever.
pub trait Replica {
    /// A new exchange with the peer begins: sync states start again from what was stored
    /// (the heads both sides shared), dropping whatever a cut-off exchange left in flight.
    fn begin(&mut self) {}
    /// The document (empty if it does not exist here yet) and the sync state with the peer.
    fn checkout(&mut self, doc_id: &str) -> Result<(AutoCommit, sync::State), SyncError>;
    /// Stores the sync state, and the document's new changes when `changed`. A replica that
    /// finds the changed document unacceptable (a record that does not parse, a record filed
    /// under another resident) returns [`SyncError::Refused`] and stores nothing.
    fn checkin(
        &mut self,
        doc_id: &str,
        doc: AutoCommit,
        state: sync::State,
        changed: bool,
    ) -> Result<(), SyncError>;
}

/// The central record's list of changed documents, in the order they changed.
pub trait Feed {
    /// Up to `limit` documents changed after `cursor`, the cursor after the last of them, and
    /// whether more follow.
    fn changed_since(
        &mut self,
        cursor: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64, bool), SyncError>;
    /// Where `doc_id` stands in the feed, if the replica can say (see [`HOME`]).
    fn position(&mut self, _doc_id: &str) -> Result<Option<u64>, SyncError> {
        Ok(None)
    }
}

/// The home document holds the staff every record names. It goes first both ways: a tablet
/// sends it alone until it settles, and the central record puts it at the head of every feed
/// page while it has changed after the tablet's cursor, so that a record never arrives
/// before the staff member it names, and the checks of arriving changes can refuse one who is
/// not staff of the home.
pub const HOME: &str = "home";

/// Documents per feed page and per batch of local changes in one request.
pub const PAGE: usize = 200;
/// An exchange that has not settled after this many round trips is stopped.
pub const MAX_ROUNDS: u32 = 5_000;

/// Applies one incoming Automerge sync message to a document and returns the answer, if any.
/// Returns whether the document took new changes.
fn receive(
    replica: &mut impl Replica,
    doc_id: &str,
    bytes: &[u8],
) -> Result<(bool, Option<Vec<u8>>), SyncError> {
    let msg = sync::Message::decode(bytes).map_err(|e| SyncError::Refused {
        doc: doc_id.into(),
        reason: e.to_string(),
    })?;
    // Automerge trusts what a message claims; a hostile one could crash or stall it.
    bounds::check(&msg).map_err(|reason| SyncError::Refused {
        doc: doc_id.into(),
        reason,
    })?;
    let (mut doc, mut state) = replica.checkout(doc_id)?;
    // A peer that asks for changes by hash does not have them: a bloom-filter false positive
    // left out one they depend on. Automerge never sends a hash twice in one session, so
    // without this the exchange would ask for the same changes for ever.
    for h in &msg.need {
        state.sent_hashes.remove(h);
    }
    let before = doc.get_heads();
    doc.sync()
        .receive_sync_message(&mut state, msg)
        .map_err(|e| SyncError::Refused {
            doc: doc_id.into(),
            reason: e.to_string(),
        })?;
    let changed = doc.get_heads() != before;
    let answer = doc
        .sync()
        .generate_sync_message(&mut state)
        .map(|m| m.encode());
    replica.checkin(doc_id, doc, state, changed)?;
    Ok((changed, answer))
}

/// Opens the conversation about one document. With `unless_shared`, says nothing about a
/// document the peer is already known to have as it is here (its own changes, just sent).
fn open(
    replica: &mut impl Replica,
    doc_id: &str,
    unless_shared: bool,
) -> Result<Option<Vec<u8>>, SyncError> {
    let (mut doc, mut state) = replica.checkout(doc_id)?;
    if unless_shared {
        let mut heads = doc.get_heads();
        let mut shared = state.shared_heads.clone();
        heads.sort();
        shared.sort();
        if heads == shared {
            replica.checkin(doc_id, doc, state, false)?;
            return Ok(None);
        }
    }
    let msg = doc
        .sync()
        .generate_sync_message(&mut state)
        .map(|m| m.encode());
    replica.checkin(doc_id, doc, state, false)?;
    Ok(msg)
}

/// The central record's side: answers one request from a tablet of the home `replica` holds.
/// The caller has already authenticated the device and chosen the home's replica, so a
/// document id can only ever name a document of that home.
pub fn serve<R: Replica + Feed>(replica: &mut R, request: &[u8]) -> Result<Vec<u8>, SyncError> {
    let req = Envelope::decode(request)?;
    if req.kind != Kind::Request {
        return Err(SyncError::Malformed("expected a request".into()));
    }
    if req.docs.len() > PAGE {
        return Err(SyncError::Malformed(format!(
            "a request names {} documents; a tablet sends at most {PAGE}",
            req.docs.len()
        )));
    }
    if req.start {
        replica.begin();
    }
    let mut docs = Vec::new();
    for (id, msg) in &req.docs {
        if let (_, Some(answer)) = receive(replica, id, msg)? {
            docs.push((id.clone(), answer));
        }
    }
    let (mut cursor, mut more) = (req.cursor, false);
    if req.flag {
        let (mut page, next, m) = replica.changed_since(req.cursor, PAGE)?;
        if replica.position(HOME)?.is_some_and(|at| at > req.cursor) {
            page.retain(|d| d != HOME);
            page.insert(0, HOME.to_string());
        }
        for id in page {
            if req.docs.iter().any(|(d, _)| d == &id) {
                continue;
            }
            if let Some(msg) = open(replica, &id, true)? {
                docs.push((id, msg));
            }
        }
        cursor = next;
        more = m;
    }
    Ok(Envelope {
        kind: Kind::Reply,
        cursor,
        flag: more,
        start: false,
        docs,
    }
    .encode())
}

/// How far an exchange has gone, for the screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub round_trips: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Local documents still to send.
    pub to_send: usize,
    /// Documents settled so far.
    pub settled: usize,
    /// Documents that took changes from the other side, in the order they did.
    pub changed: Vec<String>,
}

/// The tablet's side of one exchange.
#[derive(Debug)]
pub struct Client {
    /// The feed position that is safe to store: every document before it has settled.
    cursor: u64,
    /// The position the current feed page brings the tablet to, once its documents settle.
    page_cursor: Option<u64>,
    feed_done: bool,
    queue: VecDeque<String>,
    /// Messages to send in the next request.
    outgoing: Vec<(String, Vec<u8>)>,
    /// Documents still talking.
    active: BTreeSet<String>,
    asked_feed: bool,
    started: bool,
    progress: Progress,
}

impl Client {
    /// `cursor` is the stored feed position; `dirty` the documents written here since the last
    /// completed exchange.
    pub fn new(cursor: u64, mut dirty: Vec<String>) -> Client {
        if let Some(i) = dirty.iter().position(|d| d == HOME) {
            let home = dirty.remove(i);
            dirty.insert(0, home);
        }
        Client {
            cursor,
            page_cursor: None,
            feed_done: false,
            progress: Progress {
                to_send: dirty.len(),
                ..Progress::default()
            },
            queue: dirty.into(),
            outgoing: Vec::new(),
            active: BTreeSet::new(),
            asked_feed: false,
            started: false,
        }
    }

    /// The feed position to store: documents before it are all here.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The next request to send, or `None` when the exchange is complete.
    pub fn request(&mut self, replica: &mut impl Replica) -> Result<Option<Vec<u8>>, SyncError> {
        if self.progress.round_trips >= MAX_ROUNDS {
            return Err(SyncError::NoProgress(self.progress.round_trips));
        }
        let start = !self.started;
        if start {
            replica.begin();
            self.started = true;
        }
        let mut docs = std::mem::take(&mut self.outgoing);
        // While the home document is still talking, the rest wait (see `HOME`).
        while docs.len() < PAGE && !docs.iter().any(|(d, _)| d == HOME) {
            let Some(id) = self.queue.pop_front() else {
                break;
            };
            self.progress.to_send -= 1;
            if docs.iter().any(|(d, _)| d == &id) {
                continue;
            }
            match open(replica, &id, false)? {
                Some(msg) => {
                    self.active.insert(id.clone());
                    docs.push((id, msg));
                }
                None => self.progress.settled += 1,
            }
        }

        // The feed is asked for once what this tablet wrote is on its way and the last page
        // has settled, so that the cursor never passes a document that is still talking.
        let want_feed = self.queue.is_empty() && self.page_cursor.is_none() && !self.feed_done;
        if docs.is_empty() && !want_feed {
            return Ok(None);
        }
        self.asked_feed = want_feed;
        let bytes = Envelope {
            kind: Kind::Request,
            cursor: self.cursor,
            flag: want_feed,
            start,
            docs,
        }
        .encode();
        self.progress.bytes_sent += bytes.len() as u64;
        Ok(Some(bytes))
    }

    /// Takes the central record's reply to the last request.
    pub fn reply(&mut self, replica: &mut impl Replica, bytes: &[u8]) -> Result<(), SyncError> {
        self.progress.round_trips += 1;
        self.progress.bytes_received += bytes.len() as u64;
        let reply = Envelope::decode(bytes)?;
        if reply.kind != Kind::Reply {
            return Err(SyncError::Malformed("expected a reply".into()));
        }
        // Documents this side spoke about and the other side did not answer have settled.
        let answered: BTreeSet<&str> = reply.docs.iter().map(|(d, _)| d.as_str()).collect();
        let quiet: Vec<String> = self
            .active
            .iter()
            .filter(|d| !answered.contains(d.as_str()))
            .cloned()
            .collect();
        for d in quiet {
            self.active.remove(&d);
            self.progress.settled += 1;
        }
        for (id, msg) in &reply.docs {
            let (changed, answer) = receive(replica, id, msg)?;
            if changed && !self.progress.changed.contains(id) {
                self.progress.changed.push(id.clone());
            }
            match answer {
                Some(a) => {
                    self.active.insert(id.clone());
                    self.outgoing.push((id.clone(), a));
                }
                None => {
                    self.active.remove(id);
                    self.progress.settled += 1;
                }
            }
        }
        if self.asked_feed {
            self.asked_feed = false;
            self.page_cursor = Some(reply.cursor);
            self.feed_done = !reply.flag;
        }
        if self.active.is_empty() {
            if let Some(c) = self.page_cursor.take() {
                self.cursor = self.cursor.max(c);
            }
        }
        Ok(())
    }
}

/// Runs a whole exchange between a client replica and a server replica in memory: the tests'
/// and benchmarks' way of syncing without a network.
pub fn sync_in_memory<C: Replica, S: Replica + Feed>(
    client: &mut C,
    cursor: u64,
    dirty: Vec<String>,
    server: &mut S,
) -> Result<Client, SyncError> {
    let mut c = Client::new(cursor, dirty);
    while let Some(req) = c.request(client)? {
        let rep = serve(server, &req)?;
        c.reply(client, &rep)?;
    }
    Ok(c)
}

#[cfg(test)]
mod tests;
