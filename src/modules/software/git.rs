//! `git`: a checkout of a repository at a branch, tag or commit, with the
//! host's git, as Ansible's `ansible.builtin.git`.
//!
//! `changed` rules (Ansible's): changed when the checkout's commit moves
//! (`before` != `after`), when a missing `dest` is cloned, when `force: yes`
//! discards local modifications, or when origin's URL is changed to `repo`.
//! Local modifications to tracked files with `force: no` fail the task and
//! touch nothing. `update: no` leaves an existing checkout alone; `clone:
//! no` does not create a missing one but, as Ansible, reports changed with
//! `after` the remote's commit (`git ls-remote`). Check mode fetches nothing: it asks
//! the remote (`git ls-remote`) where the version points.
//!
//! Round trips: 1.

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Git;

static SPEC: ModuleSpec = ModuleSpec {
    name: "git",
    args: &[
        ArgSpec::required("repo").aliases(&["name"]),
        ArgSpec::required("dest"),
        ArgSpec::optional("version"),
        ArgSpec::optional("force"),
        ArgSpec::optional("update"),
        ArgSpec::optional("clone"),
        ArgSpec::optional("depth"),
        ArgSpec::optional("remote"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

const BODY: &str = r#"command -v git >/dev/null 2>&1 || _fail no_git
export GIT_TERMINAL_PROMPT=0 LC_ALL=C
_g() { git -C "$_dest" "$@"; }
# Where `$_ver` points on the remote without fetching (check mode, clone
# off); it runs in `$(...)`, so it returns 1 and the caller fails.
_lsr() {
  if [ "$_ver" = HEAD ]; then _x=$(git ls-remote -- "$_repo" HEAD) || return 1
  else _x=$(git ls-remote -- "$_repo" "refs/heads/$_ver" "refs/tags/$_ver^{}" "refs/tags/$_ver") || return 1; fi
  _x=$(printf '%s\n' "$_x" | sort -k2 -r | head -n 1)
  if [ -n "$_x" ]; then printf '%s' "${_x%%[	 ]*}"; else printf '%s' "$_ver"; fi
}
# The commit `$_ver` names after a fetch, and how to check it out.
_resolve() {
  if [ "$_ver" = HEAD ]; then
    _br=$(_g symbolic-ref -q --short "refs/remotes/$_rem/HEAD" 2>/dev/null) && _br=${_br#"$_rem"/} || _br=
    if [ -n "$_br" ]; then _kind=branch _ver=$_br; else _kind=detach _ver=$(_g rev-parse --verify -q "FETCH_HEAD^{commit}") || _fail noversion; fi
  fi
  if [ "$_kind" != detach ] && _sha=$(_g rev-parse --verify -q "refs/remotes/$_rem/$_ver^{commit}"); then _kind=branch
  elif _sha=$(_g rev-parse --verify -q "refs/tags/$_ver^{commit}"); then _kind=detach
  elif _sha=$(_g rev-parse --verify -q "$_ver^{commit}"); then _kind=detach
  elif [ "$_kind" = detach ]; then _sha=$_ver
  else
    # A commit outside every branch (or a shallow clone): fetch it by name.
    _g fetch -q $_depth "$_rem" "$_ver" >&2 && _sha=$(_g rev-parse --verify -q "FETCH_HEAD^{commit}") || _fail noversion
    _kind=detach
  fi
}
_fetch() {
  _g fetch -q --tags --force $_depth "$_rem" "+refs/heads/*:refs/remotes/$_rem/*" >&2 || _fail fetch
}
_checkout() {
  if [ "$_kind" = branch ]; then _g checkout -q --force -B "$_ver" "refs/remotes/$_rem/$_ver" >&2 || _fail checkout
  else _g checkout -q --force --detach "$_sha" >&2 || _fail checkout; fi
}
_kind=
if [ ! -e "$_dest/.git" ]; then
  _b before ''
  # As Ansible: clone off only asks the remote where the version points.
  if [ "$_clone" != 1 ]; then _h=$(_lsr) || _fail lsremote; _b after "$_h"; _b done noclone; exit 0; fi
  if [ -e "$_dest" ] && [ -n "$(ls -A -- "$_dest" 2>/dev/null)" ]; then _fail notempty; fi
  if [ "$_ck" = 1 ]; then _h=$(_lsr) || _fail lsremote; _b after "$_h"; _b done cloned; exit 0; fi
  git clone -q --no-checkout -o "$_rem" $_depth -- "$_repo" "$_dest" >&2 || _fail clone
  _resolve; _checkout
  _b after "$(_g rev-parse HEAD)"; _b done cloned; exit 0
fi
_before=$(_g rev-parse --verify -q HEAD) || _fail notrepo
_b before "$_before"
if [ "$_upd" != 1 ]; then _b after "$_before"; _b done noupdate; exit 0; fi
_url=$(_g config --get "remote.$_rem.url") || _url=
if [ "$_url" != "$_repo" ]; then
  _b url_changed 1
  if [ "$_ck" != 1 ]; then
    if [ -n "$_url" ]; then _g remote set-url "$_rem" "$_repo" >&2 || _fail seturl
    else _g remote add "$_rem" "$_repo" >&2 || _fail seturl; fi
  fi
fi
_mods=$(_g status --porcelain --untracked-files=no) || _fail status
if [ -n "$_mods" ]; then
  _b begin mods; printf '%s\n' "$_mods"; _b end mods
  [ "$_force" = 1 ] || _fail localmods
  _b discarded 1
fi
if [ "$_ck" = 1 ]; then _h=$(_lsr) || _fail lsremote; _b after "$_h"; _b done checked; exit 0; fi
_fetch
_resolve
if [ "$_sha" != "$_before" ] || [ -n "$_mods" ] || { [ "$_kind" = branch ] && [ "$(_g symbolic-ref -q --short HEAD)" != "$_ver" ]; }; then _checkout; fi
_b after "$(_g rev-parse HEAD)"; _b done updated
"#;

impl Module for Git {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let repo = r.required_string("repo")?;
        let dest = r.required_path("dest")?;
        let version = r.string("version")?.unwrap_or_else(|| "HEAD".into());
        if version.is_empty() || version.starts_with('-') || version.contains(['\n', ' ', '\t']) {
            return Err(ModuleError::Args(format!(
                "argument `version` must be a branch, tag or commit name, not `{version}`"
            )));
        }
        let remote = r.string("remote")?.unwrap_or_else(|| "origin".into());
        if remote.is_empty() || remote.starts_with('-') || remote.contains(['/', ' ', '\n']) {
            return Err(ModuleError::Args(format!(
                "argument `remote` must be a remote name such as origin, not `{remote}`"
            )));
        }
        let depth = r.integer("depth", 1..=i64::from(i32::MAX))?;
        let mut s = prelude(ctx.nonce);
        s.push_str(&format!(
            "_ck={} _force={} _upd={} _clone={} _depth={}\n_repo={} _dest={} _ver={} _rem={}\n",
            u8::from(ctx.check_mode),
            u8::from(r.bool("force", false)?),
            u8::from(r.bool("update", true)?),
            u8::from(r.bool("clone", true)?),
            depth.map(|d| format!("--depth={d}")).unwrap_or_default(),
            shell::quote(&repo),
            shell::quote(dest.trim_end_matches('/')),
            shell::quote(&version),
            shell::quote(&remote),
        ));
        s.push_str(BODY);
        let nonce = ctx.nonce.to_string();
        let check = ctx.check_mode;
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                Step::Done(interpret(out, &nonce, &repo, &dest, &version, check))
            }),
        })
    }
}

fn interpret(
    out: &crate::transport::ExecOutput,
    nonce: &str,
    repo: &str,
    dest: &str,
    version: &str,
    check: bool,
) -> TaskResult {
    let answer = Answer::parse(out, nonce);
    if let Some(code) = answer.failure() {
        let msg = match code {
            "no_git" => "git not found on host; install git".to_string(),
            "notempty" => format!("destination path {dest} already exists and is not an empty directory (nor a git checkout)"),
            "clone" => format!("cannot clone {repo} into {dest}"),
            "fetch" => format!("cannot fetch {repo} into {dest}"),
            "lsremote" => format!("cannot list the references of {repo} (git ls-remote)"),
            "noversion" => format!("version `{version}` is neither a branch, a tag nor a commit of {repo}"),
            "checkout" => format!("cannot check out `{version}` in {dest}"),
            "notrepo" => format!("{dest}/.git exists but {dest} is not a usable git checkout"),
            "seturl" => format!("cannot set the URL of the remote in {dest} to {repo}"),
            "status" => format!("cannot read the status of {dest} (git status)"),
            "localmods" => format!(
                "Local modifications exist in the destination: {dest} (force=no); they were left alone:\n{}",
                answer.block("mods").unwrap_or_default().trim_end()
            ),
            other => format!("{dest}: the host reported `{other}`"),
        };
        return answer.failed_with(msg);
    }
    let done = answer.get("done").unwrap_or_default();
    let before = answer.get("before").filter(|b| !b.is_empty());
    let after = answer.get("after").filter(|a| !a.is_empty());
    let moved = before != after;
    let mut result = match done {
        // Ansible's git reports changed here, with `after` the remote's
        // commit (it only runs `git ls-remote`).
        "noclone" => TaskResult::changed().with_msg(format!(
            "{dest} is not a checkout and clone is off: nothing cloned, `after` is where `{version}` points on the remote"
        )),
        "noupdate" => TaskResult::ok(),
        "cloned" => TaskResult::changed(),
        "checked" | "updated"
            if moved || answer.flag("discarded") || answer.flag("url_changed") =>
        {
            TaskResult::changed()
        }
        "checked" | "updated" => TaskResult::ok(),
        _ => return answer.unexpected(),
    };
    if check && result.is_changed() {
        result.msg = Some(format!(
            "check mode: {dest} would move to {}",
            after.unwrap_or(version)
        ));
    }
    let opt = |v: Option<&str>| v.map_or(Value::Null, |v| Value::String(v.to_string()));
    result.data.insert("before".into(), opt(before));
    result.data.insert("after".into(), opt(after));
    if answer.flag("url_changed") {
        result
            .data
            .insert("remote_url_changed".into(), Value::Bool(true));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;
    use std::path::Path;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "init.defaultBranch=main",
                "-c",
                "protocol.file.allow=always",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A bare repository with main (two commits, v1 tagged on the first) and
    /// a branch `dev`; returns (bare path, work tree, first sha, second sha).
    fn repo(root: &Path) -> (std::path::PathBuf, std::path::PathBuf, String, String) {
        let bare = root.join("origin.git");
        let work = root.join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(root, &["init", "-q", "--bare", "origin.git"]);
        git(&work, &["init", "-q"]);
        std::fs::write(work.join("README"), "one\n").unwrap();
        git(&work, &["add", "README"]);
        git(&work, &["commit", "-qm", "one"]);
        let first = git(&work, &["rev-parse", "HEAD"]);
        git(&work, &["tag", "v1"]);
        std::fs::write(work.join("README"), "two\n").unwrap();
        git(&work, &["commit", "-qam", "two"]);
        let second = git(&work, &["rev-parse", "HEAD"]);
        git(&work, &["branch", "dev", &first]);
        git(
            &work,
            &["push", "-q", bare.to_str().unwrap(), "main", "dev", "v1"],
        );
        git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
        (bare, work, first, second)
    }

    #[test]
    fn clones_once_then_is_ok_and_follows_the_branch() {
        let root = tempfile::tempdir().unwrap();
        let (bare, work, first, second) = repo(root.path());
        let dest = root.path().join("checkout");
        let args = json!({"repo": bare, "dest": dest});
        let dry = run(
            &Git,
            args.clone(),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(dry.data["after"], second.as_str());
        assert!(!dest.exists(), "check mode cloned");
        let r = run(&Git, args.clone(), &Ctx::default());
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert_eq!(
            (r.data["before"].clone(), r.data["after"].clone()),
            (Value::Null, json!(second))
        );
        assert_eq!(
            std::fs::read_to_string(dest.join("README")).unwrap(),
            "two\n"
        );
        let again = run(&Git, args.clone(), &Ctx::default());
        assert_eq!(again.status, Status::Ok, "{again:?}");
        // A new commit upstream: check mode sees it without fetching, the run moves.
        std::fs::write(work.join("README"), "three\n").unwrap();
        git(&work, &["commit", "-qam", "three"]);
        let third = git(&work, &["rev-parse", "HEAD"]);
        git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
        let dry = run(
            &Git,
            args.clone(),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(
            (dry.status, dry.data["after"].clone()),
            (Status::Changed, json!(third))
        );
        assert_eq!(
            git(&dest, &["rev-parse", "HEAD"]),
            second,
            "check mode moved the checkout"
        );
        let r = run(&Git, args.clone(), &Ctx::default());
        assert_eq!(
            (r.status, r.data["before"].clone(), r.data["after"].clone()),
            (Status::Changed, json!(second), json!(third))
        );
        // update: no leaves it; a tag, a sha and another branch check out.
        let tag = run(
            &Git,
            json!({"repo": bare, "dest": dest, "version": "v1"}),
            &Ctx::default(),
        );
        assert_eq!(
            (tag.status, tag.data["after"].clone()),
            (Status::Changed, json!(first))
        );
        assert_eq!(
            run(
                &Git,
                json!({"repo": bare, "dest": dest, "version": first}),
                &Ctx::default()
            )
            .status,
            Status::Ok
        );
        let dev = run(
            &Git,
            json!({"repo": bare, "dest": dest, "version": "dev"}),
            &Ctx::default(),
        );
        assert_eq!(dev.data["after"], first.as_str());
        assert_eq!(git(&dest, &["symbolic-ref", "--short", "HEAD"]), "dev");
        let kept = run(
            &Git,
            json!({"repo": bare, "dest": dest, "update": false}),
            &Ctx::default(),
        );
        assert_eq!(
            (kept.status, kept.data["after"].clone()),
            (Status::Ok, json!(first))
        );
        let missing = run(
            &Git,
            json!({"repo": bare, "dest": root.path().join("none"), "clone": "no"}),
            &Ctx::default(),
        );
        // As Ansible: changed, `after` the remote's commit, nothing written.
        assert_eq!(
            (missing.status, missing.data["before"].clone()),
            (Status::Changed, Value::Null),
            "{missing:?}"
        );
        assert_eq!(
            missing.data["after"],
            git(&bare, &["rev-parse", "HEAD"]).as_str()
        );
        assert!(!root.path().join("none").exists());
        // An unreachable repo is a failure, not a changed with a garbled `after`.
        let gone = run(
            &Git,
            json!({"repo": root.path().join("no-such-repo.git"), "dest": root.path().join("none"), "clone": "no"}),
            &Ctx::default(),
        );
        assert!(gone.is_failed(), "{gone:?}");
        assert!(gone.msg.unwrap().contains("git ls-remote"));
    }

    #[test]
    fn local_modifications_fail_unless_forced_and_depth_clones_shallow() {
        let root = tempfile::tempdir().unwrap();
        let (bare, _work, _first, second) = repo(root.path());
        let dest = root.path().join("c");
        let url = format!("file://{}", bare.display());
        let args = json!({"repo": url, "dest": dest, "depth": 1});
        assert!(run(&Git, args.clone(), &Ctx::default()).is_changed());
        assert_eq!(
            git(&dest, &["rev-list", "--count", "HEAD"]),
            "1",
            "depth 1 is shallow"
        );
        std::fs::write(dest.join("README"), "edited\n").unwrap();
        let r = run(&Git, args.clone(), &Ctx::default());
        assert!(r.is_failed());
        let msg = r.msg.unwrap();
        assert!(
            msg.contains("Local modifications exist") && msg.contains("README"),
            "{msg}"
        );
        assert_eq!(
            std::fs::read_to_string(dest.join("README")).unwrap(),
            "edited\n"
        );
        let forced = run(
            &Git,
            json!({"repo": url, "dest": dest, "depth": 1, "force": true}),
            &Ctx::default(),
        );
        assert_eq!(
            (forced.status, forced.data["after"].clone()),
            (Status::Changed, json!(second)),
            "{forced:?}"
        );
        assert_eq!(
            std::fs::read_to_string(dest.join("README")).unwrap(),
            "two\n"
        );
    }

    #[test]
    fn failures_quote_git() {
        let root = tempfile::tempdir().unwrap();
        let (bare, ..) = repo(root.path());
        let r = run(
            &Git,
            json!({"repo": root.path().join("nope.git"), "dest": root.path().join("x")}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        let msg = r.msg.unwrap();
        assert!(
            msg.contains("cannot clone") && msg.contains("fatal:"),
            "{msg}"
        );
        let r = run(
            &Git,
            json!({"repo": bare, "dest": root.path().join("y"), "version": "no-such-branch"}),
            &Ctx::default(),
        );
        assert!(r
            .msg
            .unwrap()
            .contains("neither a branch, a tag nor a commit"));
        let full = root.path().join("full");
        std::fs::create_dir(&full).unwrap();
        std::fs::write(full.join("f"), "").unwrap();
        let r = run(&Git, json!({"repo": bare, "dest": full}), &Ctx::default());
        assert!(r.msg.unwrap().contains("not an empty directory"));
        assert!(prepare_error(
            &Git,
            json!({"repo": "r", "dest": "/d", "version": "--upload-pack=x"})
        )
        .contains("version"));
    }
}
