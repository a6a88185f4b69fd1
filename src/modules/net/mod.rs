//! HTTP from the host: downloads (get_url) and requests (uri), both through
//! the host's `curl`, so the request leaves from the host as in Ansible.

pub mod get_url;
pub mod uri;

use serde_json::Value;

use crate::modules::kit::args::ArgReader;
use crate::modules::ModuleError;
use crate::shell;

/// `headers:` (a mapping of name to value) as quoted `-H 'Name: value'`
/// words for curl.
pub(crate) fn header_words(r: &ArgReader<'_>) -> Result<Vec<(String, String)>, ModuleError> {
    let Some(v) = r.value("headers") else {
        return Ok(Vec::new());
    };
    let Value::Object(map) = v else {
        return Err(ModuleError::Args(
            "argument `headers` must be a mapping of header names to values".into(),
        ));
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(ModuleError::Args(format!(
                    "argument `headers`: the value of `{k}` must be text"
                )))
            }
        };
        if k.is_empty() || k.contains([':', ' ', '\r', '\n']) || text.contains(['\r', '\n']) {
            return Err(ModuleError::Args(format!(
                "argument `headers`: `{k}` is not a valid header (no colon, space or line break in the name, no line break in the value)"
            )));
        }
        out.push((k.clone(), text));
    }
    Ok(out)
}

pub(crate) fn curl_header_args(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .map(|(k, v)| format!(" -H {}", shell::quote(&format!("{k}: {v}"))))
        .collect()
}

/// A URL the net modules fetch: http or https, on one line. Other schemes
/// curl knows (`file://`, `ftp://`, `scp://`...) are refused: Ansible's
/// uri is an HTTP client, and a `file://` URL would read (and, on failure,
/// print) a file of the host. A difference for get_url, whose Ansible
/// version also takes ftp:// and file:// (listed in the README).
pub(crate) fn check_url(url: &str) -> Result<(), ModuleError> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https") if !url.contains(['\n', '\r', ' ']) => Ok(()),
        Some(other) if !other.is_empty() && !matches!(other, "http" | "https") => {
            Err(ModuleError::Args(format!(
                "argument `url`: the `{other}://` scheme is not supported, only http:// and https:// (to read a file of the host use `slurp` or `fetch`, to copy one `copy` with `remote_src`)"
            )))
        }
        _ => Err(ModuleError::Args(format!(
            "argument `url` must be an http:// or https:// URL without spaces, not `{}`",
            excerpt(url, 200)
        ))),
    }
}

/// curl options keeping every request and redirect on http(s), whatever
/// a server redirects to.
pub(crate) const CURL_PROTO: &str = "--proto =http,https --proto-redir =http,https";

/// `text` for a failure message: at most `max` bytes (cut at a character
/// boundary), then `… N more bytes`, so a large body cannot flood the
/// report. The registered `content` keeps the whole body.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… {} more bytes", &text[..cut], text.len() - cut)
}

/// A request timeout in whole seconds (curl `--max-time`).
pub(crate) fn timeout(r: &ArgReader<'_>, default: u64) -> Result<u64, ModuleError> {
    Ok(r.integer("timeout", 1..=86_400)?
        .map(|t| t as u64)
        .unwrap_or(default))
}

/// Shell functions shared by get_url and uri. `_curl_ok CODE` fails with
/// `curl` when curl exited non-zero (its own message is on stderr), and
/// `_place TMP` moves a fully written temporary file to `$_d`, keeping an
/// existing file's mode and ownership (or the umask's mode for a new file),
/// then applies the requested attributes (`_attrs`, setting `_ac`).
pub(crate) const NET_LIB: &str = r#"_place() {
  if [ "$_e" = 1 ]; then
    chmod -- "00$_m" "$1" && { chown -- "+$_u:+$_g" "$1" 2>/dev/null || :; }
  else
    chmod -- "$(printf %o $((0666 & ~0$(umask))))" "$1"
  fi || _fail chmod
  mv -f -- "$1" "$_d" || _fail rename
  _stat "$_d" || _fail stat
  _attrs "$_d" "$_mo" "$_ow" "$_gr"
}
"#;

/// Messages for the `_fail` codes the net modules share.
pub(crate) fn failure(code: &str, url: &str, dest: &str) -> Option<String> {
    Some(match code {
        "no_curl" => "curl not found on host; install curl (the request runs on the host)".into(),
        "curl" => format!("request to {url} failed (curl)"),
        "tmp" => format!("cannot create a temporary file next to {dest}"),
        "nodir" => format!("destination directory of {dest} does not exist"),
        "isdir" => format!("{dest} is a directory"),
        _ => return None,
    })
}

/// `application/x-www-form-urlencoded`, as Python's `urlencode` (spaces as
/// `+`; letters, digits and `_.-~` kept).
pub(crate) fn form_urlencode(pairs: &[(String, String)]) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
pub(crate) mod test_server;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_matches_pythons_urlencode() {
        let pairs = vec![
            ("name".to_string(), "a b&c=d".to_string()),
            ("é".to_string(), "~x_y.z-".to_string()),
        ];
        assert_eq!(form_urlencode(&pairs), "name=a+b%26c%3Dd&%C3%A9=~x_y.z-");
    }

    #[test]
    fn urls_must_have_a_known_scheme() {
        assert!(check_url("http://127.0.0.1/x").is_ok());
        assert!(check_url("gopher://x").is_err());
        assert!(check_url("127.0.0.1/x").is_err());
        assert!(check_url("http://x/a b").is_err());
        assert!(check_url("HTTPS://x/").is_ok());
        for other in ["file:///etc/passwd", "ftp://x/f", "scp://x/f"] {
            let err = check_url(other).unwrap_err().to_string();
            assert!(err.contains("not supported, only http"), "{err}");
        }
    }

    #[test]
    fn excerpts_cap_long_text_at_a_character_boundary() {
        assert_eq!(excerpt("short", 1024), "short");
        let long = "é".repeat(1000); // 2000 bytes
        let cut = excerpt(&long, 1023);
        assert!(cut.starts_with(&"é".repeat(511)), "{cut}");
        assert!(cut.ends_with("… 978 more bytes"), "{cut}");
    }
}
