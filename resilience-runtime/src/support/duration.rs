//! Printing durations the way people write them: `250ms`, `1.5s`, `2m`, `1h30m`.
//!
//! Every message of this crate (the [`Elapsed`](crate::Elapsed) error, the
//! events, the `tracing` fields) prints durations with [`fmt_duration`], in
//! the same notation the attributes accept.

use core::fmt;
use core::time::Duration;

/// Formats `duration` in the notation of the attributes: `"250ms"`, `"1.5s"`,
/// `"30s"`, `"2m"`, `"1h30m"`, `"500us"`, `"10ns"`.
///
/// Nothing is allocated: the returned value implements [`Display`](fmt::Display)
/// and does the work when it is printed.
///
/// - From one minute up, the hours, minutes and seconds that are not zero are
///   written side by side (`"1h30m"`, `"2m5s"`).
/// - Below that, the largest unit that fits is used (`s`, `ms`, `us`, `ns`),
///   with at most three decimals, the trailing zeros removed. Further digits
///   are cut, not rounded: `1.2345s` prints as `"1.234s"`.
/// - [`Duration::ZERO`] prints as `"0s"`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::fmt_duration;
///
/// assert_eq!(fmt_duration(Duration::from_millis(250)).to_string(), "250ms");
/// assert_eq!(fmt_duration(Duration::from_millis(1500)).to_string(), "1.5s");
/// assert_eq!(fmt_duration(Duration::from_secs(90 * 60)).to_string(), "1h30m");
/// assert_eq!(fmt_duration(Duration::from_nanos(10)).to_string(), "10ns");
/// ```
pub const fn fmt_duration(duration: Duration) -> DisplayDuration {
    DisplayDuration(duration)
}

/// A [`Duration`] that prints like `"1.5s"`; made by [`fmt_duration`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::duration::DisplayDuration;
///
/// let shown = DisplayDuration(Duration::from_secs(120));
/// assert_eq!(format!("retrying in {shown}"), "retrying in 2m");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DisplayDuration(pub Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d >= Duration::from_secs(60) {
            let secs = d.as_secs();
            let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
            if h > 0 {
                write!(f, "{h}h")?;
            }
            if m > 0 {
                write!(f, "{m}m")?;
            }
            let millis = d.subsec_millis();
            if s > 0 || millis > 0 {
                write!(f, "{s}")?;
                write_fraction(f, millis)?;
                f.write_str("s")?;
            }
            Ok(())
        } else if d.is_zero() {
            f.write_str("0s")
        } else {
            let nanos = d.as_nanos();
            let (scale, unit) = match nanos {
                1_000_000_000.. => (1_000_000_000, "s"),
                1_000_000.. => (1_000_000, "ms"),
                1_000.. => (1_000, "us"),
                _ => (1, "ns"),
            };
            write!(f, "{}", nanos / scale)?;
            // Three decimals of the unit, i.e. `scale / 1000` per step.
            let thousandths = (nanos % scale) / (scale / 1000).max(1);
            write_fraction(f, u32::try_from(thousandths).unwrap_or(0))?;
            f.write_str(unit)
        }
    }
}

/// Writes `.xyz` for `thousandths` in `0..1000`, trailing zeros removed.
fn write_fraction(f: &mut fmt::Formatter<'_>, thousandths: u32) -> fmt::Result {
    if thousandths == 0 {
        return Ok(());
    }
    let (mut value, mut width) = (thousandths, 3);
    while value % 10 == 0 {
        value /= 10;
        width -= 1;
    }
    write!(f, ".{value:0width$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(d: Duration) -> String {
        fmt_duration(d).to_string()
    }

    #[test]
    fn prints_like_the_attributes() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(10), "10ns"),
            (Duration::from_nanos(1_500), "1.5us"),
            (Duration::from_micros(500), "500us"),
            (Duration::from_micros(1_250), "1.25ms"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(1_000), "1s"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_millis(1_005), "1.005s"),
            (Duration::from_nanos(1_234_567_891), "1.234s"),
            (Duration::from_secs(30), "30s"),
            (Duration::from_secs(59), "59s"),
            (Duration::from_secs(60), "1m"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_secs(125), "2m5s"),
            (Duration::from_millis(90_500), "1m30.5s"),
            (Duration::from_secs(3_600), "1h"),
            (Duration::from_secs(5_400), "1h30m"),
            (Duration::from_secs(3_601), "1h1s"),
            (Duration::from_secs(100 * 3_600), "100h"),
        ];
        for (d, want) in cases {
            assert_eq!(show(d), want, "{d:?}");
        }
    }

    #[test]
    fn huge_durations_print() {
        assert_eq!(show(Duration::MAX), "5124095576030431h15.999s");
    }
}
