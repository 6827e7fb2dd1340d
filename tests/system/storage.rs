//! The central record's storage trait, one suite run against SQLite and against a real
//! PostgreSQL: homes, enrolment codes (once, before they expire), devices and revocation,
//! document chunks, compaction, sync states and the change feed, each home kept apart.

use chrono::{DateTime, Duration, Utc};
use medround_server::storage::{Changes, Checkin, Home, Storage, StorageError};
use medround_tests::central::TestBackend;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Stores one document's changes and sync state, as a request naming only it would.
fn one(
    s: &mut dyn Storage,
    home: &str,
    device: &str,
    doc_id: &str,
    changes: Option<Changes<'_>>,
    state: &[u8],
) -> Result<Option<u64>, StorageError> {
    let stored = s.checkin(
        home,
        device,
        &[Checkin {
            doc_id,
            changes,
            state,
        }],
        &[],
        at("2026-11-23T08:00:00Z"),
    )?;
    Ok(stored[0])
}

fn suite(s: &mut dyn Storage) {
    let now = at("2026-11-23T09:00:00Z");
    let larch = Home {
        id: "larch".into(),
        name: "Larch House".into(),
    };
    let birch = Home {
        id: "birch".into(),
        name: "Birch Court".into(),
    };
    s.add_home(&larch, now).unwrap();
    s.add_home(&birch, now).unwrap();
    assert!(matches!(
        s.add_home(&larch, now),
        Err(StorageError::HomeExists(_))
    ));
    assert_eq!(s.homes().unwrap(), vec![birch.clone(), larch.clone()]);

    // Codes: for a known home only; spent once; not after they expire.
    assert!(matches!(
        s.add_code("nowhere", "h0", now + Duration::hours(24)),
        Err(StorageError::NoHome(_))
    ));
    s.add_code("larch", "h1", now + Duration::hours(24))
        .unwrap();
    s.add_code("larch", "h2", now + Duration::hours(1)).unwrap();
    s.add_code("birch", "h3", now + Duration::hours(24))
        .unwrap();
    let d1 = s
        .enrol("h1", "dev-1", "Oak", "tok-1", Some("aa01"), now)
        .unwrap()
        .unwrap();
    assert_eq!(d1.home, "larch");
    assert!(s
        .enrol("h1", "dev-x", "Again", "tok-x", None, now)
        .unwrap()
        .is_none());
    assert!(s
        .enrol(
            "h2",
            "dev-y",
            "Late",
            "tok-y",
            None,
            now + Duration::hours(2)
        )
        .unwrap()
        .is_none());
    assert!(s
        .enrol("nope", "dev-z", "?", "tok-z", None, now)
        .unwrap()
        .is_none());
    let d3 = s
        .enrol("h3", "dev-3", "Birch tab", "tok-3", None, now)
        .unwrap()
        .unwrap();
    assert_eq!(d3.home, "birch");
    assert_eq!(s.device_by_token("tok-1").unwrap().unwrap().id, "dev-1");
    assert!(s.device_by_token("tok-y").unwrap().is_none());
    assert_eq!(s.devices().unwrap().len(), 2);

    // An actor is bound to one device: at enrolment, or claimed with the first changes a
    // device sends; another device cannot enrol with it.
    assert_eq!(s.actor_owner("aa01").unwrap().as_deref(), Some("dev-1"));
    assert!(s.actor_owner("bb02").unwrap().is_none());
    one(s, "birch", "dev-3", "resident:r9", None, b"s").unwrap();
    assert!(s
        .checkin("birch", "dev-3", &[], &["bb02".to_string()], now)
        .is_ok());
    assert_eq!(s.actor_owner("bb02").unwrap().as_deref(), Some("dev-3"));
    // A feed position below the furthest reported, at the start of an exchange, is a store
    // that went back: the device's sync states are forgotten.
    assert!(!s.note_cursor("dev-3", 10, true).unwrap());
    assert!(!s.note_cursor("dev-3", 12, false).unwrap());
    assert!(!s.note_cursor("dev-3", 11, false).unwrap(), "mid-exchange");
    assert!(s.sync_state("dev-3", "resident:r9").unwrap().is_some());
    assert!(s.note_cursor("dev-3", 4, true).unwrap());
    assert!(s.sync_state("dev-3", "resident:r9").unwrap().is_none());
    assert!(!s.note_cursor("dev-3", 4, true).unwrap(), "once");

    // Revocation is immediate and stays.
    assert!(s.revoke("dev-3", now + Duration::hours(1)).unwrap());
    assert!(s.revoke("dev-3", now + Duration::hours(5)).unwrap());
    let revoked = s.device_by_token("tok-3").unwrap().unwrap().revoked;
    assert_eq!(revoked, Some(now + Duration::hours(1)));
    assert!(!s.revoke("dev-none", now).unwrap());

    // Documents: chunks append and join; a whole save replaces them; homes stay apart.
    assert!(s.document("larch", "home").unwrap().is_none());
    one(
        s,
        "larch",
        "dev-1",
        "home",
        Some(Changes::Incremental(b"ab")),
        b"st1",
    )
    .unwrap();
    one(
        s,
        "larch",
        "dev-1",
        "home",
        Some(Changes::Incremental(b"cd")),
        b"st2",
    )
    .unwrap();
    assert_eq!(
        s.document("larch", "home").unwrap(),
        Some((b"abcd".to_vec(), 2))
    );
    assert!(s.document("birch", "home").unwrap().is_none());
    one(
        s,
        "larch",
        "dev-1",
        "home",
        Some(Changes::Whole(b"ABCD")),
        b"st3",
    )
    .unwrap();
    assert_eq!(
        s.document("larch", "home").unwrap(),
        Some((b"ABCD".to_vec(), 1))
    );
    assert_eq!(
        s.sync_state("dev-1", "home").unwrap(),
        Some(b"st3".to_vec())
    );
    assert!(s.sync_state("dev-3", "home").unwrap().is_none());
    // A sync state alone changes no document and moves nothing in the feed.
    let (_, before, _) = s.changed_since("larch", 0, 100).unwrap();
    one(s, "larch", "dev-1", "home", None, b"st4").unwrap();
    assert_eq!(s.changed_since("larch", 0, 100).unwrap().1, before);

    // The feed: in the order documents last changed, paged, and per home.
    for d in ["resident:r1", "resident:r2", "cycle:r1:700"] {
        one(
            s,
            "larch",
            "dev-1",
            d,
            Some(Changes::Incremental(b"x")),
            b"s",
        )
        .unwrap();
    }
    one(
        s,
        "larch",
        "dev-1",
        "resident:r1",
        Some(Changes::Incremental(b"y")),
        b"s",
    )
    .unwrap();
    let (all, end, more) = s.changed_since("larch", 0, 100).unwrap();
    assert_eq!(all, ["home", "resident:r2", "cycle:r1:700", "resident:r1"]);
    assert!(!more);
    let (p1, c1, more) = s.changed_since("larch", 0, 2).unwrap();
    assert_eq!(p1, ["home", "resident:r2"]);
    assert!(more);
    let (p2, c2, more) = s.changed_since("larch", c1, 2).unwrap();
    assert_eq!(p2, ["cycle:r1:700", "resident:r1"]);
    assert!(!more);
    assert_eq!(c2, end);
    assert_eq!(
        s.changed_since("larch", end, 2).unwrap(),
        (vec![], end, false)
    );
    assert_eq!(
        s.changed_since("birch", 0, 100).unwrap().0,
        Vec::<String>::new()
    );
}

#[test]
fn storage_suite_on_sqlite() {
    let b = TestBackend::sqlite();
    suite(&mut *b.backend.open());
}

#[test]
fn storage_suite_on_postgres() {
    let b = TestBackend::postgres();
    suite(&mut *b.backend.open());
    // Opening again finds the schema in place and changes nothing.
    let mut again = b.backend.open();
    assert_eq!(again.homes().unwrap().len(), 2);
}

#[test]
fn storage_newer_schema_is_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("central.db");
    drop(medround_server::sqlite::SqliteStorage::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let e = medround_server::sqlite::SqliteStorage::open(&path).unwrap_err();
    assert!(
        matches!(e, StorageError::TooNew { database: 99, .. }),
        "{e}"
    );
}
