//! Python literals in INI inventory values, as Ansible reads them with
//! `ast.literal_eval`: `22` is a number, `True` a boolean, `[1, 2]` a list,
//! anything else stays text.

use serde_json::{Map, Number, Value};

/// Ansible's `_parse_value`: a Python literal if the text is one
/// (`ast.literal_eval`), else the text itself.
pub(super) fn parse_value(text: &str) -> Value {
    let mut parser = PyLiteral {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    match parser.value() {
        Some(value) if parser.at_end() => value,
        _ => Value::String(text.to_string()),
    }
}

/// The subset of Python literal syntax `ast.literal_eval` accepts that maps to
/// JSON: numbers (one leading sign), strings (with prefixes, escapes and
/// implicit concatenation), `True`/`False`/`None`, lists, tuples, sets and dicts.
struct PyLiteral {
    chars: Vec<char>,
    pos: usize,
    /// Bracket nesting; bounded so that `[[[[...` cannot exhaust the stack.
    depth: usize,
}

const MAX_LITERAL_DEPTH: usize = 64;

impl PyLiteral {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.pos += 1;
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_space();
        self.pos == self.chars.len()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_space();
        let opens = matches!(self.peek()?, '[' | '(' | '{');
        if opens && self.depth >= MAX_LITERAL_DEPTH {
            return None;
        }
        self.depth += usize::from(opens);
        let value = self.value_inner();
        self.depth -= usize::from(opens);
        value
    }

    fn value_inner(&mut self) -> Option<Value> {
        match self.peek()? {
            '[' => {
                self.pos += 1;
                Some(Value::Array(self.items(']')?.0))
            }
            '(' => {
                self.pos += 1;
                let (mut items, trailing_comma) = self.items(')')?;
                // `(x)` is just x; `(x,)` is a tuple.
                if items.len() == 1 && !trailing_comma {
                    items.pop()
                } else {
                    Some(Value::Array(items))
                }
            }
            '{' => {
                self.pos += 1;
                self.dict_or_set()
            }
            '-' | '+' => {
                let negative = self.peek() == Some('-');
                self.pos += 1;
                self.skip_space();
                let n = self.number()?;
                if !negative {
                    return Some(n);
                }
                match n {
                    Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                        (Some(i), _) => Some(Value::from(i.checked_neg()?)),
                        (None, Some(f)) => Number::from_f64(-f).map(Value::Number),
                        _ => None,
                    },
                    _ => None,
                }
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            c if c == '\'' || c == '"' => self.strings(),
            c if c.is_alphabetic() || c == '_' => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::Null),
                    prefix
                        if is_string_prefix(prefix) && matches!(self.peek(), Some('\'' | '"')) =>
                    {
                        self.pos = start;
                        self.strings()
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Comma-separated values up to `close`; also whether a comma trailed.
    fn items(&mut self, close: char) -> Option<(Vec<Value>, bool)> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            if self.eat(close) {
                return Some((items, trailing_comma));
            }
            items.push(self.value()?);
            trailing_comma = self.eat(',');
            if !trailing_comma {
                return self.eat(close).then_some((items, false));
            }
        }
    }

    fn dict_or_set(&mut self) -> Option<Value> {
        if self.eat('}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.value()?;
        if !self.eat(':') {
            // A set: JSON has only lists.
            let mut items = vec![first];
            while self.eat(',') {
                if self.eat('}') {
                    return Some(Value::Array(items));
                }
                items.push(self.value()?);
            }
            return self.eat('}').then_some(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            let value = self.value()?;
            map.insert(key_text(&key)?, value);
            if !self.eat(',') {
                return self.eat('}').then_some(Value::Object(map));
            }
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            key = self.value()?;
            if !self.eat(':') {
                return None;
            }
        }
    }

    /// One or more adjacent string literals, concatenated.
    fn strings(&mut self) -> Option<Value> {
        let mut text = String::new();
        loop {
            self.skip_space();
            let start = self.pos;
            let mut raw = false;
            while let Some(c) = self.peek().filter(|c| c.is_ascii_alphabetic()) {
                raw |= c == 'r' || c == 'R';
                self.pos += 1;
            }
            let prefix: String = self.chars[start..self.pos].iter().collect();
            if !is_string_prefix(&prefix) || !matches!(self.peek(), Some('\'' | '"')) {
                self.pos = start;
                break;
            }
            text.push_str(&self.string_body(raw)?);
        }
        Some(Value::String(text))
    }

    fn string_body(&mut self, raw: bool) -> Option<String> {
        let quote = self.peek()?;
        let triple = self.chars.get(self.pos..self.pos + 3) == Some(&[quote, quote, quote][..]);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == quote
                && (!triple
                    || self.chars.get(self.pos..self.pos + 3) == Some(&[quote, quote, quote][..]))
            {
                self.pos += if triple { 3 } else { 1 };
                return Some(out);
            }
            self.pos += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let next = self.peek()?;
            self.pos += 1;
            if raw {
                out.push('\\');
                out.push(next);
                continue;
            }
            match next {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0'..='7' => {
                    let mut code = next.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                code = code * 8 + d;
                                self.pos += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(code)?);
                }
                'x' => out.push(self.hex_escape(2)?),
                'u' => out.push(self.hex_escape(4)?),
                'U' => out.push(self.hex_escape(8)?),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '\\' | '\'' | '"' => out.push(next),
                '\n' => {}
                // Python keeps unknown escapes as written.
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn hex_escape(&mut self, digits: usize) -> Option<char> {
        let hex: String = self
            .chars
            .get(self.pos..self.pos + digits)?
            .iter()
            .collect();
        self.pos += digits;
        char::from_u32(u32::from_str_radix(&hex, 16).ok()?)
    }

    /// A Python int or float literal (no sign).
    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            let after_exponent = self.pos > start
                && matches!(self.chars[self.pos - 1], 'e' | 'E')
                && !self.chars[start..self.pos]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X'));
            if c.is_ascii_alphanumeric()
                || c == '_'
                || c == '.'
                || (after_exponent && (c == '+' || c == '-'))
            {
                self.pos += 1;
            } else {
                break;
            }
        }
        let token: String = self.chars[start..self.pos].iter().collect();
        python_number(&token)
    }
}

fn is_string_prefix(prefix: &str) -> bool {
    matches!(
        prefix.to_ascii_lowercase().as_str(),
        "" | "r" | "u" | "b" | "br" | "rb"
    )
}

fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        _ => None,
    }
}

/// Python 3 numeric literal rules: `_` only between digits, no leading zeros
/// on decimal integers, `0x`/`0o`/`0b` prefixes, floats with `.` or exponent.
fn python_number(token: &str) -> Option<Value> {
    let lower = token.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits);
            if !underscores_ok(digits) {
                return None;
            }
            return i64::from_str_radix(&digits.replace('_', ""), radix)
                .ok()
                .map(Value::from);
        }
    }
    if lower.contains(['.', 'e']) {
        let (mantissa, exponent) = match lower.split_once('e') {
            Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
            None => (lower.as_str(), None),
        };
        let parts_ok = mantissa
            .split('.')
            .all(|p| p.is_empty() || underscores_ok(p))
            && mantissa.chars().any(|c| c.is_ascii_digit())
            && mantissa.matches('.').count() <= 1
            && exponent.is_none_or(underscores_ok);
        if !parts_ok {
            return None;
        }
        let f: f64 = lower.replace('_', "").parse().ok()?;
        return Number::from_f64(f).map(Value::Number);
    }
    if !underscores_ok(&lower) {
        return None;
    }
    let digits = lower.replace('_', "");
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
        return None;
    }
    match digits.parse::<i64>() {
        Ok(i) => Some(Value::from(i)),
        Err(_) => digits.parse::<u64>().ok().map(Value::from),
    }
}

/// Non-empty alphanumerics with single `_` strictly between them.
fn underscores_ok(digits: &str) -> bool {
    !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_follow_python_literal_rules() {
        assert_eq!(parse_value("22"), json!(22));
        assert_eq!(parse_value("-5"), json!(-5));
        assert_eq!(parse_value("1_000"), json!(1000));
        assert_eq!(parse_value("0x1F"), json!(31));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("1e3"), json!(1000.0));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("None"), json!(null));
        assert_eq!(parse_value("true"), json!("true"));
        assert_eq!(
            parse_value("0644"),
            json!("0644"),
            "leading zeros are not a Python int"
        );
        assert_eq!(parse_value("10.0.0.1"), json!("10.0.0.1"));
        assert_eq!(parse_value("'quoted'"), json!("quoted"));
        assert_eq!(parse_value("\"a\\tb\""), json!("a\tb"));
        assert_eq!(parse_value("'a' \"b\""), json!("ab"));
        assert_eq!(parse_value("[1, 'two', [3]]"), json!([1, "two", [3]]));
        assert_eq!(parse_value("(1,)"), json!([1]));
        assert_eq!(parse_value("(1)"), json!(1));
        assert_eq!(
            parse_value("{'a': 1, 2: [True]}"),
            json!({"a": 1, "2": [true]})
        );
        assert_eq!(parse_value("{1, 2}"), json!([1, 2]));
        assert_eq!(parse_value(""), json!(""));
        assert_eq!(parse_value("a b"), json!("a b"));
        assert_eq!(
            parse_value("-o StrictHostKeyChecking=no"),
            json!("-o StrictHostKeyChecking=no")
        );
        assert_eq!(parse_value("[1, 2"), json!("[1, 2"));
        assert_eq!(parse_value("--5"), json!("--5"));
        assert_eq!(parse_value("r'\\d'"), json!("\\d"));
        assert_eq!(parse_value("1_"), json!("1_"));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse_value(&deep),
            json!(deep),
            "too deep: kept as text, no stack overflow"
        );
    }
}
