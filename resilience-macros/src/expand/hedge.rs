//! `#[hedge]`: the layers below run once per attempt, the attempts polled
//! together in the caller's task; the first `Ok` wins.
//!
//! ```text
//! const __RESILIENCE_HEDGE: HedgePolicy = HedgePolicy::new("ask").with_after(2s).with_attempts(2);
//! hedge(&__RESILIENCE_HEDGE, || { let prompt = clone_arg(&prompt); async move { inner } }).await
//! ```

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::{FnArg, Type};

use super::Generator;
use crate::args::{HedgeArgs, Layer};
use crate::ctxt::Ctxt;
use crate::item::Func;

impl Generator<'_> {
    pub(super) fn hedge(&self, index: usize, args: &HedgeArgs) -> TokenStream {
        let ret = self.ret;
        let operation = self.operation;
        let after = args.after.to_tokens();
        let attempts = proc_macro2::Literal::u32_unsuffixed(args.attempts);
        // Each attempt owns its clones (they move into its `async move`),
        // whatever repeats below it.
        let clones: TokenStream = self
            .cloned
            .iter()
            .map(|c| {
                let (pat, source) = (&c.pat, &c.source);
                let clone =
                    quote_spanned!(c.span=> ::resilience::__private::clone_hedge_arg(&#source));
                q!(let #pat = #clone;)
            })
            .collect();
        let inner = self.expr(index + 1);
        q! {{
            const __RESILIENCE_HEDGE: ::resilience::__private::HedgePolicy =
                ::resilience::__private::HedgePolicy::new(#operation)
                    .with_after(#after)
                    .with_attempts(#attempts);
            ::resilience::__private::hedge(&__RESILIENCE_HEDGE, || {
                #clones
                async move {
                    let __resilience_result: #ret = #inner;
                    __resilience_result
                }
            })
            .await
        }}
    }
}

/// The attempts of a `#[hedge]` run at once: they cannot share a `&mut`
/// borrow (`&mut self` or a `&mut` argument). Reported at the `&mut`.
pub(crate) fn check(func: &Func, layers: &[Layer], cx: &mut Ctxt) {
    if !layers.iter().any(|layer| matches!(layer, Layer::Hedge(_))) {
        return;
    }
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                // `&mut self`, or `self: &mut Self`.
                let mutable = match &receiver.kind {
                    syn::ReceiverKind::Reference(_, _, mutability) => *mutability,
                    syn::ReceiverKind::Typed(_, ty) => match &**ty {
                        Type::Reference(reference) => reference.mutability,
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(mutability) = mutable {
                    cx.error_spanned_by(
                        mutability,
                        "`#[hedge]` runs its attempts at once, and they cannot all borrow `&mut self`; take `&self` (with interior mutability for what changes)",
                    );
                }
            }
            FnArg::Typed(arg) => {
                if let Type::Reference(reference) = &*arg.ty
                    && let Some(mutability) = reference.mutability
                {
                    cx.error_spanned_by(
                        mutability,
                        "`#[hedge]` runs its attempts at once, and they cannot all borrow this `&mut` argument; pass `&T` (with interior mutability for what changes)",
                    );
                }
            }
        }
    }
}
