//! The tablet app's settings, read once from the environment when the app starts. Nothing else
//! in the app, and nothing in the crates below it, reads the environment.

use anyhow::Context;
use chrono::{DateTime, NaiveTime, Utc};
use std::path::PathBuf;
use std::time::Duration;

/// The nightly sync window, in the home's time (Europe/London), whatever zone the tablet's
/// system clock is set to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nightly {
    pub from: NaiveTime,
    pub to: NaiveTime,
    pub text: String,
}

impl Nightly {
    pub fn contains(&self, t: NaiveTime) -> bool {
        t >= self.from && t < self.to
    }
}

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Where the database lives (`MEDROUND_DATA_DIR`); else the app's data directory.
    pub data_dir: Option<PathBuf>,
    /// Where its key lives (`MEDROUND_KEY_DIR`); else a `keys` folder in the app's config
    /// directory, so the key never sits beside the file it opens.
    pub key_dir: Option<PathBuf>,
    /// The demo home's shifted clock (`MEDROUND_TRAINING_START`, RFC 3339).
    pub training_start: Option<DateTime<Utc>>,
    /// Seed the demo home into an empty store (`MEDROUND_DEMO`, on unless "0").
    pub demo: bool,
    /// Where printed charts and reorder lists go (`MEDROUND_EXPORT_DIR`).
    pub export_dir: Option<PathBuf>,
    /// Between syncs while the central record answers (`MEDROUND_SYNC_MINUTES`, default 5).
    pub sync_every: Duration,
    /// `MEDROUND_NIGHTLY`, "HH:MM-HH:MM", default 02:00-04:00.
    pub nightly: Nightly,
    /// A provider's own certificate authority, trusted when the tablet enrols
    /// (`MEDROUND_CA_CERT`, a PEM file).
    pub ca_cert: Option<PathBuf>,
    /// What to log (`MEDROUND_LOG`, a tracing filter; default info).
    pub log: String,
}

impl AppConfig {
    pub fn from_env() -> anyhow::Result<AppConfig> {
        AppConfig::from_vars(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// The settings from `var`, which answers for one variable at a time. A setting that is
    /// set but wrong stops the app with what to put right, rather than running on a guess.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<AppConfig> {
        let training_start = var("MEDROUND_TRAINING_START")
            .map(|s| {
                DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.with_timezone(&Utc))
                    .with_context(|| {
                        format!("MEDROUND_TRAINING_START is not an RFC 3339 time: {s}")
                    })
            })
            .transpose()?;
        let sync_every = match var("MEDROUND_SYNC_MINUTES") {
            None => Duration::from_secs(5 * 60),
            Some(m) => match m.parse::<u64>() {
                Ok(m) if (1..=24 * 60).contains(&m) => Duration::from_secs(m * 60),
                _ => anyhow::bail!(
                    "MEDROUND_SYNC_MINUTES is not a number of minutes from 1 to 1440: {m}"
                ),
            },
        };
        let nightly = match var("MEDROUND_NIGHTLY") {
            None => nightly("02:00-04:00").expect("the default window"),
            Some(text) => nightly(&text).with_context(|| {
                format!("MEDROUND_NIGHTLY is not a window such as 02:00-04:00: {text}")
            })?,
        };
        Ok(AppConfig {
            data_dir: var("MEDROUND_DATA_DIR").map(PathBuf::from),
            key_dir: var("MEDROUND_KEY_DIR").map(PathBuf::from),
            training_start,
            demo: var("MEDROUND_DEMO").is_none_or(|v| v != "0"),
            export_dir: var("MEDROUND_EXPORT_DIR").map(PathBuf::from),
            sync_every,
            nightly,
            ca_cert: var("MEDROUND_CA_CERT").map(PathBuf::from),
            log: var("MEDROUND_LOG").unwrap_or_else(|| "info".into()),
        })
    }
}

fn nightly(text: &str) -> Option<Nightly> {
    let parse = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
    let (a, b) = text.split_once('-')?;
    let (from, to) = (parse(a)?, parse(b)?);
    (from < to).then(|| Nightly {
        from,
        to,
        text: text.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<AppConfig> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AppConfig::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_are_a_real_home_syncing_every_five_minutes_and_at_two_at_night() {
        let c = config(&[]).unwrap();
        assert_eq!(c.sync_every, Duration::from_secs(300));
        assert_eq!(c.nightly.text, "02:00-04:00");
        assert!(c.demo && c.training_start.is_none() && c.ca_cert.is_none());
        assert_eq!(c.log, "info");
    }

    #[test]
    fn a_setting_that_is_set_but_wrong_stops_the_app_with_what_to_put_right() {
        for (name, value) in [
            ("MEDROUND_SYNC_MINUTES", "often"),
            ("MEDROUND_SYNC_MINUTES", "0"),
            ("MEDROUND_NIGHTLY", "2am-4am"),
            ("MEDROUND_NIGHTLY", "04:00-02:00"),
            ("MEDROUND_TRAINING_START", "tomorrow"),
        ] {
            let e = config(&[(name, value)]).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        let c = config(&[("MEDROUND_NIGHTLY", "01:30-03:00"), ("MEDROUND_DEMO", "0")]).unwrap();
        assert!(c
            .nightly
            .contains(NaiveTime::from_hms_opt(1, 30, 0).unwrap()));
        assert!(!c
            .nightly
            .contains(NaiveTime::from_hms_opt(3, 0, 0).unwrap()));
        assert!(!c.demo);
    }
}
