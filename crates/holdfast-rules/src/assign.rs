//! The shape of a generic assignment, checked by hand in a few bytes before any regex runs.
//!
//! `anchor = "assignment"` rules (the generic `password` / `secret` / `token` / `api_key` rules)
//! have keywords that occur every few hundred bytes of real code, and most occurrences are not
//! assignments of a literal (`getToken()`, `token = payload.get("t")`, `password: str`). Running
//! the rule's regex (a lazy DFA, then a backtracker for the groups) at each one dominated the
//! scanner's time. [`parse`] reads the shape below by hand, in the regex's own order of
//! preference, and returns the groups the regex would capture; the engine then only asks the
//! regex's DFA whether the key (which names the keyword within its limits) matches. A property
//! test holds [`parse`] to the shipped generic pattern: wherever the pattern matches, [`parse`]
//! returns the same key, quote and secret. The shape:
//!
//! ```text
//! KEY ["']? ( \s{0,5} : \s{0,5} &? '? TYPE \s{0,5} =                     -- typed declaration
//!           | \s{1,5} (string | str) \s{0,5} =                           -- `name string = …`
//!           | \s{0,5} (:= | => | = | :) )                                 -- plain assignment
//!       \s{0,5} (["'`]?) VALUE (terminator | end)
//! ```
//!
//! where KEY runs to the end of the word (letters, digits, `_`, `-`, `.`), TYPE is a letter or `_`
//! then up to 30 of `[A-Za-z0-9_<>\[\]'.]`, VALUE is [`MIN_VALUE`] to [`MAX_VALUE`] bytes outside
//! `\s"'`,;(){}<>[]`, and the terminator is one of `\s"'`,;<)]}`. `\s` is ASCII white space;
//! `string`/`str` match in any case.

/// The shortest value the generic assignment patterns accept.
pub const MIN_VALUE: usize = 8;
/// The longest.
pub const MAX_VALUE: usize = 200;

/// The groups of one assignment, as byte offsets into the searched text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    /// Where the key (the word) ends.
    pub key_end: usize,
    /// Whether the value is quoted.
    pub quoted: bool,
    pub secret_start: usize,
    pub secret_end: usize,
    /// Where the whole match ends (after the terminator, when there is one).
    pub end: usize,
}

/// Bytes of a key name: letters, digits, `_`, `-`, `.`.
pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

/// `\s` without Unicode.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `[^\s"'`,;(){}<>\[\]]`: a byte of a value.
fn is_value_byte(b: u8) -> bool {
    !is_space(b)
        && !matches!(
            b,
            b'"' | b'\''
                | b'`'
                | b','
                | b';'
                | b'('
                | b')'
                | b'{'
                | b'}'
                | b'<'
                | b'>'
                | b'['
                | b']'
        )
}

/// `[\s"'`,;<)\]}]`: a byte that may follow a value.
fn is_terminator(b: u8) -> bool {
    is_space(b)
        || matches!(
            b,
            b'"' | b'\'' | b'`' | b',' | b';' | b'<' | b')' | b']' | b'}'
        )
}

/// `[A-Za-z0-9_<>\[\]'.]`: a byte of a declared type.
fn is_type_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'<' | b'>' | b'[' | b']' | b'\'' | b'.')
}

/// Skips at most `max` spaces from `i`.
fn skip_spaces(hay: &[u8], mut i: usize, max: usize) -> usize {
    let mut n = 0;
    while n < max && hay.get(i).is_some_and(|b| is_space(*b)) {
        i += 1;
        n += 1;
    }
    i
}

/// The value starting at `i`: up to five spaces, an optional quote, then [`MIN_VALUE`] to
/// [`MAX_VALUE`] value bytes that end at a terminator (taken into the match) or at `end` (where
/// the regex's haystack ends, so `\z` matches there). Returns `(quoted, start, end, match end)`.
fn value_at(hay: &[u8], i: usize, end: usize) -> Option<(bool, usize, usize, usize)> {
    let mut i = skip_spaces(hay, i, 5);
    let quoted = matches!(hay.get(i), Some(b'"' | b'\'' | b'`'));
    if quoted {
        i += 1;
    }
    let start = i;
    while i < end && hay.get(i).is_some_and(|b| is_value_byte(*b)) {
        i += 1;
    }
    if start >= end || !(MIN_VALUE..=MAX_VALUE).contains(&(i - start)) {
        return None;
    }
    if i >= end {
        return Some((quoted, start, i, i));
    }
    hay.get(i)
        .is_some_and(|b| is_terminator(*b))
        .then_some((quoted, start, i, i + 1))
}

/// Whether `: TYPE =` (after the colon at `i`) declares a type, and where its `=` ends.
fn typed_declaration(hay: &[u8], i: usize) -> Option<usize> {
    let mut k = skip_spaces(hay, i, 5);
    if hay.get(k) == Some(&b'&') {
        k += 1;
    }
    if hay.get(k) == Some(&b'\'') {
        k += 1;
    }
    if !hay
        .get(k)
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return None;
    }
    k += 1;
    let type_start = k;
    while hay.get(k).is_some_and(|b| is_type_byte(*b)) {
        k += 1;
    }
    // The type may be any prefix of its run (the regex can stop early when what follows is a
    // space or `=`), but nothing in the run is either, so the run must end within 30 bytes.
    if k - type_start > 30 {
        return None;
    }
    let k = skip_spaces(hay, k, 5);
    (hay.get(k) == Some(&b'=')).then_some(k + 1)
}

/// The groups the generic assignment pattern captures at a word whose key runs on from `from`
/// (any byte of the word at or after the keyword), in a regex haystack ending at `end` — or
/// `None` where it cannot match. Whether the key names the keyword within its limits is left to
/// the pattern.
pub fn parse(hay: &[u8], from: usize, end: usize) -> Option<Assignment> {
    let end = end.min(hay.len());
    let mut i = from;
    while hay.get(i).is_some_and(|b| is_word_byte(*b)) {
        i += 1;
    }
    let key_end = i;
    if matches!(hay.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    let j = skip_spaces(hay, i, 5);
    let at = |k: usize| hay.get(k).copied();
    let assignment = |v: Option<(bool, usize, usize, usize)>| {
        v.map(|(quoted, secret_start, secret_end, end)| Assignment {
            key_end,
            quoted,
            secret_start,
            secret_end,
            end,
        })
    };
    // The alternatives in the pattern's order: the first that reads a value is the one the
    // regex reports.
    let value = match at(j) {
        Some(b':') => typed_declaration(hay, j + 1)
            .and_then(|v| value_at(hay, v, end))
            .or_else(|| {
                (at(j + 1) == Some(b'='))
                    .then(|| value_at(hay, j + 2, end))
                    .flatten()
            })
            .or_else(|| value_at(hay, j + 1, end)),
        Some(b'=') => (at(j + 1) == Some(b'>'))
            .then(|| value_at(hay, j + 2, end))
            .flatten()
            .or_else(|| value_at(hay, j + 1, end)),
        Some(b's' | b'S') if j > i => {
            let word = |w: &[u8]| {
                hay.get(j..j + w.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(w))
            };
            let after = if word(b"string") {
                j + 6
            } else if word(b"str") {
                j + 3
            } else {
                return None;
            };
            let k = skip_spaces(hay, after, 5);
            if at(k) != Some(b'=') {
                return None;
            }
            value_at(hay, k + 1, end)
        }
        _ => None,
    };
    assignment(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From the line's first letter, as the engine calls it from a keyword hit.
    fn ok(line: &str) -> bool {
        let from = line.bytes().position(is_word_byte).unwrap_or(0);
        parse(line.as_bytes(), from, line.len()).is_some()
    }

    #[test]
    fn accepts_the_shapes_of_an_assignment() {
        for line in [
            "password=Zq8mW2xR7tLp",
            "DB_PASSWORD = \"Zq8mW2xR7tLp\"",
            "\"token\": \"abcdefgh12\",",
            "'secret' => 'abcdefgh12'",
            "token := \"abcdefgh12\"",
            "apiKey: string = \"abcdefgh12\";",
            "password string = \"abcdefgh12\"",
            "token: &str = \"abcdefgh12\";",
            "token:abcdefgh12",
            "token: abcdefgh12\n",
        ] {
            assert!(ok(line), "{line}");
        }
    }

    #[test]
    fn rejects_what_cannot_be_an_assignment_of_a_literal() {
        for line in [
            "getToken()",
            "token = payload.get(\"t\")",
            "self.api_key = api_key",
            "password: str",
            "token.value",
            "the token is here",
            "secret = ${SECRET}",
            "password = short",
            "PasswordMinLength = 3600;",
        ] {
            assert!(!ok(line), "{line}");
        }
    }
}
