//! Python's regular-expression dialect on `fancy-regex` (look-around and
//! backreferences included), shared by the Jinja2 `regex_*` filters and
//! `search`/`match` tests (plan) and `lineinfile`/`blockinfile` `regexp`,
//! `insertafter`, `insertbefore` (modules), as Ansible uses Python's `re`
//! for all of them. Base layer: imports no stage.
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

/// Python's check of a replacement against its pattern, made before any
/// substitution (`re.sub` parses the template first, so it fails even when
/// nothing matches): `\N` and `\g<N>` must name an existing group,
/// `\g<name>` a defined name. Errors: Python's own wording, e.g. `invalid
/// group reference 2`, `unknown group name 'q'`, `missing >, unterminated
/// name`. Without this check fancy-regex expands a missing group to nothing,
/// silently deleting the matched text.
pub fn check_replacement(repl: &str, re: &Regex) -> Result<(), String> {
    let groups = re.captures_len();
    let number_ok = |n: &str| n.parse::<usize>().is_ok_and(|n| n < groups);
    let chars: Vec<char> = repl.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 == chars.len() {
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        if n.is_ascii_digit() && n != '0' {
            let mut j = i + 1;
            while j < chars.len() && j < i + 3 && chars[j].is_ascii_digit() {
                j += 1;
            }
            let num: String = chars[i + 1..j].iter().collect();
            if !number_ok(&num) {
                return Err(format!(
                    "invalid group reference {num} at position {}",
                    i + 1
                ));
            }
            i = j;
            continue;
        }
        if n == 'g' {
            if chars.get(i + 2) != Some(&'<') {
                return Err(format!("missing < at position {}", i + 2));
            }
            let Some(end) = chars[i + 3..].iter().position(|&x| x == '>') else {
                return Err(format!(
                    "missing >, unterminated name at position {}",
                    i + 3
                ));
            };
            let name: String = chars[i + 3..i + 3 + end].iter().collect();
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
                if !number_ok(&name) {
                    return Err(format!(
                        "invalid group reference {name} at position {}",
                        i + 3
                    ));
                }
            } else if !re.capture_names().any(|n| n == Some(name.as_str())) {
                return Err(format!("unknown group name '{name}'"));
            }
            i += 4 + end;
            continue;
        }
        i += 2;
    }
    Ok(())
}

/// A Python-dialect pattern over bytes, with the API of `regex::bytes` that
/// the line editors use. A line that is not UTF-8 is matched as its lossy
/// UTF-8 text. A match that exceeds fancy-regex's backtracking limit counts
/// as no match.
pub mod bytes {
    use std::borrow::Cow;

    /// A compiled Python pattern.
    #[derive(Clone, Debug)]
    pub struct Regex(fancy_regex::Regex);

    /// The groups of one match (owned: the text may have been converted).
    #[derive(Debug)]
    pub struct Captures<'a> {
        groups: Vec<Option<Vec<u8>>>,
        names: Vec<(String, usize)>,
        _text: std::marker::PhantomData<&'a [u8]>,
    }

    /// One group's text.
    #[derive(Debug)]
    pub struct Match<'a>(&'a [u8]);

    impl Match<'_> {
        pub fn as_bytes(&self) -> &[u8] {
            self.0
        }
    }

    fn text(b: &[u8]) -> Cow<'_, str> {
        String::from_utf8_lossy(b)
    }

    impl Regex {
        /// Compile a Python pattern. Errors: what fancy-regex cannot compile.
        pub fn new(pattern: &str) -> Result<Regex, String> {
            super::compile(pattern, false, false).map(Regex)
        }

        /// Python's `re.search(pattern, line) is not None`.
        pub fn is_match(&self, line: &[u8]) -> bool {
            self.0.is_match(text(line).as_ref()).unwrap_or(false)
        }

        /// Python's `re.search(pattern, line)` groups.
        pub fn captures(&self, line: &[u8]) -> Option<Captures<'_>> {
            let t = text(line);
            let caps = self.0.captures(t.as_ref()).ok()??;
            let groups = (0..caps.len())
                .map(|i| caps.get(i).map(|m| m.as_str().as_bytes().to_vec()))
                .collect();
            let names = self
                .0
                .capture_names()
                .enumerate()
                .filter_map(|(i, n)| n.map(|n| (n.to_string(), i)))
                .collect();
            Some(Captures {
                groups,
                names,
                _text: std::marker::PhantomData,
            })
        }
    }

    impl Captures<'_> {
        /// Number of groups, the whole match included.
        pub fn len(&self) -> usize {
            self.groups.len()
        }

        pub fn is_empty(&self) -> bool {
            self.groups.is_empty()
        }

        /// Group `n`; `None` when it did not take part.
        pub fn get(&self, n: usize) -> Option<Match<'_>> {
            self.groups.get(n)?.as_deref().map(Match)
        }

        /// A named group; `None` when the pattern has no such name or it did
        /// not take part.
        pub fn name(&self, name: &str) -> Option<Match<'_>> {
            let (_, i) = self.names.iter().find(|(n, _)| n == name)?;
            self.get(*i)
        }
    }
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

    #[test]
    fn replacements_must_name_existing_groups_as_python_requires() {
        let re = compile(r"(?P<k>\w+)=(\w+)", false, false).unwrap();
        for ok in [r"\1\2\g<0>\g<2>\g<k>", r"plain \n \\3", r"\0"] {
            assert_eq!(check_replacement(ok, &re), Ok(()), "{ok}");
        }
        let one = compile(r"(a)", false, false).unwrap();
        let err = |r: &str| check_replacement(r, &one).unwrap_err();
        assert!(
            err(r"x\2").starts_with("invalid group reference 2"),
            "{}",
            err(r"x\2")
        );
        assert!(err(r"\g<2>").starts_with("invalid group reference 2"));
        assert_eq!(err(r"\g<q>"), "unknown group name 'q'");
        assert!(err(r"\g<1").starts_with("missing >"));
    }

    #[test]
    fn bytes_api_matches_python_search_with_look_around() {
        let re = bytes::Regex::new(r"^(?P<k>\w+)=(?!no)(.*)$").unwrap();
        assert!(re.is_match(b"a=yes"));
        assert!(!re.is_match(b"a=no"));
        let caps = re.captures(b"key=val").unwrap();
        assert_eq!(caps.len(), 3);
        assert_eq!(caps.name("k").unwrap().as_bytes(), b"key");
        assert_eq!(caps.get(2).unwrap().as_bytes(), b"val");
        assert!(caps.name("nope").is_none());
        assert!(bytes::Regex::new("(").is_err());
    }
}
