//! Arbitrary audit records through the verifier: it must never panic and never call a log whose
//! records were not produced by the chain "ok".
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut verifier = holdfast_audit::Verifier::new(vec![], vec![]);
    let mut pushed = 0u64;
    for (i, line) in text.lines().enumerate() {
        let mut parts = line.splitn(3, ' ');
        let rec = holdfast_audit::StoredRecord {
            seq: i as u64 + 1,
            prev_hash: parts.next().unwrap_or_default().to_string(),
            hash: parts.next().unwrap_or_default().to_string(),
            body: parts.next().unwrap_or_default().to_string(),
        };
        pushed += 1;
        if !verifier.push(&rec) {
            break;
        }
    }
    let report = verifier.finish(None);
    // Without any trusted key no non-empty log can verify: the signed head is missing.
    assert!(pushed == 0 || !report.ok);
});
