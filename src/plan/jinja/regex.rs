//! Python's regular-expression dialect, as Ansible's `regex_*` filters,
//! `search`/`match` tests and `lineinfile regexp` use it, on `fancy-regex`
//! (look-around and backreferences included).
//!
//! Translations: `\Z` (Python: end of string) becomes `\z`; in a replacement,
//! `\1`, `\g<1>` and `\g<name>` become group references and a literal `$` stays
//! literal. What fancy-regex cannot compile is refused with its reason.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use fancy_regex::Regex;

/// Compile a Python pattern (cached: the same pattern is used per host and item).
pub fn compile(pattern: &str, ignorecase: bool, multiline: bool) -> Result<Regex, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    let mut flags = String::new();
    if ignorecase {
        flags.push('i');
    }
    if multiline {
        flags.push('m');
    }
    let source = if flags.is_empty() {
        translate(pattern)
    } else {
        format!("(?{flags}){}", translate(pattern))
    };
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(map) = cache.lock() {
        if let Some(re) = map.get(&source) {
            return Ok(re.clone());
        }
    }
    let re = Regex::new(&source)
        .map_err(|e| format!("regular expression `{pattern}` is not supported: {e}"))?;
    if let Ok(mut map) = cache.lock() {
        if map.len() > 4096 {
            map.clear();
        }
        map.insert(source, re.clone());
    }
    Ok(re)
}

/// Python pattern syntax to fancy-regex syntax.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('Z') => out.push_str("\\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A Python replacement string (`\1`, `\g<1>`, `\g<name>`, `\n`) as a
/// fancy-regex replacement (`${1}`, `${name}`).
pub fn replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len());
    let chars: Vec<char> = repl.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' {
            out.push_str("$$");
        } else if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            if n.is_ascii_digit() {
                let mut j = i + 1;
                while j < chars.len() && j < i + 3 && chars[j].is_ascii_digit() {
                    j += 1;
                }
                let num: String = chars[i + 1..j].iter().collect();
                out.push_str(&format!("${{{num}}}"));
                i = j;
                continue;
            }
            if n == 'g' && chars.get(i + 2) == Some(&'<') {
                if let Some(end) = chars[i + 3..].iter().position(|&x| x == '>') {
                    let name: String = chars[i + 3..i + 3 + end].iter().collect();
                    out.push_str(&format!("${{{name}}}"));
                    i += 4 + end;
                    continue;
                }
            }
            match n {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            i += 2;
            continue;
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_dialect() {
        let re = compile(r"(?<=port=)\d+(?!\d)", false, false).unwrap();
        assert_eq!(re.find("port=4343").unwrap().unwrap().as_str(), "4343");
        let re = compile(r"(?P<k>\w+)=(\w+)\Z", false, false).unwrap();
        assert_eq!(
            re.replace_all("a=1", replacement(r"\2=\g<k> \g<1>$").as_str()),
            "1=a a$"
        );
        assert!(compile(r"abc(", false, false)
            .unwrap_err()
            .contains("not supported"));
        assert!(compile("^B", true, true).unwrap().is_match("a\nb").unwrap());
    }
}
