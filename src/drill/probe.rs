//! The client probe: every 20 ms a write of a new key through the VIP, then
//! a read of it, by the probe host's own commands
//! (`drill_probe_write_cmd`/`drill_probe_read_cmd`; the lab uses the
//! simulator's client, `hvrsimclient put`/`get`). Each command runs with
//! `$DRILL_KEY` and `$DRILL_VALUE` set, under `timeout 2`; a write succeeds
//! on exit 0, a read on exit 0 with `$DRILL_VALUE` in its output.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::measure::ProbeSample;
use super::shell::{Place, Shell};

pub const INTERVAL: Duration = Duration::from_millis(20);

/// `$1` write command, `$2` read command. Reads `w KEY` / `r KEY` lines,
/// answers `RC FIRST-LINE-OF-OUTPUT` for each.
const SCRIPT: &str = r#"
while IFS= read -r line; do
  op=${line%% *}; DRILL_KEY=${line#* }; DRILL_VALUE="v-$DRILL_KEY"
  export DRILL_KEY DRILL_VALUE
  if [ "$op" = w ]; then
    out=$(timeout 2 sh -c "$1" </dev/null 2>&1); rc=$?
  else
    out=$(timeout 2 sh -c "$2" </dev/null 2>/dev/null); rc=$?
    case $out in *"$DRILL_VALUE"*) ;; *) [ "$rc" = 0 ] && rc=3 ;; esac
  fi
  printf '%s %s\n' "$rc" "$(printf '%s\n' "$out" | head -n 1 | tr -d '\r')" || exit 0
done
"#;

/// What to run where.
#[derive(Clone, Debug)]
pub struct ProbeSpec {
    pub place: Place,
    pub write_cmd: String,
    pub read_cmd: String,
}

impl ProbeSpec {
    fn spawn(&self) -> Result<Shell, String> {
        Shell::spawn(
            &self.place,
            SCRIPT,
            &[self.write_cmd.clone(), self.read_cmd.clone()],
        )
    }
}

/// Sends one request; `None` when the shell ended or did not answer in 3 s.
fn ask(shell: &mut Shell, op: char, key: &str) -> Option<(f64, i32, String)> {
    if !shell.send(&format!("{op} {key}")) {
        return None;
    }
    let (t, line) = shell.recv(Duration::from_secs(3)).ok()?;
    let (rc, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
    Some((t, rc.trim().parse().unwrap_or(-1), rest.to_string()))
}

/// The node a write names, from `committed on NODE` (hvrsimclient put).
fn server_of(output: &str) -> Option<String> {
    let after = output.split("committed on ").nth(1)?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    (!name.is_empty()).then_some(name)
}

pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<ProbeSample>>,
    /// (first success, latest success), epoch seconds.
    oks: Arc<std::sync::Mutex<(Option<f64>, Option<f64>)>>,
}

impl Probe {
    /// Starts writing `PREFIX-000001`, `PREFIX-000002`, ...
    pub fn start(spec: &ProbeSpec, prefix: &str) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let oks = Arc::new(std::sync::Mutex::new((None, None)));
        let thread = {
            let (stop, spec, prefix, oks) =
                (stop.clone(), spec.clone(), prefix.to_string(), oks.clone());
            std::thread::spawn(move || run(&spec, &prefix, &stop, &oks))
        };
        Probe { stop, thread, oks }
    }

    /// When the probe first succeeded, if it has.
    pub fn first_success(&self) -> Option<f64> {
        self.oks.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// When the probe last succeeded, if it has.
    pub fn last_success(&self) -> Option<f64> {
        self.oks.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    pub fn finish(self) -> Vec<ProbeSample> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}

fn run(
    spec: &ProbeSpec,
    prefix: &str,
    stop: &AtomicBool,
    oks: &std::sync::Mutex<(Option<f64>, Option<f64>)>,
) -> Vec<ProbeSample> {
    let mut samples = Vec::new();
    let mut shell: Option<Shell> = None;
    let mut n = 0u64;
    let mut next = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next = Instant::now().max(next) + INTERVAL;
        let current = match shell.as_mut() {
            Some(s) => s,
            None => match spec.spawn() {
                Ok(s) => shell.insert(s),
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
            },
        };
        n += 1;
        let key = format!("{prefix}-{n:06}");
        let write = ask(current, 'w', &key);
        let read = match &write {
            Some((_, 0, _)) => ask(current, 'r', &key),
            _ => None,
        };
        if write.is_none() || (matches!(write, Some((_, 0, _))) && read.is_none()) {
            // The shell itself failed: a new one next time.
            shell = None;
        }
        let t = read
            .as_ref()
            .or(write.as_ref())
            .map_or_else(super::now, |r| r.0);
        let sample = ProbeSample {
            t,
            key,
            write_ok: matches!(write, Some((_, 0, _))),
            read_ok: matches!(read, Some((_, 0, _))),
            server: write.as_ref().and_then(|w| server_of(&w.2)),
        };
        if sample.ok() {
            let mut oks = oks.lock().unwrap_or_else(|e| e.into_inner());
            oks.0.get_or_insert(t);
            oks.1 = Some(t);
        }
        samples.push(sample);
    }
    samples
}

/// Shells that read keys back at once (`present`): each read is a fork and
/// exec of the read command (tens of ms), so a few hundred acknowledged rows
/// took seconds one at a time.
pub const READERS: usize = 4;

/// Reads every key back; the keys found. The keys are split among
/// `READERS` shells reading at once. Each missing key is read up to three
/// times (200 ms apart) before it counts as missing. Gives up (an error)
/// past `deadline` or on a stop signal: a read that times out cannot tell a
/// lost row from an unreachable VIP, so a slow read-back is no figure.
pub fn present(
    spec: &ProbeSpec,
    keys: &[String],
    deadline: Instant,
) -> Result<BTreeSet<String>, String> {
    let per = keys.len().div_ceil(READERS).max(1);
    let results: Vec<Result<BTreeSet<String>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = keys
            .chunks(per)
            .map(|chunk| scope.spawn(move || present_one(spec, chunk, keys.len(), deadline)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a read-back thread panicked".to_string()))
            })
            .collect()
    });
    let mut found = BTreeSet::new();
    for r in results {
        found.extend(r?);
    }
    Ok(found)
}

/// `present` for one share of the keys, in one shell.
fn present_one(
    spec: &ProbeSpec,
    keys: &[String],
    total: usize,
    deadline: Instant,
) -> Result<BTreeSet<String>, String> {
    let mut found = BTreeSet::new();
    let mut pending: Vec<String> = keys.to_vec();
    for attempt in 0..3 {
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut shell = spec.spawn()?;
        let mut still = Vec::new();
        for key in pending {
            if Instant::now() > deadline || super::signals::stopped().is_some() {
                return Err(format!(
                    "reading {total} acknowledged rows back did not finish in time (or was stopped)"
                ));
            }
            match ask(&mut shell, 'r', &key) {
                Some((_, 0, _)) => {
                    found.insert(key);
                }
                Some(_) => still.push(key),
                None => {
                    still.push(key);
                    shell = spec.spawn()?;
                }
            }
        }
        pending = still;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_is_read_from_put_output() {
        assert_eq!(
            server_of("k = v (committed on bc2)").as_deref(),
            Some("bc2")
        );
        assert_eq!(server_of("OK"), None);
    }

    #[test]
    fn local_probe_against_a_directory_store() {
        // A probe whose "database" is a directory: write makes a file named
        // by the key holding the value; read prints it. Then one key is
        // removed: it is reported missing.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let spec = ProbeSpec {
            place: Place::Local,
            write_cmd: format!(
                "echo \"$DRILL_VALUE\" > {d}/\"$DRILL_KEY\" && echo committed on local"
            ),
            read_cmd: format!("cat {d}/\"$DRILL_KEY\""),
        };
        let probe = Probe::start(&spec, "t");
        std::thread::sleep(Duration::from_millis(400));
        let samples = probe.finish();
        assert!(samples.len() >= 5, "{samples:?}");
        assert!(samples.iter().all(|s| s.ok()), "{samples:?}");
        assert_eq!(samples[0].server.as_deref(), Some("local"));
        let keys = super::super::measure::acked(&samples);
        std::fs::remove_file(dir.path().join(&keys[1])).unwrap();
        let found = present(&spec, &keys, Instant::now() + Duration::from_secs(30)).unwrap();
        assert_eq!(
            super::super::measure::lost(&keys, &found),
            [keys[1].clone()]
        );
    }
}
