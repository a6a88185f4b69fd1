//! Python's `json.loads` (Ansible's `from_json`) where it reads more than
//! strict JSON: the bare words `NaN`, `Infinity` and `-Infinity`, a float
//! past the range of a double (`1e400` is `inf`), and an integer past 64
//! bits (Python keeps every digit).
//!
//! serde_json refuses the first two and rounds the third to a float, so
//! those tokens are first rewritten (outside string literals) as marked
//! strings, then turned into the values baton uses for them: a float NaN or
//! infinity (printed `nan`, `inf` as Python prints them), an `i128`, or past
//! that the digits as text (README, "What differs from Ansible").

use minijinja::value::Value;
use serde_json::Value as Json;

use super::native::from_json;

/// A marked string: no JSON text decodes to a string starting with this
/// (it holds a raw control character, which a JSON string must escape, and
/// the input is checked for its escaped form).
const MARK: &str = "\u{1}baton-pyjson:";

/// `text` as Python's `json.loads` reads it, or serde_json's error.
pub fn loads(text: &str) -> Result<Value, serde_json::Error> {
    match rewrite(text) {
        None => serde_json::from_str::<Json>(text).map(|j| from_json(&j)),
        Some(rewritten) => serde_json::from_str::<Json>(&rewritten).map(|j| convert(&j)),
    }
}

/// The text with its Python-only number tokens marked, or None when it has
/// none (or could hold a marked string already: then it is read as is).
fn rewrite(text: &str) -> Option<String> {
    if text.contains("\\u0001") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            // copy the string literal through, escapes included
            out.push(c);
            let mut escaped = false;
            for (_, c) in chars.by_ref() {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    break;
                }
            }
            continue;
        }
        if c == '-' || c.is_ascii_alphanumeric() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_ascii_alphanumeric() || matches!(d, '+' | '-' | '.') {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let token = &text[i..end];
            match mark(token) {
                Some(m) => {
                    changed = true;
                    out.push('"');
                    out.push_str(&m);
                    out.push('"');
                }
                None => out.push_str(token),
            }
            continue;
        }
        out.push(c);
    }
    changed.then_some(out)
}

/// The marked string for a token serde_json would refuse or round, with
/// the control character escaped for the JSON text.
fn mark(token: &str) -> Option<String> {
    let escaped_mark = MARK.replace('\u{1}', "\\u0001");
    let what = match token {
        "NaN" => "nan".to_string(),
        "Infinity" => "inf".to_string(),
        "-Infinity" => "-inf".to_string(),
        t if t.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) => {
            let digits = t.strip_prefix('-').unwrap_or(t);
            if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            if digits.bytes().all(|b| b.is_ascii_digit()) {
                // an integer: marked only past what serde_json keeps exact
                if t.parse::<i64>().is_ok() || t.parse::<u64>().is_ok() {
                    return None;
                }
                format!("int:{t}")
            } else {
                match t.parse::<f64>() {
                    Ok(f) if f.is_infinite() => if f > 0.0 { "inf" } else { "-inf" }.to_string(),
                    _ => return None,
                }
            }
        }
        _ => return None,
    };
    Some(format!("{escaped_mark}{what}"))
}

/// serde_json's value with the marked strings turned into their values.
fn convert(j: &Json) -> Value {
    match j {
        Json::String(s) => match s.strip_prefix(MARK) {
            Some("nan") => Value::from(f64::NAN),
            Some("inf") => Value::from(f64::INFINITY),
            Some("-inf") => Value::from(f64::NEG_INFINITY),
            Some(m) => {
                let digits = m.strip_prefix("int:").unwrap_or(m);
                match digits.parse::<i128>() {
                    Ok(n) => Value::from(n),
                    Err(_) => Value::from(digits),
                }
            }
            None => from_json(j),
        },
        Json::Array(items) => items.iter().map(convert).collect(),
        Json::Object(m) => m.iter().map(|(k, v)| (k.as_str(), convert(v))).collect(),
        other => from_json(other),
    }
}

#[cfg(test)]
mod tests {
    use super::super::eval_py;

    #[test]
    fn from_json_reads_what_python_json_loads_reads() {
        // trial cases 254 and 256; values from python3 json.loads
        for (expr, python) in [
            ("'[1, NaN]' | from_json", "[1, nan]"),
            ("'1e400' | from_json", "inf"),
            ("'-1e400' | from_json", "-inf"),
            ("'[Infinity, -Infinity]' | from_json", "[inf, -inf]"),
            ("('[NaN]' | from_json)[0] is number", "True"),
            (
                "'{\"a\": NaN, \"NaN\": 1.5}' | from_json",
                "{'a': nan, 'NaN': 1.5}",
            ),
            ("'[\"NaN\", 2]' | from_json", "['NaN', 2]"),
            (
                "'123456789012345678901234567890' | from_json",
                "123456789012345678901234567890",
            ),
            ("'18446744073709551615' | from_json", "18446744073709551615"),
            ("'[1e5, -0.5]' | from_json", "[100000.0, -0.5]"),
        ] {
            assert_eq!(eval_py(expr), python, "{expr}");
        }
        assert!(eval_py("'[nan]' | from_json").starts_with("ERROR"));
        assert!(eval_py("'[1,' | from_json").starts_with("ERROR"));
    }
}
