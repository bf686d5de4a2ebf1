//! Calendar-month arithmetic as the contract defines it: adding N months keeps the day of the
//! month and clamps to the month's last day (2025-01-31 + 1 month = 2025-02-28). Every
//! function answers `None` instead of panicking past the calendar's range.

use chrono::{Days, Months, NaiveDate};

/// `date` + `months` calendar months, clamped to the month's end.
pub fn add_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(months))
}

/// `date` − `months` calendar months, clamped to the month's end
/// (2025-03-31 − 1 month = 2025-02-28; 2024-03-31 − 1 month = 2024-02-29).
pub fn sub_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.checked_sub_months(Months::new(months))
}

/// The last day of a period of `months` months that starts on `start`: start + months − 1 day.
/// A contract "lasts six months" when it ends on or after `period_end(start, 6)`.
pub fn period_end(start: NaiveDate, months: u32) -> Option<NaiveDate> {
    add_months(start, months)?.pred_opt()
}

/// Whether the days strictly between `previous_end` and `next_start` span at most `months`
/// months, so the next contract continues a chain (end 2025-01-31, next start 2025-08-01:
/// exactly 6 months, continues; start 2025-08-02: broken). Overlapping or adjacent
/// contracts have no interval and always continue.
pub fn interval_at_most(previous_end: NaiveDate, next_start: NaiveDate, months: u32) -> bool {
    let Some(first_free_day) = previous_end.checked_add_days(Days::new(1)) else { return true };
    // The interval [first_free_day, next_start − 1] is at most `months` long exactly when
    // next_start − 1 ≤ first_free_day + months − 1 day, i.e. next_start ≤ first_free_day + months.
    add_months(first_free_day, months).is_none_or(|limit| next_start <= limit)
}

pub fn days_before(date: NaiveDate, days: u32) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(u64::from(days)))
}

pub fn day_after(date: NaiveDate) -> Option<NaiveDate> {
    date.succ_opt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn adding_a_month_to_the_last_day_of_january_clamps_to_the_end_of_february() {
        assert_eq!(add_months(d("2025-01-31"), 1), Some(d("2025-02-28")));
        assert_eq!(add_months(d("2024-01-31"), 1), Some(d("2024-02-29")));
        assert_eq!(add_months(d("2025-01-15"), 36), Some(d("2028-01-15")));
    }

    #[test]
    fn a_month_before_the_end_of_march_is_the_end_of_february() {
        assert_eq!(sub_months(d("2025-03-31"), 1), Some(d("2025-02-28")));
        assert_eq!(sub_months(d("2024-03-31"), 1), Some(d("2024-02-29")));
        assert_eq!(sub_months(d("2025-03-15"), 1), Some(d("2025-02-15")));
    }

    #[test]
    fn a_six_month_period_from_the_first_of_january_ends_on_the_thirtieth_of_june() {
        assert_eq!(period_end(d("2025-01-01"), 6), Some(d("2025-06-30")));
        assert_eq!(period_end(d("2025-08-31"), 6), Some(d("2026-02-27")));
    }

    #[test]
    fn an_interval_of_exactly_six_months_continues_and_one_day_more_breaks() {
        assert!(interval_at_most(d("2025-01-31"), d("2025-08-01"), 6));
        assert!(!interval_at_most(d("2025-01-31"), d("2025-08-02"), 6));
        assert!(interval_at_most(d("2025-01-31"), d("2025-01-15"), 6), "overlap");
        assert!(interval_at_most(d("2025-01-31"), d("2025-02-01"), 0), "adjacent");
        assert!(!interval_at_most(d("2025-01-31"), d("2025-02-02"), 0));
    }

    #[test]
    fn arithmetic_past_the_end_of_the_calendar_answers_none() {
        assert_eq!(add_months(NaiveDate::MAX, 1), None);
        assert_eq!(sub_months(NaiveDate::MIN, 1), None);
        assert_eq!(period_end(NaiveDate::MAX, 6), None);
        assert!(interval_at_most(NaiveDate::MAX, NaiveDate::MAX, 6));
    }
}
