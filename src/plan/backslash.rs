//! Ansible's `escape_backslashes` for inline templates (task arguments,
//! `vars`, `set_fact`, names): inside `{{ }}` regions, every backslash
//! inside a quoted string literal is doubled before Jinja parses,
//! so `regex_replace('^([^.]+)\..*$', '\1')` reaches the filter with `\1`
//! (not chr(1)) and `'a\tb'` stays backslash-t; `{% %}` statements are
//! left alone (`{% set x = 'a\tb' %}` is a tab). Conditions and template
//! files are not pre-processed, as in Ansible (ansible-core 2.19
//! `_jinja_bits.AnsibleLexer.tokeniter`: string tokens between
//! `variable_begin` and `variable_end`; the `template` module passes
//! `escape_backslashes=False`).

use std::borrow::Cow;

/// `text` with the backslashes of string literals inside expression
/// regions doubled; text outside them, statements, comments and everything
/// outside string literals is unchanged.
pub fn escape_backslashes(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') || !(text.contains("{{") || text.contains("{%")) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while !rest.is_empty() {
        let Some(start) = rest.find('{') else {
            out.push_str(rest);
            break;
        };
        let (end_marker, after) = match rest.get(start..start + 2) {
            Some("{{") => ("}}", start + 2),
            Some("{%") => ("%}", start + 2),
            Some("{#") => ("#}", start + 2),
            _ => {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
                continue;
            }
        };
        out.push_str(&rest[..after]);
        rest = &rest[after..];
        if end_marker == "#}" {
            let end = rest.find("#}").map_or(rest.len(), |e| e + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        rest = region(rest, end_marker, end_marker == "}}", &mut out);
    }
    Cow::Owned(out)
}

/// Copy one expression or statement region up to and including its end
/// marker, doubling backslashes inside string literals when `double`; the
/// rest after it.
fn region<'a>(text: &'a str, end_marker: &str, double: bool, out: &mut String) -> &'a str {
    let mut chars = text.char_indices();
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == '\\' {
                    // Jinja's lexer takes `\x` as a pair: the next character
                    // never closes the literal. Every backslash is doubled,
                    // the escaped one too (`\\` becomes four).
                    if double {
                        out.push('\\');
                    }
                    if let Some((_, next)) = chars.next() {
                        out.push(next);
                        if next == '\\' && double {
                            out.push('\\');
                        }
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if text[i..].starts_with(end_marker) {
                    out.push_str(end_marker);
                    return &text[i + end_marker.len()..];
                }
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::escape_backslashes as e;

    #[test]
    fn doubles_backslashes_only_in_string_literals_of_regions() {
        assert_eq!(
            e(r"{{ h | regex_replace('^([^.]+)\..*$', '\1') }}"),
            r"{{ h | regex_replace('^([^.]+)\\..*$', '\\1') }}"
        );
        assert_eq!(e(r#"a\tb {{ "x\ty" }} c\d"#), r#"a\tb {{ "x\\ty" }} c\d"#);
        // statements are not pre-processed (Ansible 2.19)
        assert_eq!(
            e(r"{% set x = 'a\n' %}{{ x }}"),
            r"{% set x = 'a\n' %}{{ x }}"
        );
        // each backslash is doubled, an escaped one too
        assert_eq!(e(r"{{ 'e\\f' }}"), r"{{ 'e\\\\f' }}");
        assert_eq!(e(r"{{ 'C:\\U\\x' }}"), r"{{ 'C:\\\\U\\\\x' }}");
        assert_eq!(
            e(r"{% if '\\' in x %}{{ '\\' }}{% endif %}"),
            r"{% if '\\' in x %}{{ '\\\\' }}{% endif %}"
        );
        // Comments, text and a backslash outside a literal are untouched.
        assert_eq!(e(r"{# '\1' #}\n{{ 1 }}"), r"{# '\1' #}\n{{ 1 }}");
        // A quote in text outside a region does not open a literal.
        assert_eq!(e(r"it's {{ 'a\b' }}"), r"it's {{ 'a\\b' }}");
        // `}}` inside a literal does not end the region.
        assert_eq!(e(r"{{ '}}\1' }}"), r"{{ '}}\\1' }}");
        assert_eq!(e("no template \\1"), "no template \\1");
    }
}
