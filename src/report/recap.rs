//! The PLAY RECAP block: per-host counters, the slowest tasks, total time.

use std::time::Duration;

use super::controls::{pad_end, pad_start, shown_name};
use super::style::{Color, Style};
use super::{HostStats, Recap, TaskTiming};

/// How many of the slowest tasks the recap lists.
pub const SLOWEST_SHOWN: usize = 5;

/// A duration for people: milliseconds below one second, then seconds, then
/// minutes, so the unit never needs a second look.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let secs = d.as_secs();
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

/// Milliseconds with microsecond precision, as written in JSON.
pub fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// `file:line` of an origin written as `file:line:col`.
pub fn file_line(origin: &str) -> &str {
    match origin.rsplit_once(':') {
        Some((head, col))
            if !col.is_empty()
                && col.bytes().all(|b| b.is_ascii_digit())
                && head
                    .rsplit_once(':')
                    .is_some_and(|(_, line)| line.bytes().all(|b| b.is_ascii_digit())) =>
        {
            head
        }
        _ => origin,
    }
}

fn host_color(stats: &HostStats) -> Color {
    if stats.failed > 0 || stats.unreachable > 0 {
        Color::Red
    } else if stats.changed > 0 {
        Color::Yellow
    } else {
        Color::Green
    }
}

/// The counters in Ansible's order and spelling, so existing log parsers work.
fn counters(stats: &HostStats) -> [(&'static str, u32, Color); 7] {
    [
        ("ok", stats.ok, Color::Green),
        ("changed", stats.changed, Color::Yellow),
        ("unreachable", stats.unreachable, Color::Red),
        ("failed", stats.failed, Color::Red),
        ("skipped", stats.skipped, Color::Cyan),
        ("rescued", stats.rescued, Color::Magenta),
        ("ignored", stats.ignored, Color::Magenta),
    ]
}

/// One aligned line per host: `bc1 : ok=3    changed=1    unreachable=0 ...`.
pub fn host_lines(recap: &Recap, style: Style) -> Vec<String> {
    let name_width = recap
        .hosts
        .keys()
        .map(|h| shown_name(h).chars().count())
        .max()
        .unwrap_or(0);
    let value_width = recap
        .hosts
        .values()
        .flat_map(|s| counters(s).map(|(_, v, _)| v.to_string().len()))
        .max()
        .unwrap_or(1);
    recap
        .hosts
        .iter()
        .map(|(host, stats)| {
            let padded = pad_end(&shown_name(host), name_width);
            let mut line = format!("{} :", style.paint(host_color(stats), &padded));
            for (key, value, color) in counters(stats) {
                let cell = format!("{key}={}", pad_end(&value.to_string(), value_width));
                let cell = if value > 0 {
                    style.paint(color, &cell)
                } else {
                    cell
                };
                line.push(' ');
                line.push_str(&cell);
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// The slowest tasks, slowest first, with their time in milliseconds.
pub fn slowest_lines(slowest: &[TaskTiming]) -> Vec<String> {
    let mut sorted: Vec<&TaskTiming> = slowest.iter().collect();
    sorted.sort_by_key(|t| std::cmp::Reverse(t.elapsed));
    sorted.truncate(SLOWEST_SHOWN);
    let ms: Vec<String> = sorted
        .iter()
        .map(|t| t.elapsed.as_millis().to_string())
        .collect();
    let ms_width = ms.iter().map(String::len).max().unwrap_or(0);
    let name_width = sorted
        .iter()
        .map(|t| timed_name(t).chars().count())
        .max()
        .unwrap_or(0);
    sorted
        .iter()
        .zip(ms)
        .map(|(t, ms)| {
            let ms = pad_start(&ms, ms_width);
            let task = timed_name(t);
            let line = if t.origin.is_empty() {
                format!("  {ms} ms  {task}")
            } else {
                format!(
                    "  {ms} ms  {}  {}",
                    pad_end(&task, name_width),
                    file_line(&t.origin)
                )
            };
            line.trim_end().to_string()
        })
        .collect()
}

/// The task's shown name, with the host it timed under `free`.
fn timed_name(t: &TaskTiming) -> String {
    match &t.host {
        Some(host) => format!("{} on {}", shown_name(&t.task), shown_name(host)),
        None => shown_name(&t.task).to_string(),
    }
}

/// Connection set-up apart from task time, when any connection was opened
/// before a first task: `Connecting: 412 ms for 20 hosts (slowest bc7
/// 388 ms, 1 unreachable); tasks: 2.1 s`.
pub fn connect_line(recap: &Recap) -> Option<String> {
    let c = &recap.connect;
    if c.hosts == 0 {
        return None;
    }
    let mut notes = Vec::new();
    if let Some((host, d)) = &c.slowest {
        notes.push(format!(
            "slowest {} {}",
            shown_name(host),
            human_duration(*d)
        ));
    }
    if c.failed > 0 {
        notes.push(format!("{} unreachable", c.failed));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join(", "))
    };
    let hosts = if c.hosts == 1 { "host" } else { "hosts" };
    Some(format!(
        "Connecting: {} for {} {hosts}{notes}; tasks: {}",
        human_duration(c.elapsed),
        c.hosts,
        human_duration(recap.elapsed.saturating_sub(c.elapsed))
    ))
}

/// The whole recap block, ready to print line by line.
pub fn recap_block(recap: &Recap, style: Style, check_mode: bool) -> Vec<String> {
    let mut lines = vec![String::new()];
    let title = if check_mode {
        "PLAY RECAP (check mode: nothing was changed; \"changed\" counts what would change)"
    } else {
        "PLAY RECAP"
    };
    lines.push(style.bold(title));
    if recap.hosts.is_empty() {
        lines.push("no host ran any task".to_string());
    }
    lines.extend(host_lines(recap, style));
    if !recap.slowest.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Slowest tasks (top {}):",
            recap.slowest.len().min(SLOWEST_SHOWN)
        ));
        lines.extend(slowest_lines(&recap.slowest));
    }
    lines.push(String::new());
    if let Some(line) = connect_line(recap) {
        lines.push(line);
    }
    // The exact figure only where the rounded one hides it.
    let elapsed = human_duration(recap.elapsed);
    lines.push(if recap.elapsed.as_millis() < 1000 {
        format!("Total elapsed: {elapsed}")
    } else {
        format!(
            "Total elapsed: {elapsed} ({} ms)",
            recap.elapsed.as_millis()
        )
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ConnectTiming;

    fn stats(ok: u32, changed: u32, failed: u32) -> HostStats {
        HostStats {
            ok,
            changed,
            failed,
            ..HostStats::default()
        }
    }

    fn timing(task: &str, ms: u64) -> TaskTiming {
        TaskTiming {
            task: task.to_string(),
            origin: format!("play.yml:{ms}:5"),
            host: None,
            elapsed: Duration::from_millis(ms),
        }
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(human_duration(Duration::from_micros(12_400)), "12 ms");
        assert_eq!(human_duration(Duration::from_millis(999)), "999 ms");
        assert_eq!(human_duration(Duration::from_millis(1250)), "1.2 s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m 05s");
        assert_eq!(millis(Duration::from_micros(12_345)), 12.345);
    }

    #[test]
    fn origin_loses_only_a_numeric_column() {
        assert_eq!(file_line("play.yml:12:5"), "play.yml:12");
        assert_eq!(file_line("play.yml:12"), "play.yml:12");
        assert_eq!(file_line("C:x.yml"), "C:x.yml");
        assert_eq!(file_line(""), "");
    }

    #[test]
    fn host_lines_are_aligned_and_in_ansible_order() {
        let mut recap = Recap::default();
        recap.hosts.insert("bc1".into(), stats(12, 3, 0));
        recap.hosts.insert("bc-long".into(), stats(2, 0, 1));
        let lines = host_lines(&recap, Style::new(false));
        assert_eq!(
            lines,
            vec![
                "bc-long : ok=2  changed=0  unreachable=0  failed=1  skipped=0  rescued=0  ignored=0",
                "bc1     : ok=12 changed=3  unreachable=0  failed=0  skipped=0  rescued=0  ignored=0",
            ]
        );
    }

    #[test]
    fn colored_recap_marks_failed_hosts_red() {
        let mut recap = Recap::default();
        recap.hosts.insert("bc2".into(), stats(1, 0, 1));
        let line = &host_lines(&recap, Style::new(true))[0];
        assert!(line.starts_with("\x1b[31mbc2\x1b[0m :"), "{line:?}");
        assert!(line.contains("\x1b[31mfailed=1\x1b[0m"), "{line:?}");
        assert!(
            line.contains(" skipped=0 "),
            "zero counters stay plain: {line:?}"
        );
    }

    #[test]
    fn slowest_lists_at_most_five_slowest_first() {
        let slowest: Vec<TaskTiming> = [3, 700, 12, 5, 40, 9000]
            .iter()
            .map(|&ms| timing(&format!("t{ms}"), ms))
            .collect();
        let lines = slowest_lines(&slowest);
        assert_eq!(
            lines,
            vec![
                "  9000 ms  t9000  play.yml:9000",
                "   700 ms  t700   play.yml:700",
                "    40 ms  t40    play.yml:40",
                "    12 ms  t12    play.yml:12",
                "     5 ms  t5     play.yml:5",
            ]
        );
    }

    #[test]
    fn block_says_when_counts_are_from_check_mode() {
        let recap = Recap {
            elapsed: Duration::from_millis(4521),
            ..Recap::default()
        };
        let block = recap_block(&recap, Style::new(false), true);
        assert!(block[1].contains("check mode: nothing was changed"));
        assert!(block.contains(&"no host ran any task".to_string()));
        assert_eq!(block.last().unwrap(), "Total elapsed: 4.5 s (4521 ms)");
        // Under a second the rounded figure is exact: it is not repeated.
        let mut quick = recap.clone();
        quick.elapsed = Duration::from_millis(412);
        let block = recap_block(&quick, Style::new(false), true);
        assert_eq!(block.last().unwrap(), "Total elapsed: 412 ms");
    }

    #[test]
    fn connection_time_is_told_apart_from_task_time() {
        let mut recap = Recap {
            elapsed: Duration::from_millis(2500),
            ..Recap::default()
        };
        let block = recap_block(&recap, Style::new(false), false);
        assert!(!block.iter().any(|l| l.starts_with("Connecting")));
        recap.connect = ConnectTiming {
            elapsed: Duration::from_millis(400),
            hosts: 20,
            failed: 1,
            slowest: Some(("bc7".into(), Duration::from_millis(388))),
        };
        let block = recap_block(&recap, Style::new(false), false);
        assert_eq!(
            block[block.len() - 2],
            "Connecting: 400 ms for 20 hosts (slowest bc7 388 ms, 1 unreachable); tasks: 2.1 s"
        );
        assert_eq!(block.last().unwrap(), "Total elapsed: 2.5 s (2500 ms)");
    }
}
