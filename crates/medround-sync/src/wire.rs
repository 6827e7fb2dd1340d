//! The bytes on the wire: one envelope per HTTP request or reply, carrying Automerge sync
//! messages for many documents at once.
//!
//! ```text
//! "MRS" version:u8 kind:u8 cursor:u64 flags:u8 count:u32
//!   count x ( id_len:u16 id:utf8  msg_len:u32 msg )
//! ```
//! All integers are big-endian. Everything is checked before anything is used: a message from
//! a broken or hostile peer is refused whole, with a reason, and touches no document.

use crate::SyncError;

pub const MAGIC: &[u8; 3] = b"MRS";
pub const VERSION: u8 = 1;
/// The most documents in one envelope. A page of the change feed is far smaller.
pub const MAX_DOCS: usize = 10_000;
/// The largest single Automerge sync message accepted (a year of one resident is ~2 MB).
pub const MAX_MESSAGE: usize = 32 * 1024 * 1024;
/// The largest envelope accepted.
pub const MAX_ENVELOPE: usize = 64 * 1024 * 1024;
const MAX_ID: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Tablet to central record.
    Request = 1,
    /// Central record to tablet.
    Reply = 2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub kind: Kind,
    /// In a request: how far into the central record's change feed this tablet has synced.
    /// In a reply: the feed position the documents of this reply bring the tablet to.
    pub cursor: u64,
    /// In a request: the tablet wants the next page of the change feed.
    /// In a reply: more of the feed follows this page.
    pub flag: bool,
    /// In a request: the first of a new exchange, so the other side starts its sync states
    /// afresh from what it stored.
    pub start: bool,
    pub docs: Vec<(String, Vec<u8>)>,
}

/// A document id names a document in one home: `home`, `resident:<id>`, `cycle:<id>:<n>`.
/// Only lowercase words and `[A-Za-z0-9._-]` parts separated by `:` are accepted, so an id can
/// never reach outside its home's namespace or be mistaken for another.
pub fn valid_doc_id(id: &str) -> bool {
    let mut parts = id.split(':');
    let Some(head) = parts.next() else {
        return false;
    };
    !id.is_empty()
        && id.len() <= MAX_ID
        && !head.is_empty()
        && head.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

impl Envelope {
    pub fn encode(&self) -> Vec<u8> {
        let size: usize = self.docs.iter().map(|(i, m)| 6 + i.len() + m.len()).sum();
        let mut out = Vec::with_capacity(18 + size);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.cursor.to_be_bytes());
        out.push(u8::from(self.flag) | (u8::from(self.start) << 1));
        out.extend_from_slice(&(self.docs.len() as u32).to_be_bytes());
        for (id, msg) in &self.docs {
            out.extend_from_slice(&(id.len() as u16).to_be_bytes());
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
            out.extend_from_slice(msg);
        }
        out
    }

    /// The feed position and the start flag of an envelope, read from its fixed header alone
    /// (the rest is not checked).
    pub fn cursor_and_start(bytes: &[u8]) -> Option<(u64, bool)> {
        if bytes.len() < 14 || &bytes[..3] != MAGIC || bytes[3] != VERSION {
            return None;
        }
        let cursor = u64::from_be_bytes(bytes[5..13].try_into().ok()?);
        Some((cursor, bytes[13] & 2 == 2))
    }

    pub fn decode(bytes: &[u8]) -> Result<Envelope, SyncError> {
        if bytes.len() > MAX_ENVELOPE {
            return Err(SyncError::Malformed("the message is too large".into()));
        }
        let mut r = Reader { bytes, at: 0 };
        if r.take(3)? != MAGIC {
            return Err(SyncError::Malformed("not a Medround sync message".into()));
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(SyncError::Version(version));
        }
        let kind = match r.u8()? {
            1 => Kind::Request,
            2 => Kind::Reply,
            k => return Err(SyncError::Malformed(format!("unknown message kind {k}"))),
        };
        let cursor = u64::from_be_bytes(r.take(8)?.try_into().expect("8 bytes"));
        let flags = r.u8()?;
        if flags > 3 {
            return Err(SyncError::Malformed(format!("unknown flags {flags}")));
        }
        let (flag, start) = (flags & 1 == 1, flags & 2 == 2);
        let count = r.u32()? as usize;
        if count > MAX_DOCS {
            return Err(SyncError::Malformed(format!(
                "{count} documents in one message"
            )));
        }
        let mut docs: Vec<(String, Vec<u8>)> = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            let len = r.u16()? as usize;
            let id = std::str::from_utf8(r.take(len)?)
                .map_err(|_| SyncError::Malformed("a document id is not text".into()))?;
            if !valid_doc_id(id) {
                return Err(SyncError::Malformed(format!("bad document id {id:?}")));
            }
            let len = r.u32()? as usize;
            if len > MAX_MESSAGE {
                return Err(SyncError::Malformed(format!(
                    "the message for {id} is too large"
                )));
            }
            let msg = r.take(len)?.to_vec();
            if docs.iter().any(|(d, _)| d == id) {
                return Err(SyncError::Malformed(format!("{id} appears twice")));
            }
            docs.push((id.to_string(), msg));
        }
        if r.at != bytes.len() {
            return Err(SyncError::Malformed(
                "bytes after the end of the message".into(),
            ));
        }
        Ok(Envelope {
            kind,
            cursor,
            flag,
            start,
            docs,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SyncError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| SyncError::Malformed("the message ends early".into()))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, SyncError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, SyncError> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, SyncError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            kind: Kind::Request,
            cursor: 42,
            flag: true,
            start: true,
            docs: vec![
                ("resident:res-01".into(), vec![1, 2, 3]),
                ("cycle:res-01:713".into(), vec![]),
            ],
        }
    }

    #[test]
    fn envelopes_round_trip() {
        let e = sample();
        assert_eq!(Envelope::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(Envelope::decode(&bytes[..n]).is_err(), "cut at {n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Envelope::decode(&long).is_err());
    }

    #[test]
    fn hostile_ids_and_sizes_are_refused() {
        for id in [
            "",
            "../home",
            "home:",
            "Home",
            "cycle:res 01:1",
            "resident:a/b",
            "x:\u{e9}",
        ] {
            let e = Envelope {
                docs: vec![(id.into(), vec![])],
                ..sample()
            };
            assert!(Envelope::decode(&e.encode()).is_err(), "{id:?}");
        }
        // A count far beyond what follows must not allocate or panic.
        let mut bytes = sample().encode();
        bytes[15..19].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Envelope::decode(&bytes).is_err());
        let mut other = sample().encode();
        other[3] = 9;
        assert!(matches!(
            Envelope::decode(&other),
            Err(SyncError::Version(9))
        ));
    }

    #[test]
    fn document_ids_follow_the_store_grammar() {
        for ok in ["home", "resident:res-01", "cycle:res-01:713"] {
            assert!(valid_doc_id(ok), "{ok}");
        }
    }
}
