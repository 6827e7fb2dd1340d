//! The central record over HTTP (axum). Each handler authenticates, then runs one call on
//! [`Central`] on a blocking thread (storage commits wait for the disk).

use crate::{api_error, Central};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use medround_sync::api::{
    gunzip, gzip, ApiCode, ApiError, EnrolRequest, ENROL_PATH, GZIP, HEALTH_PATH, SYNC_PATH,
};
use serde::Deserialize;
use std::sync::Arc;

/// A first sync of a large home sends up to 200 whole documents in one reply.
const MAX_BODY: usize = 64 * 1024 * 1024;

struct Failure(ApiError);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = match self.0.code {
            ApiCode::BadCode | ApiCode::Revoked | ApiCode::Forbidden => StatusCode::FORBIDDEN,
            ApiCode::Unauthorised => StatusCode::UNAUTHORIZED,
            ApiCode::Malformed => StatusCode::BAD_REQUEST,
            ApiCode::Refused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiCode::NotFound => StatusCode::NOT_FOUND,
            ApiCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, Json(self.0)).into_response()
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure(e)
    }
}

type Reply<T> = Result<T, Failure>;

/// Runs a storage call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Reply<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Failure),
        // What failed stays in the server's log: a panic's text names code and values that
        // are no business of the caller, who may be an attacker probing for them.
        Err(e) => {
            eprintln!("medround-server: a request failed inside: {e}");
            Err(Failure(api_error(
                ApiCode::Unavailable,
                "The central record could not complete this request, and stored nothing. Try \
                 again later; tell the provider if it goes on.",
            )))
        }
    }
}

#[cfg(test)]
#[tokio::test]
async fn a_request_that_fails_inside_says_nothing_of_why() {
    let reply: Reply<()> = blocking(|| panic!("secret detail at src/sync/bloom.rs:74")).await;
    let Failure(e) = reply.unwrap_err();
    assert_eq!(e.code, ApiCode::Unavailable);
    assert!(
        !e.message.contains("secret") && !e.message.contains("bloom"),
        "{}",
        e.message
    );
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
}

pub fn router(central: Arc<Central>) -> Router {
    Router::new()
        .route(HEALTH_PATH, get(|| async { "ok" }))
        .route(ENROL_PATH, post(enrol))
        .route(SYNC_PATH, post(sync))
        .route("/admin/v1/homes", get(homes).post(add_home))
        .route("/admin/v1/homes/{home}/enrolment-codes", post(issue_code))
        .route("/admin/v1/homes/{home}/orders", post(submit_order))
        .route("/admin/v1/devices", get(devices))
        .route("/admin/v1/devices/{device}/revoke", post(revoke))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(central)
}

async fn enrol(
    State(c): State<Arc<Central>>,
    body: Result<Json<EnrolRequest>, axum::extract::rejection::JsonRejection>,
) -> Reply<Response> {
    let Json(req) = body.map_err(|e| {
        api_error(
            ApiCode::Malformed,
            format!("The enrolment request is not understood: {e}"),
        )
    })?;
    let e = blocking(move || c.enrol(&req.code, &req.device_name, req.actor.as_deref())).await?;
    Ok(Json(e).into_response())
}

async fn sync(State(c): State<Arc<Central>>, headers: HeaderMap, body: Bytes) -> Reply<Response> {
    let token = bearer(&headers);
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let gzip_reply = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            e.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(GZIP)
        });
    let reply = blocking(move || {
        let device = c.authenticate(token.as_deref())?;
        let request = match encoding.as_deref() {
            None | Some("identity") => body.to_vec(),
            Some(GZIP) => gunzip(&body, MAX_BODY as u64).map_err(|e| {
                api_error(ApiCode::Malformed, format!("The sync message was refused: {e}."))
            })?,
            Some(other) => {
                return Err(api_error(
                    ApiCode::Malformed,
                    format!("The sync message is encoded as {other}, which the central record does not read."),
                ))
            }
        };
        let reply = c.sync(&device, &request)?;
        Ok(if gzip_reply { (gzip(&reply), true) } else { (reply, false) })
    })
    .await?;
    let mut resp = (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        reply.0,
    )
        .into_response();
    if reply.1 {
        resp.headers_mut().insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static(GZIP),
        );
    }
    Ok(resp)
}

fn admin(c: &Central, headers: &HeaderMap) -> Result<(), ApiError> {
    if c.is_admin(bearer(headers).as_deref()) {
        Ok(())
    } else {
        Err(api_error(
            ApiCode::Forbidden,
            "Admin requests need the server's admin token.",
        ))
    }
}

#[derive(Debug, Deserialize)]
struct NewHome {
    id: String,
    name: String,
}

async fn add_home(
    State(c): State<Arc<Central>>,
    headers: HeaderMap,
    body: Result<Json<NewHome>, axum::extract::rejection::JsonRejection>,
) -> Reply<Response> {
    admin(&c, &headers)?;
    let Json(h) = body.map_err(|e| api_error(ApiCode::Malformed, e.to_string()))?;
    let home = blocking(move || c.add_home(&h.id, &h.name)).await?;
    Ok((StatusCode::CREATED, Json(home)).into_response())
}

async fn homes(State(c): State<Arc<Central>>, headers: HeaderMap) -> Reply<Response> {
    admin(&c, &headers)?;
    Ok(Json(blocking(move || c.homes()).await?).into_response())
}

async fn issue_code(
    State(c): State<Arc<Central>>,
    headers: HeaderMap,
    Path(home): Path<String>,
) -> Reply<Response> {
    admin(&c, &headers)?;
    let (code, expires) = blocking(move || c.issue_code(&home)).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "code": code, "expires": expires })),
    )
        .into_response())
}

/// S16: an order from the pharmacy, pending at the home until a senior checks it in.
async fn submit_order(
    State(c): State<Arc<Central>>,
    headers: HeaderMap,
    Path(home): Path<String>,
    body: String,
) -> Reply<Response> {
    admin(&c, &headers)?;
    let o = blocking(move || c.submit_order(&home, &body)).await?;
    Ok((StatusCode::CREATED, Json(o)).into_response())
}

async fn devices(State(c): State<Arc<Central>>, headers: HeaderMap) -> Reply<Response> {
    admin(&c, &headers)?;
    Ok(Json(blocking(move || c.devices()).await?).into_response())
}

async fn revoke(
    State(c): State<Arc<Central>>,
    headers: HeaderMap,
    Path(device): Path<String>,
) -> Reply<Response> {
    admin(&c, &headers)?;
    blocking(move || c.revoke(&device)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Serves HTTPS until `shutdown` resolves.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    central: Arc<Central>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = crate::tls::TlsListener::new(listener, tls)?;
    axum::serve(listener, router(central))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves until the listener fails or `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    central: Arc<Central>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(central))
        .with_graceful_shutdown(shutdown)
        .await
}
