-- Fewer pages for each dose's commit. Every page a commit changes is encrypted and written to
-- the WAL, and a dose's commit wrote 17 where a bare insert writes 2 (`cargo bench --bench
-- bedside` prints the count).
--
-- The (kind, at) index took almost three of them: two records a dose, each in the middle of
-- the index, where a full leaf is rebalanced with its neighbours. Its questions (a period's
-- administrations across the home, the incidents, the stock levels) are asked through the
-- resident and order indexes instead, one range per resident or order.
DROP INDEX p_records_kind;

-- AUTOINCREMENT wrote sqlite_sequence on every commit. Without it a new chunk takes the largest
-- seq plus one; the store never deletes the chunk holding the largest seq (compaction keeps
-- each document's last chunk and writes the whole document into it), so seq still only grows,
-- as local_dirty and sync need. The chunks keep their seq values.
CREATE TABLE doc_chunks_0007 (
    seq     INTEGER PRIMARY KEY,
    doc_id  TEXT NOT NULL,
    bytes   BLOB NOT NULL
);
INSERT INTO doc_chunks_0007 (seq, doc_id, bytes) SELECT seq, doc_id, bytes FROM doc_chunks;
DROP TABLE doc_chunks;
ALTER TABLE doc_chunks_0007 RENAME TO doc_chunks;
CREATE INDEX doc_chunks_doc ON doc_chunks (doc_id, seq);
