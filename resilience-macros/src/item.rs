//! The decorated fn: its shape (a plain `async fn`, or a method already
//! rewritten by `#[async_trait]`), its return type, and the arguments that each
//! retry attempt must clone.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Block, Expr, FnArg, Pat, ReturnType, Signature, Stmt, Type, Visibility};

use crate::args::Kind;
use crate::ctxt::Ctxt;

/// A fn item, a trait method with a default body, or an impl method.
pub(crate) struct Func {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    pub block: Block,
}

impl Func {
    pub(crate) fn parse(tokens: TokenStream) -> Result<Self, TokenStream> {
        if let Ok(item) = syn::parse2::<syn::ItemFn>(tokens.clone()) {
            return Ok(Func {
                attrs: item.attrs,
                vis: item.vis,
                sig: item.sig,
                block: *item.block,
            });
        }
        match syn::parse2::<syn::TraitItemFn>(tokens.clone()) {
            Ok(syn::TraitItemFn {
                attrs,
                sig,
                default: Some(block),
                ..
            }) => Ok(Func {
                attrs,
                vis: Visibility::Inherited,
                sig,
                block,
            }),
            _ => Err(tokens),
        }
    }
}

impl ToTokens for Func {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.block.to_tokens(tokens);
    }
}

/// Where the user's code sits and what it returns.
pub(crate) enum Shape {
    /// `async fn f(..) -> Ret { body }`.
    Async { ret: Type },
    /// What `#[async_trait]` leaves behind:
    /// `fn f(..) -> Pin<Box<dyn Future<Output = Ret> + ..>> { Box::pin(async move { ..; let __ret: Ret = { body }; __ret }) }`.
    /// `ret_local` is the index of the `let __ret` statement in the async block.
    AsyncTrait { ret: Type, ret_local: usize },
}

/// Checks that the fn is async (or async-trait's output) and returns a `Result`.
pub(crate) fn shape(func: &Func, kind: Kind, cx: &mut Ctxt) -> Option<Shape> {
    let name = kind.name();
    if func.sig.asyncness.is_some() {
        let ret = match &func.sig.output {
            ReturnType::Type(_, ty) => (**ty).clone(),
            ReturnType::Default => {
                cx.error_spanned_by(
                    &func.sig.ident,
                    format!(
                        "`#[{name}]` needs a fn that returns `Result<T, E>`; this one returns `()`"
                    ),
                );
                return None;
            }
        };
        if !is_result(&ret) {
            cx.error_spanned_by(
                &ret,
                format!("`#[{name}]` needs a fn that returns `Result<T, E>`"),
            );
            return None;
        }
        return Some(Shape::Async { ret });
    }
    if let Some((ret, ret_local)) = async_trait_body(&func.block) {
        if !is_result(&ret) {
            cx.error_spanned_by(
                &ret,
                format!("`#[{name}]` needs a fn that returns `Result<T, E>`"),
            );
            return None;
        }
        return Some(Shape::AsyncTrait { ret, ret_local });
    }
    cx.error_spanned_by(
        func.sig.fn_token,
        format!(
            "`#[{name}]` needs an `async fn`: write `async fn {}`",
            func.sig.ident
        ),
    );
    None
}

/// `Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`, an alias like
/// `AgentResult<T>`: a path whose last segment's name ends in `Result`. (A
/// macro cannot see through aliases; a wrong guess is a type error later.)
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|seg| seg.ident.to_string().ends_with("Result")),
        Type::Group(group) => is_result(&group.elem),
        Type::Paren(paren) => is_result(&paren.elem),
        _ => false,
    }
}

/// The names the fn's parameters bind (`x` of `x: u64`, `a` and `b` of
/// `(a, b): (u8, u8)`, ...).
pub(crate) fn param_names(sig: &Signature) -> Vec<syn::Ident> {
    fn walk(pat: &syn::Pat, names: &mut Vec<syn::Ident>) {
        match pat {
            syn::Pat::Ident(p) => {
                names.push(p.ident.clone());
                if let Some((_, sub)) = &p.subpat {
                    walk(sub, names);
                }
            }
            syn::Pat::Tuple(t) => t.elems.iter().for_each(|p| walk(p, names)),
            syn::Pat::TupleStruct(t) => t.elems.iter().for_each(|p| walk(p, names)),
            syn::Pat::Struct(s) => s.fields.iter().for_each(|f| walk(&f.pat, names)),
            syn::Pat::Slice(s) => s.elems.iter().for_each(|p| walk(p, names)),
            syn::Pat::Reference(r) => walk(&r.pat, names),
            syn::Pat::Paren(p) => walk(&p.pat, names),
            syn::Pat::Type(t) => walk(&t.pat, names),
            _ => {}
        }
    }
    let mut names = Vec::new();
    for input in &sig.inputs {
        if let syn::FnArg::Typed(typed) = input {
            walk(&typed.pat, &mut names);
        }
    }
    names
}

/// Where a problem with the error type is reported: `E` in `Result<T, E>`,
/// or the whole return type.
pub(crate) fn error_type_span(ret: &Type) -> Span {
    if let Type::Path(path) = ret
        && let Some(last) = path.path.segments.last()
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && args.args.len() >= 2
        && let Some(error) = args.args.last()
    {
        return error.span();
    }
    ret.span()
}

/// Where a problem with the output type is reported: `T` in `Result<T, E>`.
pub(crate) fn ok_type_span(ret: &Type) -> Span {
    if let Type::Path(path) = ret
        && let Some(last) = path.path.segments.last()
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(ok) = args.args.first()
    {
        return ok.span();
    }
    ret.span()
}

/// Finds async-trait's `Box::pin(async move { .. let __ret: Ret = { .. }; .. })`.
fn async_trait_body(block: &Block) -> Option<(Type, usize)> {
    let stmts = async_trait_stmts_ref(block)?;
    stmts.iter().enumerate().find_map(|(index, stmt)| {
        let Stmt::Local(local) = stmt else {
            return None;
        };
        let Pat::Type(pat_type) = &local.pat else {
            return None;
        };
        let Pat::Ident(ident) = &*pat_type.pat else {
            return None;
        };
        (ident.ident == "__ret" && local.init.is_some()).then(|| ((*pat_type.ty).clone(), index))
    })
}

fn async_trait_stmts_ref(block: &Block) -> Option<&Vec<Stmt>> {
    let [Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_slice() else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if func.path.segments.last()?.ident != "pin" || call.args.len() != 1 {
        return None;
    }
    let Expr::Async(async_block) = call.args.first()? else {
        return None;
    };
    async_block.capture?;
    Some(&async_block.block.stmts)
}

/// Mutable access to the statements of async-trait's async block.
pub(crate) fn async_trait_stmts(block: &mut Block) -> Option<&mut Vec<Stmt>> {
    let [Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_mut_slice() else {
        return None;
    };
    let Expr::Async(async_block) = call.args.first_mut()? else {
        return None;
    };
    Some(&mut async_block.block.stmts)
}

/// One owned argument that each attempt gets its own clone of.
pub(crate) struct Cloned {
    /// The binding the attempt creates, e.g. `mut prompt` or `(a, b)`.
    pub pat: TokenStream,
    /// What it is cloned from: the parameter's name.
    pub source: TokenStream,
    /// Where a "not `Clone`" error is reported: the user's argument.
    pub span: Span,
}

/// Prepares the signature of a plain `async fn` for per-attempt clones:
/// returns the clones, renames destructured parameters, and reports whether a
/// by-value `self` must be rewritten in the body.
pub(crate) fn owned_args(sig: &mut Signature) -> (Vec<Cloned>, Option<Span>) {
    let mut cloned = Vec::new();
    let mut self_by_value = None;
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                if !receiver_by_ref(receiver) {
                    let span = receiver.self_token.span;
                    let ident = syn::Ident::new("__resilience_self", span);
                    let mutability = receiver.mutability.take();
                    cloned.push(Cloned {
                        pat: quote!(#mutability #ident),
                        source: receiver.self_token.to_token_stream(),
                        span: receiver.span(),
                    });
                    self_by_value = Some(span);
                }
            }
            FnArg::Typed(arg) => {
                if is_reference(&arg.ty) {
                    continue;
                }
                // At the type: rustc's "consider borrowing" then suggests `&T`.
                let span = arg.ty.span();
                match &mut *arg.pat {
                    Pat::Wild(_) => {}
                    Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                        let mutability = ident.mutability.take();
                        let name = &ident.ident;
                        cloned.push(Cloned {
                            pat: quote!(#mutability #name),
                            source: name.to_token_stream(),
                            span,
                        });
                    }
                    pat => {
                        let renamed =
                            format_ident!("__resilience_arg{}", index, span = Span::mixed_site());
                        let original = std::mem::replace(
                            pat,
                            Pat::Ident(syn::PatIdent {
                                attrs: Vec::new(),
                                by_ref: None,
                                mutability: None,
                                ident: renamed.clone(),
                                subpat: None,
                            }),
                        );
                        cloned.push(Cloned {
                            pat: original.to_token_stream(),
                            source: renamed.to_token_stream(),
                            span,
                        });
                    }
                }
            }
        }
    }
    (cloned, self_by_value)
}

/// The bindings of async-trait's prelude (`let x = x;`, `let __self = self;`)
/// that hold owned values, to be cloned per attempt.
pub(crate) fn async_trait_owned(sig: &Signature, prelude: &mut [Stmt]) -> Vec<Cloned> {
    let self_by_ref = sig.inputs.iter().any(|input| match input {
        FnArg::Receiver(receiver) => receiver_by_ref(receiver),
        FnArg::Typed(_) => false,
    });
    let mut cloned = Vec::new();
    for stmt in prelude {
        let Stmt::Local(local) = stmt else { continue };
        let mut idents = Idents::default();
        idents.visit_pat(&local.pat);
        if let Pat::Ident(binding) = &mut local.pat
            && !(binding.ident == "__self" && self_by_ref)
        {
            // The attempt's clone is the binding that gets mutated.
            binding.mutability = None;
        }
        for (ident, mutable) in idents.0 {
            if ident == "__self" && self_by_ref {
                continue;
            }
            let mutability = mutable.then(|| quote!(mut));
            // At the argument's type, as for a plain `async fn`.
            let span = sig
                .inputs
                .iter()
                .find_map(|input| match input {
                    FnArg::Typed(arg) => match &*arg.pat {
                        Pat::Ident(p) if p.ident == ident => Some(arg.ty.span()),
                        _ => None,
                    },
                    FnArg::Receiver(r) if ident == "__self" => Some(r.span()),
                    FnArg::Receiver(_) => None,
                })
                .unwrap_or_else(|| ident.span());
            cloned.push(Cloned {
                pat: quote!(#mutability #ident),
                source: ident.to_token_stream(),
                span,
            });
        }
    }
    cloned
}

#[derive(Default)]
struct Idents(Vec<(syn::Ident, bool)>);

impl<'ast> Visit<'ast> for Idents {
    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        self.0.push((pat.ident.clone(), pat.mutability.is_some()));
        syn::visit::visit_pat_ident(self, pat);
    }
}

/// `&self`, `&mut self`, `self: &Self`: the attempts reuse the reference.
fn receiver_by_ref(receiver: &syn::Receiver) -> bool {
    match &receiver.kind {
        syn::ReceiverKind::Reference(..) => true,
        syn::ReceiverKind::Typed(_, ty) => is_reference(ty),
        _ => false,
    }
}

fn is_reference(ty: &Type) -> bool {
    match ty {
        Type::Reference(_) => true,
        Type::Group(group) => is_reference(&group.elem),
        Type::Paren(paren) => is_reference(&paren.elem),
        _ => false,
    }
}

/// Replaces `self` (not `self::path`) with `__resilience_self` in the body's
/// tokens, macros included, keeping each token's span.
pub(crate) fn replace_self(tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(tree) = iter.next() {
        match tree {
            TokenTree::Ident(ident) if ident == "self" => {
                let is_path =
                    matches!(iter.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ':');
                if is_path {
                    out.push(TokenTree::Ident(ident));
                } else {
                    out.push(TokenTree::Ident(syn::Ident::new(
                        "__resilience_self",
                        ident.span(),
                    )));
                }
            }
            TokenTree::Group(group) => {
                let mut replaced =
                    proc_macro2::Group::new(group.delimiter(), replace_self(group.stream()));
                replaced.set_span(group.span());
                out.push(TokenTree::Group(replaced));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// A parameter marked `#[tier]`, the marker already taken off.
pub(crate) struct TierMarker {
    /// Its position in the signature.
    pub index: usize,
    /// The marker, for errors.
    pub span: Span,
    /// On `self` (an error, already reported).
    pub on_self: bool,
}

/// Takes every `#[tier]` marker off the parameters (so that the fn, emitted
/// unchanged on error, has no unknown attribute), reporting misplaced ones.
pub(crate) fn take_tier_markers(sig: &mut Signature, cx: &mut Ctxt) -> Vec<TierMarker> {
    let mut markers = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        let attrs = match input {
            FnArg::Receiver(receiver) => &mut receiver.attrs,
            FnArg::Typed(arg) => &mut arg.attrs,
        };
        let mut found = None;
        attrs.retain(|attr| {
            if !attr.path().is_ident("tier") {
                return true;
            }
            if !matches!(attr.meta, syn::Meta::Path(_)) {
                cx.error_spanned_by(&attr.meta, "`#[tier]` takes no arguments: write `#[tier]`");
            }
            found = Some(attr.path().span());
            false
        });
        let Some(span) = found else { continue };
        let on_self = matches!(input, FnArg::Receiver(_));
        if let FnArg::Receiver(receiver) = input {
            cx.error_spanned_by(
                receiver.self_token,
                "`#[tier]` marks the parameter that receives each tier, not `self`; add one, e.g. `#[tier] strategy: &Strategy`",
            );
        }
        markers.push(TierMarker {
            index,
            span,
            on_self,
        });
    }
    markers
}

/// Checks the `#[tier]` parameters of an `#[escalate]` fn: exactly one, a reference.
pub(crate) fn check_tier_param(sig: &Signature, markers: &[TierMarker], cx: &mut Ctxt) {
    if markers.iter().any(|marker| marker.on_self) {
        return;
    }
    let Some(first) = markers.first() else {
        cx.error_spanned_by(
            &sig.ident,
            "`#[escalate]` needs a parameter marked `#[tier]` to receive each tier, e.g. `#[tier] strategy: &Strategy`",
        );
        return;
    };
    for extra in &markers[1..] {
        cx.syn_error(syn::Error::new(
            extra.span,
            "a second `#[tier]` parameter; `#[escalate]` passes one tier at a time: keep one `#[tier]`",
        ));
    }
    if let Some(FnArg::Typed(arg)) = sig.inputs.iter().nth(first.index)
        && !is_reference(&arg.ty)
    {
        cx.error_spanned_by(
            &arg.ty,
            "the `#[tier]` parameter must be a reference, e.g. `&Strategy`: each tier is lent from `tiers`, not moved",
        );
    }
}

/// Reports `#[tier]` on a fn without `#[escalate]`.
pub(crate) fn stray_tier_markers(markers: &[TierMarker], cx: &mut Ctxt) {
    for marker in markers.iter().filter(|marker| !marker.on_self) {
        cx.syn_error(syn::Error::new(
            marker.span,
            "`#[tier]` marks the parameter that `#[escalate]` fills; add `#[escalate(tiers = ..)]` to the fn, or remove `#[tier]`",
        ));
    }
}

/// The tier parameter of an `#[escalate]` fn, taken out of the signature:
/// each tier is bound to it as `let #pat: #ty = tier;`.
pub(crate) struct TierParam {
    pub pat: Pat,
    pub ty: Type,
}

/// Removes the parameter at `index` from the signature.
pub(crate) fn take_tier_param(sig: &mut Signature, index: usize) -> Option<TierParam> {
    let inputs = std::mem::take(&mut sig.inputs);
    let mut taken = None;
    for (i, input) in inputs.into_iter().enumerate() {
        match input {
            FnArg::Typed(arg) if i == index => {
                taken = Some(TierParam {
                    pat: *arg.pat,
                    ty: *arg.ty,
                });
            }
            other => sig.inputs.push(other),
        }
    }
    taken
}
