//! Git history: every blob reachable from every ref is scanned once (deduplicated by blob id), and
//! each finding names the first commit — oldest by commit time — whose tree contains that blob.
//!
//! Trees already visited are skipped whole, so a history of thousands of commits costs about as
//! many tree reads as there are distinct trees, not commits × files.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice, ByteVec};

use crate::engine::Engine;
use crate::finding::{Finding, GitOrigin};
use crate::walk::{is_binary, scan_bytes};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("`{path}` is not a git repository: {message}")]
    Open { path: String, message: String },
    #[error("reading the repository failed: {0}")]
    Read(String),
}

fn read(e: impl std::fmt::Display) -> GitError {
    GitError::Read(e.to_string())
}

/// Counters from one history scan.
#[derive(Debug, Default)]
pub struct GitStats {
    pub refs: AtomicU64,
    pub commits: AtomicU64,
    pub trees: AtomicU64,
    pub blobs: AtomicU64,
    pub bytes: AtomicU64,
    pub skipped_binary: AtomicU64,
    pub skipped_large: AtomicU64,
}

struct Pending {
    blob: ObjectId,
    path: BString,
    commit: usize,
}

struct CommitInfo {
    id: ObjectId,
    author: String,
    date: String,
}

fn origin(c: &CommitInfo, blob: &ObjectId) -> GitOrigin {
    GitOrigin {
        commit: c.id.to_string(),
        author: c.author.clone(),
        date: c.date.clone(),
        blob: blob.to_string(),
    }
}

/// Scans the history of the repository at `path`.
pub fn scan_history(
    engine: &Engine,
    path: &Path,
    max_blob_size: u64,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    sink: &(dyn Fn(Finding) + Sync),
) -> Result<GitStats, GitError> {
    let stats = GitStats::default();
    let repo = gix::open(path).map_err(|e| GitError::Open {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;

    // Every ref and HEAD, peeled to commits.
    let mut tips: Vec<ObjectId> = vec![];
    let platform = repo.references().map_err(read)?;
    for r in platform.all().map_err(read)? {
        let Ok(mut r) = r else { continue };
        stats.refs.fetch_add(1, Ordering::Relaxed);
        if let Ok(id) = r.peel_to_id()
            && let Ok(obj) = repo.find_object(id)
            && let Ok(commit) = obj.peel_to_commit()
        {
            tips.push(commit.id);
        }
    }
    if let Ok(head) = repo.head_id() {
        tips.push(head.detach());
    }
    tips.sort();
    tips.dedup();

    // Commits, oldest first, so a blob is attributed to the commit that introduced it.
    let mut commits: Vec<(i64, CommitInfo)> = vec![];
    if !tips.is_empty() {
        for info in repo.rev_walk(tips).all().map_err(read)? {
            let info = info.map_err(read)?;
            let c = repo.find_commit(info.id).map_err(read)?;
            let (author, date, secs) = match c.author() {
                Ok(sig) => {
                    let t = sig.time().unwrap_or_default();
                    (
                        format!("{} <{}>", sig.name, sig.email),
                        t.format(gix::date::time::format::ISO8601_STRICT)
                            .unwrap_or_default(),
                        t.seconds,
                    )
                }
                Err(_) => (String::new(), String::new(), 0),
            };
            commits.push((
                secs,
                CommitInfo {
                    id: info.id,
                    author,
                    date,
                },
            ));
        }
    }
    commits.sort_by_key(|(t, _)| *t);
    let commits: Vec<CommitInfo> = commits.into_iter().map(|(_, c)| c).collect();
    stats.commits.store(commits.len() as u64, Ordering::Relaxed);

    // Distinct blobs with the path and commit they first appear at.
    let mut seen_trees: HashSet<ObjectId> = HashSet::new();
    let mut seen_blobs: HashSet<ObjectId> = HashSet::new();
    let mut pending: Vec<Pending> = vec![];
    for (ci, c) in commits.iter().enumerate() {
        let commit = repo.find_commit(c.id).map_err(read)?;
        let tree = commit.tree_id().map_err(read)?.detach();
        let mut stack: Vec<(ObjectId, BString)> = vec![(tree, BString::default())];
        while let Some((tid, prefix)) = stack.pop() {
            if !seen_trees.insert(tid) {
                continue;
            }
            stats.trees.fetch_add(1, Ordering::Relaxed);
            let tree = repo.find_tree(tid).map_err(read)?;
            for entry in tree.iter() {
                let entry = entry.map_err(read)?;
                let mut path = prefix.clone();
                if !path.is_empty() {
                    path.push_byte(b'/');
                }
                path.push_str(entry.filename());
                let mode = entry.mode();
                if mode.is_tree() {
                    stack.push((entry.oid().to_owned(), path));
                } else if mode.is_blob() && seen_blobs.insert(entry.oid().to_owned()) {
                    pending.push(Pending {
                        blob: entry.oid().to_owned(),
                        path,
                        commit: ci,
                    });
                }
            }
        }
    }
    stats.blobs.store(pending.len() as u64, Ordering::Relaxed);

    // Scan each blob once, in parallel.
    let shared = repo.into_sync();
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<GitError>> = Mutex::new(None);
    let workers = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let repo = shared.to_thread_local();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = pending.get(i) else { break };
                    let obj = match repo.find_object(p.blob) {
                        Ok(o) => o,
                        Err(e) => {
                            if let Ok(mut slot) = first_error.lock() {
                                slot.get_or_insert(read(e));
                            }
                            break;
                        }
                    };
                    let data = &obj.data;
                    progress(data.len() as u64);
                    if data.len() as u64 > max_blob_size {
                        stats.skipped_large.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    stats.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                    if is_binary(data) {
                        stats.skipped_binary.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let path = p.path.to_str_lossy();
                    for mut f in scan_bytes(engine, data, &path) {
                        if let Some(c) = commits.get(p.commit) {
                            f.git = Some(origin(c, &p.blob));
                        }
                        sink(f);
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(stats)
}
