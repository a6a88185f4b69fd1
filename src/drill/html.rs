//! `drill.html`: one self-contained page (inline CSS and SVG, no scripts,
//! no external assets) with one SVG timeline per phase: per node its
//! scheduler, VIP and hvrfailover.state over time and its task spans, the
//! client's success/failure band, markers for what the phase did, and the
//! phase's RTO and RPO written on it.

use std::fmt::Write as _;

use super::report::{DrillReport, NodeSample, Phase};

const WIDTH: f64 = 1100.0;
const LABEL: f64 = 150.0;
const ROW: f64 = 22.0;

/// Escapes text for XML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &DrillReport) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>baton drill: {}</title>\n<style>\
body{{font-family:sans-serif;margin:1.5em;color:#222}} table{{border-collapse:collapse}} \
td,th{{border:1px solid #bbb;padding:.2em .6em;text-align:right}} th{{background:#eee}} \
td:first-child,td:nth-child(2){{text-align:left}} svg{{display:block;margin:.5em 0 2em;border:1px solid #ccc}} \
.lost{{font-family:monospace;font-size:90%}}</style></head><body>\n",
        esc(&report.scenario.iter().map(|p| p.name()).collect::<Vec<_>>().join(","))
    );
    let _ = write!(
        page,
        "<h1>baton drill ({}): {}</h1>\n<p>Nodes {}, VIP {}. Started {}; {:.1} s in all.{}</p>\n",
        esc(&report.target),
        esc(&report.outcome),
        esc(&report.nodes.join(", ")),
        esc(&report.vip),
        started_utc(report.started_at),
        report.ended_at - report.started_at,
        report
            .error
            .as_ref()
            .map(|e| format!(" Error: {}", esc(e)))
            .unwrap_or_default()
    );
    page.push_str("<table><tr><th>phase</th><th>from &rarr; to</th><th>outcome</th><th>RTO ms</th><th>RPO rows</th><th>acked</th><th>playbook s</th></tr>\n");
    for p in &report.phases {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{} &rarr; {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            p.kind.name(),
            esc(&p.from),
            esc(&p.to),
            esc(&p.outcome),
            esc(&p.rto_text()),
            p.rpo_text(),
            p.acked,
            p.playbook_secs()
        );
    }
    page.push_str("</table>\n");
    page.push_str(&legend());
    if let Some(line) = super::report::cold_vs_prepared(report) {
        // One paragraph per line of the terminal's summary (figures, then the goal).
        for l in line.lines() {
            let _ = writeln!(page, "<p class=\"compare\">{}</p>", esc(l));
        }
    }
    for p in &report.phases {
        let _ = writeln!(
            page,
            "<h2>{}: {} &rarr; {}</h2>",
            p.kind.name(),
            esc(&p.from),
            esc(&p.to)
        );
        if let Some(share) = p.preflight_text() {
            let _ = writeln!(
                page,
                "<p class=\"preflight\">{}'s start pre-flight (hvr_vip_probe_timeout, hvr_arp_dad_wait) within the outage: {}</p>",
                esc(&p.to),
                esc(&share)
            );
        }
        if let Some(c) = &p.cadence {
            let _ = writeln!(page, "<p class=\"cadence\">Sampled: {}</p>", esc(&c.text()));
            if let Some(w) = c.warning() {
                let _ = writeln!(
                    page,
                    "<p class=\"warning\" style=\"color:#b00\"><b>Warning:</b> {}</p>",
                    esc(&w)
                );
            }
        }
        page.push_str(&phase_svg(report, p));
        if !p.lost_keys.is_empty() {
            let _ = writeln!(
                page,
                "<p class=\"lost\">lost keys ({}): {}</p>",
                p.lost_keys.len(),
                esc(&p.lost_keys.join(" "))
            );
        }
    }
    page.push_str("</body></html>\n");
    page
}

struct Axis {
    t0: f64,
    t1: f64,
}

impl Axis {
    fn x(&self, t: f64) -> f64 {
        let span = (self.t1 - self.t0).max(1e-3);
        LABEL + ((t - self.t0) / span).clamp(0.0, 1.0) * (WIDTH - LABEL - 10.0)
    }
}

/// Spans of equal value in a node's samples: (from, to, sample).
fn runs<F: Fn(&NodeSample) -> String>(
    samples: &[NodeSample],
    end: f64,
    key: F,
) -> Vec<(f64, f64, &NodeSample)> {
    let mut out: Vec<(f64, f64, &NodeSample)> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let next = samples.get(i + 1).map_or(end, |n| n.t);
        match out.last_mut() {
            Some(last) if key(last.2) == key(s) => last.1 = next,
            _ => out.push((s.t, next, s)),
        }
    }
    out
}

fn phase_svg(report: &DrillReport, p: &Phase) -> String {
    let axis = Axis {
        t0: p.started_at,
        t1: p.ended_at,
    };
    let rows = report.nodes.len() * 4 + 1;
    let height = 40.0 + rows as f64 * ROW + 30.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"phase\" data-phase=\"{}\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-size=\"11\">",
        p.kind.name()
    );
    let _ = writeln!(
        s,
        "<text x=\"6\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{} {} &#8594; {}: RTO {}, RPO {} rows ({} acked), {}; {}</text>",
        p.kind.name(),
        esc(&p.from),
        esc(&p.to),
        esc(&p.rto_with_unit()),
        p.rpo_text(),
        p.acked,
        esc(&p.outcome),
        esc(&p.serves_text())
    );
    let mut y = 30.0;
    let row_label = |s: &mut String, y: f64, text: &str| {
        let _ = writeln!(
            s,
            "<g class=\"row\"><text x=\"6\" y=\"{:.1}\">{}</text>",
            y + 15.0,
            esc(text)
        );
    };
    for node in &report.nodes {
        let samples = p.node_samples.get(node).map(Vec::as_slice).unwrap_or(&[]);
        // A row of one flag the sampler reads: (fill, word) for an
        // unreachable node, the flag set, the flag clear.
        let flag_row = |s: &mut String,
                        y: f64,
                        name: &str,
                        flag: fn(&NodeSample) -> bool,
                        colours: [(&str, &str); 3]| {
            row_label(s, y, &format!("{node} {name}"));
            for (a, b, v) in runs(samples, p.ended_at, |v| {
                format!("{}{}", v.reachable, flag(v))
            }) {
                let (fill, what) = match (v.reachable, flag(v)) {
                    (false, _) => colours[0],
                    (true, true) => colours[1],
                    (true, false) => colours[2],
                };
                rect(
                    s,
                    axis.x(a),
                    y + 3.0,
                    axis.x(b),
                    ROW - 6.0,
                    fill,
                    &format!("{node} {name} {what}"),
                );
            }
            s.push_str("</g>\n");
        };
        flag_row(
            &mut s,
            y,
            "scheduler",
            |v| v.scheduler,
            [
                ("#999", "unreachable"),
                ("#2a9d3a", "up"),
                ("#e4e4e4", "down"),
            ],
        );
        y += ROW;
        flag_row(
            &mut s,
            y,
            "VIP",
            |v| v.vip,
            [
                ("#999", "unknown (unreachable)"),
                ("#1f6fd1", "held"),
                ("#f2f2f2", "not held"),
            ],
        );
        y += ROW;
        // hvrfailover.state.
        row_label(&mut s, y, &format!("{node} state"));
        for (a, b, v) in runs(samples, p.ended_at, |v| v.state.clone()) {
            let fill = match v.state.as_str() {
                "START" => "#cdebd2",
                "STOP" => "#ececec",
                "unknown" => "#bbb",
                _ => "#f6c28b",
            };
            rect(
                &mut s,
                axis.x(a),
                y + 3.0,
                axis.x(b),
                ROW - 6.0,
                fill,
                &format!("{node} hvrfailover.state {}", v.state),
            );
            // Written only where it fits (about 6.5 px a character at
            // 11 px): a clipped `unk` says less than the hover title.
            if label_fits(&v.state, axis.x(b) - axis.x(a)) {
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                    axis.x(a) + 2.0,
                    y + 15.0,
                    esc(&v.state)
                );
            }
        }
        s.push_str("</g>\n");
        y += ROW;
        // Task spans.
        row_label(&mut s, y, &format!("{node} tasks"));
        for run in &p.runs {
            for t in run.tasks.iter().filter(|t| &t.host == node) {
                let fill = match t.outcome.as_str() {
                    "failed" | "unreachable" => "#d62728",
                    "changed" => "#e8a33d",
                    "skipped" => "#c8c8c8",
                    _ => "#7fb8e6",
                };
                let x0 = axis.x(t.started_at);
                let x1 = axis.x(t.ended_at).max(x0 + 1.0);
                rect(
                    &mut s,
                    x0,
                    y + 3.0,
                    x1,
                    ROW - 6.0,
                    fill,
                    &format!(
                        "{}: {} ({}, {:.0} ms)",
                        run.playbook,
                        t.task,
                        t.outcome,
                        (t.ended_at - t.started_at) * 1000.0
                    ),
                );
            }
        }
        s.push_str("</g>\n");
        y += ROW;
    }
    // Client band.
    row_label(&mut s, y, "client");
    for (i, sample) in p.probe.iter().enumerate() {
        let prev = if i == 0 {
            p.started_at
        } else {
            p.probe[i - 1].t
        };
        let fill = if sample.ok() { "#2a9d3a" } else { "#d62728" };
        let title = format!(
            "{} {}{}",
            sample.key,
            if sample.ok() {
                "ok"
            } else if sample.write_ok {
                "written, not read back"
            } else {
                "failed"
            },
            sample
                .server
                .as_ref()
                .map(|n| format!(" on {n}"))
                .unwrap_or_default()
        );
        rect(
            &mut s,
            axis.x(prev),
            y + 3.0,
            axis.x(sample.t).max(axis.x(prev) + 0.5),
            ROW - 6.0,
            fill,
            &title,
        );
    }
    s.push_str("</g>\n");
    let rows_bottom = y + ROW;
    // RPO is written beside the RTO label, right of the gap (the time axis
    // below holds the ticks' labels).
    let mut rpo_x = (WIDTH + LABEL) / 2.0;
    // The RTO gap, outlined over every row.
    if let Some(gap) = &p.rto {
        let x0 = axis.x(gap.from);
        let x1 = axis.x(gap.to.unwrap_or(p.ended_at));
        let _ = writeln!(
            s,
            "<rect class=\"rto\" x=\"{x0:.1}\" y=\"28\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\"/><text x=\"{x0:.1}\" y=\"{:.1}\" fill=\"#d62728\">RTO {}</text>",
            (x1 - x0).max(1.0),
            rows_bottom - 28.0,
            rows_bottom + 12.0,
            esc(&p.rto_with_unit())
        );
        rpo_x = x1 + 8.0;
    }
    // Phase markers: each playbook's start, each action.
    let mut markers: Vec<(f64, String)> = p
        .runs
        .iter()
        .map(|r| (r.started_at, format!("{} starts", r.playbook)))
        .collect();
    markers.extend(p.actions.iter().map(|a| (a.t, a.what.clone())));
    for (t, what) in markers {
        let x = axis.x(t);
        let _ = writeln!(
            s,
            "<line class=\"marker\" x1=\"{x:.1}\" y1=\"26\" x2=\"{x:.1}\" y2=\"{rows_bottom:.1}\" stroke=\"#333\" stroke-dasharray=\"3,3\"><title>{}</title></line>",
            esc(&what)
        );
    }
    // Time ticks: every second (every 2, 5, 10, ... s on a long phase, at
    // most ~20 of them), between 0 and the end.
    let duration = p.ended_at - p.started_at;
    let step = tick_step(duration);
    let mut k = 1;
    while (k as f64) * step < duration - step * 0.3 {
        let t = k as f64 * step;
        let x = axis.x(p.started_at + t);
        let _ = writeln!(
            s,
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{rows_bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#888\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#666\">{t:.0} s</text>",
            rows_bottom + 4.0,
            rows_bottom + 26.0
        );
        k += 1;
    }
    let _ = writeln!(
        s,
        "<text x=\"{LABEL}\" y=\"{:.1}\">0 s</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.1} s</text><text class=\"rpo\" x=\"{:.1}\" y=\"{:.1}\">RPO {} rows</text>",
        rows_bottom + 26.0,
        WIDTH - 10.0,
        rows_bottom + 26.0,
        p.ended_at - p.started_at,
        rpo_x.min(WIDTH - 90.0),
        rows_bottom + 12.0,
        p.rpo_text()
    );
    s.push_str("</svg>\n");
    s
}

/// Seconds between time ticks: 1, 2, 5, 10, 20, ... so a phase has at most ~20.
fn tick_step(duration: f64) -> f64 {
    let mut step = 1.0;
    for next in [2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0] {
        if duration / step <= 20.0 {
            break;
        }
        step = next;
    }
    step
}

/// Whether `text` fits in `width` px at the page's 11 px font.
fn label_fits(text: &str, width: f64) -> bool {
    text.chars().count() as f64 * 6.5 + 4.0 <= width
}

/// The colours of the timelines, as a small legend under the table.
fn legend() -> String {
    let items = [
        ("#2a9d3a", "scheduler up / client ok"),
        ("#e4e4e4", "scheduler down"),
        ("#1f6fd1", "VIP held"),
        ("#f2f2f2", "VIP not held"),
        ("#cdebd2", "state START"),
        ("#ececec", "state STOP"),
        ("#f6c28b", "other state"),
        ("#999", "node unreachable"),
        ("#7fb8e6", "task ok"),
        ("#e8a33d", "task changed"),
        ("#c8c8c8", "task skipped"),
        ("#d62728", "task failed / client failed / RTO"),
    ];
    let mut out = String::from("<p class=\"legend\">");
    for (fill, what) in items {
        let _ = write!(
            out,
            "<span style=\"display:inline-block;margin-right:1em\"><span style=\"display:inline-block;width:.9em;height:.9em;background:{fill};border:1px solid #888;vertical-align:middle\"></span> {}</span>",
            esc(what)
        );
    }
    out.push_str("</p>\n");
    out
}

fn rect(s: &mut String, x0: f64, y: f64, x1: f64, h: f64, fill: &str, title: &str) {
    let _ = writeln!(
        s,
        "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{fill}\"><title>{}</title></rect>",
        (x1 - x0).max(0.5),
        esc(title)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::report::tests::sample_report;

    #[test]
    fn one_svg_per_phase_with_its_rows() {
        let mut report = sample_report();
        let mut second = report.phases[0].clone();
        second.kind = crate::drill::scenario::PhaseKind::Switchback;
        report.phases.push(second);
        let page = render(&report);
        assert_eq!(page.matches("<svg ").count(), 2);
        assert_eq!(page.matches("</svg>").count(), 2);
        // 4 rows per node and the client's.
        let first = &page[page.find("<svg ").unwrap()..page.find("</svg>").unwrap()];
        assert_eq!(first.matches("<g class=\"row\">").count(), 2 * 4 + 1);
        for label in [
            "bc1 scheduler",
            "bc2 VIP",
            "bc1 state",
            "bc2 tasks",
            ">client<",
        ] {
            assert!(first.contains(label), "{label}");
        }
        assert!(
            first.contains("RTO 80 ms") && first.contains("RPO 1 rows"),
            "{first}"
        );
        // RPO sits on the RTO label's line, not on the axis with the ticks.
        let y_of = |class: &str| -> String {
            let at = first.find(&format!("<text class=\"{class}\"")).unwrap();
            let tail = &first[at..];
            let y = &tail[tail.find(" y=\"").unwrap() + 4..];
            y[..y.find('"').unwrap()].to_string()
        };
        let rto_label = &first[first.find("RTO 80 ms").unwrap().saturating_sub(120)..];
        assert!(
            rto_label.contains(&format!("y=\"{}\"", y_of("rpo"))),
            "{first}"
        );
        if first.contains("<text class=\"tick\"") {
            assert_ne!(y_of("rpo"), y_of("tick"), "{first}");
        }
        assert!(first.contains("class=\"marker\""));
    }

    #[test]
    fn self_contained_and_escaped() {
        let page = render(&sample_report());
        for external in ["<script", "src=", "href=", "@import", "url("] {
            assert!(!page.contains(external), "{external}");
        }
        assert!(page.contains("Stop &lt;scheduler&gt; &amp; &quot;flush&quot;"));
        assert!(!page.contains("Stop <scheduler>"));
    }
}

/// A Unix time (s) as `2026-11-29 20:48:02 UTC`, or the number itself when it
/// is not a time chrono can represent.
fn started_utc(unix_s: f64) -> String {
    Some(unix_s)
        .filter(|s| s.is_finite())
        .and_then(|s| chrono::DateTime::from_timestamp(s.floor() as i64, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{unix_s}"))
}

#[cfg(test)]
mod axis_tests {
    use crate::drill::report::tests::sample_report;

    #[test]
    fn ticks_every_second_a_legend_and_no_clipped_state_labels() {
        let mut report = sample_report();
        let p = &mut report.phases[0];
        p.ended_at = p.started_at + 5.5;
        // A 1 ms STOP on bc1 between two long states: too narrow to label.
        let samples = p.node_samples.get_mut("bc1").unwrap();
        samples[1].t = p.started_at + 2.0;
        samples.push(crate::drill::report::NodeSample {
            t: p.started_at + 2.001,
            reachable: false,
            vip: false,
            scheduler: false,
            state: "unknown".into(),
        });
        let page = super::render(&report);
        let svg = &page[page.find("<svg ").unwrap()..];
        for t in 1..=5 {
            assert!(svg.contains(&format!(">{t} s</text>")), "{t}: {svg}");
        }
        assert_eq!(svg.matches("<line class=\"tick\"").count(), 5);
        assert!(page.contains("class=\"legend\"") && page.contains("VIP held"));
        assert!(svg.contains(">START</text>"), "{svg}");
        // The 1 ms STOP (and bc2's 0.1 s one, ~17 px) are not labelled; the
        // long `unknown` is.
        assert!(!svg.contains(">STOP</text>"), "{svg}");
        assert!(svg.contains(">unknown</text>"), "{svg}");
        assert_eq!(super::tick_step(5.5), 1.0);
        assert_eq!(super::tick_step(90.0), 5.0);
        assert!(!super::label_fits("unknown", 10.0) && super::label_fits("STOP", 40.0));
    }
}

#[cfg(test)]
mod started_tests {
    #[test]
    fn the_start_is_printed_as_a_utc_time() {
        assert_eq!(
            super::started_utc(1_795_985_268.84),
            "2026-11-29 20:47:48 UTC"
        );
        assert_eq!(super::started_utc(f64::NAN), "NaN");
    }

    #[test]
    fn cold_vs_prepared_figures_and_the_goal_are_two_paragraphs() {
        use crate::drill::scenario::PhaseKind;
        let mut report = crate::drill::report::tests::sample_report();
        let base = report.phases[0].clone();
        report.phases.clear();
        for (kind, rto) in [
            (PhaseKind::Graceful, 1500.0),
            (PhaseKind::Rapid, 900.0),
            (PhaseKind::Graceful, 1600.0),
            (PhaseKind::Rapid, 950.0),
        ] {
            let mut p = base.clone();
            p.kind = kind;
            p.outcome = "ok".into();
            p.rto_ms = Some(rto);
            report.phases.push(p);
        }
        let page = super::render(&report);
        let paragraphs: Vec<&str> = page
            .lines()
            .filter(|l| l.starts_with("<p class=\"compare\">"))
            .collect();
        assert_eq!(paragraphs.len(), 2, "{page}");
        assert!(
            paragraphs[0].contains("medians of 2 and 2"),
            "{paragraphs:?}"
        );
        assert!(paragraphs[1].contains("goal (lab)"), "{paragraphs:?}");
    }

    #[test]
    fn the_preflight_share_is_written_on_its_phase() {
        let mut report = crate::drill::report::tests::sample_report();
        assert!(!super::render(&report).contains("class=\"preflight\""));
        report.phases[0].preflight_ms = Some(40.0);
        report.phases[0].preflight_alone_ms = Some(10.0);
        let page = super::render(&report);
        assert!(
            page.contains("bc2's start pre-flight (hvr_vip_probe_timeout, hvr_arp_dad_wait) within the outage: 40 ms of 80 (50%), 10 ms not overlapped"),
            "{page}"
        );
    }
}
