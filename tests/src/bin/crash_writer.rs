//! A child process for the crash-safety test: records doses as fast as it can, printing
//! `ACK <id>` only after each write has returned (the moment the screen would confirm it).
//! The test kills it with SIGKILL at random moments and checks what survived.

use chrono::{DateTime, Duration, Utc};
use medround_domain::ids::*;
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::{Administration, Subject};
use medround_domain::stock::{StockMovement, StockReason};
use medround_store::{Item, Key, Store};
use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let db = args.next().expect("db path");
    let key = args.next().expect("key path");
    let prefix = args.next().expect("id prefix");
    let key = Key::load_or_create(std::path::Path::new(&key)).expect("key");
    let mut store = Store::open(std::path::Path::new(&db), &key).expect("open");
    let resident = ResidentId::new("res-01");
    let start: DateTime<Utc> = "2026-11-23T08:00:00Z".parse().expect("time");
    let out = std::io::stdout();
    for i in 0u64.. {
        let at = start + Duration::seconds(i as i64);
        let id = format!("{prefix}-{i}");
        let admin = Administration {
            id: RecordId::new(&id),
            resident: resident.clone(),
            subject: Subject::Prn {
                order: OrderId::new("ord-crash"),
            },
            outcome: OutcomeCode::Given,
            quantity: Some(Qty::whole(1)),
            note: Some("crash test".into()),
            occurred_at: at,
            recorded_at: at,
            late_reason: None,
            retrospective_reason: None,
            author: StaffId::new("st-amy"),
            device: store.device().clone(),
            witness: None,
            product: None,
            scans: vec![],
            covert: false,
            site: None,
            prn_reason: Some("test".into()),
            allergy_override: None,
            acknowledged: vec![],
            voids: None,
            from_stock: None,
        };
        // Two records in one write: after a crash both exist or neither does.
        let stock = StockMovement {
            id: RecordId::new(format!("{id}-stock")),
            order: OrderId::new("ord-crash"),
            delta: Qty::whole(-1),
            reason: StockReason::Administered,
            at,
            by: StaffId::new("st-amy"),
            device: store.device().clone(),
        };
        store
            .append(
                &resident,
                at,
                &[Item::Administration(admin), Item::StockMovement(stock)],
            )
            .expect("append");
        let mut o = out.lock();
        writeln!(o, "ACK {id}").expect("stdout");
        o.flush().expect("flush");
    }
}
