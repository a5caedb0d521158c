//! Collects every error found in one item, so the user sees them all at once
//! (the approach of serde_derive's `internals/ctxt.rs`).

use std::fmt::Display;

use quote::ToTokens;

/// An error sink. Call [`Ctxt::check`] to turn what it collected into one
/// combined `syn::Error`.
///
/// A context dropped without [`Ctxt::check`] panics: errors it collected
/// would be lost, and the user would get a macro that accepts what it
/// refused. Only the macro's own logic can do that (every entry point checks
/// its context), never a user's input.
#[must_use = "call `check` to report the collected errors"]
pub(crate) struct Ctxt {
    /// `None` once checked.
    errors: Option<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Self {
            errors: Some(Vec::new()),
        }
    }

    fn errors(&mut self) -> &mut Vec<syn::Error> {
        self.errors.as_mut().expect("`Ctxt` used after `check`")
    }

    /// Records an error spanning the given tokens.
    pub(crate) fn error_spanned_by(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors().push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an already built error.
    pub(crate) fn syn_error(&mut self, error: syn::Error) {
        self.errors().push(error);
    }

    pub(crate) fn error_count(&self) -> usize {
        self.errors.as_ref().map_or(0, Vec::len)
    }

    /// All collected errors combined into one, or `Ok` when there were none.
    pub(crate) fn check(mut self) -> syn::Result<()> {
        let mut errors = self.errors.take().into_iter().flatten();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.is_some() {
            panic!("`Ctxt` dropped without `check`: its errors would be lost");
        }
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;

    #[test]
    fn check_combines_every_error() {
        let mut cx = Ctxt::new();
        cx.syn_error(syn::Error::new(Span::call_site(), "first"));
        cx.syn_error(syn::Error::new(Span::call_site(), "second"));
        assert_eq!(cx.error_count(), 2);
        let messages: Vec<String> = cx
            .check()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(messages, ["first", "second"]);
        assert!(Ctxt::new().check().is_ok());
    }

    #[test]
    #[should_panic = "dropped without `check`"]
    fn an_unchecked_context_panics_on_drop() {
        let mut cx = Ctxt::new();
        cx.syn_error(syn::Error::new(Span::call_site(), "lost"));
        drop(cx);
    }
}
