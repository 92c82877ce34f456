//! Reading YAML and JSON inputs into JSON values: multi-document YAML streams, JSON documents,
//! and the small helpers connectors use to walk them.

use serde::de::DeserializeSeed;
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
    // Aliases let a small file expand without bound (`*a` of `*a` of …): every node built counts
    // against a budget proportional to the input, so an alias bomb fails instead of eating memory.
    let budget = std::cell::Cell::new(trimmed.len() / 2 + 100_000);
    let mut docs = Vec::new();
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(trimmed).enumerate() {
        let json = Budgeted(&budget)
            .deserialize(doc)
            .map_err(|e| DiscoverError::Parse {
                input: input.name.clone(),
                message: if budget.get() == 0 {
                    format!(
                        "document {}: expands to too many nodes (YAML aliases?)",
                        i + 1
                    )
                } else {
                    format!("document {}: {}", i + 1, yaml_error(&e))
                },
            })?;
        if !json.is_null() {
            docs.push(json);
        }
    }
    Ok(docs)
}

/// Deserialises any YAML into a JSON value, spending one unit of the budget per node.
struct Budgeted<'a>(&'a std::cell::Cell<usize>);

impl Budgeted<'_> {
    fn spend<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.0.get() {
            0 => Err(E::custom("node budget exhausted")),
            n => {
                self.0.set(n - 1);
                Ok(())
            }
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Budgeted<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Budgeted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Budgeted(self.0).deserialize(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Budgeted(self.0))? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut out = Map::new();
        while let Some(k) = map.next_key_seed(Budgeted(self.0))? {
            let key = match k {
                Value::String(s) => s,
                Value::Null => "null".to_string(),
                other => other.to_string(),
            };
            let v = map.next_value_seed(Budgeted(self.0))?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A tagged value (`!Ref x`): keep the value, drop the tag.
        use serde::de::VariantAccess;
        let (_, variant) = data.variant::<serde::de::IgnoredAny>()?;
        variant.newtype_variant_seed(Budgeted(self.0))
    }
}

/// A YAML error without any quoted input: position and a generic description.
fn yaml_error(e: &serde_yaml_ng::Error) -> String {
    match e.location() {
        Some(l) => format!("invalid YAML at line {} column {}", l.line(), l.column()),
        None => "invalid YAML".to_string(),
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
