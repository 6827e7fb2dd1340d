-- The central record on PostgreSQL: the same tables as on SQLite (see ../sqlite), with the
-- types PostgreSQL has for them.
CREATE TABLE homes (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    created  TIMESTAMPTZ NOT NULL
);

CREATE TABLE enrolment_codes (
    code_hash  TEXT PRIMARY KEY,
    home       TEXT NOT NULL REFERENCES homes (id),
    expires    TIMESTAMPTZ NOT NULL,
    used_by    TEXT
);

CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    home        TEXT NOT NULL REFERENCES homes (id),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    enrolled    TIMESTAMPTZ NOT NULL,
    revoked     TIMESTAMPTZ
);

CREATE TABLE chunks (
    seq     BIGSERIAL PRIMARY KEY,
    home    TEXT NOT NULL REFERENCES homes (id),
    doc_id  TEXT NOT NULL,
    bytes   BYTEA NOT NULL
);
CREATE INDEX chunks_by_doc ON chunks (home, doc_id, seq);

CREATE TABLE documents (
    home    TEXT NOT NULL REFERENCES homes (id),
    doc_id  TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    chunks  INTEGER NOT NULL,
    PRIMARY KEY (home, doc_id)
);
CREATE INDEX documents_feed ON documents (home, seq);

CREATE TABLE sync_states (
    device  TEXT NOT NULL REFERENCES devices (id),
    doc_id  TEXT NOT NULL,
    state   BYTEA NOT NULL,
    PRIMARY KEY (device, doc_id)
);
