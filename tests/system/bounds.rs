//! The central record's bounds, through real sockets on loopback: a credential checked before
//! any body is read, request headers and bodies bounded in time, connections capped, a
//! device's day bounded (429 with `Retry-After`), and one home's sync steps held without
//! holding another home's.

use crate::central::{larch_house, sync};
use medround_server::Limits;
use medround_tests::central::{Backend, CentralServer, TestBackend};
use medround_tests::{monday_morning, Tablet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Small limits, to reach them in a test.
fn small() -> Limits {
    Limits {
        max_connections: 8,
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(2),
        ..Limits::default()
    }
}

fn connect(server: &CentralServer) -> TcpStream {
    let url = server.url();
    let addr = url.trim_start_matches("http://");
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    s
}

/// What the server answers on a raw connection: its status line and whole answer, or an
/// empty string when it closed the connection without one.
fn answer(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.ends_with(b"}") {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                panic!("no answer within the read timeout")
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A request that announces 60 MB without a credential the central record knows is answered
/// 401 at once: the body is never read (30 of them once took a server to 1.4 GB).
pub(crate) fn bounds_the_credential_is_checked_before_any_body_is_read(backend: &Backend) {
    let server = CentralServer::start_limited(backend, small());
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..6 {
        let mut s = connect(&server);
        write!(
            s,
            "POST /v1/sync HTTP/1.1\r\nHost: central\r\nAuthorization: Bearer not-a-credential\r\n\
             Content-Type: application/octet-stream\r\nContent-Length: 60000000\r\n\r\n"
        )
        .unwrap();
        s.write_all(&[0u8; 1024]).unwrap();
        clients.push(s);
    }
    for mut s in clients {
        let a = answer(&mut s);
        assert!(a.starts_with("HTTP/1.1 401"), "{a}");
        assert!(a.contains("enrol it again"), "{a}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// A client that sends its headers slowly, or nothing at all, is disconnected once the header
/// time is up; one with a credential that sends its body slowly is answered and dropped once
/// the body time is up. Meanwhile more idle connections than the server takes at once do not
/// stop a real tablet's sync.
pub(crate) fn bounds_slow_and_idle_clients_do_not_stop_the_home_syncing(backend: &Backend) {
    let server = CentralServer::start_limited(backend, small());
    let (mut a, _b) = larch_house(&server, &server.url());
    let cred = a.bedside.enrolment().unwrap().unwrap().credential;
    // Headers cut off part way.
    let mut slow = connect(&server);
    write!(slow, "POST /v1/sync HTTP/1.1\r\nHost: central\r\n").unwrap();
    let started = Instant::now();
    let a1 = answer(&mut slow);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(!a1.contains("200 OK"), "{a1}");
    // A body that never comes, from an enrolled device.
    let mut trickle = connect(&server);
    write!(
        trickle,
        "POST /v1/sync HTTP/1.1\r\nHost: central\r\nAuthorization: Bearer {cred}\r\n\
         Content-Length: 5000\r\n\r\nMRS"
    )
    .unwrap();
    let started = Instant::now();
    let a2 = answer(&mut trickle);
    assert!(a2.starts_with("HTTP/1.1 503"), "{a2}");
    assert!(a2.contains("too slowly"), "{a2}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Five times as many idle connections as the server serves at once.
    let idle: Vec<TcpStream> = (0..40).map(|_| connect(&server)).collect();
    a.clock.advance(chrono::Duration::minutes(1));
    let started = Instant::now();
    sync(&mut a);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
}

/// A device that sends more in a day than the central record takes from one is refused with
/// 429 and the seconds until the day ends, and nothing of that request is stored.
pub(crate) fn bounds_a_device_over_its_day_is_told_when_to_come_back(backend: &Backend) {
    let server = CentralServer::start_limited(
        backend,
        Limits {
            daily_bytes: 48 * 1024 * 1024,
            ..small()
        },
    );
    let (a, _b) = larch_house(&server, &server.url());
    let cred = a.bedside.enrolment().unwrap().unwrap().credential;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    // A request naming more documents than a tablet ever sends at once, or one twice.
    let link = medround_link::Link::new(&server.url()).unwrap();
    let many = |ids: Vec<String>| {
        medround_sync::wire::Envelope {
            kind: medround_sync::wire::Kind::Request,
            cursor: 0,
            flag: false,
            start: true,
            docs: ids
                .into_iter()
                .map(|d| (d, vec![0x42, 0, 0, 0, 0]))
                .collect(),
        }
        .encode()
    };
    let e = link
        .exchange(
            &cred,
            &many((0..201).map(|i| format!("resident:r{i}")).collect()),
        )
        .unwrap_err();
    assert!(e.message.contains("at most 200"), "{}", e.message);
    let e = link
        .exchange(&cred, &many(vec!["home".into(), "home".into()]))
        .unwrap_err();
    assert!(e.message.contains("twice"), "{}", e.message);
    let body = vec![7u8; 20 * 1024 * 1024];
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let mut resp = agent
            .post(format!("{}{}", server.url(), medround_sync::api::SYNC_PATH))
            .header("Authorization", format!("Bearer {cred}"))
            .send(&body[..])
            .unwrap();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let err: medround_sync::api::ApiError =
            serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
        statuses.push((resp.status().as_u16(), retry, err));
    }
    assert_eq!(statuses[0].0, 400, "not a sync message, but counted");
    assert_eq!(statuses[1].0, 400);
    let (status, retry, err) = &statuses[2];
    assert_eq!(*status, 429, "{}", err.message);
    assert_eq!(err.code, medround_sync::api::ApiCode::Limited);
    let secs: u64 = retry.as_deref().expect("Retry-After").parse().unwrap();
    // The test's central clock stands at 12:00 UTC: the day ends in 12 hours.
    assert_eq!(secs, 12 * 3600);
    assert_eq!(err.retry_after, Some(secs));
    assert!(err.message.contains("after midnight"), "{}", err.message);
    // What is left of the day still serves the tablet's own small syncs.
    let mut a = a;
    medround_link::sync(&mut a.bedside, &mut |_| {}).expect("a small sync fits");
}

/// While one home's sync steps are held (a long exchange, or the provider's maintenance),
/// another home's tablets sync as usual, and the held home's tablet carries on once it is
/// let go.
pub(crate) fn bounds_one_home_held_does_not_hold_another(backend: &Backend) {
    let server = CentralServer::start_limited(backend, small());
    let (mut a, _b) = larch_house(&server, &server.url());
    let mut birch = Tablet::empty(monday_morning());
    let code = server.home_with_code("birch", "Birch Court");
    medround_link::enrol(&mut birch.bedside, &server.url(), &code, "Birch tablet").unwrap();
    let larch = server.central.home("larch");
    let held = larch.lock().unwrap();
    let waiting = std::thread::spawn(move || {
        let started = Instant::now();
        medround_link::sync(&mut a.bedside, &mut |_| {}).expect("sync");
        started.elapsed()
    });
    let started = Instant::now();
    for _ in 0..3 {
        medround_link::sync(&mut birch.bedside, &mut |_| {}).expect("birch syncs");
    }
    let birch_took = started.elapsed();
    assert!(birch_took < Duration::from_secs(5), "{birch_took:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiting.is_finished(), "Larch House was held");
    drop(held);
    let larch_took = waiting.join().unwrap();
    assert!(larch_took > birch_took, "{larch_took:?} {birch_took:?}");
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[test]
            fn $name() {
                let b = super::TestBackend::sqlite();
                super::$name(&b.backend);
            })*
        }
        mod on_postgres {
            $(#[test]
            fn $name() {
                let b = super::TestBackend::postgres();
                super::$name(&b.backend);
            })*
        }
    };
}

on_both_backends!(
    bounds_the_credential_is_checked_before_any_body_is_read,
    bounds_slow_and_idle_clients_do_not_stop_the_home_syncing,
    bounds_a_device_over_its_day_is_told_when_to_come_back,
    bounds_one_home_held_does_not_hold_another,
);
