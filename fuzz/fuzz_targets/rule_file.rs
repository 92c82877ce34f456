//! Arbitrary text as a rule file: loading either succeeds or fails with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(rules) = holdfast_rules::Ruleset::from_sources([("fuzz.toml", text)])
    {
        let _ = holdfast_rules::check(&rules);
    }
});
