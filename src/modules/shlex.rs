//! Splitting a command line into words the way Python's `shlex.split` does
//! (POSIX mode), which is what Ansible's `command` module uses: quotes group,
//! backslash escapes, no variables, no globbing, no shell.

/// Split `line` into words; an unclosed quote or a trailing backslash is an error.
pub(crate) fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word has started even when it is still empty (`''`).
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("no closing quotation in `{line}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        // Inside double quotes a backslash only escapes `"` and `\`.
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("no closing quotation in `{line}`")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("no closing quotation in `{line}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => {
                        return Err(format!(
                            "no escaped character after the final `\\` in `{line}`"
                        ))
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    fn s(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn splits_like_python_shlex() {
        assert_eq!(s("ls -l  /tmp"), ["ls", "-l", "/tmp"]);
        assert_eq!(s(r#"echo 'a b' "c d" e\ f"#), ["echo", "a b", "c d", "e f"]);
        assert_eq!(s(r#"echo "x\"y\$z" '\n'"#), ["echo", "x\"y\\$z", "\\n"]);
        assert_eq!(s("a '' b"), ["a", "", "b"]);
        assert_eq!(
            s("pre'quoted'post $HOME *"),
            ["prequotedpost", "$HOME", "*"]
        );
        assert_eq!(s("  "), Vec::<String>::new());
        assert_eq!(s("a\nb"), ["a", "b"]);
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert!(split("echo 'oops")
            .unwrap_err()
            .contains("no closing quotation"));
        assert!(split("echo \"oops").is_err());
        assert!(split("echo oops\\").is_err());
    }
}
