//! The VIP watcher: every 20 ms on each node (inside its namespaces, so a
//! node whose link is cut is still seen), whether it holds the VIP on eth0
//! (`ip -4 -o addr`) and whether eth0 is up (`ip -o link`). A node holds
//! the VIP *live* when both are true: only then can it answer ARP for it.
//! A crashed node's shell fails: it answers nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::super::shell::{Place, Shell};

/// `$1` VIP. One line `VIP LINK` (1/0 each) every 20 ms.
const SCRIPT: &str = r#"
while :; do
  v=0; ip -4 -o addr show dev eth0 2>/dev/null | grep -q " $1/" && v=1
  u=0; ip -o link show dev eth0 2>/dev/null | grep -q 'state UP' && u=1
  echo "$v $u" || exit 0
  sleep 0.02
done
"#;

/// One sample of one node, timestamped on the controller.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct VipSample {
    pub t: f64,
    pub vip: bool,
    pub link_up: bool,
}

impl VipSample {
    fn live(&self) -> bool {
        self.vip && self.link_up
    }
}

pub struct Watch {
    stop: Arc<AtomicBool>,
    threads: Vec<(String, JoinHandle<Vec<VipSample>>)>,
}

impl Watch {
    pub fn start(nodes: &[(String, Place)], vip: &str) -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = nodes
            .iter()
            .map(|(name, place)| {
                let (stop, place, vip) = (stop.clone(), place.clone(), vip.to_string());
                (
                    name.clone(),
                    std::thread::spawn(move || watch_node(&place, &vip, &stop)),
                )
            })
            .collect();
        Watch { stop, threads }
    }

    pub fn finish(self) -> Vec<(String, Vec<VipSample>)> {
        self.stop.store(true, Ordering::SeqCst);
        self.threads
            .into_iter()
            .map(|(n, t)| (n, t.join().unwrap_or_default()))
            .collect()
    }
}

fn watch_node(place: &Place, vip: &str, stop: &AtomicBool) -> Vec<VipSample> {
    let mut samples = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let Ok(shell) = Shell::spawn(place, SCRIPT, &[vip.to_string()]) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        while !stop.load(Ordering::SeqCst) {
            match shell.recv(Duration::from_millis(1000)) {
                Ok((t, line)) => {
                    let mut w = line.split_whitespace();
                    if let (Some(v), Some(u)) = (w.next(), w.next()) {
                        samples.push(VipSample {
                            t,
                            vip: v == "1",
                            link_up: u == "1",
                        });
                    }
                }
                Err(_) => break,
            }
        }
        drop(shell);
        if !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    samples
}

/// A sample older than this says nothing about now (a stalled shell, a
/// crashed node): it is not counted as holding.
const FRESH: f64 = 0.5;

/// Spans when two nodes held the VIP live at once: (start, end, nodes),
/// epoch seconds. At every sample time, each node's latest fresh sample
/// counts.
pub fn split_brain(nodes: &[(String, Vec<VipSample>)]) -> Vec<(f64, f64, Vec<String>)> {
    let mut times: Vec<f64> = nodes
        .iter()
        .flat_map(|(_, s)| s.iter().map(|x| x.t))
        .collect();
    times.sort_by(f64::total_cmp);
    let mut idx = vec![0usize; nodes.len()];
    let mut spans: Vec<(f64, f64, Vec<String>)> = Vec::new();
    let mut open: Option<(f64, Vec<String>)> = None;
    for &t in &times {
        let mut live = Vec::new();
        for (i, (name, s)) in nodes.iter().enumerate() {
            while idx[i] + 1 < s.len() && s[idx[i] + 1].t <= t {
                idx[i] += 1;
            }
            if let Some(x) = s.get(idx[i]) {
                if x.t <= t && t - x.t <= FRESH && x.live() {
                    live.push(name.clone());
                }
            }
        }
        match (&mut open, live.len() > 1) {
            (None, true) => open = Some((t, live)),
            (Some((start, names)), false) => {
                spans.push((*start, t, std::mem::take(names)));
                open = None;
            }
            _ => {}
        }
    }
    if let Some((start, names)) = open {
        spans.push((start, times.last().copied().unwrap_or(start), names));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: f64, vip: bool, link_up: bool) -> VipSample {
        VipSample { t, vip, link_up }
    }

    #[test]
    fn a_handover_is_not_split_brain() {
        let a = vec![
            s(0.0, true, true),
            s(0.02, true, true),
            s(0.04, false, true),
        ];
        let b = vec![
            s(0.01, false, true),
            s(0.05, true, true),
            s(0.07, true, true),
        ];
        assert!(split_brain(&[("bc1".into(), a), ("bc2".into(), b)]).is_empty());
    }

    #[test]
    fn both_live_is_split_brain_but_a_cut_link_or_stale_sample_is_not() {
        let a = vec![s(0.0, true, true), s(0.1, true, true), s(0.2, false, true)];
        let b = vec![s(0.05, true, true), s(0.3, true, true)];
        let spans = split_brain(&[("bc1".into(), a), ("bc2".into(), b)]);
        assert_eq!(spans.len(), 1, "{spans:?}");
        assert!((spans[0].0 - 0.05).abs() < 1e-9 && (spans[0].1 - 0.2).abs() < 1e-9);
        assert_eq!(spans[0].2, ["bc1", "bc2"]);
        // The old holder's link is down: it cannot answer.
        let a = vec![s(0.0, true, false), s(0.1, true, false)];
        let b = vec![s(0.05, true, true)];
        assert!(split_brain(&[("bc1".into(), a), ("bc2".into(), b)]).is_empty());
        // A node last seen holding 2 s ago (crashed since) is not counted.
        let a = vec![s(0.0, true, true)];
        let b = vec![s(2.0, true, true), s(2.1, true, true)];
        assert!(split_brain(&[("bc1".into(), a), ("bc2".into(), b)]).is_empty());
    }
}
