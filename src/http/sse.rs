//! The event streams' common form: each event named, its `data:` one line of JSON, and a
//! keep-alive comment every 15 s so proxies keep an idle stream open.

use std::{convert::Infallible, time::Duration};

use axum::response::{
    Sse,
    sse::{Event, KeepAlive, KeepAliveStream},
};
use futures::Stream;
use serde::Serialize;

/// How often an idle stream gets a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The event `name` carrying `data` as JSON (a comment in its place if it cannot be written).
pub fn event(name: &'static str, data: &impl Serialize) -> Result<Event, Infallible> {
    Ok(Event::default().event(name).json_data(data).unwrap_or_else(|_| Event::default().comment("unserializable")))
}

/// `events` as the answer: an SSE stream with keep-alives.
pub fn answer<S>(events: S) -> Sse<KeepAliveStream<S>>
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
