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

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Expr, Ident, Token, Type, Visibility};

use crate::args::{self, Kind, Layer};
use crate::ctxt::Ctxt;
use crate::expand::{self, Generator};

mod kw {
    syn::custom_keyword!(workflow);
    syn::custom_keyword!(step);
    syn::custom_keyword!(durable);
}

struct Input {
    name: Ident,
    ty: Type,
}

struct Step {
    attrs: Vec<Attribute>,
    name: Ident,
    ty: Type,
    expr: Expr,
}

struct Workflow {
    attrs: Vec<Attribute>,
    vis: Visibility,
    /// `durable workflow`: persisted after every step.
    durable: bool,
    name: Ident,
    inputs: Vec<Input>,
    ret: Type,
    steps: Vec<Step>,
    output: Option<Expr>,
    /// The closing brace, where a missing output is reported.
    close: Span,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![mut]) {
            return Err(input.error(
                "workflow inputs are shared by every step and cannot be `mut`; remove `mut`",
            ));
        }
        let name: Ident = input.parse()?;
        let _: Token![:] = input.parse()?;
        let ty: Type = input.parse()?;
        Ok(Input { name, ty })
    }
}

impl Parse for Workflow {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let durable = input.parse::<Option<kw::durable>>()?.is_some();
        if !input.peek(kw::workflow) {
            return Err(input.error(
                "expected `workflow Name(inputs) -> Result<T, E> { .. }`, e.g. `pub workflow Provision(api: Api) -> Result<Id, ApiError> { .. }`",
            ));
        }
        let _: kw::workflow = input.parse()?;
        let name: Ident = input.parse()?;
        let inputs_content;
        syn::parenthesized!(inputs_content in input);
        let inputs = Punctuated::<Input, Token![,]>::parse_terminated(&inputs_content)?
            .into_iter()
            .collect();
        if !input.peek(Token![->]) {
            return Err(input.error("a workflow declares its output: `-> Result<T, E>`"));
        }
        let _: Token![->] = input.parse()?;
        let ret: Type = input.parse()?;
        let body;
        let brace = syn::braced!(body in input);
        let mut steps = Vec::new();
        let mut output = None;
        while !body.is_empty() {
            let attrs = body.call(Attribute::parse_outer)?;
            if body.peek(kw::step) {
                let _: kw::step = body.parse()?;
                let name: Ident = body.parse()?;
                if !body.peek(Token![:]) {
                    return Err(body.error(format!(
                        "a step declares the type of its output: `step {name}: Type = expr;`"
                    )));
                }
                let _: Token![:] = body.parse()?;
                let ty: Type = body.parse()?;
                let _: Token![=] = body.parse()?;
                let expr: Expr = body.parse()?;
                let _: Token![;] = body.parse()?;
                steps.push(Step {
                    attrs,
                    name,
                    ty,
                    expr,
                });
                continue;
            }
            if let Some(attr) = attrs.first() {
                return Err(syn::Error::new_spanned(
                    attr,
                    "attributes go on a `step`; the output expression takes none",
                ));
            }
            let expr: Expr = body.parse()?;
            if !body.is_empty() {
                return Err(
                    body.error("the output expression ends the workflow; move the steps above it")
                );
            }
            output = Some(expr);
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the workflow"));
        }
        Ok(Workflow {
            attrs,
            vis,
            durable,
            name,
            inputs,
            ret,
            steps,
            output,
            close: brace.span.close(),
        })
    }
}

/// A step, validated: its layers and compensation.
struct Plan<'a> {
    step: &'a Step,
    layers: Vec<Layer>,
    compensate: Option<args::CompensateArgs>,
    docs: Vec<&'a Attribute>,
}

pub fn expand(input: TokenStream) -> TokenStream {
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

/// What a workflow with errors still declares, so that the code using it
/// sees the same names and only the real errors are reported: the struct,
/// an empty state enum and the methods, without steps. The crate does not
/// compile, so none of it ever runs.
fn stub(workflow: &Workflow, ok_ty: &Type, err_ty: &Type) -> TokenStream {
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
        }
    });
    q! {
        #(#attrs)*
        #[allow(dead_code)]
        #vis struct #name {
            #(#input_names: #input_types,)*
        }

        #[allow(dead_code)]
        #vis enum #state {
            /// No step has run yet.
            Start,
        }

        #[allow(dead_code, unused_variables, clippy::empty_loop)]
        impl #name {
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

/// `T` and `E` of `Result<T, E>`.
fn result_args(ty: &Type) -> Option<(Type, Type)> {
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

fn validate<'a>(workflow: &'a Workflow, cx: &mut Ctxt) -> Vec<Plan<'a>> {
    if workflow.steps.is_empty() {
        cx.error_spanned_by(
            &workflow.name,
            "a workflow needs at least one `step name: Type = expr;`",
        );
    }
    if workflow.output.is_none() {
        cx.syn_error(syn::Error::new(
            workflow.close,
            "a workflow ends with its output: add an expression after the last step, e.g. the last step's name",
        ));
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
        for ident in free_idents(&step.expr) {
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
    if workflow.durable {
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
                    "unknown step attribute; a step takes `#[retry]`, `#[timeout]`, `#[fallback]` and `#[compensate]`",
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
            if let Some(layer) = args::parse_layer(kind, tokens, expand::attr_span(attr), cx) {
                layers.push(layer);
            }
        }
        let (layers, compensate) = expand::split_compensate(layers, cx);
        if let Some(args) = &compensate
            && index == last
        {
            cx.syn_error(syn::Error::new(
                args.span,
                format!(
                    "`#[compensate]` on the last step has nothing to undo: no step after `{}` can fail",
                    step.name
                ),
            ));
        }
        plans.push(Plan {
            step,
            layers,
            compensate,
            docs,
        });
    }
    plans
}

/// The single-identifier paths an expression uses as values (`create`,
/// not `x.create`, `a::create`, `create(..)` or a macro), minus every name a
/// pattern inside it binds (`let`, closure parameters, `match` arms,
/// `if let`, `for`): a later step's name among them is a use before it runs.
fn free_idents(expr: &Expr) -> Vec<Ident> {
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

/// The first reference type (`&'static str`) inside `ty`, if any: what a
/// durable step's output cannot be.
fn first_reference(ty: &Type) -> Option<&syn::TypeReference> {
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

/// A name as written, without `r#`.
fn text(ident: &Ident) -> String {
    ident.unraw().to_string()
}

fn pascal(ident: &Ident) -> String {
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

fn generate(workflow: &Workflow, plans: &[Plan<'_>], ok_ty: &Type, err_ty: &Type) -> TokenStream {
    let Workflow {
        attrs, vis, name, ..
    } = workflow;
    let state = format_ident!("{}State", name);
    let name_str = name.to_string();
    let input_names: Vec<&Ident> = workflow.inputs.iter().map(|i| &i.name).collect();
    let input_types: Vec<&Type> = workflow.inputs.iter().map(|i| &i.ty).collect();
    let step_names: Vec<&Ident> = plans.iter().map(|p| &p.step.name).collect();
    let step_strs: Vec<String> = step_names.iter().map(|n| text(n)).collect();
    let variants: Vec<Ident> = step_names
        .iter()
        .map(|n| Ident::new(&format!("After{}", pascal(n)), n.span()))
        .collect();

    // The state enum: `Start`, then one variant per completed step holding
    // every output so far.
    let serde_fields = durable_serde_fields(workflow, plans, &state);
    let variant_defs = plans.iter().enumerate().map(|(i, plan)| {
        let variant = &variants[i];
        let fields = plans[..=i]
            .iter()
            .zip(&serde_fields.attrs)
            .map(|(p, attr)| {
                let (n, ty) = (&p.step.name, &p.step.ty);
                quote!(#attr #n: #ty)
            });
        let doc = format!("`{}` has completed.", step_strs[i]);
        let step_docs = &plan.docs;
        quote! {
            #[doc = #doc]
            #(#step_docs)*
            #variant { #(#fields),* }
        }
    });
    let completed_arms = (0..plans.len()).map(|i| {
        let variant = &variants[i];
        let names = &step_strs[..=i];
        quote!(#state::#variant { .. } => &[#(#names),*])
    });
    let position_arms = (0..plans.len()).map(|i| {
        let variant = &variants[i];
        let position = proc_macro2::Literal::usize_unsuffixed(i + 1);
        quote!(#state::#variant { .. } => #position)
    });

    let step_arms = plans
        .iter()
        .enumerate()
        .map(|(i, plan)| step_arm(workflow, plans, i, plan, &state, &variants, err_ty));
    let step_types: Vec<&Type> = plans.iter().map(|p| &p.step.ty).collect();
    let (fast_path, straight) = straight_line(workflow, plans, ok_ty, err_ty);
    // With a straight-line fresh run, the state machine only serves resumed
    // runs: boxed, so that it does not weigh on `run`'s future.
    let steps_call = q!(Self::__resilience_steps(#(&#input_names,)* &mut state, &mut hooks));
    let machine = if fast_path.is_empty() {
        steps_call
    } else {
        q!(::resilience::__private::Box::pin(#steps_call))
    };
    let last_variant = &variants[plans.len() - 1];
    let output = &workflow.output;
    let undo_arms = plans
        .iter()
        .enumerate()
        .map(|(i, plan)| undo_arm(name, plans, i, plan, &state, &variants));

    let state_doc = format!(
        "The progress of a [`{name_str}`] workflow: the outputs of the steps that have completed. Steps: {}.",
        step_strs
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    let diagram = diagram(workflow, plans, ok_ty);
    let durable_methods = durable_methods(workflow, plans, ok_ty, err_ty);
    let serde_derive = workflow.durable.then(|| {
        q! {
            #[derive(::resilience::__private::serde::Serialize, ::resilience::__private::serde::Deserialize)]
            #[serde(crate = "::resilience::__private::serde")]
        }
    });
    let new_doc = format!("A `{name_str}` workflow that has not started.");

    q! {
        #(#attrs)*
        #vis struct #name {
            #(#input_names: #input_types,)*
            __resilience_state: #state,
        }

        #[doc = #state_doc]
        #[allow(clippy::large_enum_variant)]
        #serde_derive
        #vis enum #state {
            /// No step has run yet.
            Start,
            #(#variant_defs,)*
        }

        #serde_fields

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

        impl #name {
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

            /// Runs the remaining steps in order. If a step fails (or panics),
            /// the completed steps that carry `#[compensate]` are undone in
            /// reverse order and the error says what failed and what was undone.
            #vis async fn run(self) -> ::resilience::__private::Result<#ok_ty, ::resilience::__private::SagaError<#err_ty>> {
                let Self { #(#input_names,)* __resilience_state: mut state } = self;
                #fast_path
                let mut hooks = ::resilience::__private::InMemory;
                let outcome = ::resilience::__private::catch_panic(#machine).await;
                let running = || Self::__resilience_running(&state);
                let (failed_step, failure) = match ::resilience::__private::settle(outcome, running) {
                    #[allow(unused_variables)]
                    ::resilience::__private::Result::Ok((#(#step_names,)*)) => {
                        return ::resilience::__private::Result::Ok(#output);
                    }
                    ::resilience::__private::Result::Err(::resilience::__private::Settled::Failed(step, failure)) => {
                        (step, failure)
                    }
                    ::resilience::__private::Result::Err(::resilience::__private::Settled::Hook(never)) => match never {},
                };
                let compensations = ::resilience::__private::Vec::new();
                // Boxed: the failure path does not weigh on the future's size.
                let undo = ::resilience::__private::Box::pin(
                    Self::__resilience_undo(#(&#input_names,)* state, failed_step, failure, compensations, &mut hooks),
                );
                match undo.await {
                    ::resilience::__private::Stop::Failed(error) => ::resilience::__private::Result::Err(error),
                    ::resilience::__private::Stop::Hook(never) => match never {},
                }
            }

            #durable_methods

            #straight

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

            /// The step that runs after `state` (for a panic's report).
            fn __resilience_running(state: &#state) -> &'static str {
                Self::STEPS.get(state.position()).copied().unwrap_or("<output>")
            }

            /// The state machine: runs the steps after `state`, in place, and
            /// calls the hooks (checkpoints, for a durable run) after each one.
            /// Returns every output once the last step has run.
            #[allow(unused_variables, clippy::ptr_arg, clippy::too_many_arguments)]
            async fn __resilience_steps<__ResilienceHooks: ::resilience::__private::Hooks<#state>>(
                #(#input_names: &#input_types,)*
                state: &mut #state,
                hooks: &mut __ResilienceHooks,
            ) -> ::resilience::__private::Result<(#(#step_types,)*), ::resilience::__private::Halt<#err_ty, __ResilienceHooks::Error>> {
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

            /// Undoes the completed steps of `state`, last first.
            #[allow(unused_variables, clippy::ptr_arg, clippy::too_many_arguments)]
            async fn __resilience_undo<__ResilienceHooks: ::resilience::__private::Hooks<#state>>(
                #(#input_names: &#input_types,)*
                mut state: #state,
                failed_step: &'static str,
                failure: ::resilience::__private::Failure<#err_ty>,
                mut compensations: ::resilience::__private::Vec<::resilience::__private::CompensationReport>,
                hooks: &mut __ResilienceHooks,
            ) -> ::resilience::__private::Stop<#err_ty, __ResilienceHooks::Error> {
                let completed = state.completed();
                Self::__resilience_report(failed_step, &failure);
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
                        return ::resilience::__private::Stop::Hook(error);
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
                        return ::resilience::__private::Stop::Hook(error);
                    }
                }
                ::resilience::__private::Stop::Failed(
                    ::resilience::__private::saga_error(failure, failed_step, completed, compensations),
                )
            }
        }
    }
}

/// A workflow with nothing to undo has no use for its state machine on a
/// fresh run: the steps run as straight-line code, as one would write them,
/// and the state enum is only used by `resume`. Returns the fast path for
/// `run` and the straight-line fn.
fn straight_line(
    workflow: &Workflow,
    plans: &[Plan<'_>],
    ok_ty: &Type,
    err_ty: &Type,
) -> (TokenStream, TokenStream) {
    if workflow.durable || plans.iter().any(|p| p.compensate.is_some()) {
        return (TokenStream::new(), TokenStream::new());
    }
    let state = format_ident!("{}State", workflow.name);
    let input_names: Vec<&Ident> = workflow.inputs.iter().map(|i| &i.name).collect();
    let input_types: Vec<&Type> = workflow.inputs.iter().map(|i| &i.ty).collect();
    let output = &workflow.output;
    let steps = plans.iter().enumerate().map(|(index, plan)| {
        let step = plan.step;
        let name = &step.name;
        let (body, ret) = step_body(workflow, plan, err_ty);
        let borrows = input_names
            .iter()
            .copied()
            .chain(plans[..index].iter().map(|p| &p.step.name))
            .map(|n| quote!(let #n = &#n;));
        let step_str = text(name);
        let position = proc_macro2::Literal::usize_unsuffixed(index + 1);
        let (step_error, into_error) = step_error(step);
        q! {
            let #name: #ret = {
                #(#borrows)*
                #body
            };
            let #name = match #name {
                ::resilience::__private::Result::Ok(#name) => #name,
                ::resilience::__private::Result::Err(#step_error) => {
                    return ::resilience::__private::Result::Err(::resilience::__private::Halt::Step(#step_str, #into_error));
                }
            };
            *position = #position;
        }
    });
    let fast_path = q! {
        if let #state::Start = state {
            let mut position = 0;
            let outcome = ::resilience::__private::catch_panic(
                Self::__resilience_straight(#(#input_names,)* &mut position),
            )
            .await;
            let running = || Self::STEPS.get(position).copied().unwrap_or("<output>");
            let (failed_step, failure) = match ::resilience::__private::settle(outcome, running) {
                ::resilience::__private::Result::Ok(output) => return ::resilience::__private::Result::Ok(output),
                ::resilience::__private::Result::Err(::resilience::__private::Settled::Failed(step, failure)) => {
                    (step, failure)
                }
                ::resilience::__private::Result::Err(::resilience::__private::Settled::Hook(never)) => match never {},
            };
            Self::__resilience_report(failed_step, &failure);
            let completed = Self::STEPS.get(..position).unwrap_or_default();
            return ::resilience::__private::Result::Err(::resilience::__private::saga_error(
                failure,
                failed_step,
                completed,
                ::resilience::__private::Vec::new(),
            ));
        }
    };
    let straight = q! {
        /// A fresh run of a workflow with nothing to undo: the steps in a
        /// row, then the output. `position` counts the completed steps (for
        /// the report of a failure or a panic).
        #[allow(unused_variables, clippy::too_many_arguments)]
        async fn __resilience_straight(
            #(#input_names: #input_types,)*
            position: &mut usize,
        ) -> ::resilience::__private::Result<
            #ok_ty,
            ::resilience::__private::Halt<#err_ty, ::resilience::__private::Infallible>,
        > {
            #(#steps)*
            ::resilience::__private::Result::Ok(#output)
        }
    };
    (fast_path, straight)
}

/// A step's expression with its policies, and its `Result<T, _>` type
/// (`Result<T, E>`, the workflow's error, when nothing else can name it).
fn step_body(workflow: &Workflow, plan: &Plan<'_>, err_ty: &Type) -> (TokenStream, Type) {
    let step = plan.step;
    let ty = &step.ty;
    let ret: Type = if error_is_unnamed(plan) {
        syn::parse_quote_spanned!(ty.span()=> ::resilience::__private::Result<#ty, #err_ty>)
    } else {
        syn::parse_quote_spanned!(ty.span()=> ::resilience::__private::Result<#ty, _>)
    };
    let operation = format!("{}::{}", workflow.name, text(&step.name));
    let generator = Generator {
        layers: &plan.layers,
        ret: &ret,
        operation: &operation,
        body: step.expr.to_token_stream(),
        cloned: &[],
    };
    (generator.expr(0), ret)
}

/// Whether nothing names the error type of the step's result: the step is
/// `Ok(v)`, or an `async` block awaited in place whose value is `Ok(v)` at
/// its end and at every `return` (its `?` only converts into the type, it
/// does not name it), and no policy takes the error (`when`, `retry_after`,
/// `with`). Such a step never compiled (rustc cannot infer the type, and
/// says so inside the generated conversion); its error type is then the
/// workflow's, as the output type of a `#[retry]` fn's body is pinned to the
/// fn's, so that `?` converts into it.
fn error_is_unnamed(plan: &Plan<'_>) -> bool {
    let policy_names_it = plan.layers.iter().any(|layer| match layer {
        Layer::Retry(args) => args.when.is_some() || args.retry_after.is_some(),
        Layer::Fallback(args) => {
            args.when.is_some() || matches!(args.action, args::FallbackAction::With(_))
        }
        Layer::Timeout(_) | Layer::Compensate(_) => false,
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

/// How the state enum of a `durable workflow` (de)serializes each step's
/// output: through per-step fns that defer to serde when the type is serde
/// (the same data format as a plain derive), plus one assertion per step
/// type, spanned at the type, that it is `Serialize + Deserialize`. A step
/// type that is not serde thus gets one error, at the step, with the fix,
/// instead of one per serde call in the derived impls.
struct SerdeFields {
    /// The `#[serde(..)]` attribute of each step's field, by step.
    attrs: Vec<TokenStream>,
    /// The assertions and the fns.
    items: TokenStream,
}

impl ToTokens for SerdeFields {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.items.to_tokens(tokens);
    }
}

fn durable_serde_fields(workflow: &Workflow, plans: &[Plan<'_>], state: &Ident) -> SerdeFields {
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

/// `run_durable` and `FINGERPRINT`, for a `durable workflow`.
fn durable_methods(
    workflow: &Workflow,
    plans: &[Plan<'_>],
    ok_ty: &Type,
    err_ty: &Type,
) -> TokenStream {
    let vis = &workflow.vis;
    let input_names: Vec<&Ident> = workflow.inputs.iter().map(|i| &i.name).collect();
    let fingerprint = proc_macro2::Literal::u64_unsuffixed(fingerprint(workflow, plans));
    if !workflow.durable {
        return q! {
            /// A hash of the definition: the steps and their types.
            #vis const FINGERPRINT: u64 = #fingerprint;
        };
    }
    let step_names: Vec<&Ident> = plans.iter().map(|p| &p.step.name).collect();
    let output = &workflow.output;
    q! {
        /// A hash of the definition: the steps and their types. A checkpoint
        /// written by another definition is refused.
        #vis const FINGERPRINT: u64 = #fingerprint;

        /// Runs the workflow under `id`, durably: it starts, or resumes from
        /// the checkpoint of `id` in `store`. The state is saved after every
        /// step, before the next one starts. On success the checkpoint is
        /// deleted; on failure it is kept. See `resilience::durable`.
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
            let (mut durable, resume) = ::resilience::__private::Durable::claim(
                store,
                Self::NAME,
                Self::FINGERPRINT,
                Self::STEPS,
                id,
                options,
                __resilience_state,
            )
            .await?;
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
                        ::resilience::__private::Result::Err(::resilience::__private::Settled::Failed(step, failure)) => {
                            (state, step, failure, ::resilience::__private::Vec::new())
                        }
                        ::resilience::__private::Result::Err(::resilience::__private::Settled::Hook(error)) => {
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
fn canonical(tokens: TokenStream, out: &mut String) {
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

/// The arm of `__resilience_steps` that runs step `index` from the state
/// before it, and moves its output into the next state.
fn step_arm(
    workflow: &Workflow,
    plans: &[Plan<'_>],
    index: usize,
    plan: &Plan<'_>,
    state: &Ident,
    variants: &[Ident],
    err_ty: &Type,
) -> TokenStream {
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
    let position = proc_macro2::Literal::usize_unsuffixed(index + 1);
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
                    return ::resilience::__private::Result::Err(::resilience::__private::Halt::Step(
                        #step_str,
                        #into_error,
                    ));
                }
            }
            if __ResilienceHooks::DURABLE {
                if let ::resilience::__private::Result::Err(error) = hooks.step_completed(&*state, #position).await {
                    return ::resilience::__private::Result::Err(::resilience::__private::Halt::Hook(error));
                }
            }
        }
    }
}

/// The arm of `__resilience_undo` that undoes step `index` (if it carries
/// `#[compensate]`) and steps back to the state before it.
fn undo_arm(
    workflow: &Ident,
    plans: &[Plan<'_>],
    index: usize,
    plan: &Plan<'_>,
    state: &Ident,
    variants: &[Ident],
) -> TokenStream {
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
            let position = proc_macro2::Literal::usize_unsuffixed(index);
            q! {
                compensations.push(::resilience::__private::compensated(#operation, #step_str, #outcome));
                let back = #back;
                if __ResilienceHooks::DURABLE {
                    if let ::resilience::__private::Result::Err(error) =
                        hooks.compensating(&back, #position, failed_step, &failure_text, &compensations).await
                    {
                        return ::resilience::__private::Stop::Hook(error);
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

/// A Mermaid flowchart of the workflow.
fn diagram(workflow: &Workflow, plans: &[Plan<'_>], ok_ty: &Type) -> TokenStream {
    let mut lines = vec!["flowchart TD".to_string()];
    let inputs = workflow
        .inputs
        .iter()
        .map(|i| text(&i.name))
        .collect::<Vec<_>>()
        .join(", ");
    lines.push(format!(
        "    start([\"{}({})\"])",
        workflow.name,
        escape(&inputs)
    ));
    for plan in plans {
        let step = &plan.step;
        let ty = escape(&compact(&step.ty.to_token_stream().to_string()));
        let policies = plan
            .layers
            .iter()
            .map(describe)
            .chain(plan.compensate.as_ref().map(|_| "compensate".to_string()))
            .collect::<Vec<_>>();
        let label = if policies.is_empty() {
            format!("{}: {}", text(&step.name), ty)
        } else {
            format!(
                "{}: {}<br/>{}",
                text(&step.name),
                ty,
                escape(&policies.join(" · "))
            )
        };
        lines.push(format!("    {}[\"{}\"]", text(&step.name), label));
    }
    lines.push(format!(
        "    done([\"Ok({})\"])",
        escape(&compact(&ok_ty.to_token_stream().to_string()))
    ));
    let chain = std::iter::once("start".to_string())
        .chain(plans.iter().map(|p| text(&p.step.name)))
        .chain(std::iter::once("done".to_string()))
        .collect::<Vec<_>>()
        .join(" --> ");
    lines.push(format!("    {chain}"));
    // Compensation: a failing step hands over to the undo of the last
    // compensated step before it; undos chain backwards to `failed`.
    let compensated: Vec<usize> = plans
        .iter()
        .enumerate()
        .filter(|(_, p)| p.compensate.is_some())
        .map(|(i, _)| i)
        .collect();
    if !compensated.is_empty() {
        for &i in &compensated {
            lines.push(format!(
                "    undo_{0}[/\"undo {0}\"/]",
                text(&plans[i].step.name)
            ));
        }
        lines.push("    failed([\"Err(SagaError)\"])".to_string());
        for (index, plan) in plans.iter().enumerate() {
            if let Some(&last) = compensated.iter().rev().find(|&&c| c < index) {
                lines.push(format!(
                    "    {} -. fails .-> undo_{}",
                    text(&plan.step.name),
                    text(&plans[last].step.name)
                ));
            }
        }
        for pair in compensated.windows(2).rev() {
            lines.push(format!(
                "    undo_{} --> undo_{}",
                text(&plans[pair[1]].step.name),
                text(&plans[pair[0]].step.name)
            ));
        }
        lines.push(format!(
            "    undo_{} --> failed",
            text(&plans[compensated[0]].step.name)
        ));
    }
    let diagram = lines.join("\n") + "\n";
    quote!(#diagram)
}

fn describe(layer: &Layer) -> String {
    match layer {
        Layer::Retry(args) => format!("retry ×{}", args.attempts),
        Layer::Timeout(args) => format!("timeout {}", crate::duration::human(args.limit.nanos)),
        Layer::Fallback(_) => "fallback".to_string(),
        Layer::Compensate(_) => "compensate".to_string(),
    }
}

/// `Vec < String >` (token spacing) → `Vec<String>`.
fn compact(text: &str) -> String {
    text.replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace(" ,", ",")
        .replace("& ", "&")
}

/// Mermaid labels: quotes and angle brackets as entities.
fn escape(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

#[cfg(test)]
mod unnamed_error_tests {
    use super::*;

    fn step(attrs: &str, expr: &str) -> bool {
        let input = format!("workflow W() -> Result<u32, E> {{ {attrs} step s: u32 = {expr}; s }}");
        let workflow: Workflow = syn::parse_str(&input).unwrap();
        let mut cx = Ctxt::new();
        let plans = validate(&workflow, &mut cx);
        cx.check().unwrap();
        error_is_unnamed(&plans[0])
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
