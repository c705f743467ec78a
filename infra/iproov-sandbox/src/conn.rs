//! Connections the sandbox can cut on purpose, for `drop_connection` faults.
//!
//! A handler cannot close its own connection in axum: it can only return a response. So
//! [`serve`](crate::serve) accepts connections through [`DroppableListener`], whose streams
//! carry a shared "cut" flag, and hands each request a [`ConnectionHandle`] to that flag through
//! axum's `ConnectInfo`. A faulted handler sets the flag and returns a placeholder response;
//! when hyper then writes that response, the stream reports the connection as aborted, hyper
//! gives up on it and the socket is closed. The client sees the connection close without a
//! single byte of answer, as if the server had crashed mid-request.
//!
//! A router served some other way (say `tower::ServiceExt::oneshot` in a test) has no handle;
//! [`crate::api`] then falls back to a long delay, documented in the README.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Lets a request cut the connection it arrived on.
#[derive(Clone, Debug, Default)]
pub struct ConnectionHandle {
    cut: Arc<AtomicBool>,
}

impl ConnectionHandle {
    /// From now on the connection neither reads nor writes.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

/// A TCP listener whose connections can be cut by the requests they carry.
#[derive(Debug)]
pub struct DroppableListener {
    inner: TcpListener,
}

impl DroppableListener {
    pub fn new(inner: TcpListener) -> Self {
        DroppableListener { inner }
    }
}

impl Listener for DroppableListener {
    type Io = DroppableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = Listener::accept(&mut self.inner).await;
        // Answers are small and tests measure latency: do not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let stream = DroppableStream {
            inner: stream,
            handle: ConnectionHandle::default(),
        };
        (stream, address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl Connected<IncomingStream<'_, DroppableListener>> for ConnectionHandle {
    fn connect_info(stream: IncomingStream<'_, DroppableListener>) -> Self {
        stream.io().handle.clone()
    }
}

/// A TCP stream that fails every read and write once its handle was cut.
#[derive(Debug)]
pub struct DroppableStream {
    inner: TcpStream,
    handle: ConnectionHandle,
}

fn aborted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection dropped by a sandbox fault",
    )
}

impl AsyncRead for DroppableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.handle.is_cut() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for DroppableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.handle.is_cut() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.handle.is_cut() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
