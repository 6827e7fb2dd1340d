-- Sync with the central record (local to this device; nothing here is replicated).
-- local_dirty: documents written here and not yet sent. A row is removed only once an exchange
-- that started after its last change has completed, so a change made during a sync is sent by
-- the next one.
CREATE TABLE local_dirty (
    doc_id    TEXT PRIMARY KEY,
    changes   INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL
);

-- Automerge sync state per (peer, document): what the peer is known to have, so that a
-- reconnect does not resend history.
CREATE TABLE local_sync_state (
    peer    TEXT NOT NULL,
    doc_id  TEXT NOT NULL,
    state   BLOB NOT NULL,
    PRIMARY KEY (peer, doc_id)
);

-- One row per peer: the position in its change feed and when the last exchange completed.
CREATE TABLE local_sync (
    peer         TEXT PRIMARY KEY,
    cursor       INTEGER NOT NULL,
    last_synced  TEXT
);
