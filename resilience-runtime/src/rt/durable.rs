//! The checks and serde routes of a durable workflow's steps and inputs:
//! one error, at the type, for an output or an input that is not serde.

use super::Result;

/// What a durable workflow needs of every step's output, first: it is
/// saved in the checkpoint after the step.
#[diagnostic::on_unimplemented(
    message = "a durable workflow saves every step's output, but `{Self}` is not `Serialize`",
    label = "the output of this durable step",
    note = "derive both: `#[derive(serde::Serialize, serde::Deserialize)]`; for a type of another crate, enable its `serde` feature or make the step return a serde form of it (an id, a path); or write `workflow` instead of `durable workflow` if the run need not outlive the process"
)]
pub trait DurableSerialize {}

impl<T: serde::Serialize> DurableSerialize for T {}

/// What a durable workflow needs of every step's output, then: it is
/// read back from the checkpoint on resume.
#[diagnostic::on_unimplemented(
    message = "a durable workflow reads every step's output back on resume, but `{Self}` is not `Deserialize`",
    label = "the output of this durable step",
    note = "derive it beside `Serialize`: `#[derive(serde::Serialize, serde::Deserialize)]`; the type must own its data (`String`, not `&str`)"
)]
pub trait DurableDeserialize {}

impl<T: serde::de::DeserializeOwned> DurableDeserialize for T {}

/// The check, at a durable step's type, that it is serde: one error
/// for a type that is not, naming the first missing trait. Called as
/// `(&StepCheck::<T>::new()).durable_step()`: [`CheckDeserialize`] by
/// value when `T: Serialize`, else [`CheckSerialize`] by autoref.
#[derive(Debug)]
pub struct StepCheck<T>(core::marker::PhantomData<T>);

impl<T> StepCheck<T> {
    /// The check for `T`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self(core::marker::PhantomData)
    }
}

/// [`StepCheck`] of a `Serialize` type: requires `Deserialize`.
pub trait CheckDeserialize<T> {
    /// Requires `T: Deserialize`.
    fn durable_step(&self)
    where
        T: DurableDeserialize,
    {
    }
}

impl<T: serde::Serialize> CheckDeserialize<T> for StepCheck<T> {}

/// [`StepCheck`] of a type that is not `Serialize`: requires it.
pub trait CheckSerialize<T> {
    /// Requires `T: Serialize`.
    fn durable_step(&self)
    where
        T: DurableSerialize,
    {
    }
}

impl<T> CheckSerialize<T> for &StepCheck<T> {}

/// A durable step's output, for [`SerializeStep`] (by value: `T:
/// Serialize`) or [`SerializeStepFallback`] (by autoref: anything). The
/// state enum's serde impls go through it, so that a step type that is
/// not serde is reported once, by [`StepCheck`], and not again by
/// every serde call in the derived impls. The fallbacks never run: the
/// crate does not compile.
#[derive(Debug)]
pub struct StepSerde<'a, T>(pub &'a T);

/// The serde route of [`StepSerde`].
pub trait SerializeStep {
    /// Serializes the step's output.
    fn serialize_step<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

impl<T: serde::Serialize> SerializeStep for StepSerde<'_, T> {
    fn serialize_step<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// The route of [`StepSerde`] for a type that is not serde (never runs).
pub trait SerializeStepFallback {
    /// Fails: the type is not `Serialize`.
    fn serialize_step<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "a durable step's output is not `Serialize`",
        ))
    }
}

impl<T> SerializeStepFallback for &StepSerde<'_, T> {}

/// The type of a durable step's output, for [`DeserializeStep`] (by
/// value: `T: DeserializeOwned`) or [`DeserializeStepFallback`] (by
/// autoref: anything); see [`StepSerde`].
#[derive(Debug)]
pub struct StepType<T>(core::marker::PhantomData<T>);

impl<T> StepType<T> {
    /// The probe for `T`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self(core::marker::PhantomData)
    }
}

/// The serde route of [`StepType`].
pub trait DeserializeStep<T> {
    /// Deserializes the step's output.
    fn deserialize_step<'de, D: serde::Deserializer<'de>>(
        &self,
        deserializer: D,
    ) -> Result<T, D::Error>;
}

impl<T: serde::de::DeserializeOwned> DeserializeStep<T> for StepType<T> {
    fn deserialize_step<'de, D: serde::Deserializer<'de>>(
        &self,
        deserializer: D,
    ) -> Result<T, D::Error> {
        T::deserialize(deserializer)
    }
}

/// The route of [`StepType`] for a type that is not serde (never runs).
pub trait DeserializeStepFallback<T> {
    /// Fails: the type is not `Deserialize`.
    fn deserialize_step<'de, D: serde::Deserializer<'de>>(&self, _: D) -> Result<T, D::Error> {
        Err(serde::de::Error::custom(
            "a durable step's output is not `Deserialize`",
        ))
    }
}

impl<T> DeserializeStepFallback<T> for &StepType<T> {}

/// What a durable workflow needs of every input, first: it is saved in
/// the checkpoint, so that the run can be resumed by its id alone.
#[diagnostic::on_unimplemented(
    message = "a durable workflow saves its inputs in the checkpoint, but `{Self}` is not `Serialize`",
    label = "this input of a durable workflow",
    note = "derive both: `#[derive(serde::Serialize, serde::Deserialize)]`; for a handle (a client, a connection), mark the fields that are not data `#[serde(skip)]` so that a resume by id rebuilds them with `Default`; or write `workflow` instead of `durable workflow` if the run need not outlive the process"
)]
pub trait DurableInputSerialize {}

impl<T: serde::Serialize> DurableInputSerialize for T {}

/// What a durable workflow needs of every input, then: a resume by id
/// reads it back from the checkpoint.
#[diagnostic::on_unimplemented(
    message = "a durable workflow reads its inputs back from the checkpoint to resume by id, but `{Self}` is not `Deserialize`",
    label = "this input of a durable workflow",
    note = "derive it beside `Serialize`: `#[derive(serde::Serialize, serde::Deserialize)]`; the type must own its data (`String`, not `&str`)"
)]
pub trait DurableInputDeserialize {}

impl<T: serde::de::DeserializeOwned> DurableInputDeserialize for T {}

/// The check, at a durable workflow's input type, that it is serde: one
/// error for a type that is not, naming the first missing trait. Called as
/// `(&InputCheck::<T>::new()).durable_input()`: [`CheckInputDeserialize`]
/// by value when `T: Serialize`, else [`CheckInputSerialize`] by autoref.
/// The input is then (de)serialized through [`StepSerde`] and [`StepType`].
#[derive(Debug)]
pub struct InputCheck<T>(core::marker::PhantomData<T>);

impl<T> InputCheck<T> {
    /// The check for `T`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self(core::marker::PhantomData)
    }
}

/// [`InputCheck`] of a `Serialize` type: requires `Deserialize`.
pub trait CheckInputDeserialize<T> {
    /// Requires `T: Deserialize`.
    fn durable_input(&self)
    where
        T: DurableInputDeserialize,
    {
    }
}

impl<T: serde::Serialize> CheckInputDeserialize<T> for InputCheck<T> {}

/// [`InputCheck`] of a type that is not `Serialize`: requires it.
pub trait CheckInputSerialize<T> {
    /// Requires `T: Serialize`.
    fn durable_input(&self)
    where
        T: DurableInputSerialize,
    {
    }
}

impl<T> CheckInputSerialize<T> for &InputCheck<T> {}

/// A durable workflow's inputs (a generated struct borrowing each one) as
/// the JSON saved in its checkpoint, or why they cannot be serialized.
pub fn inputs_to_json<T: serde::Serialize>(inputs: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(inputs).map_err(|error| error.to_string())
}

/// The inputs read back from a checkpoint's JSON (a generated struct
/// owning each one), or why they cannot be.
pub fn inputs_from_json<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, String> {
    serde_json::from_slice(json).map_err(|error| error.to_string())
}
