//! What `#[fallback(with = PATH)]` calls, shaped so that a path of the wrong
//! shape (a method of `self`) gets an error that says what to write.

/// What `#[fallback(with = PATH)]` calls: `PATH(error)`. `Args` is the
/// fn's parameters, inferred: `(E,)`, the impl that works. The second
/// impl, `(S, E)` behind [`NotAMethodOfSelf`] (never implemented), never
/// applies: it exists so that a fn of another shape (a method of `self`,
/// `with = Self::backup`) matches no impl and gets this trait's message
/// with the closure to write, where a single impl would get rustc's
/// arity error (E0061/E0593), which names neither `with` nor the fix.
#[diagnostic::on_unimplemented(
    message = "`#[fallback(with = ..)]` calls its fn with the error alone, as `with(error).await`, and this fn does not take the error alone",
    label = "called as `with(error)`",
    note = "for a method of `self`, write a closure: `with = |e| self.backup(e)` (on `&self` and `&mut self` alike); else a path to an `async fn(E) -> Result<T, E>`"
)]
pub trait FallbackWith<Args, E> {
    /// What the call returns: a future of the fn's result.
    type Output;
    /// Calls the fallback with the error.
    fn call_with(self, error: E) -> Self::Output;
}

impl<E, R, F: FnOnce(E) -> R> FallbackWith<(E,), E> for F {
    type Output = R;
    fn call_with(self, error: E) -> R {
        self(error)
    }
}

/// Never implemented; see [`FallbackWith`].
pub trait NotAMethodOfSelf {}

impl<S: NotAMethodOfSelf, E, R, F: FnOnce(S, E) -> R> FallbackWith<(S, E), E> for F {
    type Output = R;
    fn call_with(self, _: E) -> R {
        unreachable!("`NotAMethodOfSelf` has no impl")
    }
}

/// Calls the path of `#[fallback(with = PATH)]` with the error.
pub fn fallback_with<Args, E, F: FallbackWith<Args, E>>(with: F, error: E) -> F::Output {
    with.call_with(error)
}
