//! The matcher: one Aho-Corasick pass over the bytes finds keyword hits; only rules with a hit run
//! their regex, and only over windows around the hits. Matches pass the rule's filters, then
//! overlapping reports of the same secret are reduced to the most specific rule.

use std::cell::RefCell;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};
use holdfast_rules::{Confidence, Context, Rule, Ruleset, assign, is_word_byte};

/// How far before a keyword's line a window may start.
const LOOKBEHIND: usize = 256;
/// How far back from a keyword the start of its word is looked for (anchored rules).
const MAX_WORD_BACK: usize = 64;

/// For anchored rules: how far past the window the match may run (a key of up to 60 bytes, an
/// operator, a value of up to 200).
const ANCHORED_SLACK: usize = 128;

/// How far past the window a match may run to finish its line.
const LINE_SLACK: usize = 1024;

/// A rule's match in a buffer, before it becomes a [`crate::Finding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMatch {
    /// Index of the rule in the engine's rule set.
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub secret_start: usize,
    pub secret_end: usize,
}

/// A compiled rule set with its keyword automaton.
#[derive(Debug)]
pub struct Engine {
    pub rules: Ruleset,
    /// Every keyword, ASCII case-insensitive, reporting every occurrence (overlapping).
    keywords: DFA,
    start: StateID,
    /// For each automaton pattern, the rules it triggers.
    triggers: Vec<Vec<usize>>,
}

/// One keyword occurrence.
#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    pattern: usize,
}

/// Memory one thread reuses from one text to the next: the keyword hits, and per rule its windows
/// (start, end) and, for rules anchored at the keyword's word, its match starts with the groups of
/// an assignment read by hand for `anchor = "assignment"` rules. Offsets only, never text.
#[derive(Debug, Default)]
struct Scratch {
    hits: Vec<Hit>,
    middle: Vec<Hit>,
    last: Vec<Hit>,
    windows: Vec<Vec<(usize, usize)>>,
    starts: Vec<Vec<(usize, Option<assign::Assignment>)>>,
}

/// Below this many bytes the keyword walk is not split in three.
const SPLIT_MIN: usize = 512;

#[derive(Debug, thiserror::Error)]
#[error("the keyword automaton could not be built: {0}")]
pub struct BuildError(String);

impl Engine {
    pub fn new(rules: Ruleset) -> Result<Self, BuildError> {
        let mut keywords: Vec<String> = vec![];
        let mut triggers: Vec<Vec<usize>> = vec![];
        for (i, rule) in rules.rules.iter().enumerate() {
            for k in &rule.def.keywords {
                let k = k.to_ascii_lowercase();
                match keywords.iter().position(|x| *x == k) {
                    Some(p) => {
                        if let Some(t) = triggers.get_mut(p)
                            && !t.contains(&i)
                        {
                            t.push(i);
                        }
                    }
                    None => {
                        keywords.push(k);
                        triggers.push(vec![i]);
                    }
                }
            }
        }
        // Every occurrence of every keyword is reported; a hit on a keyword also triggers the rules
        // of every keyword it contains (`api_key` → `key`) over its own, longer extent.
        for (i, k) in keywords.iter().enumerate() {
            let mut extra = vec![];
            for (j, other) in keywords.iter().enumerate() {
                if i != j && k.contains(other.as_str()) {
                    extra.extend(triggers.get(j).cloned().unwrap_or_default());
                }
            }
            if let Some(t) = triggers.get_mut(i) {
                for r in extra {
                    if !t.contains(&r) {
                        t.push(r);
                    }
                }
            }
        }
        // A DFA walked by hand (see `keyword_hits`) with standard semantics: every state that
        // ends a keyword lists all the keywords ending there. No prefilter: keywords like `token`
        // are every few dozen bytes in code, where a prefilter only adds work.
        let dfa = aho_corasick::dfa::Builder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&keywords)
            .map_err(|e| BuildError(e.to_string()))?;
        let start = dfa
            .start_state(Anchored::No)
            .map_err(|e| BuildError(e.to_string()))?;
        Ok(Self {
            rules,
            keywords: dfa,
            start,
            triggers,
        })
    }

    /// Records the keywords that end at `end` in state `sid`.
    fn report(&self, sid: StateID, end: usize, hits: &mut Vec<Hit>) {
        let dfa = &self.keywords;
        if !dfa.is_match(sid) {
            return;
        }
        for i in 0..dfa.match_len(sid) {
            let pattern = dfa.match_pattern(sid, i);
            hits.push(Hit {
                start: end.saturating_sub(dfa.pattern_len(pattern)),
                end,
                pattern: pattern.as_usize(),
            });
        }
    }

    /// Every keyword occurrence in `hay`, in order of end (so nearly in order of start: only a
    /// keyword that ends later can start earlier).
    ///
    /// Walking a DFA is bound by the latency of each transition, one after the other. Three
    /// walks, over the three thirds of the text, interleaved in one loop keep the core busy with
    /// all of them (measured over 268 MB of this project's benchmark corpus: one walk 0.61 s, two
    /// 0.33 s, three 0.25 s). A later walk starts a keyword's length early, so an occurrence across
    /// a boundary is seen, and reports only what ends past the boundary.
    fn keyword_hits(
        &self,
        hay: &[u8],
        hits: &mut Vec<Hit>,
        middle: &mut Vec<Hit>,
        last: &mut Vec<Hit>,
    ) {
        let dfa = &self.keywords;
        hits.clear();
        middle.clear();
        last.clear();
        if hay.len() < SPLIT_MIN {
            let mut sid = self.start;
            for (i, &b) in hay.iter().enumerate() {
                sid = dfa.next_state(Anchored::No, sid, b);
                if dfa.is_special(sid) {
                    self.report(sid, i + 1, hits);
                }
            }
            return;
        }
        let n = hay.len();
        let overlap = dfa.max_pattern_len().saturating_sub(1);
        let (t1, t2) = (n / 3, 2 * n / 3);
        // The second walk covers [t1 - overlap, t2) and reports ends in (t1, t2]; the third covers
        // [t2 - overlap, n) and reports ends past t2.
        let (Some(b_from), Some(c_from)) = (t1.checked_sub(overlap), t2.checked_sub(overlap))
        else {
            return;
        };
        let (Some(a), Some(b), Some(c)) = (hay.get(..t1), hay.get(b_from..t2), hay.get(c_from..))
        else {
            return;
        };
        let (mut s1, mut s2, mut s3) = (self.start, self.start, self.start);
        // `a` is the shortest of the three: the loop covers it, the other two finish below.
        for (i, ((&x, &y), &z)) in a.iter().zip(b).zip(c).enumerate() {
            s1 = dfa.next_state(Anchored::No, s1, x);
            s2 = dfa.next_state(Anchored::No, s2, y);
            s3 = dfa.next_state(Anchored::No, s3, z);
            if dfa.is_special(s1) | dfa.is_special(s2) | dfa.is_special(s3) {
                if dfa.is_special(s1) {
                    self.report(s1, i + 1, hits);
                }
                if dfa.is_special(s2) && b_from + i + 1 > t1 {
                    self.report(s2, b_from + i + 1, middle);
                }
                if dfa.is_special(s3) && c_from + i + 1 > t2 {
                    self.report(s3, c_from + i + 1, last);
                }
            }
        }
        for (i, &y) in b.iter().enumerate().skip(a.len()) {
            s2 = dfa.next_state(Anchored::No, s2, y);
            if dfa.is_special(s2) && b_from + i + 1 > t1 {
                self.report(s2, b_from + i + 1, middle);
            }
        }
        for (i, &z) in c.iter().enumerate().skip(a.len()) {
            s3 = dfa.next_state(Anchored::No, s3, z);
            if dfa.is_special(s3) && c_from + i + 1 > t2 {
                self.report(s3, c_from + i + 1, last);
            }
        }
        hits.append(middle);
        hits.append(last);
    }

    pub fn rule(&self, i: usize) -> Option<&Rule> {
        self.rules.rules.get(i)
    }

    /// Every accepted match in `hay`, in order of position.
    pub fn scan(&self, hay: &[u8], ctx: &Context<'_>) -> Vec<RawMatch> {
        thread_local! {
            static SCRATCH: RefCell<Scratch> = RefCell::default();
        }
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => self.scan_in(&mut scratch, hay, ctx),
            Err(_) => self.scan_in(&mut Scratch::default(), hay, ctx),
        })
    }

    fn scan_in(&self, scratch: &mut Scratch, hay: &[u8], ctx: &Context<'_>) -> Vec<RawMatch> {
        let Scratch {
            hits,
            middle,
            last,
            windows,
            starts,
        } = scratch;
        self.keyword_hits(hay, hits, middle, last);
        for v in windows.iter_mut() {
            v.clear();
        }
        windows.resize_with(self.rules.rules.len(), Vec::new);
        for v in starts.iter_mut() {
            v.clear();
        }
        starts.resize_with(self.rules.rules.len(), Vec::new);
        let mut any = false;
        for m in hits.iter() {
            let Some(rules) = self.triggers.get(m.pattern) else {
                continue;
            };
            // Where the window of a rule triggered by this hit starts: the hit's line, looking back
            // at most LOOKBEHIND bytes (minified files have lines of tens of kilobytes, and an
            // unbounded search per hit would be quadratic in them). Only window rules need it.
            let mut line_start: Option<usize> = None;
            for &r in rules {
                let Some(rule) = self.rules.rules.get(r) else {
                    continue;
                };
                if rule.anchored.is_some() {
                    // The match starts where the word holding the keyword starts.
                    let floor = m.start.saturating_sub(MAX_WORD_BACK);
                    let mut s = m.start;
                    while s > floor && hay.get(s - 1).is_some_and(|b| is_word_byte(*b)) {
                        s -= 1;
                    }
                    let mut parsed = None;
                    if rule.assignment {
                        // The word is the one holding the hit's first letter: a keyword may carry
                        // punctuation of its own (`password=`, `"token"`).
                        let word = (m.start..m.end)
                            .find(|&i| hay.get(i).is_some_and(|b| is_word_byte(*b)))
                            .unwrap_or(m.end);
                        parsed = assign::parse(hay, word, s + rule.window() + ANCHORED_SLACK);
                        if parsed.is_none() {
                            continue;
                        }
                    }
                    if let Some(st) = starts.get_mut(r)
                        && st.last().map(|x| x.0) != Some(s)
                    {
                        st.push((s, parsed));
                        any = true;
                    }
                    continue;
                }
                let start = *line_start.get_or_insert_with(|| {
                    let floor = m.start.saturating_sub(LOOKBEHIND);
                    memchr::memrchr(b'\n', hay.get(floor..m.start).unwrap_or_default())
                        .map_or(floor, |p| floor + p + 1)
                });
                let want_end = m.end.saturating_add(rule.window()).min(hay.len());
                // Let a match finish the line it is on, within reason.
                let end = match memchr::memchr(b'\n', hay.get(want_end..).unwrap_or_default()) {
                    Some(p) if p <= LINE_SLACK => want_end + p,
                    _ => want_end.saturating_add(LINE_SLACK).min(hay.len()),
                };
                if let Some(w) = windows.get_mut(r) {
                    match w.last_mut() {
                        Some(last) if start <= last.1 && end >= last.0 => {
                            *last = (last.0.min(start), last.1.max(end));
                        }
                        _ => w.push((start, end)),
                    }
                    any = true;
                }
            }
        }
        if !any {
            return vec![];
        }
        let mut out = vec![];
        for (r, st) in starts.iter().enumerate() {
            let Some(rule) = self.rules.rules.get(r) else {
                continue;
            };
            let Some(anchored) = &rule.anchored else {
                continue;
            };
            for &(s, parsed) in st {
                let end = s
                    .saturating_add(rule.window() + ANCHORED_SLACK)
                    .min(hay.len());
                let Some(slice) = hay.get(s..end) else {
                    continue;
                };
                let candidate = match parsed {
                    // The groups are read and judged first (nearly all are turned away there);
                    // the regex's DFA then only confirms that the key names the keyword within
                    // its limits, without the slower search for groups.
                    Some(a) => rule
                        .judge_assignment(hay, s, &a, ctx)
                        .filter(|_| anchored.is_match(slice)),
                    None => anchored
                        .captures(slice)
                        .and_then(|caps| rule.judge(&caps, s, ctx)),
                };
                if let Some(c) = candidate {
                    out.push(RawMatch {
                        rule: r,
                        start: c.start,
                        end: c.end,
                        secret_start: c.secret_start,
                        secret_end: c.secret_end,
                    });
                }
            }
        }
        for (r, ws) in windows.iter().enumerate() {
            let Some(rule) = self.rules.rules.get(r) else {
                continue;
            };
            let mut last_secret: Option<(usize, usize)> = None;
            for &(s, e) in ws {
                let Some(slice) = hay.get(s..e) else { continue };
                // Most windows hold no match: asking first spares the allocation and set-up of a
                // search for groups.
                if !rule.regex.is_match(slice) {
                    continue;
                }
                for caps in rule.regex.captures_iter(slice) {
                    if let Some(c) = rule.judge(&caps, s, ctx) {
                        if last_secret == Some((c.secret_start, c.secret_end)) {
                            continue;
                        }
                        last_secret = Some((c.secret_start, c.secret_end));
                        out.push(RawMatch {
                            rule: r,
                            start: c.start,
                            end: c.end,
                            secret_start: c.secret_start,
                            secret_end: c.secret_end,
                        });
                    }
                }
            }
        }
        self.reduce(out)
    }

    /// Where several rules report overlapping secrets, keep the most specific one: highest
    /// confidence, then non-generic, then the one whose secret is longest.
    fn reduce(&self, mut ms: Vec<RawMatch>) -> Vec<RawMatch> {
        let rank = |m: &RawMatch| {
            let rule = self.rules.rules.get(m.rule);
            let conf = rule.map_or(Confidence::Low, |r| r.def.confidence);
            let generic = rule.is_some_and(|r| r.def.tags.iter().any(|t| t == "generic"));
            (conf, !generic, m.secret_end - m.secret_start)
        };
        ms.sort_by_key(|m| (m.secret_start, std::cmp::Reverse(m.secret_end)));
        let mut kept: Vec<RawMatch> = Vec::with_capacity(ms.len());
        for m in ms {
            match kept.last_mut() {
                Some(k) if m.secret_start < k.secret_end => {
                    if rank(&m) > rank(k) {
                        *k = m;
                    }
                }
                _ => kept.push(m),
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::new(holdfast_rules::bundled().unwrap()).unwrap()
    }

    #[test]
    fn finds_and_reduces_overlaps() {
        let e = engine();
        let text = b"DATABASE_URL=postgres://app:Zq8mW2xR7tLp4Kv9@db.internal:5432/app\n"; // holdfast:allow
        let ms = e.scan(text, &Context { path: Some(".env") });
        assert_eq!(ms.len(), 1, "{ms:?}");
        let rule = e.rule(ms[0].rule).unwrap();
        assert_eq!(rule.def.id, "postgres-url-password");
        assert_eq!(
            &text[ms[0].secret_start..ms[0].secret_end],
            b"Zq8mW2xR7tLp4Kv9"
        );
    }

    /// Every keyword occurrence one walk over the whole text reports, sorted.
    fn one_walk(e: &Engine, text: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut hits = vec![];
        let mut sid = e.start;
        for (i, &b) in text.iter().enumerate() {
            sid = e.keywords.next_state(Anchored::No, sid, b);
            if e.keywords.is_special(sid) {
                e.report(sid, i + 1, &mut hits);
            }
        }
        let mut out: Vec<_> = hits.iter().map(|h| (h.start, h.end, h.pattern)).collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn interleaved_walks_find_exactly_what_one_walk_finds() {
        let e = engine();
        // Keywords of several lengths, overlapping and nested, laid so that over the lengths below
        // one of them straddles each boundary at every offset, and some end at the very end.
        let unit = b"xTOKEN=password://Secret_api_key ghp_";
        for len in (SPLIT_MIN - 2..SPLIT_MIN + 3 * unit.len() + 3).chain([4095, 4096, 10_001]) {
            let text: Vec<u8> = unit.iter().copied().cycle().take(len).collect();
            let (mut hits, mut middle, mut last) = (vec![], vec![], vec![]);
            e.keyword_hits(&text, &mut hits, &mut middle, &mut last);
            let mut got: Vec<_> = hits.iter().map(|h| (h.start, h.end, h.pattern)).collect();
            got.sort_unstable();
            let want = one_walk(&e, &text);
            assert!(!want.is_empty());
            assert_eq!(got, want, "length {len}");
        }
    }

    #[test]
    fn nothing_without_keywords() {
        let e = engine();
        assert!(
            e.scan(b"fn main() { println!(\"hello\"); }", &Context::default())
                .is_empty()
        );
    }
}
