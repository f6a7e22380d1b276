//! Human output of the admin CLI: aligned tables with a header, `key: value` records, compact
//! rights, shortened times, and `--json` (the API's JSON, pretty-printed). It only formats what
//! it is given: it must not call the API, and it must not format secrets.

use serde_json::Value;
use std::io::Write;

/// A table printed with aligned columns under a header.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are blank, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row, trailing spaces trimmed.
    pub fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(width(c));
            }
        }
        let mut out = String::new();
        let empty = String::new();
        for line in std::iter::once(&self.header).chain(&self.rows) {
            let mut text = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = line.get(i).unwrap_or(&empty);
                text.push_str(cell);
                if i + 1 < widths.len() {
                    let pad = w.saturating_sub(width(cell)) + 2;
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the table to stdout.
    pub fn print(&self) {
        print_text(&self.render());
    }
}

/// Writes text to stdout; a reader that went away (`| head`) is not an error.
pub fn print_text(s: &str) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = out.write_all(s.as_bytes()).and_then(|_| out.flush());
}

/// Prints JSON as the API gave it, pretty.
pub fn print_json(v: &Value) {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    print_text(&format!("{text}\n"));
}

/// Prints `key: value` lines with the keys aligned, skipping empty values.
pub fn print_record(fields: &[(&str, String)]) {
    let w = fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, _)| k.chars().count() + 1)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in fields.iter().filter(|(_, v)| !v.is_empty()) {
        out.push_str(&format!("{k:<w$}  {v}\n", k = format!("{k}:")));
    }
    print_text(&out);
}

/// A member of a JSON object as display text: strings as they are, `null`/absent as empty,
/// booleans as yes/no, arrays joined with commas.
pub fn text(v: &Value, key: &str) -> String {
    show(v.get(key).unwrap_or(&Value::Null))
}

/// A JSON value as display text (see [`text`]).
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join(", "),
        Value::Object(_) => v.to_string(),
    }
}

/// An RFC 3339 time without its fraction of a second: `2026-01-01T12:00:00Z`.
pub fn time(v: &Value, key: &str) -> String {
    let t = text(v, key);
    let cut = match (t.find('.'), t.rfind(['Z', '+'])) {
        (Some(dot), Some(end)) if dot < end => t.get(..dot).zip(t.get(end..)),
        _ => None,
    };
    match cut {
        Some((head, zone)) => format!("{head}{zone}"),
        None => t,
    }
}

/// The areas of a rights map, in the API's order.
pub const AREAS: [&str; 10] = [
    "tenants",
    "users",
    "groups",
    "credentials",
    "policies",
    "applications",
    "rights",
    "audit",
    "reports",
    "directory",
];

/// A rights map in one line: `users:rw groups:r credentials:x,!w` (`!` marks denied rights);
/// `-` when it is empty.
pub fn rights_compact(rights: &Value) -> String {
    let mut parts = Vec::new();
    for area in AREAS {
        let Some(r) = rights.get(area) else { continue };
        let letters = |want: &str| -> String {
            [("read", 'r'), ("write", 'w'), ("execute", 'x')]
                .iter()
                .filter(|(k, _)| r.get(*k).and_then(Value::as_str) == Some(want))
                .map(|(_, c)| *c)
                .collect()
        };
        let (allow, deny) = (letters("allow"), letters("deny"));
        let text = match (allow.is_empty(), deny.is_empty()) {
            (true, true) => continue,
            (false, true) => allow,
            (true, false) => format!("!{deny}"),
            (false, false) => format!("{allow},!{deny}"),
        };
        parts.push(format!("{area}:{text}"));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

/// A rights map as a table: one row per area with any right, READ/WRITE/EXECUTE as
/// allow, deny or blank (undefined, which means denied).
pub fn rights_table(rights: &Value) -> Table {
    let mut t = Table::new(&["AREA", "READ", "WRITE", "EXECUTE"]);
    for area in AREAS {
        let Some(r) = rights.get(area) else { continue };
        let cell = |k: &str| text(r, k);
        let row = vec![
            area.to_string(),
            cell("read"),
            cell("write"),
            cell("execute"),
        ];
        if row.iter().skip(1).any(|c| !c.is_empty()) {
            t.row(row);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn columns_align_under_the_header() {
        let mut t = Table::new(&["SLUG", "KIND"]);
        t.row(vec!["acme".into(), "msp".into()]);
        t.row(vec!["  contoso".into(), "customer".into()]);
        assert_eq!(
            t.render(),
            "SLUG       KIND\nacme       msp\n  contoso  customer\n"
        );
    }

    #[test]
    fn rights_and_times_read_short() {
        let r = serde_json::json!({
            "users": {"read": "allow", "write": "allow"},
            "credentials": {"execute": "allow", "write": "deny"},
            "audit": {}
        });
        assert_eq!(rights_compact(&r), "users:rw credentials:x,!w");
        assert_eq!(rights_compact(&serde_json::json!({})), "-");
        let t = rights_table(&r).render();
        assert!(t.contains("credentials  "), "{t}");
        assert!(!t.contains("audit"), "{t}");
        let v = serde_json::json!({"at": "2026-01-02T03:04:05.123456Z"});
        assert_eq!(time(&v, "at"), "2026-01-02T03:04:05Z");
    }
}
