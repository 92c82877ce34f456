//! The bundled rule pack compiles and every rule passes its own examples and counter-examples.

#[test]
fn bundled_rules_pass_their_own_examples() {
    let rules = holdfast_rules::bundled().unwrap_or_else(|e| panic!("{e}"));
    assert!(!rules.rules.is_empty());
    let problems = holdfast_rules::check(&rules);
    let report: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.rule, p.message))
        .collect();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        report.join("\n")
    );
}
