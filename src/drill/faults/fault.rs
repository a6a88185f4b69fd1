//! The faults the matrix injects, how each is injected at a task boundary
//! and how it is cleared before the re-run. Injection goes through `baton
//! lab` (link, crash, boot, shell) and kill(2) on the run we started: no
//! fault logic lives in the modules or the transport.

use std::fmt;

use super::super::setup::LabHandle;
use super::{disk_full, slow};

/// The operation a case runs (one of baton's playbooks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Switchover,
    Failover,
    Recover,
}

impl Op {
    pub const ALL: [Op; 3] = [Op::Switchover, Op::Failover, Op::Recover];

    pub fn name(self) -> &'static str {
        match self {
            Op::Switchover => "switchover",
            Op::Failover => "failover",
            Op::Recover => "recover",
        }
    }

    /// A graceful path loses no acknowledged row; an abrupt one may lose
    /// only the phantom changes it reported.
    pub fn graceful(self) -> bool {
        self != Op::Failover
    }

    pub fn parse(word: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.name() == word)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One fault. "from" is the node that serves when the operation starts
/// (switchover: `from`; failover: the dead active node; recover: the
/// survivor it copies from); "to" is the node the operation acts on
/// (switchover: `to`; failover: the survivor; recover: the tainted node).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// SIGKILL of the `baton run` process.
    ControllerKill,
    /// SIGINT of the `baton run` process (it finishes its running task).
    ControllerInt,
    /// The from-node's eth0 down (`baton lab link NODE down`); up again after the run.
    FromLink,
    /// The to-node's eth0 down; up again after the run.
    ToLink,
    /// The simulator's scheduler SIGKILLed on the from-node (by its pid file).
    FromScheduler,
    /// The simulator's scheduler SIGKILLed on the to-node.
    ToScheduler,
    /// `baton lab crash` of the from-node; `baton lab boot` after the run.
    FromCrash,
    /// `baton lab crash` of the to-node; `baton lab boot` after the run.
    ToCrash,
    /// The nodes cannot reach each other (`baton lab partition on`: their
    /// bridge ports isolated, ARP included), the controller and the client
    /// reach both; healed after the run.
    Partition,
    /// HVR_CONFIG's filesystem full on the from-node (`disk_full`).
    FromDiskFull,
    /// HVR_CONFIG's filesystem full on the to-node.
    ToDiskFull,
    /// The from-node's processes frozen and thawed through cgroup v2
    /// `cgroup.freeze` (`slow`) until the run ends.
    FromSlow,
    /// The to-node's processes frozen and thawed.
    ToSlow,
    /// The from-node's link rate-limited: `tc tbf` on its eth0 (`SLOW_LINK`,
    /// what the node sends), removed after the run.
    FromSlowLink,
    /// The to-node's link rate-limited.
    ToSlowLink,
}

/// The slow link: a token bucket filter as the root qdisc of the node's
/// eth0 (tc-tbf(8)): 256 kbit/s, a 32 kbit (4 KB) bucket, packets that
/// would wait over 400 ms dropped. It shapes what the node sends (its SSH
/// answers to the controller, replication to its peer, its answers to the
/// client); what it receives is not shaped (that needs an ifb device or
/// netem, neither of which this kernel has).
pub const SLOW_LINK: &[&str] = &[
    "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", "256kbit", "burst", "32kbit",
    "latency", "400ms",
];

impl Fault {
    pub const ALL: [Fault; 15] = [
        Fault::ControllerKill,
        Fault::ControllerInt,
        Fault::FromLink,
        Fault::ToLink,
        Fault::FromScheduler,
        Fault::ToScheduler,
        Fault::FromCrash,
        Fault::ToCrash,
        Fault::Partition,
        Fault::FromDiskFull,
        Fault::ToDiskFull,
        Fault::FromSlow,
        Fault::ToSlow,
        Fault::FromSlowLink,
        Fault::ToSlowLink,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::ControllerKill => "controller-kill",
            Fault::ControllerInt => "controller-int",
            Fault::FromLink => "from-link",
            Fault::ToLink => "to-link",
            Fault::FromScheduler => "from-scheduler",
            Fault::ToScheduler => "to-scheduler",
            Fault::FromCrash => "from-crash",
            Fault::ToCrash => "to-crash",
            Fault::Partition => "partition",
            Fault::FromDiskFull => "from-disk-full",
            Fault::ToDiskFull => "to-disk-full",
            Fault::FromSlow => "from-slow",
            Fault::ToSlow => "to-slow",
            Fault::FromSlowLink => "from-slow-link",
            Fault::ToSlowLink => "to-slow-link",
        }
    }

    pub fn parse(word: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == word)
    }

    /// Whether the fault means anything for `op`: a failover starts with the
    /// from-node's scheduler dead and its link cut already (so the nodes are
    /// apart already, and its disk and speed do not matter).
    pub fn applies(self, op: Op) -> bool {
        !(op == Op::Failover
            && matches!(
                self,
                Fault::FromLink
                    | Fault::FromScheduler
                    | Fault::Partition
                    | Fault::FromDiskFull
                    | Fault::FromSlow
                    | Fault::FromSlowLink
            ))
    }

    /// The node the fault hits, given the operation's from and to nodes.
    fn node<'a>(self, from: &'a str, to: &'a str) -> Option<&'a str> {
        match self {
            Fault::FromLink
            | Fault::FromScheduler
            | Fault::FromCrash
            | Fault::FromDiskFull
            | Fault::FromSlow
            | Fault::FromSlowLink => Some(from),
            Fault::ToLink
            | Fault::ToScheduler
            | Fault::ToCrash
            | Fault::ToDiskFull
            | Fault::ToSlow
            | Fault::ToSlowLink => Some(to),
            Fault::ControllerKill | Fault::ControllerInt | Fault::Partition => None,
        }
    }

    /// Injects the fault; `run_pid` is the unreaped `baton run` child.
    /// Returns what was done, for the case's record.
    pub fn inject(
        self,
        lab: &LabHandle,
        from: &str,
        to: &str,
        run_pid: u32,
    ) -> Result<String, String> {
        let node = self.node(from, to).unwrap_or_default();
        match self {
            Fault::ControllerKill | Fault::ControllerInt => {
                let sig = if self == Fault::ControllerKill {
                    libc::SIGKILL
                } else {
                    libc::SIGINT
                };
                let pid = i32::try_from(run_pid).map_err(|_| format!("bad pid {run_pid}"))?;
                // SAFETY: kill(2) on our own child, not yet reaped (the
                // runner calls us before it waits for it).
                unsafe {
                    libc::kill(pid, sig);
                }
                Ok(format!("signal {sig} to baton run (pid {pid})"))
            }
            Fault::FromLink | Fault::ToLink => lab
                .lab(&["link", node, "down"], &[])
                .map(|_| format!("{node}: eth0 down")),
            Fault::FromScheduler | Fault::ToScheduler => {
                // The pid file the simulator's scheduler writes (and locks);
                // only a process of the lab's node, found inside it.
                let script = "f=/opt/hvr/hvr_config/files/hvrscheduler_hvrhub.pid; \
                    p=$(cat \"$f\" 2>/dev/null | tr -cd 0-9); \
                    if [ -n \"$p\" ] && kill -9 \"$p\" 2>/dev/null; then echo \"killed $p\"; \
                    else echo 'no scheduler running'; fi";
                lab.lab(&["shell", node], &["sh", "-c", script])
                    .map(|out| format!("{node}: scheduler {}", out.trim()))
            }
            Fault::FromCrash | Fault::ToCrash => lab
                .lab(&["crash", node], &[])
                .map(|_| format!("{node}: crashed")),
            Fault::Partition => lab
                .lab(&["partition", "on"], &[])
                .map(|out| out.trim().to_string()),
            // Frozen: a write the run makes on the node between the copy
            // onto the tmpfs and its mount would land on the disk, hidden
            // under the tmpfs' older copy (fault matrix, switchover x
            // from-disk-full at k = 75, 2026-12-01).
            Fault::FromDiskFull | Fault::ToDiskFull => slow::while_frozen(lab, node, || {
                lab.lab(&["shell", node], &["sh", "-c", disk_full::FILL])
            })
            .map(|out| format!("{node}: {}", out.trim())),
            Fault::FromSlow | Fault::ToSlow => slow::start(lab, node),
            Fault::FromSlowLink | Fault::ToSlowLink => lab
                .lab(&["shell", node], SLOW_LINK)
                .and_then(|_| lab.lab(&["shell", node], &["tc", "qdisc", "show", "dev", "eth0"]))
                .and_then(|shown| {
                    // tc printed its qdisc: the limit is in place, or the
                    // case says it was not.
                    if shown.contains("tbf") {
                        Ok(format!("{node}: eth0 rate-limited ({})", shown.trim()))
                    } else {
                        Err(format!("{node}: tc shows no tbf on eth0: {}", shown.trim()))
                    }
                }),
        }
    }

    /// Clears the fault after the run ended: the link up again. A killed
    /// scheduler or controller stays as it is (the re-run must cope).
    /// Returns the crashed node the caller must boot (`baton lab boot`,
    /// then wait for its boot script's decision), if any.
    pub fn clear(self, lab: &LabHandle, from: &str, to: &str) -> Result<Option<String>, String> {
        let node = self.node(from, to).unwrap_or_default();
        match self {
            Fault::FromLink | Fault::ToLink => {
                lab.lab(&["link", node, "up"], &[])?;
                Ok(None)
            }
            Fault::FromCrash | Fault::ToCrash => Ok(Some(node.to_string())),
            Fault::Partition => {
                lab.lab(&["partition", "off"], &[])?;
                Ok(None)
            }
            Fault::FromDiskFull | Fault::ToDiskFull => {
                // Frozen: nothing of the node writes between the copy back
                // and the unmount, where it would be lost.
                slow::while_frozen(lab, node, || {
                    lab.lab(&["shell", node], &["sh", "-c", disk_full::CLEAR])
                })?;
                Ok(None)
            }
            Fault::FromSlow | Fault::ToSlow => {
                slow::stop(lab, node)?;
                Ok(None)
            }
            Fault::FromSlowLink | Fault::ToSlowLink => {
                lab.lab(
                    &["shell", node],
                    &["tc", "qdisc", "del", "dev", "eth0", "root"],
                )?;
                Ok(None)
            }
            _ => Ok(None),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_failover_skips_the_dead_nodes_faults() {
        for f in Fault::ALL {
            assert_eq!(Fault::parse(f.name()), Some(f));
        }
        for o in Op::ALL {
            assert_eq!(Op::parse(o.name()), Some(o));
        }
        assert!(!Fault::FromLink.applies(Op::Failover));
        assert!(Fault::FromCrash.applies(Op::Failover));
        assert!(Fault::FromLink.applies(Op::Switchover));
        assert!(!Fault::FromSlowLink.applies(Op::Failover));
        assert!(Fault::ToSlowLink.applies(Op::Failover));
        assert_eq!(Fault::FromSlowLink.node("bc1", "bc2"), Some("bc1"));
        assert_eq!(Fault::ToCrash.node("bc1", "bc2"), Some("bc2"));
        assert_eq!(Fault::ControllerKill.node("bc1", "bc2"), None);
    }
}
