//! Which hosts run together and in what order: `order:`, `serial` batches,
//! and the rules that stop a play after a batch (no hosts left,
//! `max_fail_percentage`). Source: Ansible's "Controlling playbook
//! execution: strategies and more" (serial, order, max_fail_percentage).

use crate::load::play::{HostOrder, Play, Serial};
use crate::report::controls::shown_name;

use super::state::RunState;

/// Put a play's hosts in its `order:`.
pub fn order_hosts(hosts: &mut [String], order: HostOrder) {
    match order {
        HostOrder::Inventory => {}
        HostOrder::ReverseInventory => hosts.reverse(),
        HostOrder::Sorted => hosts.sort(),
        HostOrder::ReverseSorted => {
            hosts.sort();
            hosts.reverse();
        }
        HostOrder::Shuffle => {
            // A cheap shuffle is enough: order only has to be unpredictable, not secure.
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos() as usize);
            for i in (1..hosts.len()).rev() {
                let j = (seed.wrapping_mul(2654435761).wrapping_add(i * 40503)) % (i + 1);
                hosts.swap(i, j);
            }
        }
    }
}

/// Split hosts into `serial` batches; the last step repeats, as in Ansible.
pub fn batches(hosts: &[String], serial: &[Serial]) -> Vec<Vec<String>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut i = 0;
    while !rest.is_empty() {
        let step = serial[i.min(serial.len() - 1)];
        let size = match step {
            Serial::Count(n) => n,
            Serial::Percent(p) => ((hosts.len() as f64 * p / 100.0).floor() as usize).max(1),
        }
        .min(rest.len());
        out.push(rest[..size].to_vec());
        rest = &rest[size..];
        i += 1;
    }
    out
}

/// After a batch, as Ansible ("NO MORE HOSTS LEFT"): when every host of a
/// batch failed, the run ends; later batches and plays do not start.
pub fn no_hosts_left(play: &Play, batch: &[String], state: &RunState) -> Option<String> {
    if batch.iter().all(|h| state.has_left(h)) {
        return Some(format!(
            "every host of play `{}` ({}) failed or was unreachable: no hosts left, so the run stopped; later plays were not started",
            shown_name(&play.name),
            batch.join(", ")
        ));
    }
    None
}

/// After a batch: when more than `max_fail_percentage` of it failed, later
/// batches do not start.
pub fn over_max_fail(play: &Play, batch: &[String], state: &RunState) -> Option<String> {
    let pct = play.max_fail_percentage?;
    let failed = batch.iter().filter(|h| state.has_left(h)).count();
    let ratio = 100.0 * failed as f64 / batch.len().max(1) as f64;
    (ratio > pct).then(|| {
        format!(
            "play `{}` stopped: {failed} of {} hosts in the batch failed ({ratio:.0}% > max_fail_percentage {pct}%); later batches were not started",
            shown_name(&play.name),
            batch.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("h{i}")).collect()
    }

    #[test]
    fn serial_batches() {
        assert_eq!(batches(&hosts(3), &[]).len(), 1);
        let b = batches(&hosts(5), &[Serial::Count(1), Serial::Count(2)]);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 2, 2]);
        let b = batches(&hosts(4), &[Serial::Percent(50.0)]);
        assert_eq!(
            b,
            vec![
                vec!["h1".to_string(), "h2".into()],
                vec!["h3".into(), "h4".into()]
            ]
        );
        let b = batches(&hosts(3), &[Serial::Percent(10.0)]);
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn orders() {
        let mut h = vec!["b".to_string(), "c".into(), "a".into()];
        order_hosts(&mut h, HostOrder::Sorted);
        assert_eq!(h, ["a", "b", "c"]);
        order_hosts(&mut h, HostOrder::ReverseInventory);
        assert_eq!(h, ["c", "b", "a"]);
        order_hosts(&mut h, HostOrder::Shuffle);
        h.sort();
        assert_eq!(h, ["a", "b", "c"]);
    }
}
