//! The VIP watcher: every 20 ms on each node (inside its namespaces, so a
//! node whose link is cut is still seen), whether it holds the VIP on eth0
//! (`ip -4 -o addr`) and whether eth0 is up (`ip -o link`). A node holds
//! the VIP *live* when both are true: only then can it answer ARP for it.
//! A crashed node's shell fails: it answers nothing.
//!
//! And from the client (`ArpWatch`): which MACs answer ARP for the VIP,
//! about once a second (arping, two probes, 1 s deadline): two MACs in one
//! round are two nodes answering the VIP, whatever `ip addr` says.

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

/// `$1` VIP. From the client: every round, `arping -c 2 -w 1` to the VIP
/// on the interface its route uses, printed as one line: the exit code,
/// then arping's output with its lines joined by `|`. Two probes, a 1 s
/// deadline: one holder answers each probe (one reply in the window, the
/// second probe is sent as the deadline ends); two holders both answer the
/// first broadcast and arping stops at its count at once. About one round
/// a second: each broadcast reaches every node, so not every 20 ms.
const ARP_SCRIPT: &str = r#"
dev=$(ip -o route get "$1" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p')
while :; do
  out=$(arping -c 2 -w 1 -I "${dev:-eth0}" "$1" 2>&1); rc=$?
  printf '%s %s\n' "$rc" "$(printf '%s\n' "$out" | tr '\n' '|')" || exit 0
  sleep 0.05
done
"#;

/// One round of the client's ARP check: when it ended, the distinct MACs
/// that answered ARP for the VIP, or `None` when arping's output had no
/// `Received N response(s)` line (it could not tell; `said` quotes it).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ArpSample {
    pub t: f64,
    pub macs: Option<Vec<String>>,
    pub said: String,
}

/// The distinct MACs of arping's (iputils) `Unicast reply from IP [MAC]`
/// lines, upper case, sorted; `None` without its `Received N response(s)`
/// summary (cut, or another tool's output): unknown, never "nobody".
pub fn arp_macs(output: &str) -> Option<Vec<String>> {
    let mut summary = false;
    let mut macs = std::collections::BTreeSet::new();
    for line in output.split(['|', '\n']) {
        let line = line.trim();
        if line.starts_with("Received ") && line.ends_with("response(s)") {
            summary = true;
        }
        let Some(rest) = line.strip_prefix("Unicast reply from ") else {
            continue;
        };
        let (Some(open), Some(close)) = (rest.find('['), rest.find(']')) else {
            return None;
        };
        let mac = rest.get(open + 1..close)?;
        let ok = mac.len() == 17
            && mac
                .split(':')
                .all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()));
        if !ok {
            return None;
        }
        macs.insert(mac.to_ascii_uppercase());
    }
    summary.then(|| macs.into_iter().collect())
}

/// The client's ARP check of the VIP, running until `finish`.
pub struct ArpWatch {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<ArpSample>>,
}

impl ArpWatch {
    pub fn start(client: &Place, vip: &str) -> ArpWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, place, vip) = (stop.clone(), client.clone(), vip.to_string());
            std::thread::spawn(move || watch_arp(&place, &vip, &stop))
        };
        ArpWatch { stop, thread }
    }

    pub fn finish(self) -> Vec<ArpSample> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}

fn watch_arp(place: &Place, vip: &str, stop: &AtomicBool) -> Vec<ArpSample> {
    let mut samples = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let Ok(shell) = Shell::spawn(place, ARP_SCRIPT, &[vip.to_string()]) else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        while !stop.load(Ordering::SeqCst) {
            match shell.recv(Duration::from_millis(3000)) {
                Ok((t, line)) => {
                    let said = line.split_once(' ').map_or("", |(_, o)| o).to_string();
                    samples.push(ArpSample {
                        t,
                        macs: arp_macs(&said),
                        said,
                    });
                }
                Err(_) => break,
            }
        }
        drop(shell);
        if !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    samples
}

/// The rounds in which more than one MAC answered ARP for the VIP: (end
/// of the round, the MACs). Each is two nodes answering the VIP.
pub fn arp_split_brain(samples: &[ArpSample]) -> Vec<(f64, Vec<String>)> {
    samples
        .iter()
        .filter_map(|s| match &s.macs {
            Some(m) if m.len() > 1 => Some((s.t, m.clone())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arping_replies_give_the_distinct_macs_and_a_cut_output_is_unknown() {
        let one = "ARPING 10.81.0.254 from 10.81.0.5 eth0|Unicast reply from 10.81.0.254 [66:A0:1F:D2:E0:B0]  0.557ms|Sent 2 probes (1 broadcast(s))|Received 1 response(s)|";
        assert_eq!(arp_macs(one), Some(vec!["66:A0:1F:D2:E0:B0".to_string()]));
        let two = "ARPING 10.81.0.254 from 10.81.0.5 eth0|Unicast reply from 10.81.0.254 [66:a0:1f:d2:e0:b0]  0.5ms|Unicast reply from 10.81.0.254 [AA:BB:CC:DD:EE:01]  0.6ms|Unicast reply from 10.81.0.254 [66:A0:1F:D2:E0:B0]  0.5ms|Sent 1 probes (1 broadcast(s))|Received 3 response(s)|";
        assert_eq!(
            arp_macs(two),
            Some(vec![
                "66:A0:1F:D2:E0:B0".to_string(),
                "AA:BB:CC:DD:EE:01".to_string()
            ])
        );
        let none = "ARPING 10.81.0.253 from 10.81.0.5 eth0|Sent 2 probes (2 broadcast(s))|Received 0 response(s)|";
        assert_eq!(arp_macs(none), Some(vec![]));
        // Cut before the summary, garbled MAC, another tool: unknown.
        for bad in [
            &one[..one.find("Sent").unwrap()],
            "Unicast reply from 10.81.0.254 [66:A0:1F:D2:E0]  0.5ms|Received 1 response(s)",
            "arping: socket: Operation not permitted|",
            "",
        ] {
            assert_eq!(arp_macs(bad), None, "{bad:?}");
        }
        let samples: Vec<ArpSample> = [one, two, none, ""]
            .iter()
            .enumerate()
            .map(|(i, said)| ArpSample {
                t: i as f64,
                macs: arp_macs(said),
                said: said.to_string(),
            })
            .collect();
        let spans = arp_split_brain(&samples);
        assert_eq!(spans.len(), 1, "{spans:?}");
        assert_eq!(spans[0].0, 1.0);
    }

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
