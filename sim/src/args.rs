//! Command-line parsing in HVR's style: single-letter options whose value is glued on (`-t5`,
//! `-rdb1`) or, for value options, may follow as the next argument (`-t 5`); then operands.
//! Also the GNU style (`--name value`) used by the simulator's own client.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{SimError, SimResult};
use crate::timefmt::parse_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Flag,
    Value,
}

#[derive(Debug, Default)]
pub struct Parsed {
    options: Vec<(char, Option<String>)>,
    pub operands: Vec<String>,
}

pub fn parse(args: &[String], spec: &[(char, Kind)]) -> SimResult<Parsed> {
    let mut parsed = Parsed::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            parsed.operands.extend(iter.by_ref().cloned());
            break;
        }
        let Some(body) = arg.strip_prefix('-').filter(|b| !b.is_empty()) else {
            parsed.operands.push(arg.clone());
            continue;
        };
        let mut chars = body.chars();
        let letter = chars.next().unwrap_or('-');
        let rest: String = chars.collect();
        let kind = spec
            .iter()
            .find(|(l, _)| *l == letter)
            .map(|(_, k)| *k)
            .ok_or_else(|| SimError::usage(format!("unknown option {arg}")))?;
        match kind {
            Kind::Flag if rest.is_empty() => parsed.options.push((letter, None)),
            Kind::Flag => {
                return Err(SimError::usage(format!(
                    "option -{letter} takes no value (got {arg})"
                )))
            }
            Kind::Value if !rest.is_empty() => parsed.options.push((letter, Some(rest))),
            Kind::Value => {
                let value = iter
                    .next()
                    .ok_or_else(|| SimError::usage(format!("option -{letter} needs a value")))?;
                parsed.options.push((letter, Some(value.clone())));
            }
        }
    }
    Ok(parsed)
}

impl Parsed {
    pub fn flag(&self, letter: char) -> bool {
        self.options.iter().any(|(l, _)| *l == letter)
    }

    /// The option's value; given twice is an error.
    pub fn value(&self, letter: char) -> SimResult<Option<&str>> {
        let mut values = self
            .options
            .iter()
            .filter(|(l, _)| *l == letter)
            .filter_map(|(_, v)| v.as_deref());
        let first = values.next();
        if values.next().is_some() {
            return Err(SimError::usage(format!(
                "option -{letter} given more than once"
            )));
        }
        Ok(first)
    }

    /// A timeout such as `-t5` (seconds; `-t0.5` and `-t500ms` work too).
    pub fn duration(&self, letter: char) -> SimResult<Option<Duration>> {
        self.value(letter)?
            .map(|text| {
                parse_duration(text, "s").map_err(|e| SimError::usage(format!("-{letter}: {e}")))
            })
            .transpose()
    }

    /// Exactly `names.len()` operands, in that order.
    pub fn exact_operands<const N: usize>(&self, names: [&str; N]) -> SimResult<[&str; N]> {
        if self.operands.len() != N {
            let expected = if N == 0 {
                "no arguments".to_string()
            } else {
                names.join(" ")
            };
            return Err(SimError::usage(format!(
                "expected {expected} (got {} argument{})",
                self.operands.len(),
                if self.operands.len() == 1 { "" } else { "s" }
            )));
        }
        Ok(std::array::from_fn(|i| self.operands[i].as_str()))
    }
}

/// `--name value` / `--name=value` options, `--flag` switches, and operands.
#[derive(Debug, Default)]
pub struct Gnu {
    values: BTreeMap<String, String>,
    flags: Vec<String>,
    pub operands: Vec<String>,
}

pub fn parse_gnu(args: &[String], value_options: &[&str], flag_options: &[&str]) -> SimResult<Gnu> {
    let mut parsed = Gnu::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let Some(body) = arg.strip_prefix("--") else {
            parsed.operands.push(arg.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if flag_options.contains(&name) && inline.is_none() {
            parsed.flags.push(name.to_string());
        } else if value_options.contains(&name) {
            let value = match inline {
                Some(v) => v,
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| SimError::usage(format!("--{name} needs a value")))?,
            };
            if parsed.values.insert(name.to_string(), value).is_some() {
                return Err(SimError::usage(format!("--{name} given more than once")));
            }
        } else {
            return Err(SimError::usage(format!("unknown option --{name}")));
        }
    }
    Ok(parsed)
}

impl Gnu {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    pub fn required(&self, name: &str) -> SimResult<&str> {
        self.get(name)
            .ok_or_else(|| SimError::usage(format!("--{name} is required")))
    }

    pub fn number<T: std::str::FromStr>(&self, name: &str) -> SimResult<Option<T>> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| SimError::usage(format!("--{name}: {v:?} is not a number")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hvr_style_options_glued_or_separate() {
        let spec = [('k', Kind::Flag), ('t', Kind::Value), ('r', Kind::Value)];
        let parsed = parse(&strings(&["-k", "-t", "5", "-rdb1", "hubdb"]), &spec).unwrap();
        assert!(parsed.flag('k'));
        assert_eq!(parsed.duration('t').unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(parsed.value('r').unwrap(), Some("db1"));
        assert_eq!(parsed.exact_operands(["HUBDB"]).unwrap(), ["hubdb"]);
        let glued = parse(&strings(&["-t0.5", "h"]), &spec).unwrap();
        assert_eq!(
            glued.duration('t').unwrap(),
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn hvr_style_errors_are_usage_errors() {
        let spec = [('k', Kind::Flag), ('t', Kind::Value)];
        for bad in [&["-x"][..], &["-kx"], &["-t"], &["-t1", "-t2"]] {
            let result = parse(&strings(bad), &spec).and_then(|p| p.value('t').map(|_| ()));
            assert!(matches!(result, Err(SimError::Usage(_))), "{bad:?}");
        }
        let parsed = parse(&strings(&["a", "b"]), &spec).unwrap();
        assert!(parsed.exact_operands(["HUBDB"]).is_err());
    }

    #[test]
    fn gnu_style_values_flags_and_operands() {
        let parsed = parse_gnu(
            &strings(&["write", "--host", "10.0.0.1", "--port=21064", "--quiet"]),
            &["host", "port"],
            &["quiet"],
        )
        .unwrap();
        assert_eq!(parsed.operands, vec!["write".to_string()]);
        assert_eq!(parsed.get("host"), Some("10.0.0.1"));
        assert_eq!(parsed.number::<u16>("port").unwrap(), Some(21064));
        assert!(parsed.flag("quiet"));
        assert!(parse_gnu(&strings(&["--nope"]), &["host"], &[]).is_err());
        assert!(parse_gnu(&strings(&["--host"]), &["host"], &[]).is_err());
    }
}
