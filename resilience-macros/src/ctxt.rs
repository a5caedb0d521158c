//! Collects every error found in one item, so the user sees them all at once
//! (the approach of serde_derive's `internals/ctxt.rs`).

use std::fmt::Display;

use quote::ToTokens;

/// An error sink. Call [`Ctxt::check`] to turn what it collected into one
/// combined `syn::Error`.
#[derive(Default)]
#[must_use = "call `check` to report the collected errors"]
pub struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error spanning the given tokens.
    pub fn error_spanned_by(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an already built error.
    pub fn syn_error(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// All collected errors combined into one, or `Ok` when there were none.
    pub fn check(self) -> syn::Result<()> {
        let mut errors = self.errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}
