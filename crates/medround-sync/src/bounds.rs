//! What an incoming Automerge sync message may claim, checked before Automerge acts on it.
//!
//! Automerge 0.12 trusts the parameters a peer sends with its Bloom filter. A filter that
//! claims entries but zero bits per entry has no bits, and Automerge divides by their number
//! (`sync/bloom.rs`, `get_probes`): one 100-byte message panicked the central record. One
//! that claims fifty million probes held the storage lock for seconds; one that claims a
//! billion asked for 4 GB. So the parameters, and the counts of everything a message lists,
//! are bounded here, after it is decoded and before it reaches a document.

use automerge::sync::Message;

/// Automerge writes 10 bits per entry and 7 probes (a 1% false-positive rate); these bounds
/// leave room for another implementation's choices and refuse what no honest peer sends.
pub const MAX_BITS_PER_ENTRY: u64 = 64;
pub const MAX_PROBES: u64 = 32;
/// More entries than any home's document holds changes.
pub const MAX_BLOOM_ENTRIES: u64 = 10_000_000;
/// Heads and needs a message may list, and the Bloom filters it may carry.
pub const MAX_HASHES: usize = 100_000;
pub const MAX_HAVES: usize = 16;
/// Change chunks one message may carry (a document's changes arrive as one chunk, or one per
/// change from an older peer).
pub const MAX_CHUNKS: usize = 100_000;

/// Reads an unsigned LEB128 number from the front of `bytes`.
fn leb128(bytes: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Why a decoded message is refused, in words for the log and the peer (never a panic's).
pub fn check(msg: &Message) -> Result<(), String> {
    if msg.heads.len() > MAX_HASHES || msg.need.len() > MAX_HASHES {
        return Err(format!(
            "it lists {} heads and {} needed changes; at most {MAX_HASHES} each",
            msg.heads.len(),
            msg.need.len()
        ));
    }
    if msg.changes.len() > MAX_CHUNKS {
        return Err(format!(
            "it carries {} change chunks; at most {MAX_CHUNKS}",
            msg.changes.len()
        ));
    }
    if msg.have.len() > MAX_HAVES {
        return Err(format!(
            "it carries {} Bloom filters; at most {MAX_HAVES}",
            msg.have.len()
        ));
    }
    for have in &msg.have {
        if have.last_sync.len() > MAX_HASHES {
            return Err("its last-sync heads are too many".into());
        }
        let bytes = have.bloom.to_bytes();
        let mut rest = bytes.as_slice();
        if rest.is_empty() {
            // No entries: Automerge writes nothing and never probes it.
            continue;
        }
        let (Some(entries), Some(bits), Some(probes)) =
            (leb128(&mut rest), leb128(&mut rest), leb128(&mut rest))
        else {
            return Err("its Bloom filter is cut short".into());
        };
        if entries > MAX_BLOOM_ENTRIES
            || !(1..=MAX_BITS_PER_ENTRY).contains(&bits)
            || !(1..=MAX_PROBES).contains(&probes)
        {
            return Err(format!(
                "its Bloom filter claims {entries} entries, {bits} bits per entry and {probes} \
                 probes; at most {MAX_BLOOM_ENTRIES}, 1-{MAX_BITS_PER_ENTRY} and \
                 1-{MAX_PROBES}"
            ));
        }
        if rest.is_empty() {
            return Err("its Bloom filter has no bits".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    /// A real first sync message of a document with one change: it carries a Bloom filter.
    fn honest() -> Vec<u8> {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "k", "v").unwrap();
        let mut state = automerge::sync::State::new();
        let message = doc.sync().generate_sync_message(&mut state).unwrap();
        message.encode()
    }

    /// The same message with its first Bloom filter's parameters replaced.
    fn with_bloom(entries: u64, bits: u64, probes: u64, body: &[u8]) -> Vec<u8> {
        // type byte, heads (count + 32-byte hashes), need (count), have count, then one have:
        // last_sync (count + hashes) and the filter as length-prefixed bytes, then changes.
        let mut out = vec![0x42, 0, 0, 1, 0];
        let mut filter = Vec::new();
        for v in [entries, bits, probes] {
            push_leb(&mut filter, v);
        }
        filter.extend_from_slice(body);
        push_leb(&mut out, filter.len() as u64);
        out.extend(filter);
        out.push(0); // no changes
        out
    }

    fn push_leb(out: &mut Vec<u8>, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    #[test]
    fn an_honest_message_passes() {
        // A peer that has synced before sends a filter of what it has.
        let mut a = AutoCommit::new();
        a.put(ROOT, "k", "v").unwrap();
        let mut b = AutoCommit::new();
        let (mut sa, mut sb) = (automerge::sync::State::new(), automerge::sync::State::new());
        for _ in 0..4 {
            if let Some(m) = a.sync().generate_sync_message(&mut sa) {
                let m = Message::decode(&m.encode()).unwrap();
                assert_eq!(check(&m), Ok(()));
                b.sync().receive_sync_message(&mut sb, m).unwrap();
            }
            if let Some(m) = b.sync().generate_sync_message(&mut sb) {
                let m = Message::decode(&m.encode()).unwrap();
                assert_eq!(check(&m), Ok(()));
                a.sync().receive_sync_message(&mut sa, m).unwrap();
            }
        }
        assert_eq!(check(&Message::decode(&honest()).unwrap()), Ok(()));
        assert_eq!(
            check(&Message::decode(&with_bloom(3, 10, 7, &[0; 4])).unwrap()),
            Ok(())
        );
    }

    #[test]
    fn a_bloom_filter_automerge_would_divide_by_zero_on_or_allocate_gigabytes_for_is_refused() {
        for (entries, bits, probes) in [
            (5u64, 0u64, 7u64),     // no bits: Automerge's modulo is zero
            (5, 10, 0),             // no probes
            (5, 10, 50_000_000),    // seconds of probing
            (5, 10, 1_000_000_000), // a 4 GB probe list
            (5, 1_000, 7),
        ] {
            // As many bytes of bits as the parameters say, which Automerge insists on.
            let body = vec![0u8; (entries * bits).div_ceil(8) as usize];
            let bytes = with_bloom(entries, bits, probes, &body);
            // Automerge decodes it without complaint: the check is what stands in the way.
            let m = Message::decode(&bytes).expect("Automerge decodes it");
            assert!(check(&m).is_err(), "{entries} {bits} {probes}");
        }
    }

    /// What the check guards against, shown on Automerge itself: a document answering a
    /// filter with entries and no bits divides by zero. When an Automerge release fixes it,
    /// this test says so, and the bound can be revisited (the case to send upstream).
    #[test]
    fn automerge_0_12_divides_by_zero_on_a_filter_with_no_bits() {
        let m = Message::decode(&with_bloom(5, 0, 7, &[])).unwrap();
        let outcome = std::panic::catch_unwind(move || {
            let mut doc = AutoCommit::new();
            doc.put(ROOT, "k", "v").unwrap();
            let mut state = automerge::sync::State::new();
            doc.sync().receive_sync_message(&mut state, m).unwrap();
            let answer = doc.sync().generate_sync_message(&mut state);
            answer.map(|m| m.encode())
        });
        assert!(outcome.is_err(), "Automerge no longer panics: {outcome:?}");
    }

    #[test]
    fn leb128_reads_what_it_is_given_and_no_further() {
        let mut b: &[u8] = &[0xe5, 0x8e, 0x26, 9];
        assert_eq!(leb128(&mut b), Some(624_485));
        assert_eq!(b, &[9]);
        let mut cut: &[u8] = &[0x80];
        assert_eq!(leb128(&mut cut), None);
    }
}
