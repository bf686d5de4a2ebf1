//! Load limits: `API_RATE_LIMIT`, `WEBHOOK_RATE_LIMIT`, `SSE_MAX_PER_TOKEN`, `SSE_MAX`.

use std::num::NonZeroU32;

use super::{
    ConfigError,
    values::{Values, bad},
};

/// The highest value any limit takes (a higher one is a typo, not a plan).
const MAX: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Requests per second per caller on `/api/*`, with a burst of the same size.
    pub api_rate: NonZeroU32,
    /// Webhooks per second per sending company, with a burst of the same size.
    pub webhook_rate: NonZeroU32,
    /// Event streams one caller may hold open on one replica.
    pub streams_per_caller: usize,
    /// Event streams one replica holds open.
    pub streams: usize,
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        let n = |v| NonZeroU32::new(v).expect("positive");
        LimitsConfig { api_rate: n(50), webhook_rate: n(500), streams_per_caller: 20, streams: 2000 }
    }
}

/// A whole number from 1 to [`MAX`].
fn positive(v: &Values<'_>, key: &'static str, default: u32) -> Result<NonZeroU32, ConfigError> {
    let n = v.whole::<u32>(key, default)?;
    NonZeroU32::new(n).filter(|n| n.get() <= MAX).ok_or_else(|| bad(key, format!("must be between 1 and {MAX}")))
}

pub(super) fn parse(v: &Values<'_>) -> Result<LimitsConfig, ConfigError> {
    let d = LimitsConfig::default();
    let as_count = |n: NonZeroU32| n.get() as usize;
    Ok(LimitsConfig {
        api_rate: positive(v, "API_RATE_LIMIT", d.api_rate.get())?,
        webhook_rate: positive(v, "WEBHOOK_RATE_LIMIT", d.webhook_rate.get())?,
        streams_per_caller: as_count(positive(v, "SSE_MAX_PER_TOKEN", d.streams_per_caller as u32)?),
        streams: as_count(positive(v, "SSE_MAX", d.streams as u32)?),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_limits_default_to_the_contract_and_each_bad_one_names_its_key() {
        // Arrange
        let empty = HashMap::new();
        // Act
        let defaults = parse(&Values::new(&empty)).unwrap();
        // Assert
        assert_eq!(
            (defaults.api_rate.get(), defaults.webhook_rate.get(), defaults.streams_per_caller, defaults.streams),
            (50, 500, 20, 2000)
        );
        for key in ["API_RATE_LIMIT", "WEBHOOK_RATE_LIMIT", "SSE_MAX_PER_TOKEN", "SSE_MAX"] {
            for value in ["0", "-1", "many", "1000001"] {
                let values = HashMap::from([(key.to_string(), value.to_string())]);
                let err = parse(&Values::new(&values)).unwrap_err();
                assert_eq!(err.key, key, "{key}={value}");
            }
            let values = HashMap::from([(key.to_string(), "7".to_string())]);
            assert_ne!(parse(&Values::new(&values)).unwrap(), defaults, "{key}");
        }
    }
}
