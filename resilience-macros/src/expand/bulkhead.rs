//! `#[bulkhead]`: the layers below run holding a slot of a `Bulkhead`.
//!
//! ```text
//! static __RESILIENCE_BULKHEAD: Bulkhead = Bulkhead::new(8).with_name("ask");  // `max = 8` only
//! 'bulkhead: {
//!     let slot = match bulkhead(&STATE, "ask") {       // a free slot, at once
//!         Ok(slot) => slot,
//!         Err(contended) => match contended.await {    // queued, or turned away
//!             Ok(slot) => slot,
//!             Err(rejected) => break 'bulkhead Err(bulkhead_error(rejected)),
//!         },
//!     };
//!     let result: Ret = inner;
//!     drop(slot);
//!     result
//! }
//! ```

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::spanned::Spanned;

use super::{Generator, at};
use crate::args::{BulkheadArgs, BulkheadLimit};
use crate::item;

impl Generator<'_> {
    pub(super) fn bulkhead(&self, index: usize, args: &BulkheadArgs) -> TokenStream {
        let ret = self.ret;
        let operation = self.operation;
        let inner = self.expr(index + 1);
        let (decl, enter) = match &args.limit {
            BulkheadLimit::Own { max, queue, wait } => {
                let max = proc_macro2::Literal::usize_unsuffixed(*max);
                let mut ctor =
                    q!(::resilience::__private::Bulkhead::new(#max).with_name(#operation));
                if *queue > 0 {
                    let queue = proc_macro2::Literal::usize_unsuffixed(*queue);
                    ctor.extend(q!(.with_queue(#queue)));
                }
                if let Some(wait) = wait {
                    let wait = wait.to_tokens();
                    ctor.extend(q!(.with_wait(#wait)));
                }
                (
                    q!(static __RESILIENCE_BULKHEAD: ::resilience::__private::Bulkhead = #ctor;),
                    q!(::resilience::__private::bulkhead(&__RESILIENCE_BULKHEAD, #operation)),
                )
            }
            // A `state` that is no `Bulkhead` is reported at the user's value.
            BulkheadLimit::Shared(state) => (
                TokenStream::new(),
                quote_spanned!(at(state.span())=>
                    ::resilience::__private::bulkhead(&#state, #operation)
                ),
            ),
        };
        // A missing `From<Rejected>` is reported at the user's error type.
        let convert = quote_spanned!(at(item::error_type_span(ret))=>
            ::resilience::__private::bulkhead_error(__resilience_error)
        );
        // The uncontended path awaits nothing; only a call that found every
        // slot taken awaits its place in the queue (or its rejection).
        q! {{
            #decl
            '__resilience_bulkhead: {
                let __resilience_slot = match #enter {
                    ::resilience::__private::Result::Ok(__resilience_slot) => __resilience_slot,
                    ::resilience::__private::Result::Err(__resilience_contended) => {
                        match __resilience_contended.await {
                            ::resilience::__private::Result::Ok(__resilience_slot) => __resilience_slot,
                            ::resilience::__private::Result::Err(__resilience_error) => {
                                break '__resilience_bulkhead ::resilience::__private::Result::Err(#convert);
                            }
                        }
                    }
                };
                let __resilience_result: #ret = #inner;
                ::resilience::__private::drop(__resilience_slot);
                __resilience_result
            }
        }}
    }
}
