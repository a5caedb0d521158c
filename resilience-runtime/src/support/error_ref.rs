//! [`ErrorRef`]: a borrowed error of any type, printable in events.
//!
//! The attributes accept any error type, even one that implements neither
//! [`Display`] nor [`Debug`]. To still show something in the events, the
//! generated code asks [`ErrorProbe`] for the best view that the type offers,
//! at compile time and without any trait object in the type's own API
//! ("autoref specialisation"):
//!
//! ```
//! use resilience_runtime::error_ref::{ErrorProbe, ErrorRef, ViaDebug as _, ViaDisplay as _, ViaOpaque as _};
//!
//! #[derive(Debug)]
//! struct Quiet;
//! struct Mute;
//!
//! let shown = std::io::Error::other("disk full");
//! assert!(matches!((&&&ErrorProbe(&shown)).error_ref(), ErrorRef::Display(_)));
//! assert!(matches!((&&&ErrorProbe(&Quiet)).error_ref(), ErrorRef::Debug(_)));
//! let opaque = (&&&ErrorProbe(&Mute)).error_ref().to_string();
//! assert!(opaque.starts_with("an error of type `") && opaque.ends_with("Mute`"));
//! ```
//!
//! The three `&` matter: method lookup tries [`ViaDisplay`] (implemented for
//! `&&ErrorProbe`) first, then [`ViaDebug`] (`&ErrorProbe`), then
//! [`ViaOpaque`] (`ErrorProbe`). In a generic fn the bounds decide: with
//! `E: Debug` only, the error is shown with `{:?}`.

use core::fmt::{self, Debug, Display};

/// A borrowed error, seen through the best formatting its type offers.
///
/// It prints with `{}` in every case: [`Display`] as is, [`Debug`] as `{:?}`,
/// and a type with neither as ``an error of type `T` ``.
///
/// # Examples
///
/// ```
/// use resilience_runtime::ErrorRef;
///
/// let err = std::io::Error::other("disk full");
/// assert_eq!(ErrorRef::Display(&err).to_string(), "disk full");
/// assert_eq!(ErrorRef::Debug(&Some(3)).to_string(), "Some(3)");
/// assert_eq!(ErrorRef::Opaque("my::Error").to_string(), "an error of type `my::Error`");
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum ErrorRef<'a> {
    /// An error that implements [`Display`].
    Display(&'a dyn Display),
    /// An error that implements [`Debug`] but not [`Display`].
    Debug(&'a dyn Debug),
    /// An error that implements neither; holds its type name.
    Opaque(&'static str),
}

impl Display for ErrorRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Display(e) => Display::fmt(e, f),
            Self::Debug(e) => Debug::fmt(e, f),
            Self::Opaque(name) => write!(f, "an error of type `{name}`"),
        }
    }
}

impl Debug for ErrorRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Display(_) => "Display",
            Self::Debug(_) => "Debug",
            Self::Opaque(_) => "Opaque",
        };
        f.debug_tuple(kind).field(&format_args!("{self}")).finish()
    }
}

/// Wraps a borrowed error to pick its [`ErrorRef`] view; call it as
/// `(&&&ErrorProbe(&e)).error_ref()` with [`ViaDisplay`], [`ViaDebug`] and
/// [`ViaOpaque`] in scope. See the [module docs](self).
///
/// # Examples
///
/// ```
/// use resilience_runtime::error_ref::{ErrorProbe, ViaDebug as _, ViaDisplay as _, ViaOpaque as _};
///
/// let err = std::fmt::Error;
/// assert_eq!((&&&ErrorProbe(&err)).error_ref().to_string(), "an error occurred when formatting an argument");
/// ```
pub struct ErrorProbe<'a, T: ?Sized>(pub &'a T);

impl<T: ?Sized> fmt::Debug for ErrorProbe<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErrorProbe(..)")
    }
}

/// Picks [`ErrorRef::Display`]; implemented for `&&ErrorProbe<T: Display>`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{ErrorRef, error_ref::{ErrorProbe, ViaDisplay}};
///
/// assert!(matches!((&&ErrorProbe(&"boom")).error_ref(), ErrorRef::Display(_)));
/// ```
pub trait ViaDisplay<'a> {
    /// The error as an [`ErrorRef`].
    fn error_ref(&self) -> ErrorRef<'a>;
}

impl<'a, T: Display> ViaDisplay<'a> for &&ErrorProbe<'a, T> {
    fn error_ref(&self) -> ErrorRef<'a> {
        ErrorRef::Display(self.0)
    }
}

/// Picks [`ErrorRef::Debug`]; implemented for `&ErrorProbe<T: Debug>`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{ErrorRef, error_ref::{ErrorProbe, ViaDebug}};
///
/// assert!(matches!((&ErrorProbe(&[1, 2])).error_ref(), ErrorRef::Debug(_)));
/// ```
pub trait ViaDebug<'a> {
    /// The error as an [`ErrorRef`].
    fn error_ref(&self) -> ErrorRef<'a>;
}

impl<'a, T: Debug> ViaDebug<'a> for &ErrorProbe<'a, T> {
    fn error_ref(&self) -> ErrorRef<'a> {
        ErrorRef::Debug(self.0)
    }
}

/// Picks [`ErrorRef::Opaque`]; implemented for every `ErrorProbe<T>`.
///
/// # Examples
///
/// ```
/// use resilience_runtime::{ErrorRef, error_ref::{ErrorProbe, ViaOpaque}};
///
/// struct Mute;
/// assert!(matches!(ErrorProbe(&Mute).error_ref(), ErrorRef::Opaque(_)));
/// ```
pub trait ViaOpaque<'a> {
    /// The error as an [`ErrorRef`].
    fn error_ref(&self) -> ErrorRef<'a>;
}

impl<'a, T: ?Sized> ViaOpaque<'a> for ErrorProbe<'a, T> {
    fn error_ref(&self) -> ErrorRef<'a> {
        ErrorRef::Opaque(core::any::type_name::<T>())
    }
}

/// `error_ref!(&error)`: the [`ErrorRef`] of a value, chosen at the call
/// site by autoref specialisation (`Display`, else `Debug`, else the type
/// name). Used by the generated code as `::resilience::__private::error_ref!`.
#[doc(hidden)]
#[macro_export]
macro_rules! __resilience_error_ref {
    ($error:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::{ViaDebug as _, ViaDisplay as _, ViaOpaque as _};
        (&&&$crate::__private::ErrorProbe($error)).error_ref()
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Both;
    impl Display for Both {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("shown by Display")
        }
    }

    #[derive(Debug)]
    struct DebugOnly {
        #[expect(dead_code, reason = "only read through `Debug`")]
        code: u16,
    }

    struct Neither;

    macro_rules! probe {
        ($e:expr) => {{
            #[allow(unused_imports)]
            use super::{ViaDebug as _, ViaDisplay as _, ViaOpaque as _};
            (&&&ErrorProbe($e)).error_ref()
        }};
    }

    #[test]
    fn display_wins_over_debug() {
        let r = probe!(&Both);
        assert!(matches!(r, ErrorRef::Display(_)));
        assert_eq!(r.to_string(), "shown by Display");
    }

    #[test]
    fn debug_when_no_display() {
        let r = probe!(&DebugOnly { code: 503 });
        assert!(matches!(r, ErrorRef::Debug(_)));
        assert_eq!(r.to_string(), "DebugOnly { code: 503 }");
    }

    #[test]
    fn opaque_names_the_type() {
        let r = probe!(&Neither);
        assert!(matches!(r, ErrorRef::Opaque(_)));
        assert_eq!(
            r.to_string(),
            "an error of type `resilience_runtime::support::error_ref::tests::Neither`"
        );
    }

    #[test]
    fn generic_fns_use_what_the_bounds_allow() {
        fn with_debug<E: Debug>(e: &E) -> String {
            let r = probe!(e);
            assert!(matches!(r, ErrorRef::Debug(_)));
            r.to_string()
        }
        fn with_display<E: Display + Debug>(e: &E) -> String {
            let r = probe!(e);
            assert!(matches!(r, ErrorRef::Display(_)));
            r.to_string()
        }
        fn unbounded<E>(e: &E) -> String {
            let r = probe!(e);
            assert!(matches!(r, ErrorRef::Opaque(_)));
            r.to_string()
        }
        // `Both` has Display, but the generic fn only knows `E: Debug`.
        assert_eq!(with_debug(&Both), "Both");
        assert_eq!(with_display(&Both), "shown by Display");
        assert_eq!(
            unbounded(&Both),
            "an error of type `resilience_runtime::support::error_ref::tests::Both`"
        );
    }

    #[test]
    fn debug_output_names_the_view() {
        assert_eq!(format!("{:?}", probe!(&Both)), "Display(shown by Display)");
        assert_eq!(format!("{:?}", probe!(&7_u8)), "Display(7)");
    }
}
