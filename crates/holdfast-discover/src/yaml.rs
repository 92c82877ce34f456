//! Reading YAML and JSON inputs into JSON values: multi-document YAML streams, JSON documents,
//! and the small helpers connectors use to walk them.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{DiscoverError, Input};

/// Parses an input as JSON (when it looks like JSON) or as a YAML stream of one or more
/// documents. Empty documents are dropped. Error messages name the input and position only.
pub(crate) fn documents(input: &Input) -> Result<Vec<Value>, DiscoverError> {
    let text = std::str::from_utf8(&input.bytes).map_err(|e| DiscoverError::Parse {
        input: input.name.clone(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ),
    })?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(v) = serde_json::from_str::<Value>(trimmed)
    {
        return Ok(vec![v]);
    }
    let mut docs = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(trimmed).enumerate() {
        let value = serde_yaml_ng::Value::deserialize(doc).map_err(|e| DiscoverError::Parse {
            input: input.name.clone(),
            message: format!("document {}: {}", i + 1, yaml_error(&e)),
        })?;
        let json = to_json(value);
        if !json.is_null() {
            docs.push(json);
        }
    }
    Ok(docs)
}

/// A YAML error without any quoted input: position and a generic description.
fn yaml_error(e: &serde_yaml_ng::Error) -> String {
    match e.location() {
        Some(l) => format!("invalid YAML at line {} column {}", l.line(), l.column()),
        None => "invalid YAML".to_string(),
    }
}

fn to_json(value: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    Y::Null => "null".to_string(),
                    other => serde_json::to_string(&to_json(other)).unwrap_or_default(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => to_json(tagged.value),
    }
}

/// `v[a][b]…` as a string, if present.
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path)?.as_str()
}

pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    Some(cur)
}

/// A string or a list of strings (IAM's `Action`, `Resource`, `Principal.AWS`), as a list.
pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// A string-to-string map (labels, annotations), as pairs; non-string values are rendered.
pub(crate) fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), s)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A list of objects (`items`, `rules`, `subjects`), or nothing.
pub(crate) fn list(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}
