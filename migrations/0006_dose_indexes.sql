-- Indexes for the dose path. On a tablet, a dose's cost is mostly the pages its commit
-- encrypts and writes and the pages its questions read; both should stay the same on day 365
-- as on day 1.
--
-- The (resident, kind, order_id, at) index of 0002 serves one question only: a resident's
-- homely-remedy records of the last fortnight (S17), the records with no order. A partial index
-- holding only those answers it as well, and the doses of prescribed orders no longer write to
-- it.
DROP INDEX p_records_resident_order;
CREATE INDEX p_records_homely ON p_records (resident, at)
    WHERE kind = 'administration' AND order_id IS NULL;

-- Every dose reads its order's last slots as facts (S8, S11). From (order_id, kind, at) alone
-- each of those rows was a lookup in the table, where a year-old home keeps them on pages
-- written days apart and long out of the cache; with the facts' columns in the index they sit
-- together on one or two pages.
DROP INDEX p_records_order;
CREATE INDEX p_records_order ON p_records
    (order_id, kind, at, id, resident, slot_at, outcome, recorded_at, late, author, refers_to);
