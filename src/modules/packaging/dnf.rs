//! `dnf`: RPM packages through `dnf`, as Ansible's `dnf` module (its main
//! options). Source: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/dnf_module.html
//!
//! Facts first: `rpm -q` reads each package's installed version and `dnf
//! repoquery --latest-limit=1` what the repositories offer; the controller
//! decides ([`super::decide`]) and a second script runs `dnf -y install`
//! (missing packages), `dnf -y upgrade` (outdated ones, `state: latest`) or
//! `dnf -y remove`, then reads the versions again and fails if dnf said it
//! succeeded but the packages are not as asked. `package` uses the same
//! code with `yum` when `ansible_pkg_mgr` is `yum` (its command line is the
//! same for these verbs).
//!
//! Tested only against a fake `dnf` and `rpm` (this project's machines are
//! Debian): the script's commands and the reading of their answers are
//! what the tests check.
//!
//! `changed`: a package installed, upgraded or removed. Return values:
//! `stdout` (dnf's output), `installed`/`removed`. Not done (refused at
//! load as unknown arguments): `enablerepo`, `disablerepo`, `conf_file`,
//! `disable_gpg_check`, `installroot`, `releasever`, `autoremove`,
//! `exclude`, `skip_broken`, `update_cache`, `update_only`, `security`,
//! `bugfix`, `enable_plugin`, `disable_plugin`, `download_only`,
//! `allowerasing`, `nobest`, `cacheonly`, `lock_timeout`, `install_weak_deps`,
//! `download_dir`, `list`, `allow_downgrade`, `validate_certs`,
//! `sslverify`, `use_backend`; version pins (`name-1.2`) are passed to dnf
//! but not compared.
//!
//! Round trips: 1 when nothing changes (or in check mode), 2 otherwise.

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::tool;
use crate::modules::packaging::apt::name_list;
use crate::modules::packaging::{check_names, decide, Found, PkgState};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;
use crate::transport::ExecOutput;

pub struct Dnf;

static SPEC: ModuleSpec = ModuleSpec {
    name: "dnf",
    args: &[
        ArgSpec::optional("name").aliases(&["pkg"]),
        ArgSpec::optional("state").choices(&[
            "present",
            "installed",
            "absent",
            "removed",
            "latest",
        ]),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

#[derive(Debug, Clone)]
pub(crate) struct DnfTask {
    /// `dnf` or `yum`.
    pub binary: &'static str,
    pub names: Vec<String>,
    pub state: PkgState,
}

impl DnfTask {
    fn query_lines(&self, with_candidates: bool) -> String {
        let mut s = format!(
            r#"_q() {{
  _s=$(rpm -q --qf '%{{VERSION}}-%{{RELEASE}}\n' "$2" 2>&1); _rc=$?
  case $_rc in
    0) _s=$(printf '%s\n' "$_s" | head -n1); _b "st_$1" "$_s" ;;
    1) _s=; _b "st_$1" "" ;;
    *) _b rpm_rc "$_rc"; _b begin rpm; printf '%s\n' "$_s"; _b end rpm; _fail rpm ;;
  esac
}}
_c() {{ _b "cand_$1" "$({bin} -q repoquery --latest-limit=1 --qf '%{{version}}-%{{release}}\n' "$2" 2>/dev/null | tail -n1)"; }}
"#,
            bin = shell::quote(self.binary)
        );
        for (i, name) in self.names.iter().enumerate() {
            let n = shell::quote(name);
            s.push_str(&format!("_q {i} {n}\n"));
            // The repositories are asked only when their answer matters.
            match self.state {
                _ if !with_candidates => {}
                PkgState::Absent => {}
                PkgState::Latest => s.push_str(&format!("_c {i} {n}\n")),
                PkgState::Present => s.push_str(&format!("[ -n \"$_s\" ] || _c {i} {n}\n")),
            }
        }
        s
    }

    fn found(&self, answer: &Answer) -> Result<Vec<Found>, Box<TaskResult>> {
        let mut found = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            let Some(st) = answer.get(&format!("st_{i}")) else {
                return Err(Box::new(answer.unexpected()));
            };
            found.push(Found {
                spec: name.clone(),
                name: name.clone(),
                pin: None,
                installed: Some(st.to_string()).filter(|s| !s.is_empty()),
                candidate: answer
                    .get(&format!("cand_{i}"))
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            });
        }
        Ok(found)
    }

    fn failure(answer: &Answer) -> Option<TaskResult> {
        if let Some(r) = tool::failure(answer) {
            return Some(r);
        }
        if answer.failure().is_some() || answer.get("done") != Some("1") {
            return Some(answer.unexpected());
        }
        None
    }

    pub fn step(self, nonce: &str, check: bool, diff: bool) -> Step {
        let mut s = prelude(nonce);
        s.push_str(&tool::require("rpm"));
        s.push_str(&tool::require(self.binary));
        s.push_str(&self.query_lines(true));
        s.push_str("_b done 1\n");
        let nonce = nonce.to_string();
        Step::Exclusive(
            "rpm".into(),
            Box::new(Step::Remote {
                script: s,
                interpret: Box::new(move |out| self.after_read(out, nonce, check, diff)),
            }),
        )
    }

    fn after_read(self, out: &ExecOutput, nonce: String, check: bool, diff: bool) -> Step {
        let answer = Answer::parse(out, &nonce);
        if let Some(r) = Self::failure(&answer) {
            return Step::Done(r);
        }
        let found = match self.found(&answer) {
            Ok(f) => f,
            Err(r) => return Step::Done(*r),
        };
        let todo = match decide(self.state, &found) {
            Ok(t) => t,
            Err(e) => return Step::Done(TaskResult::failed(e)),
        };
        if todo.is_empty() {
            return Step::Done(TaskResult::ok());
        }
        if check {
            return Step::Done(todo.result(diff));
        }
        let mut s = prelude(&nonce);
        let (missing, outdated): (Vec<&Found>, Vec<&Found>) = found
            .iter()
            .filter(|f| todo.install.contains(&f.spec))
            .partition(|f| f.installed.is_none());
        for (verb, list) in [("install", &missing), ("upgrade", &outdated)] {
            if !list.is_empty() {
                let mut w = vec![self.binary.to_string(), "-y".into(), verb.into()];
                w.extend(list.iter().map(|f| f.spec.clone()));
                s.push_str(&tool::run(self.binary, &tool::command_line(&w)));
            }
        }
        if !todo.remove.is_empty() {
            let mut w = vec![self.binary.to_string(), "-y".into(), "remove".into()];
            w.extend(todo.remove.iter().cloned());
            s.push_str(&tool::run(self.binary, &tool::command_line(&w)));
        }
        s.push_str(&self.query_lines(false));
        s.push_str("_b done 1\n");
        Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let after = Answer::parse(out, &nonce);
                if let Some(r) = Self::failure(&after) {
                    return Step::Done(r);
                }
                let output = tool::output(&after, self.binary).map(|(_, o)| o);
                let found = match self.found(&after) {
                    Ok(f) => f,
                    Err(r) => return Step::Done(*r),
                };
                let wrong: Vec<&str> = found
                    .iter()
                    .filter(|f| (self.state == PkgState::Absent) == f.installed.is_some())
                    .map(|f| f.name.as_str())
                    .collect();
                if !wrong.is_empty() {
                    return Step::Done(TaskResult::failed(format!(
                        "{} exited 0 but {} not as asked ({}): {}",
                        self.binary,
                        wrong.join(", "),
                        if self.state == PkgState::Absent {
                            "still installed"
                        } else {
                            "not installed"
                        },
                        output.unwrap_or_default()
                    )));
                }
                let mut r = todo.result(diff);
                r.stdout = output;
                Step::Done(r)
            }),
        }
    }
}

impl Module for Dnf {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let names = name_list(&r, "name")?;
        check_names(&names).map_err(ModuleError::Args)?;
        let task = DnfTask {
            binary: "dnf",
            names,
            state: PkgState::parse(r.choice("state")?.as_deref()),
        };
        Ok(task.step(ctx.nonce, ctx.check_mode, ctx.diff))
    }
}

/// Test support: fake `dnf` and `rpm` keeping the installed set in
/// `$FAKE_RPMDB` (lines `name version`) and offering the packages listed in
/// `$FAKE_REPO` (same format); they log their calls to `$FAKE_LOG`.
#[cfg(test)]
pub(crate) mod fake {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    pub fn tools(dir: &Path, binary: &str) -> String {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let rpm = r#"#!/bin/sh
echo "rpm $*" >>"$FAKE_LOG"
[ "$1" = -q ] || exit 2
for n; do last=$n; done
v=$(awk -v n="$last" '$1==n {print $2}' "$FAKE_RPMDB" 2>/dev/null)
[ -n "$v" ] || { echo "package $last is not installed"; exit 1; }
echo "$v"
"#;
        let dnf = r#"#!/bin/sh
echo "${0##*/} $*" >>"$FAKE_LOG"
[ "$1" = -q ] && shift
case $1 in
  repoquery) for n; do last=$n; done; awk -v n="$last" '$1==n {print $2}' "$FAKE_REPO"; exit 0 ;;
  -y) shift ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
verb=$1; shift
touch "$FAKE_RPMDB"
for n; do
  case $verb in
    install|upgrade)
      v=$(awk -v n="$n" '$1==n {print $2}' "$FAKE_REPO")
      [ -n "$v" ] || { echo "Error: Unable to find a match: $n" >&2; exit 1; }
      grep -v "^$n " "$FAKE_RPMDB" >"$FAKE_RPMDB.new"; echo "$n $v" >>"$FAKE_RPMDB.new"; mv "$FAKE_RPMDB.new" "$FAKE_RPMDB"
      echo "Installed: $n-$v" ;;
    remove) grep -v "^$n " "$FAKE_RPMDB" >"$FAKE_RPMDB.new"; mv "$FAKE_RPMDB.new" "$FAKE_RPMDB"; echo "Removed: $n" ;;
  esac
done
"#;
        for (name, text) in [("rpm", rpm), (binary, dnf)] {
            let p = bin.join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, Ctx};
    use crate::modules::Status;
    use serde_json::{json, Value};

    pub(crate) fn run_env(args: Value, check: bool, env: &[(&str, &str)]) -> TaskResult {
        let args = args.as_object().cloned().unwrap();
        let ctx = Ctx::default();
        let context = TaskContext {
            host: "h",
            check_mode: check,
            diff: true,
            nonce: "dnf0",
            search_paths: &[],
            eval: &ctx.eval,
        };
        finish_with_env(Dnf.prepare(&args, &context).unwrap(), env).0
    }

    #[test]
    fn installs_upgrades_and_removes_through_dnf_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake::tools(dir.path(), "dnf");
        let (db, repo, log) = (
            dir.path().join("db"),
            dir.path().join("repo"),
            dir.path().join("log"),
        );
        std::fs::write(&repo, "hvr-agent 5.7-1\ncurl 8.0-2\n").unwrap();
        std::fs::write(&db, "curl 7.0-1\n").unwrap();
        let env = [
            ("PATH", path.as_str()),
            ("FAKE_RPMDB", db.to_str().unwrap()),
            ("FAKE_REPO", repo.to_str().unwrap()),
            ("FAKE_LOG", log.to_str().unwrap()),
        ];
        let args = json!({"name": ["hvr-agent", "curl"]});
        let dry = run_env(args.clone(), true, &env);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(dry.diff[0].after, "hvr-agent: 5.7-1\n");
        assert_eq!(std::fs::read_to_string(&db).unwrap(), "curl 7.0-1\n");
        let first = run_env(args.clone(), false, &env);
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert!(std::fs::read_to_string(&log)
            .unwrap()
            .contains("dnf -y install hvr-agent\n"));
        assert_eq!(run_env(args, false, &env).status, Status::Ok);

        let latest = json!({"name": "curl,hvr-agent", "state": "latest"});
        assert_eq!(run_env(latest.clone(), false, &env).status, Status::Changed);
        assert!(std::fs::read_to_string(&log)
            .unwrap()
            .contains("dnf -y upgrade curl\n"));
        assert!(std::fs::read_to_string(&db).unwrap().contains("curl 8.0-2"));
        assert_eq!(run_env(latest, false, &env).status, Status::Ok);

        let gone = json!({"name": "curl", "state": "removed"});
        assert_eq!(run_env(gone.clone(), true, &env).status, Status::Changed);
        assert_eq!(run_env(gone.clone(), false, &env).status, Status::Changed);
        assert!(!std::fs::read_to_string(&db).unwrap().contains("curl"));
        assert_eq!(run_env(gone, false, &env).status, Status::Ok);

        let r = run_env(json!({"name": "nothere"}), false, &env);
        assert_eq!(
            r.msg.as_deref(),
            Some("No package matching 'nothere' is available")
        );
    }

    #[test]
    fn a_dnf_that_lies_or_fails_is_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake::tools(dir.path(), "dnf");
        let (db, repo, log) = (
            dir.path().join("db"),
            dir.path().join("repo"),
            dir.path().join("log"),
        );
        std::fs::write(&repo, "x 1-1\n").unwrap();
        // A dnf that exits 0 without installing anything.
        std::fs::write(
            dir.path().join("bin/dnf"),
            "#!/bin/sh\n[ \"$1\" = -q ] && { echo 1-1; exit 0; }\necho 'Nothing to do.'\n",
        )
        .unwrap();
        let env = [
            ("PATH", path.as_str()),
            ("FAKE_RPMDB", db.to_str().unwrap()),
            ("FAKE_REPO", repo.to_str().unwrap()),
            ("FAKE_LOG", log.to_str().unwrap()),
        ];
        let r = run_env(json!({"name": "x"}), false, &env);
        assert_eq!(
            r.msg.as_deref(),
            Some("dnf exited 0 but x not as asked (not installed): Nothing to do.")
        );
        std::fs::write(dir.path().join("bin/dnf"), "#!/bin/sh\n[ \"$1\" = -q ] && { echo 1-1; exit 0; }\necho 'Error: Failed to download metadata for repo' >&2; exit 1\n").unwrap();
        let r = run_env(json!({"name": "x"}), false, &env);
        assert_eq!(
            r.msg.as_deref(),
            Some("dnf failed (exit status 1): Error: Failed to download metadata for repo")
        );
        let bare = tempfile::tempdir().unwrap();
        for t in ["sh", "cat"] {
            std::os::unix::fs::symlink(format!("/bin/{t}"), bare.path().join(t)).unwrap();
        }
        let r = run_env(
            json!({"name": "x"}),
            false,
            &[("PATH", bare.path().to_str().unwrap())],
        );
        assert_eq!(r.msg.as_deref(), Some("rpm not found on host"));
    }
}
