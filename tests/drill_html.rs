//! drill.html in a real browser: headless Chromium (Debian's `chromium`,
//! installed by scripts/deps.sh) loads the page `baton drill --render-html`
//! makes from a synthetic two-phase drill.json. No lab: the report is built
//! here. Checks: the DOM Chromium parsed has one SVG timeline per phase with
//! its rows and its RTO and RPO; the page asks for nothing over the network
//! (from Chromium's own net log); a screenshot shows the timelines' colours.
//!
//! Chromium missing fails these tests (CI installs it through deps.sh): they
//! never pass without having looked.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BATON: &str = env!("CARGO_BIN_EXE_baton");

/// The client band's colours in src/drill/html.rs (success, failure).
const OK_RGB: [u8; 3] = [0x2a, 0x9d, 0x3a];
const FAILED_RGB: [u8; 3] = [0xd6, 0x27, 0x28];

fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|p| p.is_file())
    });
    match found {
        Some(path) => path,
        None => panic!(
            "headless Chromium is not installed, and this test checks drill.html in it.\n\
             Install it with ./scripts/deps.sh (as root), or: apt-get install -y --no-install-recommends chromium"
        ),
    }
}

/// Runs Chromium headless (as root: no sandbox; a fresh profile) on `page`
/// with `extra` flags; returns its stdout. Killed after 60 s.
fn run_chromium(page: &Path, work: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir_in(work).unwrap();
    let stdout = work.join(format!("stdout-{}", extra.len()));
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in 60 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium exited {status} on {}",
        page.display()
    );
    std::fs::read_to_string(&stdout).unwrap()
}

/// The URLs the page itself requested (network isolation key `file://`),
/// from Chromium's net log; the browser's own background requests have
/// other keys and are not the page's doing.
fn page_requests(page: &Path, work: &Path) -> Vec<String> {
    let log = work.join(format!(
        "{}.netlog.json",
        page.file_stem().unwrap().to_string_lossy()
    ));
    run_chromium(
        page,
        work,
        &[
            format!("--log-net-log={}", log.display()),
            "--dump-dom".into(),
        ],
    );
    let text = std::fs::read_to_string(&log).unwrap();
    // A net log cut short lacks its closing brackets (Chromium's docs).
    let netlog: Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .unwrap_or_else(|e| panic!("{}: not a net log: {e}", log.display()));
    let events = netlog["events"].as_array().expect("net log events");
    let mut urls: Vec<String> = events
        .iter()
        .filter_map(|e| {
            let p = e.get("params")?;
            let key = p.get("network_isolation_key")?.as_str()?;
            let url = p.get("url")?.as_str()?;
            key.starts_with("file://").then(|| url.to_string())
        })
        .collect();
    urls.dedup();
    urls
}

/// A phase as drill.json has it: 20 samples 20 ms apart from `t0`, the
/// ones in `failed` failing; RTO from the sample before them to the one after.
fn phase(
    kind: &str,
    from: &str,
    to: &str,
    t0: f64,
    failed: std::ops::Range<u32>,
    lost: &[&str],
) -> Value {
    let t = |i: u32| t0 + f64::from(i) * 0.02;
    let probe: Vec<Value> = (0..20)
        .map(|i| {
            let ok = !failed.contains(&i);
            json!({"t": t(i), "key": format!("{kind}-{i:04}"), "write_ok": ok, "read_ok": ok,
                   "server": if i < failed.start { from } else { to }})
        })
        .collect();
    let (gap_from, gap_to) = (t(failed.start - 1), t(failed.end));
    let sample = |dt: f64, on: bool| {
        json!({"t": t0 + dt, "reachable": true, "vip": on, "scheduler": on,
               "state": if on { "START" } else { "STOP" }})
    };
    json!({
        "kind": kind, "from": from, "to": to,
        "started_at": t0, "ended_at": t(20), "outcome": "ok", "error": null,
        "rto": {"from": gap_from, "to": gap_to, "failed_samples": failed.len()},
        "rto_ms": ((gap_to - gap_from) * 1000.0).round(),
        "acked": 20 - failed.len(), "lost_keys": lost, "rpo_rows": lost.len(),
        "actions": [{"t": t(failed.start), "what": format!("{kind} {from} -> {to}")}],
        "runs": [{"playbook": if kind == "abrupt" { "failover" } else { "switchover" },
                  "extra_vars": [format!("to={to}")], "started_at": t(1), "ended_at": t(18),
                  "exit_code": 0,
                  "tasks": [{"host": from, "task": "stop", "started_at": t(2), "ended_at": t(5), "outcome": "changed"},
                            {"host": to, "task": "start", "started_at": t(5), "ended_at": t(9), "outcome": "changed"}]}],
        "probe": probe,
        "node_samples": {
            from: [sample(0.0, true), sample(0.2, false)],
            to: [sample(0.0, false), sample(0.2, true)],
        },
    })
}

/// drill.json of a graceful (RTO 80 ms, RPO 0) and an abrupt (RTO 240 ms,
/// RPO 2 rows) phase, and the drill.html `baton drill --render-html` makes of it.
fn rendered(dir: &Path) -> PathBuf {
    let report = json!({
        "schema": "baton-drill/1", "target": "lab", "inventory": ["lab.yml"],
        "nodes": ["bc1", "bc2"], "vip": "10.0.0.100",
        "scenario": ["graceful", "abrupt"], "started_at": 1000.0, "ended_at": 1003.0,
        "outcome": "passed", "error": null, "setup": [],
        "phases": [
            phase("graceful", "bc1", "bc2", 1000.0, 3..6, &[]),
            phase("abrupt", "bc2", "bc1", 1001.0, 4..15, &["abrupt-0002", "abrupt-0003"]),
        ],
    });
    let json_path = dir.join("drill.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    let out = Command::new(BATON)
        .args(["drill", "--render-html"])
        .arg(&json_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "baton drill --render-html: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = dir.join("drill.html");
    assert!(page.is_file(), "{} not written", page.display());
    page
}

#[test]
fn drill_html_in_chromium_has_a_timeline_per_phase_with_rto_and_rpo() {
    let dir = tempfile::tempdir().unwrap();
    let page = rendered(dir.path());
    let dom = run_chromium(&page, dir.path(), &["--dump-dom".into()]);
    // Chromium parsed it as SVG in HTML: two svg elements, in phase order.
    let starts: Vec<usize> = dom.match_indices("<svg").map(|(i, _)| i).collect();
    assert_eq!(starts.len(), 2, "one <svg> per phase:\n{dom}");
    for (i, (kind, rto, rpo)) in [("graceful", "80 ms", "0"), ("abrupt", "240 ms", "2")]
        .into_iter()
        .enumerate()
    {
        let svg = &dom[starts[i]..];
        let svg = &svg[..svg.find("</svg>").expect("a closed <svg>")];
        assert!(svg.contains(&format!("data-phase=\"{kind}\"")), "{svg}");
        assert_eq!(svg.matches("<g class=\"row\">").count(), 2 * 4 + 1, "{svg}");
        assert!(
            svg.contains(&format!(": RTO {rto}, RPO {rpo} rows")),
            "{kind}: RTO {rto}, RPO {rpo} missing:\n{svg}"
        );
        assert!(svg.contains(&format!(">RTO {rto}<")), "{svg}");
        assert!(svg.contains(&format!(">RPO {rpo} rows<")), "{svg}");
    }
    assert!(dom.contains("abrupt-0002 abrupt-0003"), "lost keys listed");
}

#[test]
fn drill_html_requests_nothing_over_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let page = rendered(dir.path());
    // Only the SVG namespace name, which is never fetched.
    let html = std::fs::read_to_string(&page).unwrap();
    let urls = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !urls.contains("http:") && !urls.contains("https:") && !urls.contains("//"),
        "a URL in drill.html"
    );
    assert_eq!(page_requests(&page, dir.path()), Vec::<String>::new());
    // The net log check sees a page that does ask (else it proves nothing).
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><img src=\"http://baton-test.invalid/x.png\"></body></html>",
    )
    .unwrap();
    assert_eq!(
        page_requests(&control, dir.path()),
        ["http://baton-test.invalid/x.png"]
    );
}

#[test]
fn drill_html_screenshot_shows_the_client_band() {
    let dir = tempfile::tempdir().unwrap();
    let page = rendered(dir.path());
    let shot = dir.path().join("drill.png");
    run_chromium(
        &page,
        dir.path(),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,1400".into(),
        ],
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    assert!(step >= 3, "an RGB screenshot, got {:?}", info.color_type);
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()]
        .chunks(step)
        .map(|p| &p[..3])
        .collect();
    let count = |rgb: [u8; 3]| pixels.iter().filter(|p| **p == rgb).count();
    // Each phase's client band: 20 samples wide, some failing.
    assert!(count(OK_RGB) > 500, "no success band painted");
    assert!(count(FAILED_RGB) > 100, "no failure band painted");
    assert!(pixels.iter().any(|p| *p != pixels[0]), "a blank screenshot");
}
