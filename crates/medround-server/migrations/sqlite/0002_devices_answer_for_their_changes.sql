-- The furthest change-feed position each device has reported. A device that later reports a
-- lower one has a store older than the central record believed (restored from a backup, or
-- replaced): the central record then forgets what it thought that device had.
ALTER TABLE devices ADD COLUMN cursor_seen INTEGER NOT NULL DEFAULT 0;

-- Each Automerge actor belongs to one enrolled device: the one it was bound to at enrolment,
-- or, for changes a tablet wrote before it was enrolled, the first device that sent them.
-- A change whose actor belongs to another device is refused, and every stored change can be
-- traced to the device that sent it.
CREATE TABLE actors (
    actor   TEXT PRIMARY KEY,
    device  TEXT NOT NULL REFERENCES devices (id),
    bound   TEXT NOT NULL
);
CREATE INDEX actors_by_device ON actors (device);
