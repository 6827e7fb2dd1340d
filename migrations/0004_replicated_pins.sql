-- PIN verifiers (Argon2id hashes) now travel with the home document, so that staff can sign in
-- on any tablet of their home, including one enrolled after their PIN was set. This is their
-- projection. local_pins keeps, per device, the failure count and the hash it counts against:
-- a PIN reset on another tablet (a new hash) starts the count again.
CREATE TABLE p_pins (
    staff_id  TEXT PRIMARY KEY,
    json      TEXT NOT NULL
);
