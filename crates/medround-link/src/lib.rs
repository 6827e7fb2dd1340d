//! medround-link: the tablet's connection to the central record. It carries the bytes that
//! `medround-sync` makes over HTTP(S), enrols the tablet, and runs a whole sync while holding
//! the bedside only between round trips, so the screens never wait for the network.
//!
//! It holds no rules and writes no SQL: the protocol is in `medround-sync`, the documents in the
//! store, behind `medround-bedside`.

use medround_bedside::{Bedside, SyncRun, SyncSummary};
use medround_ipc::{ErrorCode, IpcError};
use medround_sync::api::{
    gunzip, gzip, ApiCode, ApiError, EnrolRequest, Enrolment, ENROL_PATH, GZIP, SYNC_PATH,
};
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

/// The largest reply a tablet accepts (a first download of a big home comes in pages).
const MAX_REPLY: u64 = 256 * 1024 * 1024;

/// One central record, at one address.
#[derive(Debug, Clone)]
pub struct Link {
    base: String,
    agent: ureq::Agent,
    /// The provider's own certificate authority, when the link trusts only that.
    ca: Option<String>,
}

fn offline(what: impl std::fmt::Display) -> IpcError {
    IpcError::new(
        ErrorCode::Offline,
        format!(
            "The central record cannot be reached ({what}). Records stay safe on this tablet \
             and go up at the next sync."
        ),
    )
}

fn from_api(e: ApiError) -> IpcError {
    let code = match e.code {
        ApiCode::BadCode => ErrorCode::BadEnrolmentCode,
        ApiCode::Revoked => ErrorCode::DeviceRevoked,
        ApiCode::Unauthorised => ErrorCode::NotEnrolled,
        ApiCode::Malformed | ApiCode::Refused => ErrorCode::SyncRefused,
        ApiCode::Forbidden | ApiCode::NotFound => ErrorCode::NotAllowed,
        ApiCode::Unavailable | ApiCode::Limited => ErrorCode::Offline,
    };
    IpcError::new(code, e.message)
}

/// Whether the host of `authority` (what follows `http://`: a host, a port, a path) is this
/// machine: `localhost`, 127.0.0.0/8 or `[::1]`.
fn loopback(authority: &str) -> bool {
    let hostport = authority.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in the address ("user@host") are refused by taking them as no host.
    if hostport.contains('@') {
        return false;
    }
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => hostport.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
#[test]
fn a_tablet_over_its_day_is_told_it_syncs_later_and_keeps_its_records() {
    let e = from_api(ApiError {
        code: ApiCode::Limited,
        message: "It will sync again after midnight (UTC).".into(),
        retry_after: Some(3600),
    });
    assert_eq!(e.code, ErrorCode::Offline);
    assert!(e.message.contains("after midnight"), "{}", e.message);
}

#[cfg(test)]
#[test]
fn plain_http_is_refused_off_this_machine() {
    for ok in [
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/v1",
        "http://localhost:9000",
        "http://[::1]:7000",
        "https://records.example.org",
    ] {
        assert!(Link::build(ok, None, None).is_ok(), "{ok}");
    }
    for bad in [
        "http://records.example.org",
        "http://192.168.1.20:8080",
        "http://127.0.0.1.example.org",
        "http://localhost.evil.example",
        "http://127.0.0.1@evil.example",
        "http://[::2]:80",
        "ftp://records.example.org",
    ] {
        let e = Link::build(bad, None, None)
            .err()
            .unwrap_or_else(|| panic!("{bad}"));
        assert_eq!(e.code, ErrorCode::BadInput, "{bad}");
    }
}

impl Link {
    /// `base` is the central record's address, `https://...` (or `http://` to this machine,
    /// for development and tests). The server's certificate is checked against the public
    /// roots.
    pub fn new(base: &str) -> Result<Link, IpcError> {
        Link::build(base, None, None)
    }

    /// A link for enrolment: against the public roots, or, when the shell's settings name
    /// one, against the provider's own certificate authority (a PEM file).
    pub fn for_provider(base: &str, ca_cert: Option<&std::path::Path>) -> Result<Link, IpcError> {
        let Some(path) = ca_cert else {
            return Link::new(base);
        };
        let pem = std::fs::read(path).map_err(|e| {
            IpcError::new(
                ErrorCode::BadInput,
                format!(
                    "The provider's certificate {} cannot be read: {e}",
                    path.display()
                ),
            )
        })?;
        Link::with_ca(base, &pem)
    }

    /// A link that trusts only the certificate authority in `ca_pem` (a provider's own CA).
    pub fn with_ca(base: &str, ca_pem: &[u8]) -> Result<Link, IpcError> {
        let bad = |e: String| {
            IpcError::new(
                ErrorCode::BadInput,
                format!("The provider's certificate is not a PEM certificate: {e}"),
            )
        };
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(ca_pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("it holds no certificate".into()));
        }
        let pem = String::from_utf8_lossy(ca_pem).into_owned();
        Link::build(
            base,
            Some(ureq::tls::RootCerts::new_with_certs(&certs)),
            Some(pem),
        )
    }

    fn build(
        base: &str,
        roots: Option<ureq::tls::RootCerts>,
        ca: Option<String>,
    ) -> Result<Link, IpcError> {
        let base = base.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) || base.len() < 10 {
            return Err(IpcError::new(
                ErrorCode::BadInput,
                "The server address starts with https:// (for example https://records.example.org).",
            ));
        }
        // Plain HTTP carries the credential and the residents' records in clear: only to this
        // machine (development and tests), as the central record itself serves it.
        if let Some(rest) = base.strip_prefix("http://") {
            if !loopback(rest) {
                return Err(IpcError::new(
                    ErrorCode::BadInput,
                    "The server address must start with https://: plain http:// is only for a \
                     central record on this machine.",
                ));
            }
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(roots) = roots {
            tls = tls.root_certs(roots);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Link { base, agent, ca })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The body of an answer, uncompressed, and how many bytes it took on the wire.
    fn read(mut resp: ureq::http::Response<ureq::Body>) -> Result<(Vec<u8>, u64), IpcError> {
        let status = resp.status();
        let gzipped = resp
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(GZIP.as_bytes()));
        let mut body = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_REPLY)
            .read_to_end(&mut body)
            .map_err(offline)?;
        let wire = body.len() as u64;
        if gzipped {
            body = gunzip(&body, MAX_REPLY).map_err(|e| {
                IpcError::new(
                    ErrorCode::SyncRefused,
                    format!("The central record's answer was refused ({e}); nothing was changed."),
                )
            })?;
        }
        if status.is_success() {
            return Ok((body, wire));
        }
        match serde_json::from_slice::<ApiError>(&body) {
            Ok(e) => Err(from_api(e)),
            Err(_) => Err(offline(format!("it answered {status}"))),
        }
    }

    /// Exchanges a one-time code for this tablet's own credential.
    pub fn enrol(
        &self,
        code: &str,
        device_name: &str,
        actor: Option<&str>,
    ) -> Result<Enrolment, IpcError> {
        let body = serde_json::to_vec(&EnrolRequest {
            code: code.into(),
            device_name: device_name.into(),
            actor: actor.map(str::to_string),
        })
        .map_err(offline)?;
        let resp = self
            .agent
            .post(format!("{}{ENROL_PATH}", self.base))
            .content_type("application/json")
            .send(&body[..])
            .map_err(offline)?;
        serde_json::from_slice(&Self::read(resp)?.0)
            .map_err(|e| offline(format!("its answer was not understood: {e}")))
    }

    /// One sync round trip.
    pub fn exchange(&self, credential: &str, request: &[u8]) -> Result<Vec<u8>, IpcError> {
        self.exchange_counted(credential, request).map(|w| w.reply)
    }

    /// One sync round trip, with the bytes it took on the wire (both ways gzipped).
    pub fn exchange_counted(&self, credential: &str, request: &[u8]) -> Result<Wire, IpcError> {
        let body = gzip(request);
        let resp = self
            .agent
            .post(format!("{}{SYNC_PATH}", self.base))
            .header("Authorization", format!("Bearer {credential}"))
            .header("Content-Encoding", GZIP)
            .header("Accept-Encoding", GZIP)
            .content_type("application/octet-stream")
            .send(&body[..])
            .map_err(offline)?;
        let (reply, received) = Self::read(resp)?;
        Ok(Wire {
            reply,
            sent: body.len() as u64,
            received,
        })
    }
}

/// A reply, and what the round trip took on the wire.
#[derive(Debug)]
pub struct Wire {
    pub reply: Vec<u8>,
    pub sent: u64,
    pub received: u64,
}

/// How a sync reaches the bedside: the shell shares it behind a mutex with the screens (and
/// holds it only for each step, never while bytes travel); tests and benchmarks own it.
pub trait BedsideAccess {
    fn with<T>(&mut self, f: impl FnOnce(&mut Bedside) -> T) -> T;
}

impl BedsideAccess for &Mutex<Bedside> {
    fn with<T>(&mut self, f: impl FnOnce(&mut Bedside) -> T) -> T {
        // The store is transactional: a panic elsewhere cannot have left half a record.
        let mut guard = self.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

impl BedsideAccess for &mut Bedside {
    fn with<T>(&mut self, f: impl FnOnce(&mut Bedside) -> T) -> T {
        f(self)
    }
}

/// Runs one whole sync of the tablet with the central record it is enrolled with. The bedside
/// is held for each step and released while the bytes travel. `progress` is told after every
/// round trip. Incidents the merge raises (S18) are sent at once in a second exchange.
pub fn sync(
    mut bedside: impl BedsideAccess,
    progress: &mut dyn FnMut(&medround_sync::Progress),
) -> Result<SyncSummary, IpcError> {
    let e = bedside.with(|b| b.enrolment())?.ok_or_else(|| {
        IpcError::new(
            ErrorCode::NotEnrolled,
            "This tablet is not enrolled with a central record yet: ask the manager for an \
             enrolment code and enter it in Settings.",
        )
    })?;
    let link = match &e.ca {
        Some(pem) => Link::with_ca(&e.server, pem.as_bytes())?,
        None => Link::new(&e.server)?,
    };
    let mut summary = exchange(&link, &e.credential, &mut bedside, progress)?;
    if !summary.incidents.is_empty() {
        summary.absorb(exchange(&link, &e.credential, &mut bedside, progress)?);
    }
    Ok(summary)
}

fn exchange(
    link: &Link,
    credential: &str,
    bedside: &mut impl BedsideAccess,
    progress: &mut dyn FnMut(&medround_sync::Progress),
) -> Result<SyncSummary, IpcError> {
    let mut run: SyncRun = bedside.with(|b| b.sync_start())?;
    let (mut sent, mut received) = (0, 0);
    loop {
        let request = bedside.with(|b| b.sync_request(&mut run))?;
        let Some(request) = request else { break };
        let wire = link.exchange_counted(credential, &request)?;
        sent += wire.sent;
        received += wire.received;
        bedside.with(|b| b.sync_reply(&mut run, &wire.reply))?;
        progress(run.progress());
    }
    let mut summary = bedside.with(|b| b.sync_finish(run))?;
    // What went over the network, compressed, rather than the envelopes' own size.
    summary.bytes_sent = sent;
    summary.bytes_received = received;
    Ok(summary)
}

/// Enrols the tablet: spends the code at the central record and keeps the credential.
pub fn enrol(
    bedside: impl BedsideAccess,
    server: &str,
    code: &str,
    device_name: &str,
) -> Result<Enrolment, IpcError> {
    enrol_via(bedside, &Link::new(server)?, code, device_name)
}

/// Enrols through `link`; a link that trusts a provider's own certificate authority keeps
/// trusting it for every later sync.
pub fn enrol_via(
    mut bedside: impl BedsideAccess,
    link: &Link,
    code: &str,
    device_name: &str,
) -> Result<Enrolment, IpcError> {
    bedside.with(|b| b.may_enrol())?;
    // The central record binds the actor the tablet writes with to this device alone.
    let actor = bedside.with(|b| b.actor());
    let e = link.enrol(code, device_name, Some(&actor))?;
    bedside.with(|b| b.set_enrolment(link.base(), &e, link.ca.as_deref(), device_name))?;
    Ok(e)
}
