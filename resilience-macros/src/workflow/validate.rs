//! Checks that need the whole workflow (names, order, durable step types,
//! each step's attributes), every error collected in one `Ctxt`.

use proc_macro2::TokenStream;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Attribute, Expr, Ident, Token, Type};

use super::parse::{Step, Workflow};
use super::{pascal, text};
use crate::args::{self, Kind, Layer};
use crate::ctxt::Ctxt;
use crate::expand;

/// A step, validated: its layers and compensation.
pub(super) struct Plan<'a> {
    pub(super) step: &'a Step,
    pub(super) layers: Vec<Layer>,
    pub(super) compensate: Option<args::CompensateArgs>,
    pub(super) docs: Vec<&'a Attribute>,
    /// A parallel step's settings.
    pub(super) parallel: Option<super::parallel::Settings>,
}

/// `T` and `E` of `Result<T, E>`.
pub(super) fn result_args(ty: &Type) -> Option<(Type, Type)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    });
    let (ok, err) = (types.next()?, types.next()?);
    types.next().is_none().then_some((ok, err))
}

pub(super) fn validate<'a>(workflow: &'a Workflow, cx: &mut Ctxt) -> Vec<Plan<'a>> {
    if workflow.steps.is_empty() {
        cx.error_spanned_by(
            &workflow.name,
            "a workflow needs at least one `step name: Type = expr;`",
        );
    }
    // A fresh run counts its completed steps in a `u16` whose largest value
    // means "over".
    if let Some(step) = workflow.steps.get(usize::from(u16::MAX - 1)) {
        cx.error_spanned_by(
            &step.name,
            "a workflow has at most 65,534 steps; split it into workflows that run each other",
        );
    }
    if workflow.output.is_none() {
        cx.syn_error(syn::Error::new(
            workflow.close,
            "a workflow ends with its output: add an expression after the last step, e.g. the last step's name",
        ));
    }
    if workflow.durable
        && let Some(lifetime) = workflow.generics.lifetimes().next()
    {
        cx.error_spanned_by(
            lifetime,
            "a durable workflow saves its inputs in its checkpoint, so it cannot borrow them: take owned inputs (`String`, an `Arc`), or write `workflow` instead of `durable workflow`",
        );
    }
    for input in &workflow.inputs {
        if let Some(reference) = elided_reference(&input.ty)
            && !workflow.durable
        {
            let lifetime = workflow
                .generics
                .lifetimes()
                .next()
                .map_or_else(|| "'a".to_owned(), |l| l.lifetime.to_string());
            let declare = if workflow.generics.lifetimes().next().is_some() {
                ""
            } else {
                "declare it on the workflow and "
            };
            cx.error_spanned_by(
                reference.and_token,
                format!(
                    "a workflow input that borrows needs a named lifetime: {declare}use it here, e.g. `workflow {}<{lifetime}>({}: &{lifetime} ..)`",
                    workflow.name, input.name
                ),
            );
        }
    }
    let mut seen: Vec<&Ident> = Vec::new();
    for input in &workflow.inputs {
        if let Some(first) = seen.iter().find(|s| **s == &input.name) {
            cx.error_spanned_by(&input.name, format!("duplicate input `{first}`"));
        }
        seen.push(&input.name);
    }
    let mut step_names: Vec<&Ident> = Vec::new();
    for step in &workflow.steps {
        if step_names.iter().any(|s| **s == step.name) {
            cx.error_spanned_by(
                &step.name,
                format!(
                    "duplicate step `{}`; each step needs its own name",
                    step.name
                ),
            );
        } else if workflow.inputs.iter().any(|i| i.name == step.name) {
            cx.error_spanned_by(
                &step.name,
                format!(
                    "step `{}` has the name of an input; rename one of them",
                    step.name
                ),
            );
        }
        step_names.push(&step.name);
    }
    // A step may only use the outputs of the steps before it.
    for (index, step) in workflow.steps.iter().enumerate() {
        let later = &workflow.steps[index..];
        let used = match &step.parallel {
            Some(parallel) => super::parallel::used_idents(step, parallel),
            None => free_idents(&step.expr),
        };
        for ident in used {
            if let Some(used) = later.iter().find(|s| s.name == ident) {
                let message = if used.name == step.name {
                    format!(
                        "step `{}` uses its own output; a step sees only the steps before it",
                        step.name
                    )
                } else {
                    format!(
                        "step `{}` is used before it runs; steps run in order, so move `{}` below `{}`",
                        used.name, step.name, used.name
                    )
                };
                cx.error_spanned_by(&ident, message);
            }
        }
    }

    let mut variants: Vec<(String, &Ident)> = Vec::new();
    for step in &workflow.steps {
        let variant = pascal(&step.name);
        if let Some((_, first)) = variants.iter().find(|(v, _)| *v == variant) {
            if *first != &step.name {
                cx.error_spanned_by(
                    &step.name,
                    format!(
                        "steps `{}` and `{}` both make the state variant `After{variant}`; rename one",
                        text(first),
                        text(&step.name)
                    ),
                );
            }
        } else {
            variants.push((variant, &step.name));
        }
    }
    if let Some(span) = workflow.durable_span
        && !cfg!(feature = "durable")
    {
        cx.error_spanned_by(
            quote::quote_spanned!(span=> durable),
            "`durable workflow` needs the `durable` feature of `resilience`, which is turned off here; \
             turn it back on (`resilience = { version = \"..\", features = [\"durable\"] }`, it is a default feature) \
             or write `workflow` for a run that need not outlive the process",
        );
    }
    if workflow.durable {
        for input in &workflow.inputs {
            if let Some(reference) = first_reference(&input.ty) {
                cx.error_spanned_by(
                    reference,
                    format!(
                        "a durable workflow's inputs are saved in its checkpoint and read back to resume it by id, so they cannot borrow; \
                         give input `{}` an owned type (`String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`)",
                        text(&input.name)
                    ),
                );
            }
        }
        for step in &workflow.steps {
            if let Some(reference) = first_reference(&step.ty) {
                cx.error_spanned_by(
                    reference,
                    format!(
                        "a durable step's output is saved in a checkpoint and read back on resume, so it cannot borrow; \
                         give step `{}` an owned type (`String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`)",
                        text(&step.name)
                    ),
                );
            }
        }
    }
    let last = workflow.steps.len().saturating_sub(1);
    let mut plans = Vec::new();
    for (index, step) in workflow.steps.iter().enumerate() {
        let mut layers = Vec::new();
        let mut docs = Vec::new();
        for attr in &step.attrs {
            if attr.path().is_ident("doc") {
                docs.push(attr);
                continue;
            }
            let Some(kind) = Kind::from_path(attr.path()) else {
                cx.error_spanned_by(
                    attr.path(),
                    "unknown step attribute; a step takes `#[retry]`, `#[timeout]`, `#[fallback]`, `#[compensate]`, \
                     `#[circuit_breaker]`, `#[rate_limit]` and `#[chaos]`",
                );
                continue;
            };
            let tokens = match &attr.meta {
                syn::Meta::Path(_) => TokenStream::new(),
                syn::Meta::List(list) => list.tokens.clone(),
                syn::Meta::NameValue(nv) => {
                    cx.error_spanned_by(
                        nv,
                        format!("write `#[{0}(...)]`, not `#[{0} = ...]`", kind.name()),
                    );
                    continue;
                }
            };
            if kind == Kind::Escalate {
                cx.error_spanned_by(
                    attr.path(),
                    "`#[escalate]` needs an `async fn` with a `#[tier]` parameter, which a step has not; \
                     call such a fn from the step",
                );
                continue;
            }
            if matches!(kind, Kind::Bulkhead | Kind::Hedge) {
                cx.error_spanned_by(
                    attr.path(),
                    format!(
                        "`#[{0}]` is not a step attribute; put it on an `async fn` and call that fn from the step",
                        kind.name()
                    ),
                );
                continue;
            }
            if matches!(kind, Kind::SelfHealing | Kind::Agent) {
                cx.error_spanned_by(
                    attr.path(),
                    format!(
                        "`#[{}]` belongs to an agent's `async fn`, not to a workflow step; put it on the fn the step calls",
                        kind.name()
                    ),
                );
                continue;
            }
            if let Some(layer) = args::parse_layer(kind, tokens, expand::attr_span(attr), cx) {
                layers.push(layer);
            }
        }
        let (layers, compensate) = expand::split_compensate(layers, cx);
        // A fan-out step undoes its own branches when it ends below its
        // minimum, so its compensation is of use even as the last step.
        let fans_out = matches!(&step.parallel, Some(p) if p.kind == super::parallel::Kind::FanOut);
        if let Some(args) = &compensate
            && index == last
            && !fans_out
        {
            cx.syn_error(syn::Error::new(
                args.span,
                format!(
                    "`#[compensate]` on the last step has nothing to undo: no step after `{}` can fail",
                    step.name
                ),
            ));
        }
        let parallel = step
            .parallel
            .as_ref()
            .map(|parallel| super::parallel::validate(step, parallel, cx));
        if let Some(args) = &compensate
            && !workflow.durable
        {
            check_compensation_owns(workflow, &args.with, cx);
        }
        plans.push(Plan {
            step,
            layers,
            compensate,
            docs,
            parallel,
        });
    }
    plans
}

/// An in-memory workflow's compensation is `Send + 'static` (a dropped run
/// hands it to a task of its own), so a closure written in `with` cannot
/// use an input or a step's output, which it would borrow: one error at
/// the first such name, with the fix. (Other non-`'static` compensations
/// are left to rustc.)
fn check_compensation_owns(workflow: &Workflow, with: &Expr, cx: &mut Ctxt) {
    let Expr::Closure(closure) = with else {
        return;
    };
    let borrowed = free_idents(&closure.body).into_iter().find(|ident| {
        workflow.inputs.iter().any(|i| i.name == *ident)
            || workflow.steps.iter().any(|s| s.name == *ident)
    });
    if let Some(ident) = borrowed {
        cx.error_spanned_by(
            &ident,
            format!(
                "a workflow's compensation must be `Send + 'static`: if the run is dropped, it runs on a task of its own, so it cannot borrow `{ident}`; capture a clone: `with = {{ let {ident} = {ident}.clone(); move |out| async move {{ .. {ident} .. }} }}` (or make the workflow `durable`, which resumes instead)"
            ),
        );
    }
}

/// The single-identifier paths an expression uses as values (`create`,
/// not `x.create`, `a::create`, `create(..)` or a macro), minus every name a
/// pattern inside it binds (`let`, closure parameters, `match` arms,
/// `if let`, `for`): a later step's name among them is a use before it runs.
pub(super) fn free_idents(expr: &Expr) -> Vec<Ident> {
    #[derive(Default)]
    struct Names {
        used: Vec<Ident>,
        bound: Vec<Ident>,
    }

    impl<'ast> Visit<'ast> for Names {
        fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
            if path.qself.is_none()
                && let Some(ident) = path.path.get_ident()
            {
                self.used.push(ident.clone());
            }
        }

        fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
            // `create_vm(..)` calls a fn of that name, not a step's output.
            if !matches!(&*call.func, Expr::Path(_)) {
                self.visit_expr(&call.func);
            }
            for arg in &call.args {
                self.visit_expr(arg);
            }
        }

        fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
            self.bound.push(pat.ident.clone());
            syn::visit::visit_pat_ident(self, pat);
        }

        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            // `format!("{x}", y)`, `vec![a, b]`: look into comma-separated
            // expressions; other macro bodies are left to rustc.
            let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
            if let Ok(args) = syn::parse::Parser::parse2(parser, mac.tokens.clone()) {
                for arg in &args {
                    self.visit_expr(arg);
                }
            }
        }
    }

    let mut names = Names::default();
    names.visit_expr(expr);
    let Names { mut used, bound } = names;
    used.retain(|ident| !bound.contains(ident));
    used
}

/// The first reference type without a lifetime (`&Agent`) inside `ty`.
fn elided_reference(ty: &Type) -> Option<&syn::TypeReference> {
    struct Find<'ast>(Option<&'ast syn::TypeReference>);

    impl<'ast> Visit<'ast> for Find<'ast> {
        fn visit_type_reference(&mut self, reference: &'ast syn::TypeReference) {
            if reference.lifetime.is_none() {
                self.0.get_or_insert(reference);
            }
            syn::visit::visit_type_reference(self, reference);
        }
    }

    let mut find = Find(None);
    find.visit_type(ty);
    find.0
}

/// The first reference type (`&'static str`) inside `ty`, if any: what a
/// durable step's output cannot be.
pub(super) fn first_reference(ty: &Type) -> Option<&syn::TypeReference> {
    struct Find<'ast>(Option<&'ast syn::TypeReference>);

    impl<'ast> Visit<'ast> for Find<'ast> {
        fn visit_type_reference(&mut self, reference: &'ast syn::TypeReference) {
            self.0.get_or_insert(reference);
        }
    }

    let mut find = Find(None);
    find.visit_type(ty);
    find.0
}
