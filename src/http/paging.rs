//! Keyset paging for every list route: `?limit=` (at most 500) and `?cursor=`, answered with the
//! items and `next_cursor` (`null` on the last page).
//!
//! A cursor is opaque to callers: the sort key of the last item of a page (e.g. its time and id),
//! as JSON in URL-safe base64. The next page is the items strictly after that key in the list's
//! order, so a page never repeats or skips an item because rows were added meanwhile (a keyset,
//! not an offset). A cursor that is not one a list gave out is a 400 naming `cursor`.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned, de::Error as _};
use utoipa::openapi::{ObjectBuilder, Schema, Type};

/// The largest `limit` of any list.
pub const MAX_LIMIT: i64 = 500;

/// Longest cursor accepted (a key is a few dozen bytes).
const MAX_CURSOR: usize = 512;

/// `?cursor=`: where the previous page ended (`K` is the list's sort key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<K>(pub K);

impl<K: Serialize> Cursor<K> {
    /// The cursor's text, as `next_cursor` carries it.
    pub fn encode(key: &K) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("a sort key serializes"))
    }
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for Cursor<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let invalid = || D::Error::custom("cursor must be a next_cursor this list gave out");
        if text.len() > MAX_CURSOR {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text.as_bytes()).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map(Cursor).map_err(|_| invalid())
    }
}

/// The schema of `?cursor=` (`#[param(schema_with = paging::cursor_schema)]`).
pub fn cursor_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_CURSOR))
        .pattern(Some("^[A-Za-z0-9_-]+$"))
        .into()
}

/// The key of an item ordered by a time, newest first, then by id.
pub type TimeKey = (chrono::DateTime<chrono::Utc>, uuid::Uuid);

/// Cut the `limit + 1` rows a query fetched to one page: the first `limit` rows, and the cursor of
/// the last of them when there were more.
pub fn page<T, K: Serialize>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> (Vec<T>, Option<String>) {
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
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused_naming_cursor() {
        // Arrange
        let at: DateTime<Utc> = "2026-12-01T10:11:12.345678Z".parse().unwrap();
        let key: TimeKey = (at, Uuid::new_v4());
        // Act
        let text = Cursor::encode(&key);
        let back: Cursor<TimeKey> = serde_json::from_value(serde_json::json!(text)).unwrap();
        // Assert
        assert_eq!(back.0, key, "microseconds survive");
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
        let long = "A".repeat(MAX_CURSOR + 1);
        let other_shape = Cursor::encode(&(1, 2, 3));
        for bad in ["", "not base64!", "bm90IGpzb24", other_shape.as_str(), long.as_str()] {
            let err = serde_json::from_value::<Cursor<TimeKey>>(serde_json::json!(bad)).unwrap_err();
            assert!(err.to_string().starts_with("cursor must be"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_page_has_a_next_cursor_only_when_a_row_beyond_it_was_fetched() {
        // Arrange
        let rows = |n: i64| (0..n).collect::<Vec<i64>>();
        // Act
        let (full, next) = page(rows(4), 3, |n| *n);
        let (last, none) = page(rows(3), 3, |n| *n);
        // Assert
        assert_eq!((full, next), (vec![0, 1, 2], Some(Cursor::encode(&2))));
        assert_eq!((last, none), (vec![0, 1, 2], None));
        assert_eq!(fetch_limit(500), 501);
    }
}
