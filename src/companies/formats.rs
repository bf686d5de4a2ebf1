//! The text forms of a company's settings in the API, each given as a pattern the OpenAPI document
//! states and the server holds to exactly: every string of the pattern is taken, and anything else
//! is refused naming the field (so a client generated from the document, or a fuzzer, never meets
//! a rule the document does not say).
//!
//! - a duration: a whole number of seconds, minutes, hours or days (`90s`, `5m`, `6h`, `1d`), or
//!   `off` where a setting can be switched off; written back in the same form;
//! - a schedule: a cron expression with seconds (six fields, each `*` or a comma list of values,
//!   with an optional `/step`), or `off`;
//! - a name: 1-200 characters, no control characters, not only blanks;
//! - an API key: 1-4096 visible ASCII characters (a bearer token).

use std::{str::FromStr, sync::LazyLock, time::Duration};

use regex::Regex;

/// `5m`, `24h`, `1d`, … (at most 4 digits).
pub const DURATION_PATTERN: &str = "^[1-9][0-9]{0,3}[smhd]$";
/// [`DURATION_PATTERN`] or `off`.
pub const DURATION_OR_OFF_PATTERN: &str = "^(off|[1-9][0-9]{0,3}[smhd])$";

/// One cron field: `*`, or a comma list of values; each with an optional step no longer than the
/// field's range. (No `a-b` ranges: a pattern cannot say that `a` is at most `b`; a list says the
/// same, `2,3,4,5,6` for Monday to Friday.) `cron!` joins the fields with one space each.
macro_rules! cron {
    (($v:literal, $step:literal) $(, ($vs:literal, $steps:literal))*) => {
        concat!(cron!(@field $v, $step) $(, " ", cron!(@field $vs, $steps))*)
    };
    (@field $v:literal, $step:literal) => {
        concat!("(\\*(/", $step, ")?|", $v, "(/", $step, ")?(,", $v, "(/", $step, ")?)*)")
    };
}

/// Six fields (second, minute, hour, day of month, month, day of week 1-7 = Sunday-Saturday), or
/// `off`.
pub const SCHEDULE_PATTERN: &str = concat!(
    "^(off|",
    cron!(
        ("[1-5]?[0-9]", "([1-9]|[1-5][0-9])"),
        ("[1-5]?[0-9]", "([1-9]|[1-5][0-9])"),
        ("(1?[0-9]|2[0-3])", "([1-9]|1[0-9]|2[0-3])"),
        ("([1-9]|[12][0-9]|3[01])", "([1-9]|[12][0-9]|3[01])"),
        ("([1-9]|1[0-2])", "([1-9]|1[0-2])"),
        ("[1-7]", "[1-7]")
    ),
    ")$"
);

/// 1-200 characters (with `minLength`/`maxLength`): no control characters (`\x00-\x1f`,
/// `\x7f-\x9f`), and one at least that is not a blank (Unicode white space or U+FEFF).
pub const NAME_PATTERN: &str = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\x9f\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff][^\\x00-\\x1f\\x7f-\\x9f]*$";

/// 1-4096 visible ASCII characters.
pub const API_KEY_PATTERN: &str = "^[!-~]{1,4096}$";

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid pattern")
}

static DURATION: LazyLock<Regex> = LazyLock::new(|| regex(DURATION_PATTERN));
static SCHEDULE: LazyLock<Regex> = LazyLock::new(|| regex(SCHEDULE_PATTERN));
static NAME: LazyLock<Regex> = LazyLock::new(|| regex(NAME_PATTERN));
static API_KEY: LazyLock<Regex> = LazyLock::new(|| regex(API_KEY_PATTERN));

/// A duration of [`DURATION_PATTERN`], or zero for `off` when `off_allowed`.
pub fn parse_duration(text: &str, off_allowed: bool) -> Option<Duration> {
    if off_allowed && text == "off" {
        return Some(Duration::ZERO);
    }
    if !DURATION.is_match(text) {
        return None;
    }
    let (n, unit) = text.split_at(text.len() - 1);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => 86_400,
    };
    Some(Duration::from_secs(n * secs))
}

/// A duration as [`parse_duration`] reads it: the largest unit it is a whole number of (`off` for
/// zero; a stored value beyond 4 digits of seconds is written in its largest whole unit anyway).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return "off".into();
    }
    let (n, unit) = [(86_400, 'd'), (3600, 'h'), (60, 'm')]
        .into_iter()
        .find(|(size, _)| secs.is_multiple_of(*size))
        .map_or((secs, 's'), |(size, unit)| (secs / size, unit));
    format!("{n}{unit}")
}

/// A schedule of [`SCHEDULE_PATTERN`] that the cron parser takes (`off` included).
pub fn is_schedule(text: &str) -> bool {
    SCHEDULE.is_match(text) && (text == "off" || cron::Schedule::from_str(text).is_ok())
}

pub fn is_name(text: &str) -> bool {
    (1..=200).contains(&text.chars().count()) && NAME.is_match(text)
}

pub fn is_api_key(text: &str) -> bool {
    API_KEY.is_match(text)
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy as _;

    use super::*;

    fn strings(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
        proptest::string::string_regex(pattern.trim_start_matches('^').trim_end_matches('$')).unwrap()
    }

    proptest::proptest! {
        /// What the document promises: every string of each pattern is taken.
        #[test]
        fn every_string_of_a_pattern_is_taken(
            duration in strings(DURATION_OR_OFF_PATTERN),
            schedule in strings(SCHEDULE_PATTERN),
            name in strings(NAME_PATTERN).prop_filter("1-200 characters", |n| n.chars().count() <= 200),
        ) {
            proptest::prop_assert!(parse_duration(&duration, true).is_some(), "{}", duration);
            proptest::prop_assert!(is_schedule(&schedule), "{}", schedule);
            proptest::prop_assert!(is_name(&name), "{:?}", name);
        }

        /// A duration written back reads as the same duration.
        #[test]
        fn a_duration_round_trips(secs in 1u64..=9999 * 86_400) {
            let d = Duration::from_secs(secs);
            let text = format_duration(d);
            if DURATION.is_match(&text) {
                proptest::prop_assert_eq!(parse_duration(&text, false), Some(d));
            }
        }
    }

    #[test]
    fn what_is_not_of_a_pattern_is_refused() {
        for bad in ["", "0m", "5", "5 m", "1day", "1h30m", "10000s", "-5m", "OFF"] {
            assert_eq!(parse_duration(bad, true), None, "{bad}");
        }
        assert_eq!(parse_duration("off", false), None);
        assert_eq!(parse_duration("90s", false), Some(Duration::from_secs(90)));
        assert_eq!(
            (format_duration(Duration::from_secs(86_400)), format_duration(Duration::from_secs(90))),
            ("1d".into(), "90s".into())
        );
        assert!(is_schedule("0 0 */6 * * *") && is_schedule("0 30 9,12,17 * * 2,3,4,5,6") && is_schedule("off"));
        for bad in [
            "every day",
            "0 0 */6 * *",
            "0 0 24 * * *",
            "0 0 0 * * MON",
            " 0 0 * * * *",
            "0 0 */0 * * *",
            "0 0 9-17 * * *",
        ] {
            assert!(!is_schedule(bad), "{bad}");
        }
        assert!(is_name("Acme B.V.") && is_name(" Zoë ") && !is_name("   ") && !is_name("a\tb") && !is_name(""));
        assert!(is_api_key("eyJhbGciOi.x-y_z") && !is_api_key("with space") && !is_api_key("é") && !is_api_key(""));
    }
}
