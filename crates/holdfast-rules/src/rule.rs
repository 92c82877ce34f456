//! A rule as written (`RuleDef`), as compiled (`Rule`), and the set of them (`Ruleset`).

use std::collections::BTreeSet;

use regex::bytes::{Captures, Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::filters::{self, Validator};

/// How sure a rule is that a match is a live credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// A rule as written in a rule file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub id: String,
    pub name: String,
    pub description: String,
    pub confidence: Confidence,
    #[serde(default)]
    pub tags: Vec<String>,
    pub keywords: Vec<String>,
    pub pattern: String,
    #[serde(default)]
    pub validators: Vec<String>,
    pub min_entropy: Option<f64>,
    pub window: Option<usize>,
    /// `"word"`: the match starts where the word holding the keyword starts (a key name such as
    /// `DB_PASSWORD`), so the pattern is tried there alone instead of over a window. Much faster for
    /// keywords that are everywhere in code. `"assignment"`: the same, and only where the word is
    /// assigned a value the way the generic assignment patterns describe it (see
    /// [`crate::assign`]); the pattern must not match anywhere else.
    pub anchor: Option<String>,
    /// The rule that finds this credential's other half (an AWS key id's secret key): findings of
    /// the two in one file, close together, are reported as a pair.
    pub pairs_with: Option<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
}

/// Why a rule file or rule was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("rule file `{file}` is not valid TOML for rules: {message}")]
    File { file: String, message: String },
    #[error("rule `{id}` ({file}): {message}")]
    Rule {
        file: String,
        id: String,
        message: String,
    },
}

/// Default bytes searched after a keyword hit.
pub const DEFAULT_WINDOW: usize = 256;

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub def: RuleDef,
    pub regex: Regex,
    /// The same pattern anchored at its start, for `anchor = "word"` and `"assignment"` rules.
    pub anchored: Option<Regex>,
    /// `anchor = "assignment"`: its groups are read by [`crate::assign::parse`], and the regex
    /// only confirms the key.
    pub assignment: bool,
    secret_group: usize,
    key_group: Option<usize>,
    quote_group: Option<usize>,
    validators: Vec<Validator>,
}

/// Where a candidate was found, for the filters that judge it by context.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The file's path, as the scanner reports it.
    pub path: Option<&'a str>,
}

/// A match that passed every filter: byte offsets into the searched text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The whole match.
    pub start: usize,
    pub end: usize,
    /// The secret inside it.
    pub secret_start: usize,
    pub secret_end: usize,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

impl Rule {
    /// Compiles and checks one rule definition.
    pub fn compile(def: RuleDef, file: &str) -> Result<Self, LoadError> {
        let err = |message: String| LoadError::Rule {
            file: file.to_string(),
            id: def.id.clone(),
            message,
        };
        if !valid_id(&def.id) {
            return Err(err("ids are lower-case letters, digits and `-`".into()));
        }
        if def.keywords.is_empty()
            || def
                .keywords
                .iter()
                .any(|k| k.trim().is_empty() || !k.is_ascii())
        {
            return Err(err("needs at least one non-blank ASCII keyword".into()));
        }
        if def.name.trim().is_empty() || def.description.trim().is_empty() {
            return Err(err("needs a name and a description".into()));
        }
        // Credentials are ASCII. Without Unicode classes and word boundaries the lazy DFA can run
        // every pattern (Unicode `\b` would force the slower engines), several times faster.
        let regex = RegexBuilder::new(&def.pattern)
            .unicode(false)
            .size_limit(1 << 24)
            .dfa_size_limit(1 << 20)
            .build()
            .map_err(|e| err(format!("pattern does not compile: {e}")))?;
        let names: Vec<Option<&str>> = regex.capture_names().collect();
        let find = |n: &str| names.iter().position(|x| *x == Some(n));
        let secret_group =
            find("secret").ok_or_else(|| err("pattern has no `(?P<secret>…)` group".into()))?;
        let validators = def
            .validators
            .iter()
            .map(|v| Validator::parse(v).ok_or_else(|| err(format!("unknown validator `{v}`"))))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(e) = def.min_entropy
            && !(0.0..=8.0).contains(&e)
        {
            return Err(err(
                "min_entropy is bits per character, between 0 and 8".into()
            ));
        }
        let anchored = match def.anchor.as_deref() {
            None => None,
            Some("word" | "assignment") => Some(
                RegexBuilder::new(&format!("^(?:{})", def.pattern))
                    .unicode(false)
                    .size_limit(1 << 24)
                    .dfa_size_limit(1 << 20)
                    .build()
                    .map_err(|e| err(format!("pattern does not compile anchored: {e}")))?,
            ),
            Some(other) => {
                return Err(err(format!(
                    "anchor `{other}` is unknown; anchors are `word` and `assignment`"
                )));
            }
        };
        Ok(Self {
            anchored,
            assignment: def.anchor.as_deref() == Some("assignment"),
            key_group: find("key"),
            quote_group: find("q"),
            regex,
            secret_group,
            validators,
            def,
        })
    }

    pub fn id(&self) -> &str {
        &self.def.id
    }

    pub fn window(&self) -> usize {
        self.def.window.unwrap_or(DEFAULT_WINDOW)
    }

    /// Judges one regex match; `offset` is where `caps`' haystack starts in the searched text.
    pub fn judge(
        &self,
        caps: &Captures<'_>,
        offset: usize,
        ctx: &Context<'_>,
    ) -> Option<Candidate> {
        let whole = caps.get(0)?;
        let secret = caps.get(self.secret_group)?;
        let key = self
            .key_group
            .and_then(|g| caps.get(g))
            .map(|m| m.as_bytes());
        let quoted = self
            .quote_group
            .and_then(|g| caps.get(g))
            .is_some_and(|m| !m.as_bytes().is_empty());
        self.judge_parts(
            Parts {
                whole: whole.as_bytes(),
                secret: secret.as_bytes(),
                key,
                quoted,
            },
            ctx,
        )
        .then_some(Candidate {
            start: offset + whole.start(),
            end: offset + whole.end(),
            secret_start: offset + secret.start(),
            secret_end: offset + secret.end(),
        })
    }

    /// Judges an assignment read by [`crate::assign::parse`] at `start` (where the key starts),
    /// once the rule's regex has confirmed the key.
    pub fn judge_assignment(
        &self,
        hay: &[u8],
        start: usize,
        a: &crate::assign::Assignment,
        ctx: &Context<'_>,
    ) -> Option<Candidate> {
        let parts = Parts {
            whole: hay.get(start..a.end)?,
            secret: hay.get(a.secret_start..a.secret_end)?,
            key: Some(hay.get(start..a.key_end)?),
            quoted: a.quoted,
        };
        self.judge_parts(parts, ctx).then_some(Candidate {
            start,
            end: a.end,
            secret_start: a.secret_start,
            secret_end: a.secret_end,
        })
    }

    fn judge_parts(&self, parts: Parts<'_>, ctx: &Context<'_>) -> bool {
        let value = parts.secret;
        if value.is_empty() || filters::is_placeholder(value) {
            return false;
        }
        if let Some(min) = self.def.min_entropy
            && filters::entropy(value) < min
        {
            return false;
        }
        let ictx = filters::InputContext {
            value,
            key: parts.key,
            quoted: parts.quoted,
            path: ctx.path,
            whole: parts.whole,
        };
        self.validators.iter().all(|v| v.accepts(&ictx))
    }

    /// Every accepted match of this rule in `text` (the whole text, no keyword prefilter).
    pub fn find_all(&self, text: &[u8], ctx: &Context<'_>) -> Vec<Candidate> {
        self.regex
            .captures_iter(text)
            .filter_map(|c| self.judge(&c, 0, ctx))
            .collect()
    }
}

/// The groups a validator judges, as bytes.
#[derive(Debug, Clone, Copy)]
struct Parts<'a> {
    whole: &'a [u8],
    secret: &'a [u8],
    key: Option<&'a [u8]>,
    quoted: bool,
}

/// A compiled set of rules with unique ids.
#[derive(Debug, Clone)]
pub struct Ruleset {
    pub rules: Vec<Rule>,
}

impl Ruleset {
    /// Parses and compiles rule files given as `(name, TOML text)`.
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, LoadError> {
        let mut rules = vec![];
        let mut ids = BTreeSet::new();
        for (file, text) in sources {
            let parsed: RuleFile = toml::from_str(text).map_err(|e| LoadError::File {
                file: file.to_string(),
                message: e.to_string(),
            })?;
            for def in parsed.rule {
                if !ids.insert(def.id.clone()) {
                    return Err(LoadError::Rule {
                        file: file.to_string(),
                        id: def.id,
                        message: "the id is used twice".into(),
                    });
                }
                rules.push(Rule::compile(def, file)?);
            }
        }
        for r in &rules {
            if let Some(p) = &r.def.pairs_with
                && !ids.contains(p)
            {
                return Err(LoadError::Rule {
                    file: String::new(),
                    id: r.def.id.clone(),
                    message: format!("pairs_with names `{p}`, which is not a rule"),
                });
            }
        }
        Ok(Self { rules })
    }

    /// Keeps only the rules `keep` accepts.
    pub fn retain(&mut self, keep: impl Fn(&Rule) -> bool) {
        self.rules.retain(|r| keep(r));
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.def.id == id)
    }
}
