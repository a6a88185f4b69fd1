//! Dates and times: the `strftime` and `to_datetime` filters, and the
//! Python `datetime`/`timedelta` values `to_datetime` returns.
//!
//! Source: ansible-core `plugins/filter/core.py`:
//! - `strftime(format, second=None, utc=False)`: Python's `time.strftime`
//!   of `time.localtime(second)` (`time.gmtime` with `utc=True`); without
//!   `second`, now.
//! - `to_datetime(format='%Y-%m-%d %H:%M:%S')`: `datetime.strptime`, a
//!   naive datetime. It prints as Python's `str()` (`2024-01-02 03:04:05`),
//!   has `year` ... `microsecond`, `strftime()`, `timestamp()`,
//!   `isoformat()`, `weekday()`; two of them subtract to a `timedelta`
//!   (`days`, `seconds`, `microseconds`, `total_seconds()`), as in the
//!   filter's documented example `((a | to_datetime) - (b |
//!   to_datetime)).days`. Datetimes compare with each other.
//!
//! Formats use chrono's `strftime` directives (the C ones Python passes on);
//! a directive chrono does not know is refused.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::format::{Item, StrftimeItems};
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike,
};
use minijinja::value::{Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A naive datetime (Python's `datetime.datetime` without tzinfo).
#[derive(Debug)]
pub struct PyDateTime(pub NaiveDateTime);

/// Python's `datetime.timedelta`.
#[derive(Debug)]
pub struct PyTimeDelta(pub TimeDelta);

/// Format with strftime directives, refusing ones chrono does not know
/// (chrono's `to_string` would panic on them).
pub fn strftime_with<T: chrono::TimeZone>(dt: &DateTime<T>, fmt: &str) -> Result<String, Error>
where
    T::Offset: std::fmt::Display,
{
    let items: Vec<Item<'_>> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(err(format!(
            "strftime: the format `{fmt}` has a directive that is not supported"
        )));
    }
    let mut out = String::new();
    write!(out, "{}", dt.format_with_items(items.into_iter()))
        .map_err(|_| err(format!("strftime: cannot format with `{fmt}`")))?;
    Ok(out)
}

/// The local UTC offset at a Unix time, from the C library (as Python's
/// `time.localtime` gets it).
fn local_offset(secs: i64) -> FixedOffset {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: localtime_r writes into the tm we own; t is a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    let off = if ok { tm.tm_gmtoff as i32 } else { 0 };
    FixedOffset::east_opt(off).unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc))
}

fn as_local(dt: NaiveDateTime) -> DateTime<FixedOffset> {
    // a naive time formats as itself; the offset only serves %z
    let secs = dt.and_utc().timestamp();
    let off = local_offset(secs);
    DateTime::from_naive_utc_and_offset(dt - TimeDelta::seconds(off.local_minus_utc().into()), off)
}

/// `strftime(format, second=None, utc=False)`.
pub fn strftime(fmt: String, second: Option<Value>, kw: Kwargs) -> Result<String, Error> {
    let utc = kw.get::<Option<bool>>("utc")?.unwrap_or(false);
    let second = match second {
        Some(s) => Some(s),
        None => kw.get::<Option<Value>>("second")?,
    };
    kw.assert_all_used()?;
    let secs: f64 = match second.filter(|s| !s.is_none()) {
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|_| err("strftime: the clock is before 1970"))?;
            now.as_secs_f64()
        }
        Some(v) => match v.as_str() {
            Some(s) => s.trim().parse::<f64>().ok(),
            None => f64::try_from(v.clone()).ok(),
        }
        .ok_or_else(|| err(format!("Invalid value for epoch value ({v})")))?,
    };
    let whole = secs.floor() as i64;
    let utc_dt = DateTime::from_timestamp(whole, 0)
        .ok_or_else(|| err(format!("strftime: {secs} is out of range")))?;
    if utc {
        strftime_with(&utc_dt.fixed_offset(), &fmt)
    } else {
        strftime_with(&utc_dt.with_timezone(&local_offset(whole)), &fmt)
    }
}

/// `to_datetime(format='%Y-%m-%d %H:%M:%S')`: Python's `strptime`; a
/// format with only a date gives midnight, only a time 1900-01-01.
pub fn to_datetime(s: Value, fmt: Option<String>) -> Result<Value, Error> {
    let text = super::python_repr::py_str(&s)?;
    let fmt = fmt.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".into());
    let parsed = NaiveDateTime::parse_from_str(&text, &fmt)
        .or_else(|_| NaiveDate::parse_from_str(&text, &fmt).map(|d| d.and_time(NaiveTime::MIN)))
        .or_else(|_| {
            NaiveTime::parse_from_str(&text, &fmt).map(|t| {
                NaiveDate::from_ymd_opt(1900, 1, 1)
                    .unwrap_or_default()
                    .and_time(t)
            })
        })
        .map_err(|_| err(format!("time data '{text}' does not match format '{fmt}'")))?;
    Ok(Value::from_object(PyDateTime(parsed)))
}

/// Python's `str(datetime)`.
fn dt_str(dt: &NaiveDateTime) -> String {
    let base = dt.format("%Y-%m-%d %H:%M:%S").to_string();
    let micros = dt.and_utc().timestamp_subsec_micros();
    if micros > 0 {
        format!("{base}.{micros:06}")
    } else {
        base
    }
}

/// Python's `str(timedelta)`: `1 day, 3:04:05`, `-1 day, 23:59:59`.
fn td_str(td: &TimeDelta) -> String {
    let (days, secs, micros) = td_parts(td);
    let clock = format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60);
    let clock = if micros > 0 {
        format!("{clock}.{micros:06}")
    } else {
        clock
    };
    match days {
        0 => clock,
        1 | -1 => format!("{days} day, {clock}"),
        _ => format!("{days} days, {clock}"),
    }
}

/// Python's normalised (days, seconds, microseconds): 0 <= seconds < 86400.
fn td_parts(td: &TimeDelta) -> (i64, i64, i64) {
    let total_micros = td.num_microseconds().unwrap_or(i64::MAX);
    let days = total_micros.div_euclid(86_400_000_000);
    let rest = total_micros.rem_euclid(86_400_000_000);
    (days, rest / 1_000_000, rest % 1_000_000)
}

impl Object for PyDateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let d = &self.0;
        Some(Value::from(match key.as_str()? {
            "year" => i64::from(d.year()),
            "month" => i64::from(d.month()),
            "day" => i64::from(d.day()),
            "hour" => i64::from(d.hour()),
            "minute" => i64::from(d.minute()),
            "second" => i64::from(d.second()),
            "microsecond" => i64::from(d.and_utc().timestamp_subsec_micros()),
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let d = &self.0;
        match (method, args) {
            ("strftime", [fmt]) => {
                let fmt = fmt
                    .as_str()
                    .ok_or_else(|| err("strftime() expects a string"))?;
                strftime_with(&as_local(*d), fmt).map(Value::from)
            }
            ("timestamp", []) => {
                let local = as_local(*d);
                Ok(Value::from(
                    local.timestamp() as f64 + f64::from(local.timestamp_subsec_micros()) / 1e6,
                ))
            }
            ("isoformat", []) => Ok(Value::from(dt_str(d).replacen(' ', "T", 1))),
            ("weekday", []) => Ok(Value::from(i64::from(d.weekday().num_days_from_monday()))),
            ("isoweekday", []) => Ok(Value::from(i64::from(d.weekday().number_from_monday()))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&dt_str(&self.0))
    }
}

impl Object for PyTimeDelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (days, secs, micros) = td_parts(&self.0);
        Some(Value::from(match key.as_str()? {
            "days" => days,
            "seconds" => secs,
            "microseconds" => micros,
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match (method, args) {
            ("total_seconds", []) => Ok(Value::from(
                self.0.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6,
            )),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !self.0.is_zero()
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&td_str(&self.0))
    }
}

/// Python's type name for the objects of this module.
pub fn py_type(v: &Value) -> Option<&'static str> {
    if v.downcast_object_ref::<PyDateTime>().is_some() {
        Some("datetime.datetime")
    } else if v.downcast_object_ref::<PyTimeDelta>().is_some() {
        Some("datetime.timedelta")
    } else {
        None
    }
}

/// Order two datetimes or two timedeltas; `None` for anything else.
pub fn compare(a: &Value, b: &Value) -> Option<Option<Ordering>> {
    if let (Some(x), Some(y)) = (
        a.downcast_object_ref::<PyDateTime>(),
        b.downcast_object_ref::<PyDateTime>(),
    ) {
        return Some(Some(x.0.cmp(&y.0)));
    }
    if let (Some(x), Some(y)) = (
        a.downcast_object_ref::<PyTimeDelta>(),
        b.downcast_object_ref::<PyTimeDelta>(),
    ) {
        return Some(Some(x.0.cmp(&y.0)));
    }
    None
}

/// `a - b` for datetime - datetime (a timedelta), datetime - timedelta,
/// timedelta - timedelta; `None` when neither is one of these.
pub fn subtract(a: &Value, b: &Value) -> Option<Result<Value, Error>> {
    let dt = |v: &Value| v.downcast_object_ref::<PyDateTime>().map(|d| d.0);
    let td = |v: &Value| v.downcast_object_ref::<PyTimeDelta>().map(|d| d.0);
    let overflow = || err("date value out of range");
    Some(match (dt(a), dt(b), td(a), td(b)) {
        (Some(x), Some(y), _, _) => Ok(Value::from_object(PyTimeDelta(x - y))),
        (Some(x), _, _, Some(d)) => x
            .checked_sub_signed(d)
            .map(|r| Value::from_object(PyDateTime(r)))
            .ok_or_else(overflow),
        (_, _, Some(x), Some(y)) => x
            .checked_sub(&y)
            .map(|r| Value::from_object(PyTimeDelta(r)))
            .ok_or_else(overflow),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::env::environment;
    use super::super::rewrite;

    fn eval(expr: &str) -> String {
        let env = environment();
        let src = rewrite::expression(expr).text;
        env.compile_expression_owned(src)
            .and_then(|e| e.eval(()))
            .and_then(|v| super::super::python_repr::py_str(&v))
            .unwrap_or_else(|e| format!("ERROR {}", e.detail().unwrap_or_default()))
    }

    /// Expected values are what ansible-core 2.19 printed for each expression.
    #[test]
    fn to_datetime_and_its_arithmetic_as_ansible() {
        assert_eq!(
            eval("'2024-01-02 03:04:05' | to_datetime"),
            "2024-01-02 03:04:05"
        );
        assert_eq!(eval("('2024-01-02 03:04:05' | to_datetime).year"), "2024");
        let delta =
            "(('2024-01-02 03:04:05' | to_datetime) - ('2024-01-01 00:00:00' | to_datetime))";
        assert_eq!(eval(&format!("{delta}.total_seconds()")), "97445.0");
        assert_eq!(eval(&format!("{delta}.days")), "1");
        assert_eq!(eval(delta), "1 day, 3:04:05");
        assert_eq!(
            eval("('2024-01-02' | to_datetime('%Y-%m-%d')).strftime('%d/%m')"),
            "02/01"
        );
        assert_eq!(
            eval("('2024-01-02' | to_datetime('%Y-%m-%d')) < ('2024-01-03' | to_datetime('%Y-%m-%d'))"),
            "True"
        );
        assert!(eval("'2024-13-02' | to_datetime").starts_with("ERROR time data"));
    }

    #[test]
    fn strftime_of_epoch_seconds() {
        assert_eq!(eval("'%Y-%m-%d' | strftime(0, utc=true)"), "1970-01-01");
        assert_eq!(
            eval("'%Y-%m-%d %H:%M:%S' | strftime(86400.5, utc=true)"),
            "1970-01-02 00:00:00"
        );
        assert!(eval("'%Q' | strftime(0)").starts_with("ERROR strftime"));
        // now: a four-digit year
        assert_eq!(eval("'%Y' | strftime").len(), 4);
    }
}
