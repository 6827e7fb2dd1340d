//! The central record over HTTP (axum). Each handler authenticates, then runs one call on
//! [`Central`] on a blocking thread (storage commits wait for the disk).

use crate::{api_error, Central};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::headers::authorization::Bearer;
use axum_extra::headers::{Authorization, HeaderMapExt};
use medround_sync::api::{
    gunzip, gzip, ApiCode, ApiError, EnrolRequest, ENROL_PATH, GZIP, HEALTH_PATH, SYNC_PATH,
};
use serde::Deserialize;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

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
            ApiCode::Limited if self.0.retry_after.is_some() => StatusCode::TOO_MANY_REQUESTS,
            ApiCode::Limited => StatusCode::PAYLOAD_TOO_LARGE,
        };
        let retry = self.0.retry_after;
        let mut resp = (status, Json(self.0)).into_response();
        if let Some(secs) = retry {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        resp
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
            tracing::error!(error = %e, "a request failed inside");
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
        .typed_get::<Authorization<Bearer>>()
        .map(|a| a.token().to_string())
}

pub fn router(central: Arc<Central>) -> Router {
    Router::new()
        .route(HEALTH_PATH, get(|| async { "ok" }))
        .route(ENROL_PATH, post(enrol))
        .route(SYNC_PATH, post(sync))
        .route("/admin/v1/homes", get(homes).post(add_home))
        .route("/admin/v1/homes/{home}/enrolment-codes", post(issue_code))
        .route("/admin/v1/homes/{home}/orders", post(submit_order))
        .route(
            "/admin/v1/homes/{home}/documents/{doc}/changes",
            get(change_senders),
        )
        .route("/admin/v1/devices", get(devices))
        .route("/admin/v1/devices/{device}/revoke", post(revoke))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Each request gets an id (or keeps the one the client sent), which its log lines carry
        // and its answer returns, so a tablet's report can be found in the server's log. The
        // span names the method and path only: paths hold ids, never a name or an NHS number.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", id, method = %req.method(), path = req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
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

/// A sync request: the credential is checked before a byte of the body is read, and the body
/// is then read within the size and time the central record allows.
async fn sync(
    State(c): State<Arc<Central>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Reply<Response> {
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
    let device = {
        let c = c.clone();
        blocking(move || c.authenticate(token.as_deref())).await?
    };
    let limits = c.limits();
    let body = match tokio::time::timeout(
        limits.body_timeout,
        axum::body::to_bytes(body, limits.max_request_bytes),
    )
    .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            return Err(Failure(api_error(
                ApiCode::Limited,
                format!(
                    "The sync message is larger than the central record takes in one request \
                     ({} MB); nothing was stored.",
                    limits.max_request_bytes / (1024 * 1024)
                ),
            )))
        }
        Err(_) => {
            return Err(Failure(api_error(
                ApiCode::Unavailable,
                "The sync message arrived too slowly and was dropped; nothing was stored. Try \
                 again on a better connection.",
            )))
        }
    };
    c.charge(&device, body.len() as u64, 0)?;
    let reply = blocking(move || {
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

/// The audit trail of one document: which enrolled device sent each change.
async fn change_senders(
    State(c): State<Arc<Central>>,
    headers: HeaderMap,
    Path((home, doc)): Path<(String, String)>,
) -> Reply<Response> {
    admin(&c, &headers)?;
    Ok(Json(blocking(move || c.change_senders(&home, &doc)).await?).into_response())
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
    serve_bounded(listener, central, shutdown).await
}

/// Serves until the listener fails or `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    central: Arc<Central>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_bounded(listener, central, shutdown).await
}

/// How long a stopping server waits for the requests under way.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves the router on `listener` within the central record's [`crate::Limits`]: at most
/// `max_connections` connections at once (the rest wait in the listen queue, so a flood of
/// idle or slow clients cannot take every file descriptor), and each request's headers within
/// `header_timeout` (a client that sends them slowly is disconnected). Bodies are bounded by
/// the handlers, after the credential is checked.
async fn serve_bounded<L: axum::serve::Listener>(
    mut listener: L,
    central: Arc<Central>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let limits = central.limits();
    let app = router(central);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
            () = &mut shutdown => break,
        };
        let (io, _) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(io), service);
            // A connection that ends badly (reset, timed out) concerns only its client.
            let _ = connection.await;
            drop(slot);
        });
    }
    // Let the requests under way finish, for a while.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(STOP_GRACE, slots.acquire_many(all)).await;
    Ok(())
}
