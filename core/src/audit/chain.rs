//! The audit trail as a hash chain: the rules every writer and every verifier share.
//!
//! Record `n` holds the event, its sequence number `n`, the previous record's hash and its own
//! hash, SHA-256 over the canonical encoding of all of them (see [`canonical`]). Changing a
//! record breaks its own hash; removing or reordering records breaks a link; removing the
//! newest records is caught against the head (the highest `n` and its hash, kept apart from the
//! records and advanced in the same transaction). docs/audit.md has the threat model and a
//! known-answer vector, which `tests::known_answer` checks.
//!
//! Each record also carries when it was written and when the record before it was, so that a
//! prefix removed because its retention ended (the table's TTL) can be told apart from one
//! removed by someone: the first kept record says, under its hash, when its predecessor was
//! written.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::event::AuditEvent;

/// The previous hash of record 1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The version tag that starts every canonical encoding: a new encoding gets a new tag.
const VERSION: &str = "audit-chain-v1";

/// One link of the chain, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainRecord {
    pub seq: u64,
    pub prev_hash: String,
    /// When the previous record was written (0 for record 1), Unix seconds.
    pub prev_written_at: i64,
    /// When this record was written, Unix seconds; never before `prev_written_at`.
    pub written_at: i64,
    /// The event as canonical JSON ([`encode_event`]).
    pub event: String,
    pub hash: String,
}

/// The newest record's number, hash and time: what the next append links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
    pub written_at: i64,
}

impl ChainRecord {
    /// The head this record makes when it is the newest.
    pub fn as_head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.clone(),
            written_at: self.written_at,
        }
    }

    /// The event it holds.
    pub fn decoded(&self) -> Option<AuditEvent> {
        serde_json::from_str(&self.event).ok()
    }

    fn expected_hash(&self) -> String {
        record_hash(
            self.seq,
            &self.prev_hash,
            self.prev_written_at,
            self.written_at,
            &self.event,
        )
    }
}

/// The event's canonical JSON: its fields in declaration order, absent options left out, no
/// whitespace (serde_json's compact output of [`AuditEvent`]).
pub fn encode_event(event: &AuditEvent) -> Option<String> {
    serde_json::to_string(event).ok()
}

/// The bytes a record's hash covers: the version tag, then `n`, the previous hash, the two
/// times (decimal) and the event's canonical JSON, separated by newlines. Only the event can
/// contain a newline-free arbitrary text, and it comes last, so the encoding is unambiguous.
pub fn canonical(
    seq: u64,
    prev_hash: &str,
    prev_written_at: i64,
    written_at: i64,
    event: &str,
) -> Vec<u8> {
    format!("{VERSION}\n{seq}\n{prev_hash}\n{prev_written_at}\n{written_at}\n{event}").into_bytes()
}

/// Lower-case hex SHA-256 of [`canonical`].
pub fn record_hash(
    seq: u64,
    prev_hash: &str,
    prev_written_at: i64,
    written_at: i64,
    event: &str,
) -> String {
    let digest = Sha256::digest(canonical(
        seq,
        prev_hash,
        prev_written_at,
        written_at,
        event,
    ));
    crate::crypto::hex(&digest)
}

/// The record that appends `event` after `head` (none: the chain is empty) at `now`. Its time
/// never goes back, even if this writer's clock is behind the last one's.
pub fn link(head: Option<&Head>, event: &AuditEvent, now: i64) -> Option<ChainRecord> {
    let (seq, prev_hash, prev_written_at) = match head {
        Some(head) => (head.seq + 1, head.hash.clone(), head.written_at),
        None => (1, GENESIS.to_owned(), 0),
    };
    let written_at = now.max(prev_written_at);
    let event = encode_event(event)?;
    let hash = record_hash(seq, &prev_hash, prev_written_at, written_at, &event);
    Some(ChainRecord {
        seq,
        prev_hash,
        prev_written_at,
        written_at,
        event,
        hash,
    })
}

/// The first thing wrong with a trail, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breach {
    /// Records `from..=to` are not there (and their retention has not ended).
    Missing { from: u64, to: u64 },
    /// Record `seq`'s content does not hash to its hash (or its event is not canonical).
    Altered { seq: u64 },
    /// Record `seq` does not link to record `seq - 1` (hash or time).
    BrokenLink { seq: u64 },
    /// Two records claim number `seq`.
    Duplicate { seq: u64 },
    /// Record `seq` holds an event already recorded earlier.
    Rerecorded { seq: u64 },
    /// There are records but no head.
    NoHead,
    /// The head names `head` but the newest record is `last`, or their hashes differ.
    HeadMismatch { head: u64, last: u64 },
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { from, to } if from == to => write!(f, "record {from} is missing"),
            Self::Missing { from, to } => write!(f, "records {from} to {to} are missing"),
            Self::Altered { seq } => {
                write!(f, "record {seq} was altered (its hash does not match)")
            }
            Self::BrokenLink { seq } => {
                write!(f, "record {seq} does not link to record {}", seq - 1)
            }
            Self::Duplicate { seq } => write!(f, "record {seq} exists twice"),
            Self::Rerecorded { seq } => write!(f, "record {seq} repeats an event already recorded"),
            Self::NoHead => write!(f, "there are records but no head"),
            Self::HeadMismatch { head, last } => write!(
                f,
                "the head names record {head} but the newest record is {last} (or their hashes differ)"
            ),
        }
    }
}

/// What a sound trail holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The oldest record kept (1 unless older ones reached the end of their retention).
    pub first: u64,
    /// The head (0: empty).
    pub last: u64,
}

/// When records may be gone because their retention ended.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub seconds: i64,
    pub now: i64,
}

/// Checks `records` (any order) against `head`: contiguous from 1 (or from the first record
/// whose predecessor's retention has ended) to the head, every hash and link sound, every event
/// canonical and recorded once, the head equal to the newest record.
pub fn verify(
    records: &[ChainRecord],
    head: Option<&Head>,
    retention: Option<Retention>,
) -> Result<Verified, Breach> {
    let mut sorted: Vec<&ChainRecord> = records.iter().collect();
    sorted.sort_by_key(|r| r.seq);
    let Some(head) = head else {
        return match sorted.first() {
            None => Ok(Verified { first: 0, last: 0 }),
            Some(_) => Err(Breach::NoHead),
        };
    };
    let expired =
        |written_at: i64| retention.is_some_and(|r| written_at.saturating_add(r.seconds) <= r.now);
    let Some(first) = sorted.first() else {
        // Every record gone: only acceptable if even the newest one's retention ended.
        return if head.seq == 0 || expired(head.written_at) {
            Ok(Verified {
                first: head.seq + 1,
                last: head.seq,
            })
        } else {
            Err(Breach::Missing {
                from: 1,
                to: head.seq,
            })
        };
    };
    if first.seq > 1 && !expired(first.prev_written_at) {
        return Err(Breach::Missing {
            from: 1,
            to: first.seq - 1,
        });
    }
    let mut seen = HashSet::new();
    let mut previous: Option<&ChainRecord> = None;
    for record in &sorted {
        if let Some(prev) = previous {
            if record.seq == prev.seq {
                return Err(Breach::Duplicate { seq: record.seq });
            }
            if record.seq > prev.seq + 1 {
                return Err(Breach::Missing {
                    from: prev.seq + 1,
                    to: record.seq - 1,
                });
            }
        }
        let canonical_event = record.decoded().as_ref().and_then(encode_event);
        if canonical_event.as_deref() != Some(record.event.as_str())
            || record.expected_hash() != record.hash
        {
            return Err(Breach::Altered { seq: record.seq });
        }
        let linked = match previous {
            Some(prev) => {
                record.prev_hash == prev.hash && record.prev_written_at == prev.written_at
            }
            None if record.seq == 1 => record.prev_hash == GENESIS && record.prev_written_at == 0,
            None => true,
        };
        if !linked || record.written_at < record.prev_written_at {
            return Err(Breach::BrokenLink { seq: record.seq });
        }
        if let Some(event) = record.decoded()
            && !seen.insert(event.id)
        {
            return Err(Breach::Rerecorded { seq: record.seq });
        }
        previous = Some(record);
    }
    let last = previous.map_or(0, |r| r.seq);
    if head.seq > last {
        return Err(Breach::Missing {
            from: last + 1,
            to: head.seq,
        });
    }
    if previous.is_some_and(|r| r.as_head() != *head) {
        return Err(Breach::HeadMismatch {
            head: head.seq,
            last,
        });
    }
    Ok(Verified {
        first: first.seq,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, AuditKind};

    fn event(id: &str, kind: AuditKind) -> AuditEvent {
        AuditEvent {
            id: id.to_owned(),
            at: 1_700_000_000,
            kind,
            actor: Actor::Person,
            user_id: Some("00112233445566778899aabbccddeeff".to_owned()),
            registration_id: None,
            reason: None,
            request_id: None,
        }
    }

    /// A chain of `n` records, written one second apart.
    fn chain(n: u64) -> (Vec<ChainRecord>, Head) {
        let mut records: Vec<ChainRecord> = Vec::new();
        for i in 1..=n {
            let head = records.last().map(ChainRecord::as_head);
            let e = event(&format!("{i:032x}"), AuditKind::LoginSucceeded);
            records.push(link(head.as_ref(), &e, 1_700_000_000 + i as i64).unwrap());
        }
        let head = records.last().unwrap().as_head();
        (records, head)
    }

    #[test]
    fn known_answer() {
        // given the event of docs/audit.md's known-answer vector as record 1
        let e = AuditEvent {
            id: "0123456789abcdef0123456789abcdef".to_owned(),
            at: 1_700_000_000,
            kind: AuditKind::RegistrationCompleted,
            actor: Actor::System,
            user_id: Some("00112233445566778899aabbccddeeff".to_owned()),
            registration_id: Some("ffeeddccbbaa99887766554433221100".to_owned()),
            reason: None,
            request_id: None,
        };
        // when it is linked at 1700000005 to an empty chain
        let record = link(None, &e, 1_700_000_005).unwrap();
        // then the encoding and the hash are the documented ones
        assert_eq!(
            record.event,
            r#"{"id":"0123456789abcdef0123456789abcdef","at":1700000000,"kind":"registration.completed","actor":{"type":"system"},"user_id":"00112233445566778899aabbccddeeff","registration_id":"ffeeddccbbaa99887766554433221100"}"#
        );
        assert_eq!(
            record.hash,
            "c065dadf4413ddc438b7d7aa71983ae279237a7a7afc073f843466671d81ffa8"
        );
    }

    #[test]
    fn a_sound_chain_verifies_from_1_to_the_head() {
        let (records, head) = chain(5);
        assert_eq!(
            verify(&records, Some(&head), None),
            Ok(Verified { first: 1, last: 5 })
        );
    }

    #[test]
    fn an_empty_trail_is_sound() {
        assert_eq!(verify(&[], None, None), Ok(Verified { first: 0, last: 0 }));
    }

    #[test]
    fn an_edited_event_is_named_as_altered() {
        // given a chain whose record 3 had its event edited
        let (mut records, head) = chain(5);
        records[2].event = records[2].event.replace("login.succeeded", "login.failed");
        // when verified, then record 3 is named
        assert_eq!(
            verify(&records, Some(&head), None),
            Err(Breach::Altered { seq: 3 })
        );
    }

    #[test]
    fn a_recomputed_hash_still_breaks_the_next_link() {
        // given record 3 edited and its own hash recomputed to hide it
        let (mut records, head) = chain(5);
        let r = &mut records[2];
        r.event = r.event.replace("login.succeeded", "login.failed");
        r.hash = r.expected_hash();
        // then record 4 no longer links to it
        assert_eq!(
            verify(&records, Some(&head), None),
            Err(Breach::BrokenLink { seq: 4 })
        );
    }

    #[test]
    fn a_deleted_record_is_named_as_missing() {
        let (mut records, head) = chain(5);
        records.remove(1);
        assert_eq!(
            verify(&records, Some(&head), None),
            Err(Breach::Missing { from: 2, to: 2 })
        );
    }

    #[test]
    fn reordering_is_caught_by_the_links() {
        // given records 2 and 3 swapped (numbers swapped with them, hashes kept)
        let (mut records, head) = chain(4);
        records[1].seq = 3;
        records[2].seq = 2;
        let breach = verify(&records, Some(&head), None).unwrap_err();
        assert!(matches!(breach, Breach::Altered { seq: 2 }), "{breach:?}");
    }

    #[test]
    fn truncation_of_the_newest_records_is_caught_against_the_head() {
        let (mut records, head) = chain(5);
        records.truncate(3);
        assert_eq!(
            verify(&records, Some(&head), None),
            Err(Breach::Missing { from: 4, to: 5 })
        );
    }

    #[test]
    fn a_head_that_does_not_match_the_newest_record_is_a_breach() {
        let (records, mut head) = chain(3);
        head.hash = GENESIS.to_owned();
        assert_eq!(
            verify(&records, Some(&head), None),
            Err(Breach::HeadMismatch { head: 3, last: 3 })
        );
    }

    #[test]
    fn a_prefix_is_accepted_as_expired_only_after_its_retention() {
        // given a chain whose records 1 and 2 are gone
        let (records, head) = chain(5);
        let kept = &records[2..];
        // when their retention has not ended, they are missing
        let early = Retention {
            seconds: 100,
            now: 1_700_000_050,
        };
        assert_eq!(
            verify(kept, Some(&head), Some(early)),
            Err(Breach::Missing { from: 1, to: 2 })
        );
        // when it has (record 2 was written at 1700000002), the rest verifies
        let late = Retention {
            seconds: 100,
            now: 1_700_000_102,
        };
        assert_eq!(
            verify(kept, Some(&head), Some(late)),
            Ok(Verified { first: 3, last: 5 })
        );
    }

    #[test]
    fn an_event_recorded_twice_is_a_breach() {
        let (mut records, _) = chain(2);
        let again = records[0].decoded().unwrap();
        let third = link(Some(&records[1].as_head()), &again, 1_700_000_009).unwrap();
        records.push(third);
        let head = records[2].as_head();
        assert_eq!(
            verify(&records, Some(&head), None),
            Err(Breach::Rerecorded { seq: 3 })
        );
    }

    #[test]
    fn time_never_goes_back_along_the_chain() {
        let (records, head) = chain(1);
        let next = link(Some(&head), &event("ab", AuditKind::LoggedOut), 5).unwrap();
        assert_eq!(next.written_at, records[0].written_at);
    }
}
