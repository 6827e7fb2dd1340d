-- See ../sqlite/0002_devices_answer_for_their_changes.sql.
ALTER TABLE devices ADD COLUMN cursor_seen BIGINT NOT NULL DEFAULT 0;

CREATE TABLE actors (
    actor   TEXT PRIMARY KEY,
    device  TEXT NOT NULL REFERENCES devices (id),
    bound   TIMESTAMPTZ NOT NULL
);
CREATE INDEX actors_by_device ON actors (device);
