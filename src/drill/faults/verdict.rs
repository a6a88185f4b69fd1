//! The judgements of a case, as pure functions: does a refusal name the
//! manual step, which lost rows are not among the reported phantom
//! changes, which boundaries a `--case` slice selects.

use serde_json::Value;

/// Every command a message quotes that a person could type: each `baton
/// run NAME ...` or `baton lab ...`, in the order they appear. A command
/// ends at a backquote, a parenthesis, `;` or a line's end.
pub fn steps(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = message;
    loop {
        let next = ["baton run ", "baton lab "]
            .iter()
            .filter_map(|s| rest.find(s))
            .min();
        let Some(i) = next else { break };
        let tail = &rest[i..];
        let end = tail
            .find(['`', '(', ')', ';', '\n'])
            .unwrap_or(tail.len().min(160));
        let step = tail[..end].trim_end_matches(['.', ',', ' ']);
        if step.len() > "baton run ".len() {
            out.push(step.to_string());
        }
        rest = &tail[end.max(1)..];
    }
    out
}

/// `baton run check ...`: it only shows the state, no step that changes it.
pub fn shows_only(step: &str) -> bool {
    step == "baton run check" || step.starts_with("baton run check ")
}

/// The manual step a refusal names: the first command it quotes that does
/// more than show the state (`baton run check`, often named first to look
/// with, is not the step), else `check` itself, or `None` when it names no
/// command (then a person would have to read the code: an invariant
/// violation).
pub fn manual_step(message: &str) -> Option<String> {
    let all = steps(message);
    all.iter().find(|s| !shows_only(s)).or(all.first()).cloned()
}

/// A manual step the harness can follow itself: `baton run NAME -e K=V...`
/// (an `-i` is dropped: the lab's inventory is used; a plain word ends the
/// command: "re-running baton run switchover -e from=bc1 resumes it").
/// (NAME, vars); `None` for an option the harness does not know.
pub fn runnable_step(step: &str) -> Option<(String, Vec<String>)> {
    let words = shlex::split(step)?;
    let mut it = words.into_iter();
    if it.next()? != "baton" || it.next()? != "run" {
        return None;
    }
    let name = it.next()?;
    let mut vars = Vec::new();
    while let Some(w) = it.next() {
        match w.as_str() {
            "-e" => vars.push(it.next()?),
            "-i" => {
                it.next()?;
            }
            w if !w.starts_with('-') => break,
            _ => return None,
        }
    }
    Some((name, vars))
}

/// The failure messages of a runner error (``"`baton run PATH -e ...`
/// exited N: MESSAGES"``), without the command line it starts with: that
/// quotes `baton run` too, and is no manual step.
pub fn failure_messages(error: &str) -> &str {
    match error.split_once("` exited ") {
        Some((_, rest)) => rest.split_once(": ").map_or("", |(_, msgs)| msgs),
        None => error,
    }
}

/// From failover's "phantom changes" report (a `host_result` event of the
/// task of that name): the last key the survivor received, after which
/// every change of the old node is reported as possibly phantom.
/// `Some(None)`: it reported none was ever received (all are phantom).
pub fn phantom_after(event: &Value) -> Option<Option<String>> {
    if event["event"] != "host_result" {
        return None;
    }
    let name = event["task"]["name"].as_str()?;
    if !name.contains("phantom changes") {
        return None;
    }
    let msg = event["result"]["msg"].as_str()?;
    if msg.contains("none was ever received") {
        return Some(None);
    }
    let after = msg.split("(key ").nth(1)?;
    let key = after.split([',', ' ']).next()?;
    Some(Some(key.to_string()))
}

/// Lost rows not among the reported phantom changes: with keys written in
/// order, a reported "after K" covers every key greater than K. No report
/// at all covers nothing.
pub fn uncovered(lost: &[String], reports: &[Option<String>]) -> Vec<String> {
    lost.iter()
        .filter(|k| {
            !reports.iter().any(|r| match r {
                None => true,
                Some(after) => k.as_str() > after.as_str(),
            })
        })
        .cloned()
        .collect()
}

/// Where a fault is injected: at the k-th `task_start` event (from 1), or
/// at the first task whose name contains a text (`--at`; steady when tasks
/// are added to a playbook).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Boundary {
    Nth(usize),
    Task(String),
}

impl Boundary {
    /// Whether the `n`-th task start, of task `task`, is this boundary.
    pub fn hits(&self, n: usize, task: &str) -> bool {
        match self {
            Boundary::Nth(k) => n == *k,
            Boundary::Task(t) => task.contains(t.as_str()),
        }
    }
}

impl std::fmt::Display for Boundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Boundary::Nth(k) => write!(f, "{k}"),
            Boundary::Task(t) => write!(f, "at `{t}`"),
        }
    }
}

/// No operation comes near this many task boundaries (switchover has 109).
const MAX_BOUNDARY: usize = 10_000;

/// `--case` slices: `3`, `2-5`, `1,4,7-9`. Boundaries count from 1.
pub fn parse_cases(text: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!(
                "--case: an empty item in `{text}`; write N, N-M or a comma list"
            ));
        }
        let bad = || format!("--case: `{part}` is not N or N-M (boundaries count from 1)");
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let a: usize = a.parse().map_err(|_| bad())?;
        let b: usize = b.parse().map_err(|_| bad())?;
        if a == 0 {
            return Err(bad());
        }
        if b < a {
            return Err(format!("--case: `{part}` runs backwards; write {b}-{a}"));
        }
        if b > MAX_BOUNDARY {
            return Err(format!(
                "--case: `{part}` goes past {MAX_BOUNDARY}; an operation has about a hundred task boundaries (`--estimate` shows how many)"
            ));
        }
        out.extend(a..=b);
    }
    if out.is_empty() {
        return Err("--case: no boundary given".into());
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_its_step_or_not() {
        assert_eq!(
            manual_step("switchover refused: bc2 is tainted: run `baton run recover -e node=bc2`. Nothing was changed").as_deref(),
            Some("baton run recover -e node=bc2")
        );
        assert_eq!(
            manual_step("STALE lock; run baton run unlock -e node=bc1 -e lock_pid=42; then again")
                .as_deref(),
            Some("baton run unlock -e node=bc1 -e lock_pid=42")
        );
        assert_eq!(
            manual_step("UNREACHABLE: ssh: connect to host timed out"),
            None
        );
        // The runner's own command line is not a manual step.
        let err = "`baton run playbooks/switchover.yml -e from=bc2 -e to=bc1` exited 3: Stop on bc2: unreachable";
        assert_eq!(manual_step(failure_messages(err)), None);
        let err = "`baton run playbooks/switchover.yml -e from=bc2` exited 2: refused. Run `baton run check`. Nothing";
        assert_eq!(
            manual_step(failure_messages(err)).as_deref(),
            Some("baton run check")
        );
        // `check`, named first to look with, is not the step when another follows.
        let halfway = "stopped halfway: `baton run check` shows both nodes; run this switchover again, or go back with baton run start -e node=bc1";
        assert_eq!(
            manual_step(halfway).as_deref(),
            Some("baton run start -e node=bc1")
        );
        // check's own problem list: a step ends before its parenthesised remark.
        let problems = "- bc1: a leftover operation lock (gone): to clear it now: baton run unlock -i /l/lab.yml -e node=bc1 -e lock_pid=7 (an interrupted switchover: re-running baton run switchover -e from=bc1 -e to=bc2 resumes it)\n- no node is active";
        assert_eq!(
            steps(problems),
            [
                "baton run unlock -i /l/lab.yml -e node=bc1 -e lock_pid=7",
                "baton run switchover -e from=bc1 -e to=bc2 resumes it"
            ]
        );
        assert!(shows_only("baton run check -i x") && !shows_only("baton run checkout"));
        assert!(steps("no command here").is_empty());
    }

    #[test]
    fn steps_the_harness_can_follow() {
        assert_eq!(
            runnable_step("baton run start -e node=bc2"),
            Some(("start".to_string(), vec!["node=bc2".to_string()]))
        );
        assert_eq!(
            runnable_step("baton run recover -i /x/lab.yml -e node=bc1").map(|s| s.1),
            Some(vec!["node=bc1".to_string()])
        );
        assert_eq!(runnable_step("baton run start --force"), None);
        assert_eq!(
            runnable_step("baton run switchover -e from=bc1 -e to=bc2 resumes it"),
            Some((
                "switchover".to_string(),
                vec!["from=bc1".to_string(), "to=bc2".to_string()]
            ))
        );
        assert_eq!(runnable_step("baton lab boot bc1"), None);
    }

    #[test]
    fn phantom_reports_cover_later_keys_only() {
        let ev: Value = serde_json::json!({"event":"host_result","task":{"name":"Failover | phantom changes (committed on the old node, never received here)"},
            "result":{"msg":"bc1 was not stopped gracefully: changes it committed after the last one bc2 received from it (key f1-000041, received 2026 as journal record 9) may exist only on bc1"}});
        assert_eq!(phantom_after(&ev), Some(Some("f1-000041".into())));
        let lost = vec!["f1-000040".to_string(), "f1-000042".to_string()];
        assert_eq!(uncovered(&lost, &[Some("f1-000041".into())]), ["f1-000040"]);
        assert_eq!(uncovered(&lost, &[]), lost);
        assert!(uncovered(&lost, &[None]).is_empty());
        let none: Value = serde_json::json!({"event":"host_result","task":{"name":"Failover | phantom changes"},"result":{"msg":"changes (none was ever received) may"}});
        assert_eq!(phantom_after(&none), Some(None));
    }

    #[test]
    fn case_slices() {
        assert_eq!(parse_cases("3").unwrap(), [3]);
        assert_eq!(parse_cases("1,4-6,4").unwrap(), [1, 4, 5, 6]);
        assert!(parse_cases("0").is_err());
        assert!(parse_cases("5-2")
            .unwrap_err()
            .contains("`5-2` runs backwards; write 2-5"));
        assert!(parse_cases("x").is_err());
        assert!(parse_cases("60-61,").unwrap_err().contains("empty item"));
        assert!(parse_cases("1,,2").unwrap_err().contains("empty item"));
        assert!(parse_cases("1-5000000")
            .unwrap_err()
            .contains("goes past 10000"));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
        assert!(Boundary::Nth(3).hits(3, "x") && !Boundary::Nth(3).hits(4, "x"));
        let at = Boundary::Task("Stop | flush".into());
        assert!(at.hits(9, "hvr_failover : Stop | flush and stop") && !at.hits(9, "Start"));
    }
}
