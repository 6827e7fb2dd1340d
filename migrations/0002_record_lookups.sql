-- The bedside asks for a resident's homely-remedy records (order_id IS NULL) of the last
-- fortnight on every dose (S17). Without this index that question reads every record of the
-- resident in the period; with it, only the remedies, so the cost of a dose stays flat as the
-- history grows.
CREATE INDEX p_records_resident_order ON p_records (resident, kind, order_id, at);

-- The round screen asks for every resident's administrations of the last day and a half, and
-- counts incidents: both by kind and time, across residents. Without this index both read the
-- whole table, and the round would slow down month by month.
CREATE INDEX p_records_kind ON p_records (kind, at);
