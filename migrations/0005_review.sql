-- The manager's review and the printed MAR read every dose of a month for a whole home. Decoding
-- each record's JSON for that would cost more than the review is allowed (50 ms for 60 residents
-- over 28 days), so the few fields they need are projected as columns of their own.
--   slot_at    the scheduled slot of a scheduled dose
--   outcome    the outcome code of an administration
--   late       1 when given after its window with a reason (S3)
--   author     who recorded it
--   recorded_at  when it was written down (S10), which decides between two records of a slot
--   refers_to  the record a correction voids (S9), or the incident an acknowledgement answers
--   qty        what a stock movement or controlled-drug register entry changes the level by, in
--              thousandths, so that stock levels and register balances are sums (S7, S14)
ALTER TABLE p_records ADD COLUMN slot_at TEXT;
ALTER TABLE p_records ADD COLUMN outcome TEXT;
ALTER TABLE p_records ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
ALTER TABLE p_records ADD COLUMN author TEXT;
ALTER TABLE p_records ADD COLUMN recorded_at TEXT;
ALTER TABLE p_records ADD COLUMN refers_to TEXT;
ALTER TABLE p_records ADD COLUMN qty INTEGER NOT NULL DEFAULT 0;

UPDATE p_records SET
    slot_at = CASE json_extract(json, '$.record.subject.kind')
                  WHEN 'slot' THEN json_extract(json, '$.record.subject.at') END,
    outcome = json_extract(json, '$.record.outcome'),
    late = json_extract(json, '$.record.late_reason') IS NOT NULL,
    author = json_extract(json, '$.record.author'),
    recorded_at = json_extract(json, '$.record.recorded_at'),
    refers_to = json_extract(json, '$.record.voids')
WHERE kind = 'administration';

UPDATE p_records SET
    qty = CAST(round(json_extract(json, '$.record.delta') * 1000) AS INTEGER)
WHERE kind = 'stock_movement';

UPDATE p_records SET
    qty = COALESCE(CAST(round(json_extract(json, '$.record.movement.qty') * 1000) AS INTEGER), 0)
        * CASE json_extract(json, '$.record.movement.kind')
              WHEN 'received' THEN 1 WHEN 'count' THEN 0 ELSE -1 END
WHERE kind = 'cd_entry';

UPDATE p_records SET refers_to = json_extract(json, '$.record.incident')
WHERE kind = 'incident_ack';

-- Corrections are found by what they void, acknowledgements by their incident.
CREATE INDEX p_records_refers ON p_records (refers_to) WHERE refers_to IS NOT NULL;
