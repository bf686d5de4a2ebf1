//! The listener `axum::serve` runs on: TCP connections whose writes may not stall longer than
//! `HTTP_REQUEST_TIMEOUT` (a client that stops reading an event stream or an export is dropped,
//! so nothing is held or buffered for it without bound), and each connection's peer address
//! ([`Peer`]) for the callers that present no token.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{extract::connect_info::Connected, serve::IncomingStream};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::Sleep,
};

/// A TCP listener whose connections are [`StallGuard`]ed.
pub struct Listener {
    inner: TcpListener,
    stall: Duration,
}

impl Listener {
    /// Connections of `inner` whose writes may not stall longer than `stall`.
    pub fn new(inner: TcpListener, stall: Duration) -> Listener {
        Listener { inner, stall }
    }
}

impl axum::serve::Listener for Listener {
    type Io = StallGuard<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        (StallGuard { inner: io, limit: self.stall, stalled: None }, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The address a request came from (`ConnectInfo<Peer>`; behind a proxy, the proxy's).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// A connection whose writes fail with `TimedOut` once they have made no progress for `limit`
/// (the client stopped reading and the socket's buffers are full); the server then closes it.
/// Reads are not bounded here (`HTTP_REQUEST_TIMEOUT` bounds a request's).
pub struct StallGuard<T> {
    inner: T,
    limit: Duration,
    /// Since when writes are pending (a timer only while they are).
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> StallGuard<T> {
    /// A write that made progress (or failed) ends the stall; a pending one starts or continues it.
    fn check<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                metrics::counter!("employes_sync_http_stalled_connections_total").increment(1);
                tracing::debug!(after = ?limit, "dropping a connection whose client stopped reading");
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")))
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.check(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.check(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.check(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn writes_to_a_reader_that_stopped_fail_after_the_limit_and_progress_resets_it() {
        // Arrange: a pipe of 1 KiB whose far end reads nothing yet.
        let (near, mut far) = tokio::io::duplex(1024);
        let mut guarded = StallGuard { inner: near, limit: Duration::from_secs(2), stalled: None };
        let chunk = [7u8; 512];
        // Act: fill it, stall for a second, let the reader take some, stall again past the limit.
        guarded.write_all(&chunk).await.unwrap();
        guarded.write_all(&chunk).await.unwrap();
        let stalled = tokio::time::timeout(Duration::from_secs(1), guarded.write_all(&chunk)).await;
        assert!(stalled.is_err(), "still pending within the limit");
        let mut taken = vec![0u8; 1024];
        far.read_exact(&mut taken).await.unwrap();
        guarded.write_all(&chunk).await.unwrap();
        guarded.write_all(&chunk).await.unwrap();
        let started = tokio::time::Instant::now();
        let failed = guarded.write_all(&chunk).await;
        // Assert
        assert_eq!(failed.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(2), "the limit counts from the stall, not the start");
    }
}
