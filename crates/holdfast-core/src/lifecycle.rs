//! The lifecycle of an identity and the transitions allowed between its states.
//!
//! ```text
//! active ⇄ suspended
//!   │         │
//!   └──► offboarding ──► offboarded   (terminal: an offboarded identity never comes back)
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LifecycleState {
    Active,
    Suspended,
    Offboarding,
    Offboarded,
}

impl LifecycleState {
    pub const ALL: [Self; 4] = [
        Self::Active,
        Self::Suspended,
        Self::Offboarding,
        Self::Offboarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Offboarding => "offboarding",
            Self::Offboarded => "offboarded",
        }
    }

    /// Whether the identity may move from `self` to `to`.
    pub fn can_move_to(self, to: Self) -> bool {
        use LifecycleState::*;
        matches!(
            (self, to),
            (Active, Suspended)
                | (Suspended, Active)
                | (Active, Offboarding)
                | (Suspended, Offboarding)
                | (Offboarding, Offboarded)
        )
    }

    /// Checks a transition, explaining a refusal.
    pub fn check_transition(self, to: Self) -> Result<(), TransitionError> {
        if self == Self::Offboarded {
            return Err(TransitionError::Terminal);
        }
        if self == to {
            return Err(TransitionError::AlreadyThere(to));
        }
        if self.can_move_to(to) {
            Ok(())
        } else {
            Err(TransitionError::NotAllowed { from: self, to })
        }
    }

    /// Whether the identity's record may still be edited.
    pub fn is_editable(self) -> bool {
        self != Self::Offboarded
    }
}

impl fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LifecycleState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown lifecycle state `{s}`; expected one of active, suspended, offboarding, offboarded"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the identity is offboarded; an offboarded identity never comes back")]
    Terminal,
    #[error("the identity is already {0}")]
    AlreadyThere(LifecycleState),
    #[error("an identity cannot move from {from} to {to}")]
    NotAllowed {
        from: LifecycleState,
        to: LifecycleState,
    },
}

#[cfg(test)]
mod tests {
    use super::LifecycleState::{self, *};
    use super::TransitionError;

    #[test]
    fn transition_table() {
        let allowed = [
            (Active, Suspended),
            (Suspended, Active),
            (Active, Offboarding),
            (Suspended, Offboarding),
            (Offboarding, Offboarded),
        ];
        for from in LifecycleState::ALL {
            for to in LifecycleState::ALL {
                let expect = allowed.contains(&(from, to));
                assert_eq!(from.check_transition(to).is_ok(), expect, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn offboarded_is_terminal() {
        for to in LifecycleState::ALL {
            assert_eq!(
                Offboarded.check_transition(to),
                Err(TransitionError::Terminal)
            );
        }
        assert!(!Offboarded.is_editable());
        assert!(Active.is_editable());
    }

    #[test]
    fn parse_round_trip() {
        for st in LifecycleState::ALL {
            assert_eq!(st.as_str().parse::<LifecycleState>(), Ok(st));
        }
        assert!("deleted".parse::<LifecycleState>().is_err());
    }
}
