//! Compile-time behaviour of `#[retry]`, `#[timeout]`, `#[fallback]`,
//! `#[compensate]` and `workflow!`: shapes
//! that must compile (`ui/pass`) and misuse that must be a clear error at the
//! user's own token (`ui/fail`). Refresh the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
    // `#[chaos]` with the `chaos` feature off (the default); with it on,
    // `tests/ui_chaos.rs` covers the attribute.
    #[cfg(not(feature = "chaos"))]
    t.pass("tests/ui-chaos/off/*.rs");
}
