//! The drill's phases, the order they may come in, and the rules that refuse
//! a drill before anything runs.
//!
//! A scenario is a comma list of phases. Each phase moves the service (or
//! repairs the node an abrupt failure left behind), so the order matters:
//! `abrupt` leaves the old active node tainted, and only `recover` may follow
//! it; `recover` needs an `abrupt` before it. `switchback` returns the service
//! to the node that held it before the last move (the primary site after a
//! failover, as DR runbooks use the word).

use std::fmt;

/// One phase of a drill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseKind {
    /// `switchover` from the active node to the standby, while the client writes.
    Graceful,
    /// The active node dies (lab: scheduler SIGKILLed, link cut; both: fenced by
    /// `hvr_fence_command`), then `failover` to the standby.
    Abrupt,
    /// `recover` of the node an abrupt phase left tainted (lab: booted first).
    Recover,
    /// `switchover` back to the node that was active before the last move.
    Switchback,
    /// A prepared (rapid) switchover to the standby: `switchover_mode=prepare`
    /// with warm SSH masters, then `switchover -e plan=FILE`; measured beside
    /// `graceful` (the cold one).
    Rapid,
}

impl PhaseKind {
    pub fn name(self) -> &'static str {
        match self {
            PhaseKind::Graceful => "graceful",
            PhaseKind::Abrupt => "abrupt",
            PhaseKind::Recover => "recover",
            PhaseKind::Switchback => "switchback",
            PhaseKind::Rapid => "rapid",
        }
    }

    fn parse(word: &str) -> Option<PhaseKind> {
        match word {
            "graceful" => Some(PhaseKind::Graceful),
            "abrupt" => Some(PhaseKind::Abrupt),
            "recover" => Some(PhaseKind::Recover),
            "switchback" => Some(PhaseKind::Switchback),
            "rapid" => Some(PhaseKind::Rapid),
            _ => None,
        }
    }
}

impl fmt::Display for PhaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub const DEFAULT_SCENARIO: &str = "graceful,abrupt,recover,switchback";

/// Parses and checks a `--scenario` list: known names, and an order each
/// phase can start from. Errors say which word and what to do.
pub fn parse(text: &str) -> Result<Vec<PhaseKind>, String> {
    let mut phases = Vec::new();
    for word in text.split(',').map(str::trim) {
        let kind = PhaseKind::parse(word).ok_or_else(|| {
            format!(
                "--scenario: unknown phase `{word}`; choose from graceful, rapid, abrupt, recover, switchback (comma-separated)"
            )
        })?;
        phases.push(kind);
    }
    let mut tainted = false;
    let mut moved = false;
    for (i, kind) in phases.iter().enumerate() {
        let n = i + 1;
        match kind {
            PhaseKind::Recover if !tainted => {
                return Err(format!(
                    "--scenario: phase {n} `recover` has no abrupt phase before it to recover from; put `abrupt` first"
                ))
            }
            PhaseKind::Recover => tainted = false,
            _ if tainted => {
                return Err(format!(
                    "--scenario: phase {n} `{kind}` follows an abrupt failure, but the failed node is tainted until `recover`; put `recover` after `abrupt`"
                ))
            }
            PhaseKind::Abrupt => {
                tainted = true;
                moved = true;
            }
            PhaseKind::Switchback if !moved => {
                return Err(format!(
                    "--scenario: phase {n} `switchback` has nothing to switch back from; put `graceful` or `abrupt,recover` before it"
                ))
            }
            PhaseKind::Graceful | PhaseKind::Switchback | PhaseKind::Rapid => moved = true,
        }
    }
    if phases.is_empty() {
        return Err("--scenario: no phase given".into());
    }
    Ok(phases)
}

/// `--rapid-compare N`: cold and prepared switchovers side by side, N of
/// each, alternating (`graceful,rapid,graceful,rapid,...`): each moves the
/// service, so they alternate direction too, and every cold run meets the
/// same load as the prepared run after it. N is 1 to 50.
pub fn rapid_compare(n: u32) -> Result<Vec<PhaseKind>, String> {
    if !(1..=50).contains(&n) {
        return Err(format!(
            "--rapid-compare: {n} runs of each; give 1 to 50 (5 gives a median of 5)"
        ));
    }
    Ok((0..n)
        .flat_map(|_| [PhaseKind::Graceful, PhaseKind::Rapid])
        .collect())
}

/// What a drill against a real inventory must have before anything runs.
#[derive(Debug, Default)]
pub struct RealTarget<'a> {
    pub allow_abrupt: bool,
    /// `hvr_fence_command`, from the inventory or `-e`.
    pub fence_command: Option<&'a str>,
    /// `drill_probe_host`: an inventory host, or `localhost` for the controller.
    pub probe_host: Option<&'a str>,
    pub probe_write_cmd: Option<&'a str>,
    pub probe_read_cmd: Option<&'a str>,
    /// Whether `drill_probe_host` names a host of the inventory.
    pub probe_host_known: bool,
}

/// The refusal rules for `baton drill -i INV`: every missing piece is listed,
/// so one attempt shows all that must be set.
pub fn check_real(phases: &[PhaseKind], target: &RealTarget<'_>) -> Result<(), String> {
    let mut missing = Vec::new();
    if phases.contains(&PhaseKind::Abrupt) {
        if !target.allow_abrupt {
            missing.push(
                "the scenario has an abrupt phase, which fences (powers off) the active node: pass --allow-abrupt to confirm".to_string(),
            );
        }
        if target.fence_command.is_none_or(|c| c.trim().is_empty()) {
            missing.push(
                "the abrupt phase needs hvr_fence_command (an inventory var or -e) to fence the active node before failover".to_string(),
            );
        }
    }
    match target.probe_host {
        None => missing.push(
            "drill_probe_host is not set: name the inventory host (a client machine that reaches the VIP) that runs the client probe, or `localhost`".to_string(),
        ),
        Some(h) if h != "localhost" && !target.probe_host_known => missing.push(format!(
            "drill_probe_host `{h}` is not a host of the inventory; add it, or name `localhost`"
        )),
        Some(_) => {}
    }
    for (name, value) in [
        ("drill_probe_write_cmd", target.probe_write_cmd),
        ("drill_probe_read_cmd", target.probe_read_cmd),
    ] {
        if value.is_none_or(|c| c.trim().is_empty()) {
            missing.push(format!(
                "{name} is not set: a shell command run on the probe host with $DRILL_KEY and $DRILL_VALUE set (see docs/drill.md)"
            ));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "baton drill: refusing to start; nothing has run:\n  - {}",
            missing.join("\n  - ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scenario_is_valid() {
        let phases = parse(DEFAULT_SCENARIO).unwrap();
        assert_eq!(
            phases,
            [
                PhaseKind::Graceful,
                PhaseKind::Abrupt,
                PhaseKind::Recover,
                PhaseKind::Switchback
            ]
        );
    }

    #[test]
    fn rapid_is_a_move_like_graceful() {
        assert_eq!(
            parse("graceful,rapid").unwrap(),
            [PhaseKind::Graceful, PhaseKind::Rapid]
        );
        assert!(parse("rapid,switchback").is_ok());
        assert!(parse("abrupt,rapid")
            .unwrap_err()
            .contains("put `recover` after `abrupt`"));
        assert!(parse("fast").unwrap_err().contains("graceful, rapid,"));
    }

    #[test]
    fn order_rules() {
        assert!(parse("graceful").is_ok());
        assert!(parse("abrupt,recover,switchback").is_ok());
        assert!(parse("graceful,switchback,graceful").is_ok());
        assert!(parse("recover").unwrap_err().contains("no abrupt phase"));
        assert!(parse("abrupt,graceful")
            .unwrap_err()
            .contains("put `recover` after `abrupt`"));
        assert!(parse("switchback")
            .unwrap_err()
            .contains("nothing to switch back"));
        assert!(parse("graceful,sideways")
            .unwrap_err()
            .contains("`sideways`"));
    }

    fn full<'a>() -> RealTarget<'a> {
        RealTarget {
            allow_abrupt: true,
            fence_command: Some("ipmitool power off"),
            probe_host: Some("client1"),
            probe_write_cmd: Some("w"),
            probe_read_cmd: Some("r"),
            probe_host_known: true,
        }
    }

    #[test]
    fn abrupt_needs_both_flag_and_fence_command() {
        let abrupt = parse("abrupt,recover").unwrap();
        assert!(check_real(&abrupt, &full()).is_ok());
        let no_flag = RealTarget {
            allow_abrupt: false,
            ..full()
        };
        let err = check_real(&abrupt, &no_flag).unwrap_err();
        assert!(
            err.contains("--allow-abrupt") && !err.contains("hvr_fence_command"),
            "{err}"
        );
        let no_fence = RealTarget {
            fence_command: Some("  "),
            ..full()
        };
        let err = check_real(&abrupt, &no_fence).unwrap_err();
        assert!(
            err.contains("hvr_fence_command") && !err.contains("--allow-abrupt"),
            "{err}"
        );
        // A graceful-only drill needs neither.
        let graceful = parse("graceful").unwrap();
        let neither = RealTarget {
            allow_abrupt: false,
            fence_command: None,
            ..full()
        };
        assert!(check_real(&graceful, &neither).is_ok());
    }

    #[test]
    fn probe_vars_are_required_and_all_listed() {
        let graceful = parse("graceful").unwrap();
        let err = check_real(&graceful, &RealTarget::default()).unwrap_err();
        for needed in [
            "drill_probe_host",
            "drill_probe_write_cmd",
            "drill_probe_read_cmd",
        ] {
            assert!(err.contains(needed), "{err}");
        }
        let unknown = RealTarget {
            probe_host_known: false,
            ..full()
        };
        assert!(check_real(&graceful, &unknown)
            .unwrap_err()
            .contains("not a host of the inventory"));
        let local = RealTarget {
            probe_host: Some("localhost"),
            probe_host_known: false,
            ..full()
        };
        assert!(check_real(&graceful, &local).is_ok());
    }

    #[test]
    fn rapid_compare_alternates_cold_and_prepared() {
        use PhaseKind::{Graceful, Rapid};
        assert_eq!(
            rapid_compare(2).unwrap(),
            vec![Graceful, Rapid, Graceful, Rapid]
        );
        assert!(rapid_compare(0).unwrap_err().contains("1 to 50"));
        assert!(rapid_compare(51).is_err());
    }
}
