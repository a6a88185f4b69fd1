//! The module suite: every module over a real [`Connection`], checking what
//! the issue asks of each: first run changed, second run ok, check mode
//! changes nothing (verified on disk), diffs filled, and the failure modes.
//!
//! The suite takes any connection and a scratch directory the connection's
//! shell can use. The local tests below run it over `Connection::Local`; an
//! SSH run only needs a connection to a loopback sshd (the directory is then
//! on the same machine, so the checks on disk still hold).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use baton::modules::{self, Evaluator, Status, Step, TaskContext, TaskResult};
use baton::transport::{Connection, ExecRequest};
use serde_json::{json, Map, Value};

static LOCAL_VIEW: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
static CONTROLLER_ADDRESS: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The address of this test process as the host under test reaches it
/// (127.0.0.1 unless set; a lab node reaches the controller at the lab's .1).
pub fn set_controller_address(address: String) {
    let _ = CONTROLLER_ADDRESS.set(address);
}

/// Let the suite check a host whose files the test process does not see at
/// the same paths: a lab node's files are under `/proc/<node init>/root`.
pub fn set_local_view(prefix: PathBuf) {
    let _ = LOCAL_VIEW.set(prefix);
}

/// Where this test process sees a path of the host under test.
pub fn here(path: impl AsRef<Path>) -> PathBuf {
    let path = path.as_ref();
    match LOCAL_VIEW.get() {
        Some(prefix) => prefix.join(path.strip_prefix("/").unwrap_or(path)),
        None => path.to_path_buf(),
    }
}

/// Renders with handlebars (strict) from fixed variables; conditions are the
/// literals `true` and `false`.
pub struct TestEval {
    pub vars: Map<String, Value>,
}

impl Evaluator for TestEval {
    fn render(&self, _name: &str, text: &str) -> Result<String, String> {
        let mut hb = handlebars::Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        hb.render_template(text, &self.vars)
            .map_err(|e| e.to_string())
    }
    fn condition(&self, expr: &str) -> Result<bool, String> {
        match expr.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("cannot evaluate `{other}`")),
        }
    }
    fn lookup(&self, path: &str) -> Result<Option<Value>, String> {
        let found = (|| {
            let mut parts = path.split('.');
            let mut cur = self.vars.get(parts.next()?)?;
            for part in parts {
                cur = cur.get(part)?;
            }
            Some(cur.clone())
        })();
        Ok(found)
    }
}

#[derive(Clone, Copy, Default)]
pub struct Mode {
    pub check: bool,
    pub diff: bool,
}

pub const NORMAL: Mode = Mode {
    check: false,
    diff: false,
};
const CHECK: Mode = Mode {
    check: true,
    diff: true,
};
const DIFF: Mode = Mode {
    check: false,
    diff: true,
};

/// Runs modules the way the executor does: prepare, send each script over the
/// connection, feed the answer back, until the result.
pub struct Harness<'a> {
    pub conn: &'a Connection,
    pub eval: TestEval,
    pub search: Vec<PathBuf>,
}

/// A result plus how many round trips it took.
pub struct Run {
    pub result: TaskResult,
    pub trips: usize,
}

impl<'a> Harness<'a> {
    pub fn new(conn: &'a Connection) -> Harness<'a> {
        Harness {
            conn,
            eval: TestEval { vars: Map::new() },
            search: Vec::new(),
        }
    }

    pub async fn run_counted(&self, module: &str, args: Value, mode: Mode) -> Run {
        let module = modules::find(module).unwrap_or_else(|| panic!("no module {module}"));
        let args = args.as_object().cloned().expect("args must be a mapping");
        let nonce = baton::shell::new_nonce();
        let ctx = TaskContext {
            host: "suite",
            check_mode: mode.check,
            diff: mode.diff,
            nonce: &nonce,
            search_paths: &self.search,
            eval: &self.eval,
        };
        let mut step = match module.prepare(&args, &ctx) {
            Ok(step) => step,
            Err(e) => {
                return Run {
                    result: TaskResult::failed(e.to_string()),
                    trips: 0,
                }
            }
        };
        let mut trips = 0;
        loop {
            match step {
                Step::Done(result) => return Run { result, trips },
                Step::Sleep(d, result) => {
                    tokio::time::sleep(d).await;
                    return Run { result, trips };
                }
                Step::Wait(d, next) => {
                    tokio::time::sleep(d).await;
                    step = *next;
                }
                Step::Exclusive(_, next) => step = *next,
                // No stop request reaches these runs.
                Step::UnlessStopped { next, .. } => step = *next,
                // The executor's job (tests/reboot.rs runs it through `baton run`).
                Step::Reconnect(rc) => {
                    return Run {
                        result: TaskResult::failed(format!(
                            "the module suite does not reconnect ({})",
                            rc.action
                        )),
                        trips,
                    }
                }
                Step::Remote { script, interpret } => {
                    trips += 1;
                    let out = self
                        .conn
                        .exec(&ExecRequest {
                            script,
                            timeout: Some(Duration::from_secs(60)),
                            ..ExecRequest::default()
                        })
                        .await
                        .expect("transport");
                    step = interpret(&out);
                }
            }
        }
    }

    pub async fn run(&self, module: &str, args: Value, mode: Mode) -> TaskResult {
        self.run_counted(module, args, mode).await.result
    }

    /// Whether the connection's user is root (chown tests need it).
    pub async fn is_root(&self) -> bool {
        let r = self.run("command", json!({"cmd": "id -u"}), NORMAL).await;
        r.stdout.as_deref() == Some("0")
    }
}

/// Everything under `root`: type, mode, owner and content (or link target).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![here(root)];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let what = if meta.file_type().is_symlink() {
                format!("link {:?}", std::fs::read_link(&path).ok())
            } else if meta.is_dir() {
                todo.push(path.clone());
                "dir".to_string()
            } else {
                format!("file {:?}", std::fs::read(&path).ok())
            };
            out.insert(
                path,
                format!(
                    "{what} {:o} {}:{}",
                    meta.permissions().mode() & 0o7777,
                    meta.uid(),
                    meta.gid()
                ),
            );
        }
    }
    out
}

/// Runs `module` in check mode and asserts nothing under `root` changed.
async fn check_changes_nothing(
    h: &Harness<'_>,
    root: &Path,
    module: &str,
    args: Value,
) -> TaskResult {
    let before = snapshot(root);
    let r = h.run(module, args, CHECK).await;
    assert_eq!(
        snapshot(root),
        before,
        "{module} in check mode changed files: {r:?}"
    );
    r
}

fn assert_status(r: &TaskResult, want: Status, what: &str) {
    assert_eq!(r.status, want, "{what}: {r:?}");
}

pub fn p(root: &Path, name: &str) -> String {
    root.join(name).display().to_string()
}

pub async fn command_suite(h: &Harness<'_>, root: &Path) {
    let flag = p(root, "command.flag");
    let args = json!({"cmd": format!("touch {flag}"), "creates": flag});
    let dry = check_changes_nothing(h, root, "command", args.clone()).await;
    // Ansible: `creates` missing in check mode means the command would run.
    assert_status(&dry, Status::Changed, "command check mode");
    assert!(dry.msg.unwrap().contains("would have run"));
    assert_status(
        &h.run("command", args.clone(), NORMAL).await,
        Status::Changed,
        "command first run",
    );
    assert!(here(&flag).exists());
    let again = h.run("command", args.clone(), NORMAL).await;
    assert_status(&again, Status::Ok, "command second run (creates)");
    assert_status(
        &h.run("command", args, CHECK).await,
        Status::Ok,
        "command check mode with creates met",
    );

    let out = h
        .run(
            "command",
            json!({"argv": ["printf", "%s\\n", "a b", "$HOME"]}),
            NORMAL,
        )
        .await;
    assert_eq!(out.stdout.as_deref(), Some("a b\n$HOME"));
    let failed = h
        .run("command", json!({"cmd": "ls /definitely/not/here"}), NORMAL)
        .await;
    assert_status(&failed, Status::Failed, "command rc != 0");
    assert_eq!(failed.msg.as_deref(), Some("non-zero return code"));
    assert_ne!(failed.rc, Some(0));
    assert!(!failed.stderr.unwrap_or_default().is_empty());
    let missing = h
        .run("command", json!({"cmd": "no-such-binary-baton"}), NORMAL)
        .await;
    assert!(missing
        .msg
        .unwrap()
        .contains("command not found on the host"));
}

pub async fn shell_suite(h: &Harness<'_>, root: &Path) {
    let out = p(root, "shell.out");
    let args = json!({"cmd": format!("echo one | tr a-z A-Z > {out}"), "creates": out});
    check_changes_nothing(h, root, "shell", args.clone()).await;
    assert_status(
        &h.run("shell", args.clone(), NORMAL).await,
        Status::Changed,
        "shell first run",
    );
    assert_eq!(std::fs::read_to_string(here(&out)).unwrap(), "ONE\n");
    assert_status(
        &h.run("shell", args, NORMAL).await,
        Status::Ok,
        "shell second run",
    );
    let failed = h
        .run("shell", json!({"cmd": "echo partial; exit 3"}), NORMAL)
        .await;
    assert_eq!(
        (failed.status, failed.rc, failed.stdout.as_deref()),
        (Status::Failed, Some(3), Some("partial"))
    );
    let stdin = h
        .run(
            "shell",
            json!({"cmd": "cat", "stdin": "from stdin"}),
            NORMAL,
        )
        .await;
    assert_eq!(stdin.stdout.as_deref(), Some("from stdin"));
    let raw = h
        .run("raw", json!({"cmd": "echo raw; echo err >&2"}), NORMAL)
        .await;
    assert_eq!(
        (raw.stdout.as_deref(), raw.stderr.as_deref()),
        (Some("raw"), Some("err"))
    );
    let raw_check = check_changes_nothing(
        h,
        root,
        "raw",
        json!({"cmd": format!("touch {}", p(root, "raw"))}),
    )
    .await;
    assert_status(&raw_check, Status::Skipped, "raw in check mode");
}

// The suites are long on purpose: each is one module's checklist in order.
pub async fn copy_suite(h: &Harness<'_>, root: &Path) {
    let dest = p(root, "copy.txt");
    let args = json!({"content": "one\n", "dest": dest, "mode": "0640"});
    let dry = check_changes_nothing(h, root, "copy", args.clone()).await;
    assert_status(&dry, Status::Changed, "copy check mode");
    assert_eq!(dry.diff[0].after, "one\n");
    let first = h.run("copy", args.clone(), DIFF).await;
    assert_status(&first, Status::Changed, "copy first run");
    assert_eq!(first.diff[0].before, "");
    assert_eq!(std::fs::read_to_string(here(&dest)).unwrap(), "one\n");
    assert_eq!(
        std::fs::metadata(here(&dest)).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    let second = h.run_counted("copy", args, NORMAL).await;
    assert_status(&second.result, Status::Ok, "copy second run");
    assert_eq!(second.trips, 1);

    // New content: check mode shows the diff and leaves the file, a backup keeps the old one.
    let update = json!({"content": "two\n", "dest": dest, "backup": true});
    let dry = check_changes_nothing(h, root, "copy", update.clone()).await;
    assert_eq!(
        (dry.diff[0].before.as_str(), dry.diff[0].after.as_str()),
        ("one\n", "two\n")
    );
    let updated = h.run("copy", update, NORMAL).await;
    assert_status(&updated, Status::Changed, "copy update");
    let backup = updated.data["backup_file"]
        .as_str()
        .expect("backup_file")
        .to_string();
    assert_eq!(std::fs::read_to_string(here(&backup)).unwrap(), "one\n");
    assert_eq!(
        std::fs::metadata(here(&dest)).unwrap().permissions().mode() & 0o7777,
        0o640,
        "mode kept"
    );
    std::fs::remove_file(here(&backup)).unwrap();

    // Large content: hash first, content only when it differs.
    let big: String = (0..20_000).map(|i| format!("{i}\n")).collect();
    let big_dest = p(root, "big.txt");
    let first = h
        .run_counted("copy", json!({"content": big, "dest": big_dest}), NORMAL)
        .await;
    assert_eq!((first.result.status, first.trips), (Status::Changed, 2));
    assert_eq!(std::fs::read_to_string(here(&big_dest)).unwrap(), big);
    let again = h
        .run_counted("copy", json!({"content": big, "dest": big_dest}), NORMAL)
        .await;
    assert_eq!((again.result.status, again.trips), (Status::Ok, 1));

    // src from the controller into a directory.
    let files = root.join("controller");
    std::fs::create_dir_all(files.join("files")).unwrap();
    std::fs::write(files.join("files/app.conf"), "k=v\n").unwrap();
    let into = root.join("etc");
    std::fs::create_dir_all(here(&into)).unwrap();
    let h2 = Harness {
        conn: h.conn,
        eval: TestEval { vars: Map::new() },
        search: vec![files.clone()],
    };
    let r = h2
        .run(
            "copy",
            json!({"src": "app.conf", "dest": format!("{}/", into.display())}),
            NORMAL,
        )
        .await;
    assert_status(&r, Status::Changed, "copy src into a directory");
    assert_eq!(
        std::fs::read_to_string(here(into.join("app.conf"))).unwrap(),
        "k=v\n"
    );
    let missing = h2
        .run(
            "copy",
            json!({"src": "nope.conf", "dest": p(root, "x")}),
            NORMAL,
        )
        .await;
    assert!(missing.msg.unwrap().contains("src `nope.conf` not found"));
    let no_dir = h
        .run(
            "copy",
            json!({"content": "x", "dest": p(root, "no/such/dir/file")}),
            NORMAL,
        )
        .await;
    assert!(no_dir.msg.unwrap().contains("does not exist"));

    if h.is_root().await {
        let owned =
            json!({"content": "o\n", "dest": p(root, "owned"), "owner": "65534", "group": "65534"});
        assert_status(
            &h.run("copy", owned.clone(), NORMAL).await,
            Status::Changed,
            "copy with owner",
        );
        let meta = std::fs::metadata(here(p(root, "owned"))).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        assert_status(
            &h.run("copy", owned, NORMAL).await,
            Status::Ok,
            "copy with owner again",
        );
    } else {
        println!("note: not root on the host; skipping copy owner/group checks");
    }
}

/// Owners and groups as Ansible takes them: names with spaces (sssd's
/// `domain users`), digits as an id even where a user is named by them
/// (Ansible's `int(owner)` first), an id without a name never taken for a
/// user called UNKNOWN, and the diff of an attribute-only change. Root
/// only: adds its own users and groups to /etc and removes them when done
/// or failed (see `support::accounts`).
pub async fn ownership_suite(h: &Harness<'_>, root: &Path) {
    if !h.is_root().await {
        println!("note: not root on the host; skipping the ownership suite");
        return;
    }
    let pid = std::process::id();
    let group = format!("baton users {pid}");
    let user = format!("baton user {pid}");
    let (_accounts, ids) = super::accounts::EtcAccounts::add(61400, 4, |ids| {
        (
            vec![(group.clone(), ids[0])],
            vec![
                (user.clone(), ids[1], ids[0]),
                // A user named by digits that are not its uid.
                (ids[2].to_string(), ids[3], ids[0]),
            ],
        )
    });
    let (gid, uid, digits, digits_uid) = (ids[0], ids[1], ids[2], ids[3]);
    let ids_of = |path: &str| {
        let m = std::fs::symlink_metadata(here(path)).unwrap();
        (m.uid(), m.gid())
    };

    // Names with spaces: applied, reported whole, and then left alone.
    let spaced = p(root, "spaced");
    let args = json!({"content": "s\n", "dest": spaced, "owner": user, "group": group});
    let first = h.run("copy", args.clone(), NORMAL).await;
    assert_status(
        &first,
        Status::Changed,
        "copy to a user and group with spaces",
    );
    assert_eq!(ids_of(&spaced), (uid, gid));
    assert_eq!(
        (&first.data["owner"], &first.data["group"]),
        (&json!(user), &json!(group)),
        "{first:?}"
    );
    assert_status(
        &h.run("copy", args, NORMAL).await,
        Status::Ok,
        "copy with names with spaces, again",
    );
    for (module, args) in [
        (
            "file",
            json!({"path": spaced, "owner": user, "group": group}),
        ),
        (
            "lineinfile",
            json!({"path": spaced, "line": "s", "owner": user, "group": group}),
        ),
    ] {
        assert_status(
            &h.run(module, args, NORMAL).await,
            Status::Ok,
            &format!("{module} on a file already owned by names with spaces"),
        );
    }
    let dir = p(root, "spaced-dir");
    let dir_args = json!({"path": dir, "state": "directory", "group": group});
    assert_status(
        &h.run("file", dir_args.clone(), NORMAL).await,
        Status::Changed,
        "a directory for a group with spaces",
    );
    assert_eq!(ids_of(&dir).1, gid);
    let again = h.run("file", dir_args, NORMAL).await;
    assert_status(&again, Status::Ok, "the directory again");
    assert_eq!(again.data["group"], json!(group), "{again:?}");
    let st = h.run("stat", json!({"path": spaced}), NORMAL).await;
    assert_eq!(
        (&st.data["stat"]["pw_name"], &st.data["stat"]["gr_name"]),
        (&json!(user), &json!(group)),
        "{st:?}"
    );

    // Digits are an id, even where a user is named by them.
    let numeric = p(root, "numeric");
    let args = json!({"content": "n\n", "dest": numeric, "owner": digits.to_string(), "group": gid.to_string()});
    assert_status(
        &h.run("copy", args.clone(), NORMAL).await,
        Status::Changed,
        "copy with a numeric owner",
    );
    assert_eq!(
        ids_of(&numeric),
        (digits, gid),
        "uid {digits}, not the user named {digits}"
    );
    assert_status(
        &h.run("copy", args.clone(), NORMAL).await,
        Status::Ok,
        "numeric owner again",
    );
    // Owned by the user named by the digits: not the id asked for.
    std::os::unix::fs::chown(here(&numeric), Some(digits_uid), None).unwrap();
    assert_status(
        &h.run("copy", args, NORMAL).await,
        Status::Changed,
        "a file of the user named by the digits",
    );
    assert_eq!(ids_of(&numeric).0, digits);
    std::os::unix::fs::chown(here(&numeric), Some(digits_uid), None).unwrap();
    let fixed = h
        .run(
            "file",
            json!({"path": numeric, "owner": digits.to_string()}),
            DIFF,
        )
        .await;
    assert_status(&fixed, Status::Changed, "file with a numeric owner");
    assert_eq!(ids_of(&numeric).0, digits);
    assert_eq!(fixed.data["uid"], json!(digits), "{fixed:?}");
    let rec = p(root, "numeric-tree");
    std::fs::create_dir_all(here(format!("{rec}/sub"))).unwrap();
    std::os::unix::fs::chown(here(format!("{rec}/sub")), Some(digits_uid), None).unwrap();
    let rec_args =
        json!({"path": rec, "state": "directory", "recurse": true, "owner": digits.to_string()});
    let dry = check_changes_nothing(h, root, "file", rec_args.clone()).await;
    assert_status(&dry, Status::Changed, "recursive numeric owner, check mode");
    assert_status(
        &h.run("file", rec_args.clone(), NORMAL).await,
        Status::Changed,
        "recursive numeric owner",
    );
    assert_eq!(ids_of(&format!("{rec}/sub")).0, digits);
    assert_status(
        &h.run("file", rec_args, NORMAL).await,
        Status::Ok,
        "recursive numeric owner again",
    );
    let rooted = h
        .run("file", json!({"path": numeric, "group": "0"}), DIFF)
        .await;
    assert_status(&rooted, Status::Changed, "group 0");
    assert_status(
        &h.run(
            "file",
            json!({"path": numeric, "owner": "root", "group": "0"}),
            NORMAL,
        )
        .await,
        Status::Changed,
        "owner root",
    );
    let same = h
        .run(
            "file",
            json!({"path": numeric, "owner": "0", "group": "0"}),
            DIFF,
        )
        .await;
    assert_status(&same, Status::Ok, "owner 0 is root");
    // The diff of another change shows an id asked for that is already
    // there as it was (by name), not as a change to the digits.
    let mode_too = h
        .run(
            "file",
            json!({"path": numeric, "mode": "0600", "owner": "0", "group": "0"}),
            DIFF,
        )
        .await;
    assert_status(&mode_too, Status::Changed, "mode 0600, ids as they are");
    for side in [&mode_too.diff[0].before, &mode_too.diff[0].after] {
        assert!(side.contains("owner: root\ngroup: root\n"), "{mode_too:?}");
    }

    // An id without a name is no user called UNKNOWN.
    let orphan_id = 3_900_000_000 + pid % 1_000_000;
    let orphan = p(root, "orphan");
    std::fs::write(here(&orphan), "o\n").unwrap();
    std::os::unix::fs::chown(here(&orphan), Some(orphan_id), Some(orphan_id)).unwrap();
    for key in ["owner", "group"] {
        let r = h
            .run("file", json!({"path": orphan, key: "UNKNOWN"}), NORMAL)
            .await;
        assert_status(
            &r,
            Status::Failed,
            &format!("{key} UNKNOWN on a file of an unnamed id"),
        );
    }
    assert_eq!(ids_of(&orphan), (orphan_id, orphan_id));
    let by_id = h
        .run(
            "file",
            json!({"path": orphan, "owner": orphan_id.to_string(), "group": orphan_id.to_string()}),
            NORMAL,
        )
        .await;
    assert_status(&by_id, Status::Ok, "an unnamed id given as the id");
    // As Ansible reports an id without a name: the id.
    assert_eq!(
        (&by_id.data["owner"], &by_id.data["group"]),
        (&json!(orphan_id.to_string()), &json!(orphan_id.to_string())),
        "{by_id:?}"
    );

    let st = h.run("stat", json!({"path": orphan}), NORMAL).await;
    assert_eq!(st.data["stat"]["uid"], json!(orphan_id), "{st:?}");
    assert!(
        st.data["stat"].get("pw_name").is_none() && st.data["stat"].get("gr_name").is_none(),
        "stat of an unnamed id has no names, as Ansible's: {st:?}"
    );

    // An attribute-only change shows in the diff, as Ansible's copy shows
    // its file module's: the path and what changed.
    let diffed = p(root, "diffed");
    let args = json!({"content": "d\n", "dest": diffed, "mode": "0644"});
    assert_status(
        &h.run("copy", args, NORMAL).await,
        Status::Changed,
        "copy for the diff",
    );
    let mode_only = json!({"content": "d\n", "dest": diffed, "mode": "0600"});
    let dry = check_changes_nothing(h, root, "copy", mode_only.clone()).await;
    let want = (
        format!("path: {diffed}\nmode: 0644\n"),
        format!("path: {diffed}\nmode: 0600\n"),
    );
    for (what, r) in [
        ("check mode", dry),
        ("applied", h.run("copy", mode_only, DIFF).await),
    ] {
        assert_status(&r, Status::Changed, &format!("copy mode only, {what}"));
        assert_eq!(r.diff.len(), 1, "{what}: {r:?}");
        assert_eq!(
            (r.diff[0].before.clone(), r.diff[0].after.clone()),
            want,
            "{what}"
        );
    }
    let owner_only = h
        .run(
            "copy",
            json!({"content": "d\n", "dest": diffed, "owner": user}),
            DIFF,
        )
        .await;
    assert_status(&owner_only, Status::Changed, "copy owner only");
    assert_eq!(
        (
            owner_only.diff[0].before.as_str(),
            owner_only.diff[0].after.as_str()
        ),
        (
            format!("path: {diffed}\nowner: root\n").as_str(),
            format!("path: {diffed}\nowner: {user}\n").as_str()
        ),
        "{owner_only:?}"
    );
    let unchanged = h
        .run(
            "copy",
            json!({"content": "d\n", "dest": diffed, "owner": user}),
            DIFF,
        )
        .await;
    assert!(unchanged.diff.is_empty(), "{unchanged:?}");
    // lineinfile (and blockinfile, replace: the same rewrite) likewise,
    // when the line is there already.
    let line = json!({"path": diffed, "line": "d", "mode": "0640"});
    let dry = check_changes_nothing(h, root, "lineinfile", line.clone()).await;
    let want = (
        format!("path: {diffed}\nmode: 0600\n"),
        format!("path: {diffed}\nmode: 0640\n"),
    );
    for (what, r) in [
        ("check mode", dry),
        ("applied", h.run("lineinfile", line, DIFF).await),
    ] {
        assert_status(
            &r,
            Status::Changed,
            &format!("lineinfile mode only, {what}"),
        );
        assert_eq!(r.diff.len(), 1, "{what}: {r:?}");
        assert_eq!(
            (r.diff[0].before.clone(), r.diff[0].after.clone()),
            want,
            "{what}"
        );
    }
}

pub async fn template_suite(h: &Harness<'_>, root: &Path) {
    let dir = root.join("tpl");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("templates/hvr.conf.hbs"),
        "node={{node}}\nport={{port}}\n",
    )
    .unwrap();
    let mut vars = Map::new();
    vars.insert("node".into(), json!("bc1"));
    vars.insert("port".into(), json!(4343));
    let h = Harness {
        conn: h.conn,
        eval: TestEval { vars },
        search: vec![dir.clone()],
    };
    let dest = p(root, "hvr.conf");
    let args = json!({"src": "hvr.conf.hbs", "dest": dest, "mode": "0600"});
    let dry = check_changes_nothing(&h, root, "template", args.clone()).await;
    assert_eq!(dry.diff[0].after, "node=bc1\nport=4343\n");
    assert_status(
        &h.run("template", args.clone(), NORMAL).await,
        Status::Changed,
        "template first run",
    );
    assert_eq!(
        std::fs::read_to_string(here(&dest)).unwrap(),
        "node=bc1\nport=4343\n"
    );
    assert_status(
        &h.run("template", args, NORMAL).await,
        Status::Ok,
        "template second run",
    );
    std::fs::write(dir.join("templates/bad.hbs"), "{{undefined_var}}").unwrap();
    let bad = h
        .run(
            "template",
            json!({"src": "bad.hbs", "dest": p(root, "bad")}),
            NORMAL,
        )
        .await;
    assert_status(&bad, Status::Failed, "template with an undefined variable");
    assert!(!here(root.join("bad")).exists());
}

// Long on purpose: one checklist per `state`, in order.
pub async fn file_suite(h: &Harness<'_>, root: &Path) {
    let dir = p(root, "data/deep");
    let args = json!({"path": dir, "state": "directory", "mode": "0750"});
    let dry = check_changes_nothing(h, root, "file", args.clone()).await;
    assert_status(&dry, Status::Changed, "file directory check mode");
    assert!(!dry.diff.is_empty());
    assert_status(
        &h.run("file", args.clone(), NORMAL).await,
        Status::Changed,
        "file directory first run",
    );
    assert!(here(&dir).is_dir());
    assert_eq!(
        std::fs::metadata(here(&dir)).unwrap().permissions().mode() & 0o7777,
        0o750
    );
    assert_status(
        &h.run("file", args, NORMAL).await,
        Status::Ok,
        "file directory second run",
    );

    let target = p(root, "data/target");
    std::fs::write(here(&target), "t").unwrap();
    let link = json!({"path": p(root, "data/current"), "src": "target", "state": "link"});
    check_changes_nothing(h, root, "file", link.clone()).await;
    assert_status(
        &h.run("file", link.clone(), NORMAL).await,
        Status::Changed,
        "file link first run",
    );
    assert_eq!(
        std::fs::read_link(here(p(root, "data/current"))).unwrap(),
        PathBuf::from("target")
    );
    assert_status(
        &h.run("file", link, NORMAL).await,
        Status::Ok,
        "file link second run",
    );

    let mode = json!({"path": target, "mode": "u=rw,g=r,o="});
    check_changes_nothing(h, root, "file", mode.clone()).await;
    assert_status(
        &h.run("file", mode.clone(), NORMAL).await,
        Status::Changed,
        "file mode first run",
    );
    assert_eq!(
        std::fs::metadata(here(&target))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o640
    );
    assert_status(
        &h.run("file", mode, NORMAL).await,
        Status::Ok,
        "file mode second run",
    );

    let touch = json!({"path": p(root, "data/stamp"), "state": "touch", "modification_time": "preserve", "access_time": "preserve"});
    check_changes_nothing(h, root, "file", touch.clone()).await;
    assert_status(
        &h.run("file", touch.clone(), NORMAL).await,
        Status::Changed,
        "touch creates",
    );
    assert_status(
        &h.run("file", touch, NORMAL).await,
        Status::Ok,
        "touch with preserve is idempotent",
    );

    let absent = json!({"path": p(root, "data"), "state": "absent"});
    check_changes_nothing(h, root, "file", absent.clone()).await;
    assert_status(
        &h.run("file", absent.clone(), NORMAL).await,
        Status::Changed,
        "file absent first run",
    );
    assert!(!here(root.join("data")).exists());
    assert_status(
        &h.run("file", absent, NORMAL).await,
        Status::Ok,
        "file absent second run",
    );

    let missing = h
        .run(
            "file",
            json!({"path": p(root, "nope"), "state": "file"}),
            NORMAL,
        )
        .await;
    assert_status(&missing, Status::Failed, "state=file on a missing path");
    assert!(missing.msg.unwrap().contains("state=touch"));

    if h.is_root().await {
        let owned = json!({"path": p(root, "owned-dir"), "state": "directory", "owner": "65534", "group": "65534"});
        assert_status(
            &h.run("file", owned.clone(), NORMAL).await,
            Status::Changed,
            "file owner",
        );
        assert_eq!(
            std::fs::metadata(here(p(root, "owned-dir"))).unwrap().uid(),
            65534
        );
        assert_status(
            &h.run("file", owned, NORMAL).await,
            Status::Ok,
            "file owner again",
        );
    } else {
        println!("note: not root on the host; skipping file owner/group checks");
    }
}

pub async fn lineinfile_suite(h: &Harness<'_>, root: &Path) {
    let path = p(root, "sshd_config");
    std::fs::write(here(&path), "Port 22\nPermitRootLogin yes\n").unwrap();
    let args = json!({"path": path, "regexp": "^PermitRootLogin ", "line": "PermitRootLogin no"});
    let dry = check_changes_nothing(h, root, "lineinfile", args.clone()).await;
    assert_status(&dry, Status::Changed, "lineinfile check mode");
    assert_eq!(dry.diff[0].before, "Port 22\nPermitRootLogin yes\n");
    assert_eq!(dry.diff[0].after, "Port 22\nPermitRootLogin no\n");
    let first = h.run_counted("lineinfile", args.clone(), NORMAL).await;
    assert_eq!((first.result.status, first.trips), (Status::Changed, 2));
    assert_eq!(
        std::fs::read_to_string(here(&path)).unwrap(),
        "Port 22\nPermitRootLogin no\n"
    );
    let second = h.run_counted("lineinfile", args, NORMAL).await;
    assert_eq!((second.result.status, second.trips), (Status::Ok, 1));

    let after = json!({"path": path, "line": "UseDNS no", "insertafter": "^Port"});
    assert_status(
        &h.run("lineinfile", after.clone(), NORMAL).await,
        Status::Changed,
        "insertafter",
    );
    assert_eq!(
        std::fs::read_to_string(here(&path)).unwrap(),
        "Port 22\nUseDNS no\nPermitRootLogin no\n"
    );
    assert_status(
        &h.run("lineinfile", after, NORMAL).await,
        Status::Ok,
        "insertafter again",
    );

    let gone = json!({"path": path, "regexp": "^UseDNS", "state": "absent"});
    assert_status(
        &h.run("lineinfile", gone.clone(), NORMAL).await,
        Status::Changed,
        "absent",
    );
    assert_status(
        &h.run("lineinfile", gone, NORMAL).await,
        Status::Ok,
        "absent again",
    );

    let created =
        json!({"path": p(root, "new/app.env"), "line": "A=1", "create": true, "mode": "0600"});
    check_changes_nothing(h, root, "lineinfile", created.clone()).await;
    assert_status(
        &h.run("lineinfile", created.clone(), NORMAL).await,
        Status::Changed,
        "create",
    );
    assert_eq!(
        std::fs::metadata(here(p(root, "new/app.env")))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_status(
        &h.run("lineinfile", created, NORMAL).await,
        Status::Ok,
        "create again",
    );

    let bad = h
        .run(
            "lineinfile",
            json!({"path": path, "regexp": "([", "line": "x"}),
            NORMAL,
        )
        .await;
    assert_status(&bad, Status::Failed, "bad regexp");
    assert!(bad.msg.unwrap().contains("`regexp`"));
    let missing = h
        .run(
            "lineinfile",
            json!({"path": p(root, "missing.conf"), "line": "x"}),
            NORMAL,
        )
        .await;
    assert!(missing.msg.unwrap().contains("does not exist"));
}

pub async fn blockinfile_suite(h: &Harness<'_>, root: &Path) {
    let path = p(root, "hosts");
    std::fs::write(here(&path), "127.0.0.1 localhost\n").unwrap();
    let args = json!({"path": path, "block": "10.1.0.1 bc1\n10.1.0.2 bc2\n"});
    let dry = check_changes_nothing(h, root, "blockinfile", args.clone()).await;
    assert!(dry.diff[0]
        .after
        .contains("# BEGIN ANSIBLE MANAGED BLOCK\n10.1.0.1 bc1\n"));
    assert_status(
        &h.run("blockinfile", args.clone(), NORMAL).await,
        Status::Changed,
        "block first run",
    );
    assert_status(
        &h.run("blockinfile", args, NORMAL).await,
        Status::Ok,
        "block second run",
    );
    let gone = json!({"path": path, "state": "absent"});
    check_changes_nothing(h, root, "blockinfile", gone.clone()).await;
    assert_status(
        &h.run("blockinfile", gone.clone(), NORMAL).await,
        Status::Changed,
        "block removed",
    );
    assert_eq!(
        std::fs::read_to_string(here(&path)).unwrap(),
        "127.0.0.1 localhost\n"
    );
    assert_status(
        &h.run("blockinfile", gone, NORMAL).await,
        Status::Ok,
        "block removed again",
    );
    let bad = h
        .run(
            "blockinfile",
            json!({"path": path, "block": "x", "insertafter": "(("}),
            NORMAL,
        )
        .await;
    assert_status(&bad, Status::Failed, "bad insertafter regexp");
}

// Long on purpose: user crontab and cron_file checklists, in order.
pub async fn cron_suite(h: &Harness<'_>, root: &Path) {
    let file = p(root, "cron.d-hvr");
    let args = json!({"name": "hvr watchdog", "minute": "*/5", "job": "/opt/hvr/bin/watchdog", "user": "root", "cron_file": file});
    check_changes_nothing(h, root, "cron", args.clone()).await;
    assert_status(
        &h.run("cron", args.clone(), NORMAL).await,
        Status::Changed,
        "cron_file first run",
    );
    assert_eq!(
        std::fs::read_to_string(here(&file)).unwrap(),
        "#Ansible: hvr watchdog\n*/5 * * * * root /opt/hvr/bin/watchdog\n"
    );
    assert_status(
        &h.run("cron", args, NORMAL).await,
        Status::Ok,
        "cron_file second run",
    );
    let gone = json!({"name": "hvr watchdog", "state": "absent", "cron_file": file});
    assert_status(
        &h.run("cron", gone.clone(), NORMAL).await,
        Status::Changed,
        "cron_file removed",
    );
    assert!(!here(&file).exists());
    assert_status(
        &h.run("cron", gone, NORMAL).await,
        Status::Ok,
        "cron_file removed again",
    );

    let has_crontab =
        h.run(
            "command",
            json!({"cmd": "sh -c 'command -v crontab'"}),
            NORMAL,
        )
        .await
        .rc == Some(0);
    // The local tests run in parallel and share root's crontab.
    static CRONTAB: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _serial = CRONTAB.lock().await;
    let name = format!("baton suite {}", baton::shell::new_nonce());
    let job = json!({"name": name, "hour": "3", "minute": "0", "job": "/bin/true baton-suite"});
    if !has_crontab {
        let r = h.run("cron", job, NORMAL).await;
        assert!(
            r.msg.unwrap().contains("`cron`"),
            "the missing-crontab message names the package"
        );
        println!("note: no crontab on the host; user crontab checks reduced to the missing-command message");
        return;
    }
    if !h.is_root().await {
        println!("note: not root on the host; skipping user crontab checks");
        return;
    }
    let had_crontab = h
        .run("command", json!({"cmd": "crontab -l"}), NORMAL)
        .await
        .rc
        == Some(0);
    let dry = h.run("cron", job.clone(), CHECK).await;
    assert_status(&dry, Status::Changed, "crontab check mode");
    let listed = h
        .run(
            "command",
            json!({"cmd": "sh -c 'crontab -l 2>/dev/null; true'"}),
            NORMAL,
        )
        .await;
    assert!(
        !listed.stdout.unwrap_or_default().contains(&name),
        "check mode wrote the crontab"
    );
    assert_status(
        &h.run("cron", job.clone(), NORMAL).await,
        Status::Changed,
        "crontab first run",
    );
    assert_status(
        &h.run("cron", job, NORMAL).await,
        Status::Ok,
        "crontab second run",
    );
    let listed = h.run("command", json!({"cmd": "crontab -l"}), NORMAL).await;
    assert_eq!(listed.stdout.unwrap_or_default().matches(&name).count(), 1);
    let gone = json!({"name": name, "state": "absent"});
    assert_status(
        &h.run("cron", gone.clone(), NORMAL).await,
        Status::Changed,
        "crontab entry removed",
    );
    assert_status(
        &h.run("cron", gone, NORMAL).await,
        Status::Ok,
        "crontab entry removed again",
    );
    if !had_crontab {
        // Leave the host as we found it: no crontab rather than an empty one.
        h.run("command", json!({"cmd": "crontab -r"}), NORMAL).await;
    }
}

pub async fn wait_for_suite(h: &Harness<'_>, root: &Path) {
    let started = Instant::now();
    let r = h.run("wait_for", json!({"path": root}), NORMAL).await;
    assert_status(&r, Status::Ok, "wait_for an existing path");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "a met condition returns at once"
    );
    // The listener runs in this test process; the host under test must reach it.
    let address = CONTROLLER_ADDRESS.get().map_or("127.0.0.1", String::as_str);
    let listener = std::net::TcpListener::bind((address, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    assert_status(
        &h.run(
            "wait_for",
            json!({"host": address, "port": port, "timeout": 5}),
            NORMAL,
        )
        .await,
        Status::Ok,
        "open port",
    );
    let stopped = h
        .run(
            "wait_for",
            json!({"host": address, "port": port, "state": "stopped", "timeout": 0.5, "sleep": 0.1}),
            NORMAL,
        )
        .await;
    assert_status(&stopped, Status::Failed, "port that stays open");
    assert!(stopped.msg.unwrap().contains("to stop"));
    drop(listener);
    let late = root.join("late");
    let writer = {
        let late = late.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::write(here(late), "ready\n").unwrap();
        })
    };
    let r = h
        .run(
            "wait_for",
            json!({"path": late, "search_regex": "^ready$", "sleep": 0.1, "timeout": 10}),
            NORMAL,
        )
        .await;
    writer.join().unwrap();
    assert_status(&r, Status::Ok, "wait_for a late file");
    let timeout = h
        .run(
            "wait_for",
            json!({"path": p(root, "never"), "timeout": 0.3, "sleep": 0.1}),
            NORMAL,
        )
        .await;
    assert_status(&timeout, Status::Failed, "wait_for timeout");
}

pub async fn stat_suite(h: &Harness<'_>, root: &Path) {
    let f = root.join("stat.txt");
    std::fs::write(here(&f), "abc").unwrap();
    let r = check_changes_nothing(
        h,
        root,
        "stat",
        json!({"path": f, "checksum_algorithm": "sha256"}),
    )
    .await;
    assert_status(&r, Status::Ok, "stat");
    assert_eq!(r.data["stat"]["size"], 3);
    assert_eq!(
        r.data["stat"]["checksum"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let r = h
        .run("stat", json!({"path": p(root, "nothing")}), NORMAL)
        .await;
    assert_eq!(r.data["stat"]["exists"], false);
}

pub async fn controller_modules_suite(h: &Harness<'_>, _root: &Path) {
    assert_eq!(h.run("ping", json!({}), NORMAL).await.data["ping"], "pong");
    let ok = h
        .run(
            "assert",
            json!({"that": ["true"], "success_msg": "fine"}),
            NORMAL,
        )
        .await;
    assert_eq!((ok.status, ok.msg.as_deref()), (Status::Ok, Some("fine")));
    let bad = h
        .run(
            "ansible.builtin.assert",
            json!({"that": "false", "fail_msg": "no"}),
            NORMAL,
        )
        .await;
    assert_eq!(
        (bad.status, bad.msg.as_deref()),
        (Status::Failed, Some("no"))
    );
    let fail = h.run("fail", json!({"msg": "stop here"}), NORMAL).await;
    assert_eq!(
        (fail.status, fail.msg.as_deref()),
        (Status::Failed, Some("stop here"))
    );
    assert_eq!(
        h.run("debug", json!({"msg": "hi"}), NORMAL)
            .await
            .msg
            .as_deref(),
        Some("hi")
    );
    let facts = h.run("set_fact", json!({"primary": "bc1"}), NORMAL).await;
    assert_eq!(facts.facts["primary"], "bc1");
    let started = Instant::now();
    assert_status(
        &h.run("pause", json!({"seconds": 0.2}), NORMAL).await,
        Status::Ok,
        "pause",
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    let no_wait = h.run("pause", json!({"prompt": "Continue?"}), NORMAL).await;
    assert!(no_wait
        .msg
        .unwrap()
        .contains("never waits for keyboard input"));
}

pub async fn service_suite(h: &Harness<'_>, _root: &Path) {
    let has_systemd = h
        .run("stat", json!({"path": "/run/systemd/system"}), NORMAL)
        .await
        .data["stat"]["exists"]
        == true;
    if has_systemd {
        // Never start or stop real units from a test; an unknown unit shows the
        // module reached systemd and read its answer.
        let r = h
            .run(
                "service",
                json!({"name": "baton-no-such-unit", "state": "started"}),
                CHECK,
            )
            .await;
        assert!(r
            .msg
            .unwrap()
            .contains("Could not find the requested service"));
    } else {
        let r = h
            .run(
                "service",
                json!({"name": "hvr", "state": "started"}),
                NORMAL,
            )
            .await;
        assert_status(&r, Status::Failed, "service without systemd");
        assert!(r.msg.unwrap().contains("does not run systemd (PID 1 is"));
    }
}

pub async fn replace_suite(h: &Harness<'_>, root: &Path) {
    let path = p(root, "hvr.conf");
    std::fs::write(here(&path), "# hvr\nport=4343\n[peer]\nport=4343\n").unwrap();
    let args = json!({"path": path, "regexp": r"^port=(\d+)$", "replace": r"port=\g<1>0", "after": r"\[peer\]"});
    let dry = check_changes_nothing(h, root, "replace", args.clone()).await;
    assert_status(&dry, Status::Changed, "replace check mode");
    assert_eq!(dry.diff[0].after, "# hvr\nport=4343\n[peer]\nport=43430\n");
    let first = h.run_counted("replace", args.clone(), NORMAL).await;
    assert_eq!((first.result.status, first.trips), (Status::Changed, 2));
    assert_eq!(first.result.msg.as_deref(), Some("1 replacements made"));
    assert_eq!(
        std::fs::read_to_string(here(&path)).unwrap(),
        "# hvr\nport=4343\n[peer]\nport=43430\n"
    );
    let stable = json!({"path": path, "regexp": r"^port=4343$", "replace": "port=4343"});
    let second = h.run_counted("replace", stable, NORMAL).await;
    assert_eq!((second.result.status, second.trips), (Status::Ok, 1));
    let missing = h
        .run(
            "replace",
            json!({"path": p(root, "none.conf"), "regexp": "x"}),
            NORMAL,
        )
        .await;
    assert_status(&missing, Status::Failed, "replace on a missing file");
    assert!(missing.msg.unwrap().contains("does not exist !"));
}

pub async fn slurp_and_fetch_suite(h: &Harness<'_>, root: &Path) {
    let src = p(root, "hvr.pid");
    std::fs::write(here(&src), "4242\n").unwrap();
    let r = check_changes_nothing(h, root, "slurp", json!({"src": src})).await;
    assert_status(&r, Status::Ok, "slurp");
    assert_eq!(r.data["content"], "NDI0Mgo=");
    assert_eq!(r.data["encoding"], "base64");
    let r = h
        .run("slurp", json!({"src": p(root, "nothing")}), NORMAL)
        .await;
    assert!(r.msg.unwrap().starts_with("file not found"));

    // fetch writes on the controller: a directory of this test process.
    let local = tempfile::tempdir().unwrap();
    let args = json!({"src": src, "dest": local.path()});
    let copy = PathBuf::from(format!("{}/suite/{}", local.path().display(), src));
    let dry = h.run("fetch", args.clone(), CHECK).await;
    assert_status(&dry, Status::Changed, "fetch check mode");
    assert!(!copy.exists(), "fetch in check mode wrote {copy:?}");
    let first = h.run_counted("fetch", args.clone(), NORMAL).await;
    assert_eq!((first.result.status, first.trips), (Status::Changed, 1));
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), "4242\n");
    assert_status(
        &h.run("fetch", args, NORMAL).await,
        Status::Ok,
        "fetch again",
    );
    let flat =
        json!({"src": src, "dest": format!("{}/flat/", local.path().display()), "flat": true});
    assert_status(
        &h.run("fetch", flat, NORMAL).await,
        Status::Changed,
        "fetch flat",
    );
    assert_eq!(
        std::fs::read_to_string(local.path().join("flat/hvr.pid")).unwrap(),
        "4242\n"
    );
    let missing = h
        .run(
            "fetch",
            json!({"src": p(root, "nothing"), "dest": local.path(), "fail_on_missing": false}),
            NORMAL,
        )
        .await;
    assert_status(&missing, Status::Ok, "fetch of a missing file, tolerated");
}

pub async fn sysctl_suite(h: &Harness<'_>, root: &Path) {
    // Only the file: sysctl_set and reload off, so neither this machine's
    // kernel nor a lab node's is touched.
    let file = p(root, "sysctl.d-hvr.conf");
    std::fs::write(here(&file), "# hvr\nnet.ipv4.ip_forward = 0\n").unwrap();
    let args = json!({"name": "net.ipv4.ip_forward", "value": "1", "sysctl_file": file,
        "reload": false, "sysctl_set": false});
    let dry = check_changes_nothing(h, root, "sysctl", args.clone()).await;
    assert_status(&dry, Status::Changed, "sysctl check mode");
    assert_status(
        &h.run("sysctl", args.clone(), NORMAL).await,
        Status::Changed,
        "sysctl",
    );
    assert_eq!(
        std::fs::read_to_string(here(&file)).unwrap(),
        "# hvr\nnet.ipv4.ip_forward=1\n"
    );
    assert_status(
        &h.run("sysctl", args, NORMAL).await,
        Status::Ok,
        "sysctl again",
    );
    if LOCAL_VIEW.get().is_some() {
        sysctl_running_kernel_on_a_lab_node(h, root).await;
    }
}

/// On a lab node only (its own network namespace): `sysctl_set` and
/// `reload` on a per-namespace key of the node's own `lo`, then put back.
async fn sysctl_running_kernel_on_a_lab_node(h: &Harness<'_>, root: &Path) {
    const KEY: &str = "net.ipv4.conf.lo.accept_local";
    let read = || async {
        h.run(
            "command",
            json!({"cmd": format!("sysctl -n {KEY}")}),
            NORMAL,
        )
        .await
        .stdout
        .expect("sysctl -n on the node")
    };
    let host_before = std::fs::read_to_string("/proc/sys/net/ipv4/conf/lo/accept_local").ok();
    let before = read().await;
    let flipped = if before == "0" { "1" } else { "0" };
    let file = p(root, "sysctl-lab.conf");
    let args = json!({"name": KEY, "value": flipped, "sysctl_file": file, "sysctl_set": true});
    let dry = h.run("sysctl", args.clone(), CHECK).await;
    assert_status(&dry, Status::Changed, "lab sysctl check mode");
    assert_eq!(read().await, before, "check mode changed the running value");
    assert_status(
        &h.run("sysctl", args.clone(), NORMAL).await,
        Status::Changed,
        "lab sysctl",
    );
    assert_eq!(read().await, flipped);
    assert_status(
        &h.run("sysctl", args, NORMAL).await,
        Status::Ok,
        "lab sysctl again",
    );
    let back = json!({"name": KEY, "value": before, "sysctl_file": file, "sysctl_set": true});
    assert_status(
        &h.run("sysctl", back, NORMAL).await,
        Status::Changed,
        "lab sysctl back",
    );
    assert_eq!(read().await, before);
    // The key is the node's own: the controller's value never moved.
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/conf/lo/accept_local").ok(),
        host_before
    );
}

pub async fn ssh_keys_suite(h: &Harness<'_>, root: &Path) {
    let me = h.run("command", json!({"cmd": "id -un"}), NORMAL).await;
    let user = me.stdout.expect("id -un");
    let keys = p(root, "authorized_keys");
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBaton suite@baton";
    let args = json!({"user": user, "key": key, "path": keys, "manage_dir": false});
    let dry = check_changes_nothing(h, root, "authorized_key", args.clone()).await;
    assert_status(&dry, Status::Changed, "authorized_key check mode");
    assert_status(
        &h.run("authorized_key", args.clone(), NORMAL).await,
        Status::Changed,
        "authorized_key",
    );
    assert_eq!(
        std::fs::read_to_string(here(&keys)).unwrap(),
        format!("{key}\n")
    );
    assert_eq!(
        std::fs::metadata(here(&keys)).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_status(
        &h.run("authorized_key", args, NORMAL).await,
        Status::Ok,
        "authorized_key again",
    );

    let kh = p(root, "known_hosts");
    let line = "bc1.lab ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBc1";
    let args = json!({"name": "bc1.lab", "key": line, "path": kh, "hash_host": true});
    let dry = check_changes_nothing(h, root, "known_hosts", args.clone()).await;
    assert_status(&dry, Status::Changed, "known_hosts check mode");
    assert_status(
        &h.run("known_hosts", args.clone(), NORMAL).await,
        Status::Changed,
        "known_hosts",
    );
    let text = std::fs::read_to_string(here(&kh)).unwrap();
    assert!(
        text.starts_with("|1|") && !text.contains("bc1.lab"),
        "{text}"
    );
    assert_status(
        &h.run("known_hosts", args, NORMAL).await,
        Status::Ok,
        "known_hosts again",
    );
    let gone = json!({"name": "bc1.lab", "path": kh, "state": "absent"});
    assert_status(
        &h.run("known_hosts", gone.clone(), NORMAL).await,
        Status::Changed,
        "known_hosts absent",
    );
    assert_eq!(std::fs::read_to_string(here(&kh)).unwrap(), "");
    assert_status(
        &h.run("known_hosts", gone, NORMAL).await,
        Status::Ok,
        "known_hosts absent again",
    );
}

/// user and group with the host's real tools, in check mode only (a test
/// never changes the accounts of the machine; lab nodes share them): an
/// account that exists and is as asked is ok, one that does not exist would
/// be created (and is not), removing an absent one is ok.
pub async fn user_group_suite(h: &Harness<'_>, _root: &Path) {
    let root_ok = h
        .run("user", json!({"name": "root", "uid": 0, "group": 0}), CHECK)
        .await;
    assert_status(&root_ok, Status::Ok, "user root as it is");
    assert_eq!(root_ok.data["uid"], 0);
    let name = format!("baton-suite-{}", std::process::id());
    let dry = h
        .run(
            "user",
            json!({"name": name, "groups": ["root"], "shell": "/bin/sh"}),
            CHECK,
        )
        .await;
    assert_status(&dry, Status::Changed, "user check mode would create");
    assert!(dry.diff[0].after.contains("shell: /bin/sh"), "{dry:?}");
    let exists = h
        .run(
            "command",
            json!({"argv": ["getent", "passwd", name]}),
            NORMAL,
        )
        .await;
    assert_eq!(exists.rc, Some(2), "check mode created no user: {exists:?}");
    assert_status(
        &h.run("user", json!({"name": name, "state": "absent"}), NORMAL)
            .await,
        Status::Ok,
        "removing a user that does not exist",
    );
    let missing = h
        .run(
            "user",
            json!({"name": name, "group": "baton-no-such-group"}),
            CHECK,
        )
        .await;
    // Check mode predicts: an earlier task may create the group (outside
    // check mode the unit tests show the failure).
    assert_status(&missing, Status::Changed, "user with a group not made yet");
    assert!(
        missing
            .msg
            .as_deref()
            .is_some_and(|m| m.contains("group baton-no-such-group does not exist yet")),
        "{missing:?}"
    );
    assert_status(
        &h.run("group", json!({"name": "root", "gid": 0}), CHECK)
            .await,
        Status::Ok,
        "group root as it is",
    );
    assert_status(
        &h.run("group", json!({"name": name, "gid": 0}), CHECK).await,
        Status::Changed,
        "group check mode would create",
    );
    assert_status(
        &h.run("group", json!({"name": name, "state": "absent"}), NORMAL)
            .await,
        Status::Ok,
        "removing a group that does not exist",
    );
}

/// Removes a test package from the host under test when dropped, through
/// the host's apt-get (waiting for the dpkg lock), even when the suite fails.
struct PurgeOnDrop(String);

impl Drop for PurgeOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("apt-get")
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

/// Builds `NAME_VERSION.deb` (one file, /opt/NAME/hello.txt) in `dir`.
fn build_deb(dir: &Path, name: &str, version: &str) -> PathBuf {
    let tree = dir.join(format!("{name}-{version}"));
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join("opt").join(name)).unwrap();
    std::fs::write(tree.join("opt").join(name).join("hello.txt"), version).unwrap();
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!("Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: baton tests <baton@localhost>\nDescription: baton test package (files under /opt only)\n"),
    )
    .unwrap();
    let deb = dir.join(format!("{name}_{version}.deb"));
    let out = std::process::Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&tree)
        .arg(&deb)
        .output()
        .expect("dpkg-deb");
    assert!(out.status.success(), "{out:?}");
    deb
}

/// apt with a `.deb` built here whose only file is under /opt; the package
/// (`baton-test-...`) is removed at the end, even on failure.
pub async fn apt_suite(h: &Harness<'_>, root: &Path) {
    if !h.is_root().await
        || h.run(
            "command",
            json!({"cmd": "sh -c 'command -v apt-get'"}),
            NORMAL,
        )
        .await
        .rc != Some(0)
    {
        println!("note: not root or no apt-get on the host; apt suite skipped");
        return;
    }
    let name = format!(
        "baton-test-suite-{}-{}",
        std::process::id(),
        baton::shell::new_nonce().to_lowercase()
    );
    let _guard = PurgeOnDrop(name.clone());
    build_deb(&here(root), &name, "1.0");
    let deb = p(root, &format!("{name}_1.0.deb"));
    let status = |r: TaskResult| r.stdout.unwrap_or_default();
    let query = json!({"argv": ["sh", "-c", "dpkg-query -W -f='${db:Status-Status} ${Version}' \"$0\" 2>/dev/null; true", name]});
    let args = json!({"deb": deb});
    let dry = check_changes_nothing(h, root, "apt", args.clone()).await;
    assert_status(&dry, Status::Changed, "apt deb check mode");
    assert_eq!(status(h.run("command", query.clone(), NORMAL).await), "");
    assert_status(
        &h.run("apt", args.clone(), NORMAL).await,
        Status::Changed,
        "apt deb first run",
    );
    assert_eq!(
        status(h.run("command", query.clone(), NORMAL).await),
        "installed 1.0"
    );
    assert_status(
        &h.run("apt", args, NORMAL).await,
        Status::Ok,
        "apt deb second run",
    );
    // A lab node's `/` is read-only with a writable /opt mounted on it:
    // removing the package makes dpkg rmdir /opt, which fails there with
    // EROFS (apt then fails, and the module quotes it). The removal checks
    // run over local and SSH; the guard purges the package from here.
    let mounts = h
        .run(
            "command",
            json!({"argv": ["awk", "$2 == \"/\" { o = $4 } END { print o }", "/proc/self/mounts"]}),
            NORMAL,
        )
        .await;
    if mounts
        .stdout
        .unwrap_or_default()
        .split(',')
        .any(|o| o == "ro")
    {
        println!("note: / is read-only on this host; apt removal checks skipped");
        return;
    }
    let gone = json!({"name": name, "state": "absent"});
    assert_status(
        &h.run("apt", gone.clone(), CHECK).await,
        Status::Changed,
        "apt absent check",
    );
    assert_eq!(
        status(h.run("command", query.clone(), NORMAL).await),
        "installed 1.0"
    );
    assert_status(
        &h.run("apt", gone.clone(), NORMAL).await,
        Status::Changed,
        "apt absent",
    );
    assert_status(
        &h.run("apt", gone, NORMAL).await,
        Status::Ok,
        "apt absent again",
    );
    let r = h.run("apt", json!({"name": name}), NORMAL).await;
    assert_eq!(
        r.msg.as_deref(),
        Some(format!("No package matching '{name}' is available").as_str())
    );
    // Purge on the host under test too (a lab node's own view of /opt).
    h.run(
        "command",
        json!({"argv": ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", "purge", name]}),
        NORMAL,
    )
    .await;
}

/// pip into a virtualenv under `root` from a wheel built here (no network).
pub async fn pip_suite(h: &Harness<'_>, root: &Path) {
    let wheels = here(root).join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let script = r#"
import base64, hashlib, sys, zipfile, os
d = sys.argv[1]
files = {"baton_suite_pip/__init__.py": "X = 1\n",
         "baton_suite_pip-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: baton-suite-pip\nVersion: 1.0\n",
         "baton_suite_pip-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: baton-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
lines = [f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()},{len(t)}" for n, t in files.items()]
files["baton_suite_pip-1.0.dist-info/RECORD"] = "\n".join(lines + ["baton_suite_pip-1.0.dist-info/RECORD,,"]) + "\n"
with zipfile.ZipFile(os.path.join(d, "baton_suite_pip-1.0-py3-none-any.whl"), "w") as z:
    for n, t in files.items():
        z.writestr(n, t)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&wheels)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{out:?}");
    let venv = p(root, "venv");
    let args = json!({"name": "baton-suite-pip", "virtualenv": venv,
        "virtualenv_command": "python3 -m venv",
        "extra_args": format!("--no-index --find-links {}", p(root, "wheels"))});
    let dry = check_changes_nothing(h, root, "pip", args.clone()).await;
    assert_status(&dry, Status::Changed, "pip check mode");
    assert_status(
        &h.run("pip", args.clone(), NORMAL).await,
        Status::Changed,
        "pip first run",
    );
    assert!(here(&venv)
        .join("lib")
        .read_dir()
        .unwrap()
        .flatten()
        .any(|py| py
            .path()
            .join("site-packages/baton_suite_pip/__init__.py")
            .exists()));
    assert_status(
        &h.run("pip", args, NORMAL).await,
        Status::Ok,
        "pip second run",
    );
    let gone = json!({"name": "baton-suite-pip", "virtualenv": venv, "state": "absent"});
    check_changes_nothing(h, root, "pip", gone.clone()).await;
    assert_status(
        &h.run("pip", gone.clone(), NORMAL).await,
        Status::Changed,
        "pip absent",
    );
    assert_status(
        &h.run("pip", gone, NORMAL).await,
        Status::Ok,
        "pip absent again",
    );
}

/// Every module, one after the other, in `root`.
pub async fn run_suite(conn: &Connection, root: &Path) {
    let h = Harness::new(conn);
    command_suite(&h, root).await;
    shell_suite(&h, root).await;
    copy_suite(&h, root).await;
    template_suite(&h, root).await;
    file_suite(&h, root).await;
    lineinfile_suite(&h, root).await;
    blockinfile_suite(&h, root).await;
    cron_suite(&h, root).await;
    wait_for_suite(&h, root).await;
    stat_suite(&h, root).await;
    controller_modules_suite(&h, root).await;
    service_suite(&h, root).await;
    replace_suite(&h, root).await;
    slurp_and_fetch_suite(&h, root).await;
    sysctl_suite(&h, root).await;
    ssh_keys_suite(&h, root).await;
    unarchive_suite(&h, root).await;
    get_url_suite(&h, root).await;
    uri_suite(&h, root).await;
    git_suite(&h, root).await;
    mount_suite(&h, root).await;
    user_group_suite(&h, root).await;
    apt_suite(&h, root).await;
    pip_suite(&h, root).await;
}

fn controller_address() -> &'static str {
    CONTROLLER_ADDRESS.get().map_or("127.0.0.1", String::as_str)
}

pub async fn unarchive_suite(h: &Harness<'_>, root: &Path) {
    // The archive is built on the controller (this process) and sent.
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("app/bin")).unwrap();
    std::fs::write(work.path().join("app/conf"), "x=1\n").unwrap();
    std::fs::write(work.path().join("app/bin/run"), "#!/bin/sh\n").unwrap();
    let ok = std::process::Command::new("tar")
        .current_dir(work.path())
        .args(["-czf", "app.tar.gz", "app"])
        .status()
        .unwrap();
    assert!(ok.success());
    let dest = p(root, "unarchive");
    std::fs::create_dir_all(here(&dest)).unwrap();
    let args = json!({"src": work.path().join("app.tar.gz"), "dest": dest, "mode": "u=rwX,go=rX"});
    let dry = check_changes_nothing(h, root, "unarchive", args.clone()).await;
    assert_status(&dry, Status::Changed, "unarchive check mode");
    assert_status(
        &h.run("unarchive", args.clone(), NORMAL).await,
        Status::Changed,
        "unarchive first run",
    );
    assert_eq!(
        std::fs::read_to_string(here(format!("{dest}/app/conf"))).unwrap(),
        "x=1\n"
    );
    assert_status(
        &h.run("unarchive", args.clone(), NORMAL).await,
        Status::Ok,
        "unarchive second run",
    );
    assert_status(
        &h.run("unarchive", args, CHECK).await,
        Status::Ok,
        "unarchive check mode when unpacked",
    );
    let r = h
        .run(
            "unarchive",
            json!({"src": work.path().join("app.tar.gz"), "dest": p(root, "no-such-dir")}),
            NORMAL,
        )
        .await;
    assert!(r.msg.unwrap().contains("does not exist on the host"));
}

pub async fn get_url_suite(h: &Harness<'_>, root: &Path) {
    use super::http::{HttpServer, FILE_BODY};
    let server = HttpServer::start_on(controller_address());
    let dest = p(root, "get_url.txt");
    let args = json!({"url": server.url("/file"), "dest": dest, "mode": "0640"});
    let dry = check_changes_nothing(h, root, "get_url", args.clone()).await;
    assert_status(&dry, Status::Changed, "get_url check mode");
    assert_status(
        &h.run("get_url", args.clone(), NORMAL).await,
        Status::Changed,
        "get_url first run",
    );
    assert_eq!(std::fs::read_to_string(here(&dest)).unwrap(), FILE_BODY);
    assert_status(
        &h.run("get_url", args.clone(), NORMAL).await,
        Status::Ok,
        "get_url second run",
    );
    let forced = json!({"url": server.url("/file?v=9"), "dest": dest, "force": true});
    check_changes_nothing(h, root, "get_url", forced.clone()).await;
    assert_status(
        &h.run("get_url", forced, NORMAL).await,
        Status::Changed,
        "get_url new content",
    );
    let r = h
        .run(
            "get_url",
            json!({"url": server.url("/status/500"), "dest": p(root, "x")}),
            NORMAL,
        )
        .await;
    assert_status(&r, Status::Failed, "get_url HTTP 500");
}

pub async fn uri_suite(h: &Harness<'_>, _root: &Path) {
    use super::http::HttpServer;
    let server = HttpServer::start_on(controller_address());
    let r = h
        .run("uri", json!({"url": server.url("/json")}), NORMAL)
        .await;
    assert_status(&r, Status::Ok, "uri GET");
    assert_eq!(r.data["json"]["name"], "baton");
    let r = h
        .run("uri", json!({"url": server.url("/echo"), "method": "POST", "body_format": "json", "body": {"k": "v"}}), NORMAL)
        .await;
    assert_eq!(r.data["json"]["body"], r#"{"k": "v"}"#);
    let r = h
        .run("uri", json!({"url": server.url("/status/404")}), NORMAL)
        .await;
    assert_status(&r, Status::Failed, "uri 404");
    assert_eq!(r.data["status"], 404);
}

pub async fn git_suite(h: &Harness<'_>, root: &Path) {
    // A bare repository with one commit, made on the host under test (a lab
    // node's paths are not the same paths here).
    let bare = p(root, "origin.git");
    let made = h
        .run(
            "shell",
            json!({"cmd": format!(
                "set -e; g='git -c user.name=t -c user.email=t@example.invalid -c init.defaultBranch=main'; \
                 $g init -q --bare {bare}; w=$(mktemp -d); cd \"$w\"; $g init -q; echo 1 > f; $g add f; \
                 $g commit -qm 1; $g push -q {bare} main; $g rev-parse HEAD; cd /; rm -rf \"$w\""
            )}),
            NORMAL,
        )
        .await;
    assert_status(&made, Status::Changed, "making the bare repository");
    let sha = made.stdout.unwrap_or_default();
    let dest = p(root, "checkout");
    let args = json!({"repo": bare, "dest": dest, "version": "main"});
    let dry = check_changes_nothing(h, root, "git", args.clone()).await;
    assert_status(&dry, Status::Changed, "git check mode");
    let r = h.run("git", args.clone(), NORMAL).await;
    assert_status(&r, Status::Changed, "git first run");
    assert_eq!(r.data["after"], sha.as_str());
    assert_eq!(
        std::fs::read_to_string(here(format!("{dest}/f"))).unwrap(),
        "1\n"
    );
    assert_status(
        &h.run("git", args, NORMAL).await,
        Status::Ok,
        "git second run",
    );
}

pub async fn mount_suite(h: &Harness<'_>, root: &Path) {
    // fstab entries only, in a scratch fstab: nothing is mounted.
    let fstab = p(root, "fstab");
    std::fs::write(here(&fstab), "UUID=1 / ext4 defaults 0 1\n").unwrap();
    let args = json!({"path": "/srv/baton-suite", "src": "tmpfs", "fstype": "tmpfs", "opts": "size=1m", "state": "present", "fstab": fstab});
    let dry = check_changes_nothing(h, root, "mount", args.clone()).await;
    assert_status(&dry, Status::Changed, "mount present check mode");
    assert_status(
        &h.run("mount", args.clone(), NORMAL).await,
        Status::Changed,
        "mount present first run",
    );
    assert!(std::fs::read_to_string(here(&fstab))
        .unwrap()
        .contains("tmpfs /srv/baton-suite tmpfs size=1m 0 0"));
    assert_status(
        &h.run("mount", args, NORMAL).await,
        Status::Ok,
        "mount present second run",
    );
    let absent = json!({"path": "/srv/baton-suite", "state": "absent", "fstab": fstab});
    check_changes_nothing(h, root, "mount", absent.clone()).await;
    assert_status(
        &h.run("mount", absent.clone(), NORMAL).await,
        Status::Changed,
        "mount absent",
    );
    assert_status(
        &h.run("mount", absent, NORMAL).await,
        Status::Ok,
        "mount absent again",
    );
    assert_eq!(
        std::fs::read_to_string(here(&fstab)).unwrap(),
        "UUID=1 / ext4 defaults 0 1\n"
    );
}
