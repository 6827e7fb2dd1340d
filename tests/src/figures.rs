//! The figures the benchmarks report, gathered into one table.
//!
//! `scripts/bench` names a file in `MEDROUND_FIGURES`; each benchmark appends a row there for
//! each figure it prints, and the script writes the rows as `docs/performance.md`. Without the
//! variable (a benchmark run by hand) the rows go nowhere and only the printed lines remain.

use std::io::Write;

/// Appends one row: what was measured, the figure (with its baseline or ratio), and the budget
/// it is held to, or "reported".
pub fn row(measure: &str, figure: &str, budget: &str) {
    let Some(path) = std::env::var_os("MEDROUND_FIGURES") else {
        return;
    };
    // A pipe in a cell would split the row; none of ours has one, but a measure's name should
    // never be able to break the table.
    let cell = |s: &str| s.replace('|', "/");
    let line = format!(
        "| {} | {} | {} |\n",
        cell(measure),
        cell(figure),
        cell(budget)
    );
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.to_string_lossy()));
    f.write_all(line.as_bytes())
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.to_string_lossy()));
}

/// A budget met or not, for the table's last column.
pub fn against(budget: &str, met: bool) -> String {
    if met {
        format!("{budget}: met")
    } else {
        format!("{budget}: **not met**")
    }
}
