//! The `sequence` lookup (`with_sequence`): numbers from `start` to `end`
//! (or `count` of them) by `stride`, each printed through a printf-style
//! `format`, as strings.
//!
//! Source: ansible-core 2.19 `lib/ansible/plugins/lookup/sequence.py`. A term
//! is either the shortcut `[start-]end[/stride][:format]` (`4:host%02d`,
//! `2-10/2`) or `key=value` words (`start=1 end=5 format=x%02d`); defaults
//! start=1, stride=1, format=`%d`. Numbers are read as Python's `int()`
//! reads them: decimal only (`010` is ten; ansible-core 2.19 refuses `0x10`
//! although its documentation shows hexadecimal). The checks and their
//! messages are Ansible's: count or end (not both), a stride that points the
//! wrong way, exactly one `%` in the format; a zero stride or `count=0`
//! gives no items. Like Ansible, `count` sets `end = start + count * stride
//! - 1`, so a negative stride with `count` gives more than `count` items.

use serde_json::Value;

/// At most this many items from one term: a sequence this long is a typo
/// (`end=10000000000`), and each item is a task run. Ansible has no bound.
pub const MAX_ITEMS: i64 = crate::bounds::MAX_LOOP_ITEMS as i64;

/// The widest field (and longest precision) a `format` may ask for: a
/// hostname or a padded number needs a few digits; `%0999999999d` is a typo
/// that would make a gigabyte per item. Python has no bound.
pub const MAX_WIDTH: usize = 4096;

/// The items of one `sequence` term. Errors are Ansible's messages, and
/// baton's bounds: at most [`MAX_ITEMS`] items, fields at most
/// [`MAX_WIDTH`] wide, and all items together within
/// [`crate::plan::vars::MAX_VALUE_BYTES`].
pub fn sequence(term: &str) -> Result<Vec<Value>, String> {
    use crate::plan::vars::{value_limit_words, MAX_VALUE_BYTES};
    let spec = parse(term.trim())?;
    let numbers = spec.numbers()?;
    let mut bytes = 0usize;
    let mut out = Vec::with_capacity(numbers.len());
    for n in numbers {
        let item = format(&spec.format, n)?;
        bytes = bytes.saturating_add(item.len());
        if bytes > MAX_VALUE_BYTES {
            return Err(format!(
                "with_sequence items formatted with {:?} would take {}; make fewer items or \
                 a narrower format",
                spec.format,
                value_limit_words()
            ));
        }
        out.push(Value::String(item));
    }
    Ok(out)
}

struct Spec {
    start: i64,
    end: Option<i64>,
    count: Option<i64>,
    stride: i64,
    format: String,
}

fn parse(term: &str) -> Result<Spec, String> {
    let mut spec = Spec {
        start: 1,
        end: None,
        count: None,
        stride: 1,
        format: "%d".to_string(),
    };
    if let Some((start, end, stride, format)) = shortcut(term) {
        if let Some(s) = start {
            spec.start = int("start", s)?;
        }
        spec.end = Some(int("end", end)?);
        if let Some(s) = stride {
            spec.stride = int("stride", s)?;
        }
        if let Some(f) = format {
            spec.format = f.to_string();
        }
        return Ok(spec);
    }
    let words = shlex::split(term)
        .ok_or_else(|| format!("unknown error parsing with_sequence arguments: {term:?}"))?;
    let mut unknown = Vec::new();
    for word in &words {
        let Some((key, value)) = word.split_once('=') else {
            unknown.push("_raw_params".to_string());
            continue;
        };
        match key {
            "start" => spec.start = int(key, value)?,
            "end" => spec.end = Some(int(key, value)?),
            "count" => spec.count = Some(int(key, value)?),
            "stride" => spec.stride = int(key, value)?,
            "format" => spec.format = value.to_string(),
            other => unknown.push(other.to_string()),
        }
    }
    if !unknown.is_empty() {
        unknown.dedup();
        return Err(format!(
            "unrecognized arguments to with_sequence: {:?}",
            unknown
        ));
    }
    Ok(spec)
}

/// The parts of the shortcut form: start, end, stride, format.
type Shortcut<'a> = (Option<&'a str>, &'a str, Option<&'a str>, Option<&'a str>);

/// `[start-]end[/stride][:format]`, numbers `0?x?[0-9a-f]+` (case-blind).
fn shortcut(term: &str) -> Option<Shortcut<'_>> {
    fn num(s: &str) -> usize {
        let b = s.as_bytes();
        let mut i = 0;
        if b.first() == Some(&b'0') {
            i += 1;
        }
        if matches!(b.get(i), Some(b'x' | b'X')) {
            i += 1;
        }
        let digits = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if digits == 0 {
            // `0` alone, or `0x` without digits: the regex backtracks to
            // take the `0` as the digit itself.
            return if b.first() == Some(&b'0') { 1 } else { 0 };
        }
        i + digits
    }
    let (head, format) = match term.split_once(':') {
        Some((h, f)) if !f.is_empty() => (h, Some(f)),
        Some(_) => return None,
        None => (term, None),
    };
    let (range, stride) = match head.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (head, None),
    };
    let whole = |s: &str| num(s) == s.len() && !s.is_empty();
    if stride.is_some_and(|s| !whole(s)) {
        return None;
    }
    let (start, end) = match range.split_once('-') {
        Some((s, e)) => (Some(s), e),
        None => (None, range),
    };
    if start.is_some_and(|s| !whole(s)) || !whole(end) {
        return None;
    }
    Some((start, end, stride, format))
}

/// Python's `int(value)`: decimal, optional sign, surrounding blanks.
fn int(key: &str, value: &str) -> Result<i64, String> {
    let v = value.trim().replace('_', "");
    v.parse::<i64>().map_err(|_| {
        format!("Config '{key}' for 'sequence' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': '{value}'")
    })
}

impl Spec {
    fn numbers(&self) -> Result<Vec<i64>, String> {
        let end = match (self.count, self.end) {
            (None, None) => return Err("must specify count or end in with_sequence".into()),
            (Some(_), Some(_)) => {
                return Err("can't specify both count and end in with_sequence".into())
            }
            (Some(0), None) => return Ok(Vec::new()),
            (Some(count), None) => {
                // Ansible's `end = start + count * stride - 1`, in Python's
                // unbounded integers; here in i128 (it cannot overflow:
                // each factor is an i64), then it must fit an i64.
                let end = i128::from(self.start) + i128::from(count) * i128::from(self.stride) - 1;
                i64::try_from(end).map_err(|_| {
                    format!(
                        "start={} with count={count} and stride={} ends at {end} \
                         (start + count * stride - 1), past the 64-bit integers baton \
                         counts in ({} to {}); use a start, count or stride that stays \
                         within them",
                        self.start,
                        self.stride,
                        i64::MIN,
                        i64::MAX
                    )
                })?
            }
            (None, Some(end)) => end,
        };
        if self.stride > 0 && end < self.start {
            return Err("to count backwards make stride negative".into());
        }
        if self.stride < 0 && end > self.start {
            return Err("to count forward don't make stride negative".into());
        }
        if self.stride == 0 {
            return Ok(Vec::new());
        }
        if self.format.matches('%').count() != 1 {
            return Err(format!("bad formatting string: {}", self.format));
        }
        // In i128: `end - start` of two i64 overflows i64 (a sequence from
        // i64::MIN to i64::MAX).
        let len = (i128::from(end) - i128::from(self.start)) / i128::from(self.stride) + 1;
        if len > i128::from(MAX_ITEMS) {
            return Err(format!(
                "with_sequence would make {len} items; at most {MAX_ITEMS} are allowed"
            ));
        }
        let mut out = Vec::new();
        let mut n = self.start;
        while (self.stride > 0 && n <= end) || (self.stride < 0 && n >= end) {
            out.push(n);
            match n.checked_add(self.stride) {
                Some(next) => n = next,
                None => break,
            }
        }
        Ok(out)
    }
}

/// `format % n` for a format with exactly one `%` conversion: flags
/// `#0- +`, a width, a precision, and `d i u x X o s r c f F`.
fn format(fmt: &str, n: i64) -> Result<String, String> {
    let bad = || format!("problem formatting {n} with '{fmt}'");
    let pos = fmt.find('%').ok_or_else(bad)?;
    let (before, rest) = fmt.split_at(pos);
    let spec = &rest[1..];
    let mut chars = spec.char_indices().peekable();
    let (mut alt, mut zero, mut left, mut space, mut plus) = (false, false, false, false, false);
    while let Some(&(_, c)) = chars.peek() {
        match c {
            '#' => alt = true,
            '0' => zero = true,
            '-' => left = true,
            ' ' => space = true,
            '+' => plus = true,
            _ => break,
        }
        chars.next();
    }
    let too_wide = |what: &str, n: usize| {
        format!(
            "with_sequence format {fmt:?} asks for a {what} of {}, more than the {MAX_WIDTH} baton allows",
            if n == usize::MAX { "more than 2^64".to_string() } else { n.to_string() }
        )
    };
    let mut width = 0usize;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        width = width.saturating_mul(10).saturating_add(d as usize);
        chars.next();
    }
    if width > MAX_WIDTH {
        return Err(too_wide("width", width));
    }
    let mut precision: Option<usize> = None;
    if chars.peek().map(|&(_, c)| c) == Some('.') {
        chars.next();
        let mut p = 0usize;
        while let Some(&(_, c)) = chars.peek() {
            let Some(d) = c.to_digit(10) else { break };
            p = p.saturating_mul(10).saturating_add(d as usize);
            chars.next();
        }
        if p > MAX_WIDTH {
            return Err(too_wide("precision", p));
        }
        precision = Some(p);
    }
    // Python accepts (and ignores) a length modifier.
    while matches!(chars.peek().map(|&(_, c)| c), Some('h' | 'l' | 'L')) {
        chars.next();
    }
    let (at, conv) = chars.next().ok_or_else(bad)?;
    let after = &spec[at + conv.len_utf8()..];
    let sign = if n < 0 {
        "-"
    } else if plus {
        "+"
    } else if space {
        " "
    } else {
        ""
    };
    let magnitude = n.unsigned_abs();
    let (prefix, digits, numeric) = match conv {
        'd' | 'i' | 'u' => ("", magnitude.to_string(), true),
        'x' => (if alt { "0x" } else { "" }, format!("{magnitude:x}"), true),
        'X' => (if alt { "0X" } else { "" }, format!("{magnitude:X}"), true),
        'o' => (if alt { "0o" } else { "" }, format!("{magnitude:o}"), true),
        'f' | 'F' => {
            let p = precision.unwrap_or(6);
            precision = None;
            ("", format!("{:.p$}", magnitude as f64), true)
        }
        's' | 'r' => {
            let mut s = n.to_string();
            if let Some(p) = precision {
                s.truncate(p);
            }
            ("", s, false)
        }
        'c' => {
            let c = u32::try_from(n)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(bad)?;
            ("", c.to_string(), false)
        }
        _ => return Err(bad()),
    };
    let body = if numeric {
        let digits = match precision {
            Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
            _ => digits,
        };
        let len = sign.len() + prefix.len() + digits.len();
        if zero && !left && len < width {
            format!("{sign}{prefix}{}{digits}", "0".repeat(width - len))
        } else {
            format!("{sign}{prefix}{digits}")
        }
    } else {
        digits
    };
    let pad = width.saturating_sub(body.chars().count());
    let body = if left {
        format!("{body}{}", " ".repeat(pad))
    } else {
        format!("{}{body}", " ".repeat(pad))
    };
    Ok(format!("{before}{body}{after}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(term: &str) -> Vec<String> {
        sequence(term)
            .unwrap()
            .into_iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    // Each expectation below is what ansible-core 2.19's sequence lookup
    // returned for the same term.
    #[test]
    fn key_value_and_shortcut_forms_as_ansible() {
        assert_eq!(
            seq("start=1 end=5 format=x%02d"),
            ["x01", "x02", "x03", "x04", "x05"]
        );
        assert_eq!(seq("5"), ["1", "2", "3", "4", "5"]);
        assert_eq!(seq("5-8"), ["5", "6", "7", "8"]);
        assert_eq!(seq("2-10/2"), ["2", "4", "6", "8", "10"]);
        assert_eq!(seq("4:host%02d"), ["host01", "host02", "host03", "host04"]);
        assert_eq!(seq("start=0 end=4 stride=2"), ["0", "2", "4"]);
        assert_eq!(seq("count=3"), ["1", "2", "3"]);
        assert_eq!(seq("start=0 count=5 stride=2"), ["0", "2", "4", "6", "8"]);
        assert_eq!(seq("start=010 end=012"), ["10", "11", "12"]);
        assert_eq!(seq("start=5 end=1 stride=-2"), ["5", "3", "1"]);
        assert!(seq("count=0").is_empty());
        assert!(seq("start=1 end=5 stride=0").is_empty());
    }

    #[test]
    fn a_count_past_the_64_bit_integers_names_the_overflow() {
        let e = sequence("start=-9223372036854775808 count=3 stride=-1").unwrap_err();
        assert!(
            e.contains("ends at -9223372036854775812 (start + count * stride - 1), past the 64-bit integers"),
            "{e}"
        );
        let e = sequence("start=9223372036854775807 count=2").unwrap_err();
        assert!(e.contains("ends at 9223372036854775808"), "{e}");
        // at the edge, within them
        assert_eq!(
            seq("start=9223372036854775806 count=2"),
            ["9223372036854775806", "9223372036854775807"]
        );
    }

    #[test]
    fn huge_widths_and_huge_totals_are_refused_not_built() {
        for term in [
            "start=1 end=2 format=%0999999999d",
            "start=1 end=2 format=%99999999999999999999999d",
            "start=1 end=2 format=%.999999999d",
        ] {
            let e = sequence(term).unwrap_err();
            assert!(e.contains("more than the 4096 baton allows"), "{term}: {e}");
        }
        assert_eq!(seq("start=1 end=1 format=%04096d")[0].len(), 4096);
        // a million items 4096 wide would be 4 GB
        let e = sequence("start=1 count=999999 format=%04000d").unwrap_err();
        assert!(e.contains("16 MiB limit"), "{e}");
        assert_eq!(sequence("count=999999").map(|v| v.len()), Ok(999_999));
    }

    #[test]
    fn the_widest_range_is_refused_by_the_item_bound_not_an_overflow() {
        let e = sequence("start=-9223372036854775808 end=9223372036854775807").unwrap_err();
        assert!(e.contains("at most 1000000"), "{e}");
        let e =
            sequence("start=9223372036854775807 end=-9223372036854775808 stride=-1").unwrap_err();
        assert!(e.contains("at most 1000000"), "{e}");
    }

    #[test]
    fn ansible_refusals() {
        let err = |t: &str| sequence(t).unwrap_err();
        assert_eq!(
            err("start=3 end=1"),
            "to count backwards make stride negative"
        );
        assert_eq!(
            err("start=1 end=3 stride=-1"),
            "to count forward don't make stride negative"
        );
        assert_eq!(err("start=1"), "must specify count or end in with_sequence");
        assert_eq!(
            err("end=3 count=2"),
            "can't specify both count and end in with_sequence"
        );
        assert_eq!(err("end=3 format=%d-%d"), "bad formatting string: %d-%d");
        assert!(
            err("start=0x0f end=3").contains("invalid value"),
            "{}",
            err("start=0x0f end=3")
        );
        assert!(err("end=3 bogus=1").contains("unrecognized arguments"));
        assert!(err("end=99999999999").contains("at most"));
    }

    #[test]
    fn printf_conversions_as_python() {
        let f = |fmt: &str, n: i64| format(fmt, n).unwrap();
        assert_eq!(f("%d", -3), "-3");
        assert_eq!(f("%05d", -3), "-0003");
        assert_eq!(f("%-4d|", 7), "7   |");
        assert_eq!(f("%+d", 7), "+7");
        assert_eq!(f("%x", 255), "ff");
        assert_eq!(f("%#06x", 255), "0x00ff");
        assert_eq!(f("%X", 255), "FF");
        assert_eq!(f("%o", 8), "10");
        assert_eq!(f("%#o", 8), "0o10");
        assert_eq!(f("%.3d", 5), "005");
        assert_eq!(f("%5s", 42), "   42");
        assert_eq!(f("%.2f", 3), "3.00");
        assert_eq!(f("node-%c", 65), "node-A");
        assert!(format("%q", 1).is_err());
    }
}
