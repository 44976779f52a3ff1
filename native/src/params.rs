//! The native face of [`vectune_core::params`]: `--param name=value` arguments to [`Params`].

use vectune_core::params::Params;

use crate::NativeError;

/// Parses one `name=value` argument.
pub fn parse_assignment(arg: &str) -> Result<(String, f64), NativeError> {
    let syntax = |reason| NativeError::ParamSyntax {
        arg: arg.to_string(),
        reason,
    };
    let (name, value) = arg.split_once('=').ok_or(syntax("expected name=value"))?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| syntax("the value is not a number"))?;
    Ok((name.trim().to_string(), value))
}

/// Parses `--param` arguments; parameters not given take VTracer's defaults.
pub fn from_assignments<S: AsRef<str>>(args: &[S]) -> Result<Params, NativeError> {
    let pairs = args
        .iter()
        .map(|a| parse_assignment(a.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Params::from_pairs_with_defaults(pairs)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments() {
        let p = from_assignments(&["color_precision=4", " filter_speckle = 2 "]).unwrap();
        assert_eq!((p.color_precision(), p.filter_speckle()), (4, 2));
        assert!(matches!(
            from_assignments(&["color_precision"]),
            Err(NativeError::ParamSyntax { .. })
        ));
        assert!(matches!(
            from_assignments(&["color_precision=high"]),
            Err(NativeError::ParamSyntax { .. })
        ));
        let e = from_assignments(&["color_precision=12"]).unwrap_err();
        assert!(e.to_string().contains("[1, 8]"), "{e}");
    }
}
