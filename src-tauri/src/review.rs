//! The manager's review, incidents and the audit trail.

use crate::AppState;
use medround_ipc::*;
use tauri::State;

#[tauri::command(async)]
pub fn get_review(state: State<'_, AppState>, args: GetReview) -> Result<ReviewView, IpcError> {
    state.with(|b| b.review(args.from.as_deref(), args.to.as_deref()))
}

#[tauri::command(async)]
pub fn acknowledge_incident(
    state: State<'_, AppState>,
    args: AcknowledgeIncident,
) -> Result<Recorded, IpcError> {
    state.with(|b| b.acknowledge_incident(&args.incident, &args.action))
}

#[tauri::command(async)]
pub fn get_audit(state: State<'_, AppState>, args: GetAudit) -> Result<AuditView, IpcError> {
    state.with(|b| b.audit(&args.resident, args.from.as_deref(), args.to.as_deref()))
}

/// Builds the MAR chart and saves it where the person can print it from.
#[tauri::command(async)]
pub fn export_mar(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: ExportMar,
) -> Result<SavedFile, IpcError> {
    let chart = state.with(|b| {
        b.export_mar(
            args.resident.as_deref(),
            args.unit.as_deref(),
            args.from.as_deref(),
        )
    })?;
    let path = save(&app, &chart.file_name, &chart.bytes)?;
    Ok(SavedFile {
        path: path.display().to_string(),
        pages: chart.pages,
        bytes: chart.bytes.len() as u64,
        message: format!(
            "MAR chart saved ({} page{}, {} resident{}): {}. It holds residents' details: \
             delete it once it is printed.",
            chart.pages,
            if chart.pages == 1 { "" } else { "s" },
            chart.residents,
            if chart.residents == 1 { "" } else { "s" },
            path.display()
        ),
    })
}

#[tauri::command(async)]
pub fn get_stock(state: State<'_, AppState>, args: GetStock) -> Result<StockView, IpcError> {
    let GetStock {} = args;
    state.with(|b| b.stock())
}

#[tauri::command(async)]
pub fn export_reorder_list(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: ExportReorderList,
) -> Result<SavedFile, IpcError> {
    let ExportReorderList {} = args;
    let (name, csv) = state.with(|b| b.reorder_csv())?;
    let path = save(&app, &name, csv.as_bytes())?;
    Ok(SavedFile {
        message: format!(
            "Reorder list saved for the pharmacy: {}. It holds residents' details: delete it \
             once it is sent.",
            path.display()
        ),
        path: path.display().to_string(),
        pages: 0,
        bytes: csv.len() as u64,
    })
}

#[tauri::command(async)]
pub fn book_delivery(state: State<'_, AppState>, args: BookDelivery) -> Result<Recorded, IpcError> {
    state.with(|b| {
        b.book_delivery(
            &args.order,
            args.quantity,
            args.counted,
            &args.supplier,
            args.witness.as_ref(),
        )
    })
}

#[tauri::command(async)]
pub fn cd_stock_check(
    state: State<'_, AppState>,
    args: CdStockCheck,
) -> Result<Recorded, IpcError> {
    state.with(|b| b.cd_stock_check(&args.order, args.counted, &args.witness))
}

#[tauri::command(async)]
pub fn get_cd_register(
    state: State<'_, AppState>,
    args: GetCdRegister,
) -> Result<CdRegisterView, IpcError> {
    state.with(|b| b.cd_register(&args.order))
}

/// Saves a file for the person in the export folder.
fn save(app: &tauri::AppHandle, name: &str, bytes: &[u8]) -> Result<std::path::PathBuf, IpcError> {
    let dir = crate::setup::export_dir(app).map_err(crate::internal)?;
    write_private(&dir, name, bytes).map_err(|e| {
        IpcError::new(
            ErrorCode::Storage,
            format!("The file could not be saved in {} ({e}).", dir.display()),
        )
    })
}

/// Writes `bytes` as `dir/name`, readable by this user only: an exported chart or reorder list
/// holds residents' names, NHS numbers and medicines, and the database's encryption does not
/// reach it. It is written beside its final name and renamed, so a full disk or a crash never
/// leaves half a file.
fn write_private(
    dir: &std::path::Path,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.part"));
    std::fs::create_dir_all(dir)?;
    // A part-written file left by a crash would keep its own permissions: start afresh.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::write_private;

    #[test]
    fn an_exported_file_is_whole_and_readable_by_this_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("exports");
        let path = write_private(&out, "mar.pdf", b"%PDF-1.7 chart").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.7 chart");
        // Saved again (a second export of the same chart): replaced whole.
        write_private(&out, "mar.pdf", b"%PDF-1.7 newer").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.7 newer");
        let names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["mar.pdf"], "no part-written file is left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
