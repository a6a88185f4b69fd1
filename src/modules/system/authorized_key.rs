//! `authorized_key`: SSH public keys in a user's `authorized_keys`, as
//! Ansible's `ansible.posix.authorized_key` does.
//!
//! Ansible's rules, ported: a key is identified by its base64 blob; `key`
//! may hold several keys, one a line. A key already there with the same type,
//! options and comment is left alone; with other options or another comment
//! its line is removed and the new line added at the end. `state: absent`
//! removes the key's lines; `exclusive` also removes every other line
//! (comments too, as Ansible does). `key_options` replaces the options of
//! every given key; `comment` their comment. A line is written as
//! `[options ]type blob[ comment]`. With `manage_dir` (the default) and a
//! change, `~USER/.ssh` is created 0700 and both it and the key file get the
//! user's uid and primary gid, the file mode 0600 (only when writing, as in
//! Ansible). The file is edited on the controller with the lock-protected
//! read/edit/write kit.
//!
//! Round trips: 2 when nothing changes (the user's entry, then the file); 3
//! when the file changes, 4 with `manage_dir`.

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::chain::and_then;
use crate::modules::kit::fileops::Attrs;
use crate::modules::kit::rewrite::{Edit, Retry, Rewrite};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Status, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct AuthorizedKey;

static SPEC: ModuleSpec = ModuleSpec {
    name: "authorized_key",
    args: &[
        ArgSpec::required("user"),
        ArgSpec::required("key"),
        ArgSpec::optional("path"),
        ArgSpec::optional("state").choices(&["present", "absent"]),
        ArgSpec::optional("exclusive"),
        ArgSpec::optional("manage_dir"),
        ArgSpec::optional("key_options"),
        ArgSpec::optional("comment"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

/// Key types Ansible's `parsekey` recognises.
const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-dss-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
];

/// One parsed key line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub options: Option<String>,
    pub kind: String,
    pub blob: String,
    pub comment: Option<String>,
}

impl Key {
    /// Ansible's `parsekey`: `None` for a comment or a line without a known key type.
    pub fn parse(line: &str) -> Option<Key> {
        let line = line.replace(r"\#", "#");
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.first().is_some_and(|p| p.starts_with('#')) {
            return None;
        }
        let at = parts.iter().position(|p| KEY_TYPES.contains(p))?;
        let blob = parts.get(at + 1)?.to_string();
        let options = (at > 0).then(|| normalize_options(&parts[..at].join(" ")));
        let comment = (parts.len() > at + 2).then(|| parts[at + 2..].join(" "));
        Some(Key {
            options: options.filter(|o| !o.is_empty()),
            kind: parts[at].to_string(),
            blob,
            comment,
        })
    }

    /// Ansible's `serialize` of one key.
    pub fn line(&self) -> String {
        let mut s = String::new();
        if let Some(o) = &self.options {
            s.push_str(o);
            s.push(' ');
        }
        s.push_str(&self.kind);
        s.push(' ');
        s.push_str(&self.blob);
        if let Some(c) = &self.comment {
            s.push(' ');
            s.push_str(c);
        }
        s.push('\n');
        s
    }
}

/// Options split on commas outside double quotes, joined again with commas
/// (Ansible parses them into `name[=value]` pairs and writes them so).
fn normalize_options(options: &str) -> String {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut prev = '\0';
    for c in options.chars() {
        match c {
            '"' if prev != '\\' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
        prev = c;
    }
    parts.push(cur);
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Refuses a line break (LF or CR) or NUL in `value`, the value of
/// argument `name`: each key is written as exactly one line.
fn one_line(name: &str, value: &str) -> Result<(), ModuleError> {
    if value.contains(['\n', '\r', '\0']) {
        return Err(ModuleError::Args(format!(
            "argument `{name}` must not contain a line break (LF, CR) or NUL: it would write another line to authorized_keys; got {value:?}"
        )));
    }
    Ok(())
}

/// The new file content, or `None` when nothing changes (Ansible's
/// `enforce_state` on the file's lines).
pub(crate) fn enforce(text: &str, keys: &[Key], present: bool, exclusive: bool) -> Option<String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if let Some(last) = lines.last_mut() {
        if !last.ends_with('\n') {
            last.push('\n');
        }
    }
    let before = lines.clone();
    for key in keys {
        let same_blob =
            |l: &String| Key::parse(l.trim_end_matches('\n')).is_some_and(|k| k.blob == key.blob);
        let matched = lines
            .iter()
            .any(|l| Key::parse(l.trim_end_matches('\n')).as_ref() == Some(key));
        if present {
            if !matched {
                lines.retain(|l| !same_blob(l));
                lines.push(key.line());
            }
        } else {
            lines.retain(|l| !same_blob(l));
        }
    }
    if exclusive && present {
        lines.retain(|l| {
            Key::parse(l.trim_end_matches('\n'))
                .is_some_and(|k| keys.iter().any(|n| n.blob == k.blob))
        });
    }
    (lines != before).then(|| lines.concat())
}

impl Module for AuthorizedKey {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let user = r.required_string("user")?;
        if user.is_empty() || user.contains([':', '\n', '/']) {
            return Err(ModuleError::Args(format!(
                "argument `user` must be a user name, not `{user}`"
            )));
        }
        let key_text = r.required_string("key")?;
        if key_text.starts_with("http://") || key_text.starts_with("https://") {
            return Err(ModuleError::Args(
                "argument `key`: keys from a URL are not supported by baton; give the key text (e.g. \"{{ lookup('file', 'id_ed25519.pub') }}\")".into(),
            ));
        }
        let present = r.choice("state")?.as_deref() != Some("absent");
        let exclusive = r.bool("exclusive", false)?;
        let manage_dir = r.bool("manage_dir", true)?;
        let key_options = r.string("key_options")?;
        let comment = r.string("comment")?;
        // A line break would end the key's line and start another, i.e.
        // write a second (injected) key; NUL has no place in the file either.
        for (name, value) in [("key_options", &key_options), ("comment", &comment)] {
            if let Some(v) = value {
                one_line(name, v)?;
            }
        }
        let path = r.path("path")?;
        let mut keys = Vec::new();
        for line in key_text.lines().filter(|l| !l.trim().is_empty()) {
            // `lines` splits on LF (and CRLF); a lone CR or a NUL would still
            // smuggle a break into the line written.
            one_line("key", line)?;
            let Some(mut key) = Key::parse(line) else {
                if line.trim_start().starts_with('#') {
                    continue;
                }
                return Err(ModuleError::Args(format!("invalid key specified: {line}")));
            };
            if let Some(o) = &key_options {
                key.options = Some(normalize_options(o)).filter(|o| !o.is_empty());
            }
            if let Some(c) = &comment {
                key.comment = Some(c.clone()).filter(|c| !c.is_empty());
            }
            keys.push(key);
        }
        let check = ctx.check_mode;
        let diff = ctx.diff;
        let nonce = ctx.nonce.to_string();
        let mut s = prelude(&nonce);
        s.push_str(&format!(
            "_u={} _mk={}\n",
            shell::quote(&user),
            u8::from(manage_dir && present && !check)
        ));
        s.push_str(
            r#"command -v getent >/dev/null 2>&1 || _fail nogetent
_e=$(getent passwd "$_u") || _fail nouser
IFS=:; set -f; set -- $_e; set +f; unset IFS
_b uid "$3"; _b gid "$4"; _b home "$6"
if [ "$_mk" = 1 ] && [ ! -d "$6/.ssh" ]; then
  mkdir -m 700 -- "$6/.ssh" || _fail mkdir
  chown -- "$3:$4" "$6/.ssh" || _fail chown
fi
_b done 1
"#,
        );
        let data = {
            let mut d = serde_json::Map::new();
            d.insert("user".into(), Value::String(user.clone()));
            d.insert("key".into(), Value::String(key_text.clone()));
            d.insert(
                "key_options".into(),
                key_options
                    .clone()
                    .map(Value::String)
                    .unwrap_or(Value::Null),
            );
            d.insert("exclusive".into(), Value::Bool(exclusive));
            d.insert("manage_dir".into(), Value::Bool(manage_dir));
            d.insert(
                "state".into(),
                Value::String(if present { "present" } else { "absent" }.into()),
            );
            d
        };
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &nonce);
                match answer.failure() {
                    Some("nogetent") => {
                        return Step::Done(answer.failed_with(
                            "`getent` is missing on the host; baton looks the user up with it (install libc-bin)",
                        ))
                    }
                    Some("nouser") => {
                        return Step::Done(answer.failed_with(format!(
                            "Failed to lookup user {user}: no such user on the host"
                        )))
                    }
                    Some(code) => {
                        return Step::Done(answer.failed_with(format!(
                            "cannot create the .ssh directory of {user} (`{code}`)"
                        )))
                    }
                    None => {}
                }
                let (Some(uid), Some(gid), Some(home), Some("1")) = (
                    answer.get("uid").map(str::to_string),
                    answer.get("gid").map(str::to_string),
                    answer.get("home").map(str::to_string),
                    answer.get("done"),
                ) else {
                    return Step::Done(answer.unexpected());
                };
                let ssh_dir = format!("{}/.ssh", home.trim_end_matches('/'));
                let keyfile = path.unwrap_or_else(|| format!("{ssh_dir}/authorized_keys"));
                let rewrite = Rewrite {
                    path: keyfile.clone(),
                    attrs: Attrs::default(),
                    backup: false,
                    backup_key: "backup_file",
                    validate: None,
                    create_mode: Some(0o600),
                    check,
                    diff,
                    nonce: nonce.clone(),
                    retry: Retry::first(),
                };
                let edit_keys = keys;
                let editor = Box::new(move |old: Option<&[u8]>| {
                    let text = match old.map(std::str::from_utf8) {
                        None => "",
                        Some(Ok(t)) => t,
                        Some(Err(_)) => {
                            return Edit::Stop(Box::new(TaskResult::failed(
                                "the authorized_keys file is not UTF-8 text",
                            )))
                        }
                    };
                    if old.is_none() && !present {
                        return Edit::Keep(None);
                    }
                    match enforce(text, &edit_keys, present, exclusive) {
                        None => Edit::Keep(None),
                        Some(new) => Edit::Replace {
                            content: new.into_bytes(),
                            msg: "authorized keys updated".into(),
                        },
                    }
                });
                let then_nonce = nonce.clone();
                let mut data = data;
                data.insert("keyfile".into(), Value::String(keyfile.clone()));
                data.insert("path".into(), Value::String(keyfile.clone()));
                and_then(
                    rewrite.step(editor),
                    Box::new(move |mut result: TaskResult| {
                        result.data.extend(data);
                        if result.status != Status::Changed || check {
                            return Step::Done(result);
                        }
                        // As Ansible's `keyfile(write=True)`: owner and modes after a write.
                        let mut s = prelude(&then_nonce);
                        s.push_str(&format!(
                            "_f={} _d={} _o={} _md={}\n",
                            shell::quote(&keyfile),
                            shell::quote(&ssh_dir),
                            shell::quote(&format!("{uid}:{gid}")),
                            u8::from(manage_dir)
                        ));
                        s.push_str(
                            r#"chown -- "$_o" "$_f" || _fail chown
chmod 600 -- "$_f" || _fail chmod
if [ "$_md" = 1 ] && [ -d "$_d" ]; then
  chown -- "$_o" "$_d" || _fail chown
  chmod 700 -- "$_d" || _fail chmod
fi
_b done 1
"#,
                        );
                        Step::Remote {
                            script: s,
                            interpret: Box::new(move |out| {
                                let answer = Answer::parse(out, &then_nonce);
                                if let Some(code) = answer.failure() {
                                    return Step::Done(answer.failed_with(format!(
                                        "cannot set the owner or mode of {keyfile} (`{code}`)"
                                    )));
                                }
                                if answer.get("done") != Some("1") {
                                    return Step::Done(answer.unexpected());
                                }
                                Step::Done(result)
                            }),
                        }
                    }),
                )
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, prepare_error, Ctx};
    use serde_json::json;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 alice@laptop";
    const B: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ2 bob";

    /// A fake `getent` on PATH that knows one user, `tester`, whose home is
    /// a temporary directory (so `manage_dir` never touches a real home).
    struct Home {
        dir: tempfile::TempDir,
        path_env: String,
    }

    impl Home {
        fn new() -> Home {
            let dir = tempfile::tempdir().unwrap();
            let bin = dir.path().join("bin");
            std::fs::create_dir(&bin).unwrap();
            std::fs::create_dir(dir.path().join("home")).unwrap();
            let (uid, gid) = (own_ids().0, own_ids().1);
            let fake = format!(
                "#!/bin/sh\n[ \"$1 $2\" = 'passwd tester' ] || exit 2\necho 'tester:x:{uid}:{gid}::{}/home:/bin/sh'\n",
                dir.path().display()
            );
            std::fs::write(bin.join("getent"), fake).unwrap();
            std::fs::set_permissions(bin.join("getent"), std::fs::Permissions::from_mode(0o755))
                .unwrap();
            Home {
                path_env: format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
                dir,
            }
        }

        fn keys(&self) -> std::path::PathBuf {
            self.dir.path().join("home/.ssh/authorized_keys")
        }

        fn run(&self, args: serde_json::Value, check: bool) -> (TaskResult, usize) {
            let args = args.as_object().cloned().unwrap();
            let ctx = Ctx::default();
            let context = TaskContext {
                host: "t",
                check_mode: check,
                diff: true,
                nonce: "n0nce",
                search_paths: &ctx.search,
                eval: &ctx.eval,
            };
            match AuthorizedKey.prepare(&args, &context) {
                Ok(step) => finish_with_env(step, &[("PATH", self.path_env.as_str())]),
                Err(e) => (TaskResult::failed(e.to_string()), 0),
            }
        }
    }

    /// This process's uid and gid, from the metadata of a file it creates.
    fn own_ids() -> (u32, u32) {
        let f = tempfile::NamedTempFile::new().unwrap();
        let m = f.as_file().metadata().unwrap();
        (m.uid(), m.gid())
    }

    #[test]
    fn parses_and_serializes_like_ansible() {
        let k = Key::parse(r#"no-pty,command="echo a,b"  ssh-rsa AAAA x y"#).unwrap();
        assert_eq!(k.options.as_deref(), Some(r#"no-pty,command="echo a,b""#));
        assert_eq!((k.kind.as_str(), k.blob.as_str()), ("ssh-rsa", "AAAA"));
        assert_eq!(k.comment.as_deref(), Some("x y"));
        assert_eq!(k.line(), "no-pty,command=\"echo a,b\" ssh-rsa AAAA x y\n");
        assert!(Key::parse("# ssh-rsa AAAA").is_none());
        assert!(Key::parse("not a key").is_none());
    }

    #[test]
    fn enforce_adds_replaces_removes_and_is_exclusive() {
        let a = Key::parse(A).unwrap();
        let b = Key::parse(B).unwrap();
        let text = format!("# keep me\n{B}\n");
        assert_eq!(
            enforce(&text, std::slice::from_ref(&a), true, false).unwrap(),
            format!("# keep me\n{B}\n{A}\n")
        );
        assert_eq!(
            enforce(&format!("{A}\n"), std::slice::from_ref(&a), true, false),
            None
        );
        // Other options: the old line goes, the new one is appended.
        let mut a2 = a.clone();
        a2.options = Some("no-pty".into());
        assert_eq!(
            enforce(
                &format!("{A}\n{B}\n"),
                std::slice::from_ref(&a2),
                true,
                false
            )
            .unwrap(),
            format!("{B}\nno-pty {A}\n")
        );
        assert_eq!(
            enforce(
                &format!("{A}\n{B}\n"),
                std::slice::from_ref(&b),
                false,
                false
            )
            .unwrap(),
            format!("{A}\n")
        );
        assert_eq!(
            enforce(&format!("# c\n{A}\n{B}\n"), &[a], true, true).unwrap(),
            format!("{A}\n")
        );
    }

    #[test]
    fn first_run_changed_second_ok_check_mode_changes_nothing() {
        let h = Home::new();
        let args = json!({"user": "tester", "key": A});
        let (dry, _) = h.run(args.clone(), true);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert!(!h.dir.path().join("home/.ssh").exists());
        let (first, trips) = h.run(args.clone(), false);
        assert_eq!((first.status, trips), (Status::Changed, 4), "{first:?}");
        assert_eq!(std::fs::read_to_string(h.keys()).unwrap(), format!("{A}\n"));
        assert_eq!(first.data["keyfile"], h.keys().to_str().unwrap());
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&h.keys()), 0o600);
        assert_eq!(mode(&h.dir.path().join("home/.ssh")), 0o700);
        let (second, trips) = h.run(args, false);
        assert_eq!((second.status, trips), (Status::Ok, 2), "{second:?}");
        // key_options and comment change the line; absent removes it.
        let opts = json!({"user": "tester", "key": A, "key_options": "no-pty", "comment": "new"});
        assert_eq!(h.run(opts.clone(), false).0.status, Status::Changed);
        assert_eq!(
            std::fs::read_to_string(h.keys()).unwrap(),
            "no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 new\n"
        );
        assert_eq!(h.run(opts, false).0.status, Status::Ok);
        let gone = json!({"user": "tester", "key": A, "state": "absent"});
        assert_eq!(h.run(gone.clone(), false).0.status, Status::Changed);
        assert_eq!(std::fs::read_to_string(h.keys()).unwrap(), "");
        assert_eq!(h.run(gone, false).0.status, Status::Ok);
    }

    #[test]
    fn path_without_manage_dir_and_failure_modes() {
        let h = Home::new();
        let p = h.dir.path().join("elsewhere/keys");
        let args =
            json!({"user": "tester", "key": format!("{A}\n{B}"), "path": p, "manage_dir": false});
        assert_eq!(h.run(args.clone(), false).0.status, Status::Changed);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{A}\n{B}\n"));
        assert!(!h.dir.path().join("home/.ssh").exists());
        assert_eq!(h.run(args, false).0.status, Status::Ok);
        let r = h.run(json!({"user": "nobody-here", "key": A}), false).0;
        assert!(r
            .msg
            .unwrap()
            .starts_with("Failed to lookup user nobody-here"));
        assert!(
            prepare_error(&AuthorizedKey, json!({"user": "u", "key": "garbage"}))
                .contains("invalid key specified")
        );
        assert!(prepare_error(
            &AuthorizedKey,
            json!({"user": "u", "key": "https://github.com/u.keys"})
        )
        .contains("URL"));
    }

    #[test]
    fn a_line_break_or_nul_in_options_comment_or_key_is_refused_writing_nothing() {
        let h = Home::new();
        let injected = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIATTACKER attacker";
        for (arg, bad) in [
            ("key_options", format!("no-pty\n{injected}")),
            ("key_options", format!("no-pty\r{injected}")),
            ("key_options", "no-pty\0x".to_string()),
            ("comment", format!("me\n{injected}")),
            ("comment", format!("me\r{injected}")),
            ("comment", "me\0x".to_string()),
        ] {
            let mut args = json!({"user": "tester", "key": A});
            args[arg] = json!(bad);
            let err = prepare_error(&AuthorizedKey, args.clone());
            assert!(err.contains(&format!("argument `{arg}`")), "{arg}: {err}");
            assert!(err.contains("line break"), "{arg}: {err}");
            let (r, _) = h.run(args, false);
            assert!(r.is_failed(), "{arg} {bad:?}: {r:?}");
            assert!(!h.keys().exists(), "{arg} {bad:?} wrote the file");
        }
        for bad in [format!("{A}\r{injected}"), format!("{A}\0")] {
            let err = prepare_error(&AuthorizedKey, json!({"user": "tester", "key": bad}));
            assert!(err.contains("argument `key`"), "{err}");
        }
        // Several keys, one a line (LF or CRLF), are still fine.
        let ok = h.run(
            json!({"user": "tester", "key": format!("{A}\r\n{B}\n")}),
            false,
        );
        assert_eq!(ok.0.status, Status::Changed, "{ok:?}");
        assert_eq!(
            std::fs::read_to_string(h.keys()).unwrap(),
            format!("{A}\n{B}\n")
        );
    }
}
