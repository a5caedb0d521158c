//! The declarations of a workflow with errors, without steps, so that the
//! code using it sees the same names and only the real errors are reported.

use proc_macro2::TokenStream;
use quote::format_ident;
use syn::{Ident, Type};

use super::parse::Workflow;

/// What a workflow with errors still declares, so that the code using it
/// sees the same names and only the real errors are reported: the struct,
/// an empty state enum and the methods, without steps. The crate does not
/// compile, so none of it ever runs.
pub(super) fn stub(workflow: &Workflow, ok_ty: &Type, err_ty: &Type) -> TokenStream {
    let Workflow {
        attrs, vis, name, ..
    } = workflow;
    let state = format_ident!("{}State", name);
    let input_names: Vec<&Ident> = workflow.inputs.iter().map(|i| &i.name).collect();
    let input_types: Vec<&Type> = workflow.inputs.iter().map(|i| &i.ty).collect();
    let name_str = name.to_string();
    let durable = workflow.durable.then(|| {
        q! {
            #vis async fn run_durable<__ResilienceStore: ::resilience::__private::CheckpointStore>(
                self,
                store: &__ResilienceStore,
                id: &str,
            ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>> {
                loop {}
            }
            #vis async fn run_durable_with<__ResilienceStore: ::resilience::__private::CheckpointStore>(
                self,
                store: &__ResilienceStore,
                id: &str,
                options: ::resilience::__private::DurableOptions,
            ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>> {
                loop {}
            }
            #vis async fn resume_durable<__ResilienceStore: ::resilience::__private::CheckpointStore>(
                store: &__ResilienceStore,
                id: &str,
            ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>> {
                loop {}
            }
            #vis async fn resume_durable_with<__ResilienceStore: ::resilience::__private::CheckpointStore>(
                store: &__ResilienceStore,
                id: &str,
                options: ::resilience::__private::DurableOptions,
            ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>> {
                loop {}
            }
        }
    });
    let generics = &workflow.generics;
    let (impl_generics, ty_generics, _) = generics.split_for_impl();
    q! {
        #(#attrs)*
        #[allow(dead_code)]
        #vis struct #name #generics {
            #(#input_names: #input_types,)*
        }

        #[allow(dead_code)]
        #vis enum #state {
            /// No step has run yet.
            Start,
        }

        #[allow(dead_code, unused_variables, clippy::empty_loop)]
        impl #impl_generics #name #ty_generics {
            #vis const NAME: &'static str = #name_str;
            #vis const STEPS: &'static [&'static str] = &[];
            #vis const FINGERPRINT: u64 = 0;
            #vis fn new(#(#input_names: #input_types),*) -> Self {
                Self { #(#input_names),* }
            }
            #vis fn resume(#(#input_names: #input_types,)* state: #state) -> Self {
                Self { #(#input_names),* }
            }
            #vis fn diagram() -> &'static str {
                ""
            }
            #vis async fn run(self) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::SagaError<#err_ty>> {
                loop {}
            }
            #durable
        }
    }
}
