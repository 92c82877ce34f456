//! The shape of a generic assignment, checked by hand in a few bytes before any regex runs.
//!
//! `anchor = "assignment"` rules (the generic `password` / `secret` / `token` / `api_key` rules)
//! have keywords that occur every few hundred bytes of real code, and most occurrences are not
//! assignments of a literal (`getToken()`, `token = payload.get("t")`, `password: str`). Running
//! the rule's regex at each one dominated the scanner's time. [`may_match`] is a *necessary*
//! condition for the shipped generic pattern — it rejects a position only when the pattern cannot
//! match there — so it changes no result, only how often the regex runs. The shape it checks:
//!
//! ```text
//! KEY ["']? ( \s{0,5} (:= | => | = | :)                                   -- plain assignment
//!           | \s{0,5} : \s{0,5} &? '? TYPE \s{0,5} =                       -- typed declaration
//!           | \s{1,5} (string | str) \s{0,5} = )                           -- `name string = …`
//!       \s{0,5} ["'`]? VALUE (terminator | end)
//! ```
//!
//! where KEY runs to the end of the word (letters, digits, `_`, `-`, `.`), TYPE is a letter or `_`
//! then up to 30 of `[A-Za-z0-9_<>\[\]'.]`, VALUE is at least [`MIN_VALUE`] bytes outside
//! `\s"'`,;(){}<>[]`, and the terminator is one of `\s"'`,;<)]}`. `\s` is ASCII white space.

/// The shortest value the generic assignment patterns accept.
pub const MIN_VALUE: usize = 8;

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

/// Whether a value can start at `i`: up to five spaces, an optional quote, then a run of at least
/// [`MIN_VALUE`] value bytes that ends at a terminator or at `end` (where the regex's haystack
/// ends, so `\z` matches there).
fn value_at(hay: &[u8], i: usize, end: usize) -> bool {
    let mut i = skip_spaces(hay, i, 5);
    if matches!(hay.get(i), Some(b'"' | b'\'' | b'`')) {
        i += 1;
    }
    let start = i;
    while i < end && hay.get(i).is_some_and(|b| is_value_byte(*b)) {
        i += 1;
    }
    i - start >= MIN_VALUE && (i >= end || hay.get(i).is_none_or(|b| is_terminator(*b)))
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

/// Whether the generic assignment pattern can match at a word whose key runs on from `from`
/// (any byte of the word at or after the keyword), in a regex haystack ending at `end`.
pub fn may_match(hay: &[u8], from: usize, end: usize) -> bool {
    let end = end.min(hay.len());
    let mut i = from;
    while hay.get(i).is_some_and(|b| is_word_byte(*b)) {
        i += 1;
    }
    if matches!(hay.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    let j = skip_spaces(hay, i, 5);
    let at = |k: usize| hay.get(k).copied();
    match at(j) {
        Some(b':') => {
            (at(j + 1) == Some(b'=') && value_at(hay, j + 2, end))
                || value_at(hay, j + 1, end)
                || typed_declaration(hay, j + 1).is_some_and(|v| value_at(hay, v, end))
        }
        Some(b'=') => {
            (at(j + 1) == Some(b'>') && value_at(hay, j + 2, end)) || value_at(hay, j + 1, end)
        }
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
                return false;
            };
            let k = skip_spaces(hay, after, 5);
            at(k) == Some(b'=') && value_at(hay, k + 1, end)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From the line's first letter, as the engine calls it from a keyword hit.
    fn ok(line: &str) -> bool {
        let from = line.bytes().position(is_word_byte).unwrap_or(0);
        may_match(line.as_bytes(), from, line.len())
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
