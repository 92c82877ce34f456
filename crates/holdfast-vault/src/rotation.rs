//! Rotation as a protocol, as a pure state machine: create the new credential → make it live at the
//! target while the old one still works → point consumers at it → wait for them (acknowledged,
//! seen in use, or a grace period) → revoke the old one. Two credential slots alternate (blue and
//! green, as two database login roles under one group role do), so at every moment at least one
//! credential a consumer may hold is valid.
//!
//! The state is persisted after every step; a step interrupted by a crash is simply run again, so
//! every step a rotator implements must be idempotent (set this password; revoke that login).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One of the two credential slots a rotation alternates between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    Blue,
    Green,
}

impl Slot {
    pub fn other(self) -> Slot {
        match self {
            Slot::Blue => Slot::Green,
            Slot::Green => Slot::Blue,
        }
    }
}

/// Where a rotation stands (persisted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// The new credential's value exists only as a pending (encrypted) version; the target does
    /// not know it yet.
    Generated,
    /// The new credential works at the target; the old one still does.
    Applied,
    /// Consumers are pointed at the new version; the old credential keeps working until the grace
    /// period ends or the consumers acknowledge.
    Promoted {
        #[serde(with = "time::serde::rfc3339")]
        grace_until: OffsetDateTime,
    },
    /// The old credential is revoked; the new slot is the active one.
    Done,
}

/// What the rotation engine should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Make the pending credential (in `slot`) valid at the target. Idempotent.
    Apply { slot: Slot },
    /// Point consumers at the pending version (a store change only).
    Promote,
    /// Nothing to do before this time (consumers are still moving).
    WaitUntil(OffsetDateTime),
    /// Revoke the old credential (in `slot`) at the target. Idempotent.
    Revoke { slot: Slot },
    /// Finished.
    Done,
}

/// A rotation in flight: which slot was active when it started and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// The slot consumers used when the rotation started (the one to revoke at the end).
    pub old: Slot,
    #[serde(flatten)]
    pub phase: Phase,
}

impl Rotation {
    /// Starts a rotation away from `active`. The caller has already stored the new value as a
    /// pending version (that store write is what creates the rotation).
    pub fn start(active: Slot) -> Rotation {
        Rotation {
            old: active,
            phase: Phase::Generated,
        }
    }

    /// The slot the new credential goes into.
    pub fn new_slot(&self) -> Slot {
        self.old.other()
    }

    /// The next step, given the time and whether every known consumer has acknowledged the new
    /// version.
    pub fn next(&self, now: OffsetDateTime, acknowledged: bool) -> Step {
        match self.phase {
            Phase::Generated => Step::Apply {
                slot: self.new_slot(),
            },
            Phase::Applied => Step::Promote,
            Phase::Promoted { grace_until } if !acknowledged && now < grace_until => {
                Step::WaitUntil(grace_until)
            }
            Phase::Promoted { .. } => Step::Revoke { slot: self.old },
            Phase::Done => Step::Done,
        }
    }

    /// The state after `step` completed at `now` (to persist before the next step).
    pub fn completed(self, step: Step, now: OffsetDateTime, grace: time::Duration) -> Rotation {
        let phase = match (self.phase, step) {
            (Phase::Generated, Step::Apply { .. }) => Phase::Applied,
            (Phase::Applied, Step::Promote) => Phase::Promoted {
                grace_until: now + grace,
            },
            (Phase::Promoted { .. }, Step::Revoke { .. }) => Phase::Done,
            (phase, _) => phase,
        };
        Rotation { phase, ..self }
    }

    /// The slot consumers are told to use in this state.
    pub fn consumers_use(&self) -> Slot {
        match self.phase {
            Phase::Generated | Phase::Applied => self.old,
            Phase::Promoted { .. } | Phase::Done => self.new_slot(),
        }
    }
}
