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
    let translated = translate(pattern)
        .map_err(|e| format!("regular expression `{pattern}` is refused by Python's `re`: {e}"))?;
    let source = if flags.is_empty() {
        translated
    } else {
        format!("(?{flags}){translated}")
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

/// What Python's parser last built in the current branch, which decides
/// whether a repeat may follow.
#[derive(Clone, Copy, PartialEq)]
enum Last {
    /// Start of the pattern, of a group or of an alternative.
    Nothing,
    /// `^`, `$`, `\A`, `\Z`, `\b`, `\B`: Python cannot repeat an anchor.
    Anchor,
    /// A repeat with its `?` (lazy) or `+` (possessive) suffix.
    Repeat,
    /// A literal, escape, class or group.
    Item,
}

/// Python pattern syntax to fancy-regex syntax, refusing the repeats
/// Python's `re` (3.11) refuses: fancy-regex nests `a{2}{3}` as (a{2}){3}
/// and `a**` as (a*)*, where Python says `multiple repeat`, and repeats an
/// anchor (`^*`) where Python says `nothing to repeat`. Errors: Python's
/// message and position (in characters).
///
/// Translations: `\Z` becomes `\z`; a `{` that does not open a valid
/// `{m}`/`{m,n}` is Python's literal `{` (escaped for fancy-regex); `{,n}`
/// gets Python's implied minimum, `{0,n}`.
fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    // A verbose pattern that is not verbose from the start (scoped
    // `(?x:...)`) is translated but not checked: its comments could look
    // like repeats.
    let flags = leading_flags(&chars);
    let verbose = flags.as_ref().is_some_and(|(f, _)| f.contains('x'));
    let check = verbose || !has_scoped_verbose(&chars);
    let mut groups: Vec<Last> = Vec::new();
    // per open group: where its body starts when it is a look-behind
    let mut behinds: Vec<Option<usize>> = Vec::new();
    let mut last = Last::Nothing;
    let mut i = 0;
    if let Some((_, end)) = flags {
        out.extend(&chars[..end]);
        i = end;
    }
    let refuse = |what: &str, at: usize| Err(format!("{what} at position {at}"));
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => match chars.get(i + 1) {
                Some(&n) => {
                    if n == 'Z' {
                        out.push_str("\\z");
                    } else {
                        out.push('\\');
                        out.push(n);
                    }
                    last = if matches!(n, 'A' | 'Z' | 'b' | 'B') {
                        Last::Anchor
                    } else {
                        Last::Item
                    };
                    i += 2;
                }
                None => {
                    // fancy-regex refuses the trailing backslash as Python does.
                    out.push('\\');
                    i += 1;
                }
            },
            '[' => {
                let end = class_end(&chars, i);
                out.extend(&chars[i..end]);
                last = Last::Item;
                i = end;
            }
            '(' if chars.get(i + 1) == Some(&'?') && chars.get(i + 2) == Some(&'#') => {
                // A comment builds nothing: `a(?#c)*` repeats `a`.
                let end = chars[i..]
                    .iter()
                    .position(|&x| x == ')')
                    .map_or(chars.len(), |p| i + p + 1);
                out.extend(&chars[i..end]);
                i = end;
            }
            '(' => {
                // `(?:`, `(?P<n>`, `(?=`, ...: the `?` opens an extension,
                // it repeats nothing.
                let end = group_header_end(&chars, i);
                if check && !verbose {
                    group_name_check(&chars, i, end)?;
                }
                let behind = check
                    && !verbose
                    && chars.get(i + 2) == Some(&'<')
                    && matches!(chars.get(i + 3), Some('=' | '!'));
                out.extend(&chars[i..end]);
                if chars.get(end - 1) == Some(&')') && chars.get(i + 2) != Some(&'(') {
                    // `(?P=name)`, or flags `(?i)`: complete, nothing to pop.
                    if chars.get(i + 2) == Some(&'P') {
                        last = Last::Item;
                    }
                } else {
                    groups.push(last);
                    behinds.push(behind.then_some(end));
                    last = Last::Nothing;
                }
                i = end;
            }
            ')' => {
                groups.pop();
                // Python sizes a look-behind when it closes, after the
                // errors inside it
                if let Some(Some(body)) = behinds.pop() {
                    if width(&chars, &mut { body }).is_some_and(|(lo, hi)| hi != Some(lo)) {
                        return Err("look-behind requires fixed-width pattern".into());
                    }
                }
                last = Last::Item;
                out.push(')');
                i += 1;
            }
            '|' => {
                last = Last::Nothing;
                out.push('|');
                i += 1;
            }
            '^' | '$' => {
                last = Last::Anchor;
                out.push(c);
                i += 1;
            }
            c if verbose && c.is_whitespace() => {
                out.push(c);
                i += 1;
            }
            '#' if verbose => {
                let end = chars[i..]
                    .iter()
                    .position(|&x| x == '\n')
                    .map_or(chars.len(), |p| i + p);
                out.extend(&chars[i..end]);
                i = end;
            }
            '*' | '+' | '?' | '{' => {
                let end = if c == '{' {
                    match braces(&chars, i) {
                        Some(Braces::Literal) => {
                            out.push_str("\\{");
                            last = Last::Item;
                            i += 1;
                            continue;
                        }
                        Some(Braces::Reversed) if check => {
                            return refuse("min repeat greater than max repeat", i + 1)
                        }
                        Some(Braces::Repeat { lo, hi, end }) => {
                            out.push('{');
                            out.push_str(if lo.is_empty() { "0" } else { &lo });
                            if let Some(hi) = hi {
                                out.push(',');
                                out.push_str(&hi);
                            }
                            out.push('}');
                            end
                        }
                        _ => {
                            let end = chars[i..]
                                .iter()
                                .position(|&x| x == '}')
                                .map_or(chars.len(), |p| i + p + 1);
                            out.extend(&chars[i..end]);
                            end
                        }
                    }
                } else {
                    out.push(c);
                    i + 1
                };
                if check {
                    match last {
                        Last::Nothing | Last::Anchor => return refuse("nothing to repeat", i),
                        Last::Repeat => return refuse("multiple repeat", i),
                        Last::Item => {}
                    }
                }
                i = end;
                if let Some(&s @ ('?' | '+')) = chars.get(i) {
                    out.push(s);
                    i += 1;
                }
                last = Last::Repeat;
            }
            _ => {
                out.push(c);
                last = Last::Item;
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The end (exclusive) of a group's opening at `chars[at] == '('`: `(`,
/// or with its extension: `(?:`, `(?=`, `(?!`, `(?>`, `(?<=`, `(?<!`,
/// `(?P<name>`, `(?<name>`, `(?flags:`, `(?flags-flags:`, the condition of
/// `(?(1)`; whole for `(?P=name)` and `(?flags)`, which close themselves.
fn group_header_end(chars: &[char], at: usize) -> usize {
    let through = |from: usize, stop: char| {
        chars[from.min(chars.len())..]
            .iter()
            .position(|&c| c == stop)
            .map_or(chars.len(), |p| from + p + 1)
    };
    if chars.get(at + 1) != Some(&'?') {
        return at + 1;
    }
    let x = at + 2;
    match (chars.get(x), chars.get(x + 1)) {
        (Some(':' | '=' | '!' | '>'), _) => x + 1,
        (Some('<'), Some('=' | '!')) => x + 2,
        (Some('<'), _) | (Some('P'), Some('<')) => through(x, '>'),
        (Some('P'), Some('=')) | (Some('('), _) => through(x, ')'),
        _ => {
            let flags = chars[x..]
                .iter()
                .take_while(|c| "aiLmsux-".contains(**c))
                .count();
            match chars.get(x + flags) {
                Some(':' | ')') => x + flags + 1,
                _ => x,
            }
        }
    }
}

/// Python's check of a group name in `(?P<name>` or `(?P=name)` (the group
/// opening at `chars[at]`, its header ending at `end`): empty is `missing
/// group name`, a non-identifier `bad character in group name`.
fn group_name_check(chars: &[char], at: usize, end: usize) -> Result<(), String> {
    if chars.get(at + 2) != Some(&'P') || !matches!(chars.get(at + 3), Some('<' | '=')) {
        return Ok(());
    }
    let close = if chars.get(at + 3) == Some(&'<') {
        '>'
    } else {
        ')'
    };
    if chars.get(end - 1) != Some(&close) {
        // unterminated: fancy-regex refuses it
        return Ok(());
    }
    let name: String = chars[at + 4..end - 1].iter().collect();
    if name.is_empty() {
        return Err(format!("missing group name at position {}", at + 4));
    }
    if !is_identifier(&name) {
        return Err(format!(
            "bad character in group name '{name}' at position {}",
            at + 4
        ));
    }
    Ok(())
}

/// Python's `getwidth` of the alternatives from `chars[*i]` up to the
/// closing `)` (consumed) or the end: (minimum, maximum; `None` unbounded)
/// in characters. `None` when the pattern holds something this reading
/// does not size (a backreference, a conditional, a `\x`/`\N` escape):
/// then fancy-regex decides.
fn width(chars: &[char], i: &mut usize) -> Option<(u64, Option<u64>)> {
    let mut alt: Option<(u64, Option<u64>)> = None;
    let (mut lo, mut hi) = (0u64, Some(0u64));
    // the width of the last item, which a repeat multiplies
    let mut last: (u64, Option<u64>) = (0, Some(0));
    let finish = |alt: Option<(u64, Option<u64>)>, lo: u64, hi: Option<u64>| match alt {
        None => (lo, hi),
        Some((l, h)) => (l.min(lo), h.zip(hi).map(|(a, b)| a.max(b))),
    };
    while *i < chars.len() {
        let c = chars[*i];
        let item: (u64, Option<u64>) = match c {
            ')' => {
                *i += 1;
                return Some(finish(alt, lo, hi));
            }
            '|' => {
                alt = Some(finish(alt, lo, hi));
                (lo, hi) = (0, Some(0));
                last = (0, Some(0));
                *i += 1;
                continue;
            }
            '\\' => {
                let n = *chars.get(*i + 1)?;
                if n.is_ascii_digit() || matches!(n, 'x' | 'u' | 'U' | 'N') {
                    return None;
                }
                *i += 2;
                if matches!(n, 'A' | 'Z' | 'b' | 'B') {
                    (0, Some(0))
                } else {
                    (1, Some(1))
                }
            }
            '[' => {
                *i = class_end(chars, *i);
                (1, Some(1))
            }
            '^' | '$' => {
                *i += 1;
                (0, Some(0))
            }
            '(' => {
                let start = *i;
                let end = group_header_end(chars, start);
                let ext = chars.get(start + 1) == Some(&'?');
                let head = chars.get(start + 2).copied();
                let third = chars.get(start + 3).copied();
                if ext && (head == Some('(') || (head == Some('P') && third == Some('='))) {
                    return None;
                }
                if ext && head == Some('#') {
                    *i = chars[start..]
                        .iter()
                        .position(|&x| x == ')')
                        .map_or(chars.len(), |p| start + p + 1);
                    continue;
                }
                *i = end;
                if chars.get(end - 1) == Some(&')') {
                    // flags `(?i)`
                    continue;
                }
                let inner = width(chars, i)?;
                let around = ext
                    && (matches!(head, Some('=' | '!'))
                        || (head == Some('<') && matches!(third, Some('=' | '!'))));
                if around {
                    (0, Some(0))
                } else {
                    inner
                }
            }
            '*' | '+' | '?' | '{' => {
                let (m, n, next) = match c {
                    '*' => (0, None, *i + 1),
                    '+' => (1, None, *i + 1),
                    '?' => (0, Some(1), *i + 1),
                    _ => match braces(chars, *i)? {
                        Braces::Literal => (1, Some(1), *i + 1),
                        Braces::Reversed => return None,
                        Braces::Repeat { lo: l, hi: h, end } => {
                            let l: u64 = if l.is_empty() { 0 } else { l.parse().ok()? };
                            let h: Option<u64> = match h {
                                None => Some(l),
                                Some(h) if h.is_empty() => None,
                                Some(h) => Some(h.parse().ok()?),
                            };
                            (l, h, end)
                        }
                    },
                };
                if c == '{' && m == 1 && n == Some(1) && next == *i + 1 {
                    // a literal `{`
                    *i = next;
                    (1, Some(1))
                } else {
                    *i = next;
                    if matches!(chars.get(*i), Some('?' | '+')) {
                        *i += 1;
                    }
                    // replace the last item by its repetition
                    lo = lo - last.0 + last.0.saturating_mul(m);
                    hi = match (hi, last.1, n) {
                        (Some(h), Some(lh), Some(n)) => Some(h - lh + lh.saturating_mul(n)),
                        (Some(h), Some(0), None) => Some(h),
                        _ => None,
                    };
                    last = (0, Some(0));
                    continue;
                }
            }
            _ => {
                *i += 1;
                (1, Some(1))
            }
        };
        lo = lo.saturating_add(item.0);
        hi = hi.zip(item.1).map(|(a, b)| a.saturating_add(b));
        last = item;
    }
    Some(finish(alt, lo, hi))
}

/// A `{` as Python reads it.
enum Braces {
    /// Not `{m}`, `{m,}`, `{,n}`, `{m,n}` (`{}`, `{x}`, `{ 2}`): a literal `{`.
    Literal,
    /// `{m,n}` with n < m.
    Reversed,
    /// `{lo,hi}`; `hi` is `None` for `{m}` and empty for `{m,}`.
    Repeat {
        lo: String,
        hi: Option<String>,
        end: usize,
    },
}

/// Read Python's `{m,n}` at `chars[at] == '{'`. `None`: numbers too large to
/// compare (fancy-regex refuses them itself).
fn braces(chars: &[char], at: usize) -> Option<Braces> {
    let digits = |from: usize| -> String {
        chars[from.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect()
    };
    if chars.get(at + 1) == Some(&'}') {
        return Some(Braces::Literal);
    }
    let lo = digits(at + 1);
    let mut j = at + 1 + lo.chars().count();
    let hi = if chars.get(j) == Some(&',') {
        let hi = digits(j + 1);
        j += 1 + hi.chars().count();
        Some(hi)
    } else {
        None
    };
    if chars.get(j) != Some(&'}') {
        return Some(Braces::Literal);
    }
    if let Some(h) = hi.as_deref().filter(|h| !h.is_empty()) {
        let l = if lo.is_empty() {
            Ok(0)
        } else {
            lo.parse::<u64>()
        };
        match (l, h.parse::<u64>()) {
            (Ok(l), Ok(h)) if h < l => return Some(Braces::Reversed),
            (Ok(_), Ok(_)) => {}
            _ => return None,
        }
    }
    Some(Braces::Repeat { lo, hi, end: j + 1 })
}

/// The end (exclusive) of the class opening at `chars[at] == '['`: a `]`
/// right after `[` or `[^` is a member; escapes are skipped. An unterminated
/// class runs to the end (fancy-regex refuses it, as Python does).
fn class_end(chars: &[char], at: usize) -> usize {
    let mut j = at + 1;
    if chars.get(j) == Some(&'^') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            ']' => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

/// Python's global flags at the start, `(?imx)`: the letters and the index
/// after the group.
fn leading_flags(chars: &[char]) -> Option<(String, usize)> {
    if chars.first() != Some(&'(') || chars.get(1) != Some(&'?') {
        return None;
    }
    let letters: String = chars[2..]
        .iter()
        .take_while(|c| "aiLmsux".contains(**c))
        .collect();
    let end = 2 + letters.chars().count();
    (!letters.is_empty() && chars.get(end) == Some(&')')).then_some((letters, end + 1))
}

/// Whether a scoped group turns verbose mode on, `(?x:...)`.
fn has_scoped_verbose(chars: &[char]) -> bool {
    chars.windows(2).enumerate().any(|(i, w)| {
        w == ['(', '?']
            && chars[i + 2..]
                .iter()
                .take_while(|c| "aiLmsux-".contains(**c))
                .any(|&c| c == 'x')
    })
}

/// Every match of `re` in `text` as Python 3.7+'s `re.sub`/`re.findall`
/// walk them: an empty match right after a non-empty one counts
/// (`'aaa'` with `a*` is `aaa` then `` at 3, so `re.sub` gives `bb`), only
/// an empty match where the previous match also ended empty is skipped.
/// fancy-regex's own iterator drops any empty match at the previous end.
pub fn py_captures<'t>(
    re: &'t Regex,
    text: &'t str,
) -> impl Iterator<Item = Result<fancy_regex::Captures<'t, str>, fancy_regex::Error>> + 't {
    let mut pos = 0usize;
    // the previous match was empty and ended at `pos`
    let mut must_advance = false;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut from = pos;
        loop {
            if from > text.len() {
                done = true;
                return None;
            }
            let caps = match re.captures_from_pos(text, from) {
                Ok(Some(c)) => c,
                Ok(None) => {
                    done = true;
                    return None;
                }
                Err(e) => {
                    done = true;
                    return Some(Err(e));
                }
            };
            let (start, end) = caps.get(0).map_or((from, from), |m| (m.start(), m.end()));
            if must_advance && start == end && start == pos {
                // the next character: an empty match may not repeat here
                from = pos + text[pos..].chars().next().map_or(1, char::len_utf8);
                continue;
            }
            must_advance = start == end;
            pos = end;
            return Some(Ok(caps));
        }
    })
}

/// One piece of a parsed Python replacement template.
enum Piece {
    /// Literal text (escapes and octal escapes already decoded).
    Lit(char),
    /// A group by number or name; `at` is Python's error position.
    Group { name: String, at: usize },
}

/// Python 3.11's `sre_parse.parse_template`: `\g<n>`/`\g<name>` and `\N` are
/// groups; `\0`, `\0o`, `\0oo` and a three-digit `\ooo` (first two octal)
/// are octal escapes, so `\0` is NUL, not the whole match (that is `\g<0>`);
/// `\NN` is group NN; `\a\b\f\n\r\t\v\\` are the controls; another ASCII
/// letter is `bad escape`; any other escaped character stays `\c`.
/// Errors: Python's message and position.
fn parse_template(repl: &str) -> Result<Vec<Piece>, String> {
    let chars: Vec<char> = repl.chars().collect();
    let octal = |c: Option<&char>| c.is_some_and(|c| ('0'..='7').contains(c));
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 == chars.len() {
            out.push(Piece::Lit(c));
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        match n {
            'g' => {
                if chars.get(i + 2) != Some(&'<') {
                    return Err(format!("missing < at position {}", i + 2));
                }
                let Some(len) = chars[i + 3..].iter().position(|&x| x == '>') else {
                    return Err(format!(
                        "missing >, unterminated name at position {}",
                        i + 3
                    ));
                };
                let name: String = chars[i + 3..i + 3 + len].iter().collect();
                if name.is_empty() {
                    return Err(format!("missing group name at position {}", i + 3));
                }
                if !is_identifier(&name) && !name.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "bad character in group name '{name}' at position {}",
                        i + 3
                    ));
                }
                out.push(Piece::Group { name, at: i + 3 });
                i += 4 + len;
            }
            '0' => {
                let mut j = i + 2;
                while j < i + 4 && octal(chars.get(j)) {
                    j += 1;
                }
                let digits: String = chars[i + 2..j].iter().collect();
                let v = u32::from_str_radix(&digits, 8).unwrap_or(0);
                out.push(Piece::Lit(char::from_u32(v).unwrap_or('\0')));
                i = j;
            }
            '1'..='9' => {
                let two = chars.get(i + 2).filter(|c| c.is_ascii_digit());
                if octal(Some(&n)) && octal(two) && octal(chars.get(i + 3)) {
                    let digits: String = chars[i + 1..i + 4].iter().collect();
                    let v = u32::from_str_radix(&digits, 8).unwrap_or(0);
                    if v > 0o377 {
                        return Err(format!(
                            "octal escape value \\{digits} outside of range 0-0o377 at position {i}"
                        ));
                    }
                    out.push(Piece::Lit(char::from_u32(v).unwrap_or('\0')));
                    i += 4;
                } else {
                    let end = if two.is_some() { i + 3 } else { i + 2 };
                    let name: String = chars[i + 1..end].iter().collect();
                    out.push(Piece::Group { name, at: i + 1 });
                    i = end;
                }
            }
            _ => {
                let control = match n {
                    'a' => Some('\x07'),
                    'b' => Some('\x08'),
                    'f' => Some('\x0c'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    'v' => Some('\x0b'),
                    '\\' => Some('\\'),
                    _ => None,
                };
                match control {
                    Some(x) => out.push(Piece::Lit(x)),
                    None if n.is_ascii_alphabetic() => {
                        return Err(format!("bad escape \\{n} at position {i}"))
                    }
                    None => {
                        out.push(Piece::Lit('\\'));
                        out.push(Piece::Lit(n));
                    }
                }
                i += 2;
            }
        }
    }
    Ok(out)
}

/// Python's `str.isidentifier()` for a group name (Unicode letters count).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// A Python replacement string (`\1`, `\g<1>`, `\g<name>`, `\n`, `\0`) as a
/// fancy-regex replacement (`${1}`, `${name}`, literal `$` doubled). A
/// template Python refuses (see `check_replacement`, called first) is
/// used literally.
pub fn replacement(repl: &str) -> String {
    let Ok(pieces) = parse_template(repl) else {
        return repl.replace('$', "$$");
    };
    let mut out = String::with_capacity(repl.len());
    for p in pieces {
        match p {
            Piece::Lit('$') => out.push_str("$$"),
            Piece::Lit(c) => out.push(c),
            Piece::Group { name, .. } => out.push_str(&format!("${{{name}}}")),
        }
    }
    out
}

/// Python's check of a replacement against its pattern, made before any
/// substitution (`re.sub` parses the template first, so it fails even when
/// nothing matches): the template must parse (`bad escape \q`, octal
/// range), `\N` and `\g<N>` must name an existing group, `\g<name>` a
/// defined name. Errors: Python's own wording, e.g. `invalid group
/// reference 2`, `unknown group name 'q'`, `missing >, unterminated name`.
/// Without this check fancy-regex expands a missing group to nothing,
/// silently deleting the matched text.
pub fn check_replacement(repl: &str, re: &Regex) -> Result<(), String> {
    let groups = re.captures_len();
    for p in parse_template(repl)? {
        let Piece::Group { name, at } = p else {
            continue;
        };
        if name.bytes().all(|b| b.is_ascii_digit()) {
            if !name.parse::<usize>().is_ok_and(|n| n < groups) {
                let n = name.trim_start_matches('0');
                let n = if n.is_empty() { "0" } else { n };
                return Err(format!("invalid group reference {n} at position {at}"));
            }
        } else if !re.capture_names().any(|n| n == Some(name.as_str())) {
            return Err(format!("unknown group name '{name}'"));
        }
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

    /// Python 3.11's answers (`re.compile(p)` in python3), pattern by
    /// pattern: refusals with Python's message, the rest compiled.
    #[test]
    fn repeats_are_refused_where_python_refuses_them() {
        let python: &[(&str, Option<&str>)] = &[
            ("a**", Some("multiple repeat at position 2")),
            ("a{2}{3}", Some("multiple repeat at position 4")),
            ("a+{2}", Some("multiple repeat at position 2")),
            ("a*?", None),
            ("a+?", None),
            ("a{2}?", None),
            ("a*+", None),
            ("a++", None),
            ("a?+", None),
            ("a{2}+", None),
            ("a{2}?+", Some("multiple repeat at position 5")),
            ("a*?+", Some("multiple repeat at position 3")),
            ("a??", None),
            ("a???", Some("multiple repeat at position 3")),
            ("a{x}", None),
            ("a{x}{2}", None),
            ("a{2,}{3}", Some("multiple repeat at position 5")),
            ("a{,3}*", Some("multiple repeat at position 5")),
            ("a{,3}", None),
            ("(a*)*", None),
            ("(?:a*)*", None),
            ("[*]*", None),
            ("[]*]*", None),
            ("[^]]+", None),
            ("a\\**", None),
            ("x|*", Some("nothing to repeat at position 2")),
            ("*a", Some("nothing to repeat at position 0")),
            ("(*)", Some("nothing to repeat at position 1")),
            ("^*", Some("nothing to repeat at position 1")),
            ("$*", Some("nothing to repeat at position 1")),
            ("\\b*", Some("nothing to repeat at position 2")),
            ("\\A*", Some("nothing to repeat at position 2")),
            ("\\Z*", Some("nothing to repeat at position 2")),
            (
                "a{3,2}",
                Some("min repeat greater than max repeat at position 2"),
            ),
            ("a{}", None),
            ("a*{", None),
            ("a{1", None),
            ("a(?#c)*", None),
            ("(?i)*", Some("nothing to repeat at position 4")),
            ("(?i)a**", Some("multiple repeat at position 6")),
            ("(?x) a * # c**\n", None),
            ("(?x) a * *", Some("multiple repeat at position 9")),
            ("\\d+*", Some("multiple repeat at position 3")),
            ("a|b+*", Some("multiple repeat at position 4")),
            ("(?P<n>a)(?P=n)*", None),
            ("é**", Some("multiple repeat at position 2")),
            ("(?:*)", Some("nothing to repeat at position 3")),
            ("(?=*)", Some("nothing to repeat at position 3")),
            ("(a)(?(1)*|b)", Some("nothing to repeat at position 8")),
            ("(a)(?(1)a|b)*", None),
            ("(?i:a)*", None),
            ("(?>a)*", None),
            ("(?>a*)*", None),
            ("(?s:.)**", Some("multiple repeat at position 7")),
            ("(?P<n>a)(?P=n)+?", None),
            ("(?<!a)b?", None),
        ];
        // Not in the table: a repeated look-around (`(?=a)*`), which Python
        // takes and fancy-regex refuses as "not supported".
        let mut wrong = Vec::new();
        for (pattern, refusal) in python {
            match (compile(pattern, false, false), refusal) {
                (Ok(_), None) => {}
                (Err(e), Some(why))
                    if e.ends_with(&format!("is refused by Python's `re`: {why}")) => {}
                (got, want) => wrong.push(format!(
                    "{pattern:?}: got {:?}, Python says {want:?}",
                    got.map(|_| ())
                )),
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn literal_braces_and_open_minimum_read_as_python_reads_them() {
        let m = |p: &str, text: &str| {
            compile(p, false, false)
                .unwrap()
                .find(text)
                .unwrap()
                .map(|m| m.as_str().to_string())
        };
        assert_eq!(m("a{x}", "za{x}").as_deref(), Some("a{x}"));
        assert_eq!(m("a{}", "a{}").as_deref(), Some("a{}"));
        assert_eq!(m("a{,2}b", "aaab").as_deref(), Some("aab"));
        assert_eq!(m("x{ 2}", "x{ 2}").as_deref(), Some("x{ 2}"));
        assert_eq!(m("a*+a", "aaa"), None);
    }

    /// python3.11's `re.compile(p)`: a look-behind must have one width, a
    /// group name must be an identifier.
    #[test]
    fn look_behind_widths_and_group_names_as_python_checks_them() {
        let fixed = "look-behind requires fixed-width pattern";
        let python: &[(&str, Option<&str>)] = &[
            ("(?<=a+)b", Some(fixed)),
            ("(?<=x|yy)", Some(fixed)),
            ("(?<!a*)b", Some(fixed)),
            ("(?<=a{1,2})b", Some(fixed)),
            ("(?<=(a|bc))x", Some(fixed)),
            ("(?<=a?)b", Some(fixed)),
            ("(?<=ab|cd)x", None),
            ("(?<=a{2})b", None),
            (r"(?<=\d)x", None),
            ("(?<=[ab])x", None),
            ("(?<=a(?=b))x", None),
            ("(?<=(?:ab){2})x", None),
            (r"(?<=a\b)x", None),
            ("(?<=^a)x", None),
            ("(?<=a.)x", None),
            ("(?<=(a))\\1", None),
            ("(?<=a{)x", None),
            ("(?<=a**)b", Some("multiple repeat at position 6")),
            ("(?<=a|(?<=b+))c", Some(fixed)),
            (
                "(?P<1a>x)",
                Some("bad character in group name '1a' at position 4"),
            ),
            (
                "(?P<a-b>x)",
                Some("bad character in group name 'a-b' at position 4"),
            ),
            ("(?P<>x)", Some("missing group name at position 4")),
            (
                "(?P=1a)",
                Some("bad character in group name '1a' at position 4"),
            ),
            ("(a)(?P=)", Some("missing group name at position 7")),
            ("(?P<é>x)", None),
            ("(?P<_a1>x)(?P=_a1)", None),
        ];
        for (p, refusal) in python {
            let got = compile(p, false, false);
            match refusal {
                Some(msg) => {
                    let e = got.expect_err(p);
                    assert!(e.ends_with(&format!(": {msg}")), "{p}: {e}");
                }
                None => assert!(got.is_ok(), "{p}: {:?}", got.err()),
            }
        }
    }

    /// python3.11's `re.sub('(X)', r, 'X')` (one group): `\0` and `\ooo` are
    /// octal escapes, `\g<0>` the whole match.
    #[test]
    fn replacement_escapes_read_as_python_reads_them() {
        let one = compile("(X)", false, false).unwrap();
        let sub = |r: &str| -> Result<String, String> {
            check_replacement(r, &one)?;
            Ok(one.replace_all("X", replacement(r).as_str()).into_owned())
        };
        for (r, python) in [
            (r"\0", "\0"),
            (r"\01", "\x01"),
            (r"\012", "\n"),
            (r"\0123", "\n3"),
            (r"\08", "\x008"),
            (r"\1", "X"),
            (r"\100", "@"),
            (r"\177", "\x7f"),
            (r"\044", "$"),
            (r"\g<0>", "X"),
            (r"\g<0>0", "X0"),
            (r"\%", "\\%"),
            (r"\a\b\f\v\r", "\x07\x08\x0c\x0b\r"),
            (r"\\$", "\\$"),
        ] {
            assert_eq!(sub(r).as_deref(), Ok(python), "{r}");
        }
        for (r, python) in [
            (r"\10", "invalid group reference 10 at position 1"),
            (r"\19", "invalid group reference 19 at position 1"),
            (r"\8", "invalid group reference 8 at position 1"),
            (
                r"\400",
                "octal escape value \\400 outside of range 0-0o377 at position 0",
            ),
            (r"\q", "bad escape \\q at position 0"),
            (r"\g<1a>", "bad character in group name '1a' at position 3"),
            (r"\g<>", "missing group name at position 3"),
            (r"\g<-1>", "bad character in group name '-1' at position 3"),
        ] {
            assert_eq!(sub(r), Err(python.to_string()), "{r}");
        }
        // ten groups: `\10` is group 10
        let ten = compile("(X)(Y)(Z)(a)?(b)?(c)?(d)?(e)?(f)?(g)?", false, false).unwrap();
        assert_eq!(check_replacement(r"\10", &ten), Ok(()));
        assert_eq!(ten.replace_all("XYZ", replacement(r"\10\3").as_str()), "Z");
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
