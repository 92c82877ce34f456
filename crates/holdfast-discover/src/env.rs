//! The env connector: `.env` files and Docker Compose files — which service holds which
//! credential. A credential is keyed by the fingerprint of its value, so the same secret in three
//! files is one credential with three copies. Values are fingerprinted and dropped on the spot.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use holdfast_core::{CredentialKind, Fingerprint};
use holdfast_graph::{EdgeKind, NodeKind, NodeSpec};
use regex::Regex;
use serde_json::Value;

use crate::emit::Emitter;
use crate::yaml::{documents, str_at};
use crate::{DiscoverError, DiscoveredCredential, Discovery, Input, Options, Severity};

fn secret_name() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(secret|token|passw(or)?d|passwd|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth|dsn|database_url|db_url|connection_?string|conn_?str|client[_-]?secret|webhook|signing[_-]?key|(^|_)key$)").ok()
    })
    .as_ref()
}

/// `scheme://user:password@host`: a connection string carrying a password.
fn url_with_password() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:[^@/\s]+@").ok())
        .as_ref()
}

fn kind_of(name: &str, value: &str) -> CredentialKind {
    let n = name.to_ascii_uppercase();
    if url_with_password().is_some_and(|re| re.is_match(value))
        || n.contains("URL")
        || n.contains("DSN")
    {
        CredentialKind::ConnectionString
    } else if n.contains("ACCESS_KEY") {
        CredentialKind::AccessKey
    } else if n.contains("PASSWORD") || n.contains("PASSWD") || n.ends_with("PWD") {
        CredentialKind::Password
    } else if n.contains("PRIVATE_KEY") || value.starts_with("-----BEGIN") {
        CredentialKind::PrivateKey
    } else if n.contains("TOKEN") {
        CredentialKind::Token
    } else if n.contains("API_KEY") || n.contains("APIKEY") {
        CredentialKind::ApiKey
    } else if n.contains("WEBHOOK") {
        CredentialKind::WebhookSecret
    } else if n.contains("CLIENT_SECRET") {
        CredentialKind::OauthClientSecret
    } else {
        CredentialKind::Other
    }
}

/// Whether a value is a reference or a placeholder rather than a secret.
fn is_reference(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    v.len() < 6
        || v.starts_with('$')
        || v.starts_with('<')
        || v.starts_with("{{")
        || lower.starts_with("your")
        || lower.starts_with("change")
        || lower.starts_with("replace")
        || lower.starts_with("xxx")
        || [
            "true",
            "false",
            "null",
            "none",
            "example",
            "password",
            "secret",
            "redacted",
            "placeholder",
        ]
        .contains(&lower.as_str())
        || v.chars().collect::<std::collections::BTreeSet<_>>().len() <= 3
}

/// Whether `name=value` looks like a credential.
fn is_secret(name: &str, value: &str) -> bool {
    if is_reference(value) {
        return false;
    }
    url_with_password().is_some_and(|re| re.is_match(value))
        || value.starts_with("-----BEGIN") && value.contains("PRIVATE KEY")
        || secret_name().is_some_and(|re| re.is_match(name))
}

/// Parses a dotenv file: `KEY=value`, `export KEY=value`, single- and double-quoted values (double
/// quotes may span lines and know `\n`), `#` comments. Returns `(line, key, value)`.
fn dotenv(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while let Some(raw) = lines.get(i) {
        let line_no = i + 1;
        i += 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            continue;
        }
        let rest = rest.trim_start();
        let value = if let Some(body) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut current = body.to_string();
            loop {
                if let Some(end) = unescaped_quote(&current) {
                    value.push_str(current.get(..end).unwrap_or(""));
                    break;
                }
                value.push_str(&current);
                match lines.get(i) {
                    Some(next) => {
                        value.push('\n');
                        current = next.to_string();
                        i += 1;
                    }
                    None => break,
                }
            }
            value.replace("\\n", "\n").replace("\\\"", "\"")
        } else if let Some(body) = rest.strip_prefix('\'') {
            body.split_once('\'').map_or(body, |(v, _)| v).to_string()
        } else {
            rest.split(" #").next().unwrap_or("").trim_end().to_string()
        };
        out.push((line_no, key.to_string(), value));
    }
    out
}

fn unescaped_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    (0..bytes.len())
        .find(|&i| bytes.get(i) == Some(&b'"') && (i == 0 || bytes.get(i - 1) != Some(&b'\\')))
}

pub(crate) fn discover(inputs: &[Input], options: &Options) -> Result<Discovery, DiscoverError> {
    let source = options
        .system
        .clone()
        .unwrap_or_else(|| "files".to_string());
    let system = format!("env:{source}");
    let mut out = Emitter::new(format!("env:{source}"));
    out.node(NodeSpec::new(
        &system,
        NodeKind::System,
        format!("configuration files ({source})"),
    ));
    // Credentials per env file, so compose `env_file:` can point services at them.
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut composes: Vec<(&Input, Value)> = Vec::new();
    for input in inputs {
        let text = std::str::from_utf8(&input.bytes).map_err(|_| DiscoverError::Parse {
            input: input.name.clone(),
            message: "not UTF-8 text".into(),
        })?;
        let lower = input.name.to_ascii_lowercase();
        let looks_yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
        if looks_yaml {
            let docs = documents(input)?;
            match docs.into_iter().find(|d| d.get("services").is_some()) {
                Some(doc) => composes.push((input, doc)),
                None => {
                    return Err(DiscoverError::Field {
                        input: input.name.clone(),
                        field: "services".into(),
                        message: "a compose file needs a `services` mapping".into(),
                    });
                }
            }
            continue;
        }
        let location = format!("file:{}", input.name);
        out.node(
            NodeSpec::new(
                &location,
                NodeKind::Location,
                format!("file {}", input.name),
            )
            .in_system(&system),
        );
        for (line, name, value) in dotenv(text) {
            if !is_secret(&name, &value) {
                continue;
            }
            let key = credential(
                &mut out,
                &system,
                &location,
                &name,
                &value,
                &format!("{}:{line}", input.name),
            );
            by_file.entry(input.name.clone()).or_default().push(key);
        }
    }
    for (input, doc) in composes {
        let location = format!("file:{}", input.name);
        out.node(
            NodeSpec::new(
                &location,
                NodeKind::Location,
                format!("file {}", input.name),
            )
            .in_system(&system),
        );
        let Some(Value::Object(services)) = doc.get("services") else {
            continue;
        };
        for (svc, spec) in services {
            let wkey = format!("compose:{}:{svc}", input.name);
            out.node(
                NodeSpec::new(
                    &wkey,
                    NodeKind::Workload,
                    format!("service {svc} in {}", input.name),
                )
                .in_system(&system),
            );
            let vars: Vec<(String, String)> = match spec.get("environment") {
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            match v {
                                Value::String(s) => s.clone(),
                                Value::Null => String::new(),
                                other => other.to_string(),
                            },
                        )
                    })
                    .collect(),
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .filter_map(|s| {
                        s.split_once('=')
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for (name, value) in vars {
                if !is_secret(&name, &value) {
                    continue;
                }
                let key = credential(
                    &mut out,
                    &system,
                    &location,
                    &name,
                    &value,
                    &format!("{}#services.{svc}.environment.{name}", input.name),
                );
                out.edge(
                    &wkey,
                    EdgeKind::CanRead,
                    &key,
                    format!("service {svc} gets {name} from its environment"),
                );
            }
            let env_files: Vec<String> = match spec.get("env_file") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .or_else(|| str_at(v, &["path"]).map(str::to_string))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for f in env_files {
                let wanted = f.trim_start_matches("./");
                let matched = by_file.iter().find(|(name, _)| {
                    let name = name.replace('\\', "/");
                    name == wanted || name.ends_with(&format!("/{wanted}"))
                });
                if let Some((name, keys)) = matched {
                    let file_loc = format!("file:{name}");
                    out.edge(
                        &wkey,
                        EdgeKind::CanRead,
                        &file_loc,
                        format!("service {svc} loads env_file {f}"),
                    );
                    for k in keys.clone() {
                        out.edge(
                            &wkey,
                            EdgeKind::CanRead,
                            &k,
                            format!("service {svc} loads env_file {f}"),
                        );
                    }
                } else {
                    out.skipped(format!(
                        "{}: service {svc} loads env_file {f}, which was not among the inputs",
                        input.name
                    ));
                }
            }
        }
    }
    Ok(out.finish())
}

/// Records one credential value seen at `location` (keyed by its fingerprint) and the finding.
fn credential(
    out: &mut Emitter,
    system: &str,
    location: &str,
    name: &str,
    value: &str,
    from: &str,
) -> String {
    let fingerprint = Fingerprint::of_secret(value.as_bytes()).to_string();
    let short: String = fingerprint
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect();
    let key = format!("secret:{fingerprint}");
    out.credential(
        DiscoveredCredential {
            key: key.clone(),
            external_id: fingerprint.clone(),
            name: name.to_string(),
            kind: kind_of(name, value),
            identity: None,
            fingerprint: Some(fingerprint),
            active: true,
            created_at: None,
            last_used_at: None,
            locations: Vec::new(),
            from: from.to_string(),
        },
        NodeSpec::new(
            &key,
            NodeKind::Credential,
            format!("{name} (sha256:{short}…)"),
        )
        .in_system(system),
        "",
    );
    out.copy_at(
        location,
        &key,
        format!("{name} is set in plain text at {from}"),
    );
    out.finding(
        "plaintext-secret-in-file",
        Severity::Medium,
        &key,
        format!("{name} holds a credential in plain text at {from}"),
        from.to_string(),
    );
    key
}
