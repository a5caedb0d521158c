//! Compile-time behaviour of `#[chaos]` with the `chaos` feature on
//! (`cargo test --features chaos --test ui_chaos`): shapes that must compile
//! (`ui-chaos/pass`) and misuse that must be a clear error at the user's own
//! token (`ui-chaos/fail`). Refresh the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --features chaos --test ui_chaos` and
//! review the diff.

#[test]
fn ui_chaos() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui-chaos/pass/*.rs");
    t.compile_fail("tests/ui-chaos/fail/*.rs");
}
