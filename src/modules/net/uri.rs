//! `uri`: an HTTP request from the host with its curl, as Ansible's
//! `ansible.builtin.uri`.
//!
//! `changed` is false, as in Ansible: a request is not a change baton can
//! see, except when `dest` is written (changed when its content differs).
//! The module is skipped in check mode, as Ansible's (its check mode
//! support is none): a POST cannot be predicted. The status must be one of
//! `status_code` (default 200) or the task fails with the status and the
//! body. `json` is the parsed body when the response is JSON; `content` the
//! body when `return_content: yes`. Response headers are returned lower-case
//! with `-` as `_` (`content_type`), as Ansible returns them.
//!
//! Round trips: 1.

use serde_json::{Map, Value};

use super::{
    check_url, curl_header_args, excerpt, failure, form_urlencode, header_words, timeout,
    CURL_PROTO, NET_LIB,
};
use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::fileops::{self, Attrs, FILE_LIB};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Uri;

static SPEC: ModuleSpec = ModuleSpec {
    name: "uri",
    args: &[
        ArgSpec::required("url"),
        ArgSpec::optional("method"),
        ArgSpec::optional("body"),
        ArgSpec::optional("body_format").choices(&["raw", "json", "form-urlencoded"]),
        ArgSpec::optional("headers"),
        ArgSpec::optional("status_code"),
        ArgSpec::optional("return_content"),
        ArgSpec::optional("validate_certs"),
        ArgSpec::optional("timeout"),
        ArgSpec::optional("dest"),
        ArgSpec::optional("follow_redirects").choices(&["all", "safe", "none", "yes", "no"]),
        ArgSpec::optional("creates"),
        ArgSpec::optional("removes"),
        ArgSpec::optional("mode"),
        ArgSpec::optional("owner"),
        ArgSpec::optional("group"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: true,
    source_dir: None,
};

const BODY: &str = r#"command -v curl >/dev/null 2>&1 || _fail no_curl
if [ -n "$_cr" ] && [ -e "$_cr" ]; then _b done creates; exit 0; fi
if [ -n "$_rm" ] && [ ! -e "$_rm" ]; then _b done removes; exit 0; fi
_w=$(mktemp -d "${TMPDIR:-/tmp}/.baton-uri.XXXXXX") || _fail tmp
trap 'rm -rf -- "$_w"' EXIT
_body > "$_w/body" || _fail tmp
_x=$(_curl -D "$_w/head" -o "$_w/out" -w '%{http_code} %{num_redirects} %{url_effective}') || _fail curl
set -f; set -- $_x; set +f
_b status "$1"; _b redirects "$2"; _b url "$3"
_b begin head; cat "$_w/head"; _b end head
_ok=0
for _c in $_codes; do [ "$_c" = "$1" ] && _ok=1; done
if [ "$_ok" = 1 ] && [ -n "$_d" ]; then
  _e=0
  if [ -e "$_d" ]; then [ ! -d "$_d" ] || _fail isdir; _stat "$_d" || _fail stat; _e=1; fi
  _b dest "$_d"
  if [ "$_e" = 1 ] && cmp -s -- "$_w/out" "$_d"; then
    _attrs "$_d" "$_mo" "$_ow" "$_gr"; _b attrs "$_ac"; _b done same; exit 0
  fi
  case $_d in */*) _dir=${_d%/*} ;; *) _dir=. ;; esac
  [ -d "${_dir:-/}" ] || _fail nodir
  _tmp=$(mktemp "${_dir:-}/.baton-uri.XXXXXX") || _fail tmp
  cat -- "$_w/out" > "$_tmp" || { rm -f -- "$_tmp"; _fail write; }
  _place "$_tmp"
  _b done written; exit 0
fi
_b begin content; base64 < "$_w/out"; _b end content
_b done requested
"#;

struct Plan {
    url: String,
    codes: Vec<u16>,
    return_content: bool,
    dest: Option<String>,
    nonce: String,
}

impl Module for Uri {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let url = r.required_string("url")?;
        check_url(&url)?;
        let method = r
            .string("method")?
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ModuleError::Args(format!(
                "argument `method` must be an HTTP method such as GET or POST, not `{method}`"
            )));
        }
        let mut headers = header_words(&r)?;
        let format = r.choice("body_format")?.unwrap_or_else(|| "raw".into());
        let body = match r.value("body") {
            None => None,
            Some(v) => Some(encode_body(v, &format)?),
        };
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let ctype = match format.as_str() {
            "json" => Some("application/json"),
            "form-urlencoded" => Some("application/x-www-form-urlencoded"),
            _ => None,
        };
        if let (Some(ctype), true) = (ctype, !has("content-type")) {
            headers.push(("Content-Type".into(), ctype.into()));
        }
        let codes = status_codes(&r)?;
        let follow = match r.choice("follow_redirects")?.as_deref() {
            Some("all" | "yes") => true,
            Some("none" | "no") => false,
            // `safe`, the default: follow only for GET and HEAD.
            _ => matches!(method.as_str(), "GET" | "HEAD"),
        };
        let attrs = Attrs::from_args(&r)?;
        let dest = r.path("dest")?;
        let timeout = timeout(&r, 30)?;
        let validate_certs = r.bool("validate_certs", true)?;
        let return_content = r.bool("return_content", false)?;
        let (creates, removes) = (r.path("creates")?, r.path("removes")?);
        // Every argument is checked above, then nothing is sent: Ansible's
        // uri does not support check mode, so its action skips the task
        // (no request, no `dest`). `SPEC.skips_in_check_mode` only documents
        // this; the executor does not read it, so the module must stop here.
        if ctx.check_mode {
            return Ok(Step::Done(TaskResult::skipped(
                "remote module (uri) does not support check mode",
            )));
        }
        let mut s = prelude(ctx.nonce);
        s.push_str(FILE_LIB);
        s.push_str(NET_LIB);
        s.push_str(&format!(
            "_ck=0 _ac=0 _url={} _d={} _cr={} _rm={}\n_codes={}\n",
            shell::quote(&url),
            shell::quote(dest.as_deref().unwrap_or_default()),
            shell::quote(creates.as_deref().unwrap_or_default()),
            shell::quote(removes.as_deref().unwrap_or_default()),
            shell::quote(
                &codes
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ));
        s.push_str(&attrs.assignments());
        match &body {
            Some(b) => s.push_str(&format!("_body() {{ printf '%s' {}; }}\n", shell::quote(b))),
            None => s.push_str("_body() { :; }\n"),
        }
        let method_words = if method == "HEAD" {
            "-I".to_string()
        } else {
            format!("-X {}", shell::quote(&method))
        };
        s.push_str(&format!(
            "_curl() {{ curl -sS {p}{l}{k} --max-time {t} {m}{h}{d} \"$@\" -- \"$_url\"; }}\n",
            p = CURL_PROTO,
            l = if follow { " -L" } else { "" },
            k = if validate_certs { "" } else { " -k" },
            t = timeout,
            m = method_words,
            h = curl_header_args(&headers),
            d = if body.is_some() {
                " --data-binary @\"$_w/body\""
            } else {
                ""
            },
        ));
        s.push_str(BODY);
        let plan = Plan {
            url,
            codes,
            return_content,
            dest,
            nonce: ctx.nonce.to_string(),
        };
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| Step::Done(plan.interpret(out))),
        })
    }
}

/// The request body as text for its `body_format`.
fn encode_body(v: &Value, format: &str) -> Result<String, ModuleError> {
    match (format, v) {
        ("json", Value::String(s)) => Ok(s.clone()),
        ("json", other) => Ok(crate::pyformat::json_dumps(other, None, false)),
        ("form-urlencoded", Value::String(s)) => Ok(s.clone()),
        ("form-urlencoded", Value::Object(map)) => {
            let pairs: Vec<(String, String)> = map
                .iter()
                .map(|(k, v)| (k.clone(), scalar(v)))
                .collect();
            Ok(form_urlencode(&pairs))
        }
        ("form-urlencoded", Value::Array(items)) => {
            let mut pairs = Vec::new();
            for item in items {
                match item.as_array().map(Vec::as_slice) {
                    Some([k, v]) => pairs.push((scalar(k), scalar(v))),
                    _ => {
                        return Err(ModuleError::Args(
                            "argument `body` with body_format form-urlencoded must be a mapping or a list of [name, value] pairs".into(),
                        ))
                    }
                }
            }
            Ok(form_urlencode(&pairs))
        }
        (_, Value::String(s)) => Ok(s.clone()),
        (_, Value::Number(n)) => Ok(n.to_string()),
        _ => Err(ModuleError::Args(
            "argument `body` is a mapping or list: give `body_format: json` or `form-urlencoded`, or a string".into(),
        )),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        other => other.to_string(),
    }
}

/// `status_code`: one code or a list, as numbers or numeric strings.
fn status_codes(r: &ArgReader<'_>) -> Result<Vec<u16>, ModuleError> {
    let Some(list) = r.string_list("status_code")? else {
        return Ok(vec![200]);
    };
    list.iter()
        .map(|c| {
            c.trim()
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(|| {
                    ModuleError::Args(format!(
                        "argument `status_code`: `{c}` is not an HTTP status (100 to 599)"
                    ))
                })
        })
        .collect()
}

/// The last header block of `curl -D` (after redirects), as Ansible's
/// lower-case, underscore names.
fn response_headers(head: &str) -> Map<String, Value> {
    let block = head
        .split("\r\n\r\n")
        .flat_map(|b| b.split("\n\n"))
        .filter(|b| b.trim_start().starts_with("HTTP/"))
        .last()
        .unwrap_or("");
    let mut out = Map::new();
    for line in block.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            let key = k.trim().to_ascii_lowercase().replace('-', "_");
            out.insert(key, Value::String(v.trim().to_string()));
        }
    }
    out
}

/// A `Location` header made absolute against the requested URL, as Ansible's
/// uri (`absolute_location`): kept when it has a scheme, joined to the URL's
/// `scheme://authority` when it starts with `/`, else to the URL's directory
/// (the URL without its query, fragment and last path segment).
fn absolute_location(url: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    format!("{scheme}://{authority}{dir}/{location}")
}

impl Plan {
    fn interpret(self, out: &crate::transport::ExecOutput) -> TaskResult {
        let answer = Answer::parse(out, &self.nonce);
        let dest = self.dest.clone().unwrap_or_default();
        let mut data = Map::new();
        data.insert("url".into(), Value::String(self.url.clone()));
        if let Some(code) = answer.failure() {
            let msg = match code {
                "curl" => format!(
                    "Status code was -1 and not {:?}: request to {} failed (curl)",
                    self.codes, self.url
                ),
                code => failure(code, &self.url, &dest)
                    .unwrap_or_else(|| fileops::failure_message(code, &dest)),
            };
            let mut r = answer.failed_with(msg);
            data.insert("status".into(), Value::from(-1));
            r.data = data;
            return r;
        }
        let done = answer.get("done").unwrap_or_default();
        if matches!(done, "creates" | "removes") {
            let mut r = TaskResult::ok().with_msg(match done {
                "creates" => "skipped, since the `creates` path exists",
                _ => "skipped, since the `removes` path does not exist",
            });
            r.data = data;
            return r;
        }
        let Some(status) = answer.get("status").and_then(|s| s.parse::<u16>().ok()) else {
            return answer.unexpected();
        };
        if let Some(head) = answer.block("head") {
            data.extend(response_headers(head));
        }
        if let Some(Value::String(location)) = data.get_mut("location") {
            *location = absolute_location(&self.url, location);
        }
        data.insert("status".into(), Value::from(status));
        if let Some(u) = answer.get("url") {
            data.insert("url".into(), Value::String(u.to_string()));
        }
        data.insert(
            "redirected".into(),
            Value::Bool(answer.get("redirects").is_some_and(|n| n != "0")),
        );
        let body = answer.block_bytes("content").unwrap_or_default();
        let text = String::from_utf8_lossy(&body).into_owned();
        let is_json = data
            .get("content_type")
            .and_then(Value::as_str)
            .is_some_and(|c| c.contains("json"));
        if is_json {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                data.insert("json".into(), v);
            }
        }
        if self.return_content {
            data.insert("content".into(), Value::String(text.clone()));
        }
        let mut result = match done {
            "requested" if !self.codes.contains(&status) => {
                // The body is quoted, capped: a large error page must not
                // flood the report (`content` keeps all of it).
                let mut r = TaskResult::failed(format!(
                    "Status code was {status} and not {:?}: {}",
                    self.codes,
                    excerpt(text.trim(), 1024)
                ));
                if !self.return_content {
                    data.insert("content".into(), Value::String(text));
                }
                r.data = data;
                return r;
            }
            "requested" => TaskResult::ok().with_msg(format!("OK ({} bytes)", body.len())),
            "same" if answer.flag("attrs") => TaskResult::changed(),
            "same" => TaskResult::ok(),
            "written" => TaskResult::changed(),
            _ => return answer.unexpected(),
        };
        if matches!(done, "same" | "written") {
            data.insert(
                "path".into(),
                Value::String(answer.get("dest").unwrap_or(&dest).to_string()),
            );
            result
                .msg
                .get_or_insert_with(|| format!("OK, saved to {dest}"));
        }
        result.data = data;
        result
    }
}

#[cfg(test)]
mod location_tests {
    use super::absolute_location;

    #[test]
    fn a_location_is_made_absolute_as_ansible_does() {
        let u = "http://h:8080/api/v1/items?page=2";
        assert_eq!(absolute_location(u, "https://o/x"), "https://o/x");
        assert_eq!(absolute_location(u, "/login"), "http://h:8080/login");
        assert_eq!(
            absolute_location(u, "item/3"),
            "http://h:8080/api/v1/item/3"
        );
        assert_eq!(absolute_location("http://h", "/a"), "http://h/a");
        assert_eq!(absolute_location("http://h", "a"), "http://h/a");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::net::test_server::{HttpServer, FILE_BODY};
    use crate::modules::Status;
    use serde_json::json;

    #[test]
    fn a_get_is_ok_and_returns_json_headers_and_content() {
        let server = HttpServer::start();
        let r = run(&Uri, json!({"url": server.url("/json")}), &Ctx::default());
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.data["status"], 200);
        assert_eq!(r.data["json"]["name"], "baton");
        assert_eq!(r.data["x_baton_test"], "yes");
        assert!(
            r.data.get("content").is_none(),
            "content without return_content"
        );
        let r = run(
            &Uri,
            json!({"url": server.url("/redirect"), "return_content": true}),
            &Ctx::default(),
        );
        assert_eq!(r.data["content"], FILE_BODY);
        assert_eq!(r.data["redirected"], true);
        assert!(r.data.get("json").is_none());
    }

    #[test]
    fn bodies_are_encoded_by_format_and_sent_with_their_type() {
        let server = HttpServer::start();
        let r = run(
            &Uri,
            json!({"url": server.url("/echo"), "method": "post", "body_format": "json",
                   "body": {"a": [1, "it's"]}, "headers": {"X-A": "b"}}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let echo = &r.data["json"];
        assert_eq!(echo["method"], "POST");
        assert_eq!(echo["body"], r#"{"a": [1, "it's"]}"#);
        assert_eq!(echo["headers"]["content-type"], "application/json");
        assert_eq!(echo["headers"]["x-a"], "b");
        let r = run(
            &Uri,
            json!({"url": server.url("/echo"), "method": "PUT", "body_format": "form-urlencoded",
                   "body": {"name": "a b", "q": "$(id)&"}}),
            &Ctx::default(),
        );
        assert_eq!(r.data["json"]["body"], "name=a+b&q=%24%28id%29%26");
        assert_eq!(
            r.data["json"]["headers"]["content-type"],
            "application/x-www-form-urlencoded"
        );
        let err = prepare_error(&Uri, json!({"url": "http://127.0.0.1/", "body": {"a": 1}}));
        assert!(err.contains("body_format"), "{err}");
    }

    #[test]
    fn an_unexpected_status_fails_and_status_code_lists_accept() {
        let server = HttpServer::start();
        let r = run(
            &Uri,
            json!({"url": server.url("/status/404")}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        assert!(
            r.msg
                .as_deref()
                .unwrap()
                .starts_with("Status code was 404 and not [200]"),
            "{r:?}"
        );
        assert_eq!(r.data["status"], 404);
        let r = run(
            &Uri,
            json!({"url": server.url("/status/404"), "status_code": [200, "404"]}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let r = run(
            &Uri,
            json!({"url": server.url("/redirect"), "follow_redirects": "none", "status_code": 302}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok, "{r:?}");
        // The server says `Location: /file`; Ansible returns it absolute.
        assert_eq!(r.data["location"], server.url("/file"), "{r:?}");
        assert!(
            prepare_error(&Uri, json!({"url": "http://x/", "status_code": "abc"}))
                .contains("status_code")
        );
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let r = run(
            &Uri,
            json!({"url": format!("http://127.0.0.1:{port}/")}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        assert!(
            r.msg.unwrap().contains("curl:"),
            "curl's own complaint is quoted"
        );
    }

    #[test]
    fn a_large_failure_body_is_quoted_capped() {
        let server = HttpServer::start();
        let big = "x".repeat(5000);
        let r = run(
            &Uri,
            json!({"url": server.url("/echo"), "method": "POST", "body": big, "status_code": 201}),
            &Ctx::default(),
        );
        assert!(r.is_failed(), "{r:?}");
        let msg = r.msg.as_deref().unwrap();
        assert!(
            msg.starts_with("Status code was 200 and not [201]"),
            "{msg}"
        );
        assert!(msg.len() < 1200 && msg.contains(" more bytes"), "{msg}");
        assert!(
            r.data["content"].as_str().unwrap().contains(&big),
            "content keeps the whole body"
        );
    }

    #[test]
    fn dest_is_written_once_then_ok() {
        let server = HttpServer::start();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("saved");
        let args = json!({"url": server.url("/file"), "dest": dest, "mode": "0600"});
        let first = run(&Uri, args.clone(), &Ctx::default());
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), FILE_BODY);
        assert_eq!(run(&Uri, args.clone(), &Ctx::default()).status, Status::Ok);
        let flag = dir.path().join("saved");
        let r = run(
            &Uri,
            json!({"url": server.url("/status/500"), "creates": flag}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok, "creates skips the request: {r:?}");
        assert!(
            SPEC.skips_in_check_mode,
            "uri is skipped in check mode, as in Ansible"
        );
    }

    #[test]
    fn check_mode_skips_without_a_request_or_a_dest() {
        let server = HttpServer::start();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("saved");
        let check = Ctx {
            check: true,
            ..Ctx::default()
        };
        for args in [
            json!({"url": server.url("/file"), "dest": dest}),
            json!({"url": server.url("/echo"), "method": "POST", "body": "x", "return_content": true}),
        ] {
            let r = run(&Uri, args, &check);
            assert_eq!(r.status, Status::Skipped, "{r:?}");
            assert!(r.msg.as_deref().unwrap().contains("check mode"), "{r:?}");
            assert!(r.data.get("json").is_none(), "no request was sent: {r:?}");
        }
        assert!(!dest.exists(), "check mode wrote dest");
        assert_eq!(server.hits(), 0, "check mode sent a request");
        // Bad arguments still fail before the skip.
        let r = run(&Uri, json!({"url": "file:///etc/passwd"}), &check);
        assert!(r.msg.unwrap().contains("`file://` scheme is not supported"));
        let r = run(
            &Uri,
            json!({"url": "http://x/", "status_code": "abc"}),
            &check,
        );
        assert!(r.is_failed() && r.msg.unwrap().contains("status_code"));
    }
}
