//! Wall-clock helpers: UTC timestamps for logs and file names, and duration parsing for
//! options such as `-logrelease_expire=2d` or `-t0.5`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    to_ms(SystemTime::now())
}

pub fn to_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `2026-05-01 12:34:56Z`, the timestamp at the start of every log line.
pub fn format_utc(ms: u64) -> String {
    let (date, (h, m, s)) = split(ms);
    format!("{} {h:02}:{m:02}:{s:02}Z", date_string(date, "-"))
}

/// `20260501T123456Z`, for archive file names that sort by time.
pub fn format_utc_compact(ms: u64) -> String {
    let (date, (h, m, s)) = split(ms);
    format!("{}T{h:02}{m:02}{s:02}Z", date_string(date, ""))
}

/// `2022-04-13_07-31-02_702Z`: the timestamp in HVR 5's compare diff-file names
/// (https://fivetran.com/docs/hvr5/advanced-operations/analyzing-diff-file).
pub fn format_utc_diff(ms: u64) -> String {
    let (date, (h, m, s)) = split(ms);
    format!(
        "{}_{h:02}-{m:02}-{s:02}_{:03}Z",
        date_string(date, "-"),
        ms % 1000
    )
}

fn date_string((y, mo, d): (i64, u32, u32), sep: &str) -> String {
    format!("{y:04}{sep}{mo:02}{sep}{d:02}")
}

fn split(ms: u64) -> ((i64, u32, u32), (u64, u64, u64)) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    (
        civil_from_days(days),
        (rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses `N[ms|s|m|h|d]`; a bare number is in `default_unit`. Fractions are allowed (`0.5s`).
pub fn parse_duration(text: &str, default_unit: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split_at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split_at);
    let unit = if unit.is_empty() { default_unit } else { unit };
    let value: f64 = number.parse().map_err(|_| {
        format!("{text:?} is not a duration (expected e.g. 500ms, 30s, 5m, 2h, 7d)")
    })?;
    let factor = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        other => {
            return Err(format!(
                "unknown time unit {other:?} in {text:?} (use ms, s, m, h or d)"
            ))
        }
    };
    let seconds = value * factor;
    if !seconds.is_finite() || !(0.0..=1e10).contains(&seconds) {
        return Err(format!("duration {text:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `1h02m`, `3.4s`, `250ms`: short human form for messages.
pub fn human(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", duration.as_secs_f64())
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000)
    } else if ms < 86_400_000 {
        format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000)
    } else {
        format!("{}d{:02}h", ms / 86_400_000, ms % 86_400_000 / 3_600_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(
            format_utc_diff(1_649_835_062_702),
            "2022-04-13_07-31-02_702Z"
        );
        assert_eq!(format_utc(0), "1970-01-01 00:00:00Z");
        // 2000-02-29 23:59:59 UTC: a leap day, checks the month/day arithmetic.
        assert_eq!(format_utc(951_868_799_000), "2000-02-29 23:59:59Z");
        assert_eq!(format_utc_compact(1_700_000_000_123), "20231114T221320Z");
    }

    #[test]
    fn parses_durations_with_units() {
        assert_eq!(parse_duration("90", "s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms", "s"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0.5", "s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h", "s"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d", "s"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("3", "d"), Ok(Duration::from_secs(259_200)));
    }

    #[test]
    fn rejects_bad_durations() {
        assert!(parse_duration("", "s").is_err());
        assert!(parse_duration("ten", "s").is_err());
        assert!(parse_duration("5w", "s").is_err());
        assert!(parse_duration("-5", "s").is_err());
    }

    #[test]
    fn human_form_picks_a_readable_unit() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_millis(3400)), "3.4s");
        assert_eq!(human(Duration::from_secs(3720)), "1h02m");
    }
}
