//! The textual shape of a templated value: whether a string is a template at
//! all. Below `load` and `plan` alike, so the loader can tell "this argument
//! will be rendered later" (and skip checking its literal value) without
//! depending on the template engine.

/// Whether a string needs rendering at all: it contains `{{`.
///
/// A string without `{{` is used as it is, so the loader may check its
/// literal value (e.g. against a module argument's `choices`) before the run.
pub fn is_template(text: &str) -> bool {
    text.contains("{{")
}

#[cfg(test)]
mod tests {
    use super::is_template;

    #[test]
    fn only_double_braces_make_a_template() {
        assert!(is_template("{{ x }}"));
        assert!(is_template("a{{x}}b"));
        assert!(!is_template("plain { brace }"));
        assert!(!is_template(""));
    }
}
