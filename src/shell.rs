//! Shell text: quoting values, per-task nonces, and the marker lines that
//! frame a script's answer. Used by modules (scripts), transport (the worker
//! shell, `sudo`/`timeout` wrappers), execute (facts) and lab.
//!
//! Every value that goes into a script goes through [`quote`]. Answers use
//! marker lines `__baton_<nonce> KEY VALUE` on stdout; the nonce is random per
//! task, so a command's own output can never forge one.

/// The first line of a script that may run in a subshell of the host's
/// persistent worker shell (a fork, no process of its own to start): the
/// script and the tools it runs do not signal their process group (`kill
/// 0`) and use `$$` only for a temporary name that an exclusive create
/// (`set -C`) checks, since both are the worker's there. Module scripts built
/// only on well-known tools (stat, chmod, mv, ...) start with it; a script
/// without it (one that runs the user's commands, or names a backup file
/// after `$$`) gets a session of its own.
pub const CONTAINED: &str = ": baton-contained\n";

/// Quote a value for a POSIX shell.
pub fn quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
    {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The shell command that prints one marker line.
pub fn emit(nonce: &str, key: &str, value_expr: &str) -> String {
    format!("printf '__baton_{nonce} {key} %s\\n' {value_expr}")
}

/// Marker lines of an answer, in order, as (key, value).
pub fn markers<'a>(stdout: &'a str, nonce: &str) -> Vec<(&'a str, &'a str)> {
    let prefix = format!("__baton_{nonce} ");
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .map(|rest| rest.split_once(' ').unwrap_or((rest, "")))
        .collect()
}

/// A fresh random nonce for one task.
pub fn new_nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut hasher, format!("{t}-{n}-{}", std::process::id()));
    hex::encode(&sha2::Digest::finalize(hasher)[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_leaves_safe_words_and_wraps_the_rest() {
        assert_eq!(quote("abc/d-e.f"), "abc/d-e.f");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's $HOME `x`"), r"'it'\''s $HOME `x`'");
    }

    #[test]
    fn quoted_values_survive_a_real_shell() {
        let nasty = "a'b\"c $d `e` \\f\n;g|h&*";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote(nasty)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), nasty);
    }

    #[test]
    fn markers_need_the_nonce() {
        let out = "hello\n__baton_abc changed yes\n__baton_xyz changed forged\n";
        assert_eq!(markers(out, "abc"), vec![("changed", "yes")]);
    }
}
