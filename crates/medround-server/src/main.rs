//! `medround-server`: the provider's central record.
//!
//! ```text
//! medround-server serve [--listen 127.0.0.1:8440] [--database PATH] [--tls-cert PEM --tls-key PEM]
//! medround-server add-home ID NAME [--database PATH]
//! medround-server enrolment-code HOME [--database PATH]
//! medround-server submit-order HOME ORDER.json [--database PATH]
//! medround-server devices [--database PATH]
//! medround-server revoke DEVICE [--database PATH]
//! ```
//! `--database` takes an SQLite path or a `postgres://` URL.
//! The admin HTTP endpoints are on only when `MEDROUND_ADMIN_TOKEN` is set.

use anyhow::{bail, Context};
use medround_server::Central;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

const USAGE: &str = "usage:
  medround-server serve [--listen ADDR] [--database PATH] [--tls-cert PEM --tls-key PEM]
  medround-server add-home ID NAME [--database PATH]
  medround-server enrolment-code HOME [--database PATH]
  medround-server submit-order HOME ORDER.json [--database PATH]
  medround-server devices [--database PATH]
  medround-server revoke DEVICE [--database PATH]

--database  the central record's SQLite file (default medround-central.db), or a
            postgres://user:password@host/db URL for a provider with many homes
--listen    address to serve on (default 127.0.0.1:8440)
--tls-cert  PEM certificate chain and --tls-key its PEM private key: serve HTTPS (required
            for any address other than loopback)
MEDROUND_ADMIN_TOKEN, when set, turns on the admin endpoints under /admin/v1.";

struct Args {
    command: String,
    words: Vec<String>,
    database: String,
    listen: SocketAddr,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        command: String::new(),
        words: Vec::new(),
        database: "medround-central.db".into(),
        listen: "127.0.0.1:8440".parse().expect("valid address"),
        tls_cert: None,
        tls_key: None,
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--database" => a.database = it.next().context("--database needs a path or URL")?,
            "--listen" => {
                let v = it.next().context("--listen needs an address")?;
                a.listen = v
                    .parse()
                    .with_context(|| format!("--listen {v}: not an address like 127.0.0.1:8440"))?;
            }
            "--tls-cert" => a.tls_cert = Some(it.next().context("--tls-cert needs a path")?.into()),
            "--tls-key" => a.tls_key = Some(it.next().context("--tls-key needs a path")?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with("--") => bail!("unknown option {s}\n{USAGE}"),
            _ if a.command.is_empty() => a.command = arg,
            _ => a.words.push(arg),
        }
    }
    Ok(a)
}

/// A database URL without its password, for messages.
fn redact(database: &str) -> String {
    match (database.find("://"), database.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &database[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &database[..s + 3], &database[at..])
        }
        _ => database.to_string(),
    }
}

fn central(a: &Args) -> anyhow::Result<Central> {
    let storage = medround_server::open_storage(&a.database)
        .with_context(|| format!("opening the central record at {}", redact(&a.database)))?;
    let admin = std::env::var("MEDROUND_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let database = a.database.clone();
    Ok(
        Central::new(storage, admin.as_deref(), Box::new(chrono::Utc::now)).with_connections(
            Box::new(move || medround_server::open_storage(&database)),
            STORAGE_CONNECTIONS,
        ),
    )
}

/// Connections to the storage at most: one home's long exchange holds one, and the rest serve
/// the other homes meanwhile.
const STORAGE_CONNECTIONS: usize = 8;

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let word = |i: usize, what: &str| -> anyhow::Result<String> {
        a.words
            .get(i)
            .cloned()
            .with_context(|| format!("{} needs {what}\n{USAGE}", a.command))
    };
    let fail = |e: medround_sync::api::ApiError| anyhow::anyhow!(e.message);
    match a.command.as_str() {
        "serve" => {
            let tls = match (&a.tls_cert, &a.tls_key) {
                (Some(cert), Some(key)) => Some(medround_server::tls::config(cert, key)?),
                (None, None) => {
                    // Plain HTTP carries credentials and records in clear: loopback only.
                    if !a.listen.ip().is_loopback() {
                        bail!(
                            "plain HTTP is for development on loopback only; give --tls-cert and \
                             --tls-key to serve on {}",
                            a.listen
                        );
                    }
                    None
                }
                _ => bail!("--tls-cert and --tls-key go together"),
            };
            let c = Arc::new(central(&a)?);
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(a.listen)
                    .await
                    .with_context(|| format!("listening on {}", a.listen))?;
                println!(
                    "medround-server: serving the central record on {}://{} ({})",
                    if tls.is_some() { "https" } else { "http" },
                    listener.local_addr()?,
                    redact(&a.database)
                );
                let stop = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                match tls {
                    Some(tls) => medround_server::http::serve_tls(listener, tls, c, stop).await?,
                    None => medround_server::http::serve(listener, c, stop).await?,
                }
                anyhow::Ok(())
            })?;
        }
        "add-home" => {
            let h = central(&a)?
                .add_home(&word(0, "an id")?, &word(1, "a name")?)
                .map_err(fail)?;
            println!("added home {} ({})", h.id, h.name);
        }
        "enrolment-code" => {
            let (code, expires) = central(&a)?.issue_code(&word(0, "a home")?).map_err(fail)?;
            println!("{code}");
            eprintln!("one use, until {expires}");
        }
        "submit-order" => {
            let home = word(0, "a home")?;
            let file = word(1, "an order file (JSON)")?;
            let json = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
            let o = central(&a)?.submit_order(&home, &json).map_err(fail)?;
            println!(
                "order {} for {} is at the home, pending until a senior checks it in",
                o.id, o.resident
            );
        }
        "devices" => {
            for d in central(&a)?.devices().map_err(fail)? {
                let state = match d.revoked {
                    Some(t) => format!("revoked {t}"),
                    None => "active".into(),
                };
                println!(
                    "{}\t{}\t{}\tenrolled {}\t{state}",
                    d.id, d.home, d.name, d.enrolled
                );
            }
        }
        "revoke" => {
            let d = word(0, "a device id")?;
            central(&a)?.revoke(&d).map_err(fail)?;
            println!("revoked {d}");
        }
        "" => bail!("{USAGE}"),
        other => bail!("unknown command {other}\n{USAGE}"),
    }
    Ok(())
}
