//! The rotation protocol against a model of the target, with crashes anywhere: at no moment is
//! neither credential valid, the slot consumers are told to use is always valid, and a rotation
//! interrupted any number of times still finishes with only the new credential valid.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use holdfast_vault::rotation::{Phase, Rotation, Slot, Step};
use proptest::prelude::*;
use time::macros::datetime;

#[derive(Debug, Clone, Copy)]
enum Crash {
    /// The process dies before doing the step.
    BeforeStep,
    /// The step took effect at the target but the new state was not persisted.
    BeforePersist,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn never_neither_valid_whatever_crashes(
        start_blue in any::<bool>(),
        crashes in prop::collection::vec((0usize..12, any::<bool>()), 0..8),
        ack_at in prop::option::of(0usize..12),
    ) {
        let active = if start_blue { Slot::Blue } else { Slot::Green };
        let grace = time::Duration::minutes(30);
        let mut now = datetime!(2026-11-25 00:00 UTC);
        // The target: which slots currently authenticate.
        let mut valid: BTreeSet<Slot> = BTreeSet::from([active]);
        let mut persisted = Rotation::start(active);
        let crash_at: Vec<(usize, Crash)> = crashes
            .iter()
            .map(|(i, b)| (*i, if *b { Crash::BeforeStep } else { Crash::BeforePersist }))
            .collect();
        let mut done = false;
        for tick in 1..=100usize {
            let acknowledged = ack_at.is_some_and(|a| tick >= a);
            let step = persisted.next(now, acknowledged);
            let crash = crash_at.iter().find(|(i, _)| *i == tick).map(|(_, c)| *c);
            if let Some(Crash::BeforeStep) = crash {
                prop_assert!(valid.contains(&persisted.consumers_use()));
                continue; // restart: the same persisted state, the same step again
            }
            match step {
                Step::Apply { slot } => {
                    valid.insert(slot);
                }
                Step::Revoke { slot } => {
                    valid.remove(&slot);
                }
                Step::Promote => {}
                Step::WaitUntil(t) => {
                    now = t;
                    continue;
                }
                Step::Done => {
                    done = true;
                    break;
                }
            }
            prop_assert!(!valid.is_empty(), "neither credential valid after {step:?}");
            prop_assert!(valid.contains(&persisted.consumers_use()), "consumers' slot invalid after {step:?}");
            if let Some(Crash::BeforePersist) = crash {
                continue; // the effect stays at the target; the state is re-read unchanged
            }
            persisted = persisted.completed(step, now, grace);
            prop_assert!(valid.contains(&persisted.consumers_use()), "consumers' slot invalid in {:?}", persisted.phase);
        }
        prop_assert!(done, "the rotation finishes");
        prop_assert_eq!(persisted.phase, Phase::Done);
        prop_assert_eq!(valid, BTreeSet::from([active.other()]), "only the new credential is left");
    }
}

#[test]
fn the_old_credential_outlives_the_grace_period_unless_consumers_acknowledge() {
    let now = datetime!(2026-11-25 00:00 UTC);
    let grace = time::Duration::minutes(30);
    let r = Rotation::start(Slot::Blue);
    assert_eq!(r.next(now, false), Step::Apply { slot: Slot::Green });
    let r = r.completed(Step::Apply { slot: Slot::Green }, now, grace);
    assert_eq!(
        r.consumers_use(),
        Slot::Blue,
        "consumers move only once the new one works"
    );
    let r = r.completed(Step::Promote, now, grace);
    assert_eq!(r.consumers_use(), Slot::Green);
    assert_eq!(r.next(now, false), Step::WaitUntil(now + grace));
    assert_eq!(
        r.next(now, true),
        Step::Revoke { slot: Slot::Blue },
        "acknowledged: no need to wait"
    );
    assert_eq!(
        r.next(now + grace, false),
        Step::Revoke { slot: Slot::Blue }
    );
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<Rotation>(&json).unwrap(), r);
}
