//! Printing results: JSON for machines (`--json`), aligned tables and field lists for people.

use serde::Serialize;
use serde_json::Value;

/// Prints one record: JSON, or one `field: value` line per field.
pub fn record<T: Serialize>(json: bool, value: &T) -> anyhow::Result<()> {
    let v = serde_json::to_value(value)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if let Value::Object(map) = &v {
        let width = map.keys().map(String::len).max().unwrap_or(0);
        for (k, val) in map {
            println!("{k:width$}  {}", cell(val));
        }
    } else {
        println!("{}", cell(&v));
    }
    Ok(())
}

/// Prints a list: the whole page as JSON, or a table of the chosen columns.
pub fn table<T: Serialize>(
    json: bool,
    items: &[T],
    next: Option<&str>,
    columns: &[&str],
) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"items": items, "next": next}))?
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let v = serde_json::to_value(i).unwrap_or(Value::Null);
            columns
                .iter()
                .map(|c| cell(v.get(*c).unwrap_or(&Value::Null)))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count()).min(60);
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .into_iter()
            .zip(&widths)
            .map(|(c, w)| {
                let c: String = c.chars().take(*w).collect();
                format!("{c:w$}")
            })
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(columns.iter().map(|c| c.to_uppercase()).collect());
    for r in rows {
        line(r);
    }
    if let Some(n) = next {
        eprintln!("more: --after {n}");
    }
    Ok(())
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        Value::Object(m) if m.is_empty() => "-".into(),
        other => other.to_string(),
    }
}
