//! Milestones (README, "Milestones"): `TIMEZONE`, the zone whose calendar day is "today";
//! `MILESTONE_REMINDERS`, the days before a due date that get a reminder; and `MILESTONE_TODAY`,
//! a fixed "today" for tests and demos.

use chrono::{NaiveDate, Utc};

use super::{
    ConfigError,
    values::{Values, bad},
};
use crate::domain::milestones::Reminders;

#[derive(Debug, Clone, PartialEq)]
pub struct MilestonesConfig {
    /// `TIMEZONE` (IANA name, default `Europe/Amsterdam`).
    pub timezone: chrono_tz::Tz,
    /// `MILESTONE_REMINDERS` (default `30,7`).
    pub reminders: Reminders,
    /// `MILESTONE_TODAY`: evaluate as if today were this date (unset: the real date in `timezone`).
    pub fixed_today: Option<NaiveDate>,
}

impl Default for MilestonesConfig {
    fn default() -> Self {
        MilestonesConfig { timezone: chrono_tz::Europe::Amsterdam, reminders: Reminders::default(), fixed_today: None }
    }
}

impl MilestonesConfig {
    /// Today's calendar date in `TIMEZONE` (or `MILESTONE_TODAY`). The rules never read the clock;
    /// this is the one place the service does, and passes the date in.
    pub fn today(&self) -> NaiveDate {
        self.fixed_today.unwrap_or_else(|| Utc::now().with_timezone(&self.timezone).date_naive())
    }

    /// The calendar day of an instant in `TIMEZONE` (e.g. the day a change was detected).
    pub fn day_of(&self, at: chrono::DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }
}

pub(super) fn parse(v: &Values<'_>) -> Result<MilestonesConfig, ConfigError> {
    let zone = v.text("TIMEZONE").unwrap_or("Europe/Amsterdam");
    let timezone = zone
        .parse::<chrono_tz::Tz>()
        .map_err(|_| bad("TIMEZONE", format!("{zone:?} is not an IANA time zone name like Europe/Amsterdam")))?;
    let reminders = v
        .text("MILESTONE_REMINDERS")
        .unwrap_or("30,7")
        .parse::<Reminders>()
        .map_err(|e| bad("MILESTONE_REMINDERS", e.to_string()))?;
    let fixed_today = v
        .text("MILESTONE_TODAY")
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| bad("MILESTONE_TODAY", format!("{d:?} is not a date like 2026-12-01")))
        })
        .transpose()?;
    Ok(MilestonesConfig { timezone, reminders, fixed_today })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parsed(pairs: &[(&str, &str)]) -> Result<MilestonesConfig, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(&Values::new(&map))
    }

    #[test]
    fn defaults_are_amsterdam_reminders_30_and_7_and_the_real_date() {
        let c = parsed(&[]).unwrap();
        assert_eq!(c, MilestonesConfig::default());
        assert_eq!(c.reminders.days(), [30, 7]);
        let amsterdam = Utc::now().with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
        assert!((c.today() - amsterdam).num_days().abs() <= 1);
    }

    #[test]
    fn a_fixed_today_and_a_zone_are_used_as_given() {
        let c = parsed(&[("MILESTONE_TODAY", "2026-03-31"), ("TIMEZONE", "UTC"), ("MILESTONE_REMINDERS", "7, 60")])
            .unwrap();
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
        assert_eq!(c.reminders.days(), [60, 7]);
        // 23:30 UTC on 31 March is already 1 April in Amsterdam (summer time, UTC+2).
        let late = "2026-03-31T23:30:00Z".parse().unwrap();
        assert_eq!(MilestonesConfig::default().day_of(late), NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in
            [("TIMEZONE", "Mars/Olympus"), ("MILESTONE_REMINDERS", "30,soon"), ("MILESTONE_TODAY", "31-03-2026")]
        {
            assert_eq!(parsed(&[(key, value)]).unwrap_err().key, key, "{key}={value}");
        }
    }
}
