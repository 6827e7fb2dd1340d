//! The printed MAR chart of the demo home, read back with poppler's pdftotext and rendered
//! with pdftoppm (the page image is kept under docs/screenshots/).

use medround_demo::who;
use medround_domain::order::OrderStatus;
use medround_domain::ResidentId;
use medround_ipc::ErrorCode;
use medround_tests::{monday_morning, pin, Tablet};
use std::path::Path;
use std::process::Command;

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, installed by scripts/setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_mar_of_a_demo_resident_reads_back_with_names_medicines_and_the_code_key() {
    let mut t = Tablet::demo(monday_morning());
    t.bedside.close_windows().unwrap();
    t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let chart = t
        .bedside
        .export_mar(Some(who::TWO_PARACETAMOLS), None, None)
        .unwrap();
    assert!(chart.pages >= 1);
    assert!(chart.file_name.starts_with("mar-") && chart.file_name.ends_with(".pdf"));
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join(&chart.file_name);
    std::fs::write(&pdf, &chart.bytes).unwrap();
    let text = pdftotext(&pdf);
    let store = t.bedside.store();
    let r = store
        .resident(&ResidentId::new(who::TWO_PARACETAMOLS))
        .unwrap();
    assert!(text.contains(&r.full_name()), "{text}");
    assert!(text.contains("ALLERGIES"));
    assert!(text.contains("Medication administration record"));
    for o in store.orders_for(&r.id).unwrap() {
        if o.status != OrderStatus::Pending {
            // Long names are cut to their column; the first words are always there.
            let head: String = o.medicine.label().chars().take(18).collect();
            assert!(text.contains(head.trim()), "{head} missing:\n{text}");
        }
    }
    for code in [
        "REFUSED",
        "NOT_REQUIRED",
        "WITHHELD",
        "MISSED",
        "ENTERED_IN_ERROR",
        "HOSPITAL",
    ] {
        assert!(text.contains(code), "code key lacks {code}");
    }
    assert!(text.contains("When-required (PRN) doses"));
    assert!(text.contains("Controlled drugs register"));
    // A page rendered to PNG, as an inspector would see it printed.
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(shots.join("10-mar-chart"))
        .status()
        .expect("pdftoppm");
    assert!(status.success());
    let png = std::fs::metadata(shots.join("10-mar-chart.png")).unwrap();
    assert!(png.len() > 10_000, "a rendered page, not an empty one");
}

#[test]
fn a_whole_unit_prints_at_once_and_the_cd_register_is_on_the_chart() {
    let mut t = Tablet::demo(monday_morning());
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let morphine = t
        .bedside
        .store()
        .resident(&ResidentId::new(who::MORPHINE))
        .unwrap();
    let unit = morphine.unit.to_string();
    let chart = t.bedside.export_mar(None, Some(&unit), None).unwrap();
    let residents: Vec<_> = t
        .bedside
        .store()
        .residents()
        .unwrap()
        .into_iter()
        .filter(|r| r.unit.as_str() == unit)
        .collect();
    assert_eq!(chart.residents, residents.len());
    assert!(chart.pages as usize >= residents.len());
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("unit.pdf");
    std::fs::write(&pdf, &chart.bytes).unwrap();
    let text = pdftotext(&pdf);
    for r in &residents {
        assert!(text.contains(&r.full_name()), "{} missing", r.full_name());
    }
    // The demo's register holds the morphine receipt, with both names.
    assert!(text.contains("received"), "{text}");
}

#[test]
fn printing_needs_a_senior_and_a_resident_or_unit() {
    let mut t = Tablet::demo(monday_morning());
    t.bedside.sign_in("st-amy", pin("st-amy")).unwrap();
    assert_eq!(
        t.bedside
            .export_mar(Some(who::MORPHINE), None, None)
            .unwrap_err()
            .code,
        ErrorCode::NotAllowed
    );
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    assert_eq!(
        t.bedside.export_mar(None, None, None).unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        t.bedside
            .export_mar(Some("res-nobody"), None, None)
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert_eq!(
        t.bedside
            .export_mar(Some(who::MORPHINE), None, Some("31/02/2026"))
            .unwrap_err()
            .code,
        ErrorCode::BadInput
    );
}

/// A valid NHS number from nine digits (the tenth is the modulus 11 check digit), or none
/// where nine digits have no valid check digit.
fn nhs_number(nine: u64) -> Option<String> {
    let digits: Vec<u64> = format!("{nine:09}")
        .bytes()
        .map(|b| u64::from(b - b'0'))
        .collect();
    let sum: u64 = digits.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return None,
        c => c,
    };
    let all = format!("{nine:09}{check}");
    Some(format!("{} {} {}", &all[..3], &all[3..6], &all[6..]))
}

/// S1 on paper: a resident's name prints on the MAR as it is written, in Polish, Vietnamese,
/// Greek, Russian and Arabic, and reads back exactly.
#[test]
fn every_name_prints_on_the_mar_as_it_is_written() {
    let mut t = Tablet::demo(monday_morning());
    t.bedside.sign_in("st-ben", pin("st-ben")).unwrap();
    let names = [
        ("Łucja", "Wiśniewska"),
        ("Nguyễn Thị", "Lan"),
        ("Σοφία", "Παπαδοπούλου"),
        ("Ольга", "Петрова"),
        ("فاطمة", "الزهراء"),
    ];
    let mut numbers = (943_476_100u64..).filter_map(nhs_number);
    let mut ids = Vec::new();
    for (given, family) in names {
        let details = medround_domain::admission::ResidentDetails {
            given_name: given.into(),
            family_name: family.into(),
            preferred_name: None,
            nhs_number: numbers.next().unwrap(),
            ..medround_tests::edith_clarke()
        };
        let saved = t.bedside.save_resident(None, &details).unwrap();
        ids.push((saved.resident, format!("{given} {family}")));
    }
    t.bedside.sign_in("st-claire", pin("st-claire")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (id, name) in ids {
        let chart = t.bedside.export_mar(Some(&id), None, None).unwrap();
        let pdf = dir.path().join(&chart.file_name);
        std::fs::write(&pdf, &chart.bytes).unwrap();
        let text = pdftotext(&pdf);
        let words: Vec<&str> = name.split(' ').collect();
        assert!(
            words.iter().all(|w| text.contains(w)),
            "{name} does not read back:\n{text}"
        );
        assert!(!text.contains('?'), "{text}");
    }
}
