//! The searcher over a directory tree: a parallel walk (`ignore`), hidden files included, `.git`
//! directories left to the history scanner, binaries and oversized files skipped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use holdfast_rules::Context;
use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};

use crate::engine::{Engine, RawMatch};
use crate::finding::{Finding, LineCursor, Secret, finding_id, snippet};
use crate::suppress::inline_allowed;

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Honour `.gitignore`, `.ignore` and git's exclude files (off by default: ignored files such as
    /// `.env` are exactly where secrets sit).
    pub respect_gitignore: bool,
    /// Files larger than this are skipped.
    pub max_file_size: u64,
    /// Worker threads; 0 picks one per core.
    pub threads: usize,
    /// Gitignore-style globs of paths not to scan.
    pub exclude: Vec<String>,
}

impl Default for WalkOptions {
    fn default() -> Self {
        Self {
            respect_gitignore: false,
            max_file_size: 25 * 1024 * 1024,
            threads: 0,
            exclude: vec![],
        }
    }
}

/// Counters from one walk.
#[derive(Debug, Default)]
pub struct WalkStats {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub skipped_binary: AtomicU64,
    pub skipped_large: AtomicU64,
    pub errors: AtomicU64,
}

/// Bytes examined for a NUL to call a file binary.
const BINARY_PROBE: usize = 8192;

pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(
        0,
        bytes
            .get(..BINARY_PROBE.min(bytes.len()))
            .unwrap_or_default(),
    )
    .is_some()
}

/// Turns an engine's matches in `hay` into findings, dropping inline-allowed ones.
pub fn findings(engine: &Engine, hay: &[u8], path: &str, matches: Vec<RawMatch>) -> Vec<Finding> {
    let mut lines = LineCursor::new(hay);
    let mut out = Vec::with_capacity(matches.len());
    for m in matches {
        if inline_allowed(hay, m.secret_start) {
            continue;
        }
        let Some(rule) = engine.rule(m.rule) else {
            continue;
        };
        let secret = Secret::new(hay.get(m.secret_start..m.secret_end).unwrap_or_default());
        let fp = secret.fingerprint();
        let (line, column) = lines.at(m.secret_start);
        let (end_line, end_column) = lines.at(m.secret_end);
        let preview = secret.redacted();
        out.push(Finding {
            id: finding_id(rule.id(), &fp, path),
            rule: rule.def.id.clone(),
            rule_name: rule.def.name.clone(),
            confidence: rule.def.confidence.as_str(),
            path: path.to_string(),
            line,
            column,
            end_line,
            end_column,
            fingerprint: fp.to_string(),
            snippet: snippet(hay, m.secret_start, m.secret_end, &preview),
            preview,
            git: None,
            paired_with: None,
            secret,
        });
    }
    pair_up(engine, &mut out);
    out
}

/// Lines within which two halves of one credential count as a pair.
const PAIR_DISTANCE: usize = 10;

/// Links findings of paired rules (an AWS key id and its secret key) that sit close together.
fn pair_up(engine: &Engine, findings: &mut [Finding]) {
    let mut links = vec![];
    for (i, f) in findings.iter().enumerate() {
        let Some(other) = engine
            .rules
            .get(&f.rule)
            .and_then(|r| r.def.pairs_with.as_deref())
        else {
            continue;
        };
        let best = findings
            .iter()
            .filter(|g| g.rule == other)
            .min_by_key(|g| g.line.abs_diff(f.line))
            .filter(|g| g.line.abs_diff(f.line) <= PAIR_DISTANCE);
        if let Some(g) = best {
            links.push((i, g.id.clone()));
        }
    }
    for (i, id) in links {
        if let Some(f) = findings.get_mut(i) {
            f.paired_with = Some(id);
        }
    }
}

/// Scans one buffer as if it were the file at `path`.
pub fn scan_bytes(engine: &Engine, hay: &[u8], path: &str) -> Vec<Finding> {
    let matches = engine.scan(hay, &Context { path: Some(path) });
    findings(engine, hay, path, matches)
}

fn display(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./")
        .map(str::to_string)
        .unwrap_or_else(|| s.into_owned())
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("`{0}` does not exist")]
    Missing(String),
    #[error("the exclude glob `{glob}` is invalid: {message}")]
    Glob { glob: String, message: String },
}

/// Walks `paths` in parallel and hands every finding to `sink`; `progress` gets each file's size.
pub fn scan_paths(
    engine: &Engine,
    paths: &[PathBuf],
    opts: &WalkOptions,
    progress: &(dyn Fn(u64) + Sync),
    sink: &(dyn Fn(Finding) + Sync),
) -> Result<WalkStats, WalkError> {
    let stats = WalkStats::default();
    let Some((first, rest)) = paths.split_first() else {
        return Ok(stats);
    };
    for p in paths {
        if !p.exists() {
            return Err(WalkError::Missing(p.display().to_string()));
        }
    }
    let mut b = WalkBuilder::new(first);
    for p in rest {
        b.add(p);
    }
    let mut ov = OverrideBuilder::new(first);
    for g in &opts.exclude {
        ov.add(&format!("!{g}")).map_err(|e| WalkError::Glob {
            glob: g.clone(),
            message: e.to_string(),
        })?;
    }
    let overrides = ov.build().map_err(|e| WalkError::Glob {
        glob: opts.exclude.join(","),
        message: e.to_string(),
    })?;
    b.hidden(false)
        .git_ignore(opts.respect_gitignore)
        .git_global(opts.respect_gitignore)
        .git_exclude(opts.respect_gitignore)
        .ignore(opts.respect_gitignore)
        .parents(opts.respect_gitignore)
        .require_git(false)
        .follow_links(false)
        .overrides(overrides)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");
    b.build_parallel().run(|| {
        let stats = &stats;
        // One buffer per thread, reused: a fresh allocation per file costs page faults and
        // zeroing on every large file.
        let mut buf: Vec<u8> = Vec::new();
        Box::new(move |entry| {
            let Ok(entry) = entry else {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                return WalkState::Continue;
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return WalkState::Continue;
            }
            let path = entry.path();
            // The size comes from the open file (fstat), not a second lookup of the path.
            let Ok(mut file) = std::fs::File::open(path) else {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                return WalkState::Continue;
            };
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            if len > opts.max_file_size {
                stats.skipped_large.fetch_add(1, Ordering::Relaxed);
                progress(len);
                return WalkState::Continue;
            }
            buf.clear();
            // A file that grew since is read only up to the limit.
            if (&mut file)
                .take(opts.max_file_size)
                .read_to_end(&mut buf)
                .is_err()
            {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                return WalkState::Continue;
            }
            let bytes = buf.as_slice();
            progress(len);
            stats.files.fetch_add(1, Ordering::Relaxed);
            stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            if is_binary(bytes) {
                stats.skipped_binary.fetch_add(1, Ordering::Relaxed);
                return WalkState::Continue;
            }
            for f in scan_bytes(engine, bytes, &display(path)) {
                sink(f);
            }
            WalkState::Continue
        })
    });
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn aws_key_id_and_secret_are_paired() {
        let engine = Engine::new(holdfast_rules::bundled().unwrap()).unwrap();
        let text = b"[default]\naws_access_key_id = AKIA4T2XQMZ7P3LKVB5D\naws_secret_access_key = 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\n"; // holdfast:allow
        let mut found = scan_bytes(&engine, text, ".aws/credentials");
        found.sort_by_key(|f| f.line);
        let rules: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, ["aws-access-key-id", "aws-secret-access-key"]);
        assert_eq!(found[0].paired_with.as_deref(), Some(found[1].id.as_str()));
        assert_eq!(found[1].paired_with.as_deref(), Some(found[0].id.as_str()));
        let alone = scan_bytes(
            &engine,
            b"aws_access_key_id = AKIA4T2XQMZ7P3LKVB5D\n", // holdfast:allow
            "x.ini",
        );
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0].paired_with, None);
    }

    #[test]
    fn walks_hidden_files_skips_binaries_and_git_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join(".git/objects")).unwrap();
        std::fs::create_dir_all(d.join("src")).unwrap();
        let url = "postgres://app:Zq8mW2xR7tLp4Kv9@db.internal:5432/app"; // holdfast:allow
        std::fs::write(d.join(".env"), format!("DATABASE_URL={url}\n")).unwrap();
        std::fs::write(d.join(".git/objects/x"), format!("DATABASE_URL={url}\n")).unwrap();
        std::fs::write(d.join("src/blob.bin"), [b"\0\0", url.as_bytes()].concat()).unwrap();
        std::fs::write(
            d.join("src/ok.py"),
            format!("URL = '{url}'  # holdfast:allow\n"),
        )
        .unwrap();
        std::fs::write(d.join(".gitignore"), ".env\n").unwrap();
        let engine = Engine::new(holdfast_rules::bundled().unwrap()).unwrap();
        let found = Mutex::new(vec![]);
        let stats = scan_paths(
            &engine,
            &[d.to_path_buf()],
            &WalkOptions::default(),
            &|_| {},
            &|f| found.lock().unwrap().push(f),
        )
        .unwrap();
        let found = found.into_inner().unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].path.ends_with(".env"));
        assert_eq!((found[0].line, found[0].column), (1, 29));
        assert!(!found[0].snippet.contains("Zq8mW2xR7tLp4Kv9"));
        assert_eq!(stats.skipped_binary.load(Ordering::Relaxed), 1);

        let found = Mutex::new(vec![]);
        let opts = WalkOptions {
            respect_gitignore: true,
            ..Default::default()
        };
        scan_paths(&engine, &[d.to_path_buf()], &opts, &|_| {}, &|f| {
            found.lock().unwrap().push(f)
        })
        .unwrap();
        assert!(
            found.into_inner().unwrap().is_empty(),
            ".env is ignored when asked to respect .gitignore"
        );
    }
}
