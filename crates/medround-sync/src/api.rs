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
    /// The Automerge actor (hex, a fresh random one) the tablet will write with from now on:
    /// the central record binds it to the device, and refuses it from any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
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
    /// The device has sent more than a day allows, or too large a request; the message says
    /// which, and a rate says when to try again (`Retry-After`).
    Limited,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ApiCode,
    pub message: String,
    /// For a rate: the seconds until the device may try again (also the `Retry-After` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// Sync bodies travel gzipped both ways (`Content-Encoding: gzip`, asked for with
/// `Accept-Encoding: gzip`). A day's records, sent as Automerge changes, are mostly JSON text,
/// which the changes carry uncompressed; gzip takes a tablet's day from about 1.1 MB to a
/// tenth of that on the care home's connection.
pub const GZIP: &str = "gzip";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("the compressed body is damaged: {0}")]
    Corrupt(String),
    #[error("the body is larger than {0} bytes once uncompressed")]
    TooLarge(u64),
}

/// Compresses a sync body. The fast level: the links are slow, but the tablets are too, and a
/// sync must not hold the bedside for long.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    e.write_all(bytes).expect("in memory");
    e.finish().expect("in memory")
}

/// Uncompresses a sync body, refusing one that is damaged or would grow past `limit` bytes (a
/// small hostile body can inflate to gigabytes).
pub fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, BodyError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Corrupt(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_round_trips_and_damaged_or_inflating_ones_are_refused() {
        let body = b"{\"record\":\"administration\"}".repeat(1000);
        let packed = gzip(&body);
        assert!(packed.len() * 10 < body.len(), "{} bytes", packed.len());
        assert_eq!(gunzip(&packed, 1 << 20).unwrap(), body);
        // Cut short, or not gzip at all.
        assert!(matches!(
            gunzip(&packed[..packed.len() / 2], 1 << 20),
            Err(BodyError::Corrupt(_))
        ));
        assert!(matches!(
            gunzip(b"not gzip", 1 << 20),
            Err(BodyError::Corrupt(_))
        ));
        // A body far under the limit that would inflate far past it stops at the limit.
        let bomb = gzip(&vec![0u8; 8 << 20]);
        assert!(bomb.len() < (1 << 20) / 8, "{} bytes", bomb.len());
        assert_eq!(gunzip(&bomb, 1 << 20), Err(BodyError::TooLarge(1 << 20)));
        assert_eq!(gunzip(&bomb, 8 << 20).unwrap().len(), 8 << 20);
    }
}
