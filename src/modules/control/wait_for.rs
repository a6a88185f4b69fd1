//! `wait_for`: poll on the host until a port opens, closes or drains, or a
//! path appears (optionally with some content) or disappears.
//!
//! The polling loop runs remotely, in rounds of at most [`ROUND_MS`]: a
//! round that ends before the condition is met or the timeout passes
//! answers "pending" with when its next poll is due, and the controller
//! sends the next round unless a stop request (Ctrl-C, SIGTERM...) came.
//! So a stop cuts a wait of any length (`timeout` may be up to 30 days)
//! within about a second, as it cuts a `pause`, where one script for the
//! whole wait ran to its timeout. A condition already met returns without
//! sleeping or even reading the clock.
//!
//! Round trips: 1 when the condition is met within the first second, then
//! one a second of waiting.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct WaitFor;

static SPEC: ModuleSpec = ModuleSpec {
    name: "wait_for",
    args: &[
        ArgSpec::optional("host"),
        ArgSpec::optional("port"),
        ArgSpec::optional("path"),
        ArgSpec::optional("state").choices(&["started", "stopped", "present", "absent", "drained"]),
        ArgSpec::optional("timeout"),
        ArgSpec::optional("delay"),
        ArgSpec::optional("sleep"),
        ArgSpec::optional("connect_timeout"),
        ArgSpec::optional("search_regex"),
        ArgSpec::optional("msg"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// The port accepts connections / the path exists.
    Up,
    /// The port refuses connections / the path is gone.
    Down,
    /// No connections on the port.
    Drained,
}

enum Target {
    Port {
        host: String,
        /// `host` was given (drained then counts only that local address).
        host_given: bool,
        port: u16,
    },
    Path(String),
    /// Neither: just wait `timeout` seconds, as Ansible does.
    Nothing,
}

struct Plan {
    target: Target,
    want: Want,
    timeout: f64,
    delay: f64,
    sleep: f64,
    connect_timeout: f64,
    search_regex: Option<String>,
    msg: Option<String>,
}

impl Module for WaitFor {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let plan = Plan::from_args(&ArgReader::new(&SPEC, args))?;
        if ctx.check_mode {
            // As in Ansible, where wait_for does not support check mode.
            return Ok(Step::Done(TaskResult::skipped(
                "skipped in check mode: wait_for does not support check mode (as in Ansible); nothing was waited for",
            )));
        }
        let first_ms = ms(plan.delay);
        Ok(round(
            Arc::new(plan),
            ctx.nonce.to_string(),
            Instant::now(),
            first_ms,
            true,
        ))
    }
}

/// The longest a round of the host's polling loop lasts (milliseconds):
/// how soon a stop request is seen, and the price (one round trip each).
const ROUND_MS: u64 = 1000;

fn ms(secs: f64) -> u64 {
    (secs * 1000.0).round() as u64
}

/// One round of the wait, which began at `started`: its first poll is due in
/// `first_ms`; the next round follows a "pending" answer unless a stop
/// request came, which ends the task as [`Plan::cut`] says.
fn round(plan: Arc<Plan>, nonce: String, started: Instant, first_ms: u64, first: bool) -> Step {
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let remaining = ms(plan.timeout).saturating_sub(elapsed);
    let script = plan.script(&nonce, remaining, first_ms, first);
    Step::Remote {
        script,
        interpret: Box::new(move |out| {
            let answer = Answer::parse(out, &nonce);
            if answer.get("done") == Some("pending") {
                if let Some(next) = answer.get("next").and_then(|n| n.parse::<u64>().ok()) {
                    let cut = Arc::clone(&plan);
                    return Step::UnlessStopped {
                        next: Box::new(round(plan, nonce, started, next, false)),
                        stopped: Box::new(move |cause| {
                            cut.cut(cause, started.elapsed().as_secs_f64())
                        }),
                    };
                }
            }
            Step::Done(plan.interpret(&answer, started.elapsed().as_secs_f64()))
        }),
    }
}

impl Plan {
    fn from_args(r: &ArgReader<'_>) -> Result<Plan, ModuleError> {
        let port = r.integer("port", 1..=65535)?;
        let path = r.path("path")?;
        let host = r.string("host")?.filter(|h| !h.is_empty());
        let state = r.choice("state")?.unwrap_or_else(|| "started".into());
        let want = match state.as_str() {
            "started" | "present" => Want::Up,
            "stopped" | "absent" => Want::Down,
            _ => Want::Drained,
        };
        let target = match (port, path) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Args("give `port` or `path`, not both".into()))
            }
            (Some(port), None) => Target::Port {
                host_given: host.is_some(),
                host: host.unwrap_or_else(|| "127.0.0.1".into()),
                port: port as u16,
            },
            (None, Some(path)) => Target::Path(path),
            (None, None) => Target::Nothing,
        };
        if want == Want::Drained && !matches!(target, Target::Port { .. }) {
            return Err(ModuleError::Args("state=drained needs `port`".into()));
        }
        let sleep = r.seconds("sleep")?.unwrap_or(1.0);
        if sleep <= 0.0 {
            return Err(ModuleError::Args(
                "argument `sleep` must be more than 0".into(),
            ));
        }
        let search_regex = r.string("search_regex")?;
        if search_regex.is_some() && (want != Want::Up || matches!(target, Target::Nothing)) {
            return Err(ModuleError::Args(
                "`search_regex` needs `path` or `port` with state=started/present".into(),
            ));
        }
        if let Target::Port { host, .. } = &target {
            if host.contains(['/', ' ', '\n']) {
                return Err(ModuleError::Args(format!(
                    "argument `host`: `{host}` is not a host name or address"
                )));
            }
        }
        Ok(Plan {
            target,
            want,
            timeout: r.seconds("timeout")?.unwrap_or(300.0),
            delay: r.seconds("delay")?.unwrap_or(0.0),
            sleep,
            connect_timeout: r.seconds("connect_timeout")?.unwrap_or(5.0).max(0.1),
            search_regex,
            msg: r.string("msg")?,
        })
    }

    /// The shell condition that is true once the wait is over.
    fn condition(&self) -> String {
        let regex_test = |subject: &str| match &self.search_regex {
            Some(re) => format!(" && grep -q $_gp -e {} {subject}", shell::quote(re)),
            None => String::new(),
        };
        match (&self.target, self.want) {
            (Target::Path(_), Want::Up) => format!("[ -e \"$_p\" ]{}", regex_test("\"$_p\"")),
            (Target::Path(_), _) => "[ ! -e \"$_p\" ] && [ ! -L \"$_p\" ]".into(),
            (Target::Port { .. }, Want::Up) => match &self.search_regex {
                // Read what the service says until the pattern shows up.
                Some(re) => format!(
                    "$_to bash -c 'exec 3<>\"/dev/tcp/$0/$1\" && grep -q $2 -e \"$3\" <&3' \"$_h\" \"$_port\" \"$_gp\" {} 2>/dev/null",
                    shell::quote(re)
                ),
                None => "$_to bash -c ': <>\"/dev/tcp/$0/$1\"' \"$_h\" \"$_port\" 2>/dev/null".into(),
            },
            (Target::Port { .. }, Want::Down) => {
                "! $_to bash -c ': <>\"/dev/tcp/$0/$1\"' \"$_h\" \"$_port\" 2>/dev/null".into()
            }
            (Target::Port { .. }, Want::Drained) => {
                "! grep -Eq \"$_active\" /proc/net/tcp /proc/net/tcp6 2>/dev/null".into()
            }
            (Target::Nothing, _) => "false".into(),
        }
    }

    /// One round: `remaining` ms until the timeout, the first poll due in
    /// `first_ms`; on the `first` round with no delay the condition is
    /// tried before anything else.
    fn script(&self, nonce: &str, remaining: u64, first_ms: u64, first: bool) -> String {
        let mut s = prelude(nonce);
        match &self.target {
            Target::Path(p) => s.push_str(&format!("_p={}\n", shell::quote(p))),
            Target::Port {
                host,
                host_given,
                port,
            } => {
                s.push_str(&format!("_h={} _port={port}\n", shell::quote(host)));
                if self.want == Want::Drained {
                    s.push_str(&format!(
                        "_active={}\n",
                        shell::quote(&drained_pattern(host, *host_given, *port))
                    ));
                } else {
                    s.push_str(&format!(
                        "command -v bash >/dev/null 2>&1 || _fail nobash\n_to=\ncommand -v timeout >/dev/null 2>&1 && _to='timeout {}'\n",
                        seconds_word(self.connect_timeout)
                    ));
                }
            }
            Target::Nothing => {}
        }
        if self.search_regex.is_some() {
            // grep -P is closest to Python's re; plain -E where grep lacks it.
            s.push_str("_gp=-E; grep -qP '' /dev/null 2>/dev/null; [ $? = 2 ] || _gp=-P\n");
        }
        let condition = self.condition();
        s.push_str(
            "_now() { _t=$(date +%s%N); case $_t in *N|'') _t=$(($(date +%s) * 1000)) ;; *) _t=${_t%??????} ;; esac; }\n",
        );
        // With a path and `search_regex`, the first matching line goes back
        // so the controller can register `match_groups` / `match_groupdict`.
        let met = match (&self.target, &self.search_regex) {
            (Target::Path(_), Some(re)) => format!(
                "_b begin match; grep -m1 $_gp -e {} \"$_p\" | head -c 65536 | base64; _b end match; _b done met; exit 0",
                shell::quote(re)
            ),
            _ => "_b done met; exit 0".to_string(),
        };
        if first && first_ms == 0 {
            s.push_str(&format!("if {condition}; then {met}; fi\n"));
        }
        // Times in ms of the host's clock: the timeout, this round's end,
        // the next poll. After each poll past the timeout: timeout; at the
        // round's end: pending, with when the next poll is due.
        s.push_str(&format!(
            "_now; _end=$((_t + {remaining})); _stop=$((_t + {ROUND_MS})); _next=$((_t + {first_ms}))\n"
        ));
        s.push_str(&format!(
            "while :; do\n  if [ \"$_t\" -ge \"$_next\" ]; then\n    if {condition}; then {met}; fi\n    _now; [ \"$_t\" -lt \"$_end\" ] || {{ _b done timeout; exit 0; }}\n    _next=$((_t + {}))\n  fi\n  [ \"$_t\" -lt \"$_stop\" ] || {{ _b next $((_next - _t)); _b done pending; exit 0; }}\n  _n=$_next; [ \"$_n\" -le \"$_stop\" ] || _n=$_stop; _n=$((_n - _t))\n  sleep $((_n / 1000)).$(printf %03d $((_n % 1000)))\n  _now\ndone\n",
            ms(self.sleep).max(1)
        ));
        s
    }

    /// The task's result when a stop request ends the wait between rounds,
    /// `elapsed` s after it began: with nothing to watch the wait was the
    /// point, as a cut `pause` is ok; otherwise the condition was not seen
    /// met, so the task fails.
    fn cut(&self, cause: &str, elapsed: f64) -> TaskResult {
        let what = format!(
            "waited {elapsed:.1} s of {} s: cut short by the stop request ({cause})",
            seconds_word(self.timeout)
        );
        let mut result = match &self.target {
            Target::Nothing => TaskResult::ok().with_msg(what),
            _ => TaskResult::failed(format!("{what}; the condition was not met")),
        };
        result.data.insert(
            "elapsed".into(),
            serde_json::Number::from_f64((elapsed * 1000.0).round() / 1000.0)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
        result
    }

    fn interpret(&self, answer: &Answer, elapsed: f64) -> TaskResult {
        if answer.failure() == Some("nobash") {
            return TaskResult::failed(
                "wait_for on a port needs bash on the host (it probes with bash's /dev/tcp) and bash was not found; install bash, or wait on a path instead",
            );
        }
        let mut result = match (answer.get("done"), &self.target) {
            (Some("met"), _) => TaskResult::ok(),
            // With nothing to watch, waiting out the timeout is the point.
            (Some("timeout"), Target::Nothing) => TaskResult::ok(),
            (Some("timeout"), _) => TaskResult::failed(self.timeout_message()),
            _ => return answer.unexpected(),
        };
        result.data.insert(
            "elapsed".into(),
            serde_json::Number::from_f64((elapsed * 1000.0).round() / 1000.0)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
        match &self.target {
            Target::Path(p) => {
                result.data.insert("path".into(), Value::String(p.clone()));
            }
            Target::Port { port, .. } => {
                result.data.insert("port".into(), Value::from(*port));
            }
            Target::Nothing => {}
        }
        if let Some(re) = &self.search_regex {
            let (groups, named) = answer
                .block_bytes("match")
                .map(|line| match_groups(re, &String::from_utf8_lossy(&line)))
                .unwrap_or_default();
            result
                .data
                .insert("match_groups".into(), Value::Array(groups));
            result
                .data
                .insert("match_groupdict".into(), Value::Object(named));
        }
        result
    }

    fn timeout_message(&self) -> String {
        if let Some(msg) = &self.msg {
            return msg.clone();
        }
        let secs = seconds_word(self.timeout);
        match (&self.target, self.want) {
            (Target::Path(p), Want::Up) => match &self.search_regex {
                Some(re) => {
                    format!("Timeout when waiting for search string {re} in {p} (after {secs} s)")
                }
                None => format!("Timeout when waiting for file {p} (after {secs} s)"),
            },
            (Target::Path(p), _) => {
                format!("Timeout when waiting for {p} to be absent (after {secs} s)")
            }
            (Target::Port { host, port, .. }, Want::Up) => match &self.search_regex {
                Some(re) => format!(
                    "Timeout when waiting for search string {re} in {host}:{port} (after {secs} s)"
                ),
                None => format!("Timeout when waiting for {host}:{port} (after {secs} s)"),
            },
            (Target::Port { host, port, .. }, Want::Down) => {
                format!("Timeout when waiting for {host}:{port} to stop (after {secs} s)")
            }
            (Target::Port { host, port, .. }, Want::Drained) => {
                format!("Timeout when waiting for {host}:{port} to drain (after {secs} s)")
            }
            (Target::Nothing, _) => String::new(),
        }
    }
}

/// Ansible's `match_groups` (every group of the first match, unmatched ones
/// null) and `match_groupdict` (the named ones) for `search_regex` over the
/// line the host found. A pattern the controller's regex engine cannot
/// compile (e.g. a look-around grep -P accepted) gives none, as no match.
fn match_groups(re: &str, line: &str) -> (Vec<Value>, serde_json::Map<String, Value>) {
    let mut groups = Vec::new();
    let mut named = serde_json::Map::new();
    let Ok(regex) = regex::Regex::new(&format!("(?m){re}")) else {
        return (groups, named);
    };
    let line = line.trim_end_matches('\n');
    let Some(caps) = regex.captures(line) else {
        return (groups, named);
    };
    let text = |m: Option<regex::Match<'_>>| {
        m.map_or(Value::Null, |m| Value::String(m.as_str().to_string()))
    };
    for i in 1..caps.len() {
        groups.push(text(caps.get(i)));
    }
    for name in regex.capture_names().flatten() {
        named.insert(name.to_string(), text(caps.name(name)));
    }
    (groups, named)
}

/// `sleep`/`timeout` argument: whole seconds as integers, fractions as
/// decimals to the millisecond. Never `-0` (a negative zero), and a
/// positive time never rounds to `0.000` (`sleep 0.000` would spin).
fn seconds_word(secs: f64) -> String {
    let secs = secs.max(0.0) + 0.0;
    if secs.fract() == 0.0 {
        format!("{}", secs as u64)
    } else {
        format!("{:.3}", secs.max(0.001))
    }
}

/// An ERE over /proc/net/tcp{,6} lines for connections on the port in one of
/// Ansible's "active" states (ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1,
/// FIN_WAIT2, TIME_WAIT). With an explicit IPv4 `host` (not 0.0.0.0) only
/// that local address counts; otherwise every local address does.
fn drained_pattern(host: &str, host_given: bool, port: u16) -> String {
    let local = match host.parse::<std::net::Ipv4Addr>() {
        Ok(ip) if host_given && !ip.is_unspecified() => {
            let o = ip.octets();
            // The kernel prints the address in host byte order.
            let le = format!("{:02X}{:02X}{:02X}{:02X}", o[3], o[2], o[1], o[0]);
            let be = format!("{:02X}{:02X}{:02X}{:02X}", o[0], o[1], o[2], o[3]);
            format!("([0-9A-F]{{24}})?({le}|{be})")
        }
        _ => "[0-9A-F]+".to_string(),
    };
    format!("^ *[0-9]+: {local}:{port:04X} [0-9A-F]+:[0-9A-F]{{4}} 0[1-6] ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;
    use std::time::{Duration, Instant};

    #[test]
    fn a_met_condition_returns_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let r = run(&WaitFor, json!({"path": dir.path()}), &Ctx::default());
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert!(started.elapsed() < Duration::from_millis(900));
        assert!(r.data["elapsed"].as_f64().unwrap() < 0.9);
    }

    #[test]
    fn waits_for_a_file_to_appear_with_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ready");
        let writer = {
            let p = p.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                std::fs::write(&p, "booting\nlistening on 4343\n").unwrap();
            })
        };
        let r = run(
            &WaitFor,
            json!({"path": p, "search_regex": "listening on \\d+", "sleep": 0.1, "timeout": 10}),
            &Ctx::default(),
        );
        writer.join().unwrap();
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert!(r.data["elapsed"].as_f64().unwrap() >= 0.25);
    }

    /// A wait longer than one round (1 s) goes on over rounds: it meets a
    /// condition that comes true in a later round, and times out at its
    /// timeout, not at a round's end.
    #[test]
    fn a_wait_goes_on_over_rounds_to_its_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("later");
        let writer = {
            let p = p.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(1600));
                std::fs::write(&p, "x").unwrap();
            })
        };
        let r = run(
            &WaitFor,
            json!({"path": p, "sleep": 0.2, "timeout": 10}),
            &Ctx::default(),
        );
        writer.join().unwrap();
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let elapsed = r.data["elapsed"].as_f64().unwrap();
        assert!((1.5..4.0).contains(&elapsed), "{r:?}");
        let started = Instant::now();
        let r = run(
            &WaitFor,
            json!({"path": dir.path().join("never"), "sleep": 0.3, "timeout": 2.2, "delay": 0.2}),
            &Ctx::default(),
        );
        assert!(r.is_failed(), "{r:?}");
        assert!(
            r.msg.as_deref().unwrap().contains("(after 2.200 s)"),
            "{r:?}"
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(2200) && took < Duration::from_secs(5),
            "{took:?}"
        );
    }

    #[test]
    fn seconds_are_never_negative_zero_nor_rounded_to_nothing() {
        assert_eq!(seconds_word(-0.0), "0");
        assert_eq!(seconds_word(0.0), "0");
        assert_eq!(seconds_word(1e-9), "0.001");
        assert_eq!(seconds_word(2.5), "2.500");
        assert_eq!(seconds_word(3.0), "3");
    }

    #[test]
    fn times_out_with_ansibles_message_or_msg() {
        let r = run(
            &WaitFor,
            json!({"path": "/no/such/file", "timeout": 0.3, "sleep": 0.1}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        assert!(r
            .msg
            .unwrap()
            .starts_with("Timeout when waiting for file /no/such/file"));
        let r = run(
            &WaitFor,
            json!({"path": "/", "state": "absent", "timeout": 0, "msg": "root is still there"}),
            &Ctx::default(),
        );
        assert_eq!(r.msg.as_deref(), Some("root is still there"));
    }

    #[test]
    fn ports_open_and_closed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = run(
            &WaitFor,
            json!({"port": port, "timeout": 5}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let r = run(
            &WaitFor,
            json!({"port": port, "state": "stopped", "timeout": 0.3, "sleep": 0.1}),
            &Ctx::default(),
        );
        assert!(r
            .msg
            .unwrap()
            .contains(&format!("127.0.0.1:{port} to stop")));
        drop(listener);
        let r = run(
            &WaitFor,
            json!({"port": port, "state": "stopped", "timeout": 5}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok, "{r:?}");
    }

    #[test]
    fn drained_sees_established_connections() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (server, _) = listener.accept().unwrap();
        let r = run(
            &WaitFor,
            json!({"port": port, "state": "drained", "timeout": 0.3, "sleep": 0.1}),
            &Ctx::default(),
        );
        assert!(r.is_failed(), "{r:?}");
        drop((client, server));
        // Closed connections linger in TIME_WAIT, which still counts (as in Ansible);
        // a port nobody used is drained.
        let idle = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let idle_port = idle.local_addr().unwrap().port();
        let r = run(
            &WaitFor,
            json!({"port": idle_port, "state": "drained", "timeout": 1}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok, "{r:?}");
    }

    #[test]
    fn delay_comes_first_and_search_regex_reads_from_the_port() {
        let started = Instant::now();
        let r = run(
            &WaitFor,
            json!({"path": "/", "delay": 0.3}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok);
        assert!(started.elapsed() >= Duration::from_millis(300));

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            use std::io::Write;
            for _ in 0..2 {
                let (mut s, _) = listener.accept().unwrap();
                let _ = s.write_all(b"HVR listener 6.1 ready\n");
            }
        });
        let r = run(
            &WaitFor,
            json!({"port": port, "search_regex": "ready$", "timeout": 5}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let r = run(
            &WaitFor,
            json!({"port": port, "search_regex": "^never", "timeout": 0.5, "sleep": 1, "connect_timeout": 0.3}),
            &Ctx::default(),
        );
        assert!(r.msg.unwrap().contains("search string ^never"));
        server.join().unwrap();
    }

    #[test]
    fn arguments_are_checked() {
        assert!(prepare_error(&WaitFor, json!({"port": 1, "path": "/x"})).contains("not both"));
        assert!(prepare_error(&WaitFor, json!({"port": 70000})).contains("`port`"));
        assert!(
            prepare_error(&WaitFor, json!({"path": "/x", "state": "drained"}))
                .contains("needs `port`")
        );
        assert!(prepare_error(&WaitFor, json!({"path": "/x", "sleep": 0})).contains("`sleep`"));
    }

    #[test]
    fn drained_pattern_matches_proc_net_tcp_lines() {
        let re = regex::Regex::new(&drained_pattern("127.0.0.1", true, 8080)).unwrap();
        assert!(re.is_match(
            "   3: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000"
        ));
        assert!(!re.is_match(
            "   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000"
        ));
        assert!(!re.is_match("   3: 0200007F:1F90 0100007F:C350 01 00000000:00000000"));
        let any = regex::Regex::new(&drained_pattern("127.0.0.1", false, 8080)).unwrap();
        assert!(any.is_match("   3: 0200A8C0:1F90 0100007F:C350 06 0"));
    }
}
