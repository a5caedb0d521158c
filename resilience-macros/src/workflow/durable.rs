//! What a `durable workflow` adds: how the state enum saves each step's
//! output, `run_durable`, and the `FINGERPRINT` of the definition.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use super::generate::Gen;
use super::parse::Workflow;
use super::text;
use super::validate::Plan;

/// How the state enum of a `durable workflow` (de)serializes each step's
/// output: through per-step fns that defer to serde when the type is serde
/// (the same data format as a plain derive), plus one assertion per step
/// type, spanned at the type, that it is `Serialize + Deserialize`. A step
/// type that is not serde thus gets one error, at the step, with the fix,
/// instead of one per serde call in the derived impls.
pub(super) struct SerdeFields {
    /// The `#[serde(..)]` attribute of each step's field, by step.
    pub(super) attrs: Vec<TokenStream>,
    /// The assertions and the fns.
    pub(super) items: TokenStream,
}

impl ToTokens for SerdeFields {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.items.to_tokens(tokens);
    }
}

pub(super) fn durable_serde_fields(
    workflow: &Workflow,
    plans: &[Plan<'_>],
    state: &Ident,
) -> SerdeFields {
    if !workflow.durable {
        return SerdeFields {
            attrs: vec![TokenStream::new(); plans.len()],
            items: TokenStream::new(),
        };
    }
    let mut attrs = Vec::new();
    let mut fns = Vec::new();
    let mut asserted: Vec<String> = Vec::new();
    let mut asserts = Vec::new();
    // The inputs are saved too: one error per type, at its first input
    // (and not again at a step of the same type).
    for input in &workflow.inputs {
        let ty = &input.ty;
        let mut key = String::new();
        canonical(ty.to_token_stream(), &mut key);
        if !asserted.contains(&key) {
            asserted.push(key);
            let check = quote_spanned!(ty.span()=>
                (&::resilience::__private::InputCheck::<#ty>::new()).durable_input()
            );
            asserts.push(q! {
                const _: fn() = || {
                    #[allow(unused_imports)]
                    use ::resilience::__private::{CheckInputDeserialize as _, CheckInputSerialize as _};
                    #check;
                };
            });
        }
    }
    for plan in plans {
        let (name, ty) = (&plan.step.name, &plan.step.ty);
        let ser = format_ident!("__resilience_serialize_{}", text(name));
        let de = format_ident!("__resilience_deserialize_{}", text(name));
        let ser_path = format!("{state}::{ser}");
        let de_path = format!("{state}::{de}");
        attrs.push(q!(#[serde(serialize_with = #ser_path, deserialize_with = #de_path)]));
        fns.push(q! {
            fn #ser<__ResilienceS: ::resilience::__private::serde::Serializer>(
                output: &#ty,
                serializer: __ResilienceS,
            ) -> ::resilience::__private::Result<__ResilienceS::Ok, __ResilienceS::Error> {
                #[allow(unused_imports)]
                use ::resilience::__private::{SerializeStep as _, SerializeStepFallback as _};
                (&::resilience::__private::StepSerde(output)).serialize_step(serializer)
            }

            fn #de<'de, __ResilienceD: ::resilience::__private::serde::Deserializer<'de>>(
                deserializer: __ResilienceD,
            ) -> ::resilience::__private::Result<#ty, __ResilienceD::Error> {
                #[allow(unused_imports)]
                use ::resilience::__private::{DeserializeStep as _, DeserializeStepFallback as _};
                (&::resilience::__private::StepType::<#ty>::new()).deserialize_step(deserializer)
            }
        });
        // One error per type, at its first step.
        let mut key = String::new();
        canonical(ty.to_token_stream(), &mut key);
        if !asserted.contains(&key) {
            asserted.push(key);
            let check = quote_spanned!(ty.span()=>
                (&::resilience::__private::StepCheck::<#ty>::new()).durable_step()
            );
            asserts.push(q! {
                const _: fn() = || {
                    #[allow(unused_imports)]
                    use ::resilience::__private::{CheckDeserialize as _, CheckSerialize as _};
                    #check;
                };
            });
        }
    }
    let items = q! {
        #(#asserts)*

        /// How each step's output is saved in a checkpoint.
        #[allow(non_snake_case)]
        impl #state {
            #(#fns)*
        }
    };
    SerdeFields { attrs, items }
}

/// `run_durable`, `resume_durable` and `FINGERPRINT`, for a `durable workflow`.
pub(super) fn durable_methods(g: &Gen<'_>) -> TokenStream {
    let (workflow, plans, ok_ty, err_ty) = (g.workflow, g.plans, g.ok_ty, g.err_ty);
    let vis = &workflow.vis;
    let (input_names, input_types) = (&g.input_names, &g.input_types);
    let fingerprint = proc_macro2::Literal::u64_unsuffixed(fingerprint(workflow, plans));
    if !workflow.durable {
        return q! {
            /// A hash of the definition: the steps and their types.
            #vis const FINGERPRINT: u64 = #fingerprint;
        };
    }
    let state = &g.state;
    let step_names = &g.step_names;
    let output = &workflow.output;
    let inputs = inputs_fns(g);
    q! {
        /// A hash of the definition: the steps and their types. A checkpoint
        /// written by another definition is refused.
        #vis const FINGERPRINT: u64 = #fingerprint;

        /// Runs the workflow under `id`, durably: it starts, or resumes from
        /// the checkpoint of `id` in `store`. The inputs are saved in the
        /// checkpoint with the state after every step, before the next one
        /// starts; a checkpoint that records other inputs is refused
        /// (`DurableError::InputsDiffer`), and nothing runs. On success the
        /// checkpoint is deleted; on failure it is kept. See
        /// `resilience::durable`.
        #vis async fn run_durable<__ResilienceStore: ::resilience::__private::CheckpointStore>(
            self,
            store: &__ResilienceStore,
            id: &str,
        ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>> {
            self.run_durable_with(store, id, ::resilience::__private::DurableOptions::new()).await
        }

        /// [`Self::run_durable`] with options (keep the checkpoint on success).
        #vis async fn run_durable_with<__ResilienceStore: ::resilience::__private::CheckpointStore>(
            self,
            store: &__ResilienceStore,
            id: &str,
            options: ::resilience::__private::DurableOptions,
        ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>> {
            let Self { #(#input_names,)* __resilience_state } = self;
            let inputs = Self::__resilience_inputs_to_json(#(&#input_names),*);
            let (durable, resume) = ::resilience::__private::Durable::claim(
                store,
                Self::NAME,
                Self::FINGERPRINT,
                Self::STEPS,
                id,
                options,
                inputs,
                __resilience_state,
            )
            .await?;
            Self::__resilience_drive(#(#input_names,)* durable, resume).await
        }

        /// Submits the run `id` to be run by a worker
        /// (`resilience::durable::Worker`): saves a checkpoint of no step
        /// done, with the inputs, and returns without running anything.
        /// `false` if the run already has a checkpoint with the same inputs
        /// (submitted before, or under way): nothing changes. Other inputs
        /// are `DurableError::InputsDiffer`; a run that a worker holds at
        /// that moment is `CheckpointError::Locked`.
        #vis async fn submit_durable<__ResilienceStore: ::resilience::__private::CheckpointStore>(
            self,
            store: &__ResilienceStore,
            id: &str,
        ) -> ::resilience::__private::Result<bool, ::resilience::__private::DurableError<#err_ty>> {
            let Self { #(#input_names,)* __resilience_state } = self;
            let inputs = Self::__resilience_inputs_to_json(#(&#input_names),*);
            ::resilience::__private::Durable::submit(
                store,
                Self::NAME,
                Self::FINGERPRINT,
                Self::STEPS,
                id,
                ::resilience::__private::DurableOptions::new(),
                inputs,
                __resilience_state,
            )
            .await
        }

        /// Resumes the run `id` from its checkpoint in `store` by its id
        /// alone: the inputs are the ones the checkpoint records. Without a
        /// checkpoint it is `DurableError::NotFound`; with one written before
        /// inputs were stored, `DurableError::InputsNotStored` (resume it
        /// with its inputs through [`Self::run_durable`]). Otherwise as
        /// [`Self::run_durable`].
        #vis async fn resume_durable<__ResilienceStore: ::resilience::__private::CheckpointStore>(
            store: &__ResilienceStore,
            id: &str,
        ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>> {
            Self::resume_durable_with(store, id, ::resilience::__private::DurableOptions::new()).await
        }

        /// [`Self::resume_durable`] with options (keep the checkpoint on success).
        #vis async fn resume_durable_with<__ResilienceStore: ::resilience::__private::CheckpointStore>(
            store: &__ResilienceStore,
            id: &str,
            options: ::resilience::__private::DurableOptions,
        ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>> {
            let (durable, resume, (#(#input_names,)*)) = ::resilience::__private::Durable::claim_stored(
                store,
                Self::NAME,
                Self::FINGERPRINT,
                Self::STEPS,
                id,
                options,
                Self::__resilience_inputs_from_json,
            )
            .await?;
            Self::__resilience_drive(#(#input_names,)* durable, resume).await
        }

        #inputs

        /// Runs a claimed durable run from where its checkpoint left it.
        #[allow(clippy::too_many_arguments)]
        async fn __resilience_drive<__ResilienceStore: ::resilience::__private::CheckpointStore>(
            #(#input_names: #input_types,)*
            mut durable: ::resilience::__private::Durable<'_, __ResilienceStore, #state>,
            resume: ::resilience::__private::Resume<#state>,
        ) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>> {
            let (state, failed_step, failure, compensations) = match resume {
                ::resilience::__private::Resume::Run(mut state) => {
                    let outcome = ::resilience::__private::catch_panic(
                        Self::__resilience_steps(#(&#input_names,)* &mut state, &mut durable),
                    )
                    .await;
                    let running = || Self::__resilience_running(&state);
                    match ::resilience::__private::settle(outcome, running) {
                        #[allow(unused_variables)]
                        ::resilience::__private::Result::Ok((#(#step_names,)*)) => {
                            return durable.finish(::resilience::__private::Result::Ok(#output)).await;
                        }
                        ::resilience::__private::Result::Err(::resilience::__private::RunFailure::Failed(step, failure)) => {
                            (state, step, failure, ::resilience::__private::Vec::new())
                        }
                        ::resilience::__private::Result::Err(::resilience::__private::RunFailure::Hook(error)) => {
                            return ::resilience::__private::Result::Err(::resilience::__private::DurableError::Checkpoint(error));
                        }
                    }
                }
                ::resilience::__private::Resume::Compensate { state, failed_step, failure, compensations } => {
                    (state, failed_step, ::resilience::__private::Failure::Recorded(failure), compensations)
                }
            };
            let stop = ::resilience::__private::Box::pin(
                Self::__resilience_undo(#(&#input_names,)* state, failed_step, failure, compensations, &mut durable),
            )
            .await;
            durable.finish(::resilience::__private::Result::Err(stop)).await
        }
    }
}

/// `impl DurableWorkflow`, for a `durable workflow`: what a worker needs
/// to run it by name.
pub(super) fn durable_trait_impl(g: &Gen<'_>) -> TokenStream {
    if !g.workflow.durable {
        return TokenStream::new();
    }
    let (name, ok_ty, err_ty) = (&g.workflow.name, g.ok_ty, g.err_ty);
    q! {
        impl ::resilience::__private::DurableWorkflow for #name {
            const WORKFLOW: &'static str = #name::NAME;
            const DEFINITION: u64 = #name::FINGERPRINT;
            const STEP_COUNT: usize = #name::STEPS.len();
            type Output = #ok_ty;
            type Error = #err_ty;

            fn resume<__ResilienceStore: ::resilience::__private::CheckpointStore>(
                store: &__ResilienceStore,
                id: &str,
                options: ::resilience::__private::DurableOptions,
            ) -> impl ::resilience::__private::Future<
                Output = ::resilience::__private::Result<#ok_ty, ::resilience::__private::DurableError<#err_ty>>,
            > {
                #name::resume_durable_with(store, id, options)
            }
        }
    }
}

/// How a durable workflow's inputs are saved in its checkpoint and read
/// back: a JSON object keyed by input name, through the same serde routes
/// as the steps (so a type that is not serde is reported once, by the
/// `InputCheck` at the type).
fn inputs_fns(g: &Gen<'_>) -> TokenStream {
    let (input_names, input_types) = (&g.input_names, &g.input_types);
    let sers: Vec<_> = input_names
        .iter()
        .map(|n| format_ident!("__resilience_serialize_{}", text(n)))
        .collect();
    let des: Vec<_> = input_names
        .iter()
        .map(|n| format_ident!("__resilience_deserialize_{}", text(n)))
        .collect();
    let ser_paths: Vec<String> = sers.iter().map(ToString::to_string).collect();
    let de_paths: Vec<String> = des.iter().map(ToString::to_string).collect();
    q! {
        /// The inputs as the JSON saved in the checkpoint.
        fn __resilience_inputs_to_json(
            #(#input_names: &#input_types),*
        ) -> ::resilience::__private::Result<::resilience::__private::Vec<u8>, ::resilience::__private::String> {
            #[derive(::resilience::__private::serde::Serialize)]
            #[serde(crate = "::resilience::__private::serde")]
            struct __ResilienceInputs<'__resilience> {
                #(
                    #[serde(serialize_with = #ser_paths)]
                    #input_names: &'__resilience #input_types,
                )*
                #[serde(skip)]
                __resilience_inputs: ::resilience::__private::PhantomData<&'__resilience ()>,
            }
            #(
                fn #sers<__ResilienceS: ::resilience::__private::serde::Serializer>(
                    input: &&#input_types,
                    serializer: __ResilienceS,
                ) -> ::resilience::__private::Result<__ResilienceS::Ok, __ResilienceS::Error> {
                    #[allow(unused_imports)]
                    use ::resilience::__private::{SerializeStep as _, SerializeStepFallback as _};
                    (&::resilience::__private::StepSerde(*input)).serialize_step(serializer)
                }
            )*
            ::resilience::__private::inputs_to_json(&__ResilienceInputs {
                #(#input_names,)*
                __resilience_inputs: ::resilience::__private::PhantomData,
            })
        }

        /// The inputs read back from the JSON in a checkpoint.
        fn __resilience_inputs_from_json(
            json: &[u8],
        ) -> ::resilience::__private::Result<(#(#input_types,)*), ::resilience::__private::String> {
            #[derive(::resilience::__private::serde::Deserialize)]
            #[serde(crate = "::resilience::__private::serde", deny_unknown_fields)]
            struct __ResilienceInputs {
                #(
                    #[serde(deserialize_with = #de_paths)]
                    #input_names: #input_types,
                )*
            }
            #(
                fn #des<'de, __ResilienceD: ::resilience::__private::serde::Deserializer<'de>>(
                    deserializer: __ResilienceD,
                ) -> ::resilience::__private::Result<#input_types, __ResilienceD::Error> {
                    #[allow(unused_imports)]
                    use ::resilience::__private::{DeserializeStep as _, DeserializeStepFallback as _};
                    (&::resilience::__private::StepType::<#input_types>::new()).deserialize_step(deserializer)
                }
            )*
            let inputs: __ResilienceInputs = ::resilience::__private::inputs_from_json(json)?;
            ::resilience::__private::Result::Ok((#(inputs.#input_names,)*))
        }
    }
}

/// FNV-1a over the workflow's name, steps and their types: a checkpoint
/// records it, and a changed definition refuses an old checkpoint.
fn fingerprint(workflow: &Workflow, plans: &[Plan<'_>]) -> u64 {
    let mut text = self::text(&workflow.name);
    for plan in plans {
        text.push('|');
        text.push_str(&self::text(&plan.step.name));
        text.push(':');
        canonical(plan.step.ty.to_token_stream(), &mut text);
    }
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The tokens of a type, one per space-separated word, independent of how
/// rustc prints a `TokenStream` (which is not a stable format).
pub(super) fn canonical(tokens: TokenStream, out: &mut String) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => out.push_str(&text(&ident)),
            TokenTree::Punct(punct) => out.push(punct.as_char()),
            TokenTree::Literal(literal) => out.push_str(&literal.to_string()),
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                    proc_macro2::Delimiter::Brace => ("{", "}"),
                    proc_macro2::Delimiter::Bracket => ("[", "]"),
                    proc_macro2::Delimiter::None => ("", ""),
                };
                out.push_str(open);
                canonical(group.stream(), out);
                out.push_str(close);
            }
        }
        out.push(' ');
    }
}
