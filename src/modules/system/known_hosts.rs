//! `known_hosts`: one host's keys in an SSH `known_hosts` file, as Ansible's
//! `ansible.builtin.known_hosts` does.
//!
//! Ansible asks `ssh-keygen -F NAME` which lines belong to the host; baton
//! does the same lookup on the controller (plain names, `*`/`?` patterns,
//! `!` negations and hashed `|1|salt|hmac-sha1` entries, as OpenSSH's
//! `match_hostname`), so the host needs no ssh-keygen. Then Ansible's rules:
//! a line with the same key type and the same key (the comment does not
//! count; a hashed entry matches a hashed key whatever its salt) is left
//! alone; a line with the same key type and another key is replaced; a new
//! key type is appended. `state: absent` without `key` removes every line of
//! the host (`ssh-keygen -R`); with `key`, the line of that key type. The
//! key's own host field must name the host ("Host parameter does not match
//! hashed host field in supplied key"). `hash_host` writes the host field
//! hashed (`ssh-keygen -H`'s format, a random salt). `name` is lowercased.
//! The file is edited with the lock-protected read/edit/write kit; a missing
//! file is created (mode from the umask, 0644 with 022).
//!
//! Round trips: 1 when nothing changes (2 when `path` starts with `~/`, the
//! default, to learn `$HOME`); one more when the file changes.

use base64::Engine;
use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::fileops::Attrs;
use crate::modules::kit::rewrite::{Edit, Retry, Rewrite};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};

pub struct KnownHosts;

static SPEC: ModuleSpec = ModuleSpec {
    name: "known_hosts",
    args: &[
        ArgSpec::required("name").aliases(&["host"]),
        ArgSpec::optional("key"),
        ArgSpec::optional("path"),
        ArgSpec::optional("hash_host"),
        ArgSpec::optional("state").choices(&["present", "absent"]),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

/// RFC 2104 HMAC with SHA-1 (what OpenSSH hashes host names with).
fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha1::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha1::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// `|1|base64(salt)|base64(hmac)` for `host`.
pub(crate) fn hashed_host(host: &str, salt: &[u8]) -> String {
    let b64 = &base64::engine::general_purpose::STANDARD;
    format!(
        "|1|{}|{}",
        b64.encode(salt),
        b64.encode(hmac_sha1(salt, host.as_bytes()))
    )
}

/// A `*`/`?` pattern against a name (both already lowercase).
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], name) || (!name.is_empty() && glob(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// Whether a known_hosts host field names `host` (OpenSSH's
/// `match_hostname`, and hashed entries).
pub(crate) fn host_matches(field: &str, host: &str) -> bool {
    if let Some(rest) = field.strip_prefix("|1|") {
        let b64 = &base64::engine::general_purpose::STANDARD;
        let Some((salt, hash)) = rest.split_once('|') else {
            return false;
        };
        return match (b64.decode(salt), b64.decode(hash)) {
            (Ok(salt), Ok(hash)) => hmac_sha1(&salt, host.as_bytes())[..] == hash[..],
            _ => false,
        };
    }
    let mut matched = false;
    for pattern in field.split(',') {
        let pattern = pattern.to_ascii_lowercase();
        if let Some(negated) = pattern.strip_prefix('!') {
            if glob(negated.as_bytes(), host.as_bytes()) {
                return false;
            }
        } else if glob(pattern.as_bytes(), host.as_bytes()) {
            matched = true;
        }
    }
    matched
}

/// Ansible's `normalize_known_hosts_key`: marker, host, type and key (no comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub marker: Option<String>,
    pub host: String,
    pub kind: String,
    pub key: String,
}

impl Entry {
    pub fn parse(line: &str) -> Option<Entry> {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.first().is_none_or(|p| p.starts_with('#')) {
            return None;
        }
        let (marker, rest) = if parts[0].starts_with('@') {
            (Some(parts[0].to_string()), &parts[1..])
        } else {
            (None, &parts[..])
        };
        match rest {
            [host, kind, key, ..] => Some(Entry {
                marker,
                host: host.to_string(),
                kind: kind.to_string(),
                key: key.to_string(),
            }),
            _ => None,
        }
    }
}

/// What the lookup found: any line of the host, whether the file must
/// change for `key`, and the index of the line to replace (Ansible's
/// `search_for_host_key`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Search {
    pub found: bool,
    pub replace_or_add: bool,
    pub line: Option<usize>,
}

pub(crate) fn search(lines: &[&str], host: &str, key: Option<&Entry>) -> Search {
    let hits: Vec<(usize, Entry)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Entry::parse(l).map(|e| (i, e)))
        .filter(|(_, e)| host_matches(&e.host, host))
        .collect();
    if hits.is_empty() {
        return Search {
            found: false,
            replace_or_add: false,
            line: None,
        };
    }
    let Some(key) = key else {
        return Search {
            found: true,
            replace_or_add: false,
            line: None,
        };
    };
    for (i, found) in hits {
        let mut new = key.clone();
        if found.marker.as_deref() == Some("@cert-authority") {
            if new == found {
                return Search {
                    found: true,
                    replace_or_add: false,
                    line: Some(i),
                };
            }
            continue;
        }
        if new.host.starts_with("|1|") && found.host.starts_with("|1|") {
            new.host = found.host.clone();
        }
        if new == found {
            return Search {
                found: true,
                replace_or_add: false,
                line: Some(i),
            };
        }
        if new.kind == found.kind {
            return Search {
                found: true,
                replace_or_add: true,
                line: Some(i),
            };
        }
    }
    Search {
        found: true,
        replace_or_add: true,
        line: None,
    }
}

/// The new file content, or `None` when nothing changes.
pub(crate) fn enforce(text: &str, host: &str, key: Option<&str>, present: bool) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let entry = key.and_then(Entry::parse);
    let s = search(&lines, host, entry.as_ref());
    if !present && s.line.is_none() && key.is_some() {
        return None;
    }
    if !present && s.found && key.is_none() {
        // `ssh-keygen -R`: every line of the host.
        let kept: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| Entry::parse(l).is_none_or(|e| !host_matches(&e.host, host)))
            .collect();
        return Some(join(&kept));
    }
    if !(s.replace_or_add || s.found != present) {
        return None;
    }
    let mut out: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !(s.line == Some(*i) && (s.replace_or_add || !present)))
        .map(|(_, l)| *l)
        .collect();
    if present {
        out.extend(key);
    }
    Some(join(&out))
}

fn join(lines: &[&str]) -> String {
    let mut s = lines.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

impl Module for KnownHosts {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let name = r.required_string("name")?.to_ascii_lowercase();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(ModuleError::Args(format!(
                "argument `name` must be one host name or [host]:port, not `{name}`"
            )));
        }
        let present = r.choice("state")?.as_deref() != Some("absent");
        let hash = r.bool("hash_host", false)?;
        let path = r
            .path("path")?
            .unwrap_or_else(|| "~/.ssh/known_hosts".into());
        let key = r
            .string("key")?
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty());
        if key.is_none() && present {
            return Err(ModuleError::Args(
                "No key specified when adding a host".into(),
            ));
        }
        let key = match key {
            None => None,
            Some(k) if k.contains('\n') => {
                return Err(ModuleError::Args(
                    "argument `key` must be one known_hosts line (host, key type, key)".into(),
                ))
            }
            Some(k) => {
                let Some(entry) = Entry::parse(&k) else {
                    return Err(ModuleError::Args(format!(
                        "argument `key` is not a known_hosts line (host, key type, key): `{k}`"
                    )));
                };
                if !host_matches(&entry.host, &name) {
                    return Err(ModuleError::Args(
                        "Host parameter does not match hashed host field in supplied key".into(),
                    ));
                }
                if hash && !entry.host.starts_with("|1|") {
                    let mut salt = [0u8; 20];
                    getrandom::fill(&mut salt).map_err(|e| {
                        ModuleError::Controller(format!("no random salt for hash_host: {e}"))
                    })?;
                    // The host field becomes the hashed name; the rest stays.
                    let rest = k
                        .trim_start()
                        .strip_prefix(entry.marker.as_deref().unwrap_or(""))
                        .unwrap_or(&k)
                        .trim_start()
                        .strip_prefix(entry.host.as_str())
                        .unwrap_or("");
                    let marker = entry.marker.map(|m| format!("{m} ")).unwrap_or_default();
                    Some(format!("{marker}{}{rest}", hashed_host(&name, &salt)))
                } else {
                    Some(k)
                }
            }
        };
        let mut data = serde_json::Map::new();
        data.insert("name".into(), Value::String(name.clone()));
        data.insert(
            "key".into(),
            key.clone().map(Value::String).unwrap_or(Value::Null),
        );
        data.insert("hash_host".into(), Value::Bool(hash));
        data.insert(
            "state".into(),
            Value::String(if present { "present" } else { "absent" }.into()),
        );
        let (check, diff, nonce) = (ctx.check_mode, ctx.diff, ctx.nonce.to_string());
        let job = move |path: String| -> Step {
            let rewrite = Rewrite {
                path: path.clone(),
                attrs: Attrs::default(),
                backup: false,
                backup_key: "backup_file",
                validate: None,
                create_mode: None,
                check,
                diff,
                nonce: nonce.clone(),
                retry: Retry::first(),
            };
            let editor = Box::new(move |old: Option<&[u8]>| {
                let text = match old.map(std::str::from_utf8) {
                    None => "",
                    Some(Ok(t)) => t,
                    Some(Err(_)) => {
                        return Edit::Stop(Box::new(TaskResult::failed(
                            "the known_hosts file is not UTF-8 text",
                        )))
                    }
                };
                match enforce(text, &name, key.as_deref(), present) {
                    None => Edit::Keep(None),
                    Some(new) => Edit::Replace {
                        content: new.into_bytes(),
                        msg: format!("known_hosts updated for {name}"),
                    },
                }
            });
            crate::modules::kit::chain::and_then(
                rewrite.step(editor),
                Box::new(move |mut result: TaskResult| {
                    result.data.extend(data);
                    result.data.insert("path".into(), Value::String(path));
                    Step::Done(result)
                }),
            )
        };
        let Some(rest) = path.strip_prefix("~/") else {
            return Ok(job(path));
        };
        let rest = rest.to_string();
        let home_nonce = ctx.nonce.to_string();
        let mut s = prelude(&home_nonce);
        s.push_str("[ -n \"$HOME\" ] || _fail nohome\n_b home \"$HOME\"\n_b done 1\n");
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &home_nonce);
                if answer.failure().is_some() {
                    return Step::Done(
                        answer.failed_with("$HOME is not set on the host; give `path` in full"),
                    );
                }
                match (answer.get("home"), answer.get("done")) {
                    (Some(home), Some("1")) => {
                        job(format!("{}/{rest}", home.trim_end_matches('/')))
                    }
                    _ => Step::Done(answer.unexpected()),
                }
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    const K1: &str = "bc1.lab ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1";
    const K2: &str = "bc1.lab ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey2";
    const R1: &str = "bc1.lab ssh-rsa AAAAB3NzaC1yc2EAAAADAQABRsa1";

    #[test]
    fn hmac_sha1_and_hashed_hosts_match_openssh() {
        // RFC 2202, test case 2.
        assert_eq!(
            hex::encode(hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        let h = hashed_host("bc1.lab", b"saltsaltsaltsaltsalt");
        assert!(host_matches(&h, "bc1.lab"));
        assert!(!host_matches(&h, "bc2.lab"));
        assert!(host_matches("a,*.lab,!bad.lab", "bc1.lab"));
        assert!(!host_matches("*.lab,!bad.lab", "bad.lab"));
        assert!(host_matches("[bc1.lab]:2222", "[bc1.lab]:2222"));
        assert!(!host_matches("bc1.lab", "[bc1.lab]:2222"));
    }

    #[test]
    fn entries_hashed_by_ssh_keygen_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kh");
        std::fs::write(&p, format!("{K1}\n")).unwrap();
        let out = std::process::Command::new("ssh-keygen")
            .args(["-q", "-H", "-f"])
            .arg(&p)
            .output()
            .expect("ssh-keygen (openssh-client) is needed for this test");
        assert!(out.status.success(), "{out:?}");
        let text = std::fs::read_to_string(&p).unwrap();
        let field = text.split_whitespace().next().unwrap();
        assert!(field.starts_with("|1|"), "{text}");
        assert!(host_matches(field, "bc1.lab"));
        assert!(!host_matches(field, "bc2.lab"));
        // And ssh-keygen finds what baton hashes.
        std::fs::write(
            &p,
            format!(
                "{} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1\n",
                hashed_host("bc1.lab", b"saltsaltsaltsaltsalt")
            ),
        )
        .unwrap();
        let found = std::process::Command::new("ssh-keygen")
            .args(["-F", "bc1.lab", "-f"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&found.stdout).contains("found: line 1"),
            "{found:?}"
        );
    }

    #[test]
    fn enforce_follows_ansibles_search_rules() {
        // New host: appended; the same key again: no change (comment ignored).
        assert_eq!(
            enforce("other ssh-rsa X\n", "bc1.lab", Some(K1), true).unwrap(),
            format!("other ssh-rsa X\n{K1}\n")
        );
        assert_eq!(
            enforce(&format!("{K1} some comment\n"), "bc1.lab", Some(K1), true),
            None
        );
        // Same type, other key: the old line goes, the new one is appended.
        assert_eq!(
            enforce(&format!("{K1}\n{R1}\n"), "bc1.lab", Some(K2), true).unwrap(),
            format!("{R1}\n{K2}\n")
        );
        // absent without a key: every line of the host; with a key: its type's line.
        assert_eq!(
            enforce(
                &format!("{K1}\nx ssh-rsa Y\n{R1}\n"),
                "bc1.lab",
                None,
                false
            )
            .unwrap(),
            "x ssh-rsa Y\n"
        );
        assert_eq!(
            enforce(&format!("{K1}\n{R1}\n"), "bc1.lab", Some(R1), false).unwrap(),
            format!("{K1}\n")
        );
        assert_eq!(enforce("x ssh-rsa Y\n", "bc1.lab", None, false), None);
        // A hashed entry matches a hashed key whatever the salt.
        let old = format!(
            "{} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1",
            hashed_host("bc1.lab", b"11111111111111111111")
        );
        let new = format!(
            "{} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1",
            hashed_host("bc1.lab", b"22222222222222222222")
        );
        assert_eq!(
            enforce(&format!("{old}\n"), "bc1.lab", Some(&new), true),
            None
        );
    }

    #[test]
    fn first_run_changed_second_ok_check_mode_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("known_hosts");
        let args = json!({"name": "BC1.lab", "key": K1, "path": p});
        let dry = run(
            &KnownHosts,
            args.clone(),
            &Ctx {
                check: true,
                diff: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(dry.diff[0].after, format!("{K1}\n"));
        assert!(!p.exists());
        let first = run(&KnownHosts, args.clone(), &Ctx::default());
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{K1}\n"));
        assert_eq!(first.data["path"], p.to_str().unwrap());
        assert_eq!(run(&KnownHosts, args, &Ctx::default()).status, Status::Ok);
        // Hashed: written hashed, then stable although each run draws a new salt.
        let hashed = json!({"name": "bc2.lab", "key": "bc2.lab ssh-rsa AAAAB3Nza2", "path": p, "hash_host": true});
        assert_eq!(
            run(&KnownHosts, hashed.clone(), &Ctx::default()).status,
            Status::Changed
        );
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("bc2.lab"), "{text}");
        assert!(text.lines().nth(1).unwrap().starts_with("|1|"));
        assert_eq!(run(&KnownHosts, hashed, &Ctx::default()).status, Status::Ok);
        let gone = json!({"name": "bc2.lab", "state": "absent", "path": p});
        assert_eq!(
            run(&KnownHosts, gone.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{K1}\n"));
        assert_eq!(run(&KnownHosts, gone, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn argument_errors() {
        assert!(prepare_error(&KnownHosts, json!({"name": "a"})).contains("No key specified"));
        assert!(
            prepare_error(&KnownHosts, json!({"name": "other", "key": K1}))
                .contains("does not match")
        );
        assert!(
            prepare_error(&KnownHosts, json!({"name": "bc1.lab", "key": "bc1.lab"}))
                .contains("not a known_hosts line")
        );
    }
}
