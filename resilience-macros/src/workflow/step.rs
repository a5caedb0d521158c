//! The steps: each step's expression inside its policies, the arms of the
//! state machine that run them, and the straight-line run of a workflow
//! with nothing to undo.

use proc_macro2::{Literal, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Ident, Type};

use super::generate::Gen;
use super::parse::{Step, Workflow};
use super::text;
use super::validate::Plan;
use crate::args::{self, Layer};
use crate::expand::Generator;

/// `__resilience_steps`: the state machine that runs the steps after
/// `state`, one arm per step.
pub(super) fn steps_fn(g: &Gen<'_>) -> TokenStream {
    let (state, input_names, input_types, step_names) =
        (&g.state, &g.input_names, &g.input_types, &g.step_names);
    let input_refs = &g.input_refs;
    let err_ty = g.err_ty;
    let step_types: Vec<&Type> = g.plans.iter().map(|p| &p.step.ty).collect();
    let step_arms = (0..g.plans.len()).map(|index| step_arm(g, index));
    let last_variant = &g.variants[g.plans.len() - 1];
    // `Hooks`, or `BranchHooks` when a durable fan-out checkpoints its branches.
    let hooks = super::parallel::hooks_trait(g.workflow);
    q! {
        /// The state machine: runs the steps after `state`, in place, and
        /// calls the hooks (checkpoints, for a durable run) after each one.
        /// Returns every output once the last step has run.
        #[allow(unused_variables, clippy::ptr_arg, clippy::too_many_arguments)]
        async fn __resilience_steps<__ResilienceHooks: ::resilience::__private::#hooks<#state>>(
            #(#input_names: #input_refs #input_types,)*
            state: &mut #state,
            hooks: &mut __ResilienceHooks,
        ) -> ::resilience::__private::Result<(#(#step_types,)*), ::resilience::__private::StepsError<#err_ty, __ResilienceHooks::Error>> {
            loop {
                match state {
                    #(#step_arms)*
                    #state::#last_variant { .. } => {
                        if let #state::#last_variant { #(#step_names),* } =
                            ::resilience::__private::replace(state, #state::Start)
                        {
                            return ::resilience::__private::Result::Ok((#(#step_names,)*));
                        }
                    }
                }
            }
        }
    }
}

/// Whether `run` starts a fresh run as straight-line code (every in-memory
/// workflow but one with a compensated parallel step, whose per-branch undo
/// the state machine does); a durable one always runs its state machine.
pub(super) fn has_fresh_run(g: &Gen<'_>) -> bool {
    !g.workflow.durable
        && !g
            .plans
            .iter()
            .any(|p| p.step.parallel.is_some() && p.compensate.is_some())
}

/// Whether a panic in a step is caught and reported as the step's failure:
/// when there is something to undo, and in a durable workflow (whose
/// checkpoint records the failure). An in-memory workflow with nothing to
/// undo lets it unwind, as hand-written awaits do.
pub(super) fn catches_panics(g: &Gen<'_>) -> bool {
    compensates(g) || g.workflow.durable
}

/// Whether a step of the workflow carries `#[compensate]`.
pub(super) fn compensates(g: &Gen<'_>) -> bool {
    g.plans.iter().any(|p| p.compensate.is_some())
}

/// The future of a fresh in-memory run of a workflow with compensations:
/// the steps as a line of awaits (see [`fresh_steps`]) in a `Saga`, which
/// catches a panic and takes the compensations that the steps' `Undo`s hand
/// over when a step fails or panics (or the run is dropped), and
/// `__resilience_unwind` (boxed, out of line) undoes them. With nothing to
/// undo, `run` is the steps' own `async` block (see `run_fn`).
pub(super) fn fresh_run(g: &Gen<'_>) -> TokenStream {
    let steps = fresh_steps(g);
    q! {
        ::resilience::__private::Saga::fresh(
            async move { #steps },
            Self::__resilience_unwind,
        )
    }
}

/// The steps of a fresh in-memory run, in a row, then the output: what one
/// writes by hand. A failed step returns at once: the workflow's error
/// (nothing to undo), or `Err((completed steps, error))` for the `Saga`,
/// where a `Progress` also counts the completed steps for the report of a
/// panic and the output of a `#[compensate]` step is held by its `Undo`
/// until the end.
pub(super) fn fresh_steps(g: &Gen<'_>) -> TokenStream {
    let steps = (0..g.plans.len()).map(|index| fresh_step(g, index));
    let output = &g.workflow.output;
    let (ok_ty, err_ty) = (g.ok_ty, g.err_ty);
    if !compensates(g) {
        return q! {
            #(#steps)*
            ::resilience::__private::Result::<#ok_ty, ::resilience::__private::SagaError<#err_ty>>::Ok(#output)
        };
    }
    let disarms = g.plans.iter().filter(|p| p.compensate.is_some()).map(|p| {
        let name = &p.step.name;
        quote!(let #name = #name.disarm();)
    });
    if output_is_a_name(g) {
        // Nothing can panic after the last step (see `fresh_step`).
        return q! {
            let mut __resilience_progress = ::resilience::__private::Progress(0);
            #(#steps)*
            #(#disarms)*
            ::resilience::__private::Result::<#ok_ty, (usize, #err_ty)>::Ok(#output)
        };
    }
    q! {
        let mut __resilience_progress = ::resilience::__private::Progress(0);
        #(#steps)*
        #(#disarms)*
        let output = ::resilience::__private::Result::<#ok_ty, (usize, #err_ty)>::Ok(#output);
        __resilience_progress.done();
        output
    }
}

/// Whether the workflow's output is a bare name (a step's output or an
/// input, moved): nothing can panic between the last step and the end.
fn output_is_a_name(g: &Gen<'_>) -> bool {
    matches!(&g.workflow.output, Some(Expr::Path(path)) if path.qself.is_none() && path.path.get_ident().is_some())
}

/// The borrows a step's expression (`step`) or a compensation sees: the
/// inputs and the outputs of the steps before `index` that `uses` names,
/// as shared references (a `&mut T` input, reborrowed `&mut`, in a step),
/// with the given span. An output the code does not name is not borrowed:
/// reading a `#[compensate]` step's output through its `Undo` is a check
/// the optimiser keeps.
fn fresh_borrows(
    g: &Gen<'_>,
    index: usize,
    span: proc_macro2::Span,
    step: bool,
    uses: &TokenStream,
) -> TokenStream {
    let inputs = g.workflow.inputs.iter().map(|input| {
        let n = &input.name;
        if step && super::generate::is_mut_reference(&input.ty) {
            quote_spanned!(span=> let #n = &mut *#n;)
        } else {
            quote_spanned!(span=> let #n = &#n;)
        }
    });
    let outputs = g.plans[..index]
        .iter()
        .filter(|p| names(uses, &p.step.name))
        .map(|p| {
            let n = &p.step.name;
            if p.compensate.is_some() {
                quote_spanned!(span=> let #n = #n.output();)
            } else {
                quote_spanned!(span=> let #n = &#n;)
            }
        });
    q!(#(#inputs)* #(#outputs)*)
}

/// Whether `tokens` may name `name`: as an identifier (also inside a
/// macro's arguments), or inside a literal (a format string's `{name}`).
/// A local binding can be named nowhere else; a false "yes" only costs a
/// borrow.
fn names(tokens: &TokenStream, name: &Ident) -> bool {
    fn find(tokens: TokenStream, name: &Ident, text: &str) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == *name,
            TokenTree::Group(group) => find(group.stream(), name, text),
            TokenTree::Literal(literal) => literal.to_string().contains(text),
            TokenTree::Punct(_) => false,
        })
    }
    find(tokens.clone(), name, &text(name))
}

/// Step `index` of a fresh run: THE place where a step runs (a new kind of
/// step plugs in through [`step_body`], which makes its
/// `Result<T, E2>`). Binds the output to the step's name and returns on
/// failure (see [`fresh_steps`]); with compensations, hands a
/// `#[compensate]` step's output to its `Undo` and counts the step.
fn fresh_step(g: &Gen<'_>, index: usize) -> TokenStream {
    let plan = &g.plans[index];
    let step = plan.step;
    let name = &step.name;
    let (body, ret) = step_body(g.workflow, plan, g.err_ty);
    let borrows = fresh_borrows(g, index, proc_macro2::Span::call_site(), true, &body);
    let (step_error, into_error) = step_error(step);
    let position = Literal::usize_unsuffixed(index);
    let completed = Literal::usize_unsuffixed(index + 1);
    let undo = plan.compensate.as_ref().map(|args| {
        let with = &args.with;
        let span = proc_macro2::Span::mixed_site().located_at(with.span());
        let workflow_str = g.workflow.name.to_string();
        let operation = format!("{}::{}", g.workflow.name, text(name));
        let step_str = text(name);
        let with_borrows = fresh_borrows(g, index, with.span(), false, &with.to_token_stream());
        let outcome = crate::expand::compensation_outcome(q!(::resilience::__private::apply(
            __resilience_with,
            __resilience_output
        )
        .await));
        let compensation = quote_spanned! {span=>
            move |__resilience_output| async move { #outcome }
        };
        let at = with.span();
        let with_let = quote_spanned!(span=> let __resilience_with = );
        let undo = quote_spanned! {span=>
            ::resilience::__private::Undo::new(
                &(#workflow_str, #operation, #step_str),
                #name,
                __resilience_compensation,
            )
        };
        let block = quote_spanned! {at=>
            {
                #with_borrows
                #with_let #with;
                #compensation
            }
        };
        q! {
            let __resilience_compensation = #block;
            let mut #name = #undo;
        }
    });
    let (stop, count) = if compensates(g) {
        let count = if index + 1 == g.plans.len() && output_is_a_name(g) {
            // The steps are over, and so is every place a panic could be.
            q!(__resilience_progress.done();)
        } else {
            q!(__resilience_progress.0 = #completed;)
        };
        (q!((#position, #into_error)), Some(count))
    } else {
        (q!(Self::__resilience_fail(#position, #into_error)), None)
    };
    q! {
        let #name: #ret = {
            #borrows
            #body
        };
        let #name = match #name {
            ::resilience::__private::Result::Ok(#name) => #name,
            ::resilience::__private::Result::Err(#step_error) => {
                return ::resilience::__private::Result::Err(#stop);
            }
        };
        #undo
        #count
    }
}

/// A step's expression with its policies, and its `Result<T, _>` type
/// (`Result<T, E>`, the workflow's error, when nothing else can name it).
fn step_body(workflow: &Workflow, plan: &Plan<'_>, err_ty: &Type) -> (TokenStream, Type) {
    if let (Some(parallel), Some(settings)) = (&plan.step.parallel, &plan.parallel) {
        return super::parallel::step_body(workflow, plan, parallel, settings, err_ty);
    }
    let step = plan.step;
    let ty = &step.ty;
    let ret: Type = if error_is_unnamed(plan) {
        syn::parse_quote_spanned!(ty.span()=> ::resilience::__private::Result<#ty, #err_ty>)
    } else {
        syn::parse_quote_spanned!(ty.span()=> ::resilience::__private::Result<#ty, _>)
    };
    let operation = format!("{}::{}", workflow.name, text(&step.name));
    let locals = local_names(workflow);
    let generator = Generator {
        layers: &plan.layers,
        ret: &ret,
        operation: &operation,
        body: step.expr.to_token_stream(),
        cloned: &[],
        tier: None,
        params: &locals,
    };
    (generator.expr(0), ret)
}

/// The names a step's code sees as locals: the workflow's inputs and the
/// steps' outputs. A policy's `state = NAME` naming one is that value, not
/// a `static` (however it is spelled).
pub(super) fn local_names(workflow: &Workflow) -> Vec<syn::Ident> {
    let inputs = workflow.inputs.iter().map(|input| input.name.clone());
    let steps = workflow.steps.iter().map(|step| step.name.clone());
    inputs.chain(steps).collect()
}

/// Whether nothing names the error type of the step's result: the step is
/// `Ok(v)`, or an `async` block awaited in place whose value is `Ok(v)` at
/// its end and at every `return` (its `?` only converts into the type, it
/// does not name it), and no policy takes the error (`when`, `retry_after`,
/// `with`). Such a step never compiled (rustc cannot infer the type, and
/// says so inside the generated conversion); its error type is then the
/// workflow's, as the output type of a `#[retry]` fn's body is pinned to the
/// fn's, so that `?` converts into it.
pub(super) fn error_is_unnamed(plan: &Plan<'_>) -> bool {
    let policy_names_it = plan.layers.iter().any(|layer| match layer {
        Layer::Retry(args) => args.when.is_some() || args.retry_after.is_some(),
        Layer::Fallback(args) => {
            args.when.is_some() || matches!(args.action, args::FallbackAction::With(_))
        }
        Layer::Escalate(args) => args.when.is_some(),
        Layer::CircuitBreaker(args) => args.when.is_some(),
        Layer::Bulkhead(_) | Layer::Hedge(_) => false,
        Layer::Timeout(_)
        | Layer::Compensate(_)
        | Layer::Chaos(_)
        | Layer::SelfHealing(_)
        | Layer::Agent(_)
        | Layer::RateLimit(_) => false,
    });
    !policy_names_it && unnamed_error(&plan.step.expr)
}

fn unnamed_error(expr: &Expr) -> bool {
    match expr {
        Expr::Paren(paren) => unnamed_error(&paren.expr),
        Expr::Group(group) => unnamed_error(&group.expr),
        Expr::Call(call) => is_bare_ok(call),
        Expr::Await(awaited) => match &*awaited.base {
            Expr::Async(block) => async_block_error_is_unnamed(&block.block),
            Expr::Paren(paren) => match &*paren.expr {
                Expr::Async(block) => async_block_error_is_unnamed(&block.block),
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

fn has_return(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "return",
        TokenTree::Group(group) => has_return(group.stream()),
        _ => false,
    })
}

/// `Ok(..)`, without a turbofish.
fn is_bare_ok(call: &syn::ExprCall) -> bool {
    matches!(&*call.func, Expr::Path(path)
        if path.qself.is_none()
            && path.path.leading_colon.is_none()
            && path.path.segments.len() == 1
            && path.path.segments[0].ident == "Ok"
            && path.path.segments[0].arguments.is_none())
}

fn async_block_error_is_unnamed(block: &syn::Block) -> bool {
    /// Every `return` of the block itself (not of a closure, an inner
    /// `async` block or an item inside it) returns a bare `Ok(..)`.
    struct Returns(bool);

    impl<'ast> Visit<'ast> for Returns {
        fn visit_expr_return(&mut self, ret: &'ast syn::ExprReturn) {
            if !matches!(ret.expr.as_deref(), Some(Expr::Call(call)) if is_bare_ok(call)) {
                self.0 = false;
            }
            syn::visit::visit_expr_return(self, ret);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            // A `return` inside a macro's tokens: leave the block to rustc.
            if has_return(mac.tokens.clone()) {
                self.0 = false;
            }
        }
    }

    let tail_is_ok = matches!(
        block.stmts.last(),
        Some(syn::Stmt::Expr(Expr::Call(call), None)) if is_bare_ok(call)
    );
    let mut returns = Returns(true);
    returns.visit_block(block);
    tail_is_ok && returns.0
}

/// The binding of a step's error and its conversion into the workflow's
/// error, both at the step's expression: a missing `From` is reported there.
fn step_error(step: &Step) -> (Ident, TokenStream) {
    let span = step.expr.span();
    let binding = Ident::new("__resilience_step_error", span);
    let convert = quote_spanned!(span=> ::resilience::__private::into_error(#binding));
    (binding, convert)
}

/// The arm of `__resilience_steps` that runs step `index` from the state
/// before it, and moves its output into the next state.
fn step_arm(g: &Gen<'_>, index: usize) -> TokenStream {
    let (workflow, plans, err_ty) = (g.workflow, g.plans, g.err_ty);
    let (state, variants) = (&g.state, &g.variants);
    let plan = &plans[index];
    let step = plan.step;
    let before: Vec<&Ident> = plans[..index].iter().map(|p| &p.step.name).collect();
    let from = if index == 0 {
        q!(#state::Start)
    } else {
        let variant = &variants[index - 1];
        q!(#state::#variant { #(#before),* })
    };
    let to = &variants[index];
    let name = &step.name;
    let (body, ret) = step_body(workflow, plan, err_ty);
    // Earlier outputs, as shared references, with the user's spans so that
    // the step's expression sees them (the inputs already are references).
    let borrows = before.iter().map(|n| quote!(let #n = &*#n;));
    let step_str = text(name);
    // A step error without `From` into the workflow's error is reported at
    // the step's expression.
    let (step_error, into_error) = step_error(step);
    let advance = if index == 0 {
        q!(*state = #state::#to { #name };)
    } else {
        q! {
            if let #from = ::resilience::__private::replace(state, #state::Start) {
                *state = #state::#to { #(#before,)* #name };
            }
        }
    };
    q! {
        #from => {
            let output: #ret = {
                #(#borrows)*
                #body
            };
            match output {
                ::resilience::__private::Result::Ok(#name) => {
                    #advance
                }
                ::resilience::__private::Result::Err(#step_error) => {
                    return ::resilience::__private::Result::Err(::resilience::__private::StepsError::Step(
                        #step_str,
                        #into_error,
                    ));
                }
            }
            if __ResilienceHooks::DURABLE {
                if let ::resilience::__private::Result::Err(error) = hooks.step_completed(&*state, state.position()).await {
                    return ::resilience::__private::Result::Err(::resilience::__private::StepsError::Hook(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctxt::Ctxt;
    use crate::workflow::parse::Workflow;
    use crate::workflow::validate::validate;

    fn step(attrs: &str, expr: &str) -> bool {
        let input = format!("workflow W() -> Result<u32, E> {{ {attrs} step s: u32 = {expr}; s }}");
        let workflow: Workflow = syn::parse_str(&input).unwrap();
        let mut cx = Ctxt::new();
        let plans = validate(&workflow, &mut cx);
        cx.check().unwrap();
        error_is_unnamed(&plans[0])
    }

    /// An earlier output is borrowed for a step only where the step's code
    /// may name it, in a format string's `{name}` too.
    #[test]
    fn only_the_outputs_a_step_names_are_borrowed() {
        let name = Ident::new("create", proc_macro2::Span::call_site());
        let code = |s: &str| s.parse::<TokenStream>().unwrap();
        assert!(names(&code("api.configure(create).await"), &name));
        assert!(names(&code("f(g(x, [create])).await"), &name));
        assert!(names(&code("log(format!(\"{create}\")).await"), &name));
        assert!(names(&code("log(format!(\"{create:?}\")).await"), &name));
        assert!(!names(&code("api.configure(created).await"), &name));
        assert!(!names(&code("api.configure(spec).await"), &name));
    }

    /// The error type is the workflow's only where nothing else names it:
    /// code that compiled before keeps its own error type.
    #[test]
    fn only_a_step_whose_error_nothing_names_gets_the_workflows() {
        assert!(step("", "Ok(1)"));
        assert!(step("", "async { let v = f().await?; Ok(v) }.await"));
        assert!(step(
            "",
            "async move { if x { return Ok(0); } Ok(f().await?) }.await"
        ));
        assert!(step("", "(async { println!(\"hi\"); Ok(1) }).await"));
        assert!(step("#[timeout(\"1s\")]", "async { Ok(f().await?) }.await"));

        assert!(!step("", "f().await"));
        assert!(!step("", "Ok::<_, io::Error>(1)"));
        assert!(!step(
            "",
            "async { let v = f().await?; Ok::<_, E2>(v) }.await"
        ));
        assert!(!step(
            "",
            "async { if x { return Err(E2::X); } Ok(1) }.await"
        ));
        assert!(!step("", "async { m!(return Err(e)); Ok(1) }.await"));
        assert!(!step("", "async { g(f().await?).await }.await"));
        assert!(!step(
            "",
            "async { let r: Result<u32, E2> = Ok(1); r }.await"
        ));
        assert!(!step("#[retry(when = E2::is_transient)]", "Ok(1)"));
        assert!(!step("#[retry(retry_after = after)]", "Ok(1)"));
        assert!(!step("#[fallback(with = backup)]", "Ok(1)"));
        assert!(!step(
            "#[fallback(default = 0, when = |e: &E2| true)]",
            "Ok(1)"
        ));
    }
}
