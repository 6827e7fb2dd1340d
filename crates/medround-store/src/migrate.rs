//! Forward-only migrations from `migrations/NNNN_name.sql`, tracked in `PRAGMA user_version`.
//! A database written by a newer app is refused rather than opened, so an old tablet can never
//! misread or damage records it does not understand.

use crate::StoreError;
use rusqlite::Connection;

pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_initial",
        include_str!("../../../migrations/0001_initial.sql"),
    ),
    (
        2,
        "0002_record_lookups",
        include_str!("../../../migrations/0002_record_lookups.sql"),
    ),
    (
        3,
        "0003_sync",
        include_str!("../../../migrations/0003_sync.sql"),
    ),
    (
        4,
        "0004_replicated_pins",
        include_str!("../../../migrations/0004_replicated_pins.sql"),
    ),
    (
        5,
        "0005_review",
        include_str!("../../../migrations/0005_review.sql"),
    ),
    (
        6,
        "0006_dose_indexes",
        include_str!("../../../migrations/0006_dose_indexes.sql"),
    ),
    (
        7,
        "0007_fewer_dose_pages",
        include_str!("../../../migrations/0007_fewer_dose_pages.sql"),
    ),
];

/// The schema version this build of the app writes.
pub fn latest() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

pub fn current(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let have = current(conn)?;
    if have > latest() {
        return Err(StoreError::TooNew {
            database: have,
            app: latest(),
        });
    }
    for (version, _name, sql) in MIGRATIONS.iter().filter(|m| m.0 > have) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}
