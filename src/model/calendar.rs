//! Which days are working days in China: weekends and the public holidays
//! of `assets/calendar/cn-holidays.toml`, with the weekend days worked in
//! their place (调休). Pure data, read once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

const BUILTIN: &str = include_str!("../../assets/calendar/cn-holidays.toml");

#[derive(Deserialize)]
struct File {
    years: BTreeMap<i32, Year>,
}

#[derive(Deserialize)]
struct Year {
    off: Vec<(NaiveDate, NaiveDate)>,
    work: Vec<NaiveDate>,
}

/// The holidays and make-up working days of the years known.
#[derive(Debug, Default)]
pub struct Calendar {
    years: BTreeSet<i32>,
    off: BTreeSet<NaiveDate>,
    work: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// Reads a calendar in the shipped file's format.
    pub fn parse(text: &str) -> Result<Calendar, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut cal = Calendar::default();
        for (year, y) in file.years {
            cal.years.insert(year);
            for (from, to) in y.off {
                if from > to || from.year() != year || to.year() != year {
                    return Err(format!("{year}: holiday {from}–{to} is not a range within the year"));
                }
                cal.off.extend(from.iter_days().take_while(|d| *d <= to));
            }
            for d in y.work {
                if d.year() != year || !is_weekend(d) {
                    return Err(format!(
                        "{year}: make-up working day {d} is not a weekend day of the year"
                    ));
                }
                cal.work.insert(d);
            }
        }
        Ok(cal)
    }

    /// The calendar shipped with the service.
    pub fn shared() -> &'static Calendar {
        static SHARED: LazyLock<Calendar> =
            LazyLock::new(|| Calendar::parse(BUILTIN).expect("the shipped holiday calendar is valid"));
        &SHARED
    }

    /// Whether the holidays of `year` are known (else weekends only count).
    pub fn knows(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        self.work.contains(&d) || !(is_weekend(d) || self.off.contains(&d))
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    #[test]
    fn holidays_are_off_and_make_up_weekends_are_worked() {
        let cal = Calendar::shared();
        assert!(cal.knows(2026));
        assert!(!cal.is_working_day(day(2026, 10, 5)), "国庆, a Monday");
        assert!(cal.is_working_day(day(2026, 10, 10)), "a Saturday worked for it");
        assert!(!cal.is_working_day(day(2026, 2, 17)), "春节");
        assert!(cal.is_working_day(day(2026, 2, 14)));
        assert!(!cal.is_working_day(day(2026, 12, 5)), "an ordinary Saturday");
        assert!(cal.is_working_day(day(2026, 12, 7)), "an ordinary Monday");
        // An unknown year: Monday to Friday.
        assert!(!cal.knows(2031));
        assert!(cal.is_working_day(day(2031, 1, 1)));
    }

    #[test]
    fn a_calendar_that_does_not_add_up_is_refused() {
        let wrong_year = "[years.2026]\noff = [[\"2025-12-31\", \"2026-01-01\"]]\nwork = []";
        assert!(Calendar::parse(wrong_year).is_err());
        let weekday_worked = "[years.2026]\noff = []\nwork = [\"2026-01-05\"]";
        assert!(Calendar::parse(weekday_worked).unwrap_err().contains("2026-01-05"));
    }
}
