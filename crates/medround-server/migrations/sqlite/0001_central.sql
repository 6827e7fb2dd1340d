-- The central record: homes, the devices enrolled in them, and every home's documents.
CREATE TABLE homes (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    created  TEXT NOT NULL
);

-- One-time enrolment codes, kept as SHA-256 hashes: the code itself is shown once, to the
-- manager who asked for it.
CREATE TABLE enrolment_codes (
    code_hash  TEXT PRIMARY KEY,
    home       TEXT NOT NULL REFERENCES homes (id),
    expires    TEXT NOT NULL,
    used_by    TEXT
);

-- Devices and their credentials (SHA-256 of the bearer token). Revoked devices stay listed.
CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    home        TEXT NOT NULL REFERENCES homes (id),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    enrolled    TEXT NOT NULL,
    revoked     TEXT
);

-- Each document's changes as Automerge chunks, in the order they arrived. A chunk's id is also
-- the home's change feed position: a document's feed position is its newest chunk.
CREATE TABLE chunks (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    home    TEXT NOT NULL REFERENCES homes (id),
    doc_id  TEXT NOT NULL,
    bytes   BLOB NOT NULL
);
CREATE INDEX chunks_by_doc ON chunks (home, doc_id, seq);

CREATE TABLE documents (
    home    TEXT NOT NULL REFERENCES homes (id),
    doc_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    chunks  INTEGER NOT NULL,
    PRIMARY KEY (home, doc_id)
);
CREATE INDEX documents_feed ON documents (home, seq);

-- Automerge sync state per (device, document): the heads both sides share.
CREATE TABLE sync_states (
    device  TEXT NOT NULL REFERENCES devices (id),
    doc_id  TEXT NOT NULL,
    state   BLOB NOT NULL,
    PRIMARY KEY (device, doc_id)
);
