//! The central record's configuration, read once at start.
//!
//! Each setting comes from the command line, else the environment (`MEDROUND_*`, read by clap
//! in `main`), else the configuration file (`--config`, TOML), else its default. Nothing below
//! `main` reads the environment.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Settings as one source gives them (the configuration file, or the command line and the
/// environment as clap read them), each one optional. In a file, an unknown key is refused, so
/// a misspelt setting is said rather than silently ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: Option<String>,
    pub listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub admin_token: Option<String>,
    pub log: Option<String>,
}

impl Settings {
    pub fn read(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Config {
    /// An SQLite path, or a `postgres://` URL.
    pub database: String,
    pub listen: SocketAddr,
    /// A PEM certificate chain and its key: serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Turns on the admin endpoints under `/admin/v1`.
    pub admin_token: Option<String>,
    /// A `tracing` filter such as `info` or `medround_server=debug`.
    pub log: String,
}

pub const DEFAULT_DATABASE: &str = "medround-central.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8440";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not understood: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("tls_cert and tls_key go together: give both, or neither")]
    HalfTls,
}

impl Config {
    pub fn resolve(file: Settings, given: Settings) -> Result<Config, ConfigError> {
        let tls = match (
            given.tls_cert.or(file.tls_cert),
            given.tls_key.or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err(ConfigError::HalfTls),
        };
        Ok(Config {
            database: given
                .database
                .or(file.database)
                .unwrap_or_else(|| DEFAULT_DATABASE.into()),
            listen: given
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("a valid address")),
            tls,
            admin_token: given
                .admin_token
                .or(file.admin_token)
                .filter(|t| !t.is_empty()),
            log: given.log.or(file.log).unwrap_or_else(|| "info".into()),
        })
    }

    /// The database without its password, for messages and logs.
    pub fn database_for_display(&self) -> String {
        let d = &self.database;
        match (d.find("://"), d.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let creds = &d[s + 3..at];
                let user = creds.split(':').next().unwrap_or("");
                format!("{}{user}:***{}", &d[..s + 3], &d[at..])
            }
            _ => d.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_over_the_file_and_the_file_over_defaults() {
        let file: Settings = toml::from_str(
            "database = \"from-file.db\"\nlisten = \"127.0.0.1:9000\"\nlog = \"debug\"",
        )
        .unwrap();
        let c = Config::resolve(
            file,
            Settings {
                database: Some("given.db".into()),
                ..Settings::default()
            },
        )
        .unwrap();
        assert_eq!(c.database, "given.db");
        assert_eq!(c.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(c.log, "debug");
        assert!(c.tls.is_none() && c.admin_token.is_none());
        let d = Config::resolve(Settings::default(), Settings::default()).unwrap();
        assert_eq!(d.database, DEFAULT_DATABASE);
        assert_eq!(d.listen, DEFAULT_LISTEN.parse().unwrap());
    }

    #[test]
    fn a_misspelt_setting_or_half_of_tls_is_refused() {
        let e = toml::from_str::<Settings>("databse = \"x.db\"").unwrap_err();
        assert!(e.to_string().contains("databse"), "{e}");
        let half = Config::resolve(
            Settings {
                tls_cert: Some("cert.pem".into()),
                ..Settings::default()
            },
            Settings::default(),
        );
        assert!(matches!(half, Err(ConfigError::HalfTls)));
    }

    #[test]
    fn a_database_password_never_reaches_a_message() {
        let c = Config::resolve(
            Settings::default(),
            Settings {
                database: Some("postgres://medround:s3cret@db.example/central".into()),
                admin_token: Some(String::new()),
                ..Settings::default()
            },
        )
        .unwrap();
        assert_eq!(
            c.database_for_display(),
            "postgres://medround:***@db.example/central"
        );
        assert!(c.admin_token.is_none(), "an empty token turns nothing on");
    }
}
