//! Durations written in attributes: `"250ms"`, `"1.5s"`, `"2m"`, `"1h30m"`, or a
//! bare number of seconds (`30`, `1.5`). Parsed and checked at compile time.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

/// A positive duration known at compile time, with the span of the literal it came from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dur {
    pub nanos: u64,
    pub span: Span,
}

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
];

const FORMAT_HINT: &str = "write a number with a unit (ns, us, ms, s, m, h), e.g. \"250ms\", \"1.5s\" or \"1h30m\", or a bare number of seconds";

impl Dur {
    /// Parses a duration value: a string literal with units, or an integer or
    /// float literal meaning seconds. `what` names the key in messages.
    pub(crate) fn from_expr(expr: &syn::Expr, what: &str) -> syn::Result<Self> {
        match expr {
            syn::Expr::Lit(syn::ExprLit { lit, .. }) => Self::from_lit(lit, what),
            syn::Expr::Group(group) => Self::from_expr(&group.expr, what),
            syn::Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Neg(_),
                ..
            }) => Err(syn::Error::new_spanned(
                expr,
                format!("`{what}` must be a positive duration"),
            )),
            _ => Err(syn::Error::new_spanned(
                expr,
                format!("`{what}` must be a duration literal; {FORMAT_HINT}"),
            )),
        }
    }

    pub(crate) fn from_lit(lit: &syn::Lit, what: &str) -> syn::Result<Self> {
        Self::from_number_lit(lit, what, 1_000_000_000)
    }

    /// Like [`Dur::from_lit`], but a bare number counts `scale` nanoseconds
    /// (`1_000_000` for `ms = 500`).
    pub(crate) fn from_number_lit(lit: &syn::Lit, what: &str, scale: u128) -> syn::Result<Self> {
        let span = lit.span();
        let nanos = match lit {
            syn::Lit::Str(s) => parse_str(&s.value()).map_err(|reason| {
                if reason.contains("has no unit") {
                    format!("malformed duration for `{what}`: {reason}")
                } else {
                    format!("malformed duration for `{what}`: {reason}; {FORMAT_HINT}")
                }
            }),
            syn::Lit::Int(i) if !i.suffix().is_empty() => {
                Err(suffix_message(what, i.base10_digits(), i.suffix()))
            }
            syn::Lit::Float(f) if !f.suffix().is_empty() => {
                Err(suffix_message(what, f.base10_digits(), f.suffix()))
            }
            syn::Lit::Int(i) => parse_number(i.base10_digits(), scale)
                .ok_or_else(|| format!("`{what}` is too large")),
            syn::Lit::Float(f) => parse_decimal(f.base10_digits(), scale)
                .ok_or_else(|| format!("malformed duration for `{what}`; {FORMAT_HINT}")),
            _ => Err(format!("`{what}` must be a duration; {FORMAT_HINT}")),
        }
        .map_err(|message| syn::Error::new(span, message))?;
        if nanos == 0 {
            return Err(syn::Error::new(
                span,
                format!("`{what}` must be greater than zero"),
            ));
        }
        let nanos = u64::try_from(nanos).map_err(|_| {
            syn::Error::new(span, format!("`{what}` is too large (at most ~584 years)"))
        })?;
        Ok(Self { nanos, span })
    }

    /// A `::resilience::__private::Duration` constructor expression, in the
    /// most readable unit that is exact.
    pub(crate) fn to_tokens(self) -> TokenStream {
        let n = self.nanos;
        let (ctor, value) = if n.is_multiple_of(1_000_000_000) {
            (quote!(from_secs), n / 1_000_000_000)
        } else if n.is_multiple_of(1_000_000) {
            (quote!(from_millis), n / 1_000_000)
        } else if n.is_multiple_of(1_000) {
            (quote!(from_micros), n / 1_000)
        } else {
            (quote!(from_nanos), n)
        };
        let value = proc_macro2::Literal::u64_unsuffixed(value);
        quote_spanned!(self.span=> ::resilience::__private::Duration::#ctor(#value))
    }
}

/// A number literal with a suffix: `2s`, `250ms`, `1h30m` (a duration
/// without its quotes) or `2u32`. The hint is code that compiles where the
/// literal was written: the key's own form (`delay = "2s"`), the positional
/// form of `#[timeout("2s")]`, or the plain number for `seconds = 2` and
/// `ms = 500`.
/// A duration as the runtime's `fmt_duration` prints it (`250ms`, `1.5s`,
/// `2m5s`, `1h30m`), so that a diagram and the events name a limit alike.
/// The same rule, kept in step by a test against `fmt_duration` itself:
///
/// - from one minute up, the hours, minutes and seconds that are not zero,
///   side by side, the seconds with up to three decimals (milliseconds);
/// - below that, the largest unit that fits (`s`, `ms`, `us`, `ns`) with up
///   to three decimals, trailing zeros removed, further digits cut;
/// - zero is `0s`.
pub(crate) fn human(nanos: u64) -> String {
    const SECOND: u64 = 1_000_000_000;
    let mut out = String::new();
    if nanos >= 60 * SECOND {
        let secs = nanos / SECOND;
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let millis = nanos % SECOND / 1_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if s > 0 || millis > 0 {
            out.push_str(&format!("{s}{}s", fraction(millis)));
        }
        return out;
    }
    if nanos == 0 {
        return "0s".to_owned();
    }
    let (scale, unit) = match nanos {
        SECOND.. => (SECOND, "s"),
        1_000_000.. => (1_000_000, "ms"),
        1_000.. => (1_000, "us"),
        _ => (1, "ns"),
    };
    let thousandths = nanos % scale / (scale / 1000).max(1);
    format!("{}{}{unit}", nanos / scale, fraction(thousandths))
}

/// `.xyz` for `thousandths` in `0..1000`, trailing zeros removed.
fn fraction(thousandths: u64) -> String {
    if thousandths == 0 {
        return String::new();
    }
    let digits = format!(".{thousandths:03}");
    digits.trim_end_matches('0').to_owned()
}

fn suffix_message(what: &str, digits: &str, suffix: &str) -> String {
    let text = format!("{digits}{suffix}");
    if parse_str(&text).is_ok() {
        match (what, suffix) {
            ("seconds", "s") => {
                format!("`seconds` takes a bare number: write `seconds = {digits}`")
            }
            ("ms", "ms") => format!("`ms` takes a bare number: write `ms = {digits}`"),
            ("timeout" | "seconds" | "ms", _) => {
                format!("write the duration as a string: `#[timeout(\"{text}\")]`")
            }
            _ => format!("write the duration as a string: `{what} = \"{text}\"`"),
        }
    } else {
        format!(
            "`{what}` takes a duration string like \"{digits}ms\" or a bare number of seconds, not a `{suffix}` literal"
        )
    }
}

/// `"1h30m"` → nanoseconds. A sequence of `<number><unit>` pairs.
fn parse_str(text: &str) -> Result<u128, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the string is empty".into());
    }
    let mut rest = text;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() {
            if rest.starts_with('-') {
                return Err("durations are positive".into());
            }
            return Err(format!("expected a number at `{rest}`"));
        }
        let tail = tail.trim_start();
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!(
                "`{number}` has no unit: write \"{number}s\" or \"{number}ms\", or the number {number} without quotes for seconds"
            ));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!("unknown unit `{unit}`"));
        };
        let nanos =
            parse_number(number, scale).ok_or_else(|| format!("`{number}` is not a number"))?;
        total = total
            .checked_add(nanos)
            .ok_or_else(|| "the duration is too large".to_string())?;
        rest = tail.trim_start();
    }
    Ok(total)
}

/// A float literal's digits, with an exponent (`1e3`, `2.5E-1`) or not.
fn parse_decimal(digits: &str, scale: u128) -> Option<u128> {
    if !digits.contains(['e', 'E']) {
        return parse_number(digits, scale);
    }
    let value: f64 = digits.replace('_', "").parse().ok()?;
    let nanos = value * scale as f64;
    (nanos.is_finite() && nanos >= 0.0 && nanos < u64::MAX as f64).then_some(nanos as u128)
}

/// A decimal number (`"1.5"`, `"250"`, `"1_000"`) times `scale`, rounded down to whole nanoseconds.
fn parse_number(number: &str, scale: u128) -> Option<u128> {
    let number: String = number.chars().filter(|&c| c != '_').collect();
    let (int, frac) = match number.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (number.as_str(), ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int_part: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut total = int_part.checked_mul(scale)?;
    // Fractional digits beyond nanosecond precision are dropped.
    let mut place = scale;
    for digit in frac.chars() {
        place /= 10;
        if place == 0 {
            break;
        }
        total = total.checked_add(u128::from(digit.to_digit(10)?) * place)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(parse_str("250ms"), Ok(250_000_000));
        assert_eq!(parse_str("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_str("30s"), Ok(30_000_000_000));
        assert_eq!(parse_str("2m"), Ok(120_000_000_000));
        assert_eq!(parse_str("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_str("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_str("1m 30s"), Ok(90_000_000_000));
        assert_eq!(parse_str("500us"), Ok(500_000));
        assert_eq!(parse_str("10ns"), Ok(10));
        assert_eq!(parse_str(" 2 s "), Ok(2_000_000_000));
        assert_eq!(parse_str("0.5ms"), Ok(500_000));
        assert_eq!(parse_decimal("1e3", 1_000_000_000), Some(1_000_000_000_000));
        assert_eq!(parse_decimal("2.5E-1", 1_000_000_000), Some(250_000_000));
        assert_eq!(parse_decimal("1e400", 1_000_000_000), None);
    }

    /// Every hint for a duration written without quotes is code that the
    /// attribute accepts.
    #[test]
    fn unquoted_duration_hints_compile() {
        let cases = [
            ("timeout", "2", "s", "#[timeout(\"2s\")]"),
            ("timeout", "1", "h30m", "#[timeout(\"1h30m\")]"),
            ("delay", "250", "ms", "delay = \"250ms\""),
            ("max_delay", "2", "s", "max_delay = \"2s\""),
            ("max_elapsed", "1", "m", "max_elapsed = \"1m\""),
            ("seconds", "2", "s", "seconds = 2"),
            ("seconds", "500", "ms", "#[timeout(\"500ms\")]"),
            ("ms", "500", "ms", "ms = 500"),
            ("ms", "2", "s", "#[timeout(\"2s\")]"),
        ];
        for (what, digits, suffix, fix) in cases {
            let message = suffix_message(what, digits, suffix);
            assert!(
                message.ends_with(&format!("write `{fix}`"))
                    || message.ends_with(&format!("as a string: `{fix}`")),
                "{what} = {digits}{suffix}: {message}"
            );
        }
        assert!(suffix_message("delay", "2", "u32").contains("not a `u32` literal"));
    }

    /// One formatting rule for a diagram and the runtime's messages: the
    /// table, then many generated durations, against `fmt_duration`.
    #[test]
    fn human_prints_as_the_runtime_does() {
        use resilience_runtime::fmt_duration;
        use std::time::Duration;

        let cases: [(u64, &str); 22] = [
            (0, "0s"),
            (10, "10ns"),
            (1_500, "1.5us"),
            (500_000, "500us"),
            (1_250_000, "1.25ms"),
            (1_500_000, "1.5ms"),
            (250_000_000, "250ms"),
            (1_000_000_000, "1s"),
            (1_500_000_000, "1.5s"),
            (1_005_000_000, "1.005s"),
            (1_234_567_891, "1.234s"),
            (30_000_000_000, "30s"),
            (59_999_999_999, "59.999s"),
            (60_000_000_000, "1m"),
            (90_000_000_000, "1m30s"),
            (90_500_000_000, "1m30.5s"),
            (125_000_000_000, "2m5s"),
            (3_600_000_000_000, "1h"),
            (3_601_000_000_000, "1h1s"),
            (5_400_000_000_000, "1h30m"),
            (360_000_000_000_000, "100h"),
            (u64::MAX, "5124095h34m33.709s"),
        ];
        for (nanos, want) in cases {
            assert_eq!(human(nanos), want, "{nanos}ns");
            let runtime = fmt_duration(Duration::from_nanos(nanos)).to_string();
            assert_eq!(runtime, want, "the runtime, {nanos}ns");
        }
        // Every magnitude, with round and ragged values (a fixed LCG: the
        // same numbers every run).
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let magnitude = 10u64.pow((seed >> 59) as u32 % 19);
            let round = [1, 1_000, 1_000_000, 1_000_000_000][(seed >> 20) as usize % 4];
            let nanos = (seed >> 8) % magnitude.max(1) / round * round;
            let runtime = fmt_duration(Duration::from_nanos(nanos)).to_string();
            assert_eq!(human(nanos), runtime, "{nanos}ns");
        }
    }

    #[test]
    fn malformed() {
        assert!(parse_str("").is_err());
        assert!(parse_str("ms").is_err());
        assert!(parse_str("10").is_err());
        assert!(parse_str("10 parsecs").is_err());
        assert!(parse_str("1.2.3s").is_err());
        assert!(parse_str("-1s").is_err());
        assert!(parse_str("99999999999999999999999999999999999999h").is_err());
    }
}
