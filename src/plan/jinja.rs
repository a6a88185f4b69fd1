//! Translation of simple Ansible (Jinja) conditions into handlebars
//! expressions, so that a plain Ansible playbook's `when: x == "y"` works
//! unchanged. Only what is cheap and unambiguous is translated: comparisons,
//! `and`/`or`/`not`, `in`, `is [not] defined|none|failed|changed|succeeded|skipped`,
//! and the filters `bool`, `int`, `length`, `lower`, `upper`, `trim`, `from_json`, `default(x)`.
//! Anything else is left to handlebars as written.

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Op(&'static str),
}

fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let mut j = i + 1;
            let mut out = String::new();
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    j += 1;
                }
                out.push(chars[j]);
                j += 1;
            }
            if j >= chars.len() {
                return None;
            }
            toks.push(Tok::Str(out));
            i = j + 1;
        } else if c.is_ascii_digit()
            || (c == '-'
                && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())
                && !matches!(toks.last(), Some(Tok::Ident(_) | Tok::Num(_) | Tok::Str(_))))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            toks.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() {
                let d = chars[i];
                if d.is_alphanumeric() || d == '_' || d == '.' {
                    i += 1;
                } else if d == '[' {
                    // a['key'] or a[0] or a[var]: keep as part of the path token
                    let close = chars[i..].iter().position(|&x| x == ']')? + i;
                    i = close + 1;
                } else {
                    break;
                }
            }
            toks.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = match two.as_str() {
                "==" => Some("=="),
                "!=" => Some("!="),
                ">=" => Some(">="),
                "<=" => Some("<="),
                _ => None,
            };
            if let Some(op) = op {
                toks.push(Tok::Op(op));
                i += 2;
                continue;
            }
            let op = match c {
                '>' => ">",
                '<' => "<",
                '(' => "(",
                ')' => ")",
                '|' => "|",
                ',' => ",",
                _ => return None,
            };
            toks.push(Tok::Op(op));
            i += 1;
        }
    }
    Some(toks)
}

struct P {
    toks: Vec<Tok>,
    pos: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(x)) if x == w)
    }
    fn is_op(&self, o: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(x)) if *x == o)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Option<String> {
        let mut left = self.and()?;
        while self.is_word("or") {
            self.pos += 1;
            let right = self.and()?;
            left = format!("(or {left} {right})");
        }
        Some(left)
    }
    fn and(&mut self) -> Option<String> {
        let mut left = self.not()?;
        while self.is_word("and") {
            self.pos += 1;
            let right = self.not()?;
            left = format!("(and {left} {right})");
        }
        Some(left)
    }
    fn not(&mut self) -> Option<String> {
        if self.is_word("not") {
            self.pos += 1;
            let inner = self.not()?;
            return Some(format!("(not {inner})"));
        }
        self.comparison()
    }
    fn comparison(&mut self) -> Option<String> {
        let left = self.filtered()?;
        for (op, helper) in [
            ("==", "eq"),
            ("!=", "ne"),
            (">=", "gte"),
            ("<=", "lte"),
            (">", "gt"),
            ("<", "lt"),
        ] {
            if self.is_op(op) {
                self.pos += 1;
                let right = self.filtered()?;
                return Some(format!("({helper} {left} {right})"));
            }
        }
        if self.is_word("in") {
            self.pos += 1;
            let right = self.filtered()?;
            return Some(format!("(contains {right} {left})"));
        }
        if self.is_word("not")
            && matches!(self.toks.get(self.pos + 1), Some(Tok::Ident(w)) if w == "in")
        {
            self.pos += 2;
            let right = self.filtered()?;
            return Some(format!("(not (contains {right} {left}))"));
        }
        if self.is_word("is") {
            self.pos += 1;
            let negate = self.is_word("not");
            if negate {
                self.pos += 1;
            }
            let Some(Tok::Ident(test)) = self.next() else {
                return None;
            };
            let base = left.trim_start_matches('(');
            let test_expr = match test.as_str() {
                "defined" => format!("(defined {left})"),
                "undefined" => format!("(not (defined {left}))"),
                "none" => format!("(eq {left} null)"),
                "failed" | "changed" | "skipped" if !left.starts_with('(') => {
                    format!("{base}.{test}")
                }
                "succeeded" | "success" if !left.starts_with('(') => format!("(not {base}.failed)"),
                _ => return None,
            };
            return Some(if negate {
                format!("(not {test_expr})")
            } else {
                test_expr
            });
        }
        Some(left)
    }
    fn filtered(&mut self) -> Option<String> {
        let mut value = self.atom()?;
        while self.is_op("|") {
            self.pos += 1;
            let Some(Tok::Ident(filter)) = self.next() else {
                return None;
            };
            value = match filter.as_str() {
                "bool" | "int" | "lower" | "upper" | "trim" | "from_json" => {
                    format!("({filter} {value})")
                }
                "length" | "count" => format!("(len {value})"),
                "default" | "d" => {
                    if !self.is_op("(") {
                        return None;
                    }
                    self.pos += 1;
                    let fallback = self.or()?;
                    if self.is_op(",") {
                        return None;
                    }
                    if !self.is_op(")") {
                        return None;
                    }
                    self.pos += 1;
                    format!("(default {value} {fallback})")
                }
                _ => return None,
            };
        }
        Some(value)
    }
    fn atom(&mut self) -> Option<String> {
        match self.next()? {
            Tok::Op("(") => {
                let inner = self.or()?;
                if !self.is_op(")") {
                    return None;
                }
                self.pos += 1;
                Some(inner)
            }
            Tok::Str(s) => Some(format!(
                "\"{}\"",
                s.replace('\\', "\\\\").replace('"', "\\\"")
            )),
            Tok::Num(n) => Some(n),
            Tok::Ident(id) => Some(match id.as_str() {
                "true" | "True" => "true".into(),
                "false" | "False" => "false".into(),
                "none" | "None" => "null".into(),
                _ => path(&id)?,
            }),
            Tok::Op(_) => None,
        }
    }
}

/// `a['b'][0].c` → `a.b.[0].c`; a dynamic index `a[var]` → `(lookup a var)`.
fn path(id: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = id;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find(']')? + open;
        let key = rest[open + 1..close].trim();
        if let Some(lit) = key
            .strip_prefix(['\'', '"'])
            .and_then(|k| k.strip_suffix(['\'', '"']))
        {
            out.push('.');
            out.push_str(lit);
        } else if key.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(".[");
            out.push_str(key);
            out.push(']');
        } else {
            let base = std::mem::take(&mut out);
            out = format!("(lookup {base} {key})");
            if close + 1 < rest.len() {
                return None;
            }
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The handlebars form of an Ansible-style condition, or `None` when the
/// text is not (recognisably) Jinja and should be used as written.
pub fn translate(expr: &str) -> Option<String> {
    let t = expr.trim();
    let toks = tokenize(t)?;
    let jinja_marker = toks.iter().any(|tok| match tok {
        Tok::Op(op) => matches!(*op, "==" | "!=" | ">=" | "<=" | ">" | "<" | "|"),
        Tok::Ident(w) => matches!(w.as_str(), "and" | "or" | "not" | "is" | "in"),
        _ => false,
    });
    if !jinja_marker {
        return None;
    }
    // A handlebars sub-expression such as `(eq a "b")` is not Jinja.
    if let (Some(Tok::Op("(")), Some(Tok::Ident(h))) = (toks.first(), toks.get(1)) {
        if super::helpers::HELPER_NAMES.contains(&h.as_str())
            && !matches!(toks.get(2), Some(Tok::Op(_)))
        {
            return None;
        }
    }
    let mut p = P { toks, pos: 0 };
    let out = p.or()?;
    (p.pos == p.toks.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn translates_common_ansible_conditions() {
        let cases = [
            ("state == 'START'", "(eq state \"START\")"),
            ("a != 1 and not b", "(and (ne a 1) (not b))"),
            ("x is defined", "(defined x)"),
            ("x is not defined or y", "(or (not (defined x)) y)"),
            ("r is failed", "r.failed"),
            ("'bc1' in groups['bc']", "(contains groups.bc \"bc1\")"),
            ("flag | bool", "(bool flag)"),
            (
                "r.stdout | from_json | length > 0",
                "(gt (len (from_json r.stdout)) 0)",
            ),
            ("lag | int > 5", "(gt (int lag) 5)"),
            (
                "hostvars[peer] is defined",
                "(defined (lookup hostvars peer))",
            ),
            ("(a or b) and c", "(and (or a b) c)"),
            ("v | default('x') == 'x'", "(eq (default v \"x\") \"x\")"),
        ];
        for (jinja, want) in cases {
            assert_eq!(translate(jinja).as_deref(), Some(want), "{jinja}");
        }
    }

    #[test]
    fn leaves_handlebars_alone() {
        assert_eq!(translate("(eq a \"x == y\")"), None);
        assert_eq!(translate("flag"), None);
        assert_eq!(translate("(and a b)"), None);
        // A dynamic index followed by more path has no handlebars form.
        assert_eq!(translate("hostvars[peer].x is defined"), None);
    }
}
