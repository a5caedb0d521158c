//! Parsing `workflow!`'s input into plain structs: the workflow, its inputs
//! and its steps. Only the grammar is checked here; the rest in `validate`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Ident, Token, Type, Visibility};

mod kw {
    syn::custom_keyword!(workflow);
    syn::custom_keyword!(step);
    syn::custom_keyword!(durable);
}

pub(super) struct Input {
    pub(super) name: Ident,
    pub(super) ty: Type,
}

pub(super) struct Step {
    pub(super) attrs: Vec<Attribute>,
    pub(super) name: Ident,
    pub(super) ty: Type,
    /// A plain step's expression, or a parallel step's branch (after `=>`).
    pub(super) expr: Expr,
    /// `for x in xs, .. =>` or `consensus a in agents, .. =>`: a parallel step.
    pub(super) parallel: Option<super::parallel::Parallel>,
}

pub(super) struct Workflow {
    pub(super) attrs: Vec<Attribute>,
    pub(super) vis: Visibility,
    /// `durable workflow`: persisted after every step.
    pub(super) durable: bool,
    /// Where `durable` was written, for the error when the feature is off.
    pub(super) durable_span: Option<proc_macro2::Span>,
    pub(super) name: Ident,
    /// `<'a, ..>`: the lifetimes of borrowed inputs (lifetimes only).
    pub(super) generics: syn::Generics,
    pub(super) inputs: Vec<Input>,
    pub(super) ret: Type,
    pub(super) steps: Vec<Step>,
    pub(super) output: Option<Expr>,
    /// The closing brace, where a missing output is reported.
    pub(super) close: Span,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![mut]) {
            return Err(input.error(
                "workflow inputs are shared by every step and cannot be `mut`; remove `mut`, or take `&'a mut T` (`workflow Name<'a>(x: &'a mut T)`): each step may then use it mutably, one after the other",
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
        let durable_token = input.parse::<Option<kw::durable>>()?;
        let durable = durable_token.is_some();
        let durable_span = durable_token.map(|token| token.span);
        if !input.peek(kw::workflow) {
            return Err(input.error(
                "expected `workflow Name(inputs) -> Result<T, E> { .. }`, e.g. `pub workflow Provision(api: Api) -> Result<Id, ApiError> { .. }`",
            ));
        }
        let _: kw::workflow = input.parse()?;
        let name: Ident = input.parse()?;
        let generics: syn::Generics = input.parse()?;
        if let Some(param) = generics
            .params
            .iter()
            .find(|p| !matches!(p, syn::GenericParam::Lifetime(_)))
        {
            return Err(syn::Error::new_spanned(
                param,
                "a workflow takes lifetime parameters only, for the inputs it borrows: `workflow Essay<'a>(agent: &'a Agent)`; make a generic input a concrete type or a `Box<dyn ..>`",
            ));
        }
        if let Some(where_clause) = &generics.where_clause {
            return Err(syn::Error::new_spanned(
                where_clause,
                "a workflow takes no `where` clause; write the lifetimes as `<'a>`",
            ));
        }
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
                let parallel = super::parallel::parse(&body, &name)?;
                let expr: Expr = body.parse()?;
                let _: Token![;] = body.parse()?;
                steps.push(Step {
                    attrs,
                    name,
                    ty,
                    expr,
                    parallel,
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
            durable_span,
            name,
            generics,
            inputs,
            ret,
            steps,
            output,
            close: brace.span.close(),
        })
    }
}
