//! Arbitrary bytes through the whole scan engine (prefilter, windows, every rule, filters,
//! findings): it must never panic, and every finding must point inside the input.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static ENGINE: OnceLock<holdfast_scan::Engine> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let engine = ENGINE.get_or_init(|| {
        let rules = holdfast_rules::bundled().expect("the bundled rules load");
        holdfast_scan::Engine::new(rules).expect("the engine builds")
    });
    for path in ["fuzz.txt", "app.py", ".env"] {
        for f in holdfast_scan::walk::scan_bytes(engine, data, path) {
            assert!(f.line >= 1 && f.end_line >= f.line);
            assert!(!f.secret.expose().is_empty());
            assert!(data.windows(f.secret.expose().len()).any(|w| w == f.secret.expose()));
        }
    }
});
