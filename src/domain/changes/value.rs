//! A change's old and new values, and the one way each is written as text (stored, sent and
//! hashed into the dedup key: the text of a value must never change).

use std::{borrow::Cow, fmt, io::Write as _};

use chrono::{Datelike as _, NaiveDate};

/// An old or new value, kept as what it is and written as text only where it is hashed or
/// stored.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeValue {
    Text(String),
    /// An amount, written as `format_number` writes it.
    Number(f64),
    /// A contract's period, written `start..end` (end empty when open).
    Period(NaiveDate, Option<NaiveDate>),
}

impl ChangeValue {
    pub(super) fn write_text(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match self {
            ChangeValue::Text(s) => out.write_str(s),
            ChangeValue::Number(n) => write_number(out, *n),
            ChangeValue::Period(start, end) => {
                write_date(out, *start)?;
                out.write_str("..")?;
                end.map_or(Ok(()), |end| write_date(out, end))
            }
        }
    }
}

impl fmt::Display for ChangeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

/// A date as chrono's `Display` writes it (`2024-01-31`): digits by hand for years 0..=9999,
/// chrono for any other.
pub(super) fn write_date(out: &mut impl fmt::Write, date: NaiveDate) -> fmt::Result {
    let Some(year) = u32::try_from(date.year()).ok().filter(|y| *y <= 9999) else {
        return write!(out, "{date}");
    };
    let mut text = *b"0000-00-00";
    for (at, width, mut n) in [(0, 4, year), (5, 2, date.month()), (8, 2, date.day())] {
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    out.write_str(std::str::from_utf8(&text).expect("ASCII digits"))
}

/// Number as short text, rounded to cents: 2577 → "2577", 13.5 → "13.5".
pub fn format_number(n: f64) -> String {
    ChangeValue::Number(n).to_string()
}

/// The number a stored value's text is, when it is one as [`format_number`] writes numbers
/// (`2577`, `-13.5`); `None` for any other text (statuses, contract kinds and periods).
pub fn amount_of(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, cents) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (all_digits(whole) && all_digits(cents)).then(|| text.parse().ok()).flatten()
}

/// `{:.2}` with trailing zeros and point trimmed. Whole numbers below 2^53 (every one is an
/// exact i64) are written as integers; the others through `{:.2}` on the stack.
fn write_number(out: &mut impl fmt::Write, n: f64) -> fmt::Result {
    // -0.0 is left to `{:.2}` ("-0").
    if n.fract() == 0.0 && n.abs() < 9e15 && !(n == 0.0 && n.is_sign_negative()) {
        return out.write_str(itoa::Buffer::new().format(n as i64));
    }
    let mut buf = [0u8; 32];
    let mut rest = &mut buf[..];
    let cents = match write!(rest, "{n:.2}") {
        Ok(()) => {
            let len = 32 - rest.len();
            Cow::Borrowed(std::str::from_utf8(&buf[..len]).expect("digits"))
        }
        Err(_) => Cow::Owned(format!("{n:.2}")), // beyond 10^28
    };
    out.write_str(cents.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn numbers_are_written_as_trimmed_cents(
            n in prop_oneof![
                any::<f64>(),
                -1e7..1e7f64,
                (-100_000i64..100_000).prop_map(|c| c as f64 / 8.0),
                any::<i64>().prop_map(|i| i as f64),
            ],
        ) {
            let cents = format!("{n:.2}");
            prop_assert_eq!(format_number(n), cents.trim_end_matches('0').trim_end_matches('.'));
        }

        #[test]
        fn dates_are_written_as_chrono_writes_them(days in NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce()) {
            let date = NaiveDate::from_num_days_from_ce_opt(days).unwrap();
            let mut text = String::new();
            write_date(&mut text, date).unwrap();
            prop_assert_eq!(text, date.to_string());
        }
    }

    #[test]
    fn the_text_of_a_number_reads_back_as_that_number_and_other_text_as_none() {
        for n in [2577.0, 13.5, -0.25, 0.0, 1e15] {
            assert_eq!(amount_of(&format_number(n)), Some(n), "{n}");
        }
        for text in ["active", "fixed", "2024-01-01..2024-06-30", "", "-", "1.", ".5", "1e5", "NaN", "inf", "+3"] {
            assert_eq!(amount_of(text), None, "{text:?}");
        }
    }

    #[test]
    fn numbers_keep_their_text() {
        let text: Vec<String> = [2577.0, 13.5, 5.125, 0.0, -0.0, -0.001].into_iter().map(format_number).collect();
        assert_eq!(text, ["2577", "13.5", "5.12", "0", "-0", "-0"]);
    }
}
