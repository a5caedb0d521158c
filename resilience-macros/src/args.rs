//! Parsing of the attribute arguments: `#[retry(attempts = 3, jitter)]`,
//! `#[timeout("30s")]`, `#[fallback(default = 0)]`,
//! `#[escalate(tiers = STRATEGIES, when = is_transient)]`,
//! `#[circuit_breaker(state = BREAKER, when = is_transient)]`.
//!
//! Every key is set at most once, unknown keys list the valid ones, and each
//! value is checked here so that the expander only sees valid plans.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, Token};

use crate::ctxt::Ctxt;
use crate::duration::Dur;

mod bulkhead;
mod hedge;

pub(crate) use bulkhead::{BulkheadArgs, BulkheadLimit};
pub(crate) use hedge::HedgeArgs;

/// The resilience attributes, in the order they can be stacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Retry,
    Timeout,
    Fallback,
    Compensate,
    Escalate,
    Chaos,
    CircuitBreaker,
    Bulkhead,
    Hedge,
    SelfHealing,
    Agent,
    RateLimit,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Retry => "retry",
            Kind::Timeout => "timeout",
            Kind::Fallback => "fallback",
            Kind::Compensate => "compensate",
            Kind::Escalate => "escalate",
            Kind::Chaos => "chaos",
            Kind::CircuitBreaker => "circuit_breaker",
            Kind::Bulkhead => "bulkhead",
            Kind::Hedge => "hedge",
            Kind::SelfHealing => "self_healing",
            Kind::Agent => "agent",
            Kind::RateLimit => "rate_limit",
        }
    }

    /// Recognises `retry`, `resilience::retry` and `::resilience::retry`.
    pub(crate) fn from_path(path: &syn::Path) -> Option<Kind> {
        let segments: Vec<_> = path.segments.iter().collect();
        let last = segments.last()?;
        let prefix_ok = match segments.len() {
            1 => path.leading_colon.is_none(),
            2 => segments[0].ident == "resilience",
            _ => false,
        };
        if !prefix_ok || !last.arguments.is_none() {
            return None;
        }
        match last.ident.to_string().as_str() {
            "retry" => Some(Kind::Retry),
            "timeout" => Some(Kind::Timeout),
            "fallback" => Some(Kind::Fallback),
            "compensate" => Some(Kind::Compensate),
            "escalate" => Some(Kind::Escalate),
            "chaos" => Some(Kind::Chaos),
            "circuit_breaker" => Some(Kind::CircuitBreaker),
            "bulkhead" => Some(Kind::Bulkhead),
            "hedge" => Some(Kind::Hedge),
            "self_healing" => Some(Kind::SelfHealing),
            "agent" => Some(Kind::Agent),
            "rate_limit" => Some(Kind::RateLimit),
            _ => None,
        }
    }
}

/// One attribute of a stack, parsed and checked.
pub(crate) enum Layer {
    Retry(RetryArgs),
    Timeout(TimeoutArgs),
    Fallback(FallbackArgs),
    Compensate(CompensateArgs),
    Escalate(EscalateArgs),
    Chaos(ChaosArgs),
    CircuitBreaker(BreakerArgs),
    Bulkhead(BulkheadArgs),
    Hedge(HedgeArgs),
    SelfHealing(SelfHealingArgs),
    Agent(AgentArgs),
    RateLimit(RateLimitArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackoffKind {
    Constant,
    Linear,
    Exponential,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JitterKind {
    None,
    Full,
    Equal,
    Decorrelated,
}

pub(crate) struct RetryArgs {
    pub attempts: u32,
    pub backoff: BackoffKind,
    pub delay: Dur,
    pub factor: Option<f64>,
    pub max_delay: Option<Dur>,
    pub jitter: JitterKind,
    pub max_elapsed: Option<Dur>,
    pub when: Option<Expr>,
    pub retry_after: Option<Expr>,
    pub retry_after_jitter: Option<ServerJitter>,
}

/// `retry_after_jitter = "10%"` or `= "250ms"`: a random extra on a delay
/// the error asks for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ServerJitter {
    Percent(f64),
    UpTo(Dur),
}

pub(crate) struct TimeoutArgs {
    pub limit: Dur,
}

pub(crate) enum FallbackAction {
    Default(Expr),
    With(Expr),
}

/// `#[compensate(with = PATH)]`: what undoes a successful call.
pub(crate) struct CompensateArgs {
    pub with: Expr,
    /// The attribute, for "nothing to undo" and "duplicate" errors.
    pub span: Span,
}

/// `#[escalate(tiers = LIST, when = PATH)]`: a progressive retry over the
/// tiers, each passed to the fn's `#[tier]` parameter.
pub(crate) struct EscalateArgs {
    pub tiers: Expr,
    pub when: Option<Expr>,
    /// The attribute, for "duplicate" errors.
    pub span: Span,
}

/// `#[chaos(state = PATH)]`: fault injection from the `Chaos` at `PATH`
/// (only with the `chaos` feature; without it the layer is dropped).
pub(crate) struct ChaosArgs {
    pub state: Expr,
    /// The attribute, for "duplicate" errors.
    pub span: Span,
}

/// `#[circuit_breaker(state = PATH, when = PATH)]`: calls through the
/// `CircuitBreaker` at `PATH`, counting the errors `when` accepts.
pub(crate) struct BreakerArgs {
    pub state: Expr,
    pub when: Option<Expr>,
}

pub(crate) struct FallbackArgs {
    pub action: FallbackAction,
    pub when: Option<Expr>,
}

/// One comma-separated argument: `key = value`, a bare `key`, or a bare value.
enum Arg {
    KeyValue { key: Ident, value: Expr },
    Flag(Ident),
    Value(Expr),
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key: Ident = input.parse()?;
            let _: Token![=] = input.parse()?;
            let value: Expr = input.parse()?;
            return Ok(Arg::KeyValue { key, value });
        }
        if input.peek(Ident) && (input.peek2(Token![,]) || peek2_is_end(input)) {
            return Ok(Arg::Flag(input.parse()?));
        }
        Ok(Arg::Value(input.parse()?))
    }
}

fn peek2_is_end(input: ParseStream) -> bool {
    let fork = input.fork();
    fork.parse::<proc_macro2::TokenTree>().is_ok() && fork.is_empty()
}

fn parse_list(tokens: TokenStream) -> syn::Result<Vec<Arg>> {
    let parser = Punctuated::<Arg, Token![,]>::parse_terminated;
    Ok(parser.parse2(tokens)?.into_iter().collect())
}

/// Parses the arguments of one attribute. `span` is where attribute-level
/// problems (a missing required key) are reported.
pub(crate) fn parse_layer(
    kind: Kind,
    tokens: TokenStream,
    span: Span,
    cx: &mut Ctxt,
) -> Option<Layer> {
    let args = match parse_list(tokens) {
        Ok(args) => args,
        Err(error) => {
            cx.syn_error(error);
            return None;
        }
    };
    match kind {
        Kind::Retry => parse_retry(args, cx).map(Layer::Retry),
        Kind::Timeout => parse_timeout(args, span, cx).map(Layer::Timeout),
        Kind::Fallback => parse_fallback(args, span, cx).map(Layer::Fallback),
        Kind::Compensate => parse_compensate(args, span, cx).map(Layer::Compensate),
        Kind::Escalate => parse_escalate(args, span, cx).map(Layer::Escalate),
        Kind::Chaos => parse_chaos(args, span, cx).map(Layer::Chaos),
        Kind::CircuitBreaker => parse_breaker(args, span, cx).map(Layer::CircuitBreaker),
        Kind::Bulkhead => bulkhead::parse_bulkhead(args, span, cx).map(Layer::Bulkhead),
        Kind::Hedge => hedge::parse_hedge(args, span, cx).map(Layer::Hedge),
        Kind::SelfHealing => parse_self_healing(args, span, cx).map(Layer::SelfHealing),
        Kind::Agent => parse_agent(args, span, cx).map(Layer::Agent),
        Kind::RateLimit => parse_rate_limit(args, span, cx).map(Layer::RateLimit),
    }
}

/// A key that may be set once; the second use is reported at its own token.
struct Once<T> {
    attr: &'static str,
    key: &'static str,
    value: Option<(T, Span)>,
}

impl<T> Once<T> {
    fn new(attr: &'static str, key: &'static str) -> Self {
        Self {
            attr,
            key,
            value: None,
        }
    }

    fn set(&mut self, key: &Ident, value: T, cx: &mut Ctxt) {
        if self.value.is_some() {
            cx.error_spanned_by(
                key,
                format!("duplicate `{}` in `#[{}]`", self.key, self.attr),
            );
        } else {
            self.value = Some((value, key.span()));
        }
    }

    fn get(self) -> Option<T> {
        self.value.map(|(v, _)| v)
    }

    fn span(&self) -> Option<Span> {
        self.value.as_ref().map(|(_, s)| *s)
    }
}

fn unknown_key(cx: &mut Ctxt, attr: &str, key: &Ident, valid: &[&str]) {
    if let [only] = valid {
        cx.error_spanned_by(
            key,
            format!("unknown key `{key}` in `#[{attr}]`; expected `{only}`"),
        );
        return;
    }
    let list = valid
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    cx.error_spanned_by(
        key,
        format!("unknown key `{key}` in `#[{attr}]`; expected one of: {list}"),
    );
}

const RETRY_KEYS: &[&str] = &[
    "attempts",
    "backoff",
    "delay",
    "factor",
    "max_delay",
    "jitter",
    "max_elapsed",
    "when",
    "retry_after",
    "retry_after_jitter",
];

fn parse_retry(args: Vec<Arg>, cx: &mut Ctxt) -> Option<RetryArgs> {
    let errors_before = cx.error_count();
    let mut attempts = Once::new("retry", "attempts");
    let mut backoff = Once::new("retry", "backoff");
    let mut delay = Once::new("retry", "delay");
    let mut factor = Once::<(f64, Expr)>::new("retry", "factor");
    let mut max_delay = Once::new("retry", "max_delay");
    let mut jitter = Once::new("retry", "jitter");
    let mut max_elapsed = Once::new("retry", "max_elapsed");
    let mut when = Once::new("retry", "when");
    let mut retry_after = Once::new("retry", "retry_after");
    let mut retry_after_jitter = Once::new("retry", "retry_after_jitter");

    for arg in args {
        match arg {
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                "attempts" => match parse_attempts(&value) {
                    Ok(n) => attempts.set(&key, n, cx),
                    Err(e) => cx.syn_error(e),
                },
                "backoff" => {
                    match parse_word(&value, "backoff", &["constant", "linear", "exponential"]) {
                        Ok(word) => {
                            let kind = match word.as_str() {
                                "constant" => BackoffKind::Constant,
                                "linear" => BackoffKind::Linear,
                                _ => BackoffKind::Exponential,
                            };
                            backoff.set(&key, kind, cx);
                        }
                        Err(e) => cx.syn_error(e),
                    }
                }
                "delay" => match Dur::from_expr(&value, "delay") {
                    Ok(d) => delay.set(&key, d, cx),
                    Err(e) => cx.syn_error(e),
                },
                "factor" => match parse_factor(&value) {
                    Ok(f) => factor.set(&key, (f, value), cx),
                    Err(e) => cx.syn_error(e),
                },
                "max_delay" => match Dur::from_expr(&value, "max_delay") {
                    Ok(d) => max_delay.set(&key, d, cx),
                    Err(e) => cx.syn_error(e),
                },
                "jitter" => match parse_jitter(&value) {
                    Ok(j) => jitter.set(&key, j, cx),
                    Err(e) => cx.syn_error(e),
                },
                "max_elapsed" => match Dur::from_expr(&value, "max_elapsed") {
                    Ok(d) => max_elapsed.set(&key, d, cx),
                    Err(e) => cx.syn_error(e),
                },
                "when" => match callable(value, "when", "fn(&E) -> bool", "is_transient") {
                    Ok(value) => when.set(&key, value, cx),
                    Err(e) => cx.syn_error(e),
                },
                "retry_after" => match callable(
                    value,
                    "retry_after",
                    "fn(&E) -> Option<Duration>",
                    "retry_after",
                ) {
                    Ok(value) => retry_after.set(&key, value, cx),
                    Err(e) => cx.syn_error(e),
                },
                "retry_after_jitter" => match parse_server_jitter(&value) {
                    Ok(j) => retry_after_jitter.set(&key, j, cx),
                    Err(e) => cx.syn_error(e),
                },
                _ => unknown_key(cx, "retry", &key, RETRY_KEYS),
            },
            Arg::Flag(key) => match key.to_string().as_str() {
                "jitter" => jitter.set(&key, JitterKind::Full, cx),
                name if RETRY_KEYS.contains(&name) => {
                    cx.error_spanned_by(&key, format!("`{name}` needs a value: `{name} = ...`"))
                }
                _ => unknown_key(cx, "retry", &key, RETRY_KEYS),
            },
            Arg::Value(value) => cx.error_spanned_by(
                &value,
                "`#[retry]` takes `key = value` arguments, e.g. `#[retry(attempts = 3)]`",
            ),
        }
    }

    let backoff_kind = backoff.get();
    let factor = factor.get();
    if let (Some((_, expr)), Some(kind)) = (&factor, backoff_kind)
        && kind != BackoffKind::Exponential
    {
        cx.error_spanned_by(
            expr,
            "`factor` only applies to `backoff = exponential`; remove it or change the backoff",
        );
    }
    let delay = delay.get();
    let max_delay = max_delay.get();
    if let Some(max) = max_delay {
        match delay {
            Some(delay) if max.nanos < delay.nanos => cx.syn_error(syn::Error::new(
                max.span,
                "`max_delay` is below `delay`; the cap must be at least the first delay",
            )),
            None if max.nanos < DEFAULT_DELAY_NANOS => cx.syn_error(syn::Error::new(
                max.span,
                "`max_delay` is below the default `delay` of 100ms; raise it or set a smaller `delay`",
            )),
            _ => {}
        }
    }

    if let (Some(at), None) = (retry_after_jitter.span(), retry_after.span()) {
        cx.syn_error(syn::Error::new(
            at,
            "`retry_after_jitter` spreads the delay that `retry_after` reads from the error, and there is no `retry_after`; \
             add `retry_after = ...` (e.g. `retry_after = ApiError::retry_after`), or use `jitter` for the backoff's delays",
        ));
    }

    if cx.error_count() > errors_before {
        return None;
    }
    Some(RetryArgs {
        attempts: attempts.get().unwrap_or(3),
        backoff: backoff_kind.unwrap_or(BackoffKind::Exponential),
        delay: delay.unwrap_or(Dur {
            nanos: DEFAULT_DELAY_NANOS,
            span: Span::call_site(),
        }),
        factor: factor.map(|(f, _)| f),
        max_delay,
        jitter: jitter.get().unwrap_or(JitterKind::None),
        max_elapsed: max_elapsed.get(),
        when: when.get(),
        retry_after: retry_after.get(),
        retry_after_jitter: retry_after_jitter.get(),
    })
}

const DEFAULT_DELAY_NANOS: u64 = 100_000_000;

/// `when`, `retry_after`, `with`: a path to a fn, a closure, or a block
/// ending in a closure.
fn callable(value: Expr, key: &str, signature: &str, example: &str) -> syn::Result<Expr> {
    match &value {
        Expr::Path(_) | Expr::Closure(_) => Ok(value),
        Expr::Group(group) if matches!(&*group.expr, Expr::Path(_) | Expr::Closure(_)) => Ok(value),
        // `{ let api = api.clone(); move |id| .. }`: a closure that owns
        // what it captures.
        Expr::Block(block)
            if matches!(
                block.block.stmts.last(),
                Some(syn::Stmt::Expr(Expr::Closure(_), None))
            ) =>
        {
            Ok(value)
        }
        _ => Err(syn::Error::new_spanned(
            &value,
            format!(
                "`{key}` takes a path to a `{signature}`, e.g. `{key} = {example}`, or a closure"
            ),
        )),
    }
}

fn lit_of(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(lit) => Some(&lit.lit),
        Expr::Group(group) => lit_of(&group.expr),
        _ => None,
    }
}

fn parse_attempts(value: &Expr) -> syn::Result<u32> {
    let Some(Lit::Int(int)) = lit_of(value) else {
        return Err(syn::Error::new_spanned(
            value,
            "`attempts` must be an integer literal, e.g. `attempts = 3`",
        ));
    };
    let n: u32 = int
        .base10_parse()
        .map_err(|_| syn::Error::new_spanned(int, "`attempts` must fit in a `u32`"))?;
    if n == 0 {
        return Err(syn::Error::new_spanned(
            int,
            "`attempts` must be at least 1 (it counts every call, the first included)",
        ));
    }
    Ok(n)
}

fn parse_factor(value: &Expr) -> syn::Result<f64> {
    let factor = match lit_of(value) {
        Some(Lit::Float(f)) => f.base10_parse::<f64>().ok(),
        Some(Lit::Int(i)) => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    let Some(factor) = factor else {
        return Err(syn::Error::new_spanned(
            value,
            "`factor` must be a number literal greater than 1, e.g. `factor = 2.0`",
        ));
    };
    if !(factor.is_finite() && factor > 1.0) {
        return Err(syn::Error::new_spanned(
            value,
            "`factor` must be greater than 1, or the delays would not grow",
        ));
    }
    Ok(factor)
}

/// An identifier or a string holding one of `words`.
fn parse_word(value: &Expr, key: &str, words: &[&str]) -> syn::Result<String> {
    let word = match value {
        Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
            p.path.get_ident().map(|i| i.to_string())
        }
        _ => match lit_of(value) {
            Some(Lit::Str(s)) => Some(s.value()),
            _ => None,
        },
    };
    let list = words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match word {
        Some(word) if words.contains(&word.as_str()) => Ok(word),
        Some(word) => Err(syn::Error::new_spanned(
            value,
            format!("unknown {key} `{word}`; expected one of: {list}"),
        )),
        None => Err(syn::Error::new_spanned(
            value,
            format!("`{key}` must be one of: {list}"),
        )),
    }
}

fn parse_jitter(value: &Expr) -> syn::Result<JitterKind> {
    if let Some(Lit::Bool(b)) = lit_of(value) {
        return Ok(if b.value {
            JitterKind::Full
        } else {
            JitterKind::None
        });
    }
    let word = parse_word(value, "jitter", &["full", "equal", "decorrelated", "none"])?;
    Ok(match word.as_str() {
        "full" => JitterKind::Full,
        "equal" => JitterKind::Equal,
        "decorrelated" => JitterKind::Decorrelated,
        _ => JitterKind::None,
    })
}

const SERVER_JITTER_HINT: &str = "write a percentage of the server's delay, e.g. `retry_after_jitter = \"10%\"`, or a duration, e.g. `retry_after_jitter = \"250ms\"`";

/// `"10%"`, `"2.5%"` (more than 0, at most 100) or a duration.
fn parse_server_jitter(value: &Expr) -> syn::Result<ServerJitter> {
    let Some(Lit::Str(lit)) = lit_of(value) else {
        return Err(syn::Error::new_spanned(
            value,
            format!("`retry_after_jitter` must be a string; {SERVER_JITTER_HINT}"),
        ));
    };
    let text = lit.value();
    let Some(number) = text.trim().strip_suffix('%') else {
        return Dur::from_lit(&Lit::Str(lit.clone()), "retry_after_jitter")
            .map(ServerJitter::UpTo)
            .map_err(|e| {
                syn::Error::new(e.span(), format!("{e}; or a percentage such as \"10%\""))
            });
    };
    match number.trim().parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 100.0 && !number.contains(['e', 'E']) => {
            Ok(ServerJitter::Percent(p))
        }
        Ok(p) if p.is_finite() && p > 100.0 => Err(syn::Error::new_spanned(
            lit,
            "`retry_after_jitter` is at most \"100%\" (up to twice the server's delay); for more, give a duration such as \"5s\"",
        )),
        _ => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`retry_after_jitter` must be a percentage above 0, e.g. \"10%\"; {SERVER_JITTER_HINT}"
            ),
        )),
    }
}

const TIMEOUT_HINT: &str = "write `#[timeout(\"30s\")]`, `#[timeout(30)]`, `#[timeout(seconds = 30)]` or `#[timeout(ms = 500)]`";

fn parse_timeout(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<TimeoutArgs> {
    let errors_before = cx.error_count();
    let mut limit: Option<Dur> = None;
    let mut set = |d: Dur, at: Span, cx: &mut Ctxt| {
        if limit.is_some() {
            cx.syn_error(syn::Error::new(
                at,
                "`#[timeout]` takes a single limit; remove the extra one",
            ));
        } else {
            limit = Some(d);
        }
    };
    for arg in args {
        match arg {
            Arg::Value(value) => match Dur::from_expr(&value, "timeout") {
                Ok(d) => set(d, value.span(), cx),
                Err(e) => cx.syn_error(e),
            },
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                "seconds" | "secs" => match lit_of(&value) {
                    Some(lit @ (Lit::Int(_) | Lit::Float(_))) => {
                        match Dur::from_lit(lit, "seconds") {
                            Ok(d) => set(d, key.span(), cx),
                            Err(e) => cx.syn_error(e),
                        }
                    }
                    _ => cx.error_spanned_by(
                        &value,
                        "`seconds` must be a number, e.g. `seconds = 30`",
                    ),
                },
                "ms" | "millis" => match lit_of(&value) {
                    Some(lit @ (Lit::Int(_) | Lit::Float(_))) => {
                        match Dur::from_number_lit(lit, "ms", 1_000_000) {
                            Ok(d) => set(d, key.span(), cx),
                            Err(e) => cx.syn_error(e),
                        }
                    }
                    _ => cx.error_spanned_by(&value, "`ms` must be a number, e.g. `ms = 500`"),
                },
                _ => cx.error_spanned_by(
                    &key,
                    format!("unknown key `{key}` in `#[timeout]`; {TIMEOUT_HINT}"),
                ),
            },
            Arg::Flag(key) => cx.error_spanned_by(
                &key,
                format!("`#[timeout]` needs a duration, not `{key}`; {TIMEOUT_HINT}"),
            ),
        }
    }
    if cx.error_count() > errors_before {
        return None;
    }
    match limit {
        Some(limit) => Some(TimeoutArgs { limit }),
        None => {
            cx.syn_error(syn::Error::new(
                span,
                format!("`#[timeout]` needs a limit; {TIMEOUT_HINT}"),
            ));
            None
        }
    }
}

fn parse_fallback(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<FallbackArgs> {
    let errors_before = cx.error_count();
    let mut default = Once::new("fallback", "default");
    let mut with = Once::new("fallback", "with");
    let mut when = Once::new("fallback", "when");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                "default" => default.set(&key, value, cx),
                "with" => match callable(
                    value,
                    "with",
                    "async fn(E) -> Result<T, E>",
                    "ask_backup_agent",
                ) {
                    Ok(value) => with.set(&key, value, cx),
                    Err(e) => cx.syn_error(e),
                },
                "when" => match callable(value, "when", "fn(&E) -> bool", "is_recoverable") {
                    Ok(value) => when.set(&key, value, cx),
                    Err(e) => cx.syn_error(e),
                },
                _ => unknown_key(cx, "fallback", &key, &["default", "with", "when"]),
            },
            Arg::Flag(key) => match key.to_string().as_str() {
                name @ ("default" | "with" | "when") => {
                    cx.error_spanned_by(&key, format!("`{name}` needs a value: `{name} = ...`"))
                }
                _ => unknown_key(cx, "fallback", &key, &["default", "with", "when"]),
            },
            Arg::Value(value) => cx.error_spanned_by(
                &value,
                "`#[fallback]` takes `default = EXPR` or `with = PATH`",
            ),
        }
    }
    let with_span = with.span();
    let action = match (default.get(), with.get()) {
        (Some(_), Some(_)) => {
            cx.syn_error(syn::Error::new(
                with_span.unwrap_or(span),
                "`#[fallback]` takes either `default` or `with`, not both",
            ));
            None
        }
        (Some(expr), None) => Some(FallbackAction::Default(expr)),
        (None, Some(path)) => Some(FallbackAction::With(path)),
        (None, None) => {
            if cx.error_count() == errors_before {
                cx.syn_error(syn::Error::new(
                    span,
                    "`#[fallback]` needs `default = EXPR` or `with = PATH`",
                ));
            }
            None
        }
    };
    if cx.error_count() > errors_before {
        return None;
    }
    Some(FallbackArgs {
        action: action?,
        when: when.get(),
    })
}

fn parse_compensate(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<CompensateArgs> {
    let errors_before = cx.error_count();
    let mut with = Once::new("compensate", "with");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } if key == "with" => {
                match callable(
                    value,
                    "with",
                    "async fn(T) -> Result<_, E>",
                    "delete_resource",
                ) {
                    Ok(value) => with.set(&key, value, cx),
                    Err(e) => cx.syn_error(e),
                }
            }
            Arg::Flag(key) if key == "with" => {
                cx.error_spanned_by(&key, "`with` needs a value: `with = ...`")
            }
            Arg::KeyValue { key, .. } | Arg::Flag(key) => {
                unknown_key(cx, "compensate", &key, &["with"])
            }
            Arg::Value(value) => cx.error_spanned_by(
                &value,
                "`#[compensate]` takes `with = PATH`, e.g. `#[compensate(with = delete_resource)]`",
            ),
        }
    }
    if cx.error_count() > errors_before {
        return None;
    }
    match with.get() {
        Some(with) => Some(CompensateArgs { with, span }),
        None => {
            cx.syn_error(syn::Error::new(
                span,
                "`#[compensate]` needs `with = PATH`: the async fn that undoes this call",
            ));
            None
        }
    }
}

const ESCALATE_KEYS: &[&str] = &["tiers", "when"];

const ESCALATE_HINT: &str =
    "e.g. `#[escalate(tiers = STRATEGIES)]` with `const STRATEGIES: [Strategy; 3] = [..];`";

fn parse_escalate(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<EscalateArgs> {
    let errors_before = cx.error_count();
    let mut tiers = Once::new("escalate", "tiers");
    let mut when = Once::new("escalate", "when");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                "tiers" => tiers.set(&key, value, cx),
                "when" => match callable(value, "when", "fn(&E) -> bool", "is_transient") {
                    Ok(value) => when.set(&key, value, cx),
                    Err(e) => cx.syn_error(e),
                },
                _ => unknown_key(cx, "escalate", &key, ESCALATE_KEYS),
            },
            Arg::Flag(key) => match key.to_string().as_str() {
                name if ESCALATE_KEYS.contains(&name) => {
                    cx.error_spanned_by(&key, format!("`{name}` needs a value: `{name} = ...`"))
                }
                // `#[escalate(STRATEGIES)]`: the list without its key.
                name if name.starts_with(|c: char| c.is_ascii_uppercase()) => cx.error_spanned_by(
                    &key,
                    format!("`#[escalate]` takes `key = value` arguments; write `tiers = {name}`"),
                ),
                _ => unknown_key(cx, "escalate", &key, ESCALATE_KEYS),
            },
            Arg::Value(value) => cx.error_spanned_by(
                &value,
                format!("`#[escalate]` takes `key = value` arguments, {ESCALATE_HINT}"),
            ),
        }
    }
    if cx.error_count() > errors_before {
        return None;
    }
    match tiers.get() {
        Some(tiers) => Some(EscalateArgs {
            tiers,
            when: when.get(),
            span,
        }),
        None => {
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "`#[escalate]` needs `tiers = LIST`: the tiers to try in order, {ESCALATE_HINT}"
                ),
            ));
            None
        }
    }
}

const CHAOS_KEYS: &[&str] = &["state"];

const CHAOS_HINT: &str = "e.g. `#[chaos(state = CHAOS)]` with `static CHAOS: resilience::Chaos = \
     resilience::Chaos::new(resilience::ChaosConfig::new().with_failure_rate(0.3));`";

fn parse_chaos(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<ChaosArgs> {
    let errors_before = cx.error_count();
    let mut state = Once::new("chaos", "state");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                "state" => match value {
                    Expr::Path(_) | Expr::Field(_) => state.set(&key, value, cx),
                    Expr::Lit(_) => cx.error_spanned_by(
                        &value,
                        format!(
                            "`state` names a `resilience::Chaos` (a `static` or a field), not a literal; the rate, the kinds and the latency are set on it, {CHAOS_HINT}"
                        ),
                    ),
                    other => cx.error_spanned_by(
                        &other,
                        format!("`state` must be a path or a field, {CHAOS_HINT}"),
                    ),
                },
                // Settings written on the attribute: they belong on the `Chaos`.
                "rate" | "failure_rate" | "seed" | "latency" | "weights" => cx.error_spanned_by(
                    &key,
                    format!(
                        "`{key}` is set on the `resilience::Chaos` that `state` names, not on the attribute; {CHAOS_HINT}"
                    ),
                ),
                _ => unknown_key(cx, "chaos", &key, CHAOS_KEYS),
            },
            Arg::Flag(key) => match key.to_string().as_str() {
                "state" => cx.error_spanned_by(&key, "`state` needs a value: `state = CHAOS`"),
                name if name.starts_with(|c: char| c.is_ascii_uppercase()) => cx.error_spanned_by(
                    &key,
                    format!("`#[chaos]` takes `key = value` arguments; write `state = {name}`"),
                ),
                _ => unknown_key(cx, "chaos", &key, CHAOS_KEYS),
            },
            Arg::Value(value) => cx.error_spanned_by(
                &value,
                format!("`#[chaos]` takes `key = value` arguments, {CHAOS_HINT}"),
            ),
        }
    }
    if cx.error_count() > errors_before {
        return None;
    }
    match state.get() {
        Some(state) => Some(ChaosArgs { state, span }),
        None => {
            cx.syn_error(syn::Error::new(
                span,
                format!("`#[chaos]` needs `state = PATH`: the `resilience::Chaos` to draw faults from, {CHAOS_HINT}"),
            ));
            None
        }
    }
}

const BREAKER_KEYS: &[&str] = &["state", "when"];

const BREAKER_HINT: &str = "e.g. `#[circuit_breaker(state = BREAKER)]` with `static BREAKER: resilience::CircuitBreaker = \
     resilience::CircuitBreaker::new(resilience::BreakerPolicy::consecutive(5));`, or a field: `state = self.breaker`";

/// Policy settings one may try to write on the attribute, and the builder
/// call on `BreakerPolicy` that sets each.
const BREAKER_SETTINGS: &[(&str, &str)] = &[
    ("failures", "BreakerPolicy::consecutive(5)"),
    ("consecutive", "BreakerPolicy::consecutive(5)"),
    ("ratio", "BreakerPolicy::failure_ratio(0.5)"),
    ("failure_ratio", "BreakerPolicy::failure_ratio(0.5)"),
    ("min_throughput", ".with_min_throughput(100)"),
    ("minimum_throughput", ".with_min_throughput(100)"),
    ("sampling", ".with_sampling(Duration::from_secs(30))"),
    ("window", ".with_sampling(Duration::from_secs(30))"),
    ("break_for", ".with_break(Duration::from_secs(5))"),
    ("break_duration", ".with_break(Duration::from_secs(5))"),
    ("duration", ".with_break(Duration::from_secs(5))"),
    ("trials", ".with_trials(1)"),
    ("name", "CircuitBreaker::new(..).with_name(\"search\")"),
];

fn parse_breaker(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<BreakerArgs> {
    let errors_before = cx.error_count();
    let mut state = Once::new("circuit_breaker", "state");
    let mut when = Once::new("circuit_breaker", "when");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                "state" => match value {
                    Expr::Path(_) | Expr::Field(_) => state.set(&key, value, cx),
                    Expr::Lit(_) => cx.error_spanned_by(
                        &value,
                        format!(
                            "`state` names a `resilience::CircuitBreaker` (a `static` or a field), not a literal; \
                             its thresholds are set on it, {BREAKER_HINT}"
                        ),
                    ),
                    other => cx.error_spanned_by(
                        &other,
                        format!("`state` must be a path or a field, {BREAKER_HINT}"),
                    ),
                },
                "when" => match callable(value, "when", "fn(&E) -> bool", "is_transient") {
                    Ok(value) => when.set(&key, value, cx),
                    Err(e) => cx.syn_error(e),
                },
                name => match BREAKER_SETTINGS.iter().find(|(setting, _)| *setting == name) {
                    Some((_, builder)) => cx.error_spanned_by(
                        &key,
                        format!(
                            "`{key}` is set on the `resilience::CircuitBreaker` that `state` names, not on the attribute: \
                             `{builder}`; {BREAKER_HINT}"
                        ),
                    ),
                    None => unknown_key(cx, "circuit_breaker", &key, BREAKER_KEYS),
                },
            },
            Arg::Flag(key) => match key.to_string().as_str() {
                name if BREAKER_KEYS.contains(&name) => {
                    cx.error_spanned_by(&key, format!("`{name}` needs a value: `{name} = ...`"))
                }
                // `#[circuit_breaker(BREAKER)]`: the state without its key.
                name if name.starts_with(|c: char| c.is_ascii_uppercase()) => cx.error_spanned_by(
                    &key,
                    format!("`#[circuit_breaker]` takes `key = value` arguments; write `state = {name}`"),
                ),
                _ => unknown_key(cx, "circuit_breaker", &key, BREAKER_KEYS),
            },
            Arg::Value(value) => cx.error_spanned_by(
                &value,
                format!("`#[circuit_breaker]` takes `key = value` arguments, {BREAKER_HINT}"),
            ),
        }
    }
    if cx.error_count() > errors_before {
        return None;
    }
    match state.get() {
        Some(state) => Some(BreakerArgs {
            state,
            when: when.get(),
        }),
        None => {
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "`#[circuit_breaker]` needs `state = PATH`: the `resilience::CircuitBreaker` that counts the calls, {BREAKER_HINT}"
                ),
            ));
            None
        }
    }
}

/// `#[self_healing(state = PATH, max_failures = N)]`: the failed calls in a
/// row, counted in the `Health` at `PATH`, ask for help at `N`.
pub(crate) struct SelfHealingArgs {
    pub state: Expr,
    pub max_failures: u32,
}

const SELF_HEALING_KEYS: &[&str] = &["state", "max_failures"];

const SELF_HEALING_HINT: &str = "e.g. `#[self_healing(state = self.health, max_failures = 3)]` with a field `health: resilience::Health<Cure>`";

/// The guide's threshold.
const DEFAULT_MAX_FAILURES: u32 = 3;

fn parse_self_healing(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<SelfHealingArgs> {
    let errors_before = cx.error_count();
    let mut state = Once::new("self_healing", "state");
    let mut max_failures = Once::new("self_healing", "max_failures");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                "state" => match value {
                    Expr::Path(_) | Expr::Field(_) => state.set(&key, value, cx),
                    Expr::Lit(_) => cx.error_spanned_by(
                        &value,
                        format!("`state` names a `resilience::Health` (a field or a `static`), not a literal; {SELF_HEALING_HINT}"),
                    ),
                    other => cx.error_spanned_by(
                        &other,
                        format!("`state` must be a path or a field, {SELF_HEALING_HINT}"),
                    ),
                },
                "max_failures" => match parse_max_failures(&value) {
                    Ok(n) => max_failures.set(&key, n, cx),
                    Err(e) => cx.syn_error(e),
                },
                "threshold" | "failures" | "max" => cx.error_spanned_by(
                    &key,
                    format!("unknown key `{key}` in `#[self_healing]`; the threshold is `max_failures = 3`"),
                ),
                "cure" | "name" | "agent" => cx.error_spanned_by(
                    &key,
                    format!(
                        "`{key}` is not set on `#[self_healing]`: a supervisor hands a cure with `health.heal(..)`, and an agent is named by `#[agent(name = ..)]`"
                    ),
                ),
                _ => unknown_key(cx, "self_healing", &key, SELF_HEALING_KEYS),
            },
            Arg::Flag(key) => match key.to_string().as_str() {
                name if SELF_HEALING_KEYS.contains(&name) => {
                    cx.error_spanned_by(&key, format!("`{name}` needs a value: `{name} = ...`"))
                }
                _ => unknown_key(cx, "self_healing", &key, SELF_HEALING_KEYS),
            },
            Arg::Value(value) => cx.error_spanned_by(
                &value,
                format!("`#[self_healing]` takes `key = value` arguments, {SELF_HEALING_HINT}"),
            ),
        }
    }
    if cx.error_count() > errors_before {
        return None;
    }
    match state.get() {
        Some(state) => Some(SelfHealingArgs {
            state,
            max_failures: max_failures.get().unwrap_or(DEFAULT_MAX_FAILURES),
        }),
        None => {
            cx.syn_error(syn::Error::new(
                span,
                format!("`#[self_healing]` needs `state = PATH`: the `resilience::Health` that counts the agent's failures, {SELF_HEALING_HINT}"),
            ));
            None
        }
    }
}

fn parse_max_failures(value: &Expr) -> syn::Result<u32> {
    let Some(Lit::Int(int)) = lit_of(value) else {
        return Err(syn::Error::new_spanned(
            value,
            "`max_failures` must be an integer literal, e.g. `max_failures = 3`",
        ));
    };
    let n: u32 = int
        .base10_parse()
        .ok()
        .filter(|n| *n < (1 << 29))
        .ok_or_else(|| syn::Error::new_spanned(int, "`max_failures` must be below 2^29"))?;
    if n == 0 {
        return Err(syn::Error::new_spanned(
            int,
            "`max_failures` must be at least 1: help is asked when that many calls in a row have failed",
        ));
    }
    Ok(n)
}

/// `#[agent(name = EXPR)]`: every event of the call carries the name.
pub(crate) struct AgentArgs {
    pub name: Expr,
    /// The attribute, for "duplicate" errors.
    pub span: Span,
}

const AGENT_HINT: &str = "e.g. `#[agent(name = self.name)]` with a field `name: resilience::AgentName`, or `#[agent(name = \"planner\")]`";

fn parse_agent(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<AgentArgs> {
    let errors_before = cx.error_count();
    let mut name = Once::new("agent", "name");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } if key == "name" => name.set(&key, value, cx),
            Arg::Flag(key) if key == "name" => {
                cx.error_spanned_by(&key, "`name` needs a value: `name = self.name`")
            }
            Arg::KeyValue { key, .. } | Arg::Flag(key) => unknown_key(cx, "agent", &key, &["name"]),
            Arg::Value(value) => cx.error_spanned_by(
                &value,
                format!("`#[agent]` takes `name = EXPR`, {AGENT_HINT}"),
            ),
        }
    }
    if cx.error_count() > errors_before {
        return None;
    }
    match name.get() {
        Some(name) => Some(AgentArgs { name, span }),
        None => {
            cx.syn_error(syn::Error::new(
                span,
                format!("`#[agent]` needs `name = EXPR`: the agent's name, which every event of the call carries, {AGENT_HINT}"),
            ));
            None
        }
    }
}

/// How a rate-limited call gets its permit.
#[derive(Clone)]
pub(crate) enum RateSource {
    /// `per_second = 10, burst = 20`: a hidden limiter of this fn's own.
    Own {
        count: u32,
        per: &'static str,
        burst: Option<u32>,
    },
    /// `state = LIMITER`: a shared limiter.
    State(Expr),
}

/// `#[rate_limit(per_second = N, burst = M, max_wait = D)]` or
/// `#[rate_limit(state = PATH, wait = false)]`.
pub(crate) struct RateLimitArgs {
    pub source: RateSource,
    /// `None`: wait as long as it takes; `Some(0)`: never wait
    /// (`wait = false`).
    pub max_wait: Option<u64>,
    /// The span of `max_wait`'s value, or of `wait`.
    pub max_wait_span: Option<Span>,
}

const RATE_LIMIT_KEYS: &[&str] = &[
    "per_second",
    "per_minute",
    "per_hour",
    "burst",
    "state",
    "wait",
    "max_wait",
];

const RATE_LIMIT_HINT: &str = "e.g. `#[rate_limit(per_second = 10, burst = 20)]`, or `#[rate_limit(state = LIMITER)]` with \
     `static LIMITER: resilience::RateLimiter = resilience::RateLimiter::new(resilience::RateLimit::per_second(10));`";

/// An integer literal of at least 1.
fn parse_count(value: &Expr, key: &str) -> syn::Result<u32> {
    let Some(Lit::Int(int)) = lit_of(value) else {
        let hint = if key == "burst" {
            "`burst` must be an integer literal, e.g. `burst = 20`".to_string()
        } else {
            format!(
                "`{key}` must be an integer literal, e.g. `{key} = 10`; for a fractional rate use a longer period (`per_minute = 30` for one call every 2s)"
            )
        };
        return Err(syn::Error::new_spanned(value, hint));
    };
    let n: u32 = int
        .base10_parse()
        .map_err(|_| syn::Error::new_spanned(int, format!("`{key}` must fit in a `u32`")))?;
    if n == 0 {
        let message = if key == "burst" {
            "`burst` must be at least 1 (one call is always a burst of one)".to_string()
        } else {
            format!("`{key}` must be at least 1; to stop calls altogether, do not call the fn")
        };
        return Err(syn::Error::new_spanned(int, message));
    }
    Ok(n)
}

fn parse_rate_limit(args: Vec<Arg>, span: Span, cx: &mut Ctxt) -> Option<RateLimitArgs> {
    let errors_before = cx.error_count();
    let mut rate = Once::<(u32, &'static str)>::new("rate_limit", "per_second");
    let mut burst = Once::new("rate_limit", "burst");
    let mut state = Once::new("rate_limit", "state");
    let mut wait = Once::<bool>::new("rate_limit", "wait");
    let mut max_wait = Once::<Dur>::new("rate_limit", "max_wait");
    for arg in args {
        match arg {
            Arg::KeyValue { key, value } => match key.to_string().as_str() {
                per @ ("per_second" | "per_minute" | "per_hour") => {
                    let per: &'static str = match per {
                        "per_second" => "per_second",
                        "per_minute" => "per_minute",
                        _ => "per_hour",
                    };
                    if let Some(first) = rate.value.as_ref().map(|(v, _)| v.1) {
                        cx.error_spanned_by(
                            &key,
                            format!("`#[rate_limit]` takes one rate, and `{first}` is already set; remove one"),
                        );
                        continue;
                    }
                    match parse_count(&value, per) {
                        Ok(n) => rate.set(&key, (n, per), cx),
                        Err(e) => cx.syn_error(e),
                    }
                }
                "burst" => match parse_count(&value, "burst") {
                    Ok(n) => burst.set(&key, n, cx),
                    Err(e) => cx.syn_error(e),
                },
                "state" => match value {
                    Expr::Path(_) | Expr::Field(_) => state.set(&key, value, cx),
                    Expr::Lit(_) => cx.error_spanned_by(
                        &value,
                        format!("`state` names a `resilience::RateLimiter` (a `static` or a field), not a literal; {RATE_LIMIT_HINT}"),
                    ),
                    other => cx.error_spanned_by(
                        &other,
                        format!("`state` must be a path or a field; {RATE_LIMIT_HINT}"),
                    ),
                },
                "wait" => match lit_of(&value) {
                    Some(Lit::Bool(b)) => wait.set(&key, b.value, cx),
                    _ => cx.error_spanned_by(
                        &value,
                        "`wait` is `true` (wait for a permit, the default) or `false` (refuse at once); for a bound write `max_wait = \"2s\"`",
                    ),
                },
                "max_wait" => match Dur::from_expr(&value, "max_wait") {
                    Ok(d) => max_wait.set(&key, d, cx),
                    Err(e) => cx.syn_error(e),
                },
                "rate" | "per" | "period" | "limit" => cx.error_spanned_by(
                    &key,
                    format!("`#[rate_limit]` takes the rate as `per_second`, `per_minute` or `per_hour`; {RATE_LIMIT_HINT}"),
                ),
                _ => unknown_key(cx, "rate_limit", &key, RATE_LIMIT_KEYS),
            },
            Arg::Flag(key) => match key.to_string().as_str() {
                name if RATE_LIMIT_KEYS.contains(&name) => {
                    cx.error_spanned_by(&key, format!("`{name}` needs a value: `{name} = ...`"))
                }
                name if name.starts_with(|c: char| c.is_ascii_uppercase()) => cx.error_spanned_by(
                    &key,
                    format!("`#[rate_limit]` takes `key = value` arguments; write `state = {name}`"),
                ),
                _ => unknown_key(cx, "rate_limit", &key, RATE_LIMIT_KEYS),
            },
            Arg::Value(value) => cx.error_spanned_by(
                &value,
                format!("`#[rate_limit]` takes `key = value` arguments, {RATE_LIMIT_HINT}"),
            ),
        }
    }
    // `state` carries its own rate and burst.
    if state.span().is_some() {
        for (key, at) in [("the rate", rate.span()), ("`burst`", burst.span())] {
            if let Some(at) = at {
                cx.syn_error(syn::Error::new(
                    at,
                    format!("{key} of a shared limiter is set on the `RateLimiter` that `state` names, not on the attribute; remove it here"),
                ));
            }
        }
    } else if let (None, Some(at)) = (rate.span(), burst.span()) {
        cx.syn_error(syn::Error::new(
            at,
            "`burst` needs a rate: add `per_second = N`, `per_minute = N` or `per_hour = N`",
        ));
    }
    if let (Some(false), Some(at)) = (wait.value.as_ref().map(|(w, _)| *w), max_wait.span()) {
        cx.syn_error(syn::Error::new(
            at,
            "`max_wait` bounds the wait, and `wait = false` already refuses at once; remove one",
        ));
    }
    if cx.error_count() > errors_before {
        return None;
    }
    let wait_span = wait.span();
    let max_wait_span = max_wait.value.as_ref().map(|(d, _)| d.span);
    let max_wait = match (wait.get(), max_wait.get()) {
        (_, Some(d)) => Some(d.nanos),
        (Some(false), None) => Some(0),
        _ => None,
    };
    let max_wait_span = max_wait_span.or(wait_span);
    let source = match (state.get(), rate.get()) {
        (Some(state), _) => RateSource::State(state),
        (None, Some((count, per))) => RateSource::Own {
            count,
            per,
            burst: burst.get(),
        },
        (None, None) => {
            cx.syn_error(syn::Error::new(
                span,
                format!("`#[rate_limit]` needs a rate or a shared limiter; {RATE_LIMIT_HINT}"),
            ));
            return None;
        }
    };
    Some(RateLimitArgs {
        source,
        max_wait,
        max_wait_span,
    })
}
