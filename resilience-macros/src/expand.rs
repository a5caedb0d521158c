//! Expansion: a stack of layers around the user's body, outermost first.
//!
//! ```text
//! #[fallback(..)]   ──▶ match { retry loop } { Err(e) => fallback }
//! #[circuit_breaker(..)] ──▶ match admit(&state) { Ok(permit) => { inner; outcome to permit } Err(open) => Err(open.into()) }
//! #[escalate(..)]   ──▶ loop { let tier = ..; run_tier(tier, async { retry loop }).await; next tier }
//! #[retry(..)]      ──▶ loop { clones; timeout(async { body }).await; backoff }
//! #[timeout(..)]    ──▶ timeout(limit, async { body })
//! async fn f() { body }
//! ```
//!
//! The user's body runs inside one `async` block so that its `return` and `?`
//! leave the attempt, not the fn. Everything else is plain code in the fn:
//! the retry loop runs inside the fn, which is what makes `&mut self` work.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

use syn::spanned::Spanned;
use syn::{Expr, Type};

use crate::args::{
    self, AgentArgs, BackoffKind, BreakerArgs, ChaosArgs, CompensateArgs, EscalateArgs,
    FallbackAction, JitterKind, Kind, Layer, RateLimitArgs, RateSource, SelfHealingArgs,
    ServerJitter,
};
use crate::body;
use crate::ctxt::Ctxt;
use crate::item::{self, Cloned, Func, Shape, TierParam};

mod bulkhead;
mod hedge;

/// Entry point of every attribute: parse, validate, expand; on error, the
/// item is emitted unchanged (minus the resilience attributes) with the errors.
pub(crate) fn attribute(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    if is_sibling_marker(&args) {
        return item;
    }
    // Without the `chaos` feature a fn under `#[chaos]` alone comes back
    // exactly as written, once its arguments are checked.
    let as_written = (kind == Kind::Chaos && !cfg!(feature = "chaos")).then(|| item.clone());
    let mut func = match Func::parse(item) {
        Ok(func) => func,
        Err(item) => return not_a_fn(kind, item),
    };
    let mut cx = Ctxt::new();
    let tier_markers = item::take_tier_markers(&mut func.sig, &mut cx);
    if already_expanded(func.block.to_token_stream()) {
        cx.syn_error(syn::Error::new(
            Span::call_site(),
            format!(
                "`#[{}]` expands after another resilience attribute on this fn, which would reverse the written order; \
                 write resilience attributes under their own names (`{0}` or `resilience::{0}`, and so on), \
                 not through an alias, so that they expand together",
                kind.name()
            ),
        ));
    }

    // The first attribute to expand takes its siblings with it, in written order.
    let mut sources = vec![(kind, args, Span::call_site())];
    let mut markers = Vec::new();
    func.attrs.retain(|attr| {
        let Some(kind) = Kind::from_path(attr.path()) else {
            return true;
        };
        let tokens = match &attr.meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(list) => list.tokens.clone(),
            syn::Meta::NameValue(nv) => {
                cx.error_spanned_by(
                    nv,
                    format!("write `#[{0}(...)]`, not `#[{0} = ...]`", kind.name()),
                );
                return false;
            }
        };
        sources.push((kind, tokens, attr_span(attr)));
        markers.push(sibling_marker(attr));
        false
    });

    let escalates = sources.iter().any(|(kind, ..)| *kind == Kind::Escalate);
    let layers: Vec<Option<Layer>> = sources
        .into_iter()
        .map(|(kind, tokens, span)| args::parse_layer(kind, tokens, span, &mut cx))
        .collect();
    let shape = item::shape(&func, kind, &mut cx);
    func.attrs.extend(markers);

    let (layers, compensate) = split_compensate(layers.into_iter().flatten().collect(), &mut cx);
    hedge::check(&func, &layers, &mut cx);
    let (layers, agent) = split_agent(layers, &mut cx);
    let tier_index = if escalates {
        check_escalate(&func, shape.as_ref(), &layers, &tier_markers, &mut cx)
    } else {
        item::stray_tier_markers(&tier_markers, &mut cx);
        None
    };
    let chaos_layers = layers.iter().filter_map(|layer| match layer {
        Layer::Chaos(args) => Some(args.span),
        _ => None,
    });
    for duplicate in chaos_layers.skip(1) {
        cx.syn_error(syn::Error::new(
            duplicate,
            "duplicate `#[chaos]`; one `Chaos` decides each call's fault (set its rate to inject more)",
        ));
    }
    let only_chaos = layers.iter().all(|layer| matches!(layer, Layer::Chaos(_)));
    match (cx.check(), shape) {
        (Ok(()), Some(_))
            if only_chaos && compensate.is_none() && agent.is_none() && as_written.is_some() =>
        {
            as_written.unwrap_or_default()
        }
        (Ok(()), Some(shape)) => expand(
            func,
            shape,
            &layers,
            Wrappers {
                compensate: compensate.as_ref(),
                agent: agent.as_ref(),
            },
            tier_index,
        ),
        (Err(error), _) => {
            let error = error.into_compile_error();
            quote!(#error #func)
        }
        (Ok(()), None) => func.into_token_stream(),
    }
}

/// Where an attribute-level problem is reported: the attribute's name (on
/// stable Rust a span cannot join `#` to `]`).
pub(crate) fn attr_span(attr: &syn::Attribute) -> Span {
    attr.path()
        .segments
        .last()
        .map_or_else(|| attr.path().span(), |segment| segment.ident.span())
}

/// Whether the body is already the expansion of a resilience attribute (its
/// `__RESILIENCE_*` policy constants): an attribute under an alias is not
/// recognised as a sibling and expands on its own, after the others.
fn already_expanded(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident.to_string().starts_with("__RESILIENCE_"),
        proc_macro2::TokenTree::Group(group) => already_expanded(group.stream()),
        _ => false,
    })
}

/// The attribute is not on a fn with a body: one error, and the item back
/// with its sibling resilience attributes turned into inert markers (so they
/// do not report the same problem again).
fn not_a_fn(kind: Kind, item: TokenStream) -> TokenStream {
    let name = kind.name();
    let (message, item) = match syn::parse2::<syn::TraitItemFn>(item.clone()) {
        Ok(mut method) => {
            mark_siblings(&mut method.attrs);
            (
                format!(
                    "`#[{name}]` needs a fn body; put it on the method of the `impl`, not on the trait's declaration"
                ),
                method.into_token_stream(),
            )
        }
        Err(_) => {
            let message =
                format!("`#[{name}]` applies to an `async fn` that returns `Result<T, E>`");
            match syn::parse2::<syn::Item>(item.clone()) {
                Ok(mut parsed) => {
                    if let Some(attrs) = item_attrs(&mut parsed) {
                        mark_siblings(attrs);
                    }
                    (message, parsed.into_token_stream())
                }
                Err(_) => (message, item),
            }
        }
    };
    let error = syn::Error::new(Span::call_site(), message).into_compile_error();
    quote!(#error #item)
}

fn mark_siblings(attrs: &mut [syn::Attribute]) {
    for attr in attrs {
        if Kind::from_path(attr.path()).is_some() {
            *attr = sibling_marker(attr);
        }
    }
}

fn item_attrs(item: &mut syn::Item) -> Option<&mut Vec<syn::Attribute>> {
    Some(match item {
        syn::Item::Const(i) => &mut i.attrs,
        syn::Item::Enum(i) => &mut i.attrs,
        syn::Item::Fn(i) => &mut i.attrs,
        syn::Item::Impl(i) => &mut i.attrs,
        syn::Item::Mod(i) => &mut i.attrs,
        syn::Item::Static(i) => &mut i.attrs,
        syn::Item::Struct(i) => &mut i.attrs,
        syn::Item::Trait(i) => &mut i.attrs,
        syn::Item::Type(i) => &mut i.attrs,
        syn::Item::Union(i) => &mut i.attrs,
        syn::Item::Use(i) => &mut i.attrs,
        _ => return None,
    })
}

/// The argument of a sibling attribute that was already expanded by the
/// first one. Re-emitting `#[timeout(__resilience_sibling)]` keeps the user's
/// `use resilience::timeout` in use (no `unused_imports` warning); when it
/// expands, it gives the fn back untouched.
const SIBLING_MARKER: &str = "__resilience_sibling";

fn sibling_marker(attr: &syn::Attribute) -> syn::Attribute {
    let path = attr.path();
    let marker = syn::Ident::new(SIBLING_MARKER, Span::call_site());
    syn::parse_quote!(#[#path(#marker)])
}

fn is_sibling_marker(args: &TokenStream) -> bool {
    let mut iter = args.clone().into_iter();
    matches!(
        (iter.next(), iter.next()),
        (Some(proc_macro2::TokenTree::Ident(ident)), None) if ident == SIBLING_MARKER
    )
}

/// At most one `#[escalate]`, on a plain `async fn` with exactly one
/// `#[tier]` parameter (a reference). Returns the tier parameter's index.
fn check_escalate(
    func: &Func,
    shape: Option<&Shape>,
    layers: &[Layer],
    markers: &[item::TierMarker],
    cx: &mut Ctxt,
) -> Option<usize> {
    let escalates = layers.iter().filter_map(|layer| match layer {
        Layer::Escalate(args) => Some(args),
        _ => None,
    });
    for duplicate in escalates.skip(1) {
        cx.syn_error(syn::Error::new(
            duplicate.span,
            "duplicate `#[escalate]`; one fn escalates over one list of tiers",
        ));
    }
    if let Some(Shape::AsyncTrait { .. }) = shape {
        cx.error_spanned_by(
            func.sig.fn_token,
            "`#[escalate]` takes the `#[tier]` parameter out of the signature, which `#[async_trait]` has already rewritten; \
             use a native `async fn` in the trait and its impl",
        );
    }
    item::check_tier_param(&func.sig, markers, cx);
    markers.first().map(|marker| marker.index)
}

/// `#[compensate]` is not a layer: it acts once the whole call succeeded,
/// wherever it is written in the stack. At most one per fn.
pub(crate) fn split_compensate(
    layers: Vec<Layer>,
    cx: &mut Ctxt,
) -> (Vec<Layer>, Option<CompensateArgs>) {
    let mut compensate: Option<CompensateArgs> = None;
    let mut rest = Vec::new();
    for layer in layers {
        match layer {
            Layer::Compensate(args) => {
                if compensate.is_some() {
                    cx.syn_error(syn::Error::new(
                        args.span,
                        "duplicate `#[compensate]`; one compensation undoes one call",
                    ));
                } else {
                    compensate = Some(args);
                }
            }
            other => rest.push(other),
        }
    }
    (rest, compensate)
}

/// `#[agent]` is not a layer either: the name covers every event of the
/// call, wherever the attribute is written. At most one per fn.
fn split_agent(layers: Vec<Layer>, cx: &mut Ctxt) -> (Vec<Layer>, Option<AgentArgs>) {
    let mut agent: Option<AgentArgs> = None;
    let mut rest = Vec::new();
    for layer in layers {
        match layer {
            Layer::Agent(args) => {
                if agent.is_some() {
                    cx.syn_error(syn::Error::new(
                        args.span,
                        "duplicate `#[agent]`; a call runs for one agent",
                    ));
                } else {
                    agent = Some(args);
                }
            }
            other => rest.push(other),
        }
    }
    (rest, agent)
}

/// Runs the whole call (its layers and its compensation's registration)
/// as the agent `#[agent(name = ..)]` names: every event it emits carries
/// the name. The name is evaluated once, before the call.
fn as_agent(future: TokenStream, args: &AgentArgs) -> TokenStream {
    let name = &args.name;
    // A name of another type is reported at the user's expression.
    let named = quote_spanned!(at(name.span())=> ::resilience::__private::agent_name(&#name));
    q!({
        let __resilience_agent = #named;
        ::resilience::__private::as_agent(__resilience_agent, #future).await
    })
}

/// What wraps the whole stack, wherever it is written.
#[derive(Clone, Copy)]
struct Wrappers<'a> {
    compensate: Option<&'a CompensateArgs>,
    agent: Option<&'a AgentArgs>,
}

/// Registers the compensation of a successful call with the enclosing saga,
/// or records the failed step. Outside a saga it costs one task-local check.
fn compensated(
    expr: TokenStream,
    ret: &Type,
    operation: &str,
    args: &CompensateArgs,
) -> TokenStream {
    let undo = call(&args.with, q!(__resilience_value));
    let outcome = compensation_outcome(q!(#undo.await));
    // A non-`Clone` output is reported at `T` in `Result<T, E>`.
    let clone_output =
        quote_spanned!(item::ok_type_span(ret)=> ::resilience::__private::clone_output);
    q!({
        let __resilience_output: #ret = #expr;
        match &__resilience_output {
            ::resilience::__private::Result::Ok(__resilience_value) => {
                if ::resilience::__private::in_saga() {
                    let __resilience_value = #clone_output(__resilience_value);
                    ::resilience::__private::register_compensation(#operation, move || async move { #outcome });
                }
            }
            ::resilience::__private::Result::Err(_) => ::resilience::__private::step_failed(#operation),
        }
        __resilience_output
    })
}

/// `Result<(), String>` from the compensation's own `Result<_, E>`.
pub(crate) fn compensation_outcome(undone: TokenStream) -> TokenStream {
    q!(match #undone {
        ::resilience::__private::Result::Ok(_) => ::resilience::__private::Result::Ok(()),
        ::resilience::__private::Result::Err(__resilience_error) => ::resilience::__private::Result::Err(
            ::resilience::__private::ToString::to_string(&::resilience::__private::error_ref!(&__resilience_error)),
        ),
    })
}

fn expand(
    mut func: Func,
    shape: Shape,
    layers: &[Layer],
    wrappers: Wrappers<'_>,
    tier_index: Option<usize>,
) -> TokenStream {
    let needs_clones = layers.iter().any(is_repeating);
    let operation = func.sig.ident.to_string();
    let params = item::param_names(&func.sig);
    // Out of the signature before the owned arguments are found: each tier
    // is lent, never cloned.
    let tier = tier_index.and_then(|index| item::take_tier_param(&mut func.sig, index));
    match shape {
        Shape::Async { ret } => {
            let (cloned, self_by_value) = if needs_clones {
                item::owned_args(&mut func.sig)
            } else {
                (Vec::new(), None)
            };
            let stmts = &func.block.stmts;
            let mut body = quote!(#(#stmts)*);
            if self_by_value.is_some() {
                body = item::replace_self(body);
            }
            let generator = Generator {
                layers,
                ret: &ret,
                operation: &operation,
                body,
                cloned: &cloned,
                tier: tier.as_ref(),
                params: &params,
            };
            let expr = wrappers.wrap(&generator);
            with_body(&func, expr)
        }
        Shape::AsyncTrait { ret, ret_local } => {
            let sig = func.sig.clone();
            let Some(stmts) = item::async_trait_stmts(&mut func.block) else {
                return func.into_token_stream();
            };
            let cloned = if needs_clones {
                item::async_trait_owned(&sig, &mut stmts[..ret_local])
            } else {
                Vec::new()
            };
            if let syn::Stmt::Local(local) = &mut stmts[ret_local]
                && let Some(init) = &mut local.init
            {
                let body = init.expr.to_token_stream();
                let generator = Generator {
                    layers,
                    ret: &ret,
                    operation: &operation,
                    body,
                    cloned: &cloned,
                    tier: tier.as_ref(),
                    params: &params,
                };
                let expr = wrappers.wrap(&generator);
                *init.expr = Expr::Verbatim(quote!({ #expr }));
            }
            func.into_token_stream()
        }
    }
}

/// The fn with `expr` as its body. Every layer is a `{ .. }` block: its
/// statements become the fn's, inside the braces of the user's own body (so
/// that errors about the body point at them). The tokens are emitted as they
/// are; parsing them into statements first would cost more than the rest of
/// the expansion together.
fn with_body(func: &Func, expr: TokenStream) -> TokenStream {
    let mut trees = expr.clone().into_iter();
    let stmts = match (trees.next(), trees.next()) {
        (Some(proc_macro2::TokenTree::Group(group)), None)
            if group.delimiter() == proc_macro2::Delimiter::Brace =>
        {
            group.stream()
        }
        _ => expr,
    };
    let mut body = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, stmts);
    body.set_span(func.block.brace_token.span.join());
    let mut tokens = TokenStream::new();
    for attr in &func.attrs {
        attr.to_tokens(&mut tokens);
    }
    func.vis.to_tokens(&mut tokens);
    func.sig.to_tokens(&mut tokens);
    tokens.extend([proc_macro2::TokenTree::Group(body)]);
    tokens
}

impl Wrappers<'_> {
    /// The whole call: the generator's layers, then the compensation's
    /// registration, all run as the agent.
    fn wrap(self, generator: &Generator<'_>) -> TokenStream {
        let (ret, operation) = (generator.ret, generator.operation);
        match (self.compensate, self.agent) {
            (None, None) => generator.expr(0),
            (Some(args), None) => compensated(generator.expr(0), ret, operation, args),
            // The layers' own future (the body's, if it is `f(..).await`
            // alone): no extra `async` block to store.
            (None, Some(agent)) => as_agent(generator.future(0), agent),
            (Some(args), Some(agent)) => {
                let expr = compensated(generator.expr(0), ret, operation, args);
                as_agent(q!(async { #expr }), agent)
            }
        }
    }
}

pub(crate) struct Generator<'a> {
    pub layers: &'a [Layer],
    pub ret: &'a Type,
    pub operation: &'a str,
    pub body: TokenStream,
    pub cloned: &'a [Cloned],
    /// The `#[tier]` parameter, with an `#[escalate]` layer.
    pub tier: Option<&'a TierParam>,
    /// The fn's parameters bound to a name (a `state` naming one is no
    /// `static`, whatever its case).
    pub params: &'a [syn::Ident],
}

/// A layer that runs what is below it more than once (so each run gets
/// its own clone of the owned arguments).
fn is_repeating(layer: &Layer) -> bool {
    matches!(
        layer,
        Layer::Retry(_) | Layer::Escalate(_) | Layer::Hedge(_)
    )
}

impl Generator<'_> {
    /// An expression of the return type that runs layers `index..` (async context).
    pub(crate) fn expr(&self, index: usize) -> TokenStream {
        match self.layers.get(index) {
            None => match body::inline(&self.body) {
                // Nothing in the body can leave it early: run it in place.
                Some(_) => {
                    let body = &self.body;
                    q!({ #body })
                }
                None => {
                    let future = self.body_future();
                    q!(#future.await)
                }
            },
            Some(Layer::Retry(args)) => self.retry(index, args),
            Some(Layer::Timeout(args)) => self.timeout(index, args),
            Some(Layer::Fallback(args)) => self.fallback(index, args),
            Some(Layer::Escalate(args)) => self.escalate(index, args),
            Some(Layer::Chaos(args)) => self.chaos(index, args),
            Some(Layer::CircuitBreaker(args)) => self.circuit_breaker(index, args),
            Some(Layer::Bulkhead(args)) => self.bulkhead(index, args),
            Some(Layer::Hedge(args)) => self.hedge(index, args),
            Some(Layer::SelfHealing(args)) => self.self_healing(index, args),
            Some(Layer::RateLimit(args)) => self.rate_limit(index, args),
            // Split off by `split_compensate` and `split_agent` before generating.
            Some(Layer::Compensate(_) | Layer::Agent(_)) => self.expr(index + 1),
        }
    }

    /// A future whose output is the return type and that runs layers `index..`.
    pub(crate) fn future(&self, index: usize) -> TokenStream {
        if index < self.layers.len() {
            let expr = self.expr(index);
            return q!(async { #expr });
        }
        match body::inline(&self.body) {
            // `work(x).await` alone: time `work(x)` itself, as one would by hand.
            Some(body::Inline::Await(future)) => future,
            _ => self.body_future(),
        }
    }

    /// The user's body in an `async` block whose output type is pinned to the
    /// return type (so `?` and `return` infer), as tracing-attributes does.
    fn body_future(&self) -> TokenStream {
        let ret = self.ret;
        let body = &self.body;
        let fake = quote_spanned! {ret.span()=>
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::unreachable,
                clippy::needless_return
            )]
            if false {
                let __resilience_fake_return: #ret = loop {};
                return __resilience_fake_return;
            }
        };
        q!(async { #fake #body })
    }

    /// Whether no layer below `index` repeats: this one clones the owned
    /// arguments for each of its runs.
    fn is_innermost_repeating(&self, index: usize) -> bool {
        !self.layers[index + 1..].iter().any(is_repeating)
    }

    /// `let prompt = clone_arg(&prompt);` for each owned argument, if the
    /// layer at `index` is the innermost that repeats. `#[escalate]` calls
    /// `clone_tier_arg`, whose "not `Clone`" error names it.
    fn clones(&self, index: usize) -> TokenStream {
        if !self.is_innermost_repeating(index) {
            return TokenStream::new();
        }
        let clone_fn = match self.layers[index] {
            Layer::Escalate(_) => "clone_tier_arg",
            _ => "clone_arg",
        };
        self.cloned
            .iter()
            .map(|c| {
                let (pat, source) = (&c.pat, &c.source);
                let clone_fn = syn::Ident::new(clone_fn, c.span);
                let clone = quote_spanned!(c.span=> ::resilience::__private::#clone_fn(&#source));
                q!(let #pat = #clone;)
            })
            .collect()
    }

    fn retry(&self, index: usize, args: &args::RetryArgs) -> TokenStream {
        let ret = self.ret;
        let operation = self.operation;
        let attempts = proc_macro2::Literal::u32_unsuffixed(args.attempts);
        let delay = args.delay.to_tokens();
        let ctor = match args.backoff {
            BackoffKind::Constant => q!(constant),
            BackoffKind::Linear => q!(linear),
            BackoffKind::Exponential => q!(exponential),
        };
        let mut backoff = q!(::resilience::__private::Backoff::#ctor(#delay));
        if let Some(factor) = args.factor {
            let factor = proc_macro2::Literal::f64_unsuffixed(factor);
            backoff.extend(q!(.with_factor(#factor)));
        }
        if let Some(max) = args.max_delay {
            let max = max.to_tokens();
            backoff.extend(q!(.with_max_delay(#max)));
        }
        let jitter = match args.jitter {
            JitterKind::None => None,
            JitterKind::Full => Some(q!(Full)),
            JitterKind::Equal => Some(q!(Equal)),
            JitterKind::Decorrelated => Some(q!(Decorrelated)),
        };
        if let Some(jitter) = jitter {
            backoff.extend(q!(.with_jitter(::resilience::__private::Jitter::#jitter)));
        }
        let mut policy = q! {
            ::resilience::__private::RetryPolicy::new(#operation)
                .with_attempts(#attempts)
                .with_backoff(#backoff)
        };
        if let Some(jitter) = args.retry_after_jitter {
            let jitter = match jitter {
                ServerJitter::Percent(p) => {
                    let p = proc_macro2::Literal::f64_unsuffixed(p);
                    q!(Percent(#p))
                }
                ServerJitter::UpTo(d) => {
                    let d = d.to_tokens();
                    q!(UpTo(#d))
                }
            };
            policy.extend(
                q!(.with_retry_after_jitter(::resilience::__private::RetryAfterJitter::#jitter)),
            );
        }
        let mut started_decl = TokenStream::new();
        let mut started = q!(::resilience::__private::Option::None);
        if let Some(max) = args.max_elapsed {
            let max = max.to_tokens();
            policy.extend(q!(.with_max_elapsed(#max)));
            started_decl = q!(let __resilience_started = ::resilience::__private::Instant::now(););
            started = q!(::resilience::__private::Option::Some(__resilience_started));
        }
        let retryable = match &args.when {
            Some(when) => call(when, q!(&__resilience_error)),
            None => q!(true),
        };
        // A `retry_after` fn with another return type than
        // `Option<Duration>` is reported at the user's fn (`RetryAfter`).
        let requested = match &args.retry_after {
            Some(path) => {
                let call = call(path, q!(&__resilience_error));
                quote_spanned!(path.span()=> ::resilience::__private::retry_after(#call))
            }
            None => q!(::resilience::__private::Option::None),
        };
        let clones = self.clones(index);
        let state = if args.jitter == JitterKind::Decorrelated {
            q!(::resilience::__private::RetryState::remembering())
        } else {
            q!(::resilience::__private::RetryState::new())
        };
        let inner = self.expr(index + 1);
        let error_ref = error_ref();
        q! {{
            const __RESILIENCE_RETRY: ::resilience::__private::RetryPolicy = #policy;
            #started_decl
            let mut __resilience_retry = #state;
            loop {
                let __resilience_result: #ret = {
                    #clones
                    #inner
                };
                let __resilience_delay = match __resilience_result {
                    ::resilience::__private::Result::Ok(__resilience_value) => {
                        break ::resilience::__private::Result::Ok(__resilience_value);
                    }
                    ::resilience::__private::Result::Err(__resilience_error) => {
                        match ::resilience::__private::retry_delay(
                            &mut __resilience_retry,
                            &__RESILIENCE_RETRY,
                            ::resilience::__private::FailedAttempt {
                                retryable: #retryable,
                                requested: #requested,
                                started: #started,
                                error: #error_ref,
                            },
                        ) {
                            ::resilience::__private::Option::Some(__resilience_delay) => __resilience_delay,
                            ::resilience::__private::Option::None => {
                                break ::resilience::__private::Result::Err(__resilience_error);
                            }
                        }
                    }
                };
                // The error is gone before the wait: it is not kept in the future.
                ::resilience::__private::sleep(__resilience_delay).await;
            }
        }}
    }

    fn timeout(&self, index: usize, args: &args::TimeoutArgs) -> TokenStream {
        let operation = self.operation;
        let limit = args.limit.to_tokens();
        let inner = self.future(index + 1);
        // The whole conversion carries the return type's span: a missing
        // `From<Elapsed>` is reported at the user's error type.
        let convert = quote_spanned!(item::error_type_span(self.ret)=>
            ::resilience::__private::timeout_error(__RESILIENCE_TIMEOUT.expire())
        );
        q! {{
            const __RESILIENCE_TIMEOUT: ::resilience::__private::TimeoutPolicy =
                ::resilience::__private::TimeoutPolicy::new(#operation, #limit);
            match ::resilience::__private::timeout(__RESILIENCE_TIMEOUT.limit(), #inner).await {
                ::resilience::__private::Result::Ok(__resilience_value) => __resilience_value,
                ::resilience::__private::Result::Err(_) => {
                    ::resilience::__private::Result::Err(#convert)
                }
            }
        }}
    }

    /// With the `chaos` feature: the layers below run through the `Chaos`
    /// that `state` names. Without it: nothing (the layers below, as if
    /// `#[chaos]` were not written).
    fn chaos(&self, index: usize, args: &ChaosArgs) -> TokenStream {
        if !cfg!(feature = "chaos") {
            return self.expr(index + 1);
        }
        let operation = self.operation;
        let inner = self.future(index + 1);
        let state = &args.state;
        // A `state` that is no `Chaos` is reported once, at the user's value.
        let run = quote_spanned!(at(state.span())=>
            ::resilience::__private::chaos(&#state, #operation, #inner).await
        );
        // A missing `From<ChaosError>` is reported at the user's error type.
        let convert = quote_spanned!(at(item::error_type_span(self.ret))=>
            ::resilience::__private::chaos_error(__resilience_error)
        );
        q! {{
            match #run {
                ::resilience::__private::Result::Ok(__resilience_result) => __resilience_result,
                ::resilience::__private::Result::Err(__resilience_error) => {
                    ::resilience::__private::Result::Err(#convert)
                }
            }
        }}
    }

    /// A permit of the rate limit, then the layers below. Waiting as long
    /// as it takes needs nothing of the error type; with `wait = false` or
    /// `max_wait` a refusal reaches it through `From<RateLimited>`.
    fn rate_limit(&self, index: usize, args: &RateLimitArgs) -> TokenStream {
        let operation = self.operation;
        let inner = self.expr(index + 1);
        let (declaration, state, span) = match &args.source {
            RateSource::Own { count, per, burst } => {
                let per = syn::Ident::new(per, Span::call_site());
                let count = proc_macro2::Literal::u32_unsuffixed(*count);
                let burst = burst.map(|burst| {
                    let burst = proc_macro2::Literal::u32_unsuffixed(burst);
                    q!(.with_burst(#burst))
                });
                let declaration = q! {
                    static __RESILIENCE_RATE_LIMIT: ::resilience::__private::RateLimiter =
                        ::resilience::__private::RateLimiter::new(
                            ::resilience::__private::RateLimit::#per(#count)#burst
                        );
                };
                (declaration, q!(__RESILIENCE_RATE_LIMIT), Span::mixed_site())
            }
            // A `state` that is no `RateLimiter` is reported at the user's value.
            RateSource::State(state) => (
                TokenStream::new(),
                state.to_token_stream(),
                at(state.span()),
            ),
        };
        let Some(max_wait) = args.max_wait else {
            // The permit is taken in a statement of its own: a borrowed
            // `state` (`self.limiter`) is released before the body runs.
            let wait = quote_spanned!(span=> ::resilience::__private::rate_limit_wait(&#state, #operation).await);
            return q! {{
                #declaration
                #wait;
                #inner
            }};
        };
        let max_wait = crate::duration::Dur {
            nanos: max_wait,
            span: args.max_wait_span.unwrap_or_else(Span::call_site),
        };
        let max_wait = if max_wait.nanos == 0 {
            q!(::resilience::__private::Duration::ZERO)
        } else {
            max_wait.to_tokens()
        };
        // A missing `From<RateLimited>` is reported at the user's error type.
        let convert = quote_spanned!(at(item::error_type_span(self.ret))=>
            ::resilience::__private::rate_limited_error(__resilience_error)
        );
        let permit = quote_spanned!(span=>
            ::resilience::__private::rate_limit_within(&#state, #operation, #max_wait).await
        );
        q! {{
            #declaration
            let __resilience_permit = #permit;
            match __resilience_permit {
                ::resilience::__private::Result::Ok(()) => #inner,
                ::resilience::__private::Result::Err(__resilience_error) => {
                    ::resilience::__private::Result::Err(#convert)
                }
            }
        }}
    }

    /// The layers below run only if the breaker that `state` names lets
    /// the call through; their outcome is reported on the permit (an error
    /// that `when` refuses counts as a success). Refused, the fn returns
    /// `Err(CircuitOpen.into())`.
    fn circuit_breaker(&self, index: usize, args: &BreakerArgs) -> TokenStream {
        let ret = self.ret;
        let operation = self.operation;
        let inner = self.expr(index + 1);
        let state = &args.state;
        // A `state` that is no `CircuitBreaker` is reported at the user's
        // value. A `static` (by its name) is also named by the operation's
        // type, so that the guard across the call holds no address.
        let (admit, place) = if names_a_static(state, self.params) {
            let breaker = quote_spanned!(at(state.span())=>
                ::resilience::__private::static_breaker(&#state)
            );
            let admit = q!(::resilience::__private::breaker_admit_static::<
                __ResilienceBreakerOperation,
            >());
            let place = q! {
                impl ::resilience::__private::StaticBreaker for __ResilienceBreakerOperation {
                    #[inline]
                    fn breaker() -> &'static ::resilience::__private::CircuitBreaker {
                        #breaker
                    }
                }
            };
            (admit, place)
        } else {
            let admit = quote_spanned!(at(state.span())=>
                ::resilience::__private::breaker_admit::<__ResilienceBreakerOperation, _>(&#state)
            );
            (admit, TokenStream::new())
        };
        // A missing `From<CircuitOpen>` is reported at the user's error type.
        let convert = quote_spanned!(at(item::error_type_span(ret))=>
            ::resilience::__private::circuit_open_error(__resilience_open)
        );
        let failed =
            q!(__resilience_permit.failed(::resilience::__private::error_ref!(__resilience_error)));
        let on_error = match &args.when {
            Some(when) => {
                // A `when` of another signature is reported at `when`.
                let error = quote_spanned!(at(when.span())=> __resilience_error);
                let counts = call(when, error);
                q!(if #counts { #failed } else { __resilience_permit.succeeded() })
            }
            None => failed,
        };
        // The guard is bound by a `let`, not by a `match` arm: a `match`
        // keeps its scrutinee (the whole `Result`) in the future across the
        // call, and the guard is copied out of it. It is two words (the
        // operation's name is a type) and never moved (no drop flag in
        // the future): the permit is taken from it as its block ends, and
        // lives in registers; the permit's `Drop` still counts a panic of
        // `when` as a failure. The result is then matched by value, not
        // by reference: the error path hands the error's address on, and a
        // `match &result` made every call write the whole result to memory
        // first (three stores on the success path); by value, only an
        // error is.
        let label = syn::Lifetime::new(
            &format!("'__resilience_breaker_{index}"),
            proc_macro2::Span::mixed_site(),
        );
        q! {#label: {
            struct __ResilienceBreakerOperation;
            impl ::resilience::__private::BreakerOperation for __ResilienceBreakerOperation {
                const NAME: &'static str = #operation;
            }
            #place
            let (__resilience_permit, __resilience_result) = {
                let mut __resilience_guard = match #admit {
                    ::resilience::__private::Result::Ok(__resilience_guard) => __resilience_guard,
                    ::resilience::__private::Result::Err(__resilience_open) => {
                        break #label ::resilience::__private::Result::Err(#convert);
                    }
                };
                let __resilience_result: #ret = #inner;
                (__resilience_guard.take(), __resilience_result)
            };
            match __resilience_result {
                ::resilience::__private::Result::Ok(__resilience_value) => {
                    __resilience_permit.succeeded();
                    ::resilience::__private::Result::Ok(__resilience_value)
                }
                ::resilience::__private::Result::Err(__resilience_error) => {
                    {
                        let __resilience_error = &__resilience_error;
                        #on_error
                    }
                    ::resilience::__private::Result::Err(__resilience_error)
                }
            }
        }}
    }

    /// Refuses the call if the supervisor gave up; else runs the layers
    /// below and counts the outcome in the `Health`. `state` is evaluated
    /// before and after the call, never borrowed across it, so that the
    /// body may use `&mut self`.
    fn self_healing(&self, index: usize, args: &SelfHealingArgs) -> TokenStream {
        let ret = self.ret;
        let operation = self.operation;
        let max_failures = proc_macro2::Literal::u32_unsuffixed(args.max_failures);
        let inner = self.expr(index + 1);
        let state = &args.state;
        // A `state` that is no `Health` is reported at the user's value,
        // once: the three calls are the same error at the same token,
        // which rustc merges.
        let healing = |step: TokenStream| {
            quote_spanned!(at(state.span())=>
                ::resilience::__private::healing(&#state, &__RESILIENCE_HEALING, #step)
            )
        };
        let enter = healing(q!(::resilience::__private::Healing::Enter));
        let succeeded = healing(q!(::resilience::__private::Healing::Succeeded));
        let failed = healing(q!(::resilience::__private::Healing::Failed(
            ::resilience::__private::error_ref!(__resilience_error)
        )));
        // A missing `From<Abandoned>` is reported at the user's error type.
        let convert = quote_spanned!(at(item::error_type_span(ret))=>
            ::resilience::__private::abandoned_error(
                ::resilience::__private::abandoned(&__RESILIENCE_HEALING),
            )
        );
        // An `if`, not a `match`: its condition is dropped before the call
        // runs, so the future keeps nothing of it.
        q! {{
            const __RESILIENCE_HEALING: ::resilience::__private::HealingPolicy =
                ::resilience::__private::HealingPolicy::new(#operation, #max_failures);
            if #enter {
                let __resilience_result: #ret = #inner;
                match &__resilience_result {
                    ::resilience::__private::Result::Ok(_) => #succeeded,
                    ::resilience::__private::Result::Err(__resilience_error) => #failed,
                };
                __resilience_result
            } else {
                ::resilience::__private::Result::Err(#convert)
            }
        }}
    }

    fn escalate(&self, index: usize, args: &EscalateArgs) -> TokenStream {
        let ret = self.ret;
        let operation = self.operation;
        let clones = self.clones(index);
        let inner = self.expr(index + 1);
        let tiers = &args.tiers;
        // A list that is not one, or a tier type without `Tier`, is
        // reported at the user's `tiers` value.
        let start = quote_spanned!(at(tiers.span())=> __RESILIENCE_ESCALATE.start(&#tiers));
        // Each tier is bound to the user's parameter; a tier of another
        // type is a mismatch at the parameter's type.
        let binding = self.tier.map(|TierParam { pat, ty }| {
            let tier = quote_spanned!(at(ty.span())=> __resilience_tier);
            q!(let #pat: #ty = #tier;)
        });
        let escalates = match &args.when {
            Some(when) => {
                let call = call(when, q!(__resilience_returned));
                q!(match __resilience_error.error() {
                    ::resilience::__private::Option::Some(__resilience_returned) => #call,
                    // A time-out or a panic always escalates.
                    ::resilience::__private::Option::None => true,
                })
            }
            None => q!(true),
        };
        // A missing `From<EscalationError<E>>` is reported at `E`.
        let convert = quote_spanned!(at(item::error_type_span(ret))=>
            ::resilience::__private::escalation_error(__resilience_error)
        );
        q! {{
            const __RESILIENCE_ESCALATE: ::resilience::__private::EscalatePolicy =
                ::resilience::__private::EscalatePolicy::new(#operation);
            match #start {
                ::resilience::__private::Result::Ok(mut __resilience_escalation) => loop {
                    let __resilience_tier = __resilience_escalation.tier();
                    let __resilience_error = {
                        #clones
                        #binding
                        let __resilience_attempt = async {
                            let __resilience_result: #ret = #inner;
                            __resilience_result
                        };
                        match ::resilience::__private::run_tier(__resilience_escalation.limit(), __resilience_attempt).await {
                            ::resilience::__private::Result::Ok(__resilience_value) => {
                                break ::resilience::__private::Result::Ok(__resilience_value);
                            }
                            ::resilience::__private::Result::Err(__resilience_error) => __resilience_error,
                        }
                    };
                    let __resilience_failed = ::resilience::__private::FailedTier {
                        escalates: #escalates,
                        error: __resilience_error,
                    };
                    if let ::resilience::__private::Option::Some(__resilience_error) =
                        __resilience_escalation.failed(__resilience_failed)
                    {
                        break ::resilience::__private::Result::Err(#convert);
                    }
                },
                ::resilience::__private::Result::Err(__resilience_error) => {
                    ::resilience::__private::Result::Err(#convert)
                }
            }
        }}
    }

    fn fallback(&self, index: usize, args: &args::FallbackArgs) -> TokenStream {
        let ret = self.ret;
        let operation = self.operation;
        let inner = self.expr(index + 1);
        let guard = args
            .when
            .as_ref()
            .map(|when| {
                let call = call(when, q!(&__resilience_error));
                q!(if #call)
            })
            .unwrap_or_default();
        let value = match &args.action {
            FallbackAction::Default(expr) => q!(::resilience::__private::Result::Ok(#expr)),
            // A path that does not take the error alone (a method of
            // `self`) is reported at the path, with the closure to write.
            FallbackAction::With(Expr::Path(path)) => {
                let error = q!(__resilience_error);
                quote_spanned! {path.span()=>
                    ::resilience::__private::fallback_with(#path, #error).await
                }
            }
            FallbackAction::With(path) => {
                let call = call(path, q!(__resilience_error));
                quote_spanned!(path.span()=> #call.await)
            }
        };
        let error_ref = error_ref();
        q! {{
            const __RESILIENCE_FALLBACK: ::resilience::__private::FallbackPolicy =
                ::resilience::__private::FallbackPolicy::new(#operation);
            let __resilience_result: #ret = #inner;
            match __resilience_result {
                ::resilience::__private::Result::Err(__resilience_error) #guard => {
                    __RESILIENCE_FALLBACK.fired(#error_ref);
                    #value
                }
                // `Ok`, or an error `when` refused: returned as it is.
                __resilience_result => __resilience_result,
            }
        }}
    }
}

/// `path(arg)` for a path, `apply(closure, arg)` for a closure, spanned at the
/// user's callee so that a type error points there.
pub(crate) fn call(callee: &Expr, arg: TokenStream) -> TokenStream {
    let span = callee.span();
    match callee {
        Expr::Path(path) => quote_spanned!(span=> #path(#arg)),
        other => quote_spanned!(span=> ::resilience::__private::apply(#other, #arg)),
    }
}

/// A generated span with the hygiene of the generated locals, reported at
/// the user's token `span`.
/// Whether a breaker's `state` names a `static`, by Rust's naming
/// convention: a path (no `self` or `Self`, no generic arguments, not one
/// of the fn's `params`) whose last segment is in `SCREAMING_CASE`. Such a
/// breaker's address is a constant, which its generated code names through
/// a type rather than keeping it in the caller's future. (A `const`
/// breaker, which would be a new one at each call, is then refused by
/// rustc at its name; so is a workflow's input or step so named.)
pub(crate) fn names_a_static(state: &syn::Expr, params: &[syn::Ident]) -> bool {
    let syn::Expr::Path(path) = state else {
        return false;
    };
    if path.qself.is_some() || !path.attrs.is_empty() {
        return false;
    }
    let segments = &path.path.segments;
    if segments
        .iter()
        .any(|s| !s.arguments.is_none() || s.ident == "self" || s.ident == "Self")
    {
        return false;
    }
    if let Some(name) = path.path.get_ident()
        && params.contains(name)
    {
        return false;
    }
    segments.last().is_some_and(|last| {
        let name = last.ident.to_string();
        name.chars().any(|c| c.is_ascii_uppercase()) && !name.chars().any(char::is_lowercase)
    })
}

fn at(span: Span) -> Span {
    Span::mixed_site().located_at(span)
}

/// Renders the error for events: by `Display` if it has one, else `Debug`,
/// else its type name (autoref specialisation, decided at the user's type).
fn error_ref() -> TokenStream {
    q!(::resilience::__private::error_ref!(&__resilience_error))
}
