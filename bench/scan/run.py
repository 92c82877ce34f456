#!/usr/bin/env python3
"""Run Holdfast, ripgrep and peer secret scanners over a generated corpus and score them.

    python3 bench/scan/run.py --corpus DIR [--holdfast PATH] [--peers all|none|name,name]
                              [--scratch DIR] [--threads 2] [--sample-mb N] [--timeout SECONDS]

DIR is what generate_corpus.py wrote (DIR/corpus, DIR/labels.jsonl, DIR/manifest.json). Peers are
installed on demand into the scratch directory (default DIR/peers): one virtualenv per Python tool,
a local npm prefix for secretlint, `cargo install --root` for ripsecrets. Nothing is installed at
import time and nothing system-wide, except ripgrep through apt-get when `rg` is missing.

Every tool runs once, through a small `python3 -c` wrapper that spawns it, samples the RSS of its
process tree, waits, and prints resource.getrusage(RUSAGE_CHILDREN). Findings are scored against
labels.jsonl (see README.md). Results: a Markdown table on stdout and DIR/results.json.

Only the standard library is used.
"""

import argparse
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Pinned peer versions, so results are comparable between runs (edit to move them).
PIP_PEERS = {
    "detect-secrets": ("detect-secrets", "1.5.0", "detect-secrets"),
    "trufflehog3": ("trufflehog3", "3.0.10", "trufflehog3"),
    "credsweeper": ("credsweeper", "1.19.5", "credsweeper"),
    "whispers": ("whispers", "2.4.0", "whispers"),
    "kingfisher-bin": ("kingfisher-bin", "2.14.0", "kingfisher"),
}
NPM_PEERS = {"secretlint": [("secretlint", "13.0.6"), ("@secretlint/secretlint-rule-preset-recommend", "13.0.7")]}
ALL_PEERS = ["detect-secrets", "trufflehog3", "credsweeper", "whispers", "kingfisher-bin", "secretlint", "ripsecrets", "noseyparker"]
# Tools run on the --sample-mb subset when one is given (the Python scanners are ~100x slower than ripgrep).
DEFAULT_SLOW = ["detect-secrets", "trufflehog3", "credsweeper", "whispers"]

NOTES = {
    "holdfast": "holdfast scan --format json --no-progress; exit 1 means findings",
    "ripgrep": "speed reference: rg -i -c -uuu -F over Holdfast's rule keywords; no findings to score",
    "detect-secrets": "detect-secrets scan --all-files -n, run from the target directory; reports lines, no matched text",
    "trufflehog3": "--no-history (plain directory), default rules incl. high-entropy; matched text scored",
    "credsweeper": "defaults (minimum severity info, so its UUID rule reports); matched value scored",
    "whispers": "default mode: parses structured/config formats only (--ast needs semgrep); file-level 'Known file' notes (line 0) are not counted",
    "kingfisher-bin": "--no-validate --git-history none --no-update-check, default confidence (medium); matched snippet scored",
    "secretlint": "@secretlint/secretlint-rule-preset-recommend over **/*; reports lines only (values masked)",
    "ripsecrets": "defaults (honours .gitignore and skips hidden files, like ripgrep)",
    "noseyparker": "scan + report --format json; only if already on PATH",
}

WRAPPER = r"""
import json, os, resource, signal, subprocess, sys, time
a = json.loads(sys.argv[1])
PAGE = os.sysconf("SC_PAGE_SIZE")

def tree_rss(root):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                s = f.read()
            ppid = int(s[s.rindex(b")") + 2:].split()[1])
        except Exception:
            continue
        kids.setdefault(ppid, []).append(int(d))
    total, stack = 0, [root]
    while stack:
        p = stack.pop()
        try:
            with open("/proc/%d/statm" % p) as f:
                total += int(f.read().split()[1]) * PAGE
        except Exception:
            pass
        stack.extend(kids.get(p, ()))
    return total

out = open(a["stdout"], "wb")
err = open(a["stderr"], "wb")
t0 = time.monotonic()
p = subprocess.Popen(a["cmd"], cwd=a["cwd"], env=a["env"], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                     start_new_session=True)
peak, timed_out = 0, False
while True:
    try:
        rc = p.wait(timeout=a["interval"])
        break
    except subprocess.TimeoutExpired:
        try:
            peak = max(peak, tree_rss(p.pid))
        except Exception:
            pass
        if time.monotonic() - t0 > a["timeout"]:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except Exception:
                pass
            rc = p.wait()
            break
wall = time.monotonic() - t0
try:
    os.killpg(p.pid, signal.SIGKILL)
except Exception:
    pass
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime, "ru_maxrss_kib": ru.ru_maxrss,
                  "tree_peak_kib": peak // 1024, "timeout": timed_out}))
"""


class NotRun(Exception):
    pass


def log(msg):
    print(f"[run] {msg}", file=sys.stderr, flush=True)


def sh(cmd, timeout=1800, env=None, cwd=None):
    """Run a setup command; return (rc, combined output)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, env=env, cwd=cwd)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout} s"
    except OSError as e:
        return 127, str(e)


def last_line(text, n=200):
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:n]


def version_of(cmd, env=None):
    rc, out = sh(cmd, timeout=120, env=env)
    if rc != 0:
        return "?"
    for ln in out.splitlines():
        ln = ln.strip()
        if ln and not set(ln) <= set("█▓▒░ "):
            if re.search(r"\d+\.\d+", ln):
                return ln[:80]
    return last_line(out, 80) or "?"


# ------------------------------------------------------------------------------------------------
# Corpus, labels, sample
# ------------------------------------------------------------------------------------------------

def walk_files(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            full = os.path.join(d, f)
            if os.path.isfile(full) and not os.path.islink(full):
                out.append((os.path.relpath(full, root), os.path.getsize(full)))
    out.sort()
    return out


def make_sample(corpus, scratch, mb):
    """First `mb` MB of files in path order, hard-linked (or copied) under scratch/sample-<mb>mb."""
    files = walk_files(corpus)
    limit = int(mb * 1_000_000)
    chosen, total = [], 0
    for rel, size in files:
        if total >= limit:
            break
        chosen.append(rel)
        total += size
    name = f"sample-{mb:g}mb"
    root = os.path.join(scratch, name)
    listing = os.path.join(scratch, name + ".txt")
    want = "\n".join(chosen) + "\n"
    if not (os.path.isdir(root) and os.path.exists(listing) and open(listing).read() == want):
        if os.path.exists(root):
            shutil.rmtree(root)
        for rel in chosen:
            dst = os.path.join(root, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            try:
                os.link(os.path.join(corpus, rel), dst)
            except OSError:
                shutil.copy2(os.path.join(corpus, rel), dst)
        with open(listing, "w") as fh:
            fh.write(want)
    return root, set(chosen), total, len(chosen)


def load_labels(path):
    labels = []
    with open(path) as fh:
        for ln in fh:
            if ln.strip():
                labels.append(json.loads(ln))
    return labels


def warm_cache(root):
    """Read every file once so the first tool does not pay for cold disk reads."""
    buf = bytearray(1 << 20)
    for d, _, files in os.walk(root):
        for f in files:
            try:
                with open(os.path.join(d, f), "rb", buffering=0) as fh:
                    while fh.readinto(buf):
                        pass
            except OSError:
                pass


# ------------------------------------------------------------------------------------------------
# Scoring
# ------------------------------------------------------------------------------------------------

def norm_path(p, root):
    if not p:
        return ""
    p = str(p)
    if p.startswith("file://"):
        p = p[7:]
    if os.path.isabs(p):
        rp = os.path.relpath(p, root)
        if not rp.startswith(".."):
            return rp.replace(os.sep, "/")
        real_root = os.path.realpath(root)
        rp = os.path.relpath(os.path.realpath(p), real_root)
        return rp.replace(os.sep, "/")
    while p.startswith("./"):
        p = p[2:]
    return p.replace(os.sep, "/")


def score(findings, labels, in_scope=None):
    """findings: list of (path, line, text|None). labels: dicts from labels.jsonl.

    A finding is a true positive when it lands on a positive label in the same file: its line is
    within the label's lines +-1 (PEM keys: anywhere in the key's span), or, when the tool reports the
    matched text, the text contains the secret or the secret contains the text (>= 8 characters).
    Several findings on one positive count once. Every finding that matches no positive is a false
    positive; `decoys_hit` counts the distinct decoy labels that false positives landed on."""
    by_path = {}
    npos = 0
    for lab in labels:
        if in_scope is not None and lab["path"] not in in_scope:
            continue
        by_path.setdefault(lab["path"], []).append(lab)
        if lab["label"] == "positive":
            npos += 1
    matched = set()
    decoys = set()
    fp = 0
    fp_by_ext = {}
    for path, line, text in findings:
        best = None
        for lab in by_path.get(path, ()):
            lo = lab["line"]
            hi = lab.get("end_line", lo)
            line_ok = line is not None and lo - 1 <= line <= hi + 1
            text_ok = False
            if text:
                sec = lab["secret"]
                text_ok = bool(sec) and (sec in text or (len(text) >= 8 and text in sec))
            if not (line_ok or text_ok):
                continue
            # prefer: reported text equal to the secret, then the exact line (or inside the PEM span),
            # then +-1; positives over decoys; labels not yet credited over credited ones
            if line is None:
                dist = 10**9
            elif lo <= line <= hi:
                dist = 0
            else:
                dist = min(abs(line - lo), abs(line - hi))
            key3 = (lab["path"], lab["line"], lab["secret"])
            rank = (not text_ok, dist, lab["label"] != "positive", key3 in matched)
            if best is None or rank < best[0]:
                best = (rank, lab)
        if best is not None and best[1]["label"] == "positive":
            matched.add((best[1]["path"], best[1]["line"], best[1]["secret"]))
            continue
        fp += 1
        ext = os.path.splitext(path)[1] or os.path.basename(path)
        fp_by_ext[ext] = fp_by_ext.get(ext, 0) + 1
        if best is not None:
            decoys.add((best[1]["path"], best[1]["line"], best[1]["secret"]))
    tp = len(matched)
    fn = npos - tp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / npos if npos else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_kind = {}
    missed = []
    for plist in by_path.values():
        for lab in plist:
            if lab["label"] != "positive":
                continue
            k = by_kind.setdefault(lab["kind"], [0, 0])
            k[1] += 1
            if (lab["path"], lab["line"], lab["secret"]) in matched:
                k[0] += 1
            else:
                missed.append(lab)
    top_fp = sorted(fp_by_ext.items(), key=lambda kv: -kv[1])[:10]
    return {"tp": tp, "fp": fp, "fn": fn, "positives": npos, "findings": len(findings), "precision": precision,
            "recall": recall, "f1": f1, "decoys_hit": len(decoys), "fp_by_extension": dict(top_fp),
            "recall_by_kind": {k: f"{v[0]}/{v[1]}" for k, v in sorted(by_kind.items())}}


# ------------------------------------------------------------------------------------------------
# Output parsers: each returns a list of (path, line, text|None)
# ------------------------------------------------------------------------------------------------

def read_json(path):
    with open(path, "rb") as fh:
        data = fh.read()
    if not data.strip():
        raise ValueError(f"empty output {os.path.basename(path)}")
    return json.loads(data)


def parse_holdfast(out, root):
    d = read_json(out)
    return [(norm_path(f.get("path"), root), int(f.get("line") or 0), None) for f in d.get("findings", [])]


def parse_detect_secrets(out, root):
    d = read_json(out)
    res = []
    for fname, items in d.get("results", {}).items():
        for it in items:
            res.append((norm_path(it.get("filename", fname), root), int(it.get("line_number") or 0), None))
    return res


def parse_trufflehog3(out, root):
    d = read_json(out)
    res = []
    for it in d:
        line = it.get("line")
        try:
            line = int(line)
        except (TypeError, ValueError):
            line = None
        res.append((norm_path(it.get("path"), root), line, it.get("secret") or None))
    return res


def parse_credsweeper(out, root):
    d = read_json(out)
    res = []
    for cand in d:
        for ld in cand.get("line_data_list") or []:
            res.append((norm_path(ld.get("path"), root), int(ld.get("line_num") or 0), ld.get("value") or None))
    return res


def parse_whispers(out, root):
    d = read_json(out) if os.path.getsize(out) else []
    res = []
    for it in d:
        line = int(it.get("line") or 0)
        if line <= 0:
            continue  # file-level notes ("Known file"), not a located finding
        res.append((norm_path(it.get("file"), root), line, it.get("value") or None))
    return res


def parse_kingfisher(out, root):
    d = read_json(out)
    items = d.get("findings", []) if isinstance(d, dict) else d
    res = []
    for it in items:
        f = it.get("finding", it)
        res.append((norm_path(f.get("path"), root), int(f.get("line") or 0), f.get("snippet") or None))
    return res


_COMPACT = re.compile(r"^(.*?): line (\d+), col \d+, ")


def parse_secretlint(out, root):
    res = []
    with open(out, errors="replace") as fh:
        for ln in fh:
            m = _COMPACT.match(ln)
            if m:
                res.append((norm_path(m.group(1), root), int(m.group(2)), None))
    return res


_GREPLINE = re.compile(r"^(.*?):(\d+):(.*)$")


def parse_ripsecrets(out, root):
    res = []
    with open(out, errors="replace") as fh:
        for ln in fh:
            m = _GREPLINE.match(ln.rstrip("\n"))
            if m:
                res.append((norm_path(m.group(1), root), int(m.group(2)), m.group(3).strip() or None))
    return res


def parse_noseyparker(out, root):
    d = read_json(out)
    res = []
    for finding in d if isinstance(d, list) else d.get("findings", []):
        for m in finding.get("matches", []):
            prov = m.get("provenance") or []
            if isinstance(prov, dict):
                prov = [prov]
            path = next((p.get("path") for p in prov if p.get("path")), None)
            if path is None:
                blob = next((p for p in prov if isinstance(p.get("first_commit"), dict)), None)
                path = blob["first_commit"].get("blob_path") if blob else None
            loc = (m.get("location") or {}).get("source_span") or {}
            line = (loc.get("start") or {}).get("line")
            snip = (m.get("snippet") or {}).get("matching")
            res.append((norm_path(path, root), int(line) if line else None, snip or None))
    return res


# ------------------------------------------------------------------------------------------------
# Installs
# ------------------------------------------------------------------------------------------------

def install_pip(scratch, tool):
    pkg, ver, exe = PIP_PEERS[tool]
    venv = os.path.join(scratch, f"venv-{tool}")
    binp = os.path.join(venv, "bin", exe)
    stamp = os.path.join(venv, ".installed")
    want = f"{pkg}=={ver}"
    if os.path.exists(binp) and os.path.exists(stamp) and open(stamp).read().strip() == want:
        return binp
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        rc, out = sh([sys.executable, "-m", "venv", venv], timeout=600)
        if rc != 0:
            raise NotRun(f"venv failed: {last_line(out)}")
    log(f"pip install {want} into {venv}")
    rc, out = sh([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q", want], timeout=1800)
    if rc != 0 or not os.path.exists(binp):
        raise NotRun(f"pip install {want} failed: {last_line(out)}")
    with open(stamp, "w") as fh:
        fh.write(want + "\n")
    return binp


def install_npm(scratch, tool):
    prefix = os.path.join(scratch, f"npm-{tool}")
    binp = os.path.join(prefix, "node_modules", ".bin", tool)
    want = " ".join(f"{p}@{v}" for p, v in NPM_PEERS[tool])
    stamp = os.path.join(prefix, ".installed")
    if os.path.exists(binp) and os.path.exists(stamp) and open(stamp).read().strip() == want:
        return binp
    npm = shutil.which("npm")
    if not npm:
        raise NotRun("npm not found")
    os.makedirs(prefix, exist_ok=True)
    log(f"npm install {want} into {prefix}")
    rc, out = sh([npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix", prefix] + want.split(), timeout=1800)
    if rc != 0 or not os.path.exists(binp):
        raise NotRun(f"npm install failed: {last_line(out)}")
    with open(stamp, "w") as fh:
        fh.write(want + "\n")
    return binp


def install_ripsecrets(scratch):
    local = os.path.join(scratch, "bin", "ripsecrets")
    if os.path.exists(local):
        return local
    found = shutil.which("ripsecrets")
    if found:
        return found
    cargo = shutil.which("cargo")
    if not cargo:
        raise NotRun("ripsecrets not installed and cargo not found")
    log(f"cargo install ripsecrets --root {scratch} --locked")
    rc, out = sh([cargo, "install", "ripsecrets", "--root", scratch, "--locked"], timeout=3600)
    if rc != 0 or not os.path.exists(local):
        raise NotRun(f"cargo install ripsecrets failed: {last_line(out)}")
    return local


def ensure_ripgrep():
    rg = shutil.which("rg")
    if rg:
        return rg
    apt = shutil.which("apt-get")
    if not apt:
        raise NotRun("rg not found and apt-get unavailable")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log("rg missing: apt-get install -y ripgrep")
    rc, out = sh([apt, "install", "-y", "ripgrep"], timeout=900, env=env)
    if rc != 0:
        sh([apt, "update"], timeout=900, env=env)
        rc, out = sh([apt, "install", "-y", "ripgrep"], timeout=900, env=env)
    rg = shutil.which("rg")
    if rc != 0 or not rg:
        raise NotRun(f"apt-get install ripgrep failed: {last_line(out)}")
    return rg


def stable_copy(src, dst_dir, wait_s=600):
    """Copy a binary that another process may be rebuilding: wait until it exists and is stable."""
    deadline = time.time() + wait_s
    while True:
        try:
            s1 = os.stat(src)
            time.sleep(2)
            s2 = os.stat(src)
            if s1.st_size == s2.st_size and s1.st_mtime == s2.st_mtime and s1.st_size > 0:
                os.makedirs(dst_dir, exist_ok=True)
                dst = os.path.join(dst_dir, os.path.basename(src))
                tmp = dst + ".tmp"
                shutil.copy2(src, tmp)
                os.chmod(tmp, 0o755)
                os.replace(tmp, dst)
                if os.path.getsize(dst) == s2.st_size:
                    return dst
        except OSError:
            pass
        if time.time() > deadline:
            raise NotRun(f"holdfast binary {src} missing or changing for {wait_s} s")
        log(f"waiting for {src} to appear/settle")
        time.sleep(10)


def find_holdfast(arg):
    if arg:
        return arg
    if os.environ.get("HOLDFAST"):
        return os.environ["HOLDFAST"]
    for cand in (os.path.join(REPO, "target", "release", "holdfast"), os.path.join(REPO, "target", "debug", "holdfast")):
        if os.path.exists(cand):
            return cand
    return shutil.which("holdfast")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------------

def netns_prefix():
    """`unshare -n` (no network at all) when this user may create a network namespace."""
    u = shutil.which("unshare")
    if u:
        rc, _ = sh([u, "-n", "true"], timeout=20)
        if rc == 0:
            return [u, "-n"]
    return []


def measure(cmd, cwd, env, stdout, stderr, timeout, interval=0.25):
    args = json.dumps({"cmd": cmd, "cwd": cwd, "env": env, "stdout": stdout, "stderr": stderr, "timeout": timeout, "interval": interval})
    p = subprocess.run([sys.executable, "-c", WRAPPER, args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 600)
    if p.returncode != 0:
        raise NotRun(f"wrapper failed: {last_line(p.stderr.decode(errors='replace'))}")
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


class Ctx:
    pass


def tool_specs(ctx):
    """name -> function(target_dir, outdir) -> (cmd, cwd, output_path, parser, version_cmd)."""
    T = str(ctx.threads)

    def holdfast(target, od):
        return ctx.netns + [ctx.holdfast, "scan", "--format", "json", "--no-progress", "--threads", T, target], target, None, parse_holdfast

    def detect_secrets(target, od):
        exe = install_pip(ctx.scratch, "detect-secrets")
        return ctx.netns + [exe, "-c", T, "scan", "--all-files", "-n", "."], target, None, parse_detect_secrets

    def trufflehog3(target, od):
        exe = install_pip(ctx.scratch, "trufflehog3")
        out = os.path.join(od, "trufflehog3.json")
        return ctx.netns + [exe, "--no-history", "-z", "--context", "0", "-p", T, "-f", "JSON", "-o", out, target], target, out, parse_trufflehog3

    def credsweeper(target, od):
        exe = install_pip(ctx.scratch, "credsweeper")
        out = os.path.join(od, "credsweeper.json")
        return ctx.netns + [exe, "--path", target, "--save-json", out, "--jobs", T, "--no-stdout", "--log", "error"], target, out, parse_credsweeper

    def whispers(target, od):
        exe = install_pip(ctx.scratch, "whispers")
        out = os.path.join(od, "whispers.json")
        return ctx.netns + [exe, "-o", out, target], target, out, parse_whispers

    def kingfisher(target, od):
        exe = install_pip(ctx.scratch, "kingfisher-bin")
        out = os.path.join(od, "kingfisher.json")
        common = ["--format", "json", "--no-validate", "--git-history", "none", "--no-update-check", "-j", T,
                  "--rule-cache-dir", os.path.join(ctx.scratch, "kingfisher-cache")]
        # compile the rule database once, untimed, so the timed run measures scanning
        empty = os.path.join(ctx.scratch, "empty-dir")
        os.makedirs(empty, exist_ok=True)
        sh(ctx.netns + [exe, "scan", empty, "-o", os.path.join(od, "kingfisher-warmup.json")] + common, timeout=900, env=ctx.env)
        return ctx.netns + [exe, "scan", target, "-o", out] + common, target, out, parse_kingfisher

    def secretlint(target, od):
        exe = install_npm(ctx.scratch, "secretlint")
        rc = os.path.join(ctx.scratch, "secretlintrc.json")
        with open(rc, "w") as fh:
            json.dump({"rules": [{"id": "@secretlint/secretlint-rule-preset-recommend"}]}, fh)
        out = os.path.join(od, "secretlint.txt")
        return ctx.netns + [exe, "--secretlintrc", rc, "--secretlintignore", os.path.join(ctx.scratch, "empty.secretlintignore"),
                            "--format", "compact", "--no-color", "--no-terminalLink", "--output", out, "**/*"], target, out, parse_secretlint

    def ripsecrets(target, od):
        exe = install_ripsecrets(ctx.scratch)
        rc, help_out = sh([exe, "--help"], timeout=60)
        flags = ["--only-matching"] if "--only-matching" in help_out else []
        return ctx.netns + [exe] + flags + [target], target, None, parse_ripsecrets

    def noseyparker(target, od):
        exe = shutil.which("noseyparker") or shutil.which("noseyparker-cli")
        if not exe:
            raise NotRun("noseyparker is not on PATH (not installed by this benchmark)")
        ds = os.path.join(od, "noseyparker.np")
        shutil.rmtree(ds, ignore_errors=True)
        out = os.path.join(od, "noseyparker.json")
        script = f'"$0" scan -j {T} --datastore "$1" "$2" >/dev/null && "$0" report --datastore "$1" --format json > "$3"'
        return ctx.netns + ["sh", "-c", script, exe, ds, target, out], target, out, parse_noseyparker

    return {"holdfast": holdfast, "detect-secrets": detect_secrets, "trufflehog3": trufflehog3, "credsweeper": credsweeper,
            "whispers": whispers, "kingfisher-bin": kingfisher, "secretlint": secretlint, "ripsecrets": ripsecrets,
            "noseyparker": noseyparker}


VERSION_ARGS = {"holdfast": ["--version"], "detect-secrets": ["--version"], "trufflehog3": ["--version"], "credsweeper": ["--version"],
                "whispers": ["--version"], "kingfisher-bin": ["--version"], "secretlint": ["--version"], "ripsecrets": ["--version"],
                "noseyparker": ["--version"]}


def exe_of(cmd):
    """The tool binary inside a command built by tool_specs (after unshare / sh -c wrappers)."""
    rest = list(cmd)
    if rest and rest[0].endswith("unshare"):
        rest = rest[2:]
    if rest and rest[0] == "sh" and len(rest) > 3:
        return rest[3]
    return rest[0] if rest else None


def run_tool(ctx, name, target, target_info, labels, in_scope):
    row = {"tool": name, "ran_on": target_info["label"], "bytes": target_info["bytes"], "files": target_info["files"], "note": NOTES.get(name, "")}
    od = os.path.join(ctx.scratch, "out")
    os.makedirs(od, exist_ok=True)
    try:
        if name == "holdfast" and not ctx.holdfast:
            raise NotRun(ctx.holdfast_note or "no holdfast binary (pass --holdfast)")
        cmd, cwd, out, parser = tool_specs(ctx)[name](target, od)
        if ctx.extra.get(name):
            if "sh" in cmd[:3]:
                raise NotRun(f"--extra is not supported for {name}")
            cmd = cmd + ctx.extra[name]
        stdout_path = os.path.join(od, f"{name}.stdout")
        out = out or stdout_path
        for old in {out, stdout_path}:
            if not os.path.exists(old):
                continue
            if os.path.isdir(old):
                shutil.rmtree(old)
            else:
                os.remove(old)
        exe = exe_of(cmd)
        row["version"] = version_of([exe] + VERSION_ARGS[name], env=ctx.env) if exe else "?"
        row["command"] = " ".join(cmd)
        log(f"{name}: scanning {target_info['label']} ({row['version']})")
        errf = os.path.join(od, f"{name}.stderr")
        m = measure(cmd, cwd, ctx.env, stdout_path, errf, ctx.timeout)
    except NotRun as e:
        row["status"] = f"not run: {e}"
        log(f"{name}: {row['status']}")
        return row
    row.update({"rc": m["rc"], "wall_s": m["wall"], "cpu_s": m["user"] + m["sys"], "user_s": m["user"], "sys_s": m["sys"],
                "peak_rss_mib": max(m["ru_maxrss_kib"], m["tree_peak_kib"]) / 1024, "ru_maxrss_mib": m["ru_maxrss_kib"] / 1024,
                "tree_peak_rss_mib": m["tree_peak_kib"] / 1024, "mb_s": target_info["bytes"] / 1e6 / max(m["wall"], 1e-9)})
    if m["timeout"]:
        row["status"] = f"timeout after {ctx.timeout:.0f} s"
        log(f"{name}: {row['status']}")
        return row
    try:
        findings = parser(out, target)
    except Exception as e:  # noqa: BLE001 - any parse failure is a failed run
        tail = ""
        try:
            with open(errf, errors="replace") as fh:
                tail = last_line(fh.read())
        except OSError:
            pass
        row["status"] = f"not run: failed (rc={m['rc']}): {tail or e}"
        log(f"{name}: {row['status']}")
        return row
    row["status"] = "ok"
    row.update(score(findings, labels, in_scope))
    log(f"{name}: {row['wall_s']:.1f} s, {len(findings)} findings, TP {row['tp']} FP {row['fp']} FN {row['fn']}")
    return row


def run_ripgrep(ctx, target, target_info):
    row = {"tool": "ripgrep", "ran_on": target_info["label"], "bytes": target_info["bytes"], "files": target_info["files"],
           "reference": True, "note": NOTES["ripgrep"]}
    od = os.path.join(ctx.scratch, "out")
    os.makedirs(od, exist_ok=True)
    try:
        rg = ensure_ripgrep()
        if not ctx.keywords:
            raise NotRun(ctx.keywords_note or "no keyword list (holdfast rules unavailable)")
        kw = os.path.join(ctx.scratch, "keywords.txt")
        with open(kw, "w") as fh:
            fh.write("\n".join(ctx.keywords) + "\n")
        cmd = ctx.netns + [rg, "-i", "-c", "--no-messages", "-uuu", "-F", "-j", str(ctx.threads), "-f", kw, target]
        row["version"] = version_of([rg, "--version"])
        row["command"] = " ".join(cmd)
        row["keywords"] = len(ctx.keywords)
        log(f"ripgrep: scanning {target_info['label']} with {len(ctx.keywords)} keywords")
        m = measure(cmd, target, ctx.env, os.path.join(od, "ripgrep.txt"), os.path.join(od, "ripgrep.stderr"), ctx.timeout)
    except NotRun as e:
        row["status"] = f"not run: {e}"
        log(f"ripgrep: {row['status']}")
        return row
    row.update({"rc": m["rc"], "wall_s": m["wall"], "cpu_s": m["user"] + m["sys"], "peak_rss_mib": max(m["ru_maxrss_kib"], m["tree_peak_kib"]) / 1024,
                "ru_maxrss_mib": m["ru_maxrss_kib"] / 1024, "tree_peak_rss_mib": m["tree_peak_kib"] / 1024,
                "mb_s": target_info["bytes"] / 1e6 / max(m["wall"], 1e-9)})
    if m["timeout"]:
        row["status"] = f"timeout after {ctx.timeout:.0f} s"
    elif m["rc"] not in (0, 1):
        row["status"] = f"not run: rg exited {m['rc']}"
    else:
        row["status"] = "ok"
        hits = 0
        with open(os.path.join(od, "ripgrep.txt"), errors="replace") as fh:
            for ln in fh:
                try:
                    hits += int(ln.rsplit(":", 1)[1])
                except (IndexError, ValueError):
                    pass
        row["keyword_lines"] = hits
    log(f"ripgrep: {row['status']} {row.get('wall_s', 0):.2f} s")
    return row


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------

def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def table(rows, rg_row):
    rg_spb = None
    if rg_row and rg_row.get("status") == "ok" and rg_row.get("bytes"):
        rg_spb = rg_row["wall_s"] / rg_row["bytes"]

    def key(r):
        if r.get("status") != "ok":
            return (2, 0)
        if r.get("reference"):
            return (1, 0)
        return (0, -r["f1"])

    head = "| Tool | Ran on | MB/s | Wall ÷ rg | CPU s | Peak RSS MiB | TP | FP | FN | Precision | Recall | F1 |"
    lines = [head, "|" + "---|" * 12]
    for r in sorted(rows, key=key):
        if r.get("status") != "ok":
            lines.append(f"| {r['tool']} | {r.get('ran_on', '')} | {r['status']} |" + " |" * 9)
            continue
        ratio = None
        if rg_spb and r.get("bytes"):
            ratio = (r["wall_s"] / r["bytes"]) / rg_spb
        if r.get("reference"):
            q = ["n/a"] * 6
        else:
            q = [str(r["tp"]), str(r["fp"]), str(r["fn"]), f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}"]
        lines.append(f"| {r['tool']} | {r['ran_on']} | {r['mb_s']:.1f} | {fmt(ratio, '.1f')} | {r['cpu_s']:.1f} | {r['peak_rss_mib']:.0f} | " + " | ".join(q) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, help="directory written by generate_corpus.py")
    ap.add_argument("--holdfast", help="holdfast binary (default: $HOLDFAST, target/release, target/debug, PATH)")
    ap.add_argument("--peers", default="all", help=f"all, none, or a comma list of: {', '.join(ALL_PEERS)}")
    ap.add_argument("--scratch", help="where peers are installed and outputs written (default: CORPUS/peers)")
    ap.add_argument("--threads", type=int, default=2, help="threads/processes for tools that take the option")
    ap.add_argument("--timeout", type=float, help="per-tool timeout in seconds (default: 2 h per GB scanned, at least 10 min)")
    ap.add_argument("--sample-mb", type=float, help="run the slow tools on the first N MB of files only")
    ap.add_argument("--slow", default=",".join(DEFAULT_SLOW), help="tools that use the --sample-mb subset (comma list)")
    ap.add_argument("--no-warm", action="store_true", help="skip reading the corpus once before timing")
    ap.add_argument("--no-netns", action="store_true", help="do not run tools inside `unshare -n`")
    ap.add_argument("--extra", action="append", default=[], metavar="TOOL=ARGS",
                    help="extra arguments appended to a tool's command line, e.g. credsweeper='--severity medium' (repeatable)")
    args = ap.parse_args(argv)

    base = os.path.abspath(args.corpus)
    corpus = os.path.join(base, "corpus")
    labels_path = os.path.join(base, "labels.jsonl")
    if not os.path.isdir(corpus) or not os.path.exists(labels_path):
        sys.exit(f"{base} does not look like a generated corpus (need corpus/ and labels.jsonl)")
    scratch = os.path.abspath(args.scratch or os.path.join(base, "peers"))
    os.makedirs(scratch, exist_ok=True)
    open(os.path.join(scratch, "empty.secretlintignore"), "a").close()

    if args.peers.strip() in ("all", ""):
        peers = list(ALL_PEERS)
    elif args.peers.strip() == "none":
        peers = []
    else:
        peers = [p.strip() for p in args.peers.split(",") if p.strip()]
        unknown = [p for p in peers if p not in ALL_PEERS]
        if unknown:
            sys.exit(f"unknown peers: {', '.join(unknown)} (known: {', '.join(ALL_PEERS)})")
    slow = {s.strip() for s in args.slow.split(",") if s.strip()}

    labels = load_labels(labels_path)
    files = walk_files(corpus)
    full = {"label": f"{sum(s for _, s in files) / 1e6:.0f} MB (all)", "bytes": sum(s for _, s in files), "files": len(files)}
    manifest = {}
    if os.path.exists(os.path.join(base, "manifest.json")):
        manifest = json.load(open(os.path.join(base, "manifest.json")))

    ctx = Ctx()
    ctx.scratch = scratch
    ctx.threads = args.threads
    ctx.extra = {}
    for e in args.extra:
        tool, _, rest = e.partition("=")
        ctx.extra.setdefault(tool.strip(), []).extend(shlex.split(rest))
    gb = full["bytes"] / 1e9
    ctx.timeout = args.timeout or max(600.0, 7200.0 * gb)
    ctx.netns = [] if args.no_netns else netns_prefix()
    ctx.env = dict(os.environ, XDG_CACHE_HOME=os.path.join(scratch, "cache"), NO_COLOR="1", PYTHONWARNINGS="ignore",
                   DO_NOT_TRACK="1", SEMGREP_SEND_METRICS="off")
    ctx.holdfast = None
    ctx.holdfast_note = None
    ctx.keywords = []
    ctx.keywords_note = None
    hf_src = find_holdfast(args.holdfast)
    holdfast_info = {}
    if hf_src:
        try:
            ctx.holdfast = stable_copy(hf_src, os.path.join(scratch, "holdfast-bin"))
            holdfast_info = {"source": hf_src, "sha256": sha256_file(ctx.holdfast)}
        except NotRun as e:
            ctx.holdfast_note = str(e)
    else:
        ctx.holdfast_note = "no holdfast binary (pass --holdfast)"
    if ctx.holdfast:
        rc, out = sh([ctx.holdfast, "scan", "rules", "list", "--json"], timeout=120)
        try:
            items = json.loads(out)["items"]
            kws = sorted({k.lower() for it in items for k in it.get("keywords", []) if k})
            ctx.keywords = kws
            holdfast_info["rules"] = len(items)
        except (ValueError, KeyError) as e:
            ctx.keywords_note = f"could not read holdfast rule keywords: {e}"
    else:
        ctx.keywords_note = "no holdfast binary to read rule keywords from"

    sample = None
    if args.sample_mb:
        root, names, nbytes, nfiles = make_sample(corpus, scratch, args.sample_mb)
        sample = {"root": root, "names": names, "info": {"label": f"{nbytes / 1e6:.0f} MB sample", "bytes": nbytes, "files": nfiles}}

    if not args.no_warm:
        log("warming the page cache")
        warm_cache(corpus)
    rows = []
    try:
        rg_row = run_ripgrep(ctx, corpus, full)
    except Exception as e:  # noqa: BLE001
        rg_row = {"tool": "ripgrep", "ran_on": full["label"], "reference": True, "status": f"not run: error: {e}"[:300]}
    rows.append(rg_row)
    for name in ["holdfast"] + peers:
        if sample and name in slow:
            target, info, scope = sample["root"], sample["info"], sample["names"]
        else:
            target, info, scope = corpus, full, None
        try:
            rows.append(run_tool(ctx, name, target, info, labels, scope))
        except Exception as e:  # noqa: BLE001 - one tool's failure must not end the run
            log(f"{name}: unexpected error: {e!r}")
            rows.append({"tool": name, "ran_on": info["label"], "status": f"not run: error: {e}"[:300]})

    tab = table(rows, rg_row)
    result = {
        "corpus": {"dir": base, "bytes": full["bytes"], "files": full["files"], "manifest": manifest},
        "sample": sample["info"] if sample else None,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "threads": args.threads, "timeout_s": ctx.timeout, "network_namespace": bool(ctx.netns),
        "holdfast": holdfast_info, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tools": rows, "table": tab,
    }
    with open(os.path.join(base, "results.json"), "w") as fh:
        json.dump(result, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
    print(tab)
    print(f"\nresults: {os.path.join(base, 'results.json')}")


if __name__ == "__main__":
    main()
