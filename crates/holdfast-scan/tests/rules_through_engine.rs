//! Every rule's examples through the real engine (keyword prefilter, windows, word anchoring), one
//! rule at a time: `rules check` proves the patterns; this proves the engine runs them where they
//! match.

use holdfast_rules::{Context, Ruleset};
use holdfast_scan::Engine;

fn example_path(ex: &str) -> Option<&str> {
    ex.strip_prefix("# file: ")
        .and_then(|r| r.lines().next())
        .map(str::trim)
}

#[test]
fn every_example_is_found_by_the_engine_and_no_counter_example_is() {
    let all = holdfast_rules::bundled().unwrap_or_else(|e| panic!("{e}"));
    let mut problems = vec![];
    for rule in &all.rules {
        let one = Ruleset {
            rules: vec![rule.clone()],
        };
        let engine = Engine::new(one).unwrap_or_else(|e| panic!("{e}"));
        for ex in &rule.def.examples {
            if engine
                .scan(
                    ex.as_bytes(),
                    &Context {
                        path: example_path(ex),
                    },
                )
                .is_empty()
            {
                problems.push(format!(
                    "{}: example not found by the engine: {ex}",
                    rule.def.id
                ));
            }
        }
        for ex in &rule.def.negative_examples {
            if !engine
                .scan(
                    ex.as_bytes(),
                    &Context {
                        path: example_path(ex),
                    },
                )
                .is_empty()
            {
                problems.push(format!(
                    "{}: negative example found by the engine: {ex}",
                    rule.def.id
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
