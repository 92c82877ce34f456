//! Times the matcher alone, on one thread, over files held in memory — for tuning the engine
//! without the walk, the disk or the other threads in the figures.
//!
//! `cargo run --release -p holdfast-scan --example engine_bench -- DIR [MAX_MB]`
//!
//! Prints MB/s, the number of accepted matches, per-rule match counts with `--by-rule`, and each
//! match (rule, path, matched text) on standard error with `--dump`.

use std::time::Instant;

use holdfast_rules::Context;
use holdfast_scan::Engine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: engine_bench DIR [MAX_MB] [--by-rule]")?;
    let rest: Vec<String> = args.collect();
    let max_mb: usize = rest
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or(Ok(256), |s| s.parse())?;
    let by_rule = rest.iter().any(|a| a == "--by-rule");
    let dump = rest.iter().any(|a| a == "--dump");
    let mut files: Vec<(String, Vec<u8>)> = vec![];
    let mut total = 0usize;
    for entry in ignore::WalkBuilder::new(&dir).hidden(false).build() {
        let entry = entry?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let bytes = std::fs::read(entry.path())?;
        if bytes.contains(&0) {
            continue;
        }
        total += bytes.len();
        files.push((entry.path().display().to_string(), bytes));
        if total >= max_mb << 20 {
            break;
        }
    }
    let t = Instant::now();
    let engine = Engine::new(holdfast_rules::bundled()?)?;
    eprintln!("engine built in {:.3} s", t.elapsed().as_secs_f64());
    let mut counts = vec![0usize; engine.rules.rules.len()];
    let mut matches = 0usize;
    let t = Instant::now();
    for (path, bytes) in &files {
        for m in engine.scan(bytes, &Context { path: Some(path) }) {
            matches += 1;
            if dump && let Some(r) = engine.rule(m.rule) {
                let text = bytes.get(m.start..m.end).unwrap_or_default();
                eprintln!("{}\t{path}\t{:?}", r.id(), String::from_utf8_lossy(text));
            }
            if let Some(c) = counts.get_mut(m.rule) {
                *c += 1;
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} files, {:.1} MB, {matches} matches in {secs:.3} s: {:.1} MB/s",
        files.len(),
        total as f64 / 1e6,
        total as f64 / 1e6 / secs
    );
    if by_rule {
        for (i, c) in counts.iter().enumerate() {
            if *c > 0
                && let Some(r) = engine.rule(i)
            {
                println!("{c:>8} {}", r.id());
            }
        }
    }
    Ok(())
}
