//! Keyset paging for every list route: `?limit=` (at most 500) and `?cursor=`, answered with the
//! items and `next_cursor` (`null` on the last page).
//!
//! A cursor is the sort key of the last item of a page (e.g. its time and id) as text: its parts
//! joined by `~` (a time in microseconds since 1970, a date in days from 0001-01-01 counting it
//! as 1, an id in lowercase hyphenated form, a name as the hex of its UTF-8). The next page is
//! the items strictly after that key in the list's order, so a page never repeats or skips an
//! item because rows were added meanwhile (a keyset, not an offset). The document gives each
//! list's cursor pattern exactly: every string of it is a cursor the server takes, and anything
//! else is a 400 naming `cursor`.

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, de::Error as _};
use utoipa::openapi::{ObjectBuilder, Schema, Type};
use uuid::Uuid;

/// The largest `limit` of any list.
pub const MAX_LIMIT: i64 = 500;

/// A sort key as cursor text. Parts never contain `~`, so keys of several parts join with it.
pub trait CursorKey: Sized {
    /// What the text looks like (a regular expression, unanchored).
    fn pattern() -> String;
    fn write(&self, out: &mut String);
    /// The key of `text`, which must be all of it and match [`CursorKey::pattern`].
    fn read(text: &str) -> Option<Self>;
}

const UUID_PATTERN: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

fn digits(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

impl CursorKey for Uuid {
    fn pattern() -> String {
        UUID_PATTERN.into()
    }
    fn write(&self, out: &mut String) {
        out.push_str(&self.hyphenated().to_string());
    }
    fn read(text: &str) -> Option<Self> {
        let shape = text.len() == 36
            && text.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            });
        shape.then(|| text.parse().ok()).flatten()
    }
}

/// A row number (a `bigserial`): at most 18 digits, so every such value is one.
impl CursorKey for i64 {
    fn pattern() -> String {
        "[0-9]{1,18}".into()
    }
    fn write(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
    fn read(text: &str) -> Option<Self> {
        digits(text, 18).then(|| text.parse().ok())?
    }
}

/// Microseconds since 1970 (at most 16 digits: every such value is a time).
impl CursorKey for DateTime<Utc> {
    fn pattern() -> String {
        "-?[0-9]{1,16}".into()
    }
    fn write(&self, out: &mut String) {
        out.push_str(&self.timestamp_micros().to_string());
    }
    fn read(text: &str) -> Option<Self> {
        digits(text.strip_prefix('-').unwrap_or(text), 16)
            .then(|| DateTime::from_timestamp_micros(text.parse().ok()?))?
    }
}

/// Days from 0001-01-01 counting it as 1 (at most 7 digits: every such value is a date).
impl CursorKey for NaiveDate {
    fn pattern() -> String {
        "[0-9]{1,7}".into()
    }
    fn write(&self, out: &mut String) {
        out.push_str(&self.num_days_from_ce().to_string());
    }
    fn read(text: &str) -> Option<Self> {
        digits(text, 7).then(|| NaiveDate::from_num_days_from_ce_opt(text.parse().ok()?))?
    }
}

/// Text (a name) as the lowercase hex of its UTF-8 bytes, so it holds no `~` and any text fits.
/// Every string of the pattern is taken: bytes that are not UTF-8, and NUL (no Postgres text holds
/// one), read as U+FFFD (such a cursor was never given out; it still names a place in the order).
impl CursorKey for String {
    fn pattern() -> String {
        "([0-9a-f]{2})*".into()
    }
    fn write(&self, out: &mut String) {
        for b in self.bytes() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    fn read(text: &str) -> Option<Self> {
        let nibble = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        };
        let bytes: Option<Vec<u8>> = text
            .len()
            .is_multiple_of(2)
            .then(|| text.as_bytes().chunks(2).map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?)).collect())?;
        Some(String::from_utf8_lossy(&bytes?).replace('\0', "\u{FFFD}"))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Empty for none.
impl<T: CursorKey> CursorKey for Option<T> {
    fn pattern() -> String {
        format!("({})?", T::pattern())
    }
    fn write(&self, out: &mut String) {
        if let Some(v) = self {
            v.write(out);
        }
    }
    fn read(text: &str) -> Option<Self> {
        if text.is_empty() { Some(None) } else { T::read(text).map(Some) }
    }
}

impl<A: CursorKey, B: CursorKey> CursorKey for (A, B) {
    fn pattern() -> String {
        format!("{}~{}", A::pattern(), B::pattern())
    }
    fn write(&self, out: &mut String) {
        self.0.write(out);
        out.push('~');
        self.1.write(out);
    }
    fn read(text: &str) -> Option<Self> {
        let (a, b) = text.split_once('~')?;
        Some((A::read(a)?, B::read(b)?))
    }
}

impl<A: CursorKey, B: CursorKey, C: CursorKey> CursorKey for (A, B, C) {
    fn pattern() -> String {
        format!("{}~{}~{}", A::pattern(), B::pattern(), C::pattern())
    }
    fn write(&self, out: &mut String) {
        self.0.write(out);
        out.push('~');
        self.1.write(out);
        out.push('~');
        self.2.write(out);
    }
    fn read(text: &str) -> Option<Self> {
        let (a, rest) = text.split_once('~')?;
        let (b, c) = <(B, C)>::read(rest)?;
        Some((A::read(a)?, b, c))
    }
}

/// `?cursor=`: where the previous page ended (`K` is the list's sort key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<K>(pub K);

impl<K: CursorKey> Cursor<K> {
    /// The cursor's text, as `next_cursor` carries it.
    pub fn encode(key: &K) -> String {
        let mut out = String::new();
        key.write(&mut out);
        out
    }
}

impl<'de, K: CursorKey> Deserialize<'de> for Cursor<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        K::read(&text).map(Cursor).ok_or_else(|| D::Error::custom("cursor must be a next_cursor this list gave out"))
    }
}

/// The schema of `?cursor=` for keys `K` (`#[param(schema_with = paging::cursor_schema::<K>)]`).
pub fn cursor_schema<K: CursorKey>() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(format!("^{}$", K::pattern()))).into()
}

/// `?limit=&cursor=` of a list ordered by id (the companies, the endpoints).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ByIdQuery {
    /// How many, by id.
    #[serde(default)]
    #[param(inline)]
    pub limit: super::extract::Limit<100, { MAX_LIMIT }>,
    /// Where the previous page ended (its `next_cursor`).
    #[param(schema_with = cursor_schema::<Uuid>)]
    pub cursor: Option<Cursor<Uuid>>,
}

/// The key of an item ordered by a time, newest first, then by id.
pub type TimeKey = (DateTime<Utc>, Uuid);

/// Cut the `limit + 1` rows a query fetched to one page: the first `limit` rows, and the cursor of
/// the last of them when there were more.
pub fn page<T, K: CursorKey>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|last| Cursor::encode(&key(last)));
    (rows, next)
}

/// What a query asks for: one row more than the page, to know whether another page follows.
pub fn fetch_limit(limit: i64) -> i64 {
    limit.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode<K: CursorKey>(text: &str) -> Result<K, String> {
        serde_json::from_value::<Cursor<K>>(serde_json::json!(text)).map(|c| c.0).map_err(|e| e.to_string())
    }

    #[test]
    fn a_cursor_round_trips_matches_its_documented_pattern_and_anything_else_is_refused_naming_cursor() {
        // Arrange
        let at: DateTime<Utc> = "2026-12-01T10:11:12.345678Z".parse().unwrap();
        let id = Uuid::new_v4();
        let day = NaiveDate::from_ymd_opt(2027, 2, 28).unwrap();
        // Act
        let time = Cursor::encode(&(at, id));
        let change = Cursor::encode(&(at, Some(day), id));
        let undated = Cursor::encode(&(at, None::<NaiveDate>, id));
        // Assert
        assert_eq!(decode::<TimeKey>(&time).unwrap(), (at, id), "microseconds survive");
        assert_eq!(decode::<(DateTime<Utc>, Option<NaiveDate>, Uuid)>(&change).unwrap(), (at, Some(day), id));
        assert_eq!(decode::<(DateTime<Utc>, Option<NaiveDate>, Uuid)>(&undated).unwrap(), (at, None, id));
        assert_eq!(Cursor::encode(&(day, id)), format!("{}~{id}", day.num_days_from_ce()));
        let upper = format!("{}~{}", at.timestamp_micros(), id.to_string().to_uppercase());
        let long = format!("{}~{id}", "1".repeat(17));
        for bad in ["", "~", "not a cursor", upper.as_str(), long.as_str(), &format!("{time}~"), &format!(" {time}")] {
            let err = decode::<TimeKey>(bad).unwrap_err();
            assert!(err.starts_with("cursor must be"), "{bad}: {err}");
        }
    }

    type ChangeKey = (DateTime<Utc>, Option<NaiveDate>, Uuid);

    fn anchored<K: CursorKey>() -> String {
        format!("^{}$", K::pattern())
    }

    proptest::proptest! {
        /// What the document promises: every string of a list's cursor pattern is a cursor (the
        /// generator makes whole strings of the unanchored pattern).
        #[test]
        fn every_string_of_the_pattern_is_a_cursor_the_server_takes(
            time in proptest::string::string_regex(&TimeKey::pattern()).unwrap(),
            change in proptest::string::string_regex(&ChangeKey::pattern()).unwrap(),
            dated in proptest::string::string_regex(&<(NaiveDate, Uuid)>::pattern()).unwrap(),
            named in proptest::string::string_regex(&<(String, Uuid)>::pattern()).unwrap(),
        ) {
            let name = decode::<(String, Uuid)>(&named);
            proptest::prop_assert!(name.as_ref().is_ok_and(|(n, _)| !n.contains('\0')), "{}: {:?}", named, name);
            proptest::prop_assert!(decode::<TimeKey>(&time).is_ok(), "{}", time);
            proptest::prop_assert!(decode::<ChangeKey>(&change).is_ok(), "{}", change);
            proptest::prop_assert!(decode::<(NaiveDate, Uuid)>(&dated).is_ok(), "{}", dated);
        }

        /// And every cursor a list gives out is of its pattern, and reads back as its key.
        #[test]
        fn every_cursor_given_out_matches_the_pattern(
            micros in -9_999_999_999_999_999i64..=9_999_999_999_999_999,
            days in proptest::option::of(1i32..=3_000_000),
            bytes: [u8; 16],
        ) {
            let at = DateTime::from_timestamp_micros(micros).unwrap();
            let key: ChangeKey = (at, days.and_then(NaiveDate::from_num_days_from_ce_opt), Uuid::from_bytes(bytes));
            let text = Cursor::encode(&key);
            proptest::prop_assert!(regex::Regex::new(&anchored::<ChangeKey>()).unwrap().is_match(&text), "{}", text);
            proptest::prop_assert_eq!(decode::<ChangeKey>(&text).unwrap(), key);
        }

        /// A name of any text (`~` included) reads back as itself.
        #[test]
        fn every_name_cursor_given_out_matches_the_pattern_and_reads_back(name in "[^\x00]{0,40}", bytes: [u8; 16]) {
            let key = (name, Uuid::from_bytes(bytes));
            let text = Cursor::encode(&key);
            proptest::prop_assert!(regex::Regex::new(&anchored::<(String, Uuid)>()).unwrap().is_match(&text), "{}", text);
            proptest::prop_assert_eq!(decode::<(String, Uuid)>(&text).unwrap(), key);
        }
    }

    #[test]
    fn a_row_number_cursor_round_trips_and_only_digits_are_one() {
        assert_eq!(decode::<i64>(&Cursor::encode(&42i64)).unwrap(), 42);
        assert_eq!(decode::<i64>(&"9".repeat(18)).unwrap(), 999_999_999_999_999_999);
        for bad in ["", "-1", "1.5", "x", &"1".repeat(19)] {
            assert!(decode::<i64>(bad).unwrap_err().starts_with("cursor must be"), "{bad}");
        }
    }

    #[test]
    fn a_page_has_a_next_cursor_only_when_a_row_beyond_it_was_fetched() {
        // Arrange
        let id = Uuid::nil();
        let rows = |n: usize| (0..n).map(|_| id).collect::<Vec<Uuid>>();
        // Act
        let (full, next) = page(rows(4), 3, |u| *u);
        let (last, none) = page(rows(3), 3, |u| *u);
        // Assert
        assert_eq!((full.len(), next), (3, Some(Cursor::encode(&id))));
        assert_eq!((last.len(), none), (3, None));
        assert_eq!(fetch_limit(500), 501);
    }
}
