//! The textual shape of a templated value: whether a string is a template at
//! all. Below `load` and `plan` alike, so the loader can tell "this argument
//! will be rendered later" (and skip checking its literal value) without
//! depending on the template engine.

/// Whether a string needs rendering at all: it contains a Jinja2 expression
/// (`{{`), statement (`{%`) or comment (`{#`), or starts with a `#jinja2:`
/// settings line (which may set other delimiters; Ansible 2.19 renders such
/// a string too).
///
/// A string without them is used as it is, so the loader may check its
/// literal value (e.g. against a module argument's `choices`) before the run.
pub fn is_template(text: &str) -> bool {
    text.contains("{{")
        || text.contains("{%")
        || text.contains("{#")
        || text.starts_with("#jinja2:")
}

#[cfg(test)]
mod tests {
    use super::is_template;

    #[test]
    fn expressions_statements_and_comments_make_a_template() {
        assert!(is_template("{{ x }}"));
        assert!(is_template("a{{x}}b"));
        assert!(is_template("{% if x %}y{% endif %}"));
        assert!(is_template("{# note #}"));
        assert!(!is_template("plain { brace } and %"));
        assert!(!is_template(""));
        assert!(is_template("#jinja2: variable_start_string: '[['\n[[ x ]]"));
    }
}
