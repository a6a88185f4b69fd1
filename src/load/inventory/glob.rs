//! Shell wildcards in host patterns, as Python's `fnmatch` matches them.

/// Python's `fnmatch` (which Ansible uses): `*`, `?`, `[abc]`, `[a-z]`,
/// `[!abc]`; case-sensitive; an unclosed `[` is literal.
pub struct Glob {
    tokens: Vec<GlobToken>,
}

enum GlobToken {
    Char(char),
    AnyChar,
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl GlobToken {
    fn matches(&self, c: char) -> bool {
        match self {
            GlobToken::Char(x) => *x == c,
            GlobToken::AnyChar => true,
            GlobToken::AnyRun => false,
            GlobToken::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '*' => tokens.push(GlobToken::AnyRun),
                '?' => tokens.push(GlobToken::AnyChar),
                '[' => {
                    let mut j = i;
                    if chars.get(j) == Some(&'!') {
                        j += 1;
                    }
                    if chars.get(j) == Some(&']') {
                        j += 1;
                    }
                    while j < chars.len() && chars[j] != ']' {
                        j += 1;
                    }
                    if j >= chars.len() {
                        tokens.push(GlobToken::Char('['));
                        continue;
                    }
                    let mut body = &chars[i..j];
                    let negated = body.first() == Some(&'!');
                    if negated {
                        body = &body[1..];
                    }
                    let mut ranges = Vec::new();
                    let mut k = 0;
                    while k < body.len() {
                        if k + 2 < body.len() && body[k + 1] == '-' {
                            ranges.push((body[k], body[k + 2]));
                            k += 3;
                        } else {
                            ranges.push((body[k], body[k]));
                            k += 1;
                        }
                    }
                    tokens.push(GlobToken::Class { negated, ranges });
                    i = j + 1;
                }
                other => tokens.push(GlobToken::Char(other)),
            }
        }
        Glob { tokens }
    }

    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut t, mut s) = (0, 0);
        // Where the last `*` was, and how much text it has swallowed so far.
        let mut backtrack: Option<(usize, usize)> = None;
        while s < text.len() {
            match self.tokens.get(t) {
                Some(GlobToken::AnyRun) => {
                    backtrack = Some((t, s));
                    t += 1;
                    continue;
                }
                Some(token) if token.matches(text[s]) => {
                    t += 1;
                    s += 1;
                    continue;
                }
                _ => {}
            }
            match backtrack {
                Some((star, swallowed)) => {
                    t = star + 1;
                    s = swallowed + 1;
                    backtrack = Some((star, swallowed + 1));
                }
                None => return false,
            }
        }
        self.tokens[t..]
            .iter()
            .all(|tok| matches!(tok, GlobToken::AnyRun))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_semantics() {
        let g = |p: &str, t: &str| Glob::new(p).matches(t);
        assert!(g("a*b*c", "aXbYc"));
        assert!(!g("a*b*c", "aXbY"));
        assert!(g("*", ""));
        assert!(g("[a-c]x", "bx"));
        assert!(!g("[!a-c]x", "bx"));
        assert!(g("[]]", "]"));
        assert!(g("x[", "x["), "an unclosed bracket is literal");
        assert!(!g("Web", "web"), "case-sensitive");
    }
}
