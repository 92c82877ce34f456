//! `rules check`: every rule must find each of its examples and none of its negative examples,
//! and each example must contain one of its keywords (or the prefilter would never run the rule).

use crate::rule::{Context, Ruleset};

/// One way a rule failed its own examples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckProblem {
    pub rule: String,
    pub message: String,
}

/// Checks every rule against its examples; an empty result means the pack is sound.
pub fn check(rules: &Ruleset) -> Vec<CheckProblem> {
    let mut problems = vec![];
    for rule in &rules.rules {
        let mut fail = |message: String| {
            problems.push(CheckProblem {
                rule: rule.def.id.clone(),
                message,
            })
        };
        if rule.def.examples.is_empty() {
            fail("has no examples".into());
        }
        if rule.def.negative_examples.is_empty() {
            fail("has no negative examples".into());
        }
        let keywords: Vec<String> = rule
            .def
            .keywords
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .collect();
        for ex in &rule.def.examples {
            let lower = ex.to_ascii_lowercase();
            if !keywords.iter().any(|k| lower.contains(k.as_str())) {
                fail(format!(
                    "example `{ex}` contains none of the keywords, so the rule would never run on it"
                ));
            }
            let ctx = Context {
                path: example_path(ex),
            };
            if rule.find_all(ex.as_bytes(), &ctx).is_empty() {
                fail(format!("example `{ex}` is not found"));
            }
        }
        for ex in &rule.def.negative_examples {
            let ctx = Context {
                path: example_path(ex),
            };
            if !rule.find_all(ex.as_bytes(), &ctx).is_empty() {
                fail(format!("negative example `{ex}` is found"));
            }
        }
    }
    problems
}

/// Examples may name the file they come from on a first line `# file: NAME`, for context rules.
fn example_path(ex: &str) -> Option<&str> {
    ex.strip_prefix("# file: ")
        .and_then(|r| r.lines().next())
        .map(str::trim)
}
