//! `workflow!`: a named workflow of ordered steps, expanded into a state
//! machine (an enum whose variants hold the outputs so far) driven by `run`.
//!
//! ```text
//! workflow! {
//!     /// docs
//!     pub workflow Provision(api: Api, spec: Spec) -> Result<Configured, ApiError> {
//!         #[retry(attempts = 3)]
//!         #[compensate(with = |rid| api.delete_resource(rid))]
//!         step create: ResourceId = api.create_resource(spec).await;
//!
//!         #[timeout("10s")]
//!         step configure: Configured = api.configure_resource(create).await;
//!
//!         configure
//!     }
//! }
//! ```
//!
//! Inside a step, the inputs and the outputs of earlier steps are in scope by
//! name, as shared references. A step's expression evaluates to
//! `Result<StepType, E2>` with `E: From<E2>`. The final expression sees them
//! all by value and is the workflow's output.
//!
//! A step can also be parallel, a fan-out over a collection or a consensus
//! over agents (`step s: Branches<T, E> = for item in items, .. => ..;`,
//! `step v: T = consensus agent in agents, .. => ..;`): see `parallel`.
//!
//! The phases, one module each: `parse` (the grammar) → `validate` (a
//! `Plan` per step, every error collected) → `generate` (one fn per emitted
//! item), with the per-step code in `step`, the compensation in `undo`, what
//! `durable` adds, the Mermaid `diagram`, the `parallel` steps, and the
//! `stub` emitted beside the errors of an invalid workflow.

mod diagram;
mod durable;
mod generate;
mod parallel;
mod parse;
mod step;
mod stub;
mod undo;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;
use syn::ext::IdentExt;

use crate::ctxt::Ctxt;
use generate::generate;
use parse::Workflow;
use stub::stub;
use validate::{result_args, validate};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let workflow = match syn::parse2::<Workflow>(input) {
        Ok(workflow) => workflow,
        Err(error) => return error.into_compile_error(),
    };
    let mut cx = Ctxt::new();
    let (ok_ty, err_ty) = match result_args(&workflow.ret) {
        Some(types) => types,
        None => {
            cx.error_spanned_by(
                &workflow.ret,
                "a workflow returns `Result<T, E>`, e.g. `-> Result<Configured, ApiError>`",
            );
            (workflow.ret.clone(), workflow.ret.clone())
        }
    };
    let plans = validate(&workflow, &mut cx);
    if let Err(error) = cx.check() {
        let error = error.into_compile_error();
        let stub = stub(&workflow, &ok_ty, &err_ty);
        return quote!(#error #stub);
    }
    generate(&workflow, &plans, &ok_ty, &err_ty)
}

/// A name as written, without `r#`.
pub(super) fn text(ident: &Ident) -> String {
    ident.unraw().to_string()
}

pub(super) fn pascal(ident: &Ident) -> String {
    text(ident)
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}
