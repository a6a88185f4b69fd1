//! `apt`: Debian packages through `apt-get`, as Ansible's `apt` module.
//! Source: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/apt_module.html
//!
//! Facts first: one script updates the cache when asked (`update_cache`,
//! skipped while it is younger than `cache_valid_time`; never in check
//! mode), reads each package's state with `dpkg-query` and what the cache
//! would install with `apt-cache policy`; the controller decides
//! ([`super::decide`]) and a second script runs the one `apt-get install`
//! or `apt-get remove` needed, then reads the states again and fails if
//! apt-get said it succeeded but the packages are not as asked.
//!
//! `deb:` installs a `.deb` file that is on the host (through `apt-get
//! install ./FILE`, so its dependencies come from the repositories; Ansible
//! uses `dpkg -i` after installing them); it is ok when that package is
//! installed at the file's version. `name` takes a list or a comma-separated
//! string; `name=VERSION` pins a version (a trailing `*` matches any rest).
//! Every apt-get waits up to `lock_timeout` seconds (default 60, as
//! Ansible) for another apt or dpkg to finish.
//!
//! `changed`: a package installed, upgraded or removed; with no package
//! and no `deb`, the cache updated. Return values: `cache_updated`,
//! `cache_update_time` (Unix seconds), `stdout` (apt-get's output),
//! `installed`/`removed` (the specs acted on).
//!
//! Not done (refused at load as unknown arguments): `upgrade`,
//! `autoremove`, `autoclean`, `clean`, `force`, `allow_unauthenticated`,
//! `allow_downgrade`, `allow_change_held_packages`, `default_release`,
//! `dpkg_options`, `only_upgrade`, `policy_rc_d`, `fail_on_autoremove`,
//! `update_cache_retries`, `update_cache_retry_max_delay`; states
//! `build-dep` and `fixed`; wildcards in names.
//!
//! Round trips: 1 when nothing changes (or in check mode), 2 otherwise.

use serde_json::json;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::tool;
use crate::modules::packaging::{check_names, decide, Found, PkgState};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;
use crate::transport::ExecOutput;

pub struct Apt;

static SPEC: ModuleSpec = ModuleSpec {
    name: "apt",
    args: &[
        ArgSpec::optional("name").aliases(&["package", "pkg"]),
        ArgSpec::optional("state").choices(&["present", "absent", "latest"]),
        ArgSpec::optional("deb"),
        ArgSpec::optional("update_cache").aliases(&["update-cache"]),
        ArgSpec::optional("cache_valid_time"),
        ArgSpec::optional("purge"),
        ArgSpec::optional("install_recommends").aliases(&["install-recommends"]),
        ArgSpec::optional("lock_timeout"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

/// A prepared apt task.
#[derive(Debug, Clone)]
pub(crate) struct AptTask {
    pub names: Vec<String>,
    pub state: PkgState,
    pub deb: Option<String>,
    pub update_cache: bool,
    pub cache_valid_time: u64,
    pub purge: bool,
    pub install_recommends: Option<bool>,
    pub lock_timeout: u64,
}

/// A list argument the Ansible way: a list, or a comma-separated string.
pub(crate) fn name_list(r: &ArgReader<'_>, arg: &str) -> Result<Vec<String>, ModuleError> {
    Ok(r.string_list(arg)?
        .unwrap_or_default()
        .iter()
        .flat_map(|n| n.split(','))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect())
}

impl AptTask {
    pub fn from_args(args: &Args) -> Result<AptTask, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let names = name_list(&r, "name")?;
        check_names(&names).map_err(ModuleError::Args)?;
        let state = PkgState::parse(r.choice("state")?.as_deref());
        let deb = r.path("deb")?;
        if deb.is_some() && state == PkgState::Absent {
            return Err(ModuleError::Args(
                "`deb` installs a file; to remove its package give `name` with `state: absent`"
                    .into(),
            ));
        }
        Ok(AptTask {
            names,
            state,
            deb,
            update_cache: r.bool("update_cache", false)?,
            cache_valid_time: r.integer("cache_valid_time", 0..=i64::MAX)?.unwrap_or(0) as u64,
            purge: r.bool("purge", false)?,
            install_recommends: r.opt_bool("install_recommends")?,
            lock_timeout: r.integer("lock_timeout", 0..=86_400)?.unwrap_or(60) as u64,
        })
    }

    fn split(spec: &str) -> (String, Option<String>) {
        match spec.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (spec.to_string(), None),
        }
    }

    /// `apt-get` with the options every call gets.
    fn apt_get(&self) -> Vec<String> {
        let mut w: Vec<String> = ["apt-get", "-y", "-q"].map(String::from).to_vec();
        for o in [
            format!("DPkg::Lock::Timeout={}", self.lock_timeout),
            "Dpkg::Options::=--force-confdef".into(),
            "Dpkg::Options::=--force-confold".into(),
        ] {
            w.extend(["-o".into(), o]);
        }
        w
    }

    /// Lines reading each package (`st_I` markers: dpkg status and version,
    /// `cand_I`: the cache's candidate) and the deb file's package.
    fn query_lines(&self, with_candidates: bool) -> String {
        let mut s = String::from(
            r#"_q() {
  _s=$(dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$2" 2>&1); _rc=$?
  case $_rc in
    0) _s=$(printf '%s\n' "$_s" | head -n1); _b "st_$1" "$_s" ;;
    1) _s=; _b "st_$1" "" ;;
    *) _b dpkg-query_rc "$_rc"; _b begin dpkg-query; printf '%s\n' "$_s"; _b end dpkg-query; _fail dpkg-query ;;
  esac
}
_c() { _b "cand_$1" "$(apt-cache policy "$2" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n1)"; }
"#,
        );
        if let Some(deb) = &self.deb {
            let d = shell::quote(deb);
            s.push_str(&format!(
                "[ -f {d} ] || _fail nodeb\n{req}_dp=$(dpkg-deb -f {d} Package 2>&1) || {{ _b begin dpkg-deb; printf '%s\\n' \"$_dp\"; _b end dpkg-deb; _b dpkg-deb_rc 2; _fail dpkg-deb; }}\n_b deb_pkg \"$_dp\"\n_b deb_ver \"$(dpkg-deb -f {d} Version)\"\n_q deb \"$_dp\"\n",
                req = tool::require("dpkg-deb"),
            ));
        }
        for (i, spec) in self.names.iter().enumerate() {
            let (name, pin) = Self::split(spec);
            let n = shell::quote(&name);
            s.push_str(&format!("_q {i} {n}\n"));
            // The cache is read (about a second) only when its answer
            // matters: a package to install, or `latest`.
            match self.state {
                _ if !with_candidates => {}
                PkgState::Absent => {}
                PkgState::Latest => s.push_str(&format!("_c {i} {n}\n")),
                // A pinned version may need installing over another one.
                PkgState::Present if pin.is_some() => s.push_str(&format!("_c {i} {n}\n")),
                PkgState::Present => s.push_str(&format!(
                    "case $_s in \"installed \"*) ;; *) _c {i} {n} ;; esac\n"
                )),
            }
        }
        s
    }

    fn read_script(&self, nonce: &str, check: bool) -> String {
        let mut s = prelude(nonce);
        s.push_str("export DEBIAN_FRONTEND=noninteractive\n");
        s.push_str(&tool::require("dpkg-query"));
        s.push_str(&tool::require("apt-get"));
        s.push_str("_stamp=/var/lib/apt/periodic/update-success-stamp\n[ -e \"$_stamp\" ] || _stamp=/var/lib/apt/lists\n");
        if self.update_cache {
            s.push_str(&format!(
                "_age=$(( $(date +%s) - $(stat -c %Y \"$_stamp\" 2>/dev/null || echo 0) ))\n_upd=1\n[ {v} -gt 0 ] && [ \"$_age\" -lt {v} ] && _upd=0\n",
                v = self.cache_valid_time
            ));
            if check {
                s.push_str("_b cache_would_update \"$_upd\"\n");
            } else {
                let mut w = self.apt_get();
                w.push("update".into());
                s.push_str(&format!(
                    "if [ \"$_upd\" = 1 ]; then\n{}_b cache_updated 1\nfi\n",
                    tool::run("apt-get", &tool::command_line(&w))
                ));
            }
        }
        s.push_str("_b cache_time \"$(stat -c %Y \"$_stamp\" 2>/dev/null)\"\n");
        s.push_str(&self.query_lines(true));
        s.push_str("_b done 1\n");
        s
    }

    /// Installed version from a `st_` marker: `installed 1.0` only; for
    /// removal every state but `not-installed` (and `config-files` unless
    /// purging) counts, so half-installed packages are removed too.
    fn installed(&self, status: &str) -> Option<String> {
        let (st, version) = status.split_once(' ').unwrap_or((status, ""));
        let counts = match self.state {
            PkgState::Absent => match st {
                "" | "not-installed" => false,
                "config-files" => self.purge,
                _ => true,
            },
            _ => st == "installed",
        };
        counts.then(|| version.to_string())
    }

    fn found(&self, answer: &Answer) -> Result<Vec<Found>, Box<TaskResult>> {
        let mut found = Vec::new();
        if let Some(deb) = &self.deb {
            let (Some(pkg), Some(ver), Some(st)) = (
                answer.get("deb_pkg"),
                answer.get("deb_ver"),
                answer.get("st_deb"),
            ) else {
                return Err(Box::new(answer.unexpected()));
            };
            // apt-get reads a file argument only as a path.
            let path = if deb.starts_with('/') || deb.starts_with("./") {
                deb.clone()
            } else {
                format!("./{deb}")
            };
            found.push(Found {
                spec: path,
                name: pkg.to_string(),
                pin: Some(ver.to_string()),
                installed: self.installed(st),
                candidate: Some(ver.to_string()),
            });
        }
        for (i, spec) in self.names.iter().enumerate() {
            let Some(st) = answer.get(&format!("st_{i}")) else {
                return Err(Box::new(answer.unexpected()));
            };
            let (name, pin) = Self::split(spec);
            let candidate = answer
                .get(&format!("cand_{i}"))
                .filter(|c| !c.is_empty() && *c != "(none)")
                .map(str::to_string);
            found.push(Found {
                spec: spec.clone(),
                name,
                pin,
                installed: self.installed(st),
                candidate,
            });
        }
        Ok(found)
    }

    fn failure(answer: &Answer, deb: Option<&str>) -> Option<TaskResult> {
        if answer.failure() == Some("nodeb") {
            return Some(TaskResult::failed(format!(
                "deb file {} not found on the host",
                deb.unwrap_or_default()
            )));
        }
        if let Some(r) = tool::failure(answer) {
            return Some(r);
        }
        if answer.failure().is_some() || answer.get("done") != Some("1") {
            return Some(answer.unexpected());
        }
        None
    }

    /// The step: read, decide, act, verify.
    pub fn step(self, nonce: &str, check: bool, diff: bool) -> Step {
        let nonce = nonce.to_string();
        Step::Exclusive(
            "apt".into(),
            Box::new(Step::Remote {
                script: self.read_script(&nonce, check),
                interpret: Box::new(move |out| self.after_read(out, nonce, check, diff)),
            }),
        )
    }

    fn cache_data(r: &mut TaskResult, answer: &Answer, updated: bool) {
        r.data.insert("cache_updated".into(), json!(updated));
        if let Some(t) = answer.get("cache_time").and_then(|t| t.parse::<u64>().ok()) {
            r.data.insert("cache_update_time".into(), json!(t));
        }
    }

    fn after_read(self, out: &ExecOutput, nonce: String, check: bool, diff: bool) -> Step {
        let answer = Answer::parse(out, &nonce);
        if let Some(r) = Self::failure(&answer, self.deb.as_deref()) {
            return Step::Done(r);
        }
        let cache_updated = answer.flag("cache_updated");
        let found = match self.found(&answer) {
            Ok(f) => f,
            Err(r) => return Step::Done(*r),
        };
        let todo = match decide(self.state, &found) {
            Ok(t) => t,
            Err(e) => return Step::Done(TaskResult::failed(e)),
        };
        if todo.is_empty() {
            let cache_changed = cache_updated || answer.flag("cache_would_update");
            let mut r = if cache_changed && self.names.is_empty() && self.deb.is_none() {
                TaskResult::changed().with_msg("apt cache updated")
            } else {
                TaskResult::ok()
            };
            Self::cache_data(&mut r, &answer, cache_updated);
            return Step::Done(r);
        }
        if check {
            let mut r = todo.result(diff);
            Self::cache_data(&mut r, &answer, false);
            return Step::Done(r);
        }
        let mut s = prelude(&nonce);
        s.push_str("export DEBIAN_FRONTEND=noninteractive\n");
        if !todo.install.is_empty() {
            let mut w = self.apt_get();
            match self.install_recommends {
                Some(false) => w.push("--no-install-recommends".into()),
                Some(true) => w.extend(["-o".into(), "APT::Install-Recommends=yes".into()]),
                None => {}
            }
            w.push("install".into());
            w.extend(todo.install.iter().cloned());
            s.push_str(&tool::run("apt-get", &tool::command_line(&w)));
        } else {
            let mut w = self.apt_get();
            w.push("remove".into());
            if self.purge {
                w.push("--purge".into());
            }
            w.extend(todo.remove.iter().cloned());
            s.push_str(&tool::run("apt-get", &tool::command_line(&w)));
        }
        s.push_str(&self.query_lines(false));
        s.push_str("_b done 1\n");
        Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let after = Answer::parse(out, &nonce);
                if let Some(r) = Self::failure(&after, self.deb.as_deref()) {
                    return Step::Done(r);
                }
                let output = tool::output(&after, "apt-get").map(|(_, o)| o);
                // apt-get said yes; check the packages are as asked.
                let found = match self.found(&after) {
                    Ok(f) => f,
                    Err(r) => return Step::Done(*r),
                };
                let wrong: Vec<&str> = found
                    .iter()
                    .filter(|f| match self.state {
                        PkgState::Absent => f.installed.is_some(),
                        _ => f.installed.is_none(),
                    })
                    .map(|f| f.name.as_str())
                    .collect();
                if !wrong.is_empty() {
                    let mut r = TaskResult::failed(format!(
                        "apt-get exited 0 but {} {} not {}: {}",
                        wrong.join(", "),
                        if wrong.len() == 1 { "is" } else { "are" },
                        if self.state == PkgState::Absent {
                            "removed"
                        } else {
                            "installed"
                        },
                        output.clone().unwrap_or_default()
                    ));
                    r.stdout = output;
                    return Step::Done(r);
                }
                let mut r: TaskResult = todo.result(diff);
                r.stdout = output;
                Self::cache_data(&mut r, &answer, cache_updated);
                Step::Done(r)
            }),
        }
    }
}

impl Module for Apt {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        Ok(AptTask::from_args(args)?.step(ctx.nonce, ctx.check_mode, ctx.diff))
    }
}

/// Test support: a tiny `.deb` built with `dpkg-deb` whose one file is
/// under /opt, and its removal (even when a test fails).
#[cfg(test)]
pub(crate) mod testdeb {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Removes the package when dropped.
    pub struct Installed(pub String);

    impl Drop for Installed {
        fn drop(&mut self) {
            // apt-get waits for the dpkg lock (tests run in parallel).
            let _ = Command::new("apt-get")
                .args([
                    "-y",
                    "-q",
                    "-o",
                    "DPkg::Lock::Timeout=120",
                    "purge",
                    &self.0,
                ])
                .output();
        }
    }

    /// A unique package name `baton-test-...` and the guard that purges it.
    pub fn name(tag: &str) -> (String, Installed) {
        use std::time::{SystemTime, UNIX_EPOCH};
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("baton-test-{tag}-{}-{nanos}", std::process::id());
        (name.clone(), Installed(name))
    }

    /// Build `NAME_VERSION.deb` in `dir` installing /opt/NAME/hello.txt.
    pub fn build(dir: &Path, name: &str, version: &str) -> PathBuf {
        let root = dir.join(format!("{name}-{version}"));
        std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
        std::fs::create_dir_all(root.join("opt").join(name)).unwrap();
        std::fs::write(
            root.join("opt").join(name).join("hello.txt"),
            format!("{version}\n"),
        )
        .unwrap();
        std::fs::write(
            root.join("DEBIAN/control"),
            format!("Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: baton tests <baton@localhost>\nDescription: baton test package (files under /opt only)\n"),
        )
        .unwrap();
        let deb = dir.join(format!("{name}_{version}.deb"));
        let out = Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(&root)
            .arg(&deb)
            .output()
            .expect("dpkg-deb");
        assert!(out.status.success(), "{out:?}");
        deb
    }

    /// Install a `.deb` directly, as a hand would (waiting for the lock).
    pub fn install(deb: &Path) {
        let out = Command::new("apt-get")
            .args(["-y", "-q", "-o", "DPkg::Lock::Timeout=120", "install"])
            .arg(deb)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    pub fn status(name: &str) -> String {
        let out = Command::new("dpkg-query")
            .args(["-W", "-f=${db:Status-Status} ${Version}", name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    #[test]
    fn a_local_deb_is_installed_upgraded_and_removed_once() {
        let dir = tempfile::tempdir().unwrap();
        let (name, _guard) = testdeb::name("apt");
        let v1 = testdeb::build(dir.path(), &name, "1.0");
        let v2 = testdeb::build(dir.path(), &name, "2.0");
        let file = std::path::Path::new("/opt").join(&name).join("hello.txt");
        let check = Ctx {
            check: true,
            diff: true,
            ..Ctx::default()
        };
        let args = json!({"deb": v1});
        let dry = run(&Apt, args.clone(), &check);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(dry.diff[0].after, format!("{name}: 1.0\n"));
        assert_eq!(testdeb::status(&name), "", "check mode installed nothing");

        let first = run(&Apt, args.clone(), &Ctx::default());
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(testdeb::status(&name), "installed 1.0");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "1.0\n");
        assert_eq!(run(&Apt, args, &Ctx::default()).status, Status::Ok);
        // present by name: installed, so ok, and no repository is asked.
        let by_name = json!({"name": name});
        assert_eq!(
            run(&Apt, by_name.clone(), &Ctx::default()).status,
            Status::Ok
        );

        let newer = json!({"deb": v2});
        assert_eq!(run(&Apt, newer.clone(), &check).status, Status::Changed);
        assert_eq!(testdeb::status(&name), "installed 1.0");
        assert_eq!(
            run(&Apt, newer.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert_eq!(testdeb::status(&name), "installed 2.0");
        assert_eq!(run(&Apt, newer, &Ctx::default()).status, Status::Ok);

        let gone = json!({"name": [name.clone()], "state": "absent", "purge": true});
        assert_eq!(run(&Apt, gone.clone(), &check).status, Status::Changed);
        assert_eq!(testdeb::status(&name), "installed 2.0");
        let r = run(&Apt, gone.clone(), &Ctx::default());
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert!(!file.exists());
        assert_eq!(testdeb::status(&name), "");
        assert_eq!(run(&Apt, gone, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn failures_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (name, _guard) = testdeb::name("none");
        let r = run(&Apt, json!({"name": name}), &Ctx::default());
        assert_eq!(
            r.msg.as_deref(),
            Some(format!("No package matching '{name}' is available").as_str())
        );
        let missing = dir.path().join("gone.deb");
        let r = run(&Apt, json!({"deb": missing}), &Ctx::default());
        assert!(r.msg.unwrap().contains("not found on the host"));
        let bad = dir.path().join("bad.deb");
        std::fs::write(&bad, "not a deb").unwrap();
        let r = run(&Apt, json!({"deb": bad}), &Ctx::default());
        assert!(
            r.msg.clone().unwrap().starts_with("dpkg-deb failed"),
            "{r:?}"
        );
        assert!(prepare_error(&Apt, json!({"name": "-x"})).contains("not a package name"));
        assert!(
            prepare_error(&Apt, json!({"deb": "a.deb", "state": "absent"}))
                .contains("`deb` installs")
        );
    }

    /// update_cache with a fake `apt-get` that logs its calls (the real
    /// one would need the network); dpkg-query and the cache stamp are real.
    #[test]
    fn the_cache_is_updated_only_when_asked_and_old() {
        use crate::modules::kit::testutil::finish_with_env;
        use crate::modules::TaskContext;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let tool = dir.path().join("apt-get");
        std::fs::write(
            &tool,
            format!(
                "#!/bin/sh\necho \"$*\" >>{}\necho 'Reading package lists...'\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap()
        );
        let go = |args: serde_json::Value, check: bool| {
            let ctx = Ctx::default();
            let context = TaskContext {
                host: "h",
                check_mode: check,
                diff: false,
                nonce: "upd",
                search_paths: &[],
                eval: &ctx.eval,
            };
            let step = Apt.prepare(args.as_object().unwrap(), &context).unwrap();
            finish_with_env(step, &[("PATH", path.as_str())]).0
        };
        let calls = || std::fs::read_to_string(&log).unwrap_or_default();
        let dry = go(json!({"update_cache": true}), true);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(calls(), "", "check mode never updates");
        let r = go(json!({"update_cache": true}), false);
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert_eq!(r.data["cache_updated"], true);
        assert!(calls().contains("DPkg::Lock::Timeout=60"), "{}", calls());
        assert!(calls().trim_end().ends_with(" update"), "{}", calls());
        // A cache younger than ten years is left alone: ok, no call.
        std::fs::remove_file(&log).unwrap();
        let r = go(
            json!({"update_cache": true, "cache_valid_time": 315_360_000}),
            false,
        );
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.data["cache_updated"], false);
        assert_eq!(calls(), "");
        // With a package that is already installed, an update is not a change.
        let r = go(json!({"update_cache": true, "name": "dpkg"}), false);
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.data["cache_updated"], true);
        let names = AptTask::from_args(json!({"name": "a, b"}).as_object().unwrap()).unwrap();
        assert_eq!(names.names, vec!["a", "b"]);
    }
}
