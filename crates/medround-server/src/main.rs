//! `medround-server`: the provider's central record. `medround-server --help` lists the
//! commands; each setting can also come from the environment (`MEDROUND_DATABASE`,
//! `MEDROUND_LISTEN`, `MEDROUND_TLS_CERT`, `MEDROUND_TLS_KEY`, `MEDROUND_ADMIN_TOKEN`,
//! `MEDROUND_LOG`) or a TOML file named by `--config` (`MEDROUND_CONFIG`).

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use medround_server::config::{Config, Settings};
use medround_server::Central;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "medround-server",
    version,
    about = "The provider's central record for Medround tablets"
)]
struct Cli {
    /// A TOML file of settings (database, listen, tls_cert, tls_key, admin_token, log); the
    /// command line and the environment win over it.
    #[arg(long, env = "MEDROUND_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// The central record's SQLite file (default medround-central.db), or a
    /// postgres://user:password@host/db URL for a provider with many homes.
    #[arg(long, env = "MEDROUND_DATABASE", global = true, hide_env_values = true)]
    database: Option<String>,
    /// What to log: a tracing filter such as info, warn or medround_server=debug.
    #[arg(long, env = "MEDROUND_LOG", global = true)]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the central record over HTTP(S).
    Serve {
        /// The address to serve on (default 127.0.0.1:8440).
        #[arg(long, env = "MEDROUND_LISTEN")]
        listen: Option<SocketAddr>,
        /// A PEM certificate chain: serve HTTPS (needed on any address but loopback).
        #[arg(long, env = "MEDROUND_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, env = "MEDROUND_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Turns on the admin endpoints under /admin/v1 for a caller holding this token.
        #[arg(long, env = "MEDROUND_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
    },
    /// Add a care home.
    AddHome { id: String, name: String },
    /// Issue a one-time enrolment code for a new tablet of a home (one use, 24 hours).
    EnrolmentCode { home: String },
    /// Send an order from the pharmacy (a JSON file) to a home; it arrives pending.
    SubmitOrder { home: String, order: PathBuf },
    /// List the enrolled tablets.
    Devices,
    /// Revoke a tablet: its next request is refused.
    Revoke { device: String },
}

fn config(cli: &Cli) -> anyhow::Result<Config> {
    let file = match &cli.config {
        Some(path) => Settings::read(path)?,
        None => Settings::default(),
    };
    let mut given = Settings {
        database: cli.database.clone(),
        log: cli.log.clone(),
        ..Settings::default()
    };
    if let Command::Serve {
        listen,
        tls_cert,
        tls_key,
        admin_token,
    } = &cli.command
    {
        given.listen = *listen;
        given.tls_cert = tls_cert.clone();
        given.tls_key = tls_key.clone();
        given.admin_token = admin_token.clone();
    }
    Ok(Config::resolve(file, given)?)
}

fn central(c: &Config) -> anyhow::Result<Central> {
    let storage = medround_server::open_storage(&c.database)
        .with_context(|| format!("opening the central record at {}", c.database_for_display()))?;
    let database = c.database.clone();
    Ok(Central::new(
        storage,
        c.admin_token.as_deref(),
        Box::new(chrono::Utc::now),
    )
    .with_connections(
        Box::new(move || medround_server::open_storage(&database)),
        STORAGE_CONNECTIONS,
    ))
}

/// Connections to the storage at most: one home's long exchange holds one, and the rest serve
/// the other homes meanwhile.
const STORAGE_CONNECTIONS: usize = 8;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let c = config(&cli)?;
    // Logs go to standard error, for the service manager to keep; what is printed on standard
    // output is the command's answer (an enrolment code, a list of devices).
    let filter = tracing_subscriber::EnvFilter::try_new(&c.log)
        .with_context(|| format!("--log {}: not a log filter such as info or warn", c.log))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let fail = |e: medround_sync::api::ApiError| anyhow::anyhow!(e.message);
    match &cli.command {
        Command::Serve { .. } => {
            let tls = match &c.tls {
                Some((cert, key)) => Some(medround_server::tls::config(cert, key)?),
                None => {
                    // Plain HTTP carries credentials and records in clear: loopback only.
                    if !c.listen.ip().is_loopback() {
                        bail!(
                            "plain HTTP is for development on loopback only; give --tls-cert and \
                             --tls-key to serve on {}",
                            c.listen
                        );
                    }
                    None
                }
            };
            let central = Arc::new(central(&c)?);
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(c.listen)
                    .await
                    .with_context(|| format!("listening on {}", c.listen))?;
                println!(
                    "medround-server: serving the central record on {}://{} ({})",
                    if tls.is_some() { "https" } else { "http" },
                    listener.local_addr()?,
                    c.database_for_display()
                );
                tracing::info!(
                    address = %listener.local_addr()?,
                    tls = tls.is_some(),
                    admin = c.admin_token.is_some(),
                    "serving"
                );
                let stop = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                match tls {
                    Some(tls) => {
                        medround_server::http::serve_tls(listener, tls, central, stop).await?
                    }
                    None => medround_server::http::serve(listener, central, stop).await?,
                }
                anyhow::Ok(())
            })?;
        }
        Command::AddHome { id, name } => {
            let h = central(&c)?.add_home(id, name).map_err(fail)?;
            println!("added home {} ({})", h.id, h.name);
        }
        Command::EnrolmentCode { home } => {
            let (code, expires) = central(&c)?.issue_code(home).map_err(fail)?;
            println!("{code}");
            eprintln!("one use, until {expires}");
        }
        Command::SubmitOrder { home, order } => {
            let json = std::fs::read_to_string(order)
                .with_context(|| format!("reading {}", order.display()))?;
            let o = central(&c)?.submit_order(home, &json).map_err(fail)?;
            println!(
                "order {} for {} is at the home, pending until a senior checks it in",
                o.id, o.resident
            );
        }
        Command::Devices => {
            for d in central(&c)?.devices().map_err(fail)? {
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
        Command::Revoke { device } => {
            central(&c)?.revoke(device).map_err(fail)?;
            println!("revoked {device}");
        }
    }
    Ok(())
}
