-- The bedside asks for a resident's homely-remedy records (order_id IS NULL) of the last
-- fortnight on every dose (S17). Without this index that question reads every record of the
-- resident in the period; with it, only the remedies, so the cost of a dose stays flat as the
-- history grows.
CREATE INDEX p_records_resident_order ON p_records (resident, kind, order_id, at);
