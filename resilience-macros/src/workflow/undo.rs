//! The undo: the completed steps that carry `#[compensate]`, last first,
//! each a failed compensation if it fails or panics, checkpointed after each
//! one in a durable run.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use super::generate::Gen;
use super::text;
use crate::expand;

/// `__resilience_undo`: undoes the completed steps of `state`, one arm per
/// step, and reports what failed and what was undone.
pub(super) fn undo_fn(g: &Gen<'_>) -> TokenStream {
    let (state, input_names, input_types) = (&g.state, &g.input_names, &g.input_types);
    let err_ty = g.err_ty;
    let workflow_name = g.workflow.name.to_string();
    let undo_arms = (0..g.plans.len()).map(|index| undo_arm(g, index));
    q! {
        /// Undoes the completed steps of `state`, last first.
        #[allow(unused_variables, clippy::ptr_arg, clippy::too_many_arguments)]
        async fn __resilience_undo<__ResilienceHooks: ::resilience::__private::Hooks<#state>>(
            #(#input_names: &#input_types,)*
            mut state: #state,
            failed_step: &'static str,
            failure: ::resilience::__private::Failure<#err_ty>,
            mut compensations: ::resilience::__private::Vec<::resilience::__private::CompensationReport>,
            hooks: &mut __ResilienceHooks,
        ) -> ::resilience::__private::UndoOutcome<#err_ty, __ResilienceHooks::Error> {
            let completed = state.completed();
            Self::__resilience_report(failed_step, &failure);
          // The undo runs as the workflow (unless the run is an agent's
          // call): its events, the compensations' own included, carry its name.
          ::resilience::__private::as_workflow(#workflow_name, async {
            let failure_text = if __ResilienceHooks::DURABLE {
                ::resilience::__private::failure_text(&failure, |__resilience_error| {
                    ::resilience::__private::ToString::to_string(&::resilience::__private::error_ref!(__resilience_error))
                })
            } else {
                ::resilience::__private::String::new()
            };
            if __ResilienceHooks::DURABLE {
                let position = state.position();
                if let ::resilience::__private::Result::Err(error) =
                    hooks.compensating(&state, position, failed_step, &failure_text, &compensations).await
                {
                    return ::resilience::__private::UndoOutcome::Hook(error);
                }
            }
            loop {
                state = match state {
                    #state::Start => break,
                    #(#undo_arms)*
                };
            }
            if __ResilienceHooks::DURABLE {
                if let ::resilience::__private::Result::Err(error) =
                    hooks.failed(&state, failed_step, &failure_text, &compensations).await
                {
                    return ::resilience::__private::UndoOutcome::Hook(error);
                }
            }
            ::resilience::__private::UndoOutcome::Failed(
                ::resilience::__private::saga_error(failure, failed_step, completed, compensations),
            )
          }).await
        }
    }
}

/// The arm of `__resilience_undo` that undoes step `index` (if it carries
/// `#[compensate]`) and steps back to the state before it.
fn undo_arm(g: &Gen<'_>, index: usize) -> TokenStream {
    let (workflow, plans) = (&g.workflow.name, g.plans);
    let (state, variants) = (&g.state, &g.variants);
    let plan = &plans[index];
    let names: Vec<&Ident> = plans[..=index].iter().map(|p| &p.step.name).collect();
    let before = &names[..index];
    let variant = &variants[index];
    let back = if index == 0 {
        q!(#state::Start)
    } else {
        let previous = &variants[index - 1];
        q!(#state::#previous { #(#before),* })
    };
    let name = &plan.step.name;
    let undo = match &plan.compensate {
        Some(args) => {
            let call = expand::call(&args.with, quote!(#name));
            let outcome =
                expand::compensation_outcome(quote_spanned!(args.with.span()=> #call.await));
            // A panic, in the call that makes the compensation's future (the
            // closure runs inside the lazy `async` block) or while it is
            // polled, is a failed compensation; the others still run.
            let outcome = q! {
                ::resilience::__private::undo_outcome(
                    ::resilience::__private::catch_panic(async { #outcome }).await,
                )
            };
            let step_str = text(name);
            let operation = format!("{workflow}::{}", text(name));
            // A fan-out step: each successful branch, latest completed first.
            let record = match &plan.step.parallel {
                Some(parallel) if parallel.kind == super::parallel::Kind::FanOut => {
                    super::parallel::undo_arm(workflow, name, args)
                }
                _ => {
                    q!(compensations.push(::resilience::__private::record_compensation(#operation, #step_str, #outcome));)
                }
            };
            q! {
                #record
                let back = #back;
                if __ResilienceHooks::DURABLE {
                    if let ::resilience::__private::Result::Err(error) =
                        hooks.compensating(&back, back.position(), failed_step, &failure_text, &compensations).await
                    {
                        return ::resilience::__private::UndoOutcome::Hook(error);
                    }
                }
                back
            }
        }
        None => q! {
            ::resilience::__private::drop(#name);
            #back
        },
    };
    q! {
        #state::#variant { #(#names),* } => {
            #undo
        }
    }
}
