//! The server's command line, run as the provider runs it: settings from a file, the
//! environment and flags, and a clear refusal of a setting it does not know.

use std::process::Command;

fn server() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_medround-server"));
    // The test's own environment must not choose for it.
    for var in [
        "MEDROUND_CONFIG",
        "MEDROUND_DATABASE",
        "MEDROUND_LISTEN",
        "MEDROUND_ADMIN_TOKEN",
        "MEDROUND_LOG",
    ] {
        c.env_remove(var);
    }
    c
}

fn run(c: &mut Command) -> (bool, String, String) {
    let out = c.output().expect("run medround-server");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn settings_come_from_the_file_and_the_environment_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("from-file.db");
    let from_env = dir.path().join("from-env.db");
    let config = dir.path().join("central.toml");
    std::fs::write(
        &config,
        format!(
            "database = {:?}\nlog = \"warn\"\n",
            from_file.display().to_string()
        ),
    )
    .unwrap();

    let (ok, out, err) = run(server()
        .args(["add-home", "larch", "Larch House", "--config"])
        .arg(&config));
    assert!(ok, "{err}");
    assert!(out.contains("added home larch (Larch House)"), "{out}");
    assert!(from_file.exists(), "the file's database was used");

    let (ok, _, err) = run(server()
        .args(["add-home", "oak", "Oak Lodge", "--config"])
        .arg(&config)
        .env("MEDROUND_DATABASE", &from_env));
    assert!(ok, "{err}");
    assert!(from_env.exists(), "the environment's database was used");

    let (ok, out, err) = run(server()
        .args(["enrolment-code", "larch", "--config"])
        .arg(&config));
    assert!(ok, "{err}");
    assert_eq!(out.trim().len(), 14, "a code like K7QM-3XRA-PW9D: {out}");
}

#[test]
fn a_misspelt_setting_an_unknown_command_and_half_of_tls_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("central.toml");
    std::fs::write(&config, "databse = \"x.db\"\n").unwrap();
    let (ok, _, err) = run(server().args(["devices", "--config"]).arg(&config));
    assert!(!ok);
    assert!(err.contains("databse"), "names the setting: {err}");

    let (ok, _, err) = run(server().arg("launch"));
    assert!(!ok);
    assert!(err.contains("launch"), "{err}");

    let (ok, _, err) = run(server().args(["serve", "--tls-cert", "cert.pem"]));
    assert!(!ok);
    assert!(err.contains("--tls-key"), "{err}");

    let (ok, _, err) = run(server()
        .args(["serve", "--listen", "0.0.0.0:0", "--database"])
        .arg(dir.path().join("c.db")));
    assert!(!ok);
    assert!(err.contains("plain HTTP"), "{err}");
}
