//! Host entries of an inventory: `web1:2222` ports and `web[01:10]` /
//! `db-[a:c]` ranges, expanded to host names as Ansible does.

use crate::error::InputError;
use crate::source::Origin;

/// A `[1:1000000]` typo must not allocate a million hosts.
const MAX_RANGE_HOSTS: usize = 100_000;
/// The widest zero-padded range bound (`[0001:0100]` is 4 wide).
const MAX_PADDED_WIDTH: usize = 64;

/// Split `host:PORT` or `[v6addr]:PORT`; Ansible's rules (a colon inside
/// `[...]` is a range, a bare IPv6 address keeps its colons).
pub(super) fn split_port(
    entry: &str,
    origin: &Origin,
) -> Result<(String, Option<u16>), InputError> {
    let port_error = |digits: &str| {
        InputError::at(
            origin,
            format!("port {digits} in `{entry}` is out of range"),
            "bad port",
        )
        .with_help("a port is a number from 1 to 65535")
    };
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some(close) = rest.rfind("]:") {
            let (inner, digits) = (&rest[..close], &rest[close + 2..]);
            if !inner.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            {
                let port = digits
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| port_error(digits))?;
                return Ok((inner.to_string(), Some(port)));
            }
        }
    }
    if let Some(colon) = entry.rfind(':') {
        let (host, digits) = (&entry[..colon], &entry[colon + 1..]);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && is_plain_host_part(host)
        {
            let port = digits
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| port_error(digits))?;
            return Ok((host.to_string(), Some(port)));
        }
    }
    if entry.ends_with(':') && !entry.ends_with("::") {
        return Err(InputError::at(
            origin,
            format!("host `{entry}` ends in `:`"),
            "trailing colon",
        )
        .with_help(
            "`:` after a host name introduces its port (`web1:2222`); remove it or add the port",
        ));
    }
    Ok((entry.to_string(), None))
}

/// Ansible's `hostport` rule: no colon outside complete `[...]` groups.
fn is_plain_host_part(host: &str) -> bool {
    let mut in_brackets = false;
    for c in host.chars() {
        match (c, in_brackets) {
            ('[', false) => in_brackets = true,
            (']', true) => in_brackets = false,
            (':' | ']', false) => return false,
            _ => {}
        }
    }
    !in_brackets
}

/// A host entry of an inventory: a name or a `web[01:10]` / `db-[a:c]` range
/// (with an optional `:step`), optionally followed by `:PORT`.
pub(super) fn expand_host_entry(
    entry: &str,
    origin: &Origin,
) -> Result<(Vec<String>, Option<u16>), InputError> {
    let (host, port) = split_port(entry, origin)?;
    check_host_name(&host, origin)?;
    if !host.contains('[') {
        if host.contains(']') {
            return Err(range_error(origin, entry, "`]` without a matching `[`"));
        }
        return Ok((vec![host], port));
    }
    let mut names = Vec::new();
    expand_ranges(&host, &mut names).map_err(|why| range_error(origin, entry, &why))?;
    Ok((names, port))
}

/// A host name is one line of printable text: a newline, carriage return,
/// tab or other control character (C0, DEL, C1) in it is refused, as it
/// would break (or forge) the lines of the report that name the host
/// (`-i $'localhost\nPLAY RECAP,'`), and no host is reached by such a name.
pub(super) fn check_host_name(name: &str, origin: &Origin) -> Result<(), InputError> {
    let Some(bad) = name.chars().find(|c| c.is_control()) else {
        return Ok(());
    };
    let what = match bad {
        '\n' => "a newline".to_string(),
        '\r' => "a carriage return".to_string(),
        '\t' => "a tab".to_string(),
        c => format!("the control character U+{:04X}", c as u32),
    };
    Err(InputError::at(
        origin,
        format!(
            "host name `{}` contains {what}; a host name must be one line of printable characters",
            name.escape_debug()
        ),
        "this host",
    )
    .with_help("rename the host in the inventory (give its address with `ansible_host` if needed)"))
}

fn range_error(origin: &Origin, entry: &str, why: &str) -> InputError {
    InputError::at(origin, format!("bad host range in `{entry}`: {why}"), "bad range").with_help(
        "a range is [START:END] or [START:END:STEP] of numbers (`web[01:10]`, zero-padded alike) or single letters (`db-[a:f]`); an IPv6 address takes brackets only with a port (`[::1]:22`)",
    )
}

fn expand_ranges(pattern: &str, names: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = pattern.find('[') else {
        if pattern.contains(']') {
            return Err("`]` without a matching `[`".into());
        }
        names.push(pattern.to_string());
        return Ok(());
    };
    let head = &pattern[..open];
    if head.contains(']') {
        return Err("`]` without a matching `[`".into());
    }
    let Some(close) = pattern[open..].find(']').map(|i| open + i) else {
        return Err("`[` is never closed".into());
    };
    let range = &pattern[open + 1..close];
    let tail = &pattern[close + 1..];
    let bounds: Vec<&str> = range.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!("`[{range}]` is not START:END or START:END:STEP"));
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(format!("`[{range}]` has no end"));
    }
    let step = match bounds.get(2) {
        None => 1,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("step `{s}` must be a positive whole number")),
        },
    };
    let values: Vec<String> = if is_letter(begin) && is_letter(end) {
        const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let (b, e) = (
            LETTERS.find(begin).unwrap_or(0),
            LETTERS.find(end).unwrap_or(0),
        );
        if b > e {
            return Err(format!("`{begin}` comes after `{end}`"));
        }
        LETTERS[b..=e]
            .chars()
            .step_by(step)
            .map(String::from)
            .collect()
    } else {
        let b: u64 = begin
            .parse()
            .map_err(|_| format!("`{begin}` is not a number or a single letter"))?;
        let e: u64 = end
            .parse()
            .map_err(|_| format!("`{end}` is not a number or a single letter"))?;
        if b > e {
            return Err(format!("start {begin} is after end {end}"));
        }
        let count = ((e - b) / step as u64).saturating_add(1);
        if count as usize > MAX_RANGE_HOSTS || names.len() + count as usize > MAX_RANGE_HOSTS {
            return Err(format!("it makes more than {MAX_RANGE_HOSTS} hosts"));
        }
        let width = if begin.len() > 1 && begin.starts_with('0') {
            if begin.len() != end.len() {
                return Err(format!(
                    "zero-padded `{begin}` and `{end}` must have the same width"
                ));
            }
            // A number has at most 20 digits; a wider padding is a mistake
            // (and `{:0width$}` panics beyond 65,535).
            if begin.len() > MAX_PADDED_WIDTH {
                return Err(format!(
                    "zero-padded `{begin}` is {} digits wide, more than the {MAX_PADDED_WIDTH} baton accepts",
                    begin.len()
                ));
            }
            begin.len()
        } else {
            0
        };
        (b..=e)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    };
    for value in values {
        expand_ranges(&format!("{head}{value}{tail}"), names)?;
        if names.len() > MAX_RANGE_HOSTS {
            return Err(format!("it makes more than {MAX_RANGE_HOSTS} hosts"));
        }
    }
    Ok(())
}

fn is_letter(s: &str) -> bool {
    s.len() == 1 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::synthetic("t", "x")
    }

    #[test]
    fn expands_numeric_alpha_and_stepped_ranges() {
        let (names, port) = expand_host_entry("web[01:03].example.com", &origin()).unwrap();
        assert_eq!(
            names,
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(port, None);
        let (names, _) = expand_host_entry("db-[a:c]", &origin()).unwrap();
        assert_eq!(names, ["db-a", "db-b", "db-c"]);
        let (names, _) = expand_host_entry("n[1:7:3]", &origin()).unwrap();
        assert_eq!(names, ["n1", "n4", "n7"]);
        let (names, _) = expand_host_entry("r[1:2]c[a:b]", &origin()).unwrap();
        assert_eq!(names, ["r1ca", "r1cb", "r2ca", "r2cb"]);
        let (names, port) = expand_host_entry("app[8:10]:2222", &origin()).unwrap();
        assert_eq!(names, ["app8", "app9", "app10"]);
        assert_eq!(port, Some(2222));
    }

    #[test]
    fn bad_ranges_are_errors() {
        for (entry, why) in [
            ("web[1:x]", "`x` is not a number"),
            ("web[1:3", "never closed"),
            ("web[5:1]", "after end"),
            ("web[01:100]", "same width"),
            ("web[1]", "not START:END"),
            ("web[1:]", "has no end"),
            ("web[1:4:0]", "positive"),
            ("web[0:999999]", "more than"),
            ("[::1]", "has no end"),
        ] {
            let err = expand_host_entry(entry, &origin()).unwrap_err();
            assert!(err.message.contains(why), "{entry}: {}", err.message);
        }
    }

    #[test]
    fn ports_and_ipv6() {
        assert_eq!(
            split_port("web1:2222", &origin()).unwrap(),
            ("web1".into(), Some(2222))
        );
        assert_eq!(
            split_port("[::1]:22", &origin()).unwrap(),
            ("::1".into(), Some(22))
        );
        assert_eq!(
            split_port("fe80::1", &origin()).unwrap(),
            ("fe80::1".into(), None)
        );
        assert_eq!(
            split_port("10.0.0.1", &origin()).unwrap(),
            ("10.0.0.1".into(), None)
        );
        assert!(split_port("web1:", &origin())
            .unwrap_err()
            .message
            .contains("ends in `:`"));
        assert!(split_port("web1:70000", &origin())
            .unwrap_err()
            .message
            .contains("out of range"));
    }

    #[test]
    fn a_zero_padding_wider_than_a_number_is_refused_not_a_panic() {
        let wide = format!("h[{}:{}1]", "0".repeat(70_000), "0".repeat(69_999));
        let err = expand_host_entry(&wide, &origin()).unwrap_err();
        assert!(format!("{err:?}").contains("70000 digits wide"), "{err:?}");
        let (names, _) = expand_host_entry("h[0008:0010]", &origin()).unwrap();
        assert_eq!(names, ["h0008", "h0009", "h0010"]);
    }
}
