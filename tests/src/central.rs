//! A real central record on loopback for the system tests: `medround-server` on 127.0.0.1:0 over
//! an SQLite file in a temporary directory, and a proxy in front of it that can drop, delay or
//! truncate what passes.

use medround_server::storage::Storage;
use medround_server::{Central, Limits};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The admin token of test servers.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// Where a test server keeps its records: an SQLite file or a PostgreSQL database.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    pub fn open(&self) -> Box<dyn Storage> {
        medround_server::open_storage(&self.name()).expect("open central storage")
    }

    /// What `medround-server --database` takes for it.
    pub fn name(&self) -> String {
        match self {
            Backend::Sqlite(p) => p.to_string_lossy().into_owned(),
            Backend::Postgres(url) => url.clone(),
        }
    }
}

/// A backend and what it lives in (a temporary directory, a PostgreSQL server), for one test.
#[derive(Debug)]
pub struct TestBackend {
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<crate::postgres::TestPostgres>,
}

impl TestBackend {
    pub fn sqlite() -> TestBackend {
        let dir = tempfile::tempdir().expect("temp dir");
        TestBackend {
            backend: Backend::Sqlite(dir.path().join("central.db")),
            _dir: Some(dir),
            _pg: None,
        }
    }

    pub fn postgres() -> TestBackend {
        let pg = crate::postgres::TestPostgres::start();
        TestBackend {
            backend: Backend::Postgres(pg.url.clone()),
            _dir: None,
            _pg: Some(pg),
        }
    }
}

/// The central record, serving on loopback until dropped.
#[derive(Debug)]
pub struct CentralServer {
    pub addr: SocketAddr,
    pub central: Arc<Central>,
    pub backend: Backend,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The central record's clock in tests: fixed, and after every time the tests' tablets reach
/// (their fake clocks start on 23 November 2026 and move on by weeks at most), so that a record
/// dated "in the future" is one a test made so on purpose.
pub fn central_time() -> chrono::DateTime<chrono::Utc> {
    "2027-06-30T12:00:00Z".parse().expect("valid time")
}

impl CentralServer {
    /// Starts a server on `backend`, on `addr` (port 0 for any free one).
    pub fn start_at(backend: &Backend, addr: SocketAddr) -> CentralServer {
        CentralServer::start_with(backend, addr, None, Limits::default())
    }

    /// Starts a server on `backend` with other limits than the central record's own (small
    /// ones, to reach them in a test).
    pub fn start_limited(backend: &Backend, limits: Limits) -> CentralServer {
        CentralServer::start_with(backend, "127.0.0.1:0".parse().expect("addr"), None, limits)
    }

    /// Starts a server that speaks HTTPS with `tls`.
    pub fn start_tls(
        backend: &Backend,
        tls: Arc<medround_server::tls::ServerConfig>,
    ) -> CentralServer {
        CentralServer::start_with(
            backend,
            "127.0.0.1:0".parse().expect("addr"),
            Some(tls),
            Limits::default(),
        )
    }

    fn start_with(
        backend: &Backend,
        addr: SocketAddr,
        tls: Option<Arc<medround_server::tls::ServerConfig>>,
        limits: Limits,
    ) -> CentralServer {
        let storage = backend.open();
        let name = backend.name();
        let central = Arc::new(
            Central::new(storage, Some(ADMIN_TOKEN), Box::new(central_time))
                .with_connections(Box::new(move || medround_server::open_storage(&name)), 8)
                .with_limits(limits),
        );
        let listener = std::net::TcpListener::bind(addr).expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let c = central.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let stop = async {
                    let _ = stopped.await;
                };
                match tls {
                    Some(tls) => medround_server::http::serve_tls(listener, tls, c, stop).await,
                    None => medround_server::http::serve(listener, c, stop).await,
                }
                .expect("serve");
            });
        });
        CentralServer {
            addr,
            central,
            backend: backend.clone(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A server on an SQLite file in `dir`.
    pub fn start(dir: &Path) -> CentralServer {
        CentralServer::start_on(&Backend::Sqlite(dir.join("central.db")))
    }

    pub fn start_on(backend: &Backend) -> CentralServer {
        CentralServer::start_at(backend, "127.0.0.1:0".parse().expect("addr"))
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and starts it again on the same file and port.
    pub fn restart(mut self) -> CentralServer {
        let (backend, addr) = (self.backend.clone(), self.addr);
        self.stop_now();
        CentralServer::start_at(&backend, addr)
    }

    fn stop_now(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// A home and a fresh enrolment code for it.
    pub fn home_with_code(&self, id: &str, name: &str) -> String {
        if !self
            .central
            .homes()
            .expect("homes")
            .iter()
            .any(|h| h.id == id)
        {
            self.central.add_home(id, name).expect("add home");
        }
        self.central.issue_code(id).expect("issue code").0
    }
}

impl Drop for CentralServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// What the proxy does to the server's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Close the connection as soon as a request arrives, answering nothing.
    Drop,
    /// Wait this long before passing each answer on.
    Delay(Duration),
    /// Pass on only the first bytes of each answer, then close.
    Truncate(usize),
    /// Let this many answers through, then drop every connection (a cut in the middle of a sync).
    CutAfter(usize),
}

/// A TCP proxy on loopback in front of a server.
#[derive(Debug)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    answered: Arc<Mutex<usize>>,
    closed: Arc<AtomicBool>,
}

impl FaultProxy {
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let answered = Arc::new(Mutex::new(0usize));
        let closed = Arc::new(AtomicBool::new(false));
        let (f, a, c) = (fault.clone(), answered.clone(), closed.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if c.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (f, a) = (f.clone(), a.clone());
                std::thread::spawn(move || relay(client, upstream, &f, &a));
            }
        });
        FaultProxy {
            addr,
            fault,
            answered,
            closed,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, fault: Fault) {
        *self.answered.lock().expect("proxy") = 0;
        *self.fault.lock().expect("proxy") = fault;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one HTTP message (headers and a Content-Length body) from `from`. Returns `None` when
/// the connection closes first.
fn read_message(from: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let total = end + 4 + len;
            while buf.len() < total {
                let n = from.read(&mut byte).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&byte[..n]);
            }
            return Some(buf);
        }
        let n = from.read(&mut byte).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    }
}

/// Relays requests and answers one at a time, so that each answer can be faulted.
fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: &Mutex<Fault>,
    answered: &Mutex<usize>,
) {
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    while let Some(request) = read_message(&mut client) {
        let f = *fault.lock().expect("proxy");
        let n = *answered.lock().expect("proxy");
        if f == Fault::Drop || matches!(f, Fault::CutAfter(k) if n >= k) {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        if server.write_all(&request).is_err() {
            return;
        }
        let Some(answer) = read_message(&mut server) else {
            return;
        };
        *answered.lock().expect("proxy") += 1;
        match f {
            Fault::Delay(d) => std::thread::sleep(d),
            Fault::Truncate(k) => {
                let _ = client.write_all(&answer[..k.min(answer.len())]);
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            _ => {}
        }
        if client.write_all(&answer).is_err() {
            return;
        }
    }
}
