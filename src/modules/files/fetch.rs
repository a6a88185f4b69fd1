//! `fetch`: copy a file from the host to the controller, as Ansible's
//! `ansible.builtin.fetch` does. The local file is
//! `DEST/<inventory_hostname>/<src>` (so each host gets its own copy), or
//! with `flat: true` `DEST` itself (`DEST/` + the file's name when `dest`
//! ends in `/`). A relative `dest` is relative to the playbook's directory.
//!
//! Changed rules (Ansible's): changed when the local file was missing or its
//! sha1 differed from the host's; ok otherwise. A missing remote file fails
//! ("the remote file does not exist") unless `fail_on_missing: false`, which
//! makes it ok with Ansible's "not transferring, ignored". With
//! `validate_checksum` (the default) the received bytes must have the sha1
//! the host computed, or nothing is written ("checksum mismatch"). The local
//! file is replaced atomically (a temporary file in its directory and a
//! rename). Under `--check` nothing is written; the result says whether it
//! would change (Ansible's fetch writes the controller's copy even then).
//!
//! Round trips: 1. The controller sends the local copy's sha1; the host sends
//! the content only when its sha1 differs.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::fileops;
use crate::modules::{
    ArgSpec, Args, FileDiff, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Fetch;

static SPEC: ModuleSpec = ModuleSpec {
    name: "fetch",
    args: &[
        ArgSpec::required("src"),
        ArgSpec::required("dest"),
        ArgSpec::optional("flat"),
        ArgSpec::optional("fail_on_missing"),
        ArgSpec::optional("validate_checksum"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    // fetch reads no controller-side `src`, but a relative `dest` is
    // relative to the playbook's directory (Ansible's `path_dwim`), and the
    // executor gives the search paths (the playbook's last) only to modules
    // with a `source_dir`.
    source_dir: Some(""),
};

/// Where the fetched copy of `src` from `host` goes on the controller.
pub(crate) fn local_dest(dest: &str, src: &str, host: &str, flat: bool, base: &Path) -> PathBuf {
    let joined = if flat {
        if dest.ends_with('/') {
            let name = src.rsplit('/').next().unwrap_or(src);
            format!("{dest}{name}")
        } else {
            dest.to_string()
        }
    } else {
        let mut p = format!("{dest}/{host}/{src}");
        while p.contains("//") {
            p = p.replace("//", "/");
        }
        p
    };
    let path = PathBuf::from(joined);
    if path.is_absolute() {
        path
    } else {
        base.join(path)
    }
}

fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

fn md5_hex(data: &[u8]) -> String {
    hex::encode(md5::Md5::digest(data))
}

impl Module for Fetch {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let src = r.required_path("src")?;
        let dest = r.required_path("dest")?;
        let flat = r.bool("flat", false)?;
        let fail_on_missing = r.bool("fail_on_missing", true)?;
        let validate = r.bool("validate_checksum", true)?;
        if src.ends_with('/') {
            return Err(ModuleError::Args(format!(
                "argument `src` names a directory (`{src}`); fetch copies one file"
            )));
        }
        let base = ctx
            .search_paths
            .last()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        let local = local_dest(&dest, &src, ctx.host, flat, &base);
        let shown = local.display().to_string();
        if local.is_dir() {
            return Err(ModuleError::Controller(format!(
                "dest {shown} is a directory on the controller; end `dest` with `/` (with flat: true) to fetch into it"
            )));
        }
        let old = match std::fs::read(&local) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(ModuleError::Controller(format!(
                    "cannot read the local copy {shown}: {e}"
                )))
            }
        };
        let local_sum = old.as_deref().map(sha1_hex).unwrap_or_default();
        let mut s = prelude(ctx.nonce);
        s.push_str(&format!(
            "_p={} _have={}\n",
            shell::quote(&src),
            shell::quote(&local_sum)
        ));
        s.push_str(
            r#"if [ ! -e "$_p" ]; then _b missing 1; _b done 1; exit 0; fi
[ ! -d "$_p" ] || _fail isdir
[ -r "$_p" ] || _fail read
"#,
        );
        s.push_str(&super::regular_file_check());
        s.push_str(
            r#"command -v sha1sum >/dev/null 2>&1 || _fail nosha1sum
_h=$(sha1sum < "$_p") || _fail read
_h=${_h%% *}
_b checksum "$_h"
if [ "$_h" != "$_have" ]; then _b begin content; base64 < "$_p" || _fail read; _b end content; fi
_b done 1
"#,
        );
        let nonce = ctx.nonce.to_string();
        let (check, diff) = (ctx.check_mode, ctx.diff);
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &nonce);
                let job = Job {
                    src,
                    local,
                    old,
                    fail_on_missing,
                    validate,
                    check,
                    diff,
                };
                Step::Done(job.finish(&answer))
            }),
        })
    }
}

struct Job {
    src: String,
    local: PathBuf,
    old: Option<Vec<u8>>,
    fail_on_missing: bool,
    validate: bool,
    check: bool,
    diff: bool,
}

impl Job {
    fn finish(self, answer: &Answer) -> TaskResult {
        let src = &self.src;
        let dest = self.local.display().to_string();
        if let Some(msg) = super::regular_file_failure(answer, "fetch", src) {
            return answer.failed_with(msg);
        }
        match answer.failure() {
            Some("isdir") => {
                return answer.failed_with(format!(
                    "remote file is a directory, fetch cannot work on directories: {src}"
                ))
            }
            Some("read") => {
                return answer.failed_with(format!("the remote file is not readable: {src}"))
            }
            Some("nosha1sum") => {
                return answer.failed_with(
                    "`sha1sum` is missing on the host; fetch compares the files by sha1 (install coreutils)",
                )
            }
            Some(other) => return answer.failed_with(format!("{src}: the host reported `{other}`")),
            None => {}
        }
        if answer.get("done") != Some("1") {
            return answer.unexpected();
        }
        let mut result = if answer.flag("missing") {
            let mut r = if self.fail_on_missing {
                TaskResult::failed("the remote file does not exist")
            } else {
                TaskResult::ok()
                    .with_msg("the remote file does not exist, not transferring, ignored")
            };
            r.data.insert("file".into(), Value::String(src.clone()));
            return r;
        } else {
            let Some(remote_sum) = answer.get("checksum").map(str::to_string) else {
                return answer.unexpected();
            };
            match answer.block("content") {
                // The host found the same sha1 as the local copy.
                None => match &self.old {
                    Some(old) if sha1_hex(old) == remote_sum => {
                        let mut r = TaskResult::ok();
                        r.data.insert("checksum".into(), Value::String(remote_sum));
                        r.data.insert("md5sum".into(), Value::String(md5_hex(old)));
                        r
                    }
                    _ => return answer.unexpected(),
                },
                Some(_) => {
                    let Some(bytes) = answer.block_bytes("content") else {
                        return answer.failed_with(format!(
                            "the host's base64 output for {src} does not decode"
                        ));
                    };
                    let got = sha1_hex(&bytes);
                    if self.validate && got != remote_sum {
                        let mut r = TaskResult::failed("checksum mismatch");
                        r.data.insert("checksum".into(), Value::String(got));
                        r.data
                            .insert("remote_checksum".into(), Value::String(remote_sum));
                        r.data.insert("file".into(), Value::String(src.clone()));
                        r.data.insert("dest".into(), Value::String(dest));
                        return r;
                    }
                    if !self.check {
                        if let Err(e) = write_atomic(&self.local, &bytes) {
                            return TaskResult::failed(format!(
                                "cannot write the fetched copy {dest}: {e}"
                            ));
                        }
                    }
                    let mut r = TaskResult::changed();
                    if self.diff {
                        r.diff.push(FileDiff {
                            path: dest.clone(),
                            before: self
                                .old
                                .as_deref()
                                .map(fileops::diff_side)
                                .unwrap_or_default(),
                            after: fileops::diff_side(&bytes),
                        });
                    }
                    r.data.insert("checksum".into(), Value::String(got));
                    r.data
                        .insert("remote_checksum".into(), Value::String(remote_sum));
                    r.data
                        .insert("md5sum".into(), Value::String(md5_hex(&bytes)));
                    r
                }
            }
        };
        result
            .data
            .insert("file".into(), Value::String(src.clone()));
        result.data.insert("dest".into(), Value::String(dest));
        result
    }
}

/// Replace `path` with `data` through a temporary file in its directory.
fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".baton.")
        .tempfile_in(&dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    // As Ansible writes it: the umask's default mode, not the temp file's 0600.
    let umask = process_umask();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o666 & !umask))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The process umask, read from /proc (no call that changes it).
fn process_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    #[test]
    fn dest_is_per_host_unless_flat() {
        let base = Path::new("/play");
        assert_eq!(
            local_dest("out", "/etc/hvr/hvr.conf", "bc1", false, base),
            PathBuf::from("/play/out/bc1/etc/hvr/hvr.conf")
        );
        assert_eq!(
            local_dest("/tmp/out/", "/etc/x", "bc1", false, base),
            PathBuf::from("/tmp/out/bc1/etc/x")
        );
        assert_eq!(
            local_dest("/tmp/out/", "/etc/x", "bc1", true, base),
            PathBuf::from("/tmp/out/x")
        );
        assert_eq!(
            local_dest("/tmp/y.conf", "/etc/x", "bc1", true, base),
            PathBuf::from("/tmp/y.conf")
        );
    }

    #[test]
    fn fetches_then_is_stable_and_check_mode_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("remote.conf");
        std::fs::write(&src, "a=1\n").unwrap();
        let out = dir.path().join("out");
        let args = json!({"src": src, "dest": out});
        let local = PathBuf::from(format!("{}/testhost{}", out.display(), src.display()));
        let dry = run(
            &Fetch,
            args.clone(),
            &Ctx {
                check: true,
                diff: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(dry.diff[0].after, "a=1\n");
        assert!(!out.exists());
        let first = run(&Fetch, args.clone(), &Ctx::default());
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(std::fs::read_to_string(&local).unwrap(), "a=1\n");
        assert_eq!(first.data["dest"], local.to_str().unwrap());
        assert_eq!(
            first.data["checksum"],
            "9dc9cfd3b38b77561ec22b49a723432e26181003"
        );
        let second = run(&Fetch, args.clone(), &Ctx::default());
        assert_eq!(second.status, Status::Ok, "{second:?}");
        assert_eq!(second.data["md5sum"], md5_hex(b"a=1\n"));
        // A change on the host is fetched again.
        std::fs::write(&src, "a=2\n").unwrap();
        assert_eq!(run(&Fetch, args, &Ctx::default()).status, Status::Changed);
        assert_eq!(std::fs::read_to_string(&local).unwrap(), "a=2\n");
    }

    #[test]
    fn flat_into_a_directory_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("id_rsa.pub");
        std::fs::write(&src, [0u8, 1, 2]).unwrap();
        let dest = format!("{}/keys/", dir.path().display());
        let r = run(
            &Fetch,
            json!({"src": src, "dest": dest, "flat": true}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert_eq!(
            std::fs::read(dir.path().join("keys/id_rsa.pub")).unwrap(),
            [0u8, 1, 2]
        );
        let missing = json!({"src": dir.path().join("none"), "dest": dest, "flat": true});
        let r = run(&Fetch, missing.clone(), &Ctx::default());
        assert_eq!(
            (r.status, r.msg.as_deref()),
            (Status::Failed, Some("the remote file does not exist"))
        );
        let mut tolerant = missing;
        tolerant["fail_on_missing"] = json!(false);
        let r = run(&Fetch, tolerant, &Ctx::default());
        assert_eq!(r.status, Status::Ok);
        assert!(r.msg.unwrap().contains("not transferring, ignored"));
        let r = run(
            &Fetch,
            json!({"src": dir.path(), "dest": dest, "flat": true}),
            &Ctx::default(),
        );
        assert!(r.msg.unwrap().contains("fetch cannot work on directories"));
        // a device never ends: refused by its kind, not read until memory runs out
        let r = run(
            &Fetch,
            json!({"src": "/dev/zero", "dest": dest, "flat": true}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Failed, "{r:?}");
        assert!(
            r.msg
                .as_deref()
                .unwrap_or("")
                .contains("/dev/zero is a character device"),
            "{r:?}"
        );
        assert!(!dir.path().join("keys/zero").exists());
        assert!(
            prepare_error(&Fetch, json!({"src": "/etc/", "dest": "/tmp/x"}))
                .contains("names a directory")
        );
    }

    #[test]
    fn a_relative_dest_is_under_the_playbooks_directory() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f");
        std::fs::write(&src, "x").unwrap();
        let play = tempfile::tempdir().unwrap();
        let r = run(
            &Fetch,
            json!({"src": src, "dest": "fetched/", "flat": true}),
            &Ctx {
                search: vec![dir.path().join("roles/r"), play.path().to_path_buf()],
                ..Ctx::default()
            },
        );
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert_eq!(
            std::fs::read_to_string(play.path().join("fetched/f")).unwrap(),
            "x"
        );
    }

    #[test]
    fn a_checksum_mismatch_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("copy");
        let job = Job {
            src: "/etc/x".into(),
            local: local.clone(),
            old: None,
            fail_on_missing: true,
            validate: true,
            check: false,
            diff: false,
        };
        // The host said one sha1 and sent other bytes ("hello").
        let out = crate::transport::ExecOutput {
            code: Some(0),
            stdout: "__baton_n checksum 0000000000000000000000000000000000000000\n__baton_n begin content\naGVsbG8=\n__baton_n end content\n__baton_n done 1\n".into(),
            stderr: String::new(),
        };
        let r = job.finish(&Answer::parse(&out, "n"));
        assert_eq!(r.msg.as_deref(), Some("checksum mismatch"));
        assert!(!local.exists());
    }
}
