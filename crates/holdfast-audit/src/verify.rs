//! Walks an audit chain in order and names the first record that was modified, removed, inserted
//! or reordered, or the first signature that does not hold.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chain::{Checkpoint, SignedHead, StoredRecord, ZERO_HASH, parse_hash, record_hash};
use crate::event::AuditEvent;
use crate::keys::AuditKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A record's content no longer matches its hash.
    Modified,
    /// A record is missing from the sequence.
    Removed,
    /// A record that was never appended by Holdfast is in the chain.
    Inserted,
    /// A record sits at a position it was not written at.
    Reordered,
    /// A record does not link to the one before it.
    BrokenLink,
    /// A checkpoint or the signed head does not verify.
    BadSignature,
}

/// The first thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    pub kind: ProblemKind,
    /// The record named as tampered with.
    pub seq: u64,
    pub message: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyReport {
    pub ok: bool,
    pub records_checked: u64,
    pub last_seq: u64,
    /// Hex hash of the last record checked.
    pub head_hash: String,
    pub checkpoints_verified: u64,
    pub problem: Option<Problem>,
}

/// Incremental verifier: feed records in ascending `seq` order, then call [`Verifier::finish`].
#[derive(Debug)]
pub struct Verifier {
    keys: BTreeMap<String, AuditKey>,
    checkpoints: BTreeMap<u64, Checkpoint>,
    expected_seq: u64,
    prev_hash: [u8; 32],
    records: u64,
    checkpoints_verified: u64,
    problem: Option<Problem>,
}

impl Verifier {
    /// A verifier trusting `keys` and checking `checkpoints` along the way.
    pub fn new(keys: Vec<AuditKey>, checkpoints: Vec<Checkpoint>) -> Self {
        Self {
            keys: keys.into_iter().map(|k| (k.key_id.clone(), k)).collect(),
            checkpoints: checkpoints.into_iter().map(|c| (c.seq, c)).collect(),
            expected_seq: 1,
            prev_hash: ZERO_HASH,
            records: 0,
            checkpoints_verified: 0,
            problem: None,
        }
    }

    fn fail(&mut self, kind: ProblemKind, seq: u64, message: String) -> bool {
        self.problem = Some(Problem { kind, seq, message });
        false
    }

    fn signature_holds(&self, cp: &Checkpoint) -> bool {
        self.keys.get(&cp.key_id).is_some_and(|k| k.verifies(cp))
    }

    fn head_signature_holds(&self, head: &SignedHead) -> bool {
        self.keys
            .get(&head.key_id)
            .is_some_and(|k| k.verifies_head(head))
    }

    /// Checks the next record. Returns false once a problem has been found; later records are not
    /// looked at, since the first problem is the one that matters.
    pub fn push(&mut self, rec: &StoredRecord) -> bool {
        if self.problem.is_some() {
            return false;
        }
        let seq = rec.seq;
        let expected = self.expected_seq;
        if seq > expected {
            let msg = if expected == 1 {
                format!("record {expected} was removed: the log starts at record {seq}")
            } else {
                format!(
                    "record {expected} was removed: the log jumps from record {} to record {seq}",
                    expected - 1
                )
            };
            return self.fail(ProblemKind::Removed, expected, msg);
        }
        if seq < expected {
            return self.fail(ProblemKind::Reordered, seq, format!("record {seq} appears again after record {}: records were reordered or duplicated", expected - 1));
        }
        let Some(stored_hash) = parse_hash(&rec.hash) else {
            return self.fail(
                ProblemKind::Modified,
                seq,
                format!("record {seq} was modified: its stored hash is not a SHA-256 hash"),
            );
        };
        let Some(prev) = parse_hash(&rec.prev_hash) else {
            return self.fail(ProblemKind::Modified, seq, format!("record {seq} was modified: its link to the previous record is not a SHA-256 hash"));
        };
        if record_hash(seq, &prev, &rec.body) != stored_hash {
            return self.fail(
                ProblemKind::Modified,
                seq,
                format!("record {seq} was modified: its content does not match its hash (edited, or swapped with another record)"),
            );
        }
        if prev != self.prev_hash {
            let msg = if seq == 1 {
                format!("record {seq} was inserted: the first record must link to nothing")
            } else {
                format!(
                    "record {seq} does not link to record {}: record {} was rewritten and re-hashed, or record {seq} was inserted or moved",
                    seq - 1,
                    seq - 1
                )
            };
            return self.fail(ProblemKind::BrokenLink, seq, msg);
        }
        if serde_json::from_str::<AuditEvent>(&rec.body).is_err() {
            return self.fail(
                ProblemKind::Inserted,
                seq,
                format!("record {seq} was inserted: its body is not an audit event Holdfast wrote"),
            );
        }
        if let Some(cp) = self.checkpoints.get(&seq) {
            if cp.hash != rec.hash {
                let msg = format!(
                    "records up to {seq} were rewritten: the signed checkpoint at record {seq} names another hash"
                );
                return self.fail(ProblemKind::Modified, seq, msg);
            }
            if !self.signature_holds(cp) {
                let msg = format!(
                    "the checkpoint at record {seq} is not signed by a trusted audit key (key `{}`)",
                    cp.key_id
                );
                return self.fail(ProblemKind::BadSignature, seq, msg);
            }
            self.checkpoints_verified += 1;
        }
        self.prev_hash = stored_hash;
        self.expected_seq = seq + 1;
        self.records += 1;
        true
    }

    /// Finishes the walk: checks the signed head and any checkpoint past the last record.
    pub fn finish(mut self, head: Option<&SignedHead>) -> VerifyReport {
        let last_seq = self.expected_seq - 1;
        if self.problem.is_none()
            && let Some((&cp_seq, _)) = self.checkpoints.range(last_seq + 1..).next()
        {
            let msg = format!(
                "records {} to {cp_seq} were removed: a signed checkpoint covers record {cp_seq}",
                last_seq + 1
            );
            self.fail(ProblemKind::Removed, last_seq + 1, msg);
        }
        if self.problem.is_none() {
            match head {
                None if last_seq > 0 => {
                    self.fail(
                        ProblemKind::BadSignature,
                        last_seq,
                        "the signed head of the log is missing".to_string(),
                    );
                }
                None => {}
                Some(h) if !self.head_signature_holds(h) => {
                    let msg = format!(
                        "the signed head at record {} is not signed by a trusted audit key (key `{}`)",
                        h.seq, h.key_id
                    );
                    self.fail(ProblemKind::BadSignature, h.seq, msg);
                }
                Some(h) if h.seq > last_seq => {
                    let msg = if h.seq == last_seq + 1 {
                        format!(
                            "record {} was removed: the signed head names it as the newest record",
                            h.seq
                        )
                    } else {
                        format!(
                            "records {} to {} were removed from the end: the signed head names record {}",
                            last_seq + 1,
                            h.seq,
                            h.seq
                        )
                    };
                    self.fail(ProblemKind::Removed, last_seq + 1, msg);
                }
                Some(h) if h.seq < last_seq => {
                    let msg = format!(
                        "record {} was inserted: the signed head ends the log at record {}",
                        h.seq + 1,
                        h.seq
                    );
                    self.fail(ProblemKind::Inserted, h.seq + 1, msg);
                }
                Some(h) if parse_hash(&h.hash) != Some(self.prev_hash) => {
                    let msg = format!(
                        "record {last_seq} was modified: the signed head names another hash for it"
                    );
                    self.fail(ProblemKind::Modified, last_seq, msg);
                }
                Some(_) => {}
            }
        }
        VerifyReport {
            ok: self.problem.is_none(),
            records_checked: self.records,
            last_seq,
            head_hash: hex::encode(self.prev_hash),
            checkpoints_verified: self.checkpoints_verified,
            problem: self.problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::chain::ChainHead;
    use crate::event::Outcome;
    use crate::keys::Signer;

    struct Log {
        records: Vec<StoredRecord>,
        checkpoints: Vec<Checkpoint>,
        head: Option<SignedHead>,
        signer: Signer,
    }

    fn event(n: u64) -> String {
        AuditEvent {
            time: datetime!(2026-01-01 0:00 UTC),
            actor: "token:root".into(),
            action: "identity.create".into(),
            target: Some(format!("identity:{n}")),
            outcome: Outcome::Success,
            source: None,
            request_id: None,
            detail: json!({"n": n}),
        }
        .to_body()
    }

    fn log(n: u64) -> Log {
        let signer = Signer::from_seed(&[7; 32]);
        let mut head = ChainHead::EMPTY;
        let mut records = vec![];
        let mut checkpoints = vec![];
        let mut signed = None;
        for i in 1..=n {
            let (rec, next) = head.append(event(i));
            records.push(rec);
            head = next;
            if head.checkpoint_due() {
                checkpoints.push(signer.sign(&head));
            }
            signed = Some(signer.sign_head(&head));
        }
        Log {
            records,
            checkpoints,
            head: signed,
            signer,
        }
    }

    fn verify(l: &Log) -> VerifyReport {
        let keys = vec![AuditKey::from_info(&l.signer.public_info()).unwrap()];
        let mut v = Verifier::new(keys, l.checkpoints.clone());
        for r in &l.records {
            if !v.push(r) {
                break;
            }
        }
        v.finish(l.head.as_ref())
    }

    fn problem(l: &Log) -> Option<(ProblemKind, u64)> {
        verify(l).problem.map(|p| (p.kind, p.seq))
    }

    #[test]
    fn untouched_log_verifies() {
        for n in [0, 1, 63, 64, 65, 200] {
            let r = verify(&log(n));
            assert!(r.ok, "{n}: {:?}", r.problem);
            assert_eq!(r.records_checked, n);
            assert_eq!(r.checkpoints_verified, n / 64);
        }
    }

    #[test]
    fn edit_delete_swap_insert_are_each_named() {
        let mut l = log(100);
        l.records[40].body = l.records[40].body.replace("identity:41", "identity:99");
        assert_eq!(problem(&l), Some((ProblemKind::Modified, 41)));

        let mut l = log(100);
        l.records.remove(40);
        assert_eq!(problem(&l), Some((ProblemKind::Removed, 41)));

        let mut l = log(100);
        l.records.remove(0);
        assert_eq!(problem(&l), Some((ProblemKind::Removed, 1)));

        let mut l = log(100);
        l.records.pop();
        assert_eq!(problem(&l), Some((ProblemKind::Removed, 100)));

        // Swap the contents of two rows, keeping their positions.
        let mut l = log(100);
        let (a, b) = (l.records[10].clone(), l.records[20].clone());
        l.records[10] = StoredRecord { seq: 11, ..b };
        l.records[20] = StoredRecord { seq: 21, ..a };
        assert_eq!(problem(&l), Some((ProblemKind::Modified, 11)));

        // Rewrite a record and recompute its hash: the next record's link breaks.
        let mut l = log(100);
        let body = l.records[30].body.replace("identity:31", "identity:77");
        let prev = parse_hash(&l.records[30].prev_hash).unwrap();
        l.records[30].hash = hex::encode(record_hash(31, &prev, &body));
        l.records[30].body = body;
        assert_eq!(problem(&l), Some((ProblemKind::BrokenLink, 32)));

        // Append a forged record at the end, correctly chained but not signed.
        let mut l = log(100);
        let head = ChainHead::from_hex(100, &l.records[99].hash).unwrap();
        let (rec, _) = head.append(event(101));
        l.records.push(rec);
        assert_eq!(problem(&l), Some((ProblemKind::Inserted, 101)));
    }

    #[test]
    fn truncating_to_a_checkpoint_and_replaying_it_as_the_head_is_caught() {
        let mut l = log(100);
        l.records.truncate(64);
        l.head = Some(l.checkpoints[0].clone());
        assert_eq!(problem(&l), Some((ProblemKind::BadSignature, 64)));
    }

    #[test]
    fn rewriting_the_whole_chain_is_caught_by_signatures() {
        let mut l = log(100);
        let forger = Signer::from_seed(&[9; 32]);
        let mut head = ChainHead::EMPTY;
        for r in &mut l.records {
            let body = r.body.replace("token:root", "token:other");
            let (rec, next) = head.append(body);
            *r = rec;
            head = next;
        }
        assert_eq!(problem(&l), Some((ProblemKind::Modified, 64)));
        l.checkpoints = vec![forger.sign(&ChainHead::from_hex(64, &l.records[63].hash).unwrap())];
        assert_eq!(problem(&l), Some((ProblemKind::BadSignature, 64)));
    }
}
