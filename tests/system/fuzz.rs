//! A bounded fuzzing harness on stable Rust: random mutations of real inputs, run through the
//! code that reads what arrives from devices, which must answer every one of them (a refusal is
//! an answer) and never panic:
//! - the envelope decoder (`Envelope::decode`);
//! - a whole sync step on the central record's side (`medround_sync::serve`: the envelope,
//!   Automerge's sync messages, the bounds checked before Automerge sees them);
//! - the checks of arriving changes (`check_changes`), on documents rebuilt from mutated bytes.
//!
//! The mutations come from a fixed seed, so a run in CI is the same every time; set
//! `MEDROUND_FUZZ_SEED` and `MEDROUND_FUZZ_ROUNDS` to search further. Every input that ever
//! made one of these panic is kept in `tests/fuzz/regressions/` (named for its target) and
//! replayed first. A new one is written to `target/fuzz-crashes/` to be kept there.

use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use medround_store::{check_changes, Arrival, Roster};
use medround_sync::memory::MemoryReplica;
use medround_sync::wire::{Envelope, Kind};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// A small, fast generator (xorshift64*): the harness needs spread, not secrecy.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One random change to `input`: bits flipped, bytes set to edge values, bytes inserted,
/// removed or repeated, or a piece of another seed spliced in.
fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] = [0, 1, 0x7f, 0x80, 0xff][rng.below(5)];
            }
            2 => out.insert(at, rng.next() as u8),
            3 if !out.is_empty() => {
                let n = rng.below(8).min(out.len() - at.min(out.len()));
                out.drain(at.min(out.len())..at.min(out.len()) + n);
            }
            4 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                let piece: Vec<u8> = out[i..(i + 1 + rng.below(16)).min(out.len())].to_vec();
                out.splice(i..i, piece);
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let to = (from + 1 + rng.below(64)).min(other.len());
                    out.splice(at..at, other[from..to].iter().copied());
                }
            }
            _ => {
                // A LEB128 that claims a huge number, where Automerge reads lengths and counts.
                out.splice(at..at, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
        }
    }
    out
}

/// A home document with staff, and a cycle document with a record, as a tablet writes them.
fn seed_docs() -> (AutoCommit, AutoCommit) {
    let mut home = AutoCommit::new();
    let staff = medround_domain::staff::Staff {
        id: medround_domain::StaffId::new("st-amy"),
        name: "Amy Carter".into(),
        initials: "AC".into(),
        role: medround_domain::staff::Role::Carer,
        medication_trained: true,
        homely_authorised: false,
        active: true,
    };
    home.put(ROOT, "staff/st-amy", serde_json::to_string(&staff).unwrap())
        .unwrap();
    home.put(ROOT, "home/name", "\"Larch House\"").unwrap();
    home.commit();
    let mut cycle = AutoCommit::new();
    let incident = medround_store::Item::Incident(medround_domain::incident::Incident {
        id: medround_domain::RecordId::new("inc-1"),
        resident: medround_domain::ResidentId::new("res-01"),
        kind: medround_domain::incident::IncidentKind::NoStock,
        records: vec![],
        message: "Out of stock".into(),
        raised_at: "2026-11-23T08:00:00Z".parse().unwrap(),
        device: medround_domain::DeviceId::new("dev-a"),
    });
    cycle
        .put(
            ROOT,
            "incident/inc-1",
            serde_json::to_string(&incident).unwrap(),
        )
        .unwrap();
    cycle.commit();
    (home, cycle)
}

/// Real inputs to start from: envelopes of a first exchange and of one with changes.
fn seed_envelopes(home: &mut AutoCommit, cycle: &mut AutoCommit) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut states = [automerge::sync::State::new(), automerge::sync::State::new()];
    let mut server = MemoryReplica::new("central");
    for round in 0..3 {
        let mut docs = Vec::new();
        for ((id, doc), state) in [("home", &mut *home), ("cycle:res-01:700", &mut *cycle)]
            .into_iter()
            .zip(states.iter_mut())
        {
            if let Some(m) = doc.sync().generate_sync_message(state) {
                docs.push((id.to_string(), m.encode()));
            }
        }
        let env = Envelope {
            kind: Kind::Request,
            cursor: 0,
            flag: round == 2,
            start: round == 0,
            docs,
        }
        .encode();
        out.push(env.clone());
        let Ok(reply) = medround_sync::serve(&mut server, &env) else {
            break;
        };
        let reply = Envelope::decode(&reply).unwrap();
        out.push(Envelope::decode(&env).map(|e| e.encode()).unwrap());
        for (id, m) in reply.docs {
            let (doc, state) = if id == "home" {
                (&mut *home, &mut states[0])
            } else {
                (&mut *cycle, &mut states[1])
            };
            let _ = doc
                .sync()
                .receive_sync_message(state, automerge::sync::Message::decode(&m).unwrap());
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Decode,
    Serve,
    Check,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Decode => "decode",
            Target::Serve => "serve",
            Target::Check => "check",
        }
    }
}

/// Runs one input through a target; a panic is the only failure.
fn run(target: Target, input: &[u8], roster: &Roster) -> bool {
    catch_unwind(AssertUnwindSafe(|| match target {
        Target::Decode => {
            let _ = Envelope::decode(input);
        }
        Target::Serve => {
            // The central record holds documents with changes of its own, so that a message's
            // Bloom filter and needs are read against them.
            let mut server = MemoryReplica::new("central");
            for (doc, key) in [
                ("home", "home/name"),
                ("home", "unit/oak"),
                ("cycle:res-01:700", "incident/inc-2"),
            ] {
                server.put(doc, key, "\"held by the central record\"");
            }
            let _ = medround_sync::serve(&mut server, input);
        }
        Target::Check => {
            if let Ok(mut doc) = AutoCommit::load(input) {
                let arrival = Arrival {
                    sender: Some("dev-central-1"),
                    now: Some("2026-11-23T09:00:00Z".parse().unwrap()),
                    roster,
                };
                for id in ["home", "cycle:res-01:700", "resident:res-01"] {
                    let _ = check_changes(id, &mut doc, &[], &arrival);
                }
            }
        }
    }))
    .is_ok()
}

fn regressions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions")
}

#[test]
fn fuzz_what_arrives_from_devices_is_answered_and_never_panics() {
    let (mut home, mut cycle) = seed_docs();
    let roster = Roster::of_home(&home).unwrap();
    let envelopes = seed_envelopes(&mut home.clone(), &mut cycle.clone());
    let saved = vec![home.save(), cycle.save()];
    // Kept crashes first: each must now be answered.
    let mut replayed = 0;
    for entry in std::fs::read_dir(regressions()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        for target in [Target::Decode, Target::Serve, Target::Check] {
            if name.starts_with(target.name()) {
                assert!(run(target, &input, &roster), "{name} panics again");
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 1, "the kept regressions were replayed");
    let seed: u64 = std::env::var("MEDROUND_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f0ed_5afe_0001);
    let rounds: usize = std::env::var("MEDROUND_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let mut rng = Rng(seed | 1);
    let mut crashes = Vec::new();
    for (target, seeds) in [
        (Target::Decode, &envelopes),
        (Target::Serve, &envelopes),
        (Target::Check, &saved),
    ] {
        for _ in 0..rounds {
            let base = &seeds[rng.below(seeds.len())];
            let input = match Envelope::decode(base) {
                // Most of the time the envelope stays whole and what it carries changes, so
                // that the mutations reach Automerge rather than stop at the framing.
                Ok(mut env)
                    if target == Target::Serve && !env.docs.is_empty() && rng.below(4) > 0 =>
                {
                    let i = rng.below(env.docs.len());
                    let inner: Vec<Vec<u8>> = env.docs.iter().map(|(_, m)| m.clone()).collect();
                    env.docs[i].1 = mutate(&mut rng, &env.docs[i].1, &inner);
                    env.encode()
                }
                _ => mutate(&mut rng, base, seeds),
            };
            if !run(target, &input, &roster) {
                let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-crashes");
                std::fs::create_dir_all(&dir).unwrap();
                let name = format!("{}-{:016x}.bin", target.name(), rng.next());
                std::fs::write(dir.join(&name), &input).unwrap();
                crashes.push(name);
            }
        }
    }
    assert!(
        crashes.is_empty(),
        "inputs that panic, kept in target/fuzz-crashes (move each to tests/fuzz/regressions \
         once it is answered): {crashes:?}"
    );
}
