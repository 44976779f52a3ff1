//! The VTracer parameter schema, written once as a table ([`SCHEMA`]), and the validated
//! [`Params`] value every other part of vectune passes around.
//!
//! vectune always runs VTracer in colour mode, stacked hierarchy, spline curve fitting; the eight
//! parameters below are the ones that vary. Their order is the order of the model's `[f32; 8]`
//! input ([`Params::encode`]); changing the order, a range or the scaling changes
//! [`ENCODING_VERSION`], which the model manifest records.
//!
//! Ranges come from VTracer's own command line and web app (visioncortex/vtracer,
//! `cmdapp/src/main.rs` and `webapp/app/index.html`), narrowed where VTracer panics or
//! degenerates: `color_precision` 0 panics and values above 8 collapse to one colour,
//! `max_iterations` 0 panics. Defaults are VTracer's Rust defaults (`cmdapp/src/config.rs`).
//!
//! ```
//! use vectune_core::params::{ParamError, ParamId, Params};
//!
//! let p = Params::from_pairs_with_defaults([("color_precision", 4.0), ("filter_speckle", 2.0)])?;
//! assert_eq!(p.color_precision(), 4);
//! assert_eq!(p.get(ParamId::CornerThreshold), 60.0); // VTracer's default
//!
//! // No silent clamping: an out-of-range value is an error naming the parameter and its range.
//! let err = Params::from_pairs_with_defaults([("color_precision", 0.0)]).unwrap_err();
//! assert!(matches!(err, ParamError::OutOfRange { name: "color_precision", .. }));
//! assert!(err.to_string().contains("[1, 8]"));
//!
//! // Clamping is available, but only when asked for.
//! let c = Params::clamped([("color_precision", 0.0)])?;
//! assert_eq!(c.color_precision(), 1);
//! # Ok::<(), ParamError>(())
//! ```

use alloc::string::{String, ToString};
use core::fmt;

/// Number of parameters in the model's parameter vector.
pub const PARAM_COUNT: usize = 8;

/// Version of the parameter encoding ([`Params::encode`]): order, ranges and scaling.
/// Recorded in the model manifest; a model trained on another version must not be fed these vectors.
pub const ENCODING_VERSION: u32 = 1;

/// One of the eight VTracer parameters, in encoding order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamId {
    /// Significant bits kept per RGB channel.
    ColorPrecision = 0,
    /// Minimum momentary angle (degrees) for a corner.
    CornerThreshold = 1,
    /// Subdivide-smooth until segments are shorter than this (pixels).
    LengthThreshold = 2,
    /// Maximum curve-fitting iterations.
    MaxIterations = 3,
    /// Minimum angle displacement (degrees) to splice a spline.
    SpliceThreshold = 4,
    /// Decimal places in the SVG path data.
    PathPrecision = 5,
    /// Colour difference between gradient layers.
    LayerDifference = 6,
    /// Discard patches smaller than this many pixels on a side.
    FilterSpeckle = 7,
}

impl ParamId {
    /// All parameters in encoding order.
    pub const ALL: [ParamId; PARAM_COUNT] = [
        ParamId::ColorPrecision,
        ParamId::CornerThreshold,
        ParamId::LengthThreshold,
        ParamId::MaxIterations,
        ParamId::SpliceThreshold,
        ParamId::PathPrecision,
        ParamId::LayerDifference,
        ParamId::FilterSpeckle,
    ];

    /// Position in the encoded vector.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The schema row of this parameter.
    pub fn spec(self) -> &'static ParamSpec {
        &SCHEMA[self.index()]
    }

    /// The parameter's name as users and VTracer spell it.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Looks a parameter up by name (exact, snake_case).
    pub fn from_name(name: &str) -> Result<ParamId, ParamError> {
        SCHEMA
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.id)
            .ok_or_else(|| ParamError::Unknown {
                name: name.to_string(),
            })
    }
}

/// Whether a parameter takes whole numbers only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Whole numbers only; `4.5` is an error, `4.0` is fine.
    Integer,
    /// Any finite number in range.
    Float,
}

/// One row of the parameter schema.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    /// Which parameter.
    pub id: ParamId,
    /// Name as users and VTracer spell it.
    pub name: &'static str,
    /// Integer or float.
    pub kind: ParamKind,
    /// Smallest valid value (inclusive).
    pub min: f64,
    /// Largest valid value (inclusive).
    pub max: f64,
    /// VTracer's default.
    pub default: f64,
    /// A sensible UI step (sliders).
    pub step: f64,
    /// Unit of the value.
    pub unit: &'static str,
    /// What the parameter does.
    pub description: &'static str,
}

impl ParamSpec {
    /// Normalises a valid value into `[0, 1]`: `(value - min) / (max - min)`.
    pub fn normalise(&self, value: f64) -> f32 {
        ((value - self.min) / (self.max - self.min)) as f32
    }

    /// Inverse of [`ParamSpec::normalise`], clamped to the range and rounded for integers.
    pub fn denormalise(&self, x: f32) -> f64 {
        let v = self.min + f64::from(x) * (self.max - self.min);
        self.snap(v)
    }

    /// Clamps into range and rounds integers: the explicit "make it valid" operation.
    pub fn snap(&self, value: f64) -> f64 {
        let v = value.clamp(self.min, self.max);
        match self.kind {
            ParamKind::Integer => libm::round(v),
            ParamKind::Float => v,
        }
    }

    /// Checks one value against this row.
    pub fn validate(&self, value: f64) -> Result<f64, ParamError> {
        if !value.is_finite() {
            return Err(ParamError::NotFinite {
                name: self.name,
                value,
            });
        }
        if value < self.min || value > self.max {
            return Err(ParamError::OutOfRange {
                name: self.name,
                value,
                min: self.min,
                max: self.max,
                kind: self.kind,
                unit: self.unit,
            });
        }
        if self.kind == ParamKind::Integer && libm::trunc(value) != value {
            return Err(ParamError::NotInteger {
                name: self.name,
                value,
            });
        }
        Ok(value)
    }
}

/// The schema: one row per parameter, in encoding order.
pub const SCHEMA: [ParamSpec; PARAM_COUNT] = [
    ParamSpec {
        id: ParamId::ColorPrecision,
        name: "color_precision",
        kind: ParamKind::Integer,
        min: 1.0,
        max: 8.0,
        default: 6.0,
        step: 1.0,
        unit: "bits",
        description: "significant bits kept per RGB channel (more = more colours)",
    },
    ParamSpec {
        id: ParamId::CornerThreshold,
        name: "corner_threshold",
        kind: ParamKind::Integer,
        min: 0.0,
        max: 180.0,
        default: 60.0,
        step: 1.0,
        unit: "degrees",
        description: "minimum momentary angle to be considered a corner",
    },
    ParamSpec {
        id: ParamId::LengthThreshold,
        name: "length_threshold",
        kind: ParamKind::Float,
        min: 3.5,
        max: 10.0,
        default: 4.0,
        step: 0.5,
        unit: "px",
        description: "subdivide-smooth until all segments are shorter than this",
    },
    ParamSpec {
        id: ParamId::MaxIterations,
        name: "max_iterations",
        kind: ParamKind::Integer,
        min: 1.0,
        max: 20.0,
        default: 10.0,
        step: 1.0,
        unit: "iterations",
        description: "maximum curve-fitting iterations",
    },
    ParamSpec {
        id: ParamId::SpliceThreshold,
        name: "splice_threshold",
        kind: ParamKind::Integer,
        min: 0.0,
        max: 180.0,
        default: 45.0,
        step: 1.0,
        unit: "degrees",
        description: "minimum angle displacement to splice a spline",
    },
    ParamSpec {
        id: ParamId::PathPrecision,
        name: "path_precision",
        kind: ParamKind::Integer,
        min: 0.0,
        max: 8.0,
        default: 2.0,
        step: 1.0,
        unit: "decimal places",
        description: "decimal places in the SVG path data",
    },
    ParamSpec {
        id: ParamId::LayerDifference,
        name: "layer_difference",
        kind: ParamKind::Integer,
        min: 0.0,
        max: 255.0,
        default: 16.0,
        step: 1.0,
        unit: "colour levels",
        description: "colour difference between gradient layers",
    },
    ParamSpec {
        id: ParamId::FilterSpeckle,
        name: "filter_speckle",
        kind: ParamKind::Integer,
        min: 0.0,
        max: 16.0,
        default: 4.0,
        step: 1.0,
        unit: "px",
        description: "discard patches smaller than this many pixels on a side",
    },
];

/// Why a parameter set was rejected. Every variant names the parameter.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ParamError {
    /// The name is not one of the eight parameters.
    Unknown {
        /// The name given.
        name: String,
    },
    /// A required parameter was not given.
    Missing {
        /// The parameter.
        name: &'static str,
    },
    /// The same parameter was given twice.
    Duplicate {
        /// The parameter.
        name: &'static str,
    },
    /// NaN or infinite.
    NotFinite {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// Outside the valid range.
    OutOfRange {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// Smallest valid value.
        min: f64,
        /// Largest valid value.
        max: f64,
        /// Integer or float.
        kind: ParamKind,
        /// Unit of the value.
        unit: &'static str,
    },
    /// A fractional value for an integer parameter.
    NotInteger {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// An encoded vector of the wrong length.
    WrongLength {
        /// Always [`PARAM_COUNT`].
        expected: usize,
        /// The length given.
        got: usize,
    },
}

impl ParamError {
    /// The parameter concerned (`params` for an encoded vector of the wrong length).
    pub fn param(&self) -> &str {
        match self {
            ParamError::Unknown { name } => name,
            ParamError::Missing { name }
            | ParamError::Duplicate { name }
            | ParamError::NotFinite { name, .. }
            | ParamError::OutOfRange { name, .. }
            | ParamError::NotInteger { name, .. } => name,
            ParamError::WrongLength { .. } => "params",
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Unknown { name } => {
                write!(f, "unknown parameter `{name}`; expected one of: ")?;
                for (i, s) in SCHEMA.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(s.name)?;
                }
                Ok(())
            }
            ParamError::Missing { name } => write!(f, "missing required parameter `{name}`"),
            ParamError::Duplicate { name } => write!(f, "parameter `{name}` given more than once"),
            ParamError::NotFinite { name, value } => {
                write!(f, "parameter `{name}` must be a finite number, got {value}")
            }
            ParamError::OutOfRange {
                name,
                value,
                min,
                max,
                kind,
                unit,
            } => {
                let what = match kind {
                    ParamKind::Integer => "an integer",
                    ParamKind::Float => "a number",
                };
                write!(
                    f,
                    "parameter `{name}` = {value} is out of range: must be {what} in [{min}, {max}] ({unit})"
                )
            }
            ParamError::NotInteger { name, value } => {
                write!(f, "parameter `{name}` must be an integer, got {value}")
            }
            ParamError::WrongLength { expected, got } => {
                write!(
                    f,
                    "encoded parameter vector must have {expected} values, got {got}"
                )
            }
        }
    }
}

impl core::error::Error for ParamError {}

/// A complete, valid parameter set. Construct it with [`Params::from_pairs`],
/// [`Params::from_pairs_with_defaults`], [`Params::clamped`], [`Params::decode`] or
/// [`Params::default`] (VTracer's defaults); every value in it is inside its range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    values: [f64; PARAM_COUNT],
}

impl Default for Params {
    fn default() -> Self {
        let mut values = [0.0; PARAM_COUNT];
        for s in &SCHEMA {
            values[s.id.index()] = s.default;
        }
        Params { values }
    }
}

/// How a pair list is turned into a full set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fill {
    Required,
    Defaults,
    DefaultsAndClamp,
}

impl Params {
    /// Parses a complete parameter set: every one of the eight names exactly once.
    pub fn from_pairs<I, N>(pairs: I) -> Result<Params, ParamError>
    where
        I: IntoIterator<Item = (N, f64)>,
        N: AsRef<str>,
    {
        Self::collect(pairs, Fill::Required)
    }

    /// Parses the given parameters; omitted ones take VTracer's defaults.
    pub fn from_pairs_with_defaults<I, N>(pairs: I) -> Result<Params, ParamError>
    where
        I: IntoIterator<Item = (N, f64)>,
        N: AsRef<str>,
    {
        Self::collect(pairs, Fill::Defaults)
    }

    /// Like [`Params::from_pairs_with_defaults`], but clamps out-of-range values into range and
    /// rounds fractional integers, for callers who explicitly want that. Unknown names, duplicates
    /// and NaN/infinite values are still errors.
    pub fn clamped<I, N>(pairs: I) -> Result<Params, ParamError>
    where
        I: IntoIterator<Item = (N, f64)>,
        N: AsRef<str>,
    {
        Self::collect(pairs, Fill::DefaultsAndClamp)
    }

    fn collect<I, N>(pairs: I, fill: Fill) -> Result<Params, ParamError>
    where
        I: IntoIterator<Item = (N, f64)>,
        N: AsRef<str>,
    {
        let mut values = Params::default().values;
        let mut seen = [false; PARAM_COUNT];
        for (name, value) in pairs {
            let id = ParamId::from_name(name.as_ref())?;
            let spec = id.spec();
            if core::mem::replace(&mut seen[id.index()], true) {
                return Err(ParamError::Duplicate { name: spec.name });
            }
            values[id.index()] = match fill {
                Fill::DefaultsAndClamp if value.is_finite() => spec.snap(value),
                _ => spec.validate(value)?,
            };
        }
        if fill == Fill::Required
            && let Some(missing) = seen.iter().position(|s| !s)
        {
            return Err(ParamError::Missing {
                name: SCHEMA[missing].name,
            });
        }
        Ok(Params { values })
    }

    /// Value of one parameter.
    pub fn get(&self, id: ParamId) -> f64 {
        self.values[id.index()]
    }

    /// Returns a copy with one parameter changed (validated, never clamped).
    pub fn with(mut self, id: ParamId, value: f64) -> Result<Params, ParamError> {
        self.values[id.index()] = id.spec().validate(value)?;
        Ok(self)
    }

    /// The eight values in encoding order.
    pub fn values(&self) -> [f64; PARAM_COUNT] {
        self.values
    }

    /// `(name, value)` pairs in encoding order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        SCHEMA.iter().map(|s| (s.name, self.values[s.id.index()]))
    }

    /// The model's parameter vector: each value normalised to `[0, 1]` by its range
    /// ([`ParamSpec::normalise`]), in encoding order ([`ENCODING_VERSION`]).
    pub fn encode(&self) -> [f32; PARAM_COUNT] {
        let mut out = [0.0; PARAM_COUNT];
        self.encode_into(&mut out);
        out
    }

    /// Writes [`Params::encode`] into a caller-provided slice of length [`PARAM_COUNT`]
    /// (batch assembly writes rows of a larger tensor this way).
    ///
    /// # Panics
    /// If `out.len() != PARAM_COUNT` (a programming error inside vectune, not user input).
    pub fn encode_into(&self, out: &mut [f32]) {
        assert_eq!(out.len(), PARAM_COUNT, "parameter row length");
        for s in &SCHEMA {
            out[s.id.index()] = s.normalise(self.values[s.id.index()]);
        }
    }

    /// Inverse of [`Params::encode`]: values are clamped to `[0, 1]`, mapped back to their ranges
    /// and integers rounded. Used by the suggester, which searches in normalised space.
    pub fn decode(encoded: &[f32]) -> Result<Params, ParamError> {
        if encoded.len() != PARAM_COUNT {
            return Err(ParamError::WrongLength {
                expected: PARAM_COUNT,
                got: encoded.len(),
            });
        }
        let mut values = [0.0; PARAM_COUNT];
        for s in &SCHEMA {
            let x = encoded[s.id.index()];
            if !x.is_finite() {
                return Err(ParamError::NotFinite {
                    name: s.name,
                    value: f64::from(x),
                });
            }
            values[s.id.index()] = s.denormalise(x.clamp(0.0, 1.0));
        }
        Ok(Params { values })
    }

    /// `color_precision` for VTracer's config.
    pub fn color_precision(&self) -> u32 {
        self.get(ParamId::ColorPrecision) as u32
    }
    /// `corner_threshold` (degrees) for VTracer's config.
    pub fn corner_threshold(&self) -> u32 {
        self.get(ParamId::CornerThreshold) as u32
    }
    /// `length_threshold` (px) for VTracer's config.
    pub fn length_threshold(&self) -> f64 {
        self.get(ParamId::LengthThreshold)
    }
    /// `max_iterations` for VTracer's config.
    pub fn max_iterations(&self) -> u32 {
        self.get(ParamId::MaxIterations) as u32
    }
    /// `splice_threshold` (degrees) for VTracer's config.
    pub fn splice_threshold(&self) -> u32 {
        self.get(ParamId::SpliceThreshold) as u32
    }
    /// `path_precision` for VTracer's config.
    pub fn path_precision(&self) -> u32 {
        self.get(ParamId::PathPrecision) as u32
    }
    /// `layer_difference` for VTracer's config.
    pub fn layer_difference(&self) -> u32 {
        self.get(ParamId::LayerDifference) as u32
    }
    /// `filter_speckle` (px) for VTracer's config.
    pub fn filter_speckle(&self) -> u32 {
        self.get(ParamId::FilterSpeckle) as u32
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

/// Serialises as a map `{ "color_precision": 6, ... }` in encoding order.
impl serde::Serialize for Params {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(PARAM_COUNT))?;
        for s in &SCHEMA {
            let v = self.values[s.id.index()];
            match s.kind {
                ParamKind::Integer => map.serialize_entry(s.name, &(v as i64))?,
                ParamKind::Float => map.serialize_entry(s.name, &v)?,
            }
        }
        map.end()
    }
}

/// Deserialises from a map of name to number; omitted parameters take VTracer's defaults
/// (as [`Params::from_pairs_with_defaults`]); unknown names and invalid values are errors
/// carrying the [`ParamError`] message.
impl<'de> serde::Deserialize<'de> for Params {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Params;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of VTracer parameter names to numbers")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Params, A::Error> {
                use serde::de::Error;
                let mut pairs: alloc::vec::Vec<(String, f64)> = alloc::vec::Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map
                        .next_value::<f64>()
                        .map_err(|e| A::Error::custom(alloc::format!("parameter `{key}`: {e}")))?;
                    pairs.push((key, value));
                }
                Params::from_pairs_with_defaults(pairs).map_err(A::Error::custom)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn defaults_are_vtracers() {
        let p = Params::default();
        assert_eq!(
            p.values(),
            [6.0, 60.0, 4.0, 10.0, 45.0, 2.0, 16.0, 4.0],
            "VTracer 0.6 Rust defaults"
        );
        for s in &SCHEMA {
            assert!(s.validate(s.default).is_ok(), "{} default in range", s.name);
        }
    }

    #[test]
    fn schema_is_in_encoding_order() {
        for (i, s) in SCHEMA.iter().enumerate() {
            assert_eq!(s.id.index(), i);
            assert_eq!(ParamId::ALL[i], s.id);
            assert!(s.min < s.max);
        }
        let names: Vec<_> = SCHEMA.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "color_precision",
                "corner_threshold",
                "length_threshold",
                "max_iterations",
                "splice_threshold",
                "path_precision",
                "layer_difference",
                "filter_speckle"
            ]
        );
    }

    #[test]
    fn vtracer_panic_values_are_unreachable() {
        for (name, v) in [
            ("color_precision", 0.0),
            ("color_precision", 9.0),
            ("max_iterations", 0.0),
        ] {
            let e = Params::from_pairs_with_defaults([(name, v)]).unwrap_err();
            assert!(
                matches!(e, ParamError::OutOfRange { .. }),
                "{name}={v}: {e}"
            );
        }
    }

    #[test]
    fn errors_name_the_parameter_and_range() {
        let e = Params::from_pairs_with_defaults([("corner_threshold", 200.0)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameter `corner_threshold` = 200 is out of range: must be an integer in [0, 180] (degrees)"
        );
        let e = Params::from_pairs_with_defaults([("colour_precision", 4.0)]).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown parameter `colour_precision`")
        );
        assert!(e.to_string().contains("color_precision"));
        let e = Params::from_pairs_with_defaults([("length_threshold", f64::NAN)]).unwrap_err();
        assert!(matches!(
            e,
            ParamError::NotFinite {
                name: "length_threshold",
                ..
            }
        ));
        let e = Params::from_pairs_with_defaults([("filter_speckle", 2.5)]).unwrap_err();
        assert_eq!(
            e,
            ParamError::NotInteger {
                name: "filter_speckle",
                value: 2.5
            }
        );
        let e =
            Params::from_pairs_with_defaults([("filter_speckle", 2.0), ("filter_speckle", 3.0)])
                .unwrap_err();
        assert_eq!(
            e,
            ParamError::Duplicate {
                name: "filter_speckle"
            }
        );
    }

    #[test]
    fn strict_parse_requires_all() {
        let e = Params::from_pairs([("color_precision", 4.0)]).unwrap_err();
        assert_eq!(
            e,
            ParamError::Missing {
                name: "corner_threshold"
            }
        );
        let all = Params::default();
        assert_eq!(Params::from_pairs(all.iter()).unwrap(), all);
    }

    #[test]
    fn clamped_clamps_but_still_rejects_garbage() {
        let p = Params::clamped([("corner_threshold", 500.0), ("length_threshold", 1.0)]).unwrap();
        assert_eq!(p.corner_threshold(), 180);
        assert_eq!(p.length_threshold(), 3.5);
        let p = Params::clamped([("filter_speckle", 2.6)]).unwrap();
        assert_eq!(p.filter_speckle(), 3);
        assert!(Params::clamped([("nope", 1.0)]).is_err());
        assert!(Params::clamped([("max_iterations", f64::INFINITY)]).is_err());
    }

    #[test]
    fn encode_is_normalised_in_order() {
        let e = Params::default().encode();
        assert_eq!(e[0], (6.0 - 1.0) / 7.0);
        assert_eq!(e[7], 4.0 / 16.0);
        assert!(e.iter().all(|x| (0.0..=1.0).contains(x)));
        assert_eq!(
            Params::decode(&[0.0; 3]).unwrap_err(),
            ParamError::WrongLength {
                expected: 8,
                got: 3
            }
        );
    }

    #[test]
    fn serde_round_trip_and_defaults() {
        let p =
            Params::from_pairs_with_defaults([("color_precision", 3.0), ("length_threshold", 5.5)])
                .unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert!(
            json.starts_with(
                r#"{"color_precision":3,"corner_threshold":60,"length_threshold":5.5"#
            )
        );
        let back: Params = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        let partial: Params = serde_json::from_str(r#"{"filter_speckle": 8}"#).unwrap();
        assert_eq!(partial.filter_speckle(), 8);
        assert_eq!(partial.color_precision(), 6);
        let bad = serde_json::from_str::<Params>(r#"{"color_precision": 0}"#).unwrap_err();
        assert!(bad.to_string().contains("[1, 8]"), "{bad}");
        let bad = serde_json::from_str::<Params>(r#"{"color_precision": "x"}"#).unwrap_err();
        assert!(bad.to_string().contains("color_precision"), "{bad}");
    }

    fn arb_params() -> impl Strategy<Value = Params> {
        let per: Vec<BoxedStrategy<f64>> = SCHEMA
            .iter()
            .map(|s| match s.kind {
                ParamKind::Integer => (s.min as i64..=s.max as i64).prop_map(|v| v as f64).boxed(),
                ParamKind::Float => (s.min..=s.max).boxed(),
            })
            .collect();
        per.prop_map(|v| Params::from_pairs(SCHEMA.iter().map(|s| s.name).zip(v)).unwrap())
    }

    proptest! {
        #[test]
        fn pairs_round_trip(p in arb_params()) {
            prop_assert_eq!(Params::from_pairs(p.iter()).unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            prop_assert_eq!(serde_json::from_str::<Params>(&json).unwrap(), p);
        }

        #[test]
        fn encode_decode_round_trip(p in arb_params()) {
            let e = p.encode();
            prop_assert!(e.iter().all(|x| (0.0..=1.0).contains(x)));
            let d = Params::decode(&e).unwrap();
            for s in &SCHEMA {
                let (a, b) = (p.get(s.id), d.get(s.id));
                match s.kind {
                    ParamKind::Integer => prop_assert_eq!(a, b),
                    // f32 storage of the normalised value
                    ParamKind::Float => prop_assert!((a - b).abs() < 1e-5 * (s.max - s.min)),
                }
            }
        }

        #[test]
        fn any_value_is_accepted_or_named(name_i in 0usize..8, v in proptest::num::f64::ANY) {
            let s = &SCHEMA[name_i];
            match Params::from_pairs_with_defaults([(s.name, v)]) {
                Ok(p) => prop_assert_eq!(p.get(s.id), v),
                Err(e) => prop_assert!(e.to_string().contains(s.name)),
            }
            if v.is_finite() {
                let c = Params::clamped([(s.name, v)]).unwrap();
                prop_assert!(s.validate(c.get(s.id)).is_ok());
            }
        }
    }
}
