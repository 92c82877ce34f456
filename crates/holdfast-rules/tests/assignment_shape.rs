//! `anchor = "assignment"` is only sound if the hand-written shape check never rejects a place
//! where the rule's own pattern matches. Lines are built from the pieces real assignments are made
//! of (and near misses), and every match of each assignment rule's anchored pattern must be one
//! the check lets through.
#![allow(clippy::unwrap_used)] // a test helper outside `#[test]`: the pack must compile

use holdfast_rules::assign::may_match;
use std::sync::OnceLock;

use holdfast_rules::Ruleset;
use proptest::prelude::*;

/// Compiled once: compiling the pack per case would dominate the test.
fn rules() -> &'static Ruleset {
    static RULES: OnceLock<Ruleset> = OnceLock::new();
    RULES.get_or_init(|| holdfast_rules::bundled().unwrap())
}

const KEYS: &[&str] = &[
    "password",
    "DB_PASSWORD",
    "db.password",
    "pwd",
    "Passphrase",
    "secret",
    "client_secret",
    "SECRET_KEY",
    "token",
    "accessToken",
    "GITHUB_TOKEN",
    "api_key",
    "apiKey",
    "x-api-key",
    "service.account.key",
    "tokenizer",
    "passwords2",
];
const QUOTES: &[&str] = &["", "\"", "'", "`"];
const SPACES: &[&str] = &["", " ", "  ", "\t", "     ", "      ", " \n "];
const OPERATORS: &[&str] = &[
    "=",
    ":",
    ":=",
    "=>",
    "==",
    ": string =",
    " string =",
    " String=",
    " str =",
    " STR =",
    ": &'static str =",
    ": Option<String> =",
    ": [u8; 32] =",
    ": int",
    "(",
    ".",
    " is ",
    "",
    ": VeryLongTypeNameThatGoesOnAndOnForever =",
    ":==",
    "=>>",
];
const VALUE_BYTES: &[u8] = b"aZ9_-./+=:$%@!~&|?#*^x>\\";
const ENDS: &[&str] = &[
    "", " ", "\n", "\"", "'", "`", ",", ";", "<", ")", "]", "}", "(", "{", ">", "[", "x",
];

fn line() -> impl Strategy<Value = String> {
    (
        prop::sample::select(KEYS),
        prop::sample::select(QUOTES),
        prop::sample::select(SPACES),
        prop::sample::select(OPERATORS),
        prop::sample::select(SPACES),
        prop::sample::select(QUOTES),
        prop::collection::vec(prop::sample::select(VALUE_BYTES), 0..14),
        0usize..4,
        prop::sample::select(ENDS),
    )
        .prop_map(|(key, kq, s1, op, s2, vq, value, long, end)| {
            let mut v: String = value.iter().map(|b| *b as char).collect();
            // Now and then a value near the 200-byte limit.
            if long == 0 {
                v = v
                    .repeat(200 / v.len().max(1))
                    .chars()
                    .take(199 + v.len() % 4)
                    .collect();
            }
            format!("{key}{kq}{s1}{op}{s2}{vq}{v}{end}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn the_shape_check_lets_through_every_match(text in line(), cut in 0usize..64) {
        let rules = rules();
        // The regex may see a haystack cut short (the engine's window); `\z` matches there.
        let end = text.len().saturating_sub(cut % 3 * cut);
        for rule in rules.rules.iter().filter(|r| r.assignment) {
            let anchored = rule.anchored.as_ref().unwrap();
            let hay = &text.as_bytes()[..end];
            if anchored.is_match(hay) {
                prop_assert!(
                    may_match(text.as_bytes(), 0, end),
                    "rule {} matches {:?} (cut at {}) but the shape check rejects it",
                    rule.id(), text, end
                );
            }
        }
    }
}

#[test]
fn the_shape_check_rejects_most_non_assignments() {
    // It must also be worth having: the common non-literal uses of a keyword are turned away.
    let rejected = [
        "token = payload.get(\"access_token\")",
        "password = os.environ[\"DATABASE_PASSWORD\"]",
        "self.api_key = api_key",
        "secretKeyRef:",
        "token = $this->getToken();",
        "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}",
    ];
    for line in rejected {
        assert!(!may_match(line.as_bytes(), 0, line.len()), "{line}");
    }
    let rules = holdfast_rules::bundled().unwrap();
    assert_eq!(rules.rules.iter().filter(|r| r.assignment).count(), 4);
}
