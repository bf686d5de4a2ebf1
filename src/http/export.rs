//! CSV exports (`?format=csv` on a list): RFC 4180 text in UTF-8, a header row, then one row per
//! item, streamed from the database as it sends the rows (an export of any size holds one
//! buffer of about 32 KiB, never the whole list). Text that a spreadsheet would run as a formula
//! (a leading `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`; numbers are written as they are.

use std::fmt::Display;

use axum::{
    body::{Body, Bytes},
    http::header,
    response::{IntoResponse, Response},
};
use futures::{Stream, StreamExt};

/// A buffer is sent once it holds this much.
const CHUNK: usize = 32 * 1024;

/// The `?format=` of a list that can also be exported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The JSON page (`limit`, `cursor`, `next_cursor`).
    #[default]
    Json,
    /// Every matching item as CSV (`text/csv`): a header row, one row per item.
    Csv,
}

/// An item as one CSV row.
pub trait CsvRecord {
    /// The header row's names, in the order [`CsvRecord::write`] writes the fields.
    const HEADER: &'static [&'static str];
    fn write(&self, row: &mut Row<'_>);
}

/// One row being written: fields are added in order, quoted where they must be.
pub struct Row<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl Row<'_> {
    /// A text field (a would-be formula defused).
    pub fn text(&mut self, value: &str) {
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            self.raw(&format!("'{value}"));
        } else {
            self.raw(value);
        }
    }

    /// A number (never defused: `-3` stays a number).
    pub fn number(&mut self, value: Option<f64>) {
        self.raw(&value.map(|v| v.to_string()).unwrap_or_default());
    }

    fn raw(&mut self, value: &str) {
        if !std::mem::take(&mut self.first) {
            self.buf.push(b',');
        }
        if value.contains([',', '"', '\r', '\n']) || value.starts_with(' ') || value.ends_with(' ') {
            self.buf.push(b'"');
            self.buf.extend_from_slice(value.replace('"', "\"\"").as_bytes());
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(value.as_bytes());
        }
    }

    /// A field that may be empty (`None`).
    pub fn opt(&mut self, value: Option<impl Display>) {
        match value {
            Some(v) => self.text(&v.to_string()),
            None => self.text(""),
        }
    }

    /// A point in time, as RFC 3339 in UTC.
    pub fn time(&mut self, at: Option<chrono::DateTime<chrono::Utc>>) {
        self.opt(at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)));
    }
}

fn line(buf: &mut Vec<u8>, write: impl FnOnce(&mut Row<'_>)) {
    write(&mut Row { buf, first: true });
    buf.extend_from_slice(b"\r\n");
}

/// The CSV response: `first` (already fetched, so a database that fails at once is answered with
/// an error instead of a cut-off file) and the rest as `rows` yields them. A failure after the
/// first row ends the body early (the client sees a broken transfer, never a silently short
/// file), logged once.
pub fn csv<T, S>(filename: &str, first: Option<T>, rows: S) -> Response
where
    T: CsvRecord + Send + 'static,
    S: Stream<Item = sqlx::Result<T>> + Send + 'static,
{
    let body = async_stream::stream! {
        let mut buf = Vec::with_capacity(CHUNK + 1024);
        line(&mut buf, |row| T::HEADER.iter().for_each(|name| row.text(name)));
        if let Some(first) = first {
            line(&mut buf, |row| first.write(row));
            let mut rows = std::pin::pin!(rows);
            while let Some(item) = rows.next().await {
                match item {
                    Ok(item) => line(&mut buf, |row| item.write(row)),
                    Err(e) => {
                        tracing::error!(error = %e, "a CSV export failed part way");
                        yield Err(e);
                        return;
                    }
                }
                if buf.len() >= CHUNK {
                    yield Ok(Bytes::from(std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + 1024))));
                }
            }
        }
        yield Ok(Bytes::from(buf));
    };
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        Body::from_stream(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Item(&'static str, Option<f64>);

    impl CsvRecord for Item {
        const HEADER: &'static [&'static str] = &["name", "amount"];
        fn write(&self, row: &mut Row<'_>) {
            row.text(self.0);
            row.number(self.1);
        }
    }

    async fn body_of(first: Option<Item>, rest: Vec<Item>) -> String {
        let response = csv("x.csv", first, futures::stream::iter(rest.into_iter().map(Ok)));
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn fields_that_need_it_are_quoted_and_every_row_ends_in_crlf() {
        // Act
        let text = body_of(
            Some(Item("Jansen, P.", Some(2900.5))),
            vec![Item("say \"hi\"", None), Item("Zoë\nline", Some(-3.0)), Item("=SUM(A1)", Some(12.0))],
        )
        .await;
        // Assert
        assert_eq!(
            text,
            "name,amount\r\n\"Jansen, P.\",2900.5\r\n\"say \"\"hi\"\"\",\r\n\"Zoë\nline\",-3\r\n'=SUM(A1),12\r\n"
        );
    }

    #[tokio::test]
    async fn an_empty_export_is_the_header_row() {
        assert_eq!(body_of(None, vec![]).await, "name,amount\r\n");
    }
}
