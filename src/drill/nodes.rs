//! Node samplers: every ~100 ms, on each node, whether it holds the VIP
//! (`ip -4 addr` on its interface), whether its scheduler answers
//! (`hvrtestscheduler`), and what hvrfailover.state says. One loop per node
//! runs on the node; its lines are timestamped on the controller. A node
//! that cannot be reached (crashed, fenced) gives `reachable: false`
//! samples while the sampler retries.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::report::NodeSample;
use super::shell::{Place, Shell};

/// `$1` VIP, `$2` interface, `$3` hvrenv, `$4` hub, `$5` state file.
const SAMPLE: &str = r#"
while :; do
  v=0; ip -4 -o addr show dev "$2" 2>/dev/null | grep -q " $1/" && v=1
  s=0; timeout 1 "$3" hvrtestscheduler -t0.3 "$4" >/dev/null 2>&1 && s=1
  st=$(head -c 40 "$5" 2>/dev/null | tr -cd 'A-Za-z_')
  echo "$v $s ${st:-none}" || exit 0
  sleep 0.1
done
"#;

/// What the sampling script needs to know about the pair.
#[derive(Clone, Debug)]
pub struct SampleVars {
    pub vip: String,
    pub interface: String,
    pub hvrenv: String,
    pub hub: String,
    pub state_file: String,
}

pub struct Sampler {
    stop: Arc<AtomicBool>,
    threads: Vec<(String, JoinHandle<Vec<NodeSample>>)>,
}

/// Parses one line of the sampling script.
pub fn parse(t: f64, line: &str) -> Option<NodeSample> {
    let mut words = line.split_whitespace();
    let vip = words.next()? == "1";
    let scheduler = words.next()? == "1";
    let state = words.next()?.to_string();
    Some(NodeSample {
        t,
        reachable: true,
        vip,
        scheduler,
        state,
    })
}

impl Sampler {
    pub fn start(nodes: &[(String, Place)], vars: &SampleVars) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let args = vec![
            vars.vip.clone(),
            vars.interface.clone(),
            vars.hvrenv.clone(),
            vars.hub.clone(),
            vars.state_file.clone(),
        ];
        let threads = nodes
            .iter()
            .map(|(name, place)| {
                let stop = stop.clone();
                let place = place.clone();
                let args = args.clone();
                (
                    name.clone(),
                    std::thread::spawn(move || sample_node(&place, &args, &stop)),
                )
            })
            .collect();
        Sampler { stop, threads }
    }

    pub fn finish(self) -> Vec<(String, Vec<NodeSample>)> {
        self.stop.store(true, Ordering::SeqCst);
        self.threads
            .into_iter()
            .map(|(name, t)| (name, t.join().unwrap_or_default()))
            .collect()
    }
}

fn unreachable(t: f64) -> NodeSample {
    NodeSample {
        t,
        reachable: false,
        vip: false,
        scheduler: false,
        state: "unknown".into(),
    }
}

fn sample_node(place: &Place, args: &[String], stop: &AtomicBool) -> Vec<NodeSample> {
    let mut samples = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let Ok(shell) = Shell::spawn(place, SAMPLE, args) else {
            samples.push(unreachable(super::now()));
            std::thread::sleep(Duration::from_millis(300));
            continue;
        };
        loop {
            if stop.load(Ordering::SeqCst) {
                return samples;
            }
            match shell.recv(Duration::from_millis(1500)) {
                Ok((t, line)) => {
                    if let Some(s) = parse(t, &line) {
                        samples.push(s);
                    }
                }
                // No answer for 1.5 s, or the shell ended: the node is not
                // answering; say so, and start a new shell.
                Err(_) => {
                    samples.push(unreachable(super::now()));
                    break;
                }
            }
        }
        drop(shell);
        std::thread::sleep(Duration::from_millis(200));
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sample_lines() {
        let s = parse(5.0, "1 0 START").unwrap();
        assert!(s.vip && !s.scheduler && s.reachable && s.state == "START");
        assert!(parse(5.0, "garbage").is_none());
    }

    #[test]
    fn local_sampler_reports_lines() {
        // The script against the controller: no such VIP, no hvrenv.
        let vars = SampleVars {
            vip: "192.0.2.254".into(),
            interface: "lo".into(),
            hvrenv: "/nonexistent/hvrenv".into(),
            hub: "hub".into(),
            state_file: "/nonexistent/state".into(),
        };
        let sampler = Sampler::start(&[("me".into(), Place::Local)], &vars);
        std::thread::sleep(Duration::from_millis(600));
        let got = sampler.finish();
        let samples = &got[0].1;
        assert!(samples.len() >= 2, "{samples:?}");
        assert!(samples
            .iter()
            .all(|s| s.reachable && !s.vip && !s.scheduler && s.state == "none"));
    }
}
