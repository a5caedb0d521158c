//! `#[bulkhead(max = 8, queue = 16, wait = "100ms")]`, the fn's own limit,
//! or `#[bulkhead(state = POOL)]`, a shared `Bulkhead`.

use proc_macro2::Span;
use syn::{Expr, Ident, Lit};

use super::{Arg, Once, lit_of, unknown_key};
use crate::ctxt::Ctxt;
use crate::duration::Dur;

/// Where the limit lives.
pub(crate) enum BulkheadLimit {
    /// A hidden `static` of the fn, made from the keys.
    Own {
        max: usize,
        queue: usize,
        wait: Option<Dur>,
    },
    /// The `Bulkhead` that `state` names (a `static`, a field).
    Shared(Expr),
}

pub(crate) struct BulkheadArgs {
    pub limit: BulkheadLimit,
}

const BULKHEAD_KEYS: &[&str] = &["max", "queue", "wait", "state"];

const BULKHEAD_HINT: &str = "e.g. `#[bulkhead(max = 8)]` for a limit of this fn's own, or `#[bulkhead(state = POOL)]` with `static POOL: resilience::Bulkhead = resilience::Bulkhead::new(8);` for one shared by many fns";

/// A `usize` literal; `what` names the key.
fn parse_count(value: &Expr, what: &str, example: &str) -> syn::Result<usize> {
    let Some(Lit::Int(int)) = lit_of(value) else {
        return Err(syn::Error::new_spanned(
            value,
            format!("`{what}` must be an integer literal, e.g. `{what} = {example}`"),
        ));
    };
    int.base10_parse()
        .map_err(|_| syn::Error::new_spanned(int, format!("`{what}` must fit in a `usize`")))
}

pub(crate) fn parse_bulkhead(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<BulkheadArgs> {
    let errors_before = cx.error_count();
    let mut max = Once::new("bulkhead", "max");
    let mut queue = Once::new("bulkhead", "queue");
    let mut wait = Once::new("bulkhead", "wait");
    let mut state = Once::new("bulkhead", "state");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                "max" => match parse_count(&value, "max", "8") {
                    Ok(0) => cx.error_spanned_by(
                        &value,
                        "`max` must be at least 1: a bulkhead of 0 would turn every call away",
                    ),
                    Ok(n) => max.set(&key, n, cx),
                    Err(e) => cx.syn_error(e),
                },
                "queue" => match parse_count(&value, "queue", "16") {
                    Ok(n) => queue.set(&key, n, cx),
                    Err(e) => cx.syn_error(e),
                },
                "wait" => match Dur::from_expr(&value, "wait") {
                    Ok(d) => wait.set(&key, d, cx),
                    Err(e) => cx.syn_error(e),
                },
                "state" => match value {
                    Expr::Path(_) | Expr::Field(_) | Expr::Reference(_) => {
                        state.set(&key, value, cx)
                    }
                    Expr::Lit(_) => cx.error_spanned_by(
                        &value,
                        format!(
                            "`state` names a `resilience::Bulkhead` (a `static` or a field), not a literal; for a limit of this fn's own write `max = N`, {BULKHEAD_HINT}"
                        ),
                    ),
                    other => cx.error_spanned_by(
                        &other,
                        format!("`state` must be a path or a field, {BULKHEAD_HINT}"),
                    ),
                },
                "limit" | "max_concurrent" | "permits" | "concurrency" => cx.error_spanned_by(
                    &key,
                    format!("unknown key `{key}` in `#[bulkhead]`; the most calls at once is `max`, e.g. `max = 8`"),
                ),
                _ => unknown_key(cx, "bulkhead", &key, BULKHEAD_KEYS),
            },
            Arg::Flag(key) => flag(&key, cx),
            Arg::Value(value) => {
                let message = match lit_of(&value) {
                    Some(Lit::Int(int)) => format!(
                        "`#[bulkhead]` takes `key = value` arguments; write `max = {}`",
                        int.base10_digits()
                    ),
                    _ => format!("`#[bulkhead]` takes `key = value` arguments, {BULKHEAD_HINT}"),
                };
                cx.error_spanned_by(&value, message);
            }
        }
    }
    if cx.error_count() > errors_before {
        return None;
    }
    let (max_span, queue_span, wait_span) = (max.span(), queue.span(), wait.span());
    let limit = match (state.get(), max.get()) {
        (Some(state), None) => {
            for (key, at) in [("queue", queue_span), ("wait", wait_span)] {
                if let Some(at) = at {
                    cx.syn_error(syn::Error::new(
                        at,
                        format!(
                            "`{key}` is set on the `resilience::Bulkhead` that `state` names (`Bulkhead::new(8).with_{key}(..)`), not on the attribute"
                        ),
                    ));
                }
            }
            BulkheadLimit::Shared(state)
        }
        (Some(_), Some(_)) => {
            cx.syn_error(syn::Error::new(
                max_span.unwrap_or(span),
                "`#[bulkhead]` takes either `max` (a limit of this fn's own) or `state` (a shared `Bulkhead`, whose limit is set on it), not both",
            ));
            return None;
        }
        (None, Some(max)) => {
            let queue = queue.get().unwrap_or(0);
            if let Some(at) = wait_span
                && queue == 0
            {
                cx.syn_error(syn::Error::new(
                    at,
                    "`wait` bounds the time a call waits in the queue, and this bulkhead has none; add `queue = N` (the most calls that may wait)",
                ));
            }
            BulkheadLimit::Own {
                max,
                queue,
                wait: wait.get(),
            }
        }
        (None, None) => {
            cx.syn_error(syn::Error::new(
                span,
                format!("`#[bulkhead]` needs `max = N` or `state = PATH`, {BULKHEAD_HINT}"),
            ));
            return None;
        }
    };
    if cx.error_count() > errors_before {
        return None;
    }
    Some(BulkheadArgs { limit })
}

fn flag(key: &Ident, cx: &mut Ctxt) {
    match key.to_string().as_str() {
        name if BULKHEAD_KEYS.contains(&name) => {
            cx.error_spanned_by(key, format!("`{name}` needs a value: `{name} = ...`"))
        }
        // `#[bulkhead(POOL)]`: the shared bulkhead without its key.
        name if name.starts_with(|c: char| c.is_ascii_uppercase()) => cx.error_spanned_by(
            key,
            format!("`#[bulkhead]` takes `key = value` arguments; write `state = {name}`"),
        ),
        _ => unknown_key(cx, "bulkhead", key, BULKHEAD_KEYS),
    }
}
