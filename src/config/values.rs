//! The raw key/values every section reads from, with one typed reader per kind of value. Each
//! reader's error is one line naming the key; values of secret keys are never echoed.

use std::{cell::RefCell, collections::BTreeSet, collections::HashMap, net::SocketAddr, str::FromStr, time::Duration};

use super::ConfigError;

/// A configuration problem for `key`, on one line whatever the underlying parser printed.
pub(super) fn bad(key: &'static str, problem: impl Into<String>) -> ConfigError {
    let problem: String = problem.into();
    ConfigError { key, problem: problem.split_whitespace().collect::<Vec<_>>().join(" ") }
}

/// The merged key/values (file, then environment), and which keys the sections asked for.
pub(super) struct Values<'a> {
    values: &'a HashMap<String, String>,
    read: RefCell<BTreeSet<&'static str>>,
}

impl<'a> Values<'a> {
    pub fn new(values: &'a HashMap<String, String>) -> Values<'a> {
        Values { values, read: RefCell::default() }
    }

    /// The trimmed value of `key`; `None` when unset or blank.
    pub fn text(&self, key: &'static str) -> Option<&'a str> {
        self.read.borrow_mut().insert(key);
        self.values.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    /// A whole number (`default` when unset).
    pub fn whole<T: FromStr + TryFrom<i128>>(&self, key: &'static str, default: T) -> Result<T, ConfigError> {
        let Some(v) = self.text(key) else { return Ok(default) };
        if let Ok(n) = v.parse::<T>() {
            return Ok(n);
        }
        match v.parse::<i128>() {
            Ok(_) => Err(bad(key, format!("{v} is out of range"))),
            Err(_) => Err(bad(key, format!("expected a whole number, got {v:?}"))),
        }
    }

    /// A socket address like `0.0.0.0:8080` (`default` when unset).
    pub fn addr(&self, key: &'static str, default: SocketAddr) -> Result<SocketAddr, ConfigError> {
        let Some(v) = self.text(key) else { return Ok(default) };
        v.parse().map_err(|_| bad(key, format!("expected an address like 0.0.0.0:8080, got {v:?}")))
    }

    /// A duration like `30s`, `5m` or `6h` (`default`, written the same way, when unset).
    pub fn duration(&self, key: &'static str, default: &str) -> Result<Duration, ConfigError> {
        let v = self.text(key).unwrap_or(default);
        humantime::parse_duration(v).map_err(|_| bad(key, format!("{v:?} is not a duration like 30s, 5m or 6h")))
    }

    /// Every key read so far.
    #[cfg(test)]
    pub fn read(&self) -> BTreeSet<&'static str> {
        self.read.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_number_that_is_not_one_says_a_number_is_expected() {
        let map = values(&[("EMPLOYES_RATE_LIMIT", "abc"), ("WORKER_CONCURRENCY", "-2"), ("N", "1.5")]);
        let v = Values::new(&map);
        let err = v.whole::<u32>("EMPLOYES_RATE_LIMIT", 5).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid configuration: EMPLOYES_RATE_LIMIT: expected a whole number, got "abc""#
        );
        let err = v.whole::<usize>("WORKER_CONCURRENCY", 4).unwrap_err();
        assert_eq!(err.problem, "-2 is out of range");
        assert_eq!(v.whole::<u32>("N", 1).unwrap_err().problem, r#"expected a whole number, got "1.5""#);
        assert_eq!(v.whole::<u32>("UNSET", 7).unwrap(), 7);
    }

    #[test]
    fn blank_values_take_the_default_and_problems_stay_on_one_line() {
        let map = values(&[("HTTP_ADDR", "  "), ("SHUTDOWN_TIMEOUT", "soon")]);
        let v = Values::new(&map);
        assert_eq!(v.addr("HTTP_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080))).unwrap().port(), 8080);
        assert_eq!(v.duration("SHUTDOWN_TIMEOUT", "30s").unwrap_err().key, "SHUTDOWN_TIMEOUT");
        assert_eq!(bad("K", "two\n  lines").problem, "two lines");
    }
}
