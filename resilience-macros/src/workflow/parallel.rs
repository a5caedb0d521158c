//! Parallel steps: a fan-out over a collection and a consensus over agents.
//!
//! ```text
//! #[retry(attempts = 2)]                       // each branch's policies
//! #[compensate(with = |summary| store.forget(summary))]   // each branch's undo
//! step summaries: Branches<Summary, ApiError> =
//!     for doc in docs, concurrency = 8, min_success = 0.8 => summarize(doc).await;
//!
//! #[timeout("20s")]
//! step verdict: Verdict =
//!     consensus critic in critics, response_rate = 0.6, majority = 0.5 => critic.review(draft).await;
//! ```
//!
//! `for PAT in COLLECTION, key = value.. => EXPR` runs `EXPR` once per item,
//! concurrently (keys: `concurrency`, default 10; `min_success`, default 1),
//! and its output is `Branches<T, E>`: the outputs in item order and the
//! failures. `consensus PAT in AGENTS, key = value.. => EXPR` asks every
//! agent (a list of `Named` agents) at once and its output is the answer of
//! the majority (keys: `response_rate`, `majority`, `time_limit`, `key`).
//! The step's attributes apply to each branch (each agent's call). Both
//! fail with `ParallelError`, which the workflow's error takes by `From`.
//!
//! Each parallel step expands into one self-contained block that the step
//! arm runs in place of a plain step's expression ([`step_body`]); the
//! undo of a fan-out step undoes each successful branch, latest completed
//! first ([`undo_arm`]).

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens, quote_spanned};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Pat, Token, Type};

use super::parse::{Step, Workflow};
use super::text;
use super::validate::Plan;
use crate::args::CompensateArgs;
use crate::ctxt::Ctxt;
use crate::duration::Dur;
use crate::expand::{self, Generator};

mod kw {
    syn::custom_keyword!(consensus);
}

/// Which parallel step.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `for item in items => ..`
    FanOut,
    /// `consensus agent in agents => ..`
    Consensus,
}

/// `key = value` after the collection.
pub(super) struct Setting {
    pub(super) key: Ident,
    pub(super) value: Expr,
}

/// A parallel step's head, as written: `for PAT in SOURCE, settings.. =>`.
pub(super) struct Parallel {
    pub(super) kind: Kind,
    /// The `for` or `consensus` keyword.
    pub(super) keyword: Span,
    pub(super) pat: Pat,
    /// The collection, or the agents.
    pub(super) source: Expr,
    pub(super) settings: Vec<Setting>,
}

impl Kind {
    fn keyword(self) -> &'static str {
        match self {
            Kind::FanOut => "for",
            Kind::Consensus => "consensus",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::FanOut => &["concurrency", "min_success"],
            Kind::Consensus => &["response_rate", "majority", "time_limit", "key"],
        }
    }
}

/// Parses the head of a parallel step after `=`, if there is one: `for PAT
/// in SOURCE, key = value.. =>` or `consensus PAT in SOURCE, .. =>`. The
/// branch's expression follows.
pub(super) fn parse(input: ParseStream, step: &Ident) -> syn::Result<Option<Parallel>> {
    // `for<'a> |x| ..` is a closure; `consensus(..)`, `consensus.x` and
    // `consensus::x` are expressions: a `consensus` step names its agent.
    let (kind, keyword) = if input.peek(Token![for]) && !input.peek2(Token![<]) {
        let token: Token![for] = input.parse()?;
        (Kind::FanOut, token.span)
    } else if input.peek(kw::consensus)
        && (input.peek2(Ident)
            || input.peek2(Token![mut])
            || input.peek2(Token![_])
            || input.peek2(Token![in]))
    {
        let token: kw::consensus = input.parse()?;
        (Kind::Consensus, token.span)
    } else {
        return Ok(None);
    };
    let (what, example) = match kind {
        Kind::FanOut => (
            "the collection to run over",
            "for doc in docs => summarize(doc).await",
        ),
        Kind::Consensus => (
            "the agents to ask",
            "consensus critic in critics => critic.review(draft).await",
        ),
    };
    let keyword_text = kind.keyword();
    if input.peek(Token![in]) || input.peek(Token![=>]) || input.is_empty() {
        return Err(input.error(format!(
            "`{keyword_text}` names each item before `in`: `{example}`"
        )));
    }
    let pat = Pat::parse_single(input)?;
    if !input.peek(Token![in]) {
        return Err(input.error(format!(
            "expected `in` after `{keyword_text} {}`: `{example}`",
            pat.to_token_stream()
        )));
    }
    let _: Token![in] = input.parse()?;
    if input.peek(Token![=>]) || input.peek(Token![,]) || input.peek(Token![;]) || input.is_empty()
    {
        return Err(input.error(format!(
            "step `{}` needs {what} after `in`: `{example}`",
            text(step)
        )));
    }
    let source = Expr::parse_without_eager_brace(input)?;
    let mut settings = Vec::new();
    while input.peek(Token![,]) {
        let _: Token![,] = input.parse()?;
        if input.peek(Token![=>]) {
            break;
        }
        let key: Ident = input.parse().map_err(|_| {
            input.error(format!(
                "expected a setting, one of {}, e.g. `{} = ..`",
                list(kind.keys()),
                kind.keys()[0]
            ))
        })?;
        if !input.peek(Token![=]) || input.peek(Token![=>]) {
            return Err(input.error(format!("`{key}` takes a value: `{key} = ..`")));
        }
        let _: Token![=] = input.parse()?;
        let value: Expr = input.parse()?;
        settings.push(Setting { key, value });
    }
    if !input.peek(Token![=>]) {
        return Err(input.error(format!(
            "a parallel step's call follows `=>`, after its settings: `{example}`"
        )));
    }
    let _: Token![=>] = input.parse()?;
    Ok(Some(Parallel {
        kind,
        keyword,
        pat,
        source,
        settings,
    }))
}

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parallel step's settings, checked.
pub(super) struct Settings {
    pub(super) concurrency: usize,
    pub(super) min_success: f64,
    pub(super) response_rate: f64,
    pub(super) majority: f64,
    pub(super) time_limit: Option<Dur>,
    pub(super) key: Option<Expr>,
    /// `T` and `E` of a fan-out's `Branches<T, E>`.
    pub(super) branch_types: Option<(Type, Type)>,
}

impl Settings {
    /// The settings of a fan-out (`coordination::FanOut::new()`'s
    /// concurrency, and every branch must succeed) and of a consensus (the
    /// guide's: `Consensus::new()`).
    fn defaults() -> Self {
        Self {
            concurrency: 10,
            min_success: 1.0,
            response_rate: 0.6,
            majority: 0.5,
            time_limit: None,
            key: None,
            branch_types: None,
        }
    }
}

/// Checks a parallel step: its settings, and what a parallel step cannot be.
pub(super) fn validate(step: &Step, parallel: &Parallel, cx: &mut Ctxt) -> Settings {
    let mut settings = Settings::defaults();
    let keyword = parallel.kind.keyword();
    if parallel.kind == Kind::FanOut {
        settings.branch_types = branches_args(&step.ty);
        if settings.branch_types.is_none() {
            cx.error_spanned_by(
                &step.ty,
                format!(
                    "a parallel step `for .. in .. => ..` outputs `Branches<T, E>`, the outputs and the failures of its branches; \
                     write the output and the error of one branch, e.g. `step {}: Branches<Summary, ApiError> = ..;`",
                    text(&step.name)
                ),
            );
        }
    }
    let mut seen: Vec<&Ident> = Vec::new();
    for setting in &parallel.settings {
        let key = &setting.key;
        if let Some(first) = seen.iter().find(|k| **k == key) {
            cx.error_spanned_by(key, format!("duplicate `{first}`"));
            continue;
        }
        seen.push(key);
        let name = key.to_string();
        if !parallel.kind.keys().contains(&name.as_str()) {
            cx.error_spanned_by(
                key,
                format!(
                    "unknown setting `{name}` of a `{keyword}` step; expected one of: {}",
                    list(parallel.kind.keys())
                ),
            );
            continue;
        }
        let value = &setting.value;
        match name.as_str() {
            "concurrency" => match int_literal(value) {
                Some(0) => cx.error_spanned_by(
                    value,
                    "`concurrency` must be at least 1: it is how many branches run at once",
                ),
                Some(n) => settings.concurrency = n,
                None => cx.error_spanned_by(
                    value,
                    "`concurrency` takes an integer literal, e.g. `concurrency = 8`",
                ),
            },
            "min_success" | "response_rate" | "majority" => match rate_literal(value) {
                Some(rate) if (0.0..=1.0).contains(&rate) => match name.as_str() {
                    "min_success" => settings.min_success = rate,
                    "response_rate" => settings.response_rate = rate,
                    _ => settings.majority = rate,
                },
                Some(_) => cx.error_spanned_by(
                    value,
                    format!("`{name}` is a share from 0 to 1, e.g. `{name} = 0.8` for 80%"),
                ),
                None => cx.error_spanned_by(
                    value,
                    format!("`{name}` takes a number literal from 0 to 1, e.g. `{name} = 0.8`"),
                ),
            },
            "time_limit" => match Dur::from_expr(value, "time_limit") {
                Ok(dur) => settings.time_limit = Some(dur),
                Err(error) => cx.syn_error(error),
            },
            _ => settings.key = Some(value.clone()),
        }
    }
    settings
}

/// `T` and `E` of `Branches<T, E>` (any path ending in `Branches`).
fn branches_args(ty: &Type) -> Option<(Type, Type)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Branches" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    });
    let (output, error) = (types.next()?, types.next()?);
    (types.next().is_none() && args.args.len() == 2).then_some((output, error))
}

fn int_literal(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.base10_parse().ok(),
        Expr::Group(group) => int_literal(&group.expr),
        _ => None,
    }
}

fn rate_literal(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(syn::ExprLit { lit, .. }) => match lit {
            syn::Lit::Float(float) => float.base10_parse().ok(),
            syn::Lit::Int(int) => int.base10_parse::<u64>().ok().map(|n| n as f64),
            _ => None,
        },
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => rate_literal(expr).map(|rate| -rate),
        Expr::Group(group) => rate_literal(&group.expr),
        _ => None,
    }
}

/// The names `pat` binds (each item), which the branch's expression may use.
pub(super) fn bound(pat: &Pat) -> Vec<Ident> {
    struct Names(Vec<Ident>);
    impl<'ast> syn::visit::Visit<'ast> for Names {
        fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
            self.0.push(pat.ident.clone());
            syn::visit::visit_pat_ident(self, pat);
        }
    }
    let mut names = Names(Vec::new());
    syn::visit::visit_pat(&mut names, pat);
    names.0
}

/// A parallel step's block, run where a plain step runs its expression,
/// and its type, `Result<StepType, E>` (its failure is already the
/// workflow's error).
pub(super) fn step_body(
    workflow: &Workflow,
    plan: &Plan<'_>,
    parallel: &Parallel,
    settings: &Settings,
    err_ty: &Type,
) -> (TokenStream, Type) {
    let step = plan.step;
    let ty = &step.ty;
    let ret: Type =
        syn::parse_quote_spanned!(ty.span()=> ::resilience::__private::Result<#ty, #err_ty>);
    let body = match parallel.kind {
        Kind::FanOut => fan_out(workflow, plan, parallel, settings),
        Kind::Consensus => consensus(workflow, plan, parallel, settings),
    };
    // The conversion of the step's failure, at the keyword: a workflow
    // error without `From<ParallelError>` is reported there, once.
    let convert =
        quote_spanned!(parallel.keyword=> ::resilience::__private::parallel_error::<#err_ty>);
    let body = q! {
        {
            let __resilience_outcome: ::resilience::__private::Result<#ty, ::resilience::__private::ParallelError> = #body;
            match __resilience_outcome {
                ::resilience::__private::Result::Ok(__resilience_output) => ::resilience::__private::Result::Ok(__resilience_output),
                ::resilience::__private::Result::Err(__resilience_error) => ::resilience::__private::Result::Err(#convert(__resilience_error)),
            }
        }
    };
    (body, ret)
}

/// One branch's expression inside the step's policies, as
/// `Result<Output, _>` (the step's error type when nothing names it).
fn branch(workflow: &Workflow, plan: &Plan<'_>, output: &Type, error: &Type) -> TokenStream {
    let step = plan.step;
    let ret: Type = if super::step::error_is_unnamed(plan) {
        syn::parse_quote_spanned!(step.expr.span()=> ::resilience::__private::Result<#output, #error>)
    } else {
        syn::parse_quote_spanned!(step.expr.span()=> ::resilience::__private::Result<#output, _>)
    };
    let operation = format!("{}::{}", workflow.name, text(&step.name));
    let mut locals = super::step::local_names(workflow);
    if let Some(parallel) = &step.parallel {
        locals.extend(bound(&parallel.pat));
    }
    let generator = Generator {
        layers: &plan.layers,
        ret: &ret,
        operation: &operation,
        body: step.expr.to_token_stream(),
        cloned: &[],
        tier: None,
        params: &locals,
    };
    let body = generator.expr(0);
    q! {
        let __resilience_branch: #ret = #body;
        __resilience_branch
    }
}

fn fan_out(
    workflow: &Workflow,
    plan: &Plan<'_>,
    parallel: &Parallel,
    settings: &Settings,
) -> TokenStream {
    let step = plan.step;
    // `validate` reported a type that is not `Branches<T, E>`: a workflow
    // with errors is not generated.
    let Some((output, error)) = &settings.branch_types else {
        return TokenStream::new();
    };
    let branch = branch(workflow, plan, output, error);
    let step_str = text(&step.name);
    let workflow_str = text(&workflow.name);
    let operation = format!("{workflow_str}::{step_str}");
    let concurrency = Literal::usize_unsuffixed(settings.concurrency);
    let min_success = Literal::f64_unsuffixed(settings.min_success);
    let pat = &parallel.pat;
    let source = &parallel.source;
    let items = quote_spanned!(source.span()=> ::resilience::__private::branch_items(#source));
    // A branch error without `From` into the declared error: at the call.
    let into = quote_spanned!(step.expr.span()=> ::resilience::__private::into_error::<#error, _>);
    let branch_fn = q! {
        move |#pat| async move {
            match { #branch } {
                ::resilience::__private::Result::Ok(__resilience_output) => ::resilience::__private::Result::Ok(__resilience_output),
                ::resilience::__private::Result::Err(__resilience_error) => ::resilience::__private::Result::Err(#into(__resilience_error)),
            }
        }
    };
    // A durable run: the branches finished before a crash do not run
    // again, each one that finishes is checkpointed, and a checkpoint that
    // cannot be read or written stops the run (as after a plain step).
    let (run, abandon) = if workflow.durable {
        let state = quote::format_ident!("{}State", workflow.name);
        let run = q! {
            match ::resilience::__private::fan_out_durable::<#state, _, _, _, _, _, _>(
                hooks,
                #operation,
                #step_str,
                #concurrency,
                #min_success,
                __resilience_items,
                #branch_fn,
            )
            .await
            {
                ::resilience::__private::Result::Ok(__resilience_run) => __resilience_run,
                ::resilience::__private::Result::Err(__resilience_hook) => {
                    return ::resilience::__private::Result::Err(::resilience::__private::StepsError::Hook(__resilience_hook));
                }
            }
        };
        let abandon = q! {
            if let ::resilience::__private::Result::Err(__resilience_hook) =
                ::resilience::__private::abandon_branches::<#state, _>(hooks).await
            {
                return ::resilience::__private::Result::Err(::resilience::__private::StepsError::Hook(__resilience_hook));
            }
        };
        (run, abandon)
    } else {
        let run = q! {
            ::resilience::__private::fan_out(
                #operation,
                #step_str,
                #concurrency,
                #min_success,
                __resilience_items,
                #branch_fn,
            )
            .await
        };
        (run, TokenStream::new())
    };
    let undo = match &plan.compensate {
        Some(args) => undo_each(
            &operation,
            &step_str,
            args,
            q!(__resilience_undo),
            |report| q!(::resilience::__private::add_compensation(&mut __resilience_error, #report);),
        ),
        None => q!(::resilience::__private::drop(__resilience_undo);),
    };
    q! {
        {
            let __resilience_items = #items;
            let __resilience_run = #run;
            match __resilience_run {
                ::resilience::__private::Result::Ok(__resilience_branches) => ::resilience::__private::Result::Ok(__resilience_branches),
                ::resilience::__private::Result::Err(__resilience_branches) => {
                    #abandon
                    let (mut __resilience_error, __resilience_undo) =
                        ::resilience::__private::below_minimum(#workflow_str, #step_str, #min_success, __resilience_branches);
                    #undo
                    ::resilience::__private::Result::Err(__resilience_error)
                }
            }
        }
    }
}

fn consensus(
    workflow: &Workflow,
    plan: &Plan<'_>,
    parallel: &Parallel,
    settings: &Settings,
) -> TokenStream {
    let step = plan.step;
    let ty = &step.ty;
    let error: Type = syn::parse_quote!(::resilience::__private::ParallelError);
    let branch = branch(workflow, plan, ty, &error);
    let step_str = text(&step.name);
    let workflow_str = text(&workflow.name);
    let operation = format!("{workflow_str}::{step_str}");
    let time_limit = settings.time_limit.map(|dur| {
        let dur = dur.to_tokens();
        q!(.with_time_limit(#dur))
    });
    let response_rate = Literal::f64_unsuffixed(settings.response_rate);
    let majority = Literal::f64_unsuffixed(settings.majority);
    let pat = &parallel.pat;
    let source = &parallel.source;
    // At the agents: a list that is not of `Named` agents is reported there.
    let list = Ident::new("__resilience_list", source.span());
    let agents = quote_spanned!(source.span()=> ::resilience::__private::agents(#list));
    let call = q! {
        move |#pat| async move { #branch }
    };
    let decide = match &settings.key {
        Some(key) => q! {
            ::resilience::__private::consensus_step_by(#workflow_str, #step_str, __RESILIENCE_CONSENSUS, __resilience_agents, #call, #key)
        },
        None => q! {
            ::resilience::__private::consensus_step(#workflow_str, #step_str, __RESILIENCE_CONSENSUS, __resilience_agents, #call)
        },
    };
    q! {
        {
            const __RESILIENCE_CONSENSUS: ::resilience::__private::Consensus = ::resilience::__private::Consensus::new()
                .with_operation(#operation)
                #time_limit
                .with_response_rate(#response_rate)
                .with_majority(#majority);
            let #list = &(#source);
            let __resilience_agents = #agents;
            #decide.await
        }
    }
}

/// Undoes each output of `outputs` (`(index, output)`s, latest completed
/// first) with the step's compensation; `record(report)` keeps each
/// outcome.
fn undo_each(
    operation: &str,
    step_str: &str,
    args: &CompensateArgs,
    outputs: TokenStream,
    record: impl FnOnce(TokenStream) -> TokenStream,
) -> TokenStream {
    let call = expand::call(&args.with, q!(__resilience_output));
    let outcome = expand::compensation_outcome(quote_spanned!(args.with.span()=> #call.await));
    let record = record(q! {
        ::resilience::__private::record_compensation(#operation, #step_str, __resilience_outcome)
    });
    q! {
        for (_, __resilience_output) in #outputs {
            let __resilience_outcome = ::resilience::__private::undo_outcome(
                ::resilience::__private::catch_panic(async { #outcome }).await,
            );
            #record
        }
    }
}

/// The undo of a completed fan-out step (in `__resilience_undo`): each
/// successful branch, latest completed first, each one's outcome recorded.
pub(super) fn undo_arm(workflow: &Ident, name: &Ident, args: &CompensateArgs) -> TokenStream {
    let step_str = text(name);
    let operation = format!("{}::{step_str}", text(workflow));
    undo_each(
        &operation,
        &step_str,
        args,
        q!(::resilience::__private::undo_order(#name)),
        |report| q!(compensations.push(#report);),
    )
}

/// The names a parallel step uses from the steps before it: in its source
/// (the collection, the agents), its settings and its branch, less what the
/// pattern binds.
pub(super) fn used_idents(step: &Step, parallel: &Parallel) -> Vec<Ident> {
    let bound = bound(&parallel.pat);
    let mut used = super::validate::free_idents(&parallel.source);
    for setting in &parallel.settings {
        used.extend(super::validate::free_idents(&setting.value));
    }
    used.extend(
        super::validate::free_idents(&step.expr)
            .into_iter()
            .filter(|ident| !bound.contains(ident)),
    );
    used
}

/// The diagram's lines of a parallel step: a subgraph (the step's node id)
/// around the branches, and its label.
pub(super) fn diagram(
    step: &Step,
    parallel: &Parallel,
    settings: &Settings,
    policies: &[String],
    label_ty: &str,
    escape: impl Fn(&str) -> String,
) -> Vec<String> {
    let id = text(&step.name);
    let pat = compact_tokens(&parallel.pat.to_token_stream().to_string());
    let source = compact_tokens(&parallel.source.to_token_stream().to_string());
    let head = match parallel.kind {
        Kind::FanOut => {
            let mut parts = vec![format!("for {pat} in {source}")];
            parts.push(format!("{} at once", settings.concurrency));
            parts.push(format!("min success {}", percent(settings.min_success)));
            parts
        }
        Kind::Consensus => {
            let mut parts = vec![format!("consensus of {source}")];
            if let Some(limit) = settings.time_limit {
                parts.push(format!("{} each", crate::duration::human(limit.nanos)));
            }
            parts.push(format!("answers ≥ {}", percent(settings.response_rate)));
            parts.push(format!("majority ≥ {}", percent(settings.majority)));
            parts
        }
    };
    let mut label = format!("{id}: {label_ty}<br/>{}", escape(&head.join(" · ")));
    if !policies.is_empty() {
        let each = match parallel.kind {
            Kind::FanOut => "each branch",
            Kind::Consensus => "each call",
        };
        label.push_str(&format!("<br/>{each}: {}", escape(&policies.join(" · "))));
    }
    let (fork, join) = match parallel.kind {
        Kind::FanOut => (format!("for each {pat}"), "in item order"),
        Kind::Consensus => (format!("ask each {pat}"), "vote"),
    };
    let (one, two, many) = (format!("{pat} 1"), format!("{pat} 2"), format!("… {pat} n"));
    vec![
        format!("    subgraph {id} [\"{label}\"]"),
        "        direction LR".to_string(),
        format!("        {id}_fork{{{{\"{}\"}}}}", escape(&fork)),
        format!("        {id}_1[\"{}\"]", escape(&one)),
        format!("        {id}_2[\"{}\"]", escape(&two)),
        format!("        {id}_n[\"{}\"]", escape(&many)),
        format!("        {id}_join{{{{\"{join}\"}}}}"),
        format!("        {id}_fork --> {id}_1 & {id}_2 & {id}_n --> {id}_join"),
        "    end".to_string(),
    ]
}

fn percent(rate: f64) -> String {
    let percent = (rate * 1000.0).round() / 10.0;
    if percent.fract() == 0.0 {
        format!("{percent:.0}%")
    } else {
        format!("{percent:.1}%")
    }
}

/// `docs . iter ()` (token spacing) → `docs.iter()`.
fn compact_tokens(text: &str) -> String {
    text.replace(" . ", ".")
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace("& ", "&")
        .replace(" ,", ",")
        .replace(" :: ", "::")
}

/// The trait of the hooks that `__resilience_steps` takes: `BranchHooks`
/// (which checkpoint a fan-out's branches) in a durable workflow with a
/// fan-out step, else `Hooks`.
pub(super) fn hooks_trait(workflow: &Workflow) -> Ident {
    let fans_out = workflow
        .steps
        .iter()
        .any(|step| matches!(&step.parallel, Some(p) if p.kind == Kind::FanOut));
    let name = if workflow.durable && fans_out {
        "BranchHooks"
    } else {
        "Hooks"
    };
    Ident::new(name, Span::mixed_site())
}

#[cfg(test)]
mod tests {
    use crate::workflow::parse::Workflow;

    fn kind_of(step: &str) -> Option<&'static str> {
        let input = format!("workflow W(xs: Vec<u32>) -> Result<u32, E> {{ {step} 0 }}");
        let workflow: Workflow = syn::parse_str(&input).unwrap_or_else(|e| panic!("{step}: {e}"));
        workflow.steps[0]
            .parallel
            .as_ref()
            .map(|p| p.kind.keyword())
    }

    /// `for` and `consensus` start a parallel step only where no
    /// expression could: `consensus(..)`, `consensus.x`, `consensus::x`
    /// and `for<'a> |x| ..` stay plain steps.
    #[test]
    fn only_the_parallel_forms_are_parallel_steps() {
        assert_eq!(
            kind_of("step s: Branches<u32, E> = for x in xs => f(x).await;"),
            Some("for")
        );
        assert_eq!(
            kind_of(
                "step s: Branches<u32, E> = for (i, x) in xs.iter().enumerate(), concurrency = 2 => f(i, x).await;"
            ),
            Some("for")
        );
        assert_eq!(
            kind_of("step s: u32 = consensus a in agents => a.vote().await;"),
            Some("consensus")
        );
        assert_eq!(kind_of("step s: u32 = consensus(agents).await;"), None);
        assert_eq!(kind_of("step s: u32 = consensus.decide().await;"), None);
        assert_eq!(
            kind_of("step s: u32 = consensus::decide(agents).await;"),
            None
        );
        assert_eq!(kind_of("step s: u32 = for<'a> |x: &'a u32| *x;"), None);
    }
}
