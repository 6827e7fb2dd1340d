//! The HTTP interface between a tablet and the central record: paths, the enrolment exchange and
//! the error body. Both sides use these types, so an error is told apart by its code, never by
//! its wording.

use serde::{Deserialize, Serialize};

/// `POST`: a tablet exchanges a one-time code for its own credential.
pub const ENROL_PATH: &str = "/v1/enrol";
/// `POST`, `Authorization: Bearer <credential>`: one sync request (an envelope) in, one reply out.
pub const SYNC_PATH: &str = "/v1/sync";
/// `GET`: answers `ok` when the central record is up.
pub const HEALTH_PATH: &str = "/v1/health";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub code: String,
    /// What the manager will see in the device list ("Oak unit tablet").
    pub device_name: String,
}

/// What a tablet keeps after enrolling: the credential is shown nowhere and sent only to the
/// central record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub device: String,
    pub home: String,
    pub home_name: String,
    pub credential: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiCode {
    /// The enrolment code is unknown, used or expired.
    BadCode,
    /// No credential, or one the central record does not know.
    Unauthorised,
    /// The device was revoked by a manager.
    Revoked,
    /// The request is not a well-formed sync message.
    Malformed,
    /// The records in the message were refused; nothing was stored.
    Refused,
    /// An admin request that is not allowed.
    Forbidden,
    NotFound,
    /// The central record could not store or read; try again later.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ApiCode,
    pub message: String,
}
