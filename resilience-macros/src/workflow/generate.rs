//! The items a valid workflow expands to, one fn per item: the struct, the
//! state enum and its impl, and the workflow's impl (`new`, `resume`,
//! `diagram`, `run`, the durable methods, the state machine, the undo).

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::{Ident, Type};

use super::diagram::diagram;
use super::durable::{durable_methods, durable_serde_fields, durable_trait_impl};
use super::step::{catches_panics, compensates, fresh_run, has_fresh_run, steps_fn};
use super::undo::undo_fn;
use super::validate::Plan;
use super::{Workflow, pascal, text};

/// What every generated item names: the workflow, its validated steps, its
/// `Result<T, E>`, and the identifiers derived from them.
pub(super) struct Gen<'a> {
    pub(super) workflow: &'a Workflow,
    pub(super) plans: &'a [Plan<'a>],
    pub(super) ok_ty: &'a Type,
    pub(super) err_ty: &'a Type,
    /// `{Name}State`.
    pub(super) state: Ident,
    pub(super) input_names: Vec<&'a Ident>,
    pub(super) input_types: Vec<&'a Type>,
    /// How the steps get each input: `&` or, for a `&mut T` input, `&mut`
    /// (the steps run one after the other, so each may use it mutably).
    pub(super) input_refs: Vec<TokenStream>,
    pub(super) step_names: Vec<&'a Ident>,
    /// The step names as written (without `r#`).
    pub(super) step_strs: Vec<String>,
    /// `After{Step}`, one per step.
    pub(super) variants: Vec<Ident>,
}

impl<'a> Gen<'a> {
    pub(super) fn new(
        workflow: &'a Workflow,
        plans: &'a [Plan<'a>],
        ok_ty: &'a Type,
        err_ty: &'a Type,
    ) -> Self {
        let step_names: Vec<&Ident> = plans.iter().map(|p| &p.step.name).collect();
        Gen {
            workflow,
            plans,
            ok_ty,
            err_ty,
            state: format_ident!("{}State", workflow.name),
            input_names: workflow.inputs.iter().map(|i| &i.name).collect(),
            input_types: workflow.inputs.iter().map(|i| &i.ty).collect(),
            input_refs: workflow
                .inputs
                .iter()
                .map(|i| {
                    if is_mut_reference(&i.ty) {
                        quote!(&mut)
                    } else {
                        quote!(&)
                    }
                })
                .collect(),
            step_strs: step_names.iter().map(|n| text(n)).collect(),
            variants: step_names
                .iter()
                .map(|n| Ident::new(&format!("After{}", pascal(n)), n.span()))
                .collect(),
            step_names,
        }
    }
}

/// `&mut T`: an input the steps may use mutably, one after the other.
pub(super) fn is_mut_reference(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => reference.mutability.is_some(),
        Type::Paren(paren) => is_mut_reference(&paren.elem),
        Type::Group(group) => is_mut_reference(&group.elem),
        _ => false,
    }
}

pub(super) fn generate<'a>(
    workflow: &'a Workflow,
    plans: &'a [Plan<'a>],
    ok_ty: &'a Type,
    err_ty: &'a Type,
) -> TokenStream {
    let g = Gen::new(workflow, plans, ok_ty, err_ty);
    let serde_fields = durable_serde_fields(workflow, plans, &g.state);
    let workflow_struct = workflow_struct(&g);
    let state_enum = state_enum(&g, &serde_fields.attrs);
    let serde_items = &serde_fields.items;
    let state_impl = state_impl(&g);
    let workflow_impl = workflow_impl(&g);
    let trait_impl = durable_trait_impl(&g);
    q! {
        #workflow_struct
        #state_enum
        #serde_items
        #state_impl
        #workflow_impl
        #trait_impl
    }
}

/// `struct Name { inputs.., __resilience_state }`.
fn workflow_struct(g: &Gen<'_>) -> TokenStream {
    let Workflow {
        attrs, vis, name, ..
    } = g.workflow;
    let (state, input_names, input_types) = (&g.state, &g.input_names, &g.input_types);
    let generics = &g.workflow.generics;
    q! {
        #(#attrs)*
        #vis struct #name #generics {
            #(#input_names: #input_types,)*
            __resilience_state: #state,
        }
    }
}

/// The state enum: `Start`, then one variant per completed step holding
/// every output so far (with the `#[serde]` field attributes of a durable
/// workflow).
fn state_enum(g: &Gen<'_>, serde_attrs: &[TokenStream]) -> TokenStream {
    let Workflow { vis, name, .. } = g.workflow;
    let state = &g.state;
    let variant_defs = g.plans.iter().enumerate().map(|(i, plan)| {
        let variant = &g.variants[i];
        let fields = g.plans[..=i].iter().zip(serde_attrs).map(|(p, attr)| {
            let (n, ty) = (&p.step.name, &p.step.ty);
            quote!(#attr #n: #ty)
        });
        let doc = format!("`{}` has completed.", g.step_strs[i]);
        let step_docs = &plan.docs;
        quote! {
            #[doc = #doc]
            #(#step_docs)*
            #variant { #(#fields),* }
        }
    });
    let state_doc = format!(
        "The progress of a [`{name}`] workflow: the outputs of the steps that have completed. Steps: {}.",
        g.step_strs
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    let serde_derive = g.workflow.durable.then(|| {
        q! {
            #[derive(::resilience::__private::serde::Serialize, ::resilience::__private::serde::Deserialize)]
            #[serde(crate = "::resilience::__private::serde")]
        }
    });
    q! {
        #[doc = #state_doc]
        #[allow(clippy::large_enum_variant)]
        #serde_derive
        #vis enum #state {
            /// No step has run yet.
            Start,
            #(#variant_defs,)*
        }
    }
}

/// `completed`, `position` and `next_step` of the state enum.
fn state_impl(g: &Gen<'_>) -> TokenStream {
    let Workflow { vis, name, .. } = g.workflow;
    let state = &g.state;
    let completed_arms = g.variants.iter().enumerate().map(|(i, variant)| {
        let names = &g.step_strs[..=i];
        quote!(#state::#variant { .. } => &[#(#names),*])
    });
    let position_arms = g.variants.iter().enumerate().map(|(i, variant)| {
        let position = Literal::usize_unsuffixed(i + 1);
        quote!(#state::#variant { .. } => #position)
    });
    q! {
        impl #state {
            /// The names of the steps that have completed, in order.
            #vis fn completed(&self) -> &'static [&'static str] {
                match self {
                    #state::Start => &[],
                    #(#completed_arms,)*
                }
            }

            /// How many steps have completed.
            #vis fn position(&self) -> usize {
                match self {
                    #state::Start => 0,
                    #(#position_arms,)*
                }
            }

            /// The step that runs next, or `None` when all have completed.
            #vis fn next_step(&self) -> ::resilience::__private::Option<&'static str> {
                #name::STEPS.get(self.position()).copied()
            }
        }
    }
}

/// `impl Name`: what users call, then what the generated code calls.
fn workflow_impl(g: &Gen<'_>) -> TokenStream {
    let name = &g.workflow.name;
    let constructors = constructors(g);
    let run = run_fn(g);
    let resumed = resumed_fn(g);
    let stop = stop_fn(g);
    let durable_methods = durable_methods(g);
    let report = report_fn(g);
    let running = running_fn(g);
    let steps = steps_fn(g);
    let undo = undo_fn(g);
    let (impl_generics, ty_generics, _) = g.workflow.generics.split_for_impl();
    q! {
        impl #impl_generics #name #ty_generics {
            #constructors

            #run

            #durable_methods

            #resumed

            #stop

            #report

            #running

            #steps

            #undo
        }
    }
}

/// `NAME`, `STEPS`, `new`, `resume`, `state` and `diagram`.
fn constructors(g: &Gen<'_>) -> TokenStream {
    let Workflow { vis, name, .. } = g.workflow;
    let (state, input_names, input_types) = (&g.state, &g.input_names, &g.input_types);
    let name_str = name.to_string();
    let step_strs = &g.step_strs;
    let new_doc = format!("A `{name_str}` workflow that has not started.");
    let diagram = diagram(g.workflow, g.plans, g.ok_ty);
    q! {
        /// The workflow's name.
        #vis const NAME: &'static str = #name_str;

        /// The step names, in the order they run.
        #vis const STEPS: &'static [&'static str] = &[#(#step_strs),*];

        #[doc = #new_doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn new(#(#input_names: #input_types),*) -> Self {
            Self { #(#input_names,)* __resilience_state: #state::Start }
        }

        /// A workflow that continues from `state`: the steps in
        /// `state.completed()` do not run again.
        #[allow(clippy::too_many_arguments)]
        #vis fn resume(#(#input_names: #input_types,)* state: #state) -> Self {
            Self { #(#input_names,)* __resilience_state: state }
        }

        /// Where the workflow stands.
        #vis fn state(&self) -> &#state {
            &self.__resilience_state
        }

        /// The workflow as a Mermaid flowchart: the steps, the policies on
        /// each, and the compensation edges.
        #vis fn diagram() -> &'static str {
            #diagram
        }
    }
}

/// `run`. In memory: destructures the workflow and runs a fresh run as
/// straight-line code ([`fresh_run`]), or a resumed one through the state
/// machine, boxed. A durable workflow's `run` is its state machine.
fn run_fn(g: &Gen<'_>) -> TokenStream {
    let vis = &g.workflow.vis;
    let (ok_ty, err_ty) = (g.ok_ty, g.err_ty);
    let (state, input_names) = (&g.state, &g.input_names);
    let doc = if catches_panics(g) {
        q! {
            /// Runs the remaining steps in order. If a step fails (or panics),
            /// the completed steps that carry `#[compensate]` are undone in
            /// reverse order and the error says what failed and what was undone.
        }
    } else {
        q! {
            /// Runs the remaining steps in order. If a step fails, the error
            /// says which one and which completed (no step carries
            /// `#[compensate]`: nothing is undone). With nothing to undo, a
            /// panic in a step is not caught: it unwinds out of `run`, as out
            /// of hand-written awaits.
        }
    };
    if !has_fresh_run(g) {
        return q! {
            #doc
            #vis async fn run(self) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::SagaError<#err_ty>> {
                let Self { #(#input_names,)* __resilience_state: state } = self;
                Self::__resilience_resumed(#(#input_names,)* state).await
            }
        };
    }
    let run = if compensates(g) {
        let fresh = fresh_run(g);
        q! {
            match state {
                #state::Start => #fresh,
                state => ::resilience::__private::Saga::resumed(
                    Self::__resilience_resumed(#(#input_names,)* state),
                    Self::__resilience_unwind,
                ),
            }
        }
    } else {
        // The resumed run boxed: a run from the start pays a check of the
        // `Run` per poll.
        let steps = super::step::fresh_steps(g);
        q! {
            match state {
                #state::Start => ::resilience::__private::Run::fresh(async move { #steps }),
                state => ::resilience::__private::Run::resumed(Self::__resilience_resumed(#(#input_names,)* state)),
            }
        }
    };
    let dropped = compensates(g).then(|| {
        q! {
            /// If the future of a run from the start is dropped before it
            /// finished (a timeout, a `select!`), the compensations of the
            /// completed steps run on a task of their own, last step first (a
            /// run resumed from a state is compensated when it fails, not when
            /// dropped).
        }
    });
    q! {
        #doc
        #dropped
        #[allow(unused_variables)]
        #[inline]
        #vis fn run(self) -> impl ::resilience::__private::Future<
            Output = ::resilience::__private::Result<#ok_ty, ::resilience::__private::SagaError<#err_ty>>,
        > {
            let Self { #(#input_names,)* __resilience_state: state } = self;
            #run
        }
    }
}

/// `__resilience_resumed`: a run from `state` through the state machine,
/// then the undo of what completed.
fn resumed_fn(g: &Gen<'_>) -> TokenStream {
    let (ok_ty, err_ty) = (g.ok_ty, g.err_ty);
    let (state, input_names, input_types, step_names) =
        (&g.state, &g.input_names, &g.input_types, &g.step_names);
    let input_refs = &g.input_refs;
    let muts = g
        .workflow
        .inputs
        .iter()
        .map(|i| is_mut_reference(&i.ty).then(|| quote!(mut)));
    let output = &g.workflow.output;
    let steps = q!(Self::__resilience_steps(#(#input_refs #input_names,)* &mut state, &mut hooks));
    // With nothing to undo, a panic unwinds out of `run`, as in a fresh run.
    let outcome = if catches_panics(g) {
        q!(::resilience::__private::catch_panic(#steps).await)
    } else {
        q!(::resilience::__private::Result::Ok(#steps.await))
    };
    q! {
        /// Runs the steps after `state` in memory, then the undo of what
        /// completed if one fails.
        #[allow(clippy::too_many_arguments)]
        async fn __resilience_resumed(
            #(#muts #input_names: #input_types,)*
            mut state: #state,
        ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::SagaError<#err_ty>> {
            let mut hooks = ::resilience::__private::InMemory;
            let outcome = #outcome;
            let running = || Self::__resilience_running(&state);
            let (failed_step, failure) = match ::resilience::__private::settle(outcome, running) {
                #[allow(unused_variables)]
                ::resilience::__private::Result::Ok((#(#step_names,)*)) => {
                    return ::resilience::__private::Result::Ok(#output);
                }
                ::resilience::__private::Result::Err(::resilience::__private::RunFailure::Failed(step, failure)) => {
                    (step, failure)
                }
                ::resilience::__private::Result::Err(::resilience::__private::RunFailure::Hook(never)) => match never {},
            };
            let compensations = ::resilience::__private::Vec::new();
            // Boxed: the failure path does not weigh on the future's size.
            let undo = ::resilience::__private::Box::pin(
                Self::__resilience_undo(#(&#input_names,)* state, failed_step, failure, compensations, &mut hooks),
            );
            match undo.await {
                ::resilience::__private::UndoOutcome::Failed(error) => ::resilience::__private::Result::Err(error),
                ::resilience::__private::UndoOutcome::Hook(never) => match never {},
            }
        }
    }
}

/// How a fresh in-memory run ends when a step fails or panics after
/// `position` steps completed: `__resilience_fail` (nothing to undo) or
/// `__resilience_unwind` (the compensations that are due).
fn stop_fn(g: &Gen<'_>) -> TokenStream {
    if !has_fresh_run(g) {
        return TokenStream::new();
    }
    let err_ty = g.err_ty;
    let stop = q! {
        let failed_step = Self::STEPS.get(position).copied().unwrap_or("<output>");
        Self::__resilience_report(failed_step, &failure);
        let completed = Self::STEPS.get(..position).unwrap_or_default();
    };
    if compensates(g) {
        q! {
            /// A fresh run failed after `position` steps: the report, then
            /// the compensations that are due, last step first.
            #[cold]
            async fn __resilience_unwind(
                position: usize,
                failure: ::resilience::__private::Failure<#err_ty>,
                ledger: ::resilience::__private::Ledger,
            ) -> ::resilience::__private::SagaError<#err_ty> {
                #stop
                // The undo runs as the workflow (unless the run is an
                // agent's call): its events carry the workflow's name.
                let compensations = ::resilience::__private::as_workflow(Self::NAME, ledger.undo()).await;
                ::resilience::__private::saga_error(failure, failed_step, completed, compensations)
            }
        }
    } else {
        q! {
            /// A fresh run failed after `position` steps: the report and
            /// the error (nothing to undo).
            #[cold]
            #[inline(never)]
            fn __resilience_fail(
                position: usize,
                error: #err_ty,
            ) -> ::resilience::__private::SagaError<#err_ty> {
                let failure = ::resilience::__private::Failure::Error(error);
                #stop
                ::resilience::__private::saga_error(failure, failed_step, completed, ::resilience::__private::Vec::new())
            }
        }
    }
}

/// `__resilience_report`: the event of a failed step.
fn report_fn(g: &Gen<'_>) -> TokenStream {
    let err_ty = g.err_ty;
    q! {
        /// Emits the event of a failed step.
        fn __resilience_report(failed_step: &'static str, failure: &::resilience::__private::Failure<#err_ty>) {
            match failure.error() {
                ::resilience::__private::Option::Some(__resilience_error) => ::resilience::__private::step_failed_event(
                    Self::NAME,
                    failed_step,
                    ::resilience::__private::error_ref!(__resilience_error),
                ),
                ::resilience::__private::Option::None => {
                    let text = ::resilience::__private::failure_text(failure, |_| ::resilience::__private::String::new());
                    ::resilience::__private::step_failed_event(
                        Self::NAME,
                        failed_step,
                        ::resilience::__private::ErrorRef::Display(&text),
                    );
                }
            }
        }
    }
}

/// `__resilience_running`: the step a panic happened in.
fn running_fn(g: &Gen<'_>) -> TokenStream {
    let state = &g.state;
    q! {
        /// The step that runs after `state` (for a panic's report).
        fn __resilience_running(state: &#state) -> &'static str {
            Self::STEPS.get(state.position()).copied().unwrap_or("<output>")
        }
    }
}
