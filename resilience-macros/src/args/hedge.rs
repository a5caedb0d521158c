//! `#[hedge(after = "2s", attempts = 2)]`: another attempt when the first
//! is slow; Polly's defaults.

use proc_macro2::Span;
use syn::Lit;

use super::{Arg, Once, lit_of, unknown_key};
use crate::ctxt::Ctxt;
use crate::duration::Dur;

pub(crate) struct HedgeArgs {
    /// The delay before each hedge; zero races every attempt at once.
    pub after: Dur,
    /// The attempts in all, at least 2.
    pub attempts: u32,
}

const HEDGE_KEYS: &[&str] = &["after", "attempts"];

/// Polly's `Delay`: 2 s.
const DEFAULT_AFTER_NANOS: u64 = 2_000_000_000;
/// Polly's `MaxHedgedAttempts` (1) plus the first.
const DEFAULT_ATTEMPTS: u32 = 2;

/// A duration, or zero (`0`, `"0s"`, `"0ms"`): a race.
fn parse_after(value: &syn::Expr) -> syn::Result<Dur> {
    match Dur::from_expr(value, "after") {
        Ok(dur) => Ok(dur),
        // The duration parser refuses zero, which here means a race.
        Err(error) if error.to_string().ends_with("must be greater than zero") => Ok(Dur {
            nanos: 0,
            span: lit_of(value).map_or_else(|| syn::spanned::Spanned::span(value), Lit::span),
        }),
        Err(error) => Err(error),
    }
}

fn parse_attempts(value: &syn::Expr) -> syn::Result<u32> {
    let Some(Lit::Int(int)) = lit_of(value) else {
        return Err(syn::Error::new_spanned(
            value,
            "`attempts` must be an integer literal, e.g. `attempts = 2`",
        ));
    };
    let n: u32 = int
        .base10_parse()
        .map_err(|_| syn::Error::new_spanned(int, "`attempts` must fit in a `u32`"))?;
    if n < 2 {
        return Err(syn::Error::new_spanned(
            int,
            "`attempts` must be at least 2: it counts every attempt, the first and the hedges (without hedges, remove `#[hedge]`)",
        ));
    }
    Ok(n)
}

pub(crate) fn parse_hedge(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<HedgeArgs> {
    let errors_before = cx.error_count();
    let mut after = Once::new("hedge", "after");
    let mut attempts = Once::new("hedge", "attempts");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                "after" => match parse_after(&value) {
                    Ok(d) => after.set(&key, d, cx),
                    Err(e) => cx.syn_error(e),
                },
                "attempts" => match parse_attempts(&value) {
                    Ok(n) => attempts.set(&key, n, cx),
                    Err(e) => cx.syn_error(e),
                },
                "delay" => cx.error_spanned_by(
                    &key,
                    "unknown key `delay` in `#[hedge]`; the delay before each hedge is `after`, e.g. `after = \"2s\"`",
                ),
                _ => unknown_key(cx, "hedge", &key, HEDGE_KEYS),
            },
            Arg::Flag(key) => match key.to_string().as_str() {
                name if HEDGE_KEYS.contains(&name) => {
                    cx.error_spanned_by(&key, format!("`{name}` needs a value: `{name} = ...`"))
                }
                _ => unknown_key(cx, "hedge", &key, HEDGE_KEYS),
            },
            Arg::Value(value) => {
                let message = match lit_of(&value) {
                    // `#[hedge("2s")]`: the delay without its key.
                    Some(lit @ (Lit::Str(_) | Lit::Int(_) | Lit::Float(_))) => format!(
                        "`#[hedge]` takes `key = value` arguments; write `after = {}`",
                        quote::ToTokens::to_token_stream(lit)
                    ),
                    _ => "`#[hedge]` takes `key = value` arguments, e.g. `#[hedge(after = \"2s\", attempts = 2)]`".to_owned(),
                };
                cx.error_spanned_by(&value, message);
            }
        }
    }
    if cx.error_count() > errors_before {
        return None;
    }
    Some(HedgeArgs {
        after: after.get().unwrap_or(Dur {
            nanos: DEFAULT_AFTER_NANOS,
            span,
        }),
        attempts: attempts.get().unwrap_or(DEFAULT_ATTEMPTS),
    })
}
