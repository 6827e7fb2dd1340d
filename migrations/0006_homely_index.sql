-- Every dose writes its records into each index of p_records, and on this kind of tablet a
-- dose's cost is mostly the pages its commit encrypts and writes. The (resident, kind,
-- order_id, at) index of 0002 serves one question only: a resident's homely-remedy records
-- of the last fortnight (S17), the records with no order. A partial index holding only those
-- answers it as well, and the doses of prescribed orders no longer write to it.
DROP INDEX p_records_resident_order;
CREATE INDEX p_records_homely ON p_records (resident, at)
    WHERE kind = 'administration' AND order_id IS NULL;
