-- Medround tablet store, schema 1.
-- Replicated data lives in Automerge documents (doc_chunks); every other table named "p_*" is a
-- projection that can be dropped and rebuilt from the documents. Tables named "local_*" hold
-- data that never leaves this device.

CREATE TABLE doc_chunks (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id  TEXT NOT NULL,
    bytes   BLOB NOT NULL
);
CREATE INDEX doc_chunks_doc ON doc_chunks (doc_id, seq);

CREATE TABLE p_home (
    key   TEXT PRIMARY KEY,
    json  TEXT NOT NULL
);

CREATE TABLE p_staff (
    id    TEXT PRIMARY KEY,
    json  TEXT NOT NULL
);

CREATE TABLE p_remedies (
    id    TEXT PRIMARY KEY,
    json  TEXT NOT NULL
);

CREATE TABLE p_residents (
    id    TEXT PRIMARY KEY,
    unit  TEXT NOT NULL,
    json  TEXT NOT NULL
);

CREATE TABLE p_orders (
    id        TEXT PRIMARY KEY,
    resident  TEXT NOT NULL,
    json      TEXT NOT NULL
);
CREATE INDEX p_orders_resident ON p_orders (resident);

-- kind: administration | patch_removal | prn_follow_up | cd_entry | stock_movement
CREATE TABLE p_records (
    id        TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    resident  TEXT NOT NULL,
    order_id  TEXT,
    at        TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    json      TEXT NOT NULL
);
CREATE INDEX p_records_resident ON p_records (resident, kind, at);
CREATE INDEX p_records_order ON p_records (order_id, kind, at);

CREATE TABLE local_pins (
    staff_id  TEXT PRIMARY KEY,
    hash      TEXT NOT NULL,
    failures  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE local_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
