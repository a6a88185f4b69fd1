//! Drives every reporter with the same hand-made run: two hosts, every
//! outcome, a loop, a diff, a debug message, a warning, a stop and a recap.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton::modules::{FileDiff, Status, TaskResult};
use baton::report::{
    ConnectTiming, Event, HostResult, HostStats, HumanOptions, HumanReporter, JsonReporter,
    JunitReporter, Recap, Reporter, TaskInfo, TaskTiming,
};
use indicatif::{ProgressDrawTarget, TermLike};

const T0: f64 = 1_700_000_000.0;

fn task(name: &str, module: &str, line: u32) -> TaskInfo {
    TaskInfo {
        name: name.to_string(),
        module: module.to_string(),
        origin: format!("playbooks/switchover.yml:{line}:7"),
        is_handler: false,
        play: "Switch over HVR to bc2".to_string(),
    }
}

fn result(host: &str, outcome: Status, r: TaskResult, start_ms: u64, ms: u64) -> HostResult {
    HostResult {
        host: host.to_string(),
        outcome,
        ignored: false,
        item: None,
        delegated_to: None,
        result: r,
        elapsed: Duration::from_millis(ms),
        started_at: T0 + start_ms as f64 / 1000.0,
        check_mode: false,
    }
}

/// Start events for a task on both hosts.
fn start(events: &mut Vec<Event>, t: &TaskInfo) {
    events.push(Event::TaskStart {
        task: t.clone(),
        hosts: vec!["bc1".into(), "bc2".into()],
    });
    for host in ["bc1", "bc2"] {
        events.push(Event::HostStart {
            host: host.into(),
            task: t.clone(),
        });
    }
}

fn done(events: &mut Vec<Event>, t: &TaskInfo, r: HostResult) {
    events.push(Event::HostResult {
        task: t.clone(),
        result: r,
    });
}

fn stats(
    ok: u32,
    changed: u32,
    unreachable: u32,
    failed: u32,
    skipped: u32,
    ignored: u32,
) -> HostStats {
    HostStats {
        ok,
        changed,
        unreachable,
        failed,
        skipped,
        rescued: 0,
        ignored,
    }
}

/// Final host results in this run: 6 tasks x 2 hosts.
const TESTCASES: usize = 12;

// Long on purpose: one realistic switchover run as data, read top to bottom.
fn scenario() -> Vec<Event> {
    let mut ev = vec![Event::PlayStart {
        name: "Switch over HVR to bc2".into(),
        hosts: vec!["bc1".into(), "bc2".into()],
        strategy: "linear".into(),
    }];
    ev.push(Event::ConnectStart {
        play: "Switch over HVR to bc2".into(),
        hosts: vec!["bc1".into(), "bc2".into()],
    });
    for (host, ms) in [("bc2", 655), ("bc1", 640)] {
        ev.push(Event::HostConnected {
            host: host.into(),
            target: format!("10.77.0.1{}", &host[2..]),
            started_at: 1_795_306_276.69,
            elapsed: Duration::from_millis(ms),
            error: None,
        });
    }

    let t = task("Check peer listener", "command", 10);
    start(&mut ev, &t);
    done(
        &mut ev,
        &t,
        result("bc2", Status::Changed, TaskResult::changed(), 0, 14),
    );
    done(
        &mut ev,
        &t,
        result("bc1", Status::Ok, TaskResult::ok(), 0, 12),
    );

    let t = task("Render hvrtab", "template", 14);
    start(&mut ev, &t);
    let mut rendered = TaskResult::changed();
    rendered.diff.push(FileDiff {
        path: "/etc/hvrtab".into(),
        before: "hvrremotelistener -d 4343\n# old\n".into(),
        after: "hvrremotelistener -d 4343\nhvrscheduler hubdb\n".into(),
    });
    done(
        &mut ev,
        &t,
        result("bc1", Status::Changed, rendered, 20, 31),
    );
    done(
        &mut ev,
        &t,
        result("bc2", Status::Ok, TaskResult::ok(), 20, 25),
    );

    ev.push(Event::Warning {
        host: Some("bc2".into()),
        message: "the virtual IP 10.0.0.50 answers ARP from two MAC addresses".into(),
    });

    let t = task("Create HVR directories", "file", 20);
    start(&mut ev, &t);
    for (host, item, outcome, r) in [
        ("bc1", "/opt/hvr", Status::Changed, TaskResult::changed()),
        ("bc2", "/opt/hvr", Status::Ok, TaskResult::ok()),
        ("bc1", "/var/log/hvr", Status::Ok, TaskResult::ok()),
        (
            "bc2",
            "/var/log/hvr",
            Status::Failed,
            TaskResult::failed("mkdir: cannot create directory '/var/log/hvr': Permission denied"),
        ),
    ] {
        let mut hr = result(host, outcome, r, 60, 5);
        hr.item = Some(item.into());
        hr.ignored = outcome == Status::Failed;
        done(&mut ev, &t, hr);
    }
    done(
        &mut ev,
        &t,
        result("bc1", Status::Changed, TaskResult::changed(), 60, 11),
    );
    let mut bc2 = result(
        "bc2",
        Status::Failed,
        TaskResult::failed("one or more items failed"),
        60,
        10,
    );
    bc2.ignored = true;
    done(&mut ev, &t, bc2);

    let t = task("Show HVR state", "debug", 26);
    start(&mut ev, &t);
    done(
        &mut ev,
        &t,
        result(
            "bc1",
            Status::Ok,
            TaskResult::ok().with_msg("scheduler: RUNNING"),
            80,
            0,
        ),
    );
    done(
        &mut ev,
        &t,
        result(
            "bc2",
            Status::Ok,
            TaskResult::ok().with_msg("scheduler: STOPPED\nlistener: 4343 up"),
            80,
            0,
        ),
    );

    let t = task("Start scheduler on standby", "command", 30);
    start(&mut ev, &t);
    done(
        &mut ev,
        &t,
        result(
            "bc1",
            Status::Skipped,
            TaskResult::skipped("Conditional result was False"),
            90,
            0,
        ),
    );
    done(
        &mut ev,
        &t,
        result("bc2", Status::Ok, TaskResult::ok(), 90, 2),
    );

    let t = task("Stop scheduler on bc1", "shell", 34);
    start(&mut ev, &t);
    let mut failed = TaskResult::failed("non-zero return code");
    failed.rc = Some(1);
    failed.stdout = Some("stopping hvrscheduler\n".into());
    failed.stderr = Some(
        (1..=15)
            .map(|i| format!("F_JD0001: error line {i}\n"))
            .collect::<String>(),
    );
    done(
        &mut ev,
        &t,
        result("bc1", Status::Failed, failed, 100, 1204),
    );
    done(
        &mut ev,
        &t,
        result(
            "bc2",
            Status::Unreachable,
            TaskResult::failed("ssh: connect to host 127.0.0.12 port 22: Connection refused"),
            100,
            3000,
        ),
    );

    ev.push(Event::Stopped {
        reason: "bc1 failed at task 'Stop scheduler on bc1' (playbooks/switchover.yml:34).\n\
                 State left: the HVR scheduler may still run on bc1; bc2 was not promoted."
            .into(),
    });

    let mut recap = Recap {
        elapsed: Duration::from_millis(3412),
        connect: ConnectTiming {
            elapsed: Duration::from_millis(690),
            hosts: 2,
            failed: 0,
            slowest: Some(("bc2".into(), Duration::from_millis(655))),
        },
        ..Recap::default()
    };
    recap.hosts.insert("bc1".into(), stats(4, 2, 0, 1, 1, 0));
    recap.hosts.insert("bc2".into(), stats(5, 1, 1, 0, 0, 1));
    for (name, line, ms) in [
        ("Stop scheduler on bc1", 34, 3000),
        ("Render hvrtab", 14, 31),
        ("Check peer listener", 10, 14),
        ("Create HVR directories", 20, 11),
        ("Start scheduler on standby", 30, 2),
        ("Show HVR state", 26, 0),
    ] {
        recap.slowest.push(TaskTiming {
            task: name.into(),
            origin: format!("playbooks/switchover.yml:{line}:7"),
            host: None,
            elapsed: Duration::from_millis(ms),
        });
    }
    ev.push(Event::Recap(recap));
    ev
}

/// A writer tests can read back after handing it to a reporter.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn human(options: HumanOptions, events: &[Event]) -> String {
    let out = Shared::default();
    let reporter = HumanReporter::new(options, Box::new(out.clone()));
    for e in events {
        reporter.event(e);
    }
    reporter.finish();
    out.text()
}

fn plain(verbosity: u8) -> HumanOptions {
    HumanOptions {
        verbosity,
        diff: true,
        check_mode: false,
        color: false,
        progress: false,
    }
}

// ---------------------------------------------------------------- human

#[test]
fn human_output_default_verbosity() {
    let text = human(plain(0), &scenario());
    insta::assert_snapshot!("human_v0", text);
}

/// A connection that failed before the first task is said at once, under
/// one CONNECT heading, with the transport's message (JSON: ok false, msg).
#[test]
fn a_failed_connection_is_reported_before_any_task() {
    let events = vec![
        Event::PlayStart {
            name: "p".into(),
            hosts: vec!["bc1".into(), "bc3".into()],
            strategy: "linear".into(),
        },
        Event::ConnectStart {
            play: "p".into(),
            hosts: vec!["bc1".into(), "bc3".into()],
        },
        Event::HostConnected {
            host: "bc3".into(),
            target: "10.77.0.13".into(),
            started_at: 1.0,
            elapsed: Duration::from_millis(12),
            error: Some("unreachable: ssh: connect to host 10.77.0.13 port 22: Connection refused (connecting to 10.77.0.13)".into()),
        },
        Event::HostConnected {
            host: "bc1".into(),
            target: "10.77.0.11".into(),
            started_at: 1.0,
            elapsed: Duration::from_millis(300),
            error: None,
        },
    ];
    let text = human(plain(0), &events);
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[1], "CONNECT [before the first task]", "{text}");
    assert_eq!(
        lines[2],
        "  bc3 UNREACHABLE: ssh: connect to host 10.77.0.13 port 22: Connection refused (connecting to 10.77.0.13)"
    );
    assert!(!text.contains("bc1 UNREACHABLE"), "{text}");
    let json = json_lines(&events);
    let bc3 = json.iter().find(|l| l["host"] == "bc3").unwrap();
    assert_eq!(bc3["event"], "host_connected");
    assert_eq!(bc3["ok"], false);
    assert!(bc3["msg"].as_str().unwrap().contains("Connection refused"));
    let bc1 = json.iter().find(|l| l["host"] == "bc1").unwrap();
    assert_eq!(bc1["ok"], true);
    assert!(bc1["msg"].is_null());
    assert_eq!(bc1["elapsed_ms"], 300.0);
}

#[test]
fn human_output_verbose() {
    let text = human(plain(1), &scenario());
    insta::assert_snapshot!("human_v1", text);
}

#[test]
fn human_plain_output_has_no_escape_codes() {
    for verbosity in 0..=2 {
        let text = human(plain(verbosity), &scenario());
        assert!(
            !text.contains('\x1b'),
            "escape code at -v{verbosity}:\n{text}"
        );
    }
}

#[test]
fn human_colored_output_colors_outcomes() {
    let mut options = plain(0);
    options.color = true;
    let text = human(options, &scenario());
    assert!(text.contains("\x1b[31mfailed\x1b[0m"), "{text}");
    assert!(text.contains("\x1b[33mchanged\x1b[0m"), "{text}");
    // Same words once the colors are stripped.
    let stripped = strip_ansi(&text);
    assert_eq!(stripped, human(plain(0), &scenario()));
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

#[test]
fn human_task_line_waits_for_every_host_and_keeps_host_order() {
    let text = human(plain(0), &scenario());
    // bc2 finished first, but hosts are shown in the TaskStart order.
    let line = line_with(&text, "TASK [Check peer listener]");
    let bc1 = line.find("bc1: ok").expect(line);
    let bc2 = line.find("bc2: changed").expect(line);
    assert!(bc1 < bc2, "{line}");
    assert!(line.ends_with("(14 ms)"), "{line}");
    // Host columns line up across tasks.
    let other = line_with(&text, "TASK [Render hvrtab]");
    assert_eq!(line.find("bc1:"), other.find("bc1:"));
    assert_eq!(line.find("bc2:"), other.find("bc2:"));
}

#[test]
fn human_failures_show_details_at_default_verbosity() {
    let text = human(plain(0), &scenario());
    assert!(
        text.contains("  bc1 FAILED: non-zero return code\n      rc: 1\n"),
        "{text}"
    );
    assert!(text.contains("stderr (last 10 of 15 lines):"), "{text}");
    assert!(text.contains("| F_JD0001: error line 15"), "{text}");
    assert!(
        !text.contains("error line 5\n"),
        "only the tail is shown:\n{text}"
    );
    assert!(
        text.contains("      stdout:\n        | stopping hvrscheduler"),
        "{text}"
    );
    assert!(
        text.contains(
            "  bc2 UNREACHABLE: ssh: connect to host 127.0.0.12 port 22: Connection refused"
        ),
        "{text}"
    );
    // The failed loop item is named, and the ignored failure says so.
    assert!(
        text.contains("  bc2 [item=/var/log/hvr]: failed (ignored)"),
        "{text}"
    );
    assert!(text.contains("Permission denied"), "{text}");
    assert!(
        text.contains(
            "  bc2 FAILED (ignored: ignore_errors, the play goes on): one or more items failed"
        ),
        "{text}"
    );
}

#[test]
fn human_skip_reasons_and_items_need_verbose() {
    let quiet = human(plain(0), &scenario());
    assert!(!quiet.contains("Conditional result was False"), "{quiet}");
    assert!(!quiet.contains("[item=/opt/hvr]"), "{quiet}");
    assert!(line_with(&quiet, "TASK [Check peer listener]").ends_with("(14 ms)"));
    let verbose = human(plain(1), &scenario());
    assert!(
        verbose.contains("  bc1 skipped: Conditional result was False"),
        "{verbose}"
    );
    assert!(
        verbose.contains("  bc1 [item=/opt/hvr]: changed"),
        "{verbose}"
    );
    assert!(
        line_with(&verbose, "TASK [Check peer listener]").ends_with("playbooks/switchover.yml:10")
    );
}

#[test]
fn human_debug_messages_are_always_shown() {
    let text = human(plain(0), &scenario());
    assert!(text.contains("  bc1: scheduler: RUNNING\n"), "{text}");
    assert!(
        text.contains("  bc2: scheduler: STOPPED\n      listener: 4343 up\n"),
        "{text}"
    );
}

#[test]
fn human_diff_is_unified_and_only_with_diff_option() {
    let text = human(plain(0), &scenario());
    assert!(text.contains("  bc1: diff of /etc/hvrtab"), "{text}");
    assert!(
        text.contains("    --- /etc/hvrtab (before)\n    +++ /etc/hvrtab (after)\n"),
        "{text}"
    );
    assert!(
        text.contains("    -# old\n    +hvrscheduler hubdb\n"),
        "{text}"
    );
    let mut options = plain(0);
    options.diff = false;
    let text = human(options, &scenario());
    assert!(!text.contains("/etc/hvrtab"), "{text}");
}

#[test]
fn human_warning_stop_and_recap() {
    let text = human(plain(0), &scenario());
    assert!(
        text.contains(
            "[WARNING]: bc2: the virtual IP 10.0.0.50 answers ARP from two MAC addresses"
        ),
        "{text}"
    );
    let stop = text.find("RUN STOPPED").expect("stop block");
    assert!(
        text[stop..].contains("  bc1 failed at task 'Stop scheduler on bc1'"),
        "{text}"
    );
    assert!(
        text[stop..].contains("  State left: the HVR scheduler may still run on bc1"),
        "{text}"
    );
    assert!(
        text.contains(
            "bc1 : ok=4 changed=2 unreachable=0 failed=1 skipped=1 rescued=0 ignored=0\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "bc2 : ok=5 changed=1 unreachable=1 failed=0 skipped=0 rescued=0 ignored=1\n"
        ),
        "{text}"
    );
    let slow = text.find("Slowest tasks (top 5):").expect("slowest");
    assert!(
        text[slow..].contains("  3000 ms  Stop scheduler on bc1"),
        "{text}"
    );
    assert!(
        !text[slow..].contains("Show HVR state"),
        "only the top 5:\n{text}"
    );
    assert!(
        text.trim_end().ends_with("Total elapsed: 3.4 s (3412 ms)"),
        "{text}"
    );
}

#[test]
fn human_check_mode_says_so_and_explains_skipped_commands() {
    let t = task("Restart HVR scheduler", "command", 40);
    let c = task("Write hvrtab", "copy", 44);
    let mut ev = vec![Event::PlayStart {
        name: "Switch over HVR to bc2".into(),
        hosts: vec!["bc1".into(), "bc2".into()],
        strategy: "linear".into(),
    }];
    start(&mut ev, &t);
    for host in ["bc1", "bc2"] {
        let mut r = result(
            host,
            Status::Skipped,
            TaskResult::skipped(
                "command does not run in check mode (it would run: hvrscheduler hubdb)",
            ),
            0,
            1,
        );
        r.check_mode = true;
        done(&mut ev, &t, r);
    }
    start(&mut ev, &c);
    for (host, outcome) in [("bc1", Status::Changed), ("bc2", Status::Ok)] {
        let mut r = result(host, outcome, TaskResult::default(), 0, 1);
        r.result.status = if outcome == Status::Changed {
            Status::Changed
        } else {
            Status::Ok
        };
        r.check_mode = true;
        done(&mut ev, &c, r);
    }
    let mut options = plain(0);
    options.check_mode = true;
    let text = human(options, &ev);
    assert!(
        line_with(&text, "PLAY [").ends_with("[CHECK MODE: nothing will be changed]"),
        "{text}"
    );
    assert!(
        text.contains(
            "  bc1 skipped: command does not run in check mode (it would run: hvrscheduler hubdb)"
        ),
        "{text}"
    );
    assert!(
        line_with(&text, "TASK [Write hvrtab]").contains("bc1: would change"),
        "{text}"
    );
}

#[test]
fn human_check_mode_skip_without_message_still_gives_a_reason() {
    let t = task("Restart HVR scheduler", "ansible.builtin.shell", 40);
    let mut r = result("bc1", Status::Skipped, TaskResult::default(), 0, 1);
    r.result.status = Status::Skipped;
    r.check_mode = true;
    let ev = vec![
        Event::TaskStart {
            task: t.clone(),
            hosts: vec!["bc1".into()],
        },
        Event::HostResult { task: t, result: r },
    ];
    let text = human(plain(0), &ev);
    assert!(
        text.contains("  bc1 skipped: ansible.builtin.shell does not run in check mode"),
        "{text}"
    );
}

#[test]
fn human_unfinished_task_is_printed_when_the_run_stops() {
    let t = task("Wait for listener", "wait_for", 50);
    let ev = vec![
        Event::TaskStart {
            task: t.clone(),
            hosts: vec!["bc1".into(), "bc2".into()],
        },
        Event::HostResult {
            task: t,
            result: result("bc1", Status::Ok, TaskResult::ok(), 0, 5),
        },
        Event::Stopped {
            reason: "interrupted by the operator (Ctrl-C)".into(),
        },
    ];
    let text = human(plain(0), &ev);
    let line = line_with(&text, "TASK [Wait for listener]");
    assert!(
        line.contains("bc1: ok") && line.contains("bc2: no result"),
        "{line}"
    );
    assert!(
        text.contains("bc2: no result was received before the run stopped"),
        "{text}"
    );
    assert!(text.find("TASK [Wait").unwrap() < text.find("RUN STOPPED").unwrap());
}

/// A play over 1,000 hosts: the PLAY line named every one (10 kB on one
/// line); it names the first few and counts the rest. JSON keeps them all.
#[test]
fn play_line_names_a_few_hosts_and_counts_the_rest() {
    let play = |n: usize| {
        vec![Event::PlayStart {
            name: "wide".into(),
            hosts: (0..n).map(|i| format!("host{i}")).collect(),
            strategy: "linear".into(),
        }]
    };
    let text = human(plain(0), &play(1000));
    assert_eq!(
        line_with(&text, "PLAY ["),
        "PLAY [wide] on 1000 hosts: host0, host1, host2, host3, host4, host5, host6 \
         and 993 more (--list-hosts lists them)",
        "{text}"
    );
    let text = human(plain(0), &play(8));
    assert_eq!(
        line_with(&text, "PLAY ["),
        "PLAY [wide] on 8 hosts: host0, host1, host2, host3, host4, host5, host6, host7",
        "{text}"
    );
    let json = json_lines(&play(1000));
    assert_eq!(json[0]["hosts"].as_array().map(Vec::len), Some(1000));
}

#[test]
fn human_many_hosts_wrap_onto_aligned_lines() {
    let hosts: Vec<String> = (1..=9).map(|i| format!("node{i}")).collect();
    let t = task("Ping", "ping", 3);
    let mut ev = vec![Event::TaskStart {
        task: t.clone(),
        hosts: hosts.clone(),
    }];
    for h in &hosts {
        ev.push(Event::HostResult {
            task: t.clone(),
            result: result(h, Status::Ok, TaskResult::ok(), 0, 1),
        });
    }
    let text = human(plain(0), &ev);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 1, "{text}");
    assert!(lines.iter().all(|l| l.len() <= 120), "{text}");
    let col = lines[0].find("node1:").unwrap();
    assert_eq!(lines[1].find("node").unwrap(), col, "{text}");
    for h in &hosts {
        assert!(text.contains(&format!("{h}: ok")), "{text}");
    }
}

/// A minimal terminal: enough of a screen to see what the user would see
/// after spinners draw, clear and redraw around printed lines.
#[derive(Clone, Debug, Default)]
struct Screen(Arc<Mutex<ScreenState>>);

#[derive(Debug, Default)]
struct ScreenState {
    rows: Vec<String>,
    row: usize,
    col: usize,
    /// Everything ever drawn, to prove the spinners did appear.
    drawn: String,
}

impl ScreenState {
    /// Writes like a terminal with autowrap: a character past the last
    /// column goes to the next row (indicatif relies on this).
    fn put(&mut self, text: &str) {
        self.drawn.push_str(text);
        for c in text.chars() {
            match c {
                '\n' => {
                    self.row += 1;
                    self.col = 0;
                }
                '\r' => self.col = 0,
                c => {
                    if self.col >= WIDTH {
                        self.row += 1;
                        self.col = 0;
                    }
                    while self.rows.len() <= self.row {
                        self.rows.push(String::new());
                    }
                    let mut chars: Vec<char> = self.rows[self.row].chars().collect();
                    while chars.len() <= self.col {
                        chars.push(' ');
                    }
                    chars[self.col] = c;
                    self.rows[self.row] = chars.into_iter().collect();
                    self.col += 1;
                }
            }
        }
    }
}

const WIDTH: usize = 120;

impl Screen {
    fn visible(&self) -> String {
        let s = self.0.lock().unwrap();
        let mut rows: Vec<&str> = s.rows.iter().map(|r| r.trim_end()).collect();
        while rows.last().is_some_and(|r| r.is_empty()) {
            rows.pop();
        }
        rows.join("\n")
    }
    fn drawn(&self) -> String {
        self.0.lock().unwrap().drawn.clone()
    }
}

impl TermLike for Screen {
    fn width(&self) -> u16 {
        WIDTH as u16
    }
    fn height(&self) -> u16 {
        40
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap();
        s.row = s.row.saturating_sub(n);
        Ok(())
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.lock().unwrap().row += n;
        Ok(())
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.lock().unwrap().col += n;
        Ok(())
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap();
        s.col = s.col.saturating_sub(n);
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.lock().unwrap().put(&format!("{s}\n"));
        Ok(())
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.lock().unwrap().put(s);
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap();
        let row = s.row;
        if let Some(r) = s.rows.get_mut(row) {
            r.clear();
        }
        s.col = 0;
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().put(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn spinners_never_tear_task_lines() {
    let screen = Screen::default();
    let options = HumanOptions {
        progress: true,
        ..plain(0)
    };
    let reporter = HumanReporter::with_progress_target(
        options,
        Box::new(screen.clone()),
        ProgressDrawTarget::term_like(Box::new(screen.clone())),
    );
    let events = scenario();
    // Stop before the recap to look at the screen mid-run, while the last
    // task's spinners are still up.
    let second_task = events
        .iter()
        .position(|e| matches!(e, Event::TaskStart { task, .. } if task.name == "Render hvrtab"))
        .unwrap();
    for e in &events[..second_task + 3] {
        reporter.event(e);
    }
    std::thread::sleep(Duration::from_millis(300));
    // A line printed while spinners are up lands above them, whole.
    reporter.event(&Event::Warning {
        host: None,
        message: "printed while spinners run".into(),
    });
    std::thread::sleep(Duration::from_millis(300));
    let mid = screen.visible();
    let rows: Vec<&str> = mid.lines().collect();
    let task_row = rows
        .iter()
        .position(|r| r.starts_with("TASK [Check peer listener]"))
        .unwrap_or_else(|| panic!("task line missing:\n{mid}"));
    assert!(
        rows[task_row].ends_with("(14 ms)"),
        "torn task line:\n{mid}"
    );
    assert_eq!(
        rows.get(task_row + 1),
        Some(&"[WARNING]: printed while spinners run"),
        "{mid}"
    );
    let spinner_rows = &rows[task_row + 2..];
    assert_eq!(
        spinner_rows.len(),
        2,
        "one spinner per in-flight host:\n{mid}"
    );
    assert!(
        spinner_rows[0].contains("bc1 TASK [Render hvrtab]"),
        "{mid}"
    );
    assert!(
        spinner_rows[1].contains("bc2 TASK [Render hvrtab]"),
        "{mid}"
    );

    for e in &events[second_task + 3..] {
        reporter.event(e);
    }
    reporter.finish();
    assert!(
        screen.drawn().contains("bc2 TASK [Render hvrtab]"),
        "spinner never drawn"
    );
    // With every spinner gone, the screen holds exactly the plain output.
    let mut expected_events = events[..second_task + 3].to_vec();
    expected_events.push(Event::Warning {
        host: None,
        message: "printed while spinners run".into(),
    });
    expected_events.extend_from_slice(&events[second_task + 3..]);
    assert_eq!(
        screen.visible(),
        human(plain(0), &expected_events).trim_end()
    );
}

// ---------------------------------------------------------------- json

fn json_lines(events: &[Event]) -> Vec<serde_json::Value> {
    let out = Shared::default();
    let reporter = JsonReporter::new(Box::new(out.clone()));
    for e in events {
        reporter.event(e);
    }
    reporter.finish();
    out.text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn json_one_parseable_object_per_event_without_spinner_events() {
    let events = scenario();
    let lines = json_lines(&events);
    let host_starts = events
        .iter()
        .filter(|e| matches!(e, Event::HostStart { .. }))
        .count();
    assert!(host_starts > 0);
    assert_eq!(lines.len(), events.len() - host_starts);
    let kinds: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "play_start");
    assert_eq!(kinds[1], "connect_start");
    assert_eq!(kinds[2..4], ["host_connected", "host_connected"]);
    assert_eq!(kinds[4], "task_start");
    assert_eq!(kinds.last(), Some(&"recap"));
    for kind in ["host_result", "warning", "stopped"] {
        assert!(kinds.contains(&kind), "{kind} missing");
    }
    assert!(!kinds.contains(&"host_start"));
    for l in &lines {
        assert!(l["time"].as_f64().unwrap() > T0, "{l}");
    }
}

#[test]
fn json_fields_match_the_documented_schema() {
    let lines = json_lines(&scenario());
    let find = |kind: &str| lines.iter().find(|l| l["event"] == kind).unwrap();

    let play = find("play_start");
    assert_eq!(play["name"], "Switch over HVR to bc2");
    assert_eq!(play["hosts"], serde_json::json!(["bc1", "bc2"]));

    let task = find("task_start");
    assert_eq!(task["task"]["name"], "Check peer listener");
    assert_eq!(task["task"]["module"], "command");
    assert_eq!(task["task"]["origin"], "playbooks/switchover.yml:10:7");
    assert_eq!(task["task"]["is_handler"], false);
    assert_eq!(task["task"]["play"], "Switch over HVR to bc2");
    assert_eq!(task["hosts"], serde_json::json!(["bc1", "bc2"]));

    let failed = lines
        .iter()
        .find(|l| l["event"] == "host_result" && l["outcome"] == "failed" && l["host"] == "bc1")
        .unwrap();
    assert_eq!(failed["task"]["name"], "Stop scheduler on bc1");
    assert_eq!(failed["ignored"], false);
    assert!(failed["item"].is_null());
    assert!(failed["delegated_to"].is_null());
    assert_eq!(failed["check_mode"], false);
    assert_eq!(failed["started_at"].as_f64().unwrap(), T0 + 0.1);
    assert_eq!(failed["elapsed_ms"].as_f64().unwrap(), 1204.0);
    let r = &failed["result"];
    assert_eq!(r["status"], "failed");
    assert_eq!(r["msg"], "non-zero return code");
    assert_eq!(r["rc"], 1);
    assert_eq!(r["stdout"], "stopping hvrscheduler\n");
    assert!(r["stderr"].as_str().unwrap().contains("error line 15"));
    assert_eq!(r["diff"], serde_json::json!([]));
    assert!(r["facts"].as_object().unwrap().is_empty());
    assert!(r["data"].as_object().unwrap().is_empty());

    let diff = lines
        .iter()
        .find(|l| {
            l["event"] == "host_result"
                && l["task"]["name"] == "Render hvrtab"
                && l["host"] == "bc1"
        })
        .unwrap();
    assert_eq!(diff["result"]["diff"][0]["path"], "/etc/hvrtab");
    assert_eq!(
        diff["result"]["diff"][0]["after"],
        "hvrremotelistener -d 4343\nhvrscheduler hubdb\n"
    );

    let item = lines
        .iter()
        .find(|l| l["event"] == "host_result" && l["item"] == "/var/log/hvr" && l["host"] == "bc2")
        .unwrap();
    assert_eq!(item["outcome"], "failed");
    assert_eq!(item["ignored"], true);

    let unreachable = lines
        .iter()
        .find(|l| l["outcome"] == "unreachable")
        .unwrap();
    assert_eq!(unreachable["host"], "bc2");

    let warning = find("warning");
    assert_eq!(warning["host"], "bc2");
    assert!(warning["message"]
        .as_str()
        .unwrap()
        .contains("two MAC addresses"));

    assert!(find("stopped")["reason"]
        .as_str()
        .unwrap()
        .starts_with("bc1 failed at task"));

    let recap = find("recap");
    let bc2 = &recap["hosts"]["bc2"];
    for (key, value) in [
        ("ok", 5),
        ("changed", 1),
        ("unreachable", 1),
        ("failed", 0),
        ("skipped", 0),
        ("rescued", 0),
        ("ignored", 1),
    ] {
        assert_eq!(bc2[key], value, "{key}");
    }
    assert_eq!(recap["hosts"].as_object().unwrap().len(), 2);
    assert_eq!(recap["slowest"][0]["task"], "Stop scheduler on bc1");
    assert_eq!(
        recap["slowest"][0]["origin"],
        "playbooks/switchover.yml:34:7"
    );
    assert_eq!(recap["slowest"][0]["elapsed_ms"].as_f64().unwrap(), 3000.0);
    assert_eq!(recap["elapsed_ms"].as_f64().unwrap(), 3412.0);
}

#[test]
fn json_timestamps_prove_the_order_of_results() {
    let lines = json_lines(&scenario());
    let finals: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "host_result" && l["item"].is_null())
        .collect();
    assert_eq!(finals.len(), TESTCASES);
    // Each task's results start after the previous task's last result ended.
    let mut previous_end = 0.0;
    let mut by_task: Vec<(String, f64, f64)> = Vec::new();
    for l in &finals {
        let name = l["task"]["name"].as_str().unwrap().to_string();
        let start = l["started_at"].as_f64().unwrap();
        let end = start + l["elapsed_ms"].as_f64().unwrap() / 1000.0;
        match by_task.last_mut() {
            Some((n, s, e)) if *n == name => {
                *s = s.min(start);
                *e = e.max(end);
            }
            _ => by_task.push((name, start, end)),
        }
    }
    for (name, start, end) in by_task {
        assert!(
            start >= previous_end,
            "{name} started before the previous task ended"
        );
        previous_end = end;
    }
}

#[test]
fn json_each_line_is_flushed_as_written() {
    #[derive(Clone, Default)]
    struct Counting(Arc<Mutex<(usize, usize)>>);
    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().0 += buf.iter().filter(|&&b| b == b'\n').count();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.0.lock().unwrap().1 += 1;
            Ok(())
        }
    }
    let out = Counting::default();
    let reporter = JsonReporter::new(Box::new(out.clone()));
    let events = scenario();
    for (i, e) in events.iter().take(3).enumerate() {
        reporter.event(e);
        let (newlines, flushes) = *out.0.lock().unwrap();
        assert_eq!(newlines, flushes, "after event {i}");
    }
}

#[test]
fn json_write_error_does_not_panic() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "closed",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let reporter = JsonReporter::new(Box::new(Broken));
    for e in scenario() {
        reporter.event(&e);
    }
    reporter.finish();
}

// ---------------------------------------------------------------- junit

fn junit(events: &[Event]) -> quick_junit::Report {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.xml");
    let reporter = JunitReporter::new(&path);
    for e in events {
        reporter.event(e);
    }
    reporter.finish();
    let xml = std::fs::read_to_string(&path).unwrap();
    quick_junit::Report::deserialize_from_str(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

#[test]
fn junit_has_a_testcase_per_host_and_task() {
    let report = junit(&scenario());
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "Switch over HVR to bc2");
    assert_eq!(suite.test_cases.len(), TESTCASES);
    assert_eq!(suite.tests, TESTCASES);
    // bc1's failed command and bc2 unreachable; bc2's ignored loop failure passes.
    assert_eq!(suite.failures, 2);
    let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"Check peer listener [bc1]"));
    assert!(names.contains(&"Stop scheduler on bc1 [bc2]"));
    for case in &suite.test_cases {
        assert_eq!(
            case.classname.as_ref().unwrap().as_str(),
            "Switch over HVR to bc2"
        );
    }
    assert_eq!(report.time, Some(Duration::from_millis(3412)));
}

fn case<'a>(report: &'a quick_junit::Report, name: &str) -> &'a quick_junit::TestCase {
    report.test_suites[0]
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("no testcase {name}"))
}

#[test]
fn junit_failure_and_skip_details() {
    let report = junit(&scenario());
    let failed = case(&report, "Stop scheduler on bc1 [bc1]");
    assert_eq!(failed.time, Some(Duration::from_millis(1204)));
    match &failed.status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind,
            message,
            ty,
            description,
            ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert_eq!(message.as_ref().unwrap().as_str(), "non-zero return code");
            assert_eq!(ty.as_ref().unwrap().as_str(), "failed");
            let d = description.as_ref().unwrap().as_str();
            assert!(d.contains("rc: 1") && d.contains("error line 15"), "{d}");
        }
        other => panic!("{other:?}"),
    }
    let unreachable = case(&report, "Stop scheduler on bc1 [bc2]");
    assert!(matches!(
        &unreachable.status,
        quick_junit::TestCaseStatus::NonSuccess { ty: Some(t), .. } if t.as_str() == "unreachable"
    ));
    let skipped = case(&report, "Start scheduler on standby [bc1]");
    assert!(matches!(
        &skipped.status,
        quick_junit::TestCaseStatus::Skipped { message: Some(m), .. }
            if m.as_str() == "Conditional result was False"
    ));
    let ignored = case(&report, "Create HVR directories [bc2]");
    assert!(matches!(
        ignored.status,
        quick_junit::TestCaseStatus::Success { .. }
    ));
    let out = ignored.system_out.as_ref().unwrap().as_str();
    assert!(
        out.starts_with("failed (ignored: the play went on)"),
        "{out}"
    );
    assert!(out.contains("item=/var/log/hvr: failed (ignored)"), "{out}");
    let debug = case(&report, "Show HVR state [bc1]");
    assert_eq!(
        debug.system_out.as_ref().unwrap().as_str().trim_end(),
        "msg: scheduler: RUNNING"
    );
    let stop = report.test_suites[0].system_err.as_ref().unwrap().as_str();
    assert!(
        stop.contains("[WARNING]: bc2:") && stop.contains("RUN STOPPED"),
        "{stop}"
    );
}

#[test]
fn junit_host_without_result_is_an_error() {
    let t = task("Wait for listener", "wait_for", 50);
    let ev = vec![
        Event::PlayStart {
            name: "p".into(),
            hosts: vec!["bc1".into(), "bc2".into()],
            strategy: "linear".into(),
        },
        Event::TaskStart {
            task: t.clone(),
            hosts: vec!["bc1".into(), "bc2".into()],
        },
        Event::HostResult {
            task: t,
            result: result("bc1", Status::Ok, TaskResult::ok(), 0, 5),
        },
        Event::Stopped {
            reason: "interrupted".into(),
        },
    ];
    let report = junit(&ev);
    let suites = &report.test_suites;
    let cases: Vec<&quick_junit::TestCase> = suites.iter().flat_map(|s| &s.test_cases).collect();
    assert_eq!(cases.len(), 2);
    assert!(matches!(
        cases[1].status,
        quick_junit::TestCaseStatus::NonSuccess {
            kind: quick_junit::NonSuccessKind::Error,
            ..
        }
    ));
    assert_eq!(cases[1].name.as_str(), "Wait for listener [bc2]");
}

#[test]
fn junit_write_error_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("baton.xml");
    let reporter = JunitReporter::new(&path);
    for e in scenario() {
        reporter.event(&e);
    }
    reporter.finish();
    assert!(!path.exists());
}

/// The field names of a JSON value, nested objects as `parent.child`;
/// map-like objects (recap hosts, facts, data) only by their own name.
fn shape(value: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    if let Some(map) = value.as_object() {
        for (key, v) in map {
            let path = format!("{prefix}{key}");
            out.insert(path.clone());
            if !matches!(key.as_str(), "hosts" | "facts" | "data") {
                shape(v, &format!("{path}."), out);
            }
        }
    }
    if let Some(first) = value.as_array().and_then(|a| a.first()) {
        shape(first, prefix, out);
    }
}

#[test]
fn json_doc_examples_have_exactly_the_fields_written() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json-events.md"))
        .unwrap();
    let examples: Vec<serde_json::Value> = doc
        .split("```json\n")
        .skip(1)
        .map(|block| {
            let line = block.lines().next().unwrap();
            serde_json::from_str(line).unwrap_or_else(|e| panic!("doc example: {e}: {line}"))
        })
        .collect();
    // The scenario runs to its end; a quit at once adds the `cut` event.
    let mut events = scenario();
    events.push(Event::Cut {
        task: task("command sleep 300", "command", 4),
        host: "localhost".into(),
        started_at: 1796025012.0,
        elapsed: std::time::Duration::from_millis(1187),
    });
    let written = json_lines(&events);
    let mut kinds_seen = std::collections::BTreeSet::new();
    for example in &examples {
        let kind = example["event"].as_str().unwrap();
        kinds_seen.insert(kind.to_string());
        let line = written
            .iter()
            .find(|l| l["event"] == kind)
            .unwrap_or_else(|| panic!("no {kind} written"));
        let mut want = std::collections::BTreeSet::new();
        shape(line, "", &mut want);
        let mut got = std::collections::BTreeSet::new();
        shape(example, "", &mut got);
        assert_eq!(got, want, "doc example differs from output: {example}");
        // Every field is described in the doc's tables too.
        for field in &want {
            let leaf = field.rsplit('.').next().unwrap();
            assert!(doc.contains(&format!("`{leaf}`")), "{field} not described");
        }
    }
    let all: std::collections::BTreeSet<String> = written
        .iter()
        .map(|l| l["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds_seen, all, "every event kind has an example");
}
