//! `anchor = "assignment"` is only sound if the hand-written reading of an assignment agrees with
//! the rule's own pattern: wherever the pattern matches, `parse` must return the same groups.
//! Lines are built from the pieces real assignments are made of (and near misses).
#![allow(clippy::unwrap_used)] // a test helper outside `#[test]`: the pack must compile

use holdfast_rules::assign::parse;
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
    ": SecretString =",
    ": java.lang.String=",
    ":  Vec<u8>  =",
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
                    .repeat(202 / v.len().max(1) + 2)
                    .chars()
                    .take(198 + v.len() % 5)
                    .collect();
            }
            format!("{key}{kq}{s1}{op}{s2}{vq}{v}{end}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn parse_reads_the_groups_the_pattern_captures(text in line(), cut in 0usize..64) {
        let rules = rules();
        // The regex may see a haystack cut short (the engine's window); `\z` matches there.
        let end = text.len().saturating_sub(cut % 3 * cut);
        let hay = &text.as_bytes()[..end];
        let parsed = parse(text.as_bytes(), 0, end);
        for rule in rules.rules.iter().filter(|r| r.assignment) {
            let anchored = rule.anchored.as_ref().unwrap();
            let Some(caps) = anchored.captures(hay) else { continue };
            let Some(a) = parsed else {
                return Err(TestCaseError::fail(format!(
                    "rule {} matches {text:?} (cut at {end}) but parse reads no assignment",
                    rule.id()
                )));
            };
            let whole = caps.get(0).unwrap();
            let key = caps.name("key").unwrap();
            let secret = caps.name("secret").unwrap();
            let quoted = caps.name("q").is_some_and(|q| !q.is_empty());
            prop_assert_eq!(
                (whole.end(), key.end(), secret.start(), secret.end(), quoted),
                (a.end, a.key_end, a.secret_start, a.secret_end, a.quoted),
                "rule {} on {:?} (cut at {})", rule.id(), text, end
            );
        }
    }
}

#[test]
fn parse_rejects_the_common_non_assignments() {
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
        assert!(parse(line.as_bytes(), 0, line.len()).is_none(), "{line}");
    }
    let rules = holdfast_rules::bundled().unwrap();
    assert_eq!(rules.rules.iter().filter(|r| r.assignment).count(), 4);
}
