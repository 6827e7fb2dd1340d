//! Golden documents: what each version of the documents' shape (`DOC_SCHEMA`) was written as,
//! kept as bytes under `tests/fixtures/documents/v<N>/`, must sync into a new tablet, pass its
//! checks and project exactly as it did when it was written, for ever. A document written by an
//! older build is the case that matters: a tablet restored from a backup, or one that was off
//! while the others were updated.
//!
//! Each version's folder holds the documents (`manifest.json` names each file's document id)
//! and `projection.txt`, every row of every projection table as it was, one per line.
//! When `DOC_SCHEMA` changes, run this test once with `MEDROUND_WRITE_FIXTURES=1` to write the
//! new version's folder, and commit it; the test fails until then.

use chrono::{DateTime, Utc};
use medround_record::DOC_SCHEMA;
use medround_sync::memory::MemoryReplica;
use medround_tests::Tablet;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/documents")
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    /// The version of the documents' shape the build that wrote them used.
    schema: u32,
    /// When they were written: the tablet that loads them runs on this clock.
    written_at: DateTime<Utc>,
    /// Document id to the file holding its saved bytes.
    documents: BTreeMap<String, String>,
}

/// A new tablet holding the documents of `dir`, synced in as they would arrive from the
/// central record, with their checks.
fn load(dir: &Path) -> (Manifest, Tablet) {
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json"),
    )
    .expect("a manifest");
    let mut central = MemoryReplica::new("fixture");
    // As the central record's feed does: the home (its staff) first, then the residents, then
    // the records that name them.
    let mut docs: Vec<(&String, &String)> = manifest.documents.iter().collect();
    docs.sort_by_key(|(doc, _)| (!doc.starts_with("home"), !doc.starts_with("resident:")));
    for (doc, file) in docs {
        let bytes = std::fs::read(dir.join(file)).expect("a document's bytes");
        central.insert_saved(doc, &bytes);
    }
    let mut t = Tablet::empty(manifest.written_at);
    central.peer = "tablet".into();
    t.bedside
        .sync_with(&mut central)
        .unwrap_or_else(|e| panic!("{}: the documents sync in: {e:?}", dir.display()));
    (manifest, t)
}

fn projection(t: &Tablet) -> String {
    let mut rows = t
        .bedside
        .store()
        .projection_rows()
        .expect("projection rows");
    rows.sort();
    rows.join("\n") + "\n"
}

/// Writes the current version's documents: Larch House with a day of history and a morning
/// round recorded on top, so that every kind of record the app writes is there.
fn write_current(dir: &Path) {
    let now: DateTime<Utc> = "2027-03-02T06:00:00Z".parse().unwrap();
    let mut t = Tablet::empty(now);
    let spec = medround_demo::HomeSpec {
        history_days: 2,
        ..medround_demo::HomeSpec::larch_house(now)
    };
    medround_demo::build(t.bedside.store_mut(), &spec).expect("build the home");
    t.bedside.set_idle_lock_minutes(10_000_000).unwrap();
    t.bedside
        .sign_in("st-ben", medround_tests::pin("st-ben"))
        .unwrap();
    medround_tests::record_round(&mut t.bedside, &t.clock, now, 40);
    t.bedside.close_windows().unwrap();
    let written_at = t.bedside.now();
    std::fs::create_dir_all(dir).unwrap();
    let mut documents = BTreeMap::new();
    let store = t.bedside.store_mut();
    for doc in store.document_ids().unwrap() {
        let file = format!("{}.automerge", doc.replace([':', '/'], "_"));
        std::fs::write(dir.join(&file), store.document_bytes(&doc).unwrap()).unwrap();
        documents.insert(doc, file);
    }
    let manifest = Manifest {
        schema: DOC_SCHEMA,
        written_at,
        documents,
    };
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).unwrap() + "\n",
    )
    .unwrap();
    let (_, loaded) = load(dir);
    std::fs::write(dir.join("projection.txt"), projection(&loaded)).unwrap();
}

#[test]
fn fixtures_documents_of_every_schema_version_load_and_project_as_they_did() {
    let current = root().join(format!("v{DOC_SCHEMA}"));
    if std::env::var_os("MEDROUND_WRITE_FIXTURES").is_some() && !current.exists() {
        write_current(&current);
    }
    assert!(
        current.exists(),
        "no golden documents for version {DOC_SCHEMA}: run this test once with \
         MEDROUND_WRITE_FIXTURES=1 and commit {}",
        current.display()
    );
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let (manifest, mut t) = load(&dir);
        assert!(manifest.schema <= DOC_SCHEMA, "{}", dir.display());
        let expected = std::fs::read_to_string(dir.join("projection.txt")).unwrap();
        let got = projection(&t);
        if got != expected {
            let seen = std::env::temp_dir().join(format!(
                "medround-projection-{}.txt",
                dir.file_name().unwrap().to_string_lossy()
            ));
            std::fs::write(&seen, &got).unwrap();
            let first = got
                .lines()
                .zip(expected.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("now:  {a}\nthen: {b}"))
                .unwrap_or_else(|| "one has more rows".into());
            panic!(
                "{}: the documents no longer project as they did (what they project now is in \
                 {}); first difference:\n{first}",
                dir.display(),
                seen.display()
            );
        }
        // Built again from the documents alone, the projection is the same.
        t.bedside.store_mut().rebuild_projections().unwrap();
        assert_eq!(
            projection(&t),
            expected,
            "{}: after a rebuild",
            dir.display()
        );
    }
}
