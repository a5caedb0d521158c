//! What the user's body can do to the code around it.
//!
//! A body with no `return`, `?`, `break`, `continue` and no macro call (which
//! could hide one of those) cannot leave early, so it can run in place instead
//! of inside an `async` block. That keeps decorated futures as small as the
//! hand-written ones: an `async` block costs its captures and a state byte.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

pub(crate) enum Inline {
    /// The body is exactly `<future>.await`: the future can be used directly.
    Await(TokenStream),
    /// Any other body that cannot leave early.
    Block,
}

/// `Some` when the body's tokens can be placed in a block of their own.
pub(crate) fn inline(body: &TokenStream) -> Option<Inline> {
    if !cannot_leave(body.clone()) {
        return None;
    }
    // Exactly one expression `<future>.await` (parsed, so that `a + b.await`
    // or `*x.await` are not mistaken for it).
    if let Ok(syn::Expr::Await(awaited)) = syn::parse2::<syn::Expr>(body.clone())
        && awaited.attrs.is_empty()
        && !contains_await(awaited.base.to_token_stream())
    {
        return Some(Inline::Await(awaited.base.to_token_stream()));
    }
    Some(Inline::Block)
}

fn contains_await(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "await" || ident == "async",
        TokenTree::Group(group) => contains_await(group.stream()),
        _ => false,
    })
}

fn cannot_leave(tokens: TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    trees.iter().enumerate().all(|(i, tree)| match tree {
        TokenTree::Ident(ident) => !["return", "break", "continue", "yield"]
            .iter()
            .any(|kw| ident == kw),
        // `?`, or the `!` of a macro call `name!(..)` (not `!=`, not `!x`).
        TokenTree::Punct(punct) => {
            let macro_bang = punct.as_char() == '!'
                && matches!(trees.get(i.wrapping_sub(1)), Some(TokenTree::Ident(_)) if i > 0)
                && matches!(trees.get(i + 1), Some(TokenTree::Group(_)));
            punct.as_char() != '?' && !macro_bang
        }
        TokenTree::Group(group) => cannot_leave(group.stream()),
        TokenTree::Literal(_) => true,
    })
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn kind(tokens: TokenStream) -> &'static str {
        match inline(&tokens) {
            None => "async",
            Some(Inline::Block) => "block",
            Some(Inline::Await(_)) => "await",
        }
    }

    #[test]
    fn classifies_bodies() {
        assert_eq!(kind(quote!(work(x).await)), "await");
        assert_eq!(kind(quote!(self.model.complete(&prompt).await)), "await");
        assert_eq!(kind(quote!(let y = 1; work(y).await)), "block");
        assert_eq!(kind(quote!(work(x).await.map(|v| v + 1))), "block");
        assert_eq!(kind(quote!(work(x?).await)), "async");
        assert_eq!(kind(quote!(if a { return Err(e); } Ok(1))), "async");
        assert_eq!(kind(quote!(let v = format!("{x}"); Ok(v))), "async");
        assert_eq!(kind(quote!(Ok(x != y))), "block");
        assert_eq!(
            kind(quote!(loop {
                break Ok(1);
            })),
            "async"
        );
        assert_eq!(kind(quote!(async { 1 }.await)), "block");
        assert_eq!(kind(quote!(tokio::time::sleep(d).await)), "await");
        assert_eq!(kind(quote!(Ok(!done))), "block");
        assert_eq!(kind(quote!(Ok(vec![1]))), "async");
        assert_eq!(kind(quote!(a + b.await)), "block");
        assert_eq!(kind(quote!(*x.get().await)), "block");
    }
}
