//! `get_url`: download a URL to a file on the host with the host's curl, as
//! Ansible's `ansible.builtin.get_url`.
//!
//! `changed` rules (Ansible's): an existing `dest` is left alone unless
//! `force: yes` or a `checksum` it does not match; otherwise the download
//! goes to a temporary file next to `dest` and replaces it only when the
//! content differs. A `checksum` (`ALGORITHM:HEX`) is verified on the
//! download before anything is replaced. Check mode downloads to a
//! temporary file in `$TMPDIR` (never next to `dest`) and reports whether
//! `dest` would change.
//!
//! Round trips: 1.

use serde_json::Value;

use super::{check_url, curl_header_args, failure, header_words, timeout, CURL_PROTO, NET_LIB};
use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::fileops::{self, Attrs, FILE_LIB};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct GetUrl;

static SPEC: ModuleSpec = ModuleSpec {
    name: "get_url",
    args: &[
        ArgSpec::required("url"),
        ArgSpec::required("dest"),
        ArgSpec::optional("checksum"),
        ArgSpec::optional("force"),
        ArgSpec::optional("timeout"),
        ArgSpec::optional("headers"),
        ArgSpec::optional("validate_certs"),
        ArgSpec::optional("mode"),
        ArgSpec::optional("owner"),
        ArgSpec::optional("group"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

const ALGORITHMS: &[(&str, usize)] = &[
    ("md5", 32),
    ("sha1", 40),
    ("sha224", 56),
    ("sha256", 64),
    ("sha384", 96),
    ("sha512", 128),
];

const BODY: &str = r#"command -v curl >/dev/null 2>&1 || _fail no_curl
_sum() { _x=$("${_alg}sum" < "$1") || _fail read; printf '%s' "${_x%% *}"; }
# Download into directory $1 (check mode: into $TMPDIR): _tmp, _hdr, _eff.
_get() {
  if [ "$_ck" = 1 ]; then
    _tmp=$(mktemp "${TMPDIR:-/tmp}/.baton-get_url.XXXXXX") || _fail tmp
  else
    [ -d "$1" ] || _fail nodir
    _tmp=$(mktemp "$1/.baton-get_url.XXXXXX") || _fail tmp
  fi
  _hdr=$(mktemp "${TMPDIR:-/tmp}/.baton-get_url-h.XXXXXX") || { rm -f -- "$_tmp"; _fail tmp; }
  trap 'rm -f -- "$_tmp" "$_hdr"' EXIT
  _code=$(_curl -o "$_tmp" -D "$_hdr" -w '%{http_code} %{url_effective}') || _fail curl
  _eff=${_code#* }; _code=${_code%% *}
  _b status_code "$_code"
  case $_code in 2??) ;; 000) [ "${_url%%://*}" = file ] || _fail http ;; *) _fail http ;; esac
}
# Ansible's name for a download into a directory: the last response's
# Content-Disposition (`attachment; filename="NAME"`, its basename), else the
# last path segment of the URL after redirects, else index.html.
_name() {
  _n=$(tr -d '\r' < "$_hdr" | awk '/^HTTP\// { cd = "" } tolower($0) ~ /^content-disposition:/ { sub(/^[^:]*:[ \t]*/, ""); cd = $0 } END { print cd }' |
    sed -n 's/^attachment; \{0,1\}filename="\{0,1\}\([^"]\{1,\}\).*/\1/p')
  _n=${_n##*/}
  case $_n in ''|.|..)
    _n=${_eff#*://}; _n=${_n%%[?#]*}
    case $_n in */*) _n=${_n##*/} ;; *) _n= ;; esac ;;
  esac
  case $_n in ''|.|..) _n=index.html ;; esac
}
_got=0
if [ -d "$_d" ]; then
  # The name comes with the answer, so the download comes first; the file
  # is then replaced whenever its content differs, as Ansible does.
  _d=${_d%/}; [ -n "$_d" ] || _d=/
  _get "$_d"; _got=1; _name
  _d="${_d%/}/$_n"; _fo=1
fi
_b dest "$_d"
_e=0
if [ -e "$_d" ]; then
  [ ! -d "$_d" ] || _fail isdir
  _stat "$_d" || _fail stat
  _e=1
fi
if [ "$_e" = 1 ] && [ "$_fo" != 1 ]; then
  if [ -z "$_alg" ] || [ "$(_sum "$_d")" = "$_want" ]; then
    _attrs "$_d" "$_mo" "$_ow" "$_gr"
    _b attrs "$_ac"; _b done exists; exit 0
  fi
fi
case $_d in */*) _dir=${_d%/*} ;; *) _dir=. ;; esac
[ -n "$_dir" ] || _dir=/
[ "$_got" = 1 ] || _get "$_dir"
if [ -n "$_alg" ]; then
  _got=$(_sum "$_tmp")
  [ "$_got" = "$_want" ] || { _b got "$_got"; _fail checksum; }
fi
_x=$(wc -c < "$_tmp") && _b size "${_x## }"
_x=$(sha1sum < "$_tmp") && _b checksum_src "${_x%% *}"
if [ "$_e" = 1 ]; then
  _x=$(sha1sum < "$_d") && _b checksum_dest "${_x%% *}"
  if cmp -s -- "$_tmp" "$_d"; then
    _attrs "$_d" "$_mo" "$_ow" "$_gr"
    _b attrs "$_ac"; _b done same; exit 0
  fi
fi
if [ "$_ck" = 1 ]; then _b done would; exit 0; fi
_place "$_tmp"
[ -z "$_ach" ] || _stat "$_d" || _fail stat
_b mode "$_m"; _b owner "$_U"; _b group "$_G"
_b done written
"#;

impl Module for GetUrl {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let url = r.required_string("url")?;
        check_url(&url)?;
        let dest = r.required_path("dest")?;
        let attrs = Attrs::from_args(&r)?;
        let force = r.bool("force", false)?;
        let validate_certs = r.bool("validate_certs", true)?;
        let timeout = timeout(&r, 10)?;
        let headers = header_words(&r)?;
        let (alg, want) = match r.string("checksum")?.filter(|c| !c.is_empty()) {
            None => (String::new(), String::new()),
            Some(c) => parse_checksum(&c)?,
        };
        let mut s = prelude(ctx.nonce);
        s.push_str(FILE_LIB);
        s.push_str(NET_LIB);
        s.push_str(&format!(
            "_ck={} _ac=0 _fo={} _alg={} _want={}\n_url={} _d={}\n",
            u8::from(ctx.check_mode),
            u8::from(force),
            shell::quote(&alg),
            shell::quote(&want),
            shell::quote(&url),
            shell::quote(&dest),
        ));
        s.push_str(&attrs.assignments());
        s.push_str(&format!(
            "_curl() {{ curl -sS {CURL_PROTO} -L{k} --max-time {timeout}{h} \"$@\" -- \"$_url\"; }}\n",
            k = if validate_certs { "" } else { " -k" },
            h = curl_header_args(&headers),
        ));
        s.push_str(BODY);
        let nonce = ctx.nonce.to_string();
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                Step::Done(interpret(out, &nonce, &url, &dest, &alg, &want))
            }),
        })
    }
}

/// `ALGORITHM:HEX`, as Ansible's `checksum` (a URL for the digest is not supported).
fn parse_checksum(c: &str) -> Result<(String, String), ModuleError> {
    let Some((alg, hex)) = c.split_once(':') else {
        return Err(ModuleError::Args(format!(
            "argument `checksum` must be `ALGORITHM:HEX` (e.g. sha256:9f86d0…), not `{c}`"
        )));
    };
    let alg = alg.trim().to_ascii_lowercase();
    let hex = hex.trim().to_ascii_lowercase();
    if hex.contains("://") {
        return Err(ModuleError::Args(
            "argument `checksum`: a URL to a checksum file is not supported by baton; give the digest itself".into(),
        ));
    }
    let Some((_, len)) = ALGORITHMS.iter().find(|(a, _)| *a == alg) else {
        let names: Vec<&str> = ALGORITHMS.iter().map(|(a, _)| *a).collect();
        return Err(ModuleError::Args(format!(
            "argument `checksum`: algorithm `{alg}` is not one of {}",
            names.join(", ")
        )));
    };
    if hex.len() != *len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ModuleError::Args(format!(
            "argument `checksum`: a {alg} digest is {len} hexadecimal digits, got `{hex}`"
        )));
    }
    Ok((alg, hex))
}

fn interpret(
    out: &crate::transport::ExecOutput,
    nonce: &str,
    url: &str,
    dest: &str,
    alg: &str,
    want: &str,
) -> TaskResult {
    let answer = Answer::parse(out, nonce);
    let dest = answer.get("dest").unwrap_or(dest).to_string();
    let mut data = serde_json::Map::new();
    data.insert("url".into(), Value::String(url.to_string()));
    data.insert("dest".into(), Value::String(dest.clone()));
    if let Some(code) = answer
        .get("status_code")
        .and_then(|c| c.parse::<u16>().ok())
    {
        data.insert("status_code".into(), Value::from(code));
    }
    if let Some(code) = answer.failure() {
        let msg = match code {
            "http" => format!(
                "Request failed: {url} answered HTTP {}",
                answer.get("status_code").unwrap_or("?")
            ),
            "checksum" => format!(
                "The checksum for {dest} did not match {want}; it was: {} ({alg}); {dest} is unchanged",
                answer.get("got").unwrap_or("?")
            ),
            code => failure(code, url, &dest).unwrap_or_else(|| fileops::failure_message(code, &dest)),
        };
        let mut r = answer.failed_with(msg);
        r.data = data;
        return r;
    }
    let done = answer.get("done").unwrap_or_default();
    let mut result = match done {
        "exists" | "same" if answer.flag("attrs") => TaskResult::changed(),
        "exists" => TaskResult::ok().with_msg(format!("file already exists: {dest}")),
        "same" => TaskResult::ok(),
        "would" => TaskResult::changed().with_msg(format!(
            "check mode: {dest} would be replaced by the download"
        )),
        "written" => TaskResult::changed(),
        _ => return answer.unexpected(),
    };
    if let Some(size) = answer
        .get("size")
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        data.insert("size".into(), Value::from(size));
        if result.msg.is_none() {
            result.msg = Some(format!("OK ({size} bytes)"));
        }
    }
    for key in ["checksum_src", "checksum_dest", "owner", "group"] {
        if let Some(v) = answer.get(key).filter(|v| !v.is_empty()) {
            data.insert(key.into(), Value::String(v.to_string()));
        }
    }
    if let Some(mode) = answer.get("mode").filter(|m| !m.is_empty()) {
        data.insert("mode".into(), Value::String(fileops::display_mode(mode)));
    }
    result.data = data;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, run_with_env, Ctx};
    use crate::modules::net::test_server::{HttpServer, FILE_BODY};
    use crate::modules::Status;
    use serde_json::json;
    use sha2::Digest;

    #[test]
    fn downloads_once_then_leaves_the_file_alone() {
        let server = HttpServer::start();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("payload.txt");
        let args = json!({"url": server.url("/file"), "dest": dest, "mode": "0640"});
        let dry = run(
            &GetUrl,
            args.clone(),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert!(!dest.exists(), "check mode wrote the file");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "check mode left a file"
        );
        let first = run(&GetUrl, args.clone(), &Ctx::default());
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), FILE_BODY);
        assert_eq!(first.data["status_code"], 200);
        assert_eq!(first.data["mode"], "0640");
        let hits = server.hits();
        let second = run(&GetUrl, args.clone(), &Ctx::default());
        assert_eq!(second.status, Status::Ok, "{second:?}");
        assert_eq!(server.hits(), hits, "force: no downloaded an existing file");
        // force: yes downloads; same content is ok, new content is changed.
        let forced =
            json!({"url": server.url("/file"), "dest": dest, "force": true, "mode": "0640"});
        assert_eq!(run(&GetUrl, forced, &Ctx::default()).status, Status::Ok);
        assert!(server.hits() > hits);
        let other = json!({"url": server.url("/file?v=2"), "dest": dest, "force": "yes"});
        let dry = run(
            &GetUrl,
            other.clone(),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), FILE_BODY);
        assert!(run(&GetUrl, other, &Ctx::default()).is_changed());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "variant v=2\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o640,
            "the replaced file kept its mode"
        );
    }

    #[test]
    fn a_checksum_decides_and_is_verified() {
        let server = HttpServer::start();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("p");
        let good = format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(FILE_BODY.as_bytes()))
        );
        let bad = format!("sha256:{}", "0".repeat(64));
        let r = run(
            &GetUrl,
            json!({"url": server.url("/file"), "dest": dest, "checksum": bad}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        assert!(r.msg.as_deref().unwrap().contains("did not match"), "{r:?}");
        assert!(!dest.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary file left"
        );
        // An existing file with the wrong content is replaced when a checksum is given.
        std::fs::write(&dest, "stale\n").unwrap();
        let args = json!({"url": server.url("/file"), "dest": dest, "checksum": good});
        assert!(run(&GetUrl, args.clone(), &Ctx::default()).is_changed());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), FILE_BODY);
        let hits = server.hits();
        assert_eq!(run(&GetUrl, args, &Ctx::default()).status, Status::Ok);
        assert_eq!(
            server.hits(),
            hits,
            "a matching checksum skips the download"
        );
        for (c, what) in [
            ("sha256:abc", "64 hexadecimal"),
            ("crc32:00", "not one of"),
            ("nocolon", "ALGORITHM:HEX"),
        ] {
            let err = prepare_error(
                &GetUrl,
                json!({"url": "http://127.0.0.1/x", "dest": "/tmp/x", "checksum": c}),
            );
            assert!(err.contains(what), "{c}: {err}");
        }
        // Only http(s): a file:// URL would copy (and quote) a host file.
        let err = prepare_error(
            &GetUrl,
            json!({"url": "file:///etc/passwd", "dest": "/tmp/x"}),
        );
        assert!(err.contains("`file://` scheme is not supported"), "{err}");
    }

    #[test]
    fn a_directory_dest_takes_the_url_name_and_headers_are_sent() {
        let server = HttpServer::start();
        let dir = tempfile::tempdir().unwrap();
        let r = run(
            &GetUrl,
            json!({"url": server.url("/echo"), "dest": dir.path(), "headers": {"X-Token": "it's $(x)"}}),
            &Ctx::default(),
        );
        assert!(r.is_changed(), "{r:?}");
        let got: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("echo")).unwrap())
                .unwrap();
        assert_eq!(got["headers"]["x-token"], "it's $(x)");
    }

    /// Into a directory, the name is Ansible's: Content-Disposition's
    /// filename (its basename), else the URL after redirects, else
    /// index.html; the same content again is ok.
    #[test]
    fn a_directory_dest_is_named_after_the_final_url_or_content_disposition() {
        let server = HttpServer::start();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let redirected = json!({"url": server.url("/redirect"), "dest": d});
        let dry = run(
            &GetUrl,
            redirected.clone(),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert!(dry.is_changed(), "{dry:?}");
        assert_eq!(dry.data["dest"], d.join("file").to_str().unwrap());
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 0, "check mode wrote");
        let r = run(&GetUrl, redirected.clone(), &Ctx::default());
        assert!(r.is_changed(), "{r:?}");
        assert_eq!(r.data["dest"], d.join("file").to_str().unwrap());
        assert_eq!(std::fs::read_to_string(d.join("file")).unwrap(), FILE_BODY);
        assert!(!d.join("redirect").exists());
        let again = run(&GetUrl, redirected, &Ctx::default());
        assert_eq!(again.status, Status::Ok, "{again:?}");
        let r = run(
            &GetUrl,
            json!({"url": server.url("/attachment"), "dest": format!("{}/", d.display())}),
            &Ctx::default(),
        );
        assert!(r.is_changed(), "{r:?}");
        assert_eq!(r.data["dest"], d.join("report.csv").to_str().unwrap());
        assert_eq!(
            std::fs::read_to_string(d.join("report.csv")).unwrap(),
            "a,b\n"
        );
        let r = run(
            &GetUrl,
            json!({"url": server.url("/dir/?x=1"), "dest": d}),
            &Ctx::default(),
        );
        assert_eq!(
            r.data["dest"],
            d.join("index.html").to_str().unwrap(),
            "{r:?}"
        );
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "temporary files left: {names:?}");
    }

    #[test]
    fn http_errors_curl_errors_and_a_missing_curl_fail_closed() {
        let server = HttpServer::start();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x");
        let r = run(
            &GetUrl,
            json!({"url": server.url("/status/404"), "dest": dest}),
            &Ctx::default(),
        );
        assert!(
            r.msg.as_deref().unwrap().contains("answered HTTP 404"),
            "{r:?}"
        );
        assert_eq!(r.data["status_code"], 404);
        assert!(!dest.exists());
        // A port nobody listens on: curl's own words are quoted.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let r = run(
            &GetUrl,
            json!({"url": format!("http://127.0.0.1:{port}/x"), "dest": dest}),
            &Ctx::default(),
        );
        let msg = r.msg.unwrap();
        assert!(
            msg.contains("failed (curl)") && msg.contains("curl:"),
            "{msg}"
        );
        let r = run(
            &GetUrl,
            json!({"url": server.url("/slow"), "dest": dest, "timeout": 1}),
            &Ctx::default(),
        );
        assert!(r.is_failed() && r.msg.unwrap().contains("imed out"));
        // No curl on PATH.
        let bin = tempfile::tempdir().unwrap();
        for tool in ["/bin/sh", "/bin/cat"] {
            std::os::unix::fs::symlink(tool, bin.path().join(&tool[5..])).unwrap();
        }
        let path = bin.path().display().to_string();
        let r = run_with_env(
            &GetUrl,
            json!({"url": server.url("/file"), "dest": dest}),
            &Ctx::default(),
            &[("PATH", path.as_str())],
        );
        assert!(
            r.msg
                .as_deref()
                .unwrap_or_default()
                .starts_with("curl not found on host"),
            "{r:?}"
        );
    }
}
