//! The node-side probes and the HVR adapter of the failover content
//! (roles/hvr_install/files/hvrfailover-{lib,hvr,preflight,status,act,compare}),
//! without a lab: each script runs here as on a node, with a temporary
//! HVR_CONFIG and a PATH that holds only shims of the tools a node has
//! (ping, ip, arping, perl, the HVR commands, the DBMS status) and the
//! basic utilities. No root, no network beyond loopback, seconds.
//!
//! - The parsers against samples of each output (tests/fixtures/hvr/, each
//!   with its source in README.md), then truncated and garbled variants of
//!   them: those must all read as unknown.
//! - Every probe with shims that exit with an odd code, print nothing, print
//!   garbage, hang past the probe time-out, or are missing: every case must
//!   refuse (quoting what the tool did) and change nothing on the "node".

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scripts() -> PathBuf {
    repo().join("roles/hvr_install/files")
}

fn fixture(name: &str) -> String {
    fs::read_to_string(repo().join("tests/fixtures/hvr").join(name)).unwrap()
}

/// The utilities a node has besides the tools under test: linked into the
/// node's PATH one by one, so a tool absent from it is really missing.
const UTILITIES: &[&str] = &[
    "sh",
    "awk",
    "sed",
    "grep",
    "tr",
    "cut",
    "head",
    "tail",
    "cat",
    "date",
    "mktemp",
    "rm",
    "sleep",
    "timeout",
    "sort",
    "comm",
    "ls",
    "hostname",
    "env",
    "mkdir",
    "dirname",
    "wc",
    "sha256sum",
    "cp",
    "touch",
    "id",
    "basename",
    "printf",
    "true",
    "false",
    "perl",
    "flock",
    "mv",
    "sync",
    "realpath",
];

const VIP: &str = "10.0.0.100";
const HUB: &str = "hvrhub";
const CHN: &str = "orders";

/// One simulated node: shims, utilities, HVR_CONFIG, and the state the shims
/// keep (the VIP, the scheduler, every HVR command that would act).
struct Node {
    dir: tempfile::TempDir,
    /// A closed port on 127.0.0.1 (connection refused): the peer's scheduler
    /// port, the local scheduler when it is down, the listener port.
    closed_port: u16,
    /// A port that accepts connections: the local scheduler when it is up.
    open: TcpListener,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        for sub in [
            "shims",
            "utilities",
            "state",
            "tmp",
            "home/bin",
            "config/files",
            "config/log/hvrfailover",
        ] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        for name in UTILITIES {
            let found = Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {name}"))
                .output()
                .unwrap();
            let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
            if path.starts_with('/') {
                std::os::unix::fs::symlink(&path, dir.path().join("utilities").join(name)).unwrap();
            }
        }
        let closed_port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let node = Node {
            dir,
            closed_port,
            open: TcpListener::bind("127.0.0.1:0").unwrap(),
        };
        node.good_shims();
        node
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn state(&self) -> PathBuf {
        self.path("state")
    }

    fn open_port(&self) -> u16 {
        self.open.local_addr().unwrap().port()
    }

    /// Writes `shims/NAME` (a shell script; STATE is replaced by the state
    /// directory, FIXTURES by the fixtures directory).
    fn shim(&self, name: &str, body: &str) {
        let path = self.path("shims").join(name);
        let text = format!(
            "#!/bin/sh\n{}\n",
            body.replace("STATE", &self.state().display().to_string())
                .replace(
                    "FIXTURES",
                    &repo().join("tests/fixtures/hvr").display().to_string()
                )
        );
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn remove_tool(&self, name: &str) {
        let _ = fs::remove_file(self.path("shims").join(name));
        let _ = fs::remove_file(self.path("utilities").join(name));
    }

    /// Shims that give every probe its "safe" answer, as the real tools
    /// print it.
    fn good_shims(&self) {
        self.shim("ping", "cat FIXTURES/ping-noreply.txt; exit 1");
        self.shim(
            "ip",
            r#"case "$*" in
"-4 -o addr show dev eth0")
    echo '2: eth0    inet 10.0.0.11/24 brd 10.0.0.255 scope global eth0\       valid_lft forever preferred_lft forever'
    [ -f STATE/vip ] && echo "2: eth0    inet $(cat STATE/vip)/24 scope global secondary eth0:1\       valid_lft forever preferred_lft forever"
    exit 0 ;;
"addr add "*) echo "${3%/*}" > STATE/vip; exit 0 ;;
"addr del "*) rm -f STATE/vip; exit 0 ;;
esac
echo "ip shim: unexpected $*" >&2
exit 1"#,
        );
        self.shim(
            "arping",
            r#"case " $* " in *" -D "*) cat FIXTURES/arping-dad-clear.txt; exit 0 ;; esac
exit 0"#,
        );
        self.shim(
            "hvrtestlistener",
            r#"echo "hvrtestlistener: no HVR server answers on $2:$3: connection refused"; exit 1"#,
        );
        self.shim(
            "hvrtestscheduler",
            r#"if [ -f STATE/scheduler ]; then echo "scheduler of $2 answers"; exit 0; fi
echo "scheduler of $2 does not answer"; exit 1"#,
        );
        self.shim("ingstatus", "cat FIXTURES/ingstatus-running.txt; exit 0");
        self.shim(
            "hvrrouterview",
            "cat FIXTURES/hvrrouterview-empty.xml; exit 0",
        );
        self.shim(
            "hvrcompare",
            "echo \"hvrcompare: table simtable: identical\"; exit 0",
        );
        // The commands that act record each call: a refused run makes none.
        for name in [
            "hvrscheduler",
            "hvrstart",
            "hvrsuspend",
            "hvrinit",
            "hvrrefresh",
            "hvrremotelistener",
        ] {
            self.shim(
                name,
                "echo \"$(basename \"$0\") $*\" >> STATE/calls; exit 0",
            );
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let path = format!(
            "{}:{}:{}",
            self.path("shims").display(),
            scripts().display(),
            self.path("utilities").display()
        );
        let mut cmd = Command::new(self.path("utilities/sh"));
        cmd.arg("-c")
            .arg("exec \"$@\"")
            .arg("node")
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HVR_CONFIG", self.path("config"))
            .env("HVR_HOME", self.path("home"))
            .env("TMPDIR", self.path("tmp"))
            .env("HVRFAILOVER_PROBE_TIMEOUT", "0.5")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().unwrap();
        Run::from(out)
    }

    /// Sources the adapter and runs one function: "rc=N" then WHY.
    fn call(&self, function_and_args: &str) -> Run {
        self.run(&[
            "sh",
            "-c",
            &format!(
                ". hvrfailover-hvr; {function_and_args}; rc=$?; lib_cleanup; echo \"rc=$rc $WHY\""
            ),
        ])
    }

    /// Parses STDIN with one of the adapter's parsers.
    fn parse(&self, parser: &str, input: &str) -> String {
        let mut child = self
            .command(&["sh", "-c", &format!(". hvrfailover-hvr; {parser}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Parses each input with the same parser, in one shell: one answer per
    /// input (its lines joined by " | ").
    fn parse_many(&self, parser: &str, inputs: &[String]) -> Vec<String> {
        let dir = self.path("state/inputs");
        fs::create_dir_all(&dir).unwrap();
        for (i, input) in inputs.iter().enumerate() {
            fs::write(dir.join(format!("{i:05}")), input).unwrap();
        }
        let script = format!(
            ". hvrfailover-hvr; for f in {}/*; do {parser} < \"$f\" | tr '\\n' '|'; echo; done",
            dir.display()
        );
        let out = self.run(&["sh", "-c", &script]);
        fs::remove_dir_all(&dir).unwrap();
        let answers: Vec<String> = out
            .stdout
            .lines()
            .map(|l| l.trim_end_matches('|').replace('|', " | "))
            .collect();
        assert_eq!(answers.len(), inputs.len(), "{out:?}");
        answers
    }

    fn preflight_vip(&self) -> Run {
        self.run(&["hvrfailover-preflight", "vip", VIP, "eth0", "0.3"])
    }

    fn preflight_scheduler(&self) -> Run {
        let port = self.closed_port.to_string();
        self.run(&[
            "hvrfailover-preflight",
            "scheduler",
            "127.0.0.1",
            &port,
            "0.3",
        ])
    }

    /// Every file of the node and its content, except the shims and
    /// utilities (the test's), HVR's compare diff files (hvrcompare's own
    /// documented output) and the hvrfailover log (checked apart: a
    /// refusal may record a FAILED line, never an action).
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                let skip = [
                    "shims",
                    "utilities",
                    "config/diff",
                    "config/log/hvrfailover",
                ];
                if skip.iter().any(|s| rel.starts_with(s)) {
                    continue;
                }
                if path.is_dir() {
                    out.insert(rel, Vec::new());
                    walk(&path, root, out);
                } else {
                    out.insert(rel, fs::read(&path).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out
    }

    fn log(&self) -> String {
        fs::read_to_string(self.path("config/log/hvrfailover/hvrfailover.log")).unwrap_or_default()
    }
}

#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }
    }
}

// ---------------------------------------------------------------------------
// Parsers on samples, truncated and garbled
// ---------------------------------------------------------------------------

#[test]
fn routerview_samples_parse_and_every_truncation_or_garbling_is_unknown() {
    let node = Node::new();
    for (name, files) in [
        ("hvrrouterview-cap_state.xml", 1),
        ("hvrrouterview-empty.xml", 0),
        ("hvrrouterview-two-files.xml", 2),
    ] {
        let xml = fixture(name);
        assert_eq!(
            node.parse("hvr_parse_routerview", &xml),
            format!("files {files}"),
            "{name}"
        );
        assert_eq!(
            node.parse("hvr_parse_routerview", xml.trim_end()),
            format!("files {files}"),
            "{name} without its last newline"
        );
        // Every cut before the end of the root element: truncated output.
        let end = xml.rfind("</hvr_private>").unwrap() + "</hvr_private".len();
        let mut cuts: Vec<usize> = xml.match_indices('\n').map(|(i, _)| i).collect();
        cuts.extend((0..end).step_by(3));
        cuts.retain(|c| *c < end);
        let inputs: Vec<String> = cuts.iter().map(|c| xml[..*c].to_string()).collect();
        for (cut, got) in cuts
            .iter()
            .zip(node.parse_many("hvr_parse_routerview", &inputs))
        {
            assert!(
                got.starts_with("unknown "),
                "{name} cut at byte {cut} read as {got:?}:\n{}",
                &xml[..*cut]
            );
        }
    }
    let two = fixture("hvrrouterview-two-files.xml");
    let garbled: Vec<(&str, String)> = vec![
        (
            "an element baton does not know",
            two.replacen("<file ", "<tx ", 1),
        ),
        (
            "a new element among the known ones",
            two.replacen("<list>", "<transaction id=\"7\"/>\n<list>", 1),
        ),
        (
            "another version",
            two.replace("version=\"1.0\">", "version=\"2.0\">"),
        ),
        (
            "no DOCTYPE",
            two.replace(
                "<!DOCTYPE hvr_private SYSTEM \"lib/hvr_private.dtd\">\n",
                "",
            ),
        ),
        (
            "no XML declaration",
            two.lines().skip(1).collect::<Vec<_>>().join("\n"),
        ),
        ("text after the root", format!("{two}trailing words\n")),
        ("an unclosed list", two.replacen("</list>\n", "", 1)),
        (
            "binary junk",
            two.replacen("<list>", "<list>\u{1}\u{7f}\u{fffd}", 1),
        ),
        (
            "a bad int",
            two.replacen("<int>118</int>", "<int>11x8</int>", 1),
        ),
        (
            "an element split over lines",
            two.replacen("<file name=", "<file\nname=", 1),
        ),
        (
            "HTML instead of XML",
            "<html><body>502 Bad Gateway</body></html>\n".into(),
        ),
        (
            "an error message",
            "F_JR0911: Cannot open hub database\n".into(),
        ),
        ("nothing", String::new()),
    ];
    for (what, text) in garbled {
        let got = node.parse("hvr_parse_routerview", &text);
        assert!(got.starts_with("unknown "), "{what}: read as {got:?}");
    }
}

#[test]
fn compare_diff_sample_parses_and_truncated_or_garbled_statements_are_unknown() {
    let node = Node::new();
    let sql = fixture("orders-cmp-db1-db2_2022-04-13_07-31-02_702Z_simtable_zRsfn.diff");
    assert_eq!(
        node.parse("hvr_parse_compare_sql db1 db2", &sql),
        "only_src p-00000001\nonly_src it's\nonly_tgt only2-00000001\ndifferent c-00000007"
    );
    let empty = node.parse("hvr_parse_compare_sql db1 db2", "");
    assert!(
        empty.starts_with("unknown "),
        "an empty diff file read as {empty:?}"
    );
    // Every statement cut short.
    let cut_lines: Vec<String> = sql
        .lines()
        .flat_map(|line| (1..line.len()).map(move |cut| line[..cut].to_string()))
        .collect();
    for (text, got) in cut_lines
        .iter()
        .zip(node.parse_many("hvr_parse_compare_sql db1 db2", &cut_lines))
    {
        assert!(got.starts_with("unknown "), "{text:?} read as {got:?}");
    }
    for garbled in [
        "insert into simtable values ('x');",
        "INSERT INTO simtable (k, v) VALUES ('x', 'y');",
        "delete from simtable where k = 'x'",
        "delete from simtable where k = x;",
        "update simtable set v = 'x' where k = 'y'",
        "update simtable set v = 'x', w = 'z' where k = 'y';",
        "insert into simtable (k, v) values ('it's', 'v');",
        "-- 3 rows differ",
        "\u{1}\u{2}garbage",
    ] {
        let text = format!("{garbled}\n");
        let got = node.parse("hvr_parse_compare_sql db1 db2", &text);
        assert!(got.starts_with("unknown "), "{garbled:?} read as {got:?}");
        // One bad line among good ones spoils the whole answer.
        let mixed = node.parse("hvr_parse_compare_sql db1 db2", &format!("{sql}{text}"));
        assert!(
            mixed.starts_with("unknown ") && !mixed.contains("only_src"),
            "{garbled:?} after good lines read as {mixed:?}"
        );
    }
}

/// The non-HVR tools' outputs (ping, arping, ip, the DBMS status) through
/// shims that print the samples: agreeing exit code and output give an
/// answer; a disagreeing exit code or a cut output gives unknown.
#[test]
fn tool_samples_answer_and_disagreeing_or_cut_outputs_are_unknown() {
    let node = Node::new();
    let check = |tool: &str, sample: &str, code: i32, call: &str, want: &str| {
        node.shim(tool, &format!("cat FIXTURES/{sample}; exit {code}"));
        let got = node.call(call);
        assert!(
            got.stdout.starts_with(want),
            "{tool} printing {sample} and exiting {code}: {call} gave {:?} (wanted {want})",
            got.stdout
        );
    };
    check(
        "ping",
        "ping-reply.txt",
        0,
        "ping_answers 10.0.0.9 0.3",
        "rc=0 10.0.0.9 answers ping (1 packets transmitted, 1 received",
    );
    check(
        "ping",
        "ping-noreply.txt",
        1,
        "ping_answers 10.0.0.9 0.3",
        "rc=1 no reply from 10.0.0.9",
    );
    check(
        "ping",
        "ping-reply.txt",
        1,
        "ping_answers 10.0.0.9 0.3",
        "rc=3 UNKNOWN:",
    );
    check(
        "ping",
        "ping-noreply.txt",
        0,
        "ping_answers 10.0.0.9 0.3",
        "rc=3 UNKNOWN:",
    );
    check(
        "ping",
        "ping-noreply.txt",
        2,
        "ping_answers 10.0.0.9 0.3",
        "rc=3 UNKNOWN:",
    );
    check(
        "arping",
        "arping-dad-clear.txt",
        0,
        "arp_others_answer va 10.9.9.50",
        "rc=1 no other host answers ARP",
    );
    check("arping", "arping-dad-duplicate.txt", 1, "arp_others_answer va 10.9.9.3", "rc=0 another host answers ARP for 10.9.9.3 on va (arping -D: Unicast reply from 10.9.9.3 [2E:38:95:3D:DD:E4]");
    check(
        "arping",
        "arping-dad-duplicate.txt",
        0,
        "arp_others_answer va 10.9.9.3",
        "rc=3 UNKNOWN:",
    );
    check(
        "arping",
        "arping-dad-clear.txt",
        1,
        "arp_others_answer va 10.9.9.50",
        "rc=3 UNKNOWN:",
    );
    check(
        "ip",
        "ip-addr-show.txt",
        0,
        "ip_holds va 10.9.9.100",
        "rc=0 va holds 10.9.9.100 (va:1)",
    );
    check(
        "ip",
        "ip-addr-show.txt",
        0,
        "ip_holds va 10.9.9.5",
        "rc=1 va does not hold 10.9.9.5",
    );
    check(
        "ip",
        "ip-addr-show.txt",
        0,
        "ip_holds eth0 10.9.9.100",
        "rc=3 UNKNOWN: ip printed a line that is not an address of eth0",
    );
    check(
        "ip",
        "ip-addr-show.txt",
        2,
        "ip_holds va 10.9.9.100",
        "rc=3 UNKNOWN:",
    );
    check(
        "ingstatus",
        "ingstatus-running.txt",
        0,
        "dbms_serves",
        "rc=0 the DBMS runs with its communication server open",
    );
    check(
        "ingstatus",
        "ingstatus-stopped.txt",
        1,
        "dbms_serves",
        "rc=1 the DBMS does not run",
    );
    check(
        "ingstatus",
        "ingstatus-running.txt",
        1,
        "dbms_serves",
        "rc=3 UNKNOWN:",
    );
    check(
        "ingstatus",
        "ingstatus-stopped.txt",
        0,
        "dbms_serves",
        "rc=3 UNKNOWN:",
    );

    // Each sample cut before its decisive line.
    for (tool, sample, code, call) in [
        ("ping", "ping-noreply.txt", 1, "ping_answers 10.0.0.9 0.3"),
        (
            "arping",
            "arping-dad-clear.txt",
            0,
            "arp_others_answer va 10.9.9.50",
        ),
        ("ingstatus", "ingstatus-running.txt", 0, "dbms_serves"),
    ] {
        let text = fixture(sample);
        let decisive = ["packets transmitted", "Received", "iidbms"]
            .iter()
            .filter_map(|w| text.find(w))
            .min()
            .unwrap();
        for cut in (0..decisive + 6).step_by(4) {
            fs::write(node.path("state/sample"), &text[..cut]).unwrap();
            node.shim(tool, &format!("cat STATE/sample; exit {code}"));
            let got = node.call(call);
            assert!(
                got.stdout.starts_with("rc=3 UNKNOWN:"),
                "{sample} cut at {cut} gave {:?}",
                got.stdout
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The happy paths the refusals below are measured against
// ---------------------------------------------------------------------------

#[test]
fn with_well_behaved_tools_every_probe_answers() {
    let node = Node::new();
    let vip = node.preflight_vip();
    assert_eq!(vip.code, Some(0), "{vip:?}");
    assert!(
        vip.stdout
            .starts_with("ok: the VIP 10.0.0.100 does not answer"),
        "{vip:?}"
    );

    let sched = node.preflight_scheduler();
    assert_eq!(sched.code, Some(0), "{sched:?}");
    assert!(
        sched.stdout.contains("refuses TCP connections")
            && sched.stdout.contains("no HVR server answers"),
        "{sched:?}"
    );

    let status = node.run(&[
        "hvrfailover-status",
        HUB,
        CHN,
        VIP,
        "eth0",
        &node.closed_port.to_string(),
        "/nonexistent",
        "echo 'channel orders capture=db<self> integrate=db<peer>'",
        &node.closed_port.to_string(),
    ]);
    assert_eq!(status.code, Some(0), "{status:?}");
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["unknown"], serde_json::json!([]), "{json}");
    assert_eq!(json["scheduler"], "stopped");
    assert_eq!(json["dbms_running"], true);
    assert_eq!(json["iigcc_open"], true);
    assert_eq!(json["vip_held"], false);
    assert_eq!(json["vip_state"], "absent");
    assert_eq!(json["router_files"], 0);
    assert_eq!(json["catalog_ok"], true);
    // Boolean fields are JSON booleans: a playbook's `when:` on a string is
    // an error (issue 10's trial: recover of a never-stopped standby).
    assert_eq!(json["stop_done"], false, "{json}");
    assert_eq!(json["stop_done_record"], "", "{json}");
    let graceful = "2026-11-29 10:00:00Z graceful stop: flushed";
    fs::write(
        node.path("config/files/hvrfailover.stop_done"),
        format!("{graceful}\n"),
    )
    .unwrap();
    let stopped = node.run(&[
        "hvrfailover-status",
        HUB,
        CHN,
        VIP,
        "eth0",
        &node.closed_port.to_string(),
        "/nonexistent",
        "echo 'channel orders capture=db<self> integrate=db<peer>'",
        &node.closed_port.to_string(),
    ]);
    let json: serde_json::Value = serde_json::from_str(&stopped.stdout).unwrap();
    assert_eq!(json["stop_done"], true, "{json}");
    assert_eq!(json["stop_done_record"], graceful, "{json}");
    fs::remove_file(node.path("config/files/hvrfailover.stop_done")).unwrap();

    // The VIP held here: arping -D finds no other holder.
    fs::write(node.state().join("vip"), VIP).unwrap();
    let held = node.preflight_vip();
    assert_eq!(held.code, Some(0), "{held:?}");
    assert!(held.stdout.contains("already holds the VIP"), "{held:?}");
    fs::remove_file(node.state().join("vip")).unwrap();

    let add = node.run(&[
        "hvrfailover-act",
        "test",
        "vip-add",
        VIP,
        "24",
        "eth0",
        "eth0:1",
        "1",
        "0.1",
        "0",
        "1",
    ]);
    assert_eq!(add.code, Some(0), "{add:?}");
    assert!(add.stdout.starts_with("changed: VIP"), "{add:?}");
    assert_eq!(
        fs::read_to_string(node.state().join("vip")).unwrap().trim(),
        VIP
    );

    let stop = node.run(&[
        "hvrfailover-act",
        "test",
        "scheduler-stop",
        HUB,
        CHN,
        &node.closed_port.to_string(),
        "1",
    ]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert!(
        stop.stdout.starts_with(
            "ok: the scheduler of hvrhub is not running and no transaction file waits"
        ),
        "{stop:?}"
    );

    let compare = node.run(&["hvrfailover-compare", HUB, CHN, "db1", "db2", "1", "0"]);
    assert_eq!(compare.code, Some(0), "{compare:?}");
    assert!(compare.stdout.starts_with("identical"), "{compare:?}");
    assert!(
        !node.path("tmp").read_dir().unwrap().any(|_| true),
        "temporary files were left behind"
    );
}

#[test]
fn a_differing_compare_reads_its_diff_file_and_the_router_counts_files() {
    let node = Node::new();
    let diff = "orders-cmp-db1-db2_2022-04-13_07-31-02_702Z_simtable_zRsfn.diff";
    node.shim(
        "hvrcompare",
        &format!(
            "mkdir -p \"$HVR_CONFIG/diff/hvrhub/orders\"; cp FIXTURES/{diff} \"$HVR_CONFIG/diff/hvrhub/orders/\"; echo '4 rows differ'; exit 1"
        ),
    );
    let compare =
        node.call("hvr_compare hvrhub orders db1 db2; r=$?; cat \"$CMP_KEYS\"; (exit $r)");
    assert!(
        compare.stdout.contains("only_src it's")
            && compare.stdout.contains(
                "rc=1 4 rows differ (rows only in db1: 2, rows only in db2: 1, different values: 1"
            ),
        "{compare:?}"
    );
    node.shim("hvrrouterview", "cat FIXTURES/hvrrouterview-two-files.xml");
    let router = node.call("hvr_router_empty hvrhub orders");
    assert!(
        router.stdout.starts_with("rc=1 2 transaction file(s)"),
        "{router:?}"
    );
}

// ---------------------------------------------------------------------------
// Shims that misbehave: every case refuses and changes nothing
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    /// An exit code its documentation does not give.
    Odd,
    /// The exit code that would mean "safe", and no output.
    Nothing,
    /// The exit code that would mean "safe", and garbage.
    Garbage,
    /// Still running after the probe time-out.
    Hang,
    /// Not installed.
    Missing,
}

/// Where a probe is used, and what its refusal looks like there.
#[derive(Clone, Copy, Debug)]
enum Entry {
    /// hvrfailover-preflight vip: exit 3, UNKNOWN.
    PreflightVip,
    /// The same with this node already holding the VIP (arping -D).
    PreflightVipHeld,
    /// hvrfailover-preflight scheduler: exit 3, UNKNOWN.
    PreflightScheduler,
    /// hvrfailover-act vip-add: exit 3, the VIP not added.
    VipAdd,
    /// The same with the tool misbehaving only once the VIP is on the
    /// interface (the check right after adding it): exit 3, the VIP removed
    /// again.
    VipAddAfter,
    /// hvrfailover-act scheduler-start: exit 3, hvrscheduler never called.
    SchedulerStart,
    /// hvrfailover-act scheduler-stop (scheduler down): exit 3.
    SchedulerStopDown,
    /// hvrfailover-act scheduler-stop (scheduler up): the flush fails
    /// (exit 1), hvrscheduler -k never called.
    SchedulerStopUp,
    /// hvrfailover-status: the probe is listed as unknown.
    Status(&'static str),
    /// hvrfailover-compare: exit 3.
    Compare,
}

struct Case {
    tool: &'static str,
    variant: Variant,
    entry: Entry,
    /// The shim's body; None = the tool is missing.
    body: Option<String>,
}

/// The exit code that means "safe" for each tool (what a Nothing or
/// Garbage shim exits with), and an odd one.
fn codes(tool: &str) -> (i32, i32) {
    match tool {
        "ping" => (1, 2),
        "ip" => (0, 2),
        "arping" => (0, 2),
        "hvrtestlistener" | "hvrtestscheduler" | "perl" => (1, 42),
        _ => (0, 42),
    }
}

fn cases() -> Vec<Case> {
    use Entry::*;
    use Variant::*;
    let all = [Odd, Nothing, Garbage, Hang, Missing];
    // hvrtestlistener, hvrtestscheduler and hvrstart have no documented
    // output, so baton never parses it: garbage (and, for hvrstart, nothing)
    // with the usual exit code is their answer, and the verdict rests on the
    // TCP probe or the router check, tested here with their own shims.
    let no_output_read = [Odd, Nothing, Hang, Missing];
    let table: Vec<(&str, Entry, &[Variant])> = vec![
        ("ping", PreflightVip, &all),
        ("ip", PreflightVip, &all),
        ("ip", VipAdd, &all),
        ("arping", PreflightVipHeld, &all),
        ("arping", VipAdd, &all),
        ("arping", VipAddAfter, &all),
        ("hvrtestlistener", PreflightScheduler, &no_output_read),
        ("perl", PreflightScheduler, &all),
        ("hvrtestscheduler", SchedulerStart, &no_output_read),
        ("ingstatus", Status("DBMS"), &all),
        ("hvrrouterview", SchedulerStopDown, &all),
        ("hvrrouterview", Status("router"), &all),
        ("hvrcompare", Compare, &all),
        ("hvrstart", SchedulerStopUp, &[Odd, Hang, Missing]),
    ];
    let mut cases = Vec::new();
    for (tool, entry, variants) in table {
        let (safe, odd) = codes(tool);
        for &variant in variants {
            let body = match variant {
                Odd => Some(format!("echo '{tool}: something went wrong' >&2; exit {odd}")),
                Nothing => Some(format!("exit {safe}")),
                Garbage if tool == "hvrcompare" => Some(
                    "mkdir -p \"$HVR_CONFIG/diff/hvrhub/orders\"\nprintf 'lorem ipsum\\n\\001\\377 <xml/>\\n' > \"$HVR_CONFIG/diff/hvrhub/orders/orders-cmp-db1-db2_2026-01-01_00-00-00_000Z_simtable_abcde.diff\"\necho 'rows differ'; exit 1".to_string(),
                ),
                Garbage => Some(format!(
                    "printf 'lorem ipsum 1 received\\n\\001\\377 <hvr_private>\\nReceived 0 iidbms=running\\n'; exit {safe}"
                )),
                Hang => Some("exec sleep 30".to_string()),
                Missing => None,
            };
            // Right after the VIP is added: the tool behaves until then.
            let body = match (entry, body) {
                (VipAddAfter, Some(body)) => Some(format!(
                    "if [ ! -f STATE/vip ]; then cat FIXTURES/arping-dad-clear.txt; exit 0; fi\n{body}"
                )),
                (VipAddAfter, None) => Some(
                    "if [ ! -f STATE/vip ]; then cat FIXTURES/arping-dad-clear.txt; exit 0; fi\nexec arping-not-installed \"$@\"".to_string(),
                ),
                (_, body) => body,
            };
            cases.push(Case {
                tool,
                variant,
                entry,
                body,
            });
        }
    }
    cases
}

/// Runs one case on a fresh node; returns why it failed, if it did.
fn run_case(case: &Case) -> Result<(), String> {
    let node = Node::new();
    let port = node.closed_port.to_string();
    let open = node.open_port().to_string();
    match case.entry {
        Entry::PreflightVipHeld => fs::write(node.state().join("vip"), VIP).unwrap(),
        Entry::SchedulerStopUp => fs::write(node.state().join("scheduler"), "").unwrap(),
        _ => {}
    }
    match &case.body {
        Some(body) => {
            if case.tool == "perl" {
                node.remove_tool("perl");
            }
            node.shim(case.tool, body);
        }
        None => node.remove_tool(case.tool),
    }
    let before = node.snapshot();
    let log_before = node.log();
    let sched_port = match case.entry {
        Entry::SchedulerStopUp => open.as_str(),
        _ => port.as_str(),
    };
    let args: Vec<&str> = match case.entry {
        Entry::PreflightVip | Entry::PreflightVipHeld => {
            vec!["hvrfailover-preflight", "vip", VIP, "eth0", "0.3"]
        }
        Entry::PreflightScheduler => {
            vec![
                "hvrfailover-preflight",
                "scheduler",
                "127.0.0.1",
                &port,
                "0.3",
            ]
        }
        Entry::VipAdd | Entry::VipAddAfter => vec![
            "hvrfailover-act",
            "t",
            "vip-add",
            VIP,
            "24",
            "eth0",
            "eth0:1",
            "1",
            "0.1",
            "0",
            "1",
        ],
        Entry::SchedulerStart => vec![
            "hvrfailover-act",
            "t",
            "scheduler-start",
            HUB,
            CHN,
            sched_port,
            "0.3",
        ],
        Entry::SchedulerStopDown | Entry::SchedulerStopUp => {
            vec![
                "hvrfailover-act",
                "t",
                "scheduler-stop",
                HUB,
                CHN,
                sched_port,
                "2",
            ]
        }
        Entry::Status(_) => vec![
            "hvrfailover-status",
            HUB,
            CHN,
            VIP,
            "eth0",
            &port,
            "/nonexistent",
            "echo canonical",
            &port,
        ],
        Entry::Compare => vec!["hvrfailover-compare", HUB, CHN, "db1", "db2", "1", "0"],
    };
    let run = node.run(&args);
    let said = format!(
        "exit {:?}; stdout: {}; stderr: {}",
        run.code, run.stdout, run.stderr
    );
    if std::env::var_os("HVR_PROBES_SHOW").is_some() {
        eprintln!(
            "{} {:?} at {:?}: exit {:?}: {}",
            case.tool,
            case.variant,
            case.entry,
            run.code,
            run.stdout.chars().take(600).collect::<String>()
        );
    }
    // The quote says what the tool did.
    let quoted = match case.variant {
        Variant::Odd => format!("exited {}", codes(case.tool).1),
        Variant::Nothing => "printing nothing".to_string(),
        Variant::Garbage => "lorem ipsum".to_string(),
        Variant::Hang => "was still running after".to_string(),
        Variant::Missing => "command not found".to_string(),
    };
    let refused = match case.entry {
        Entry::Status(probe) => {
            let json: serde_json::Value = serde_json::from_str(&run.stdout)
                .map_err(|e| format!("status is not JSON ({e}): {said}"))?;
            let listed = json["unknown"]
                .as_array()
                .map(|u| {
                    u.iter().any(|s| {
                        let s = s.as_str().unwrap_or_default();
                        s.starts_with(&format!("{probe}:"))
                            && (s.contains(&quoted) || case.variant == Variant::Garbage)
                    })
                })
                .unwrap_or(false);
            run.code == Some(0) && listed
        }
        Entry::SchedulerStopUp => {
            run.code == Some(1)
                && run.stdout.starts_with("FAILED: the flush did not complete")
                && run.stdout.contains("STOP was NOT written")
                && run.stdout.contains(&quoted)
        }
        _ => {
            run.code == Some(3)
                && run.stdout.contains("UNKNOWN:")
                && (run.stdout.contains(&quoted) || case.variant == Variant::Garbage)
        }
    };
    if !refused {
        return Err(format!("did not refuse as it must: {said}"));
    }
    let after = node.snapshot();
    if before != after {
        let changed: Vec<_> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(v))
            .map(|(k, _)| k.display().to_string())
            .chain(
                before
                    .keys()
                    .filter(|k| !after.contains_key(*k))
                    .map(|k| format!("{} (removed)", k.display())),
            )
            .collect();
        return Err(format!("changed the node: {changed:?}; {said}"));
    }
    let log = node.log();
    let added = log.strip_prefix(&log_before).unwrap_or(&log);
    if added
        .lines()
        .any(|l| !l.contains("FAILED") && !l.contains("NOT SAFE"))
    {
        return Err(format!("logged an action: {added}"));
    }
    Ok(())
}

#[test]
fn every_probe_refuses_odd_silent_garbled_hung_or_missing_tools_and_changes_nothing() {
    let cases = cases();
    // The count for the issue's closing note.
    eprintln!("{} shim cases", cases.len());
    assert_eq!(cases.len(), 66);
    // A few at a time: most of the time goes to waiting for hung shims.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(6))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|case| {
                            run_case(case).err().map(|why| {
                                format!(
                                    "{} {:?} at {:?}: {why}",
                                    case.tool, case.variant, case.entry
                                )
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------
// The VIP: duplicate-address detection around adding it, two GARP bursts
// ---------------------------------------------------------------------------

/// Shims of arping and ip that record each call, with the time in ms, in
/// STATE/trace. arping -D answers "nobody" while this node does not hold
/// the VIP; `dup_when_held` makes another host answer once it does.
fn tracing_shims(node: &Node, dup_before: bool, dup_when_held: bool) {
    node.shim(
        "arping",
        &format!(
            r#"echo "$(($(date +%s%N) / 1000000)) arping $*" >> STATE/trace
case " $* " in
*" -D "*)
    if {} || {{ {} && [ -f STATE/vip ]; }}; then cat FIXTURES/arping-dad-duplicate.txt; exit 1; fi
    cat FIXTURES/arping-dad-clear.txt; exit 0 ;;
esac
exit 0"#,
            dup_before, dup_when_held
        ),
    );
    node.shim(
        "ip",
        r#"case "$*" in
"-4 -o addr show dev eth0")
    echo '2: eth0    inet 10.0.0.11/24 brd 10.0.0.255 scope global eth0\       valid_lft forever preferred_lft forever'
    [ -f STATE/vip ] && echo "2: eth0    inet $(cat STATE/vip)/24 scope global secondary eth0:1\       valid_lft forever preferred_lft forever"
    exit 0 ;;
"addr add "*) echo "$(($(date +%s%N) / 1000000)) ip $*" >> STATE/trace; echo "${3%/*}" > STATE/vip; exit 0 ;;
"addr del "*) echo "$(($(date +%s%N) / 1000000)) ip $*" >> STATE/trace; rm -f STATE/vip; exit 0 ;;
esac
echo "ip shim: unexpected $*" >&2
exit 1"#,
    );
}

fn vip_add(node: &Node, count: &str, interval: &str, delay: &str) -> Run {
    node.run(&[
        "hvrfailover-act",
        "test",
        "vip-add",
        VIP,
        "24",
        "eth0",
        "eth0:1",
        count,
        interval,
        delay,
        "1",
    ])
}

/// (ms, what) of each traced call.
fn trace(node: &Node) -> Vec<(u64, String)> {
    fs::read_to_string(node.state().join("trace"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (t, what) = l.split_once(' ').unwrap();
            (t.parse().unwrap(), what.to_string())
        })
        .collect()
}

/// Issue 10's trial: `ip addr add` exiting 0 was taken on trust. The VIP
/// add (start, switchover, failover and the boot script all use
/// hvrfailover-act vip-add) now checks with `ip -4 -o addr show dev IFACE`
/// that the address is there: when it is not (or ip cannot tell), it
/// removes it again, refuses quoting ip, and announces nothing.
#[test]
fn a_vip_add_that_ip_reports_done_but_is_not_listed_is_refused_and_removed() {
    for (show_rc, code, said) in [
        // ip addr add exits 0, the address never appears.
        (
            "0",
            Some(1),
            "exited 0 but the address is not there afterwards",
        ),
        // The listing after the add fails: cannot tell, fail closed.
        (
            "2",
            Some(3),
            "exited 0 but whether the address is there cannot be told",
        ),
    ] {
        let node = Node::new();
        node.shim(
            "ip",
            &format!(
                r#"case "$*" in
"-4 -o addr show dev eth0")
    if [ -f STATE/added ] && [ {show_rc} != 0 ]; then echo "RTNETLINK answers: Operation not permitted" >&2; exit {show_rc}; fi
    echo '2: eth0    inet 10.0.0.11/24 brd 10.0.0.255 scope global eth0\       valid_lft forever preferred_lft forever'
    exit 0 ;;
"addr add "*) touch STATE/added; exit 0 ;;
"addr del "*) echo "ip $*" >> STATE/calls; exit 2 ;;
esac
echo "ip shim: unexpected $*" >&2
exit 1"#
            ),
        );
        node.shim(
            "arping",
            r#"case " $* " in *" -D "*) cat FIXTURES/arping-dad-clear.txt; exit 0 ;; esac
echo "arping $*" >> STATE/calls; exit 0"#,
        );
        let add = vip_add(&node, "2", "0.1", "0");
        assert_eq!(add.code, code, "{add:?}");
        assert!(
            add.stdout.contains(said)
                && add
                    .stdout
                    .contains("ip addr add 10.0.0.100/24 dev eth0 label eth0:1")
                && add.stdout.contains("the VIP was NOT taken"),
            "{add:?}"
        );
        if show_rc == "0" {
            assert!(
                add.stdout.contains("printed: 2: eth0 inet 10.0.0.11/24")
                    || add.stdout.contains("printed: 2: eth0    inet 10.0.0.11/24"),
                "ip's listing is quoted: {add:?}"
            );
        } else {
            assert!(add.stdout.contains("Operation not permitted"), "{add:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let calls = fs::read_to_string(node.state().join("calls")).unwrap_or_default();
        assert_eq!(
            calls.lines().collect::<Vec<_>>(),
            ["ip addr del 10.0.0.100/24 dev eth0"],
            "removed again, and no gratuitous ARP: {calls}"
        );
    }
}

/// Finding 4 of the fault matrix: a re-run's VIP add raced the first run's
/// (still running on the node after its controller lost the link): `ip addr
/// add` failed with "Address already assigned" and start said "The VIP is
/// not held here" while it was. An add that fails because the address is
/// now on the interface is held: checked by ARP like any add, announced, ok.
/// An add that fails with the address absent says so.
#[test]
fn a_vip_add_that_finds_the_address_assigned_meanwhile_reports_it_held() {
    for (appears, code, said) in [
        (
            true,
            Some(0),
            "ok: the VIP 10.0.0.100 is on eth0: it was added there while this run was adding it",
        ),
        (
            false,
            Some(1),
            "the VIP is NOT on eth0 (eth0 does not hold 10.0.0.100)",
        ),
    ] {
        let node = Node::new();
        node.shim(
            "ip",
            &format!(
                r#"case "$*" in
"-4 -o addr show dev eth0")
    echo '2: eth0    inet 10.0.0.11/24 brd 10.0.0.255 scope global eth0\       valid_lft forever preferred_lft forever'
    [ -f STATE/vip ] && echo "2: eth0    inet $(cat STATE/vip)/24 scope global secondary eth0:1\       valid_lft forever preferred_lft forever"
    exit 0 ;;
"addr add "*) {} echo "Error: ipv4: Address already assigned." >&2; exit 2 ;;
"addr del "*) echo "ip $*" >> STATE/calls; rm -f STATE/vip; exit 0 ;;
esac
echo "ip shim: unexpected $*" >&2
exit 1"#,
                if appears {
                    r#"echo "${3%/*}" > STATE/vip;"#
                } else {
                    ""
                }
            ),
        );
        node.shim(
            "arping",
            r#"case " $* " in *" -D "*) echo "arping $*" >> STATE/calls; cat FIXTURES/arping-dad-clear.txt; exit 0 ;; esac
echo "arping $*" >> STATE/calls; exit 0"#,
        );
        let add = vip_add(&node, "1", "0.1", "0");
        assert_eq!(add.code, code, "{add:?}");
        assert!(
            add.stdout.contains(said) && add.stdout.contains("Address already assigned"),
            "{add:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
        let calls = fs::read_to_string(node.state().join("calls")).unwrap_or_default();
        let dad = calls.lines().filter(|l| l.contains(" -D ")).count();
        let garp = calls.lines().filter(|l| l.contains(" -U ")).count();
        assert!(!calls.contains("ip addr del"), "nothing removed: {calls}");
        if appears {
            // Checked just before and just after, then announced.
            assert_eq!((dad, garp), (2, 1), "{calls}");
        } else {
            assert_eq!((dad, garp), (1, 0), "nothing announced: {calls}");
        }
    }
}

#[test]
fn the_vip_is_checked_by_arp_just_before_and_after_it_is_added_then_announced_twice() {
    let node = Node::new();
    tracing_shims(&node, false, false);
    let add = vip_add(&node, "2", "0.1", "0.6");
    let returned = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert_eq!(add.code, Some(0), "{add:?}");
    assert!(
        add.stdout
            .contains("arping -D found no other holder just before and just after")
            && add
                .stdout
                .contains("gratuitous ARP: 2 x every 0.1 s, again after 0.6 s"),
        "{add:?}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let calls = trace(&node);
    let kinds: Vec<&str> = calls
        .iter()
        .map(|(_, w)| {
            if w.starts_with("ip addr add") {
                "add"
            } else if w.contains(" -D ") {
                "dad"
            } else if w.contains(" -U ") {
                "garp"
            } else {
                "other"
            }
        })
        .collect();
    assert_eq!(
        kinds,
        ["dad", "add", "dad", "garp", "garp", "garp", "garp"],
        "{calls:#?}"
    );
    let first_burst = calls[3].0;
    let second_burst = calls[5].0;
    assert!(
        second_burst >= first_burst + 600,
        "the second burst came {} ms after the first, not after hvr_garp_delay: {calls:#?}",
        second_burst - first_burst
    );
    assert!(
        second_burst > returned,
        "vip-add waited for the second burst instead of returning: {calls:#?}"
    );

    // The VIP given up before the delay passes: no second burst.
    let node = Node::new();
    tracing_shims(&node, false, false);
    let add = vip_add(&node, "1", "0.1", "0.8");
    assert_eq!(add.code, Some(0), "{add:?}");
    fs::remove_file(node.state().join("vip")).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let garps = trace(&node)
        .iter()
        .filter(|(_, w)| w.contains(" -U "))
        .count();
    assert_eq!(garps, 1, "{:#?}", trace(&node));
}

/// The prepared switchover's VIP add (`preflight-dad-done`): no detection
/// just before the add (its start pre-flight ran one after the old holder
/// had removed the VIP), the one just after still runs and still refuses.
/// A wait with a fraction runs arping with `-w` rounded up to whole seconds
/// (iputils takes no fraction), cut at the wait; a wait that is no number
/// is unknown (exit 3) and adds nothing.
#[test]
fn a_vip_add_after_the_preflights_detection_checks_just_after_and_takes_fractional_waits() {
    let add_args = |dad: &str, extra: &[&'static str]| {
        let mut v: Vec<String> = [
            "hvrfailover-act",
            "test",
            "vip-add",
            VIP,
            "24",
            "eth0",
            "eth0:1",
            "1",
            "0.1",
            "0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(dad.to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |node: &Node, args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        node.run(&args)
    };
    let node = Node::new();
    tracing_shims(&node, false, false);
    let add = run(&node, &add_args("0.2", &["preflight-dad-done"]));
    assert_eq!(add.code, Some(0), "{add:?}");
    assert!(
        add.stdout.contains(
            "arping -D found no other holder in the start pre-flight (after the old holder removed it) and just after adding it"
        ),
        "{add:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let calls = trace(&node);
    let dads: Vec<&String> = calls
        .iter()
        .map(|(_, w)| w)
        .filter(|w| w.contains(" -D "))
        .collect();
    assert_eq!(dads.len(), 1, "{calls:#?}");
    assert!(dads[0].contains("-w 1 "), "{calls:#?}");
    let add_at = calls
        .iter()
        .position(|(_, w)| w.starts_with("ip addr add"))
        .unwrap();
    let dad_at = calls.iter().position(|(_, w)| w.contains(" -D ")).unwrap();
    assert!(
        add_at < dad_at,
        "the detection ran before the add: {calls:#?}"
    );

    // Another holder answers once the VIP is up: removed again, NOT SAFE.
    let node = Node::new();
    tracing_shims(&node, false, true);
    let add = run(&node, &add_args("0.2", &["preflight-dad-done"]));
    assert_eq!(add.code, Some(1), "{add:?}");
    assert!(add.stdout.starts_with("NOT SAFE: "), "{add:?}");
    assert!(!node.state().join("vip").exists());

    // A wait that is not a number: unknown, nothing added.
    let node = Node::new();
    tracing_shims(&node, false, false);
    let add = run(&node, &add_args("0.2s", &[]));
    assert_eq!(add.code, Some(3), "{add:?}");
    assert!(
        add.stdout
            .contains("is not a positive number of seconds (hvr_arp_dad_wait)"),
        "{add:?}"
    );
    assert!(!node.state().join("vip").exists());

    // Any other ninth word is a usage error: nothing runs.
    let node = Node::new();
    tracing_shims(&node, false, false);
    let add = run(&node, &add_args("0.2", &["skip-dad"]));
    assert_eq!(add.code, Some(2), "{add:?}");
    assert!(trace(&node).is_empty());
}

#[test]
fn another_holder_answering_arp_just_before_or_after_the_add_refuses_and_leaves_no_vip() {
    // Before: the VIP is never added.
    let node = Node::new();
    tracing_shims(&node, true, false);
    let add = vip_add(&node, "1", "0.1", "0");
    assert_eq!(add.code, Some(1), "{add:?}");
    assert!(
        add.stdout
            .starts_with("NOT SAFE: another host answers ARP for 10.0.0.100")
            && add.stdout.contains("the VIP was NOT added"),
        "{add:?}"
    );
    assert!(!node.state().join("vip").exists());
    assert!(
        trace(&node).iter().all(|(_, w)| !w.starts_with("ip ")),
        "{:#?}",
        trace(&node)
    );
    assert!(
        node.log()
            .contains("test: NOT SAFE: another host answers ARP"),
        "{}",
        node.log()
    );

    // After: it is removed again at once, and never announced.
    let node = Node::new();
    tracing_shims(&node, false, true);
    let add = vip_add(&node, "1", "0.1", "0");
    assert_eq!(add.code, Some(1), "{add:?}");
    assert!(
        add.stdout.contains(
            "right after the VIP 10.0.0.100 was added here: it was removed again at once"
        ),
        "{add:?}"
    );
    assert!(!node.state().join("vip").exists());
    let calls: Vec<String> = trace(&node).into_iter().map(|(_, w)| w).collect();
    assert!(
        calls.iter().any(|w| w.starts_with("ip addr add"))
            && calls.iter().any(|w| w.starts_with("ip addr del"))
            && !calls.iter().any(|w| w.contains(" -U ")),
        "{calls:#?}"
    );

    // Held already while another host answers: nothing is announced.
    let node = Node::new();
    tracing_shims(&node, false, true);
    fs::write(node.state().join("vip"), VIP).unwrap();
    let add = vip_add(&node, "1", "0.1", "0");
    assert_eq!(add.code, Some(1), "{add:?}");
    assert!(add.stdout.contains("two nodes hold it"), "{add:?}");
    assert!(
        !trace(&node).iter().any(|(_, w)| w.contains(" -U ")),
        "{:#?}",
        trace(&node)
    );
}

// ---------------------------------------------------------------------------
// The operation lock
// ---------------------------------------------------------------------------

#[test]
fn the_operation_lock_admits_one_run_and_takes_over_only_a_run_of_the_same_controller_that_is_gone()
{
    let node = Node::new();
    let lock_file = node.path("config/files/hvrfailover.lock");
    let lock = |args: &[&str]| {
        let mut full = vec!["hvrfailover-lock"];
        full.extend(args);
        node.run(&full)
    };
    // take OPERATION CONTROLLER PID PROC BOOT LIVE NOW STALE_AFTER WHAT...
    let take = |op: &str, host: &str, pid: &str, proc_: &str, live: &str, now: &str| {
        let boot = proc_.split(':').next().unwrap();
        lock(&[
            "take", op, host, pid, proc_, boot, live, now, "7200", "node=bc1",
        ])
    };

    let first = take("start", "ctl", "100", "B:500", "100@500", "600");
    assert_eq!(first.code, Some(0), "{first:?}");
    assert!(
        first
            .stdout
            .starts_with("taken: operation=start controller=ctl pid=100 proc=B:500 since="),
        "{first:?}"
    );
    assert_eq!(
        take("start", "ctl", "100", "B:500", "100@500", "600")
            .stdout
            .split(':')
            .next(),
        Some("ours")
    );

    // Another run of the same controller while the holder runs: refused.
    let second = take("stop", "ctl", "200", "B:700", "100@500,200@700", "800");
    assert_eq!(second.code, Some(1), "{second:?}");
    assert!(
        second
            .stdout
            .starts_with("held: start node=bc1 by controller ctl (pid 100) since ")
            && second.stdout.ends_with("holder_pid=100")
            && !second.stdout.contains("STALE"),
        "{second:?}"
    );
    // Another controller cannot tell whether the holder runs: refused.
    let other = take("stop", "ctl2", "300", "C:5", "300@5", "10");
    assert_eq!(other.code, Some(1), "{other:?}");
    // A process that started after the controller listed the live ones
    // is not taken for gone.
    let later = take("stop", "ctl", "200", "B:700", "200@700", "400");
    assert_eq!(later.code, Some(1), "{later:?}");
    assert!(fs::read_to_string(&lock_file).unwrap().contains("pid=100 "));

    // The same controller, the holder gone: taken over, and logged.
    let over = take("stop", "ctl", "200", "B:700", "200@700", "800");
    assert_eq!(over.code, Some(0), "{over:?}");
    assert!(
        over.stdout
            .starts_with("taken over: operation=stop controller=ctl pid=200")
            && over
                .stdout
                .contains("process 100 (started at tick 500) no longer runs on ctl"),
        "{over:?}"
    );
    assert!(
        node.log()
            .contains("lock: taken over by stop (controller ctl, pid 200)"),
        "{}",
        node.log()
    );

    // The controller rebooted since the holder took it: gone.
    let rebooted = take("switchover", "ctl", "7", "D:10", "7@10", "20");
    assert!(
        rebooted.code == Some(0) && rebooted.stdout.contains("has rebooted since"),
        "{rebooted:?}"
    );

    // Only the holder releases it.
    let not_ours = lock(&["release", "ctl", "200", "B:700"]);
    assert_eq!(not_ours.code, Some(1), "{not_ours:?}");
    assert!(lock_file.exists());
    let released = lock(&["release", "ctl", "7", "D:10"]);
    assert_eq!(released.code, Some(0), "{released:?}");
    assert!(!lock_file.exists());

    // Older than STALE_AFTER: reported stale; unlock clears it only for its PID.
    fs::write(
        &lock_file,
        "operation=recover controller=far pid=4242 proc=X:1 since=2020-01-01T00:00:00Z epoch=1577836800 what=node=bc2\n",
    )
    .unwrap();
    let stale = take("start", "ctl", "100", "B:500", "100@500", "600");
    assert_eq!(stale.code, Some(1), "{stale:?}");
    assert!(
        stale
            .stdout
            .contains("held: recover node=bc2 by controller far (pid 4242)")
            && stale
                .stdout
                .contains("STALE: older than 7200 s (hvr_lock_stale_after)"),
        "{stale:?}"
    );
    let wrong = lock(&["clear", "4243"]);
    assert_eq!(wrong.code, Some(1), "{wrong:?}");
    assert!(lock_file.exists());
    let cleared = lock(&["clear", "4242"]);
    assert_eq!(cleared.code, Some(0), "{cleared:?}");
    assert!(!lock_file.exists());
    assert!(
        node.log()
            .contains("lock: cleared (baton run unlock): operation=recover"),
        "{}",
        node.log()
    );

    // An empty lock file is not a free lock.
    fs::write(&lock_file, "").unwrap();
    let empty = take("start", "ctl", "100", "B:500", "100@500", "600");
    assert_eq!(empty.code, Some(1), "{empty:?}");
    fs::remove_file(&lock_file).unwrap();

    // Without flock(1) it cannot be taken safely: unknown, nothing written.
    node.remove_tool("flock");
    let no_flock = take("start", "ctl", "100", "B:500", "100@500", "600");
    assert_eq!(no_flock.code, Some(3), "{no_flock:?}");
    assert!(!lock_file.exists());
}

/// Issue 10's trial: an empty or corrupt lock file blocked every operation
/// and the printed remedy (`-e lock_pid=none`) was rejected by unlock. A
/// malformed lock is named as such, with `holder_pid=malformed` (lock.yml
/// prints `-e lock_malformed=true` for it), and `clear-malformed` removes
/// it only while it is malformed. The lock is written durably: the
/// temporary file is fsync'd before the rename and the directory after it;
/// a failing sync leaves no lock and says UNKNOWN.
#[test]
fn a_malformed_lock_is_named_and_cleared_only_while_malformed_and_locks_are_written_durably() {
    let node = Node::new();
    let lock_file = node.path("config/files/hvrfailover.lock");
    let files = node.path("config/files");
    let take = || {
        node.run(&[
            "hvrfailover-lock",
            "take",
            "start",
            "ctl",
            "100",
            "B:500",
            "B",
            "100@500",
            "600",
            "7200",
            "node=bc1",
        ])
    };

    for (content, why) in [
        ("", "no controller="),
        ("garbage\n", "no controller="),
        (
            "operation=start controller=ctl pid=12x proc=B:1 since=x epoch=1 what=\n",
            "no numeric pid=",
        ),
    ] {
        fs::write(&lock_file, content).unwrap();
        let refused = take();
        assert_eq!(refused.code, Some(1), "{refused:?}");
        assert!(
            refused.stdout.starts_with("held: MALFORMED lock file")
                && refused.stdout.contains(why)
                && refused.stdout.ends_with("holder_pid=malformed"),
            "{refused:?}"
        );
        let cleared = node.run(&["hvrfailover-lock", "clear-malformed"]);
        assert_eq!(cleared.code, Some(0), "{cleared:?}");
        assert!(
            cleared.stdout.starts_with("cleared: a malformed lock"),
            "{cleared:?}"
        );
        assert!(!lock_file.exists());
        assert!(
            node.log().contains("lock: cleared a malformed lock"),
            "{}",
            node.log()
        );
    }

    // A well-formed lock (a run took it meanwhile) is not cleared as malformed.
    node.shim("sync", "echo \"$*\" >> STATE/sync.log");
    let taken = take();
    assert_eq!(taken.code, Some(0), "{taken:?}");
    let kept = node.run(&["hvrfailover-lock", "clear-malformed"]);
    assert_eq!(kept.code, Some(1), "{kept:?}");
    assert!(kept.stdout.contains("-e lock_pid=100"), "{kept:?}");
    assert!(lock_file.exists());

    // Durable: the new file is synced before the rename, the directory after.
    let synced = fs::read_to_string(node.state().join("sync.log")).unwrap();
    let lines: Vec<&str> = synced.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{}.new", lock_file.display()),
            files.display().to_string()
        ],
        "{synced}"
    );
    let released = node.run(&["hvrfailover-lock", "release", "ctl", "100", "B:500"]);
    assert_eq!(released.code, Some(0), "{released:?}");
    assert!(!lock_file.exists());

    // A sync that fails: no lock, nothing left behind, UNKNOWN.
    node.shim("sync", "echo 'sync: I/O error' >&2; exit 1");
    let failed = take();
    assert_eq!(failed.code, Some(3), "{failed:?}");
    assert!(
        failed.stdout.starts_with("UNKNOWN: cannot write"),
        "{failed:?}"
    );
    assert!(!lock_file.exists());
    assert!(!node.path("config/files/hvrfailover.lock.new").exists());
}

// ---------------------------------------------------------------------------
// Boot without the controller (hvrfailover-onboot)
// ---------------------------------------------------------------------------

const PEER_ADDRESS: &str = "127.0.0.2";

impl Node {
    /// A node whose state is STATE, set up for the boot script: its
    /// hvrfailover.opt, a ping that answers only for the peer when
    /// `peer_answers`, and an hvrscheduler that records its call.
    fn for_boot(state: &str, peer_answers: bool) -> Node {
        let node = Node::new();
        let files = node.path("config/files");
        fs::write(files.join("hvrfailover.state"), format!("{state}\n")).unwrap();
        fs::write(
            files.join("hvrfailover.opt"),
            format!("-hubdb={HUB}\n-virtual_ip={VIP}\n"),
        )
        .unwrap();
        let peer = if peer_answers {
            PEER_ADDRESS
        } else {
            "no-such-peer"
        };
        node.shim(
            "ping",
            &format!(
                "case \"$*\" in *{peer}*) cat FIXTURES/ping-reply.txt; exit 0 ;; esac\ncat FIXTURES/ping-noreply.txt; exit 1"
            ),
        );
        node
    }

    fn boot(&self, env: &[(&str, &str)]) -> (Run, Duration) {
        let port = self.closed_port.to_string();
        let mut settings: BTreeMap<&str, String> = [
            ("NODE", "bc1"),
            ("PEER", "bc2"),
            ("PEER_ADDRESS", PEER_ADDRESS),
            ("BC_INDEX", "1"),
            ("IFACE", "eth0"),
            ("PREFIX_LEN", "24"),
            ("LABEL", "eth0:1"),
            ("CHANNEL", CHN),
            ("VIP_PROBE_TIMEOUT", "0.3"),
            ("SCHEDULER_PROBE_TIMEOUT", "0.3"),
            ("SCHEDULER_START_TIMEOUT", "0.2"),
            ("DBMS_WAIT", "1"),
            ("GARP_COUNT", "1"),
            ("GARP_INTERVAL", "0.1"),
            ("GARP_DELAY", "0"),
            ("DAD_WAIT", "1"),
            ("PEER_DELAY", "5"),
            ("HOLD", "true"),
            ("INVENTORY", "/ctl/lab.yml"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
        settings.insert("SCHEDULER_PORT", port.clone());
        settings.insert("LISTENER_PORT", port);
        for (k, v) in env {
            settings.insert(k, v.to_string());
        }
        let mut cmd = self.command(&["hvrfailover-onboot"]);
        for (k, v) in &settings {
            cmd.env(format!("HVRBOOT_{k}"), v);
        }
        let started = Instant::now();
        let out = cmd.output().unwrap();
        (Run::from(out), started.elapsed())
    }

    /// Whether the boot got as far as starting the scheduler.
    fn started_scheduler(&self) -> bool {
        fs::read_to_string(self.state().join("calls"))
            .unwrap_or_default()
            .lines()
            .any(|l| l == format!("hvrscheduler {HUB}"))
    }
}

#[test]
fn at_boot_a_tainted_node_never_starts_and_the_survivor_acts_at_once() {
    // A standby starts nothing.
    let node = Node::for_boot("STOP", true);
    let (run, _) = node.boot(&[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(node
        .log()
        .contains("boot: state is STOP: this node is a standby"));
    assert!(!node.started_scheduler());

    // A taint about itself: never, not even with the seed's behaviour on
    // and the peer gone; it names recover.
    for peer_answers in [true, false] {
        let node = Node::for_boot("START", peer_answers);
        fs::write(
            node.path("config/files/hvrfailover.self_tainted"),
            "node=bc1 survivor=bc2 since=2026-01-01T00:00:00Z reason=abrupt-failover-to-bc2\n",
        )
        .unwrap();
        let (run, took) = node.boot(&[("HOLD", "false")]);
        assert_eq!(run.code, Some(1), "{run:?}");
        assert!(
            node.log().contains("NOT starting the scheduler or the VIP: this node carries a taint about itself (node=bc1 survivor=bc2")
                && node.log().contains("`baton run recover -i /ctl/lab.yml -e node=bc1`"),
            "{}",
            node.log()
        );
        assert!(!node.started_scheduler());
        assert!(took < Duration::from_secs(5), "it waited: {took:?}");
    }

    // The survivor (a taint record about its peer) does not wait
    // hvr_boot_peer_delay (5 s here), even as node 2 and with its peer gone.
    let node = Node::for_boot("START", false);
    fs::write(
        node.path("config/files/hvrfailover.peer_tainted"),
        "peer=bc2 since=2026-01-01T00:00:00Z reason=abrupt-failover-to-bc1 last_received=none\n",
    )
    .unwrap();
    let (run, took) = node.boot(&[("BC_INDEX", "2")]);
    assert!(node.started_scheduler(), "{run:?}\n{}", node.log());
    assert!(
        took < Duration::from_secs(5),
        "the survivor waited: {took:?}"
    );
    assert!(
        node.log().contains("records bc2 as tainted") && node.log().contains("acts at once"),
        "{}",
        node.log()
    );
}

#[test]
fn at_boot_a_start_node_waits_by_its_bc_index_and_holds_when_it_cannot_reach_its_peer() {
    // Peer reachable: node 2 waits twice hvr_boot_peer_delay, then starts.
    let node = Node::for_boot("START", true);
    // A taint record about another node does not make it the survivor.
    fs::write(
        node.path("config/files/hvrfailover.peer_tainted"),
        "peer=bc9 since=2026-01-01T00:00:00Z\n",
    )
    .unwrap();
    let (run, took) = node.boot(&[("BC_INDEX", "2"), ("PEER_DELAY", "0.4")]);
    assert!(node.started_scheduler(), "{run:?}\n{}", node.log());
    assert!(
        took >= Duration::from_millis(800),
        "node 2 waited only {took:?}"
    );
    assert!(
        node.log()
            .contains("waiting 0.8 s (hvr_boot_peer_delay x bc_index 2) for bc2"),
        "{}",
        node.log()
    );

    // A playbook reaches the node while it waits (here: a lock appears):
    // it decides afresh and leaves it to the operator.
    let node = Node::for_boot("START", true);
    let lock = node.path("config/files/hvrfailover.lock");
    let (run, _) = std::thread::scope(|scope| {
        let booting = scope.spawn(|| node.boot(&[("PEER_DELAY", "1")]));
        std::thread::sleep(Duration::from_millis(300));
        fs::write(
            &lock,
            "operation=recover controller=ctl pid=1 what=node=bc1\n",
        )
        .unwrap();
        booting.join().unwrap()
    });
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(!node.started_scheduler());
    assert!(
        node.log().contains("while this boot waited, a baton playbook reached this node (state START, the operation lock: operation=recover"),
        "{}",
        node.log()
    );

    // Peer unreachable (no ping reply, nothing at its listener): it holds,
    // says why, and names what to run.
    let node = Node::for_boot("START", false);
    let (run, _) = node.boot(&[("PEER_DELAY", "0.1")]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(!node.started_scheduler());
    let log = node.log();
    assert!(
        log.contains("boot: HOLDING: state is START")
            && log.contains("127.0.0.2 cannot be reached at all")
            && log.contains("`baton run check -i /ctl/lab.yml`")
            && log.contains("`baton run start` refuses this node too while bc2 cannot be read")
            && log.contains("`baton run start -i /ctl/lab.yml -e node=bc1 -e hvr_start_hold_when_peer_unreachable=false`")
            && !log.contains("`baton run start -i /ctl/lab.yml -e node=bc1`"),
        "{log}"
    );

    // ... unless hvr_boot_hold_when_peer_unreachable is false: the seed's behaviour.
    let node = Node::for_boot("START", false);
    let (run, _) = node.boot(&[("PEER_DELAY", "0.1"), ("HOLD", "false")]);
    assert!(node.started_scheduler(), "{run:?}\n{}", node.log());
    assert!(
        node.log().contains("the seed's behaviour"),
        "{}",
        node.log()
    );

    // The pre-flight's duplicate-address detection: another host answers ARP
    // for the VIP (ICMP silenced): nothing starts.
    let node = Node::for_boot("START", true);
    tracing_shims(&node, true, false);
    let (run, _) = node.boot(&[("PEER_DELAY", "0.1")]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(!node.started_scheduler());
    assert!(
        node.log().contains("NOT starting the scheduler or the VIP: NOT SAFE: another host answers ARP for 10.0.0.100"),
        "{}",
        node.log()
    );
}

// ---------------------------------------------------------------------------
// check -e doctor=true (hvrfailover-doctor) and the standby-refresh times
// ---------------------------------------------------------------------------

const DF_OK: &str = r#"echo 'Filesystem     1024-blocks     Used Available Capacity Mounted on'
echo '/dev/sda1         10000000  7000000   3000000      70% /'"#;

impl Node {
    /// The doctor's verdict lines, as CHECK -> (VERDICT, DETAIL).
    fn doctor(&self, state: &str, listener_port: u16) -> BTreeMap<String, (String, String)> {
        let port = listener_port.to_string();
        let run = self.run(&[
            "hvrfailover-doctor",
            state,
            "127.0.0.1",
            &port,
            "1024",
            "0.3",
        ]);
        assert_eq!(run.code, Some(0), "{run:?}");
        let lines: BTreeMap<String, (String, String)> = run
            .stdout
            .lines()
            .map(|l| {
                let mut p = l.splitn(3, '|');
                let (v, c, d) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
                (c.to_string(), (v.to_string(), d.to_string()))
            })
            .collect();
        let checks: Vec<&str> = lines.keys().map(String::as_str).collect();
        assert_eq!(
            checks,
            ["clock", "disk", "listener", "processes"],
            "{run:?}"
        );
        lines
    }
}

#[test]
fn every_doctor_probe_answers_ok_problem_or_unknown_quoting_its_tool() {
    let node = Node::new();
    // A peer's remote listener that answers: hvrtestlistener and a TCP connect.
    node.shim(
        "hvrtestlistener",
        "echo \"HVR server answers on $2:$3\"; exit 0",
    );
    node.shim("df", DF_OK);
    node.shim(
        "ps",
        "echo '    1 /sbin/init'; echo '   42 /opt/hvr/hvr_home/bin/hvrremotelistener -d 4343'; echo '   43 sh /opt/hvr/bin/hvrenv hvrfailover-doctor'",
    );
    let open = node.open_port();
    let ok = node.doctor("STOP", open);
    for check in ["clock", "disk", "listener", "processes"] {
        assert_eq!(ok[check].0, "ok", "{check}: {ok:?}");
    }
    assert!(ok["disk"].1.contains("2929 MiB free"), "{ok:?}");
    assert!(ok["clock"].1.parse::<f64>().is_ok(), "{ok:?}");

    // The problems: a leftover scheduler on a stopped node (not on an active
    // one), a peer listener refusing, too little space.
    node.shim(
        "ps",
        "echo '   42 hvrremotelistener -d 4343'; echo '   77 hvrscheduler hvrhub'",
    );
    node.shim(
        "hvrtestlistener",
        r#"echo "hvrtestlistener: no HVR server answers on $2:$3: connection refused"; exit 1"#,
    );
    node.shim(
        "df",
        "echo 'Filesystem 1024-blocks Used Available Capacity Mounted on'; echo '/dev/sda1 100 99 10 99% /'",
    );
    let bad = node.doctor("STOP", node.closed_port);
    assert_eq!(bad["processes"].0, "problem", "{bad:?}");
    assert!(
        bad["processes"].1.contains("77 hvrscheduler hvrhub"),
        "{bad:?}"
    );
    assert!(!bad["processes"].1.contains("hvrremotelistener"), "{bad:?}");
    assert_eq!(bad["listener"].0, "problem", "{bad:?}");
    assert_eq!(bad["disk"].0, "problem", "{bad:?}");
    assert!(bad["disk"].1.contains("0 MiB free") && bad["disk"].1.contains("below 1024 MiB"));
    assert_eq!(node.doctor("START", node.closed_port)["processes"].0, "ok");

    // Unknown, each quoting its tool: ps failing or missing, df failing,
    // garbled or missing, hvrtestlistener hanging, date printing garbage.
    let unknown = |what: &str, check: &str, quote: &str, port: u16| {
        let got = node.doctor("STOP", port);
        assert_eq!(got[check].0, "unknown", "{what}: {got:?}");
        assert!(
            got[check].1.contains(quote),
            "{what}: `{quote}` not in {got:?}"
        );
    };
    node.shim("ps", "echo 'ps: cannot read /proc' >&2; exit 2");
    unknown(
        "ps exits 2",
        "processes",
        "exited 2: ps: cannot read /proc",
        open,
    );
    node.remove_tool("ps");
    unknown("no ps", "processes", "exit 127", open);
    node.shim("df", "echo 'df: /x: No such file' >&2; exit 1");
    unknown("df exits 1", "disk", "exited 1: df: /x: No such file", open);
    node.shim("df", "echo 'something else entirely'");
    unknown("df garbled", "disk", "something else entirely", open);
    node.shim("df", "echo 'Filesystem 1024-blocks Used Available Capacity Mounted on'; echo '/dev/sda1 100 99 lots 99% /'");
    unknown("df not numeric", "disk", "lots", open);
    node.remove_tool("df");
    unknown("no df", "disk", "exit 127", open);
    node.shim("hvrtestlistener", "sleep 5");
    unknown(
        "hvrtestlistener hangs",
        "listener",
        "was still running",
        open,
    );
    node.shim("date", "echo 'date: clock unavailable'");
    unknown("date garbled", "clock", "date: clock unavailable", open);
}

#[test]
fn the_refresh_times_are_read_or_unknown_quoting_the_tool() {
    let node = Node::new();
    // No enroll file: no hvrinit seen (no), then one (its time).
    let none = node.call(&format!("hvr_last_init {HUB} {CHN}"));
    assert!(none.stdout.starts_with("rc=1 no enroll file"), "{none:?}");
    let router = node.path(&format!("config/router/{HUB}/{CHN}"));
    fs::create_dir_all(&router).unwrap();
    fs::write(router.join("db1.enroll"), "x").unwrap();
    let init = node.call(&format!(
        "hvr_last_init {HUB} {CHN}; echo \"at=$INIT_EPOCH\""
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at: u64 = init
        .stdout
        .lines()
        .next()
        .unwrap()
        .strip_prefix("at=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(at.abs_diff(now) < 5, "{init:?}");
    assert!(init.stdout.contains("rc=0 last hvrinit"), "{init:?}");
    // date printing garbage: unknown, quoted.
    node.shim("date", "echo 'not a time'");
    let bad = node.call(&format!("hvr_last_init {HUB} {CHN}"));
    assert!(
        bad.stdout
            .contains("rc=3 UNKNOWN: cannot read the modification time")
            && bad.stdout.contains("not a time"),
        "{bad:?}"
    );
    node.remove_tool("date");

    // port_started: ss and ps answer; ss missing, naming no process, or ps garbled: unknown.
    node.shim(
        "ss",
        "echo 'LISTEN 0 128 0.0.0.0:4343 0.0.0.0:* users:((\"hvrremotelistener\",pid=4242,fd=3))'",
    );
    node.shim(
        "ps",
        "[ \"$*\" = '-o etimes= -p 4242' ] && echo '    100' && exit 0; exit 1",
    );
    node.shim("date", "echo 1000000");
    let ok = node.call("port_started 4343; echo \"started=$STARTED\"");
    assert!(
        ok.stdout.contains("started=999900") && ok.stdout.contains("rc=0 pid 4242"),
        "{ok:?}"
    );
    node.shim("ss", "exit 0");
    assert!(node
        .call("port_started 4343")
        .stdout
        .starts_with("rc=1 nothing listens"));
    node.shim("ss", "echo 'LISTEN 0 128 0.0.0.0:4343 0.0.0.0:*'");
    let anon = node.call("port_started 4343");
    assert!(
        anon.stdout
            .contains("rc=3 UNKNOWN: ss lists a listener on port 4343 but names no process"),
        "{anon:?}"
    );
    node.shim(
        "ss",
        "echo 'LISTEN 0 128 0.0.0.0:4343 0.0.0.0:* users:((\"x\",pid=4242,fd=3))'",
    );
    node.shim("ps", "echo 'ps: garbage'; exit 0");
    let garbled = node.call("port_started 4343");
    assert!(
        garbled
            .stdout
            .contains("rc=3 UNKNOWN: cannot tell since when pid 4242")
            && garbled.stdout.contains("ps: garbage"),
        "{garbled:?}"
    );
    node.remove_tool("ss");
    let missing = node.call("port_started 4343");
    assert!(
        missing
            .stdout
            .contains("rc=3 UNKNOWN: cannot list the sockets")
            && missing.stdout.contains("exit 127"),
        "{missing:?}"
    );
}

#[test]
fn a_lock_guard_that_cannot_be_opened_is_unknown_quoting_why_never_held() {
    let node = Node::new();
    // A guard the helper cannot open for appending (a directory here; a
    // root-owned file for the HVR user on a node): exit 3, quoting the
    // shell's error, not "held", and no lock is written.
    fs::create_dir(node.path("config/files/hvrfailover.lock.guard")).unwrap();
    let run = node.run(&[
        "hvrfailover-lock",
        "take",
        "start",
        "ctl",
        "100",
        "B:500",
        "B",
        "100@500",
        "600",
        "7200",
        "node=bc1",
    ]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(
        run.stdout.starts_with(&format!(
            "UNKNOWN: cannot open {}",
            node.path("config/files/hvrfailover.lock.guard").display()
        )),
        "{run:?}"
    );
    assert!(run.stdout.contains("Is a directory"), "{run:?}");
    assert!(run.stdout.contains("chown -R"), "{run:?}");
    assert!(!run.stdout.contains("held"), "{run:?}");
    assert!(!node.path("config/files/hvrfailover.lock").exists());
}

#[test]
fn the_log_is_never_written_through_a_linked_directory_under_hvr_config() {
    let node = Node::new();
    let elsewhere = node.path("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    // The HVR user owns HVR_CONFIG/log: it could make the log's directory a
    // link to, say, /etc/sudoers.d. Here: log/hvrfailover -> elsewhere.
    fs::remove_dir(node.path("config/log/hvrfailover")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, node.path("config/log/hvrfailover")).unwrap();
    let run = node.run(&["hvrfailover-log", "a line"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("is a symbolic link: not written"),
        "{run:?}"
    );
    assert!(!elsewhere.join("hvrfailover.log").exists());
    // One level up: log -> a directory holding hvrfailover/.
    fs::remove_file(node.path("config/log/hvrfailover")).unwrap();
    fs::remove_dir(node.path("config/log")).unwrap();
    fs::create_dir_all(elsewhere.join("hvrfailover")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, node.path("config/log")).unwrap();
    let run = node.run(&["hvrfailover-log", "a line"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(!elsewhere.join("hvrfailover/hvrfailover.log").exists());
    // A plain directory: written.
    fs::remove_file(node.path("config/log")).unwrap();
    fs::create_dir_all(node.path("config/log/hvrfailover")).unwrap();
    let run = node.run(&["hvrfailover-log", "a line"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(node.log().contains("a line"), "{run:?}");
}

// ---------------------------------------------------------------------------
// The flush's own record (issue 13, finding 5)
// ---------------------------------------------------------------------------

/// `hvrfailover-status` of the test node, parsed.
fn status_json(node: &Node) -> serde_json::Value {
    let port = node.closed_port.to_string();
    let run = node.run(&[
        "hvrfailover-status",
        HUB,
        CHN,
        VIP,
        "eth0",
        &port,
        "/nonexistent",
        "echo 'channel orders capture=db<self> integrate=db<peer>'",
        &port,
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    serde_json::from_str(&run.stdout).unwrap()
}

/// `hvrfailover-act scheduler-stop` of a switchover's stop, started.
fn scheduler_stop(node: &Node, port: &str) -> std::process::Child {
    node.command(&[
        "hvrfailover-act",
        "switchover bc1->bc2: stop bc1",
        "scheduler-stop",
        HUB,
        CHN,
        port,
        "5",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// scheduler-stop with a running scheduler (hvrtestscheduler answers and
/// its port accepts) that `hvrscheduler -k` stops: the test closes the
/// port once the shim was called. Returns the run.
fn flush_and_stop(node: &Node) -> Run {
    let sched = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = sched.local_addr().unwrap().port().to_string();
    fs::write(node.state().join("scheduler"), "up").unwrap();
    let _ = fs::remove_file(node.state().join("killed"));
    node.shim(
        "hvrscheduler",
        r#"echo "hvrscheduler $*" >> STATE/calls
case " $* " in *" -k "*) rm -f STATE/scheduler; : > STATE/killed ;; esac
exit 0"#,
    );
    let child = scheduler_stop(node, &port);
    let limit = Instant::now() + Duration::from_secs(20);
    while !node.state().join("killed").exists() && Instant::now() < limit {
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(sched);
    Run::from(child.wait_with_output().unwrap())
}

/// A finding of the fault matrix (from-scheduler at the pre-flight, under
/// load: the kill landed during the flush): a scheduler that dies during
/// the flush was said to "still run", and the stop told the operator to
/// check the peer's listener. Whether it runs is read again: it is named
/// as not running (the stop then names `start` of the node), and a
/// scheduler that does still run is still said to.
#[test]
fn a_scheduler_that_dies_during_the_flush_is_read_again_not_assumed_running() {
    for dies in [true, false] {
        let node = Node::new();
        let sched = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = sched.local_addr().unwrap().port().to_string();
        fs::write(node.state().join("scheduler"), "up").unwrap();
        let _ = fs::remove_file(node.state().join("died"));
        let body = if dies {
            r#"rm -f STATE/scheduler; : > STATE/died; echo "hvrstart: the scheduler went away" >&2; exit 1"#
        } else {
            r#"echo "hvrstart: cycle failed" >&2; exit 1"#
        };
        node.shim("hvrstart", body);
        let child = scheduler_stop(&node, &port);
        // The scheduler's port closes when it dies.
        let limit = Instant::now() + Duration::from_secs(20);
        while dies && !node.state().join("died").exists() && Instant::now() < limit {
            std::thread::sleep(Duration::from_millis(10));
        }
        if dies {
            drop(sched);
            let run = Run::from(child.wait_with_output().unwrap());
            assert_eq!(run.code, Some(1), "{run:?}");
            assert!(
                run.stdout.starts_with("FAILED: the scheduler of hvrhub is not running, but the flush did not complete")
                    && run.stdout.contains("it stopped during the flush; STOP was NOT written"),
                "{run:?}"
            );
        } else {
            let run = Run::from(child.wait_with_output().unwrap());
            drop(sched);
            assert_eq!(run.code, Some(1), "{run:?}");
            assert!(
                run.stdout.starts_with("FAILED: the flush did not complete")
                    && run.stdout.contains(
                        ", so the scheduler of hvrhub still runs and STOP was NOT written"
                    ),
                "{run:?}"
            );
        }
        assert!(!node.path("config/files/hvrfailover.flushed").exists());
    }
}

#[test]
fn a_completed_flush_is_recorded_on_the_node_and_forgotten_before_anything_lets_changes_in() {
    let node = Node::new();
    let record = node.path("config/files/hvrfailover.flushed");
    let json = status_json(&node);
    assert_eq!(json["flushed"], false, "{json}");
    assert_eq!(json["flushed_record"], "", "{json}");

    // The flush and the stop complete: the record is there, of its form,
    // with no temporary file left, before anyone recorded STOP.
    let stop = flush_and_stop(&node);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert!(stop.stdout.starts_with("changed: "), "{stop:?}");
    assert!(stop.stdout.contains("recorded in"), "{stop:?}");
    let line = fs::read_to_string(&record).unwrap();
    let line = line.trim_end();
    assert!(
        fancy_regex::Regex::new(
            r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ flushed: the scheduler of hvrhub stopped after channel orders was flushed \(switchover bc1->bc2: stop bc1\)$"
        )
        .unwrap()
        .is_match(line)
        .unwrap(),
        "{line:?}"
    );
    assert!(!node.path("config/files/hvrfailover.flushed.new").exists());
    assert!(!node.path("config/files/hvrfailover.state").exists());
    let json = status_json(&node);
    assert_eq!(json["flushed"], true, "{json}");
    assert_eq!(json["flushed_record"], line, "{json}");
    assert_eq!(json["state"], "none", "{json}");

    // A record that cannot be read, or is of another form, is no evidence.
    for (content, said) in [
        ("", "(unreadable or empty"),
        ("flushed: yes\n", "(not a flush record: flushed: yes"),
        (
            "2026-11-30 04:00:00Z stopped: the scheduler\n",
            "(not a flush record",
        ),
    ] {
        fs::write(&record, content).unwrap();
        let json = status_json(&node);
        assert_eq!(json["flushed"], false, "{content:?}: {json}");
        assert!(
            json["flushed_record"].as_str().unwrap().starts_with(said),
            "{content:?}: {json}"
        );
    }
    fs::remove_file(&record).unwrap();
    fs::create_dir(&record).unwrap();
    let json = status_json(&node);
    assert_eq!(json["flushed"], false, "{json}");
    fs::remove_dir(&record).unwrap();

    // Whatever may let a change in or capture again forgets it first:
    // the VIP added, the state START.
    fs::write(&record, format!("{line}\n")).unwrap();
    let add = vip_add(&node, "1", "0.1", "0");
    assert_eq!(add.code, Some(0), "{add:?}");
    assert!(!record.exists(), "vip-add left the flush record");
    fs::write(&record, format!("{line}\n")).unwrap();
    let start = node.run(&["hvrfailover-act", "test", "state", "START"]);
    assert_eq!(start.code, Some(0), "{start:?}");
    assert!(!record.exists(), "state START left the flush record");
    assert_eq!(status_json(&node)["flushed"], false);

    // A record that cannot be written fails the stop: nothing claims the
    // flush, and the message says STOP was not written.
    fs::create_dir(node.path("config/files/hvrfailover.flushed.new")).unwrap();
    let stop = flush_and_stop(&node);
    assert_eq!(stop.code, Some(1), "{stop:?}");
    assert!(
        stop.stdout.contains("could not be written")
            && stop.stdout.contains("STOP was NOT written"),
        "{stop:?}"
    );
    assert!(!record.exists());
}

/// A state write that cannot be made durable (a full HVR_CONFIG: here its
/// `sync` fails) fails the action, says so with the way out, and leaves the
/// file as it was: never empty, never claiming a flushed stop (fault
/// matrix, switchover x from-disk-full, 2026-12-01: `echo STOP >` failed
/// silently on a full disk and the run went on).
#[test]
fn a_state_write_that_cannot_be_made_durable_fails_and_changes_nothing() {
    let node = Node::new();
    let files = node.path("config/files");
    fs::write(files.join("hvrfailover.state"), "START\n").unwrap();
    let real_sync = node.path("utilities/sync").display().to_string();
    let port = node.closed_port.to_string();
    let stop = ["hvrfailover-act", "test", "state", "STOP", HUB, CHN, &port];

    node.shim("sync", "echo 'sync: No space left on device' >&2; exit 1");
    let refused = node.run(&stop);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused.stdout.starts_with("FAILED: cannot write ")
            && refused.stdout.contains("hvrfailover.state")
            && refused.stdout.contains("the state is still START")
            && refused.stdout.contains("Free space in "),
        "{refused:?}"
    );
    assert_eq!(
        fs::read_to_string(files.join("hvrfailover.state")).unwrap(),
        "START\n"
    );
    let start = node.run(&["hvrfailover-act", "test", "state", "START"]);
    assert_eq!(start.code, Some(0), "{start:?}");
    assert!(start.stdout.starts_with("ok: state is START"), "{start:?}");

    // STOP written, stop_done not: the action fails, and no stop_done.
    node.shim(
        "sync",
        &format!("case \"$1\" in *stop_done.new) exit 1 ;; esac; exec {real_sync} \"$@\""),
    );
    let half = node.run(&stop);
    assert_eq!(half.code, Some(1), "{half:?}");
    assert!(
        half.stdout.contains("hvrfailover.stop_done")
            && half
                .stdout
                .contains("state STOP written (was: START), but stop_done is NOT written"),
        "{half:?}"
    );
    assert_eq!(
        fs::read_to_string(files.join("hvrfailover.state")).unwrap(),
        "STOP\n"
    );
    assert!(!files.join("hvrfailover.stop_done").exists());
    let leftovers: Vec<_> = fs::read_dir(&files)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".new"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Space back: the same action completes the record.
    fs::remove_file(node.path("shims/sync")).unwrap();
    let again = node.run(&stop);
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(
        again.stdout.starts_with("changed: stop_done written"),
        "{again:?}"
    );
    assert!(files.join("hvrfailover.stop_done").exists());
}
