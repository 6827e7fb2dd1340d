//! Calls into the shell. Every command is a typed `medround_ipc::Command`; the command's name and
//! result type come from its definition, never from a string typed here.

use medround_ipc::{Command, ErrorCode, IpcError};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

pub async fn call<C: Command>(c: &C) -> Result<C::Output, IpcError> {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    let args = medround_ipc::invoke_args(c).serialize(&ser).map_err(|e| {
        IpcError::new(
            ErrorCode::BadInput,
            format!("Could not send the request: {e}"),
        )
    })?;
    match tauri_invoke(C::NAME, args).await {
        Ok(v) => serde_wasm_bindgen::from_value(v).map_err(|e| {
            IpcError::new(
                ErrorCode::Storage,
                format!("Unexpected answer from the app: {e}"),
            )
        }),
        Err(e) => Err(
            serde_wasm_bindgen::from_value::<IpcError>(e.clone()).unwrap_or_else(|_| {
                IpcError::new(
                    ErrorCode::Storage,
                    e.as_string()
                        .unwrap_or_else(|| "The app did not answer.".into()),
                )
            }),
        ),
    }
}
