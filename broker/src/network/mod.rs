//! `SocketServer`: one TCP listener per configured listener, one task per connection.
//!
//! Each connection handles its requests strictly one at a time and in order (Kafka mutes a channel
//! while a request is in flight, so responses leave in request order): read a frame, parse the
//! header, hand it to `KafkaApis`, write the response completely, then read the next frame.
//! Pipelined requests simply wait in the socket buffer. Protocol violations (oversized frame,
//! unknown api key, malformed header) close only that connection.

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use wire::{parse_request_header, read_frame, FrameError, HeaderError};

use crate::apis::{KafkaApis, RequestContext};
use crate::config::{EndPoint, KafkaConfig};

pub mod response;

use response::{write_response, Response};

/// Settings every connection needs.
#[derive(Debug, Clone)]
struct ConnSettings {
    max_request_bytes: usize,
    idle_timeout: Duration,
    send_buffer: i32,
    receive_buffer: i32,
}

/// The broker's listeners.
pub struct SocketServer {
    /// Bound listeners (taken when started) with their endpoint (real port filled in).
    listeners: Vec<(EndPoint, Option<TcpListener>)>,
    settings: ConnSettings,
    shutdown_tx: watch::Sender<bool>,
    /// Every acceptor and connection task holds a clone; all dropped = everything finished.
    alive_tx: Option<mpsc::Sender<()>>,
    alive_rx: mpsc::Receiver<()>,
}

impl SocketServer {
    /// Bind every listener (host "" = all interfaces). Connections queue in the kernel until
    /// [`SocketServer::start`].
    pub async fn bind(config: &KafkaConfig) -> std::io::Result<SocketServer> {
        let mut listeners = Vec::new();
        for ep in config.listeners() {
            let host = if ep.host.is_empty() { "0.0.0.0".to_string() } else { ep.host.clone() };
            let listener = TcpListener::bind((host.as_str(), ep.port as u16)).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("Socket server failed to bind to {host}:{}: {e}", ep.port))
            })?;
            let port = listener.local_addr()?.port() as i32;
            tracing::info!("Awaiting socket connections on {host}:{port} (listener {})", ep.listener_name);
            listeners.push((EndPoint { port, ..ep }, Some(listener)));
        }
        let idle = config.connections_max_idle_ms;
        let settings = ConnSettings {
            max_request_bytes: config.socket_request_max_bytes,
            idle_timeout: if idle > 0 { Duration::from_millis(idle as u64) } else { Duration::from_secs(100 * 365 * 86400) },
            send_buffer: config.socket_send_buffer_bytes,
            receive_buffer: config.socket_receive_buffer_bytes,
        };
        let (shutdown_tx, _) = watch::channel(false);
        let (alive_tx, alive_rx) = mpsc::channel(1);
        Ok(SocketServer { listeners, settings, shutdown_tx, alive_tx: Some(alive_tx), alive_rx })
    }

    /// The configured listeners with their actual bound ports (for `listeners=PLAINTEXT://:0`).
    pub fn bound_endpoints(&self) -> Vec<EndPoint> {
        self.listeners.iter().map(|(ep, _)| ep.clone()).collect()
    }

    /// The bound port of a listener.
    pub fn bound_port(&self, listener_name: &str) -> Option<i32> {
        self.listeners.iter().find(|(ep, _)| ep.listener_name == listener_name).map(|(ep, _)| ep.port)
    }

    /// Start accepting and serving connections.
    pub fn start(&mut self, apis: Arc<KafkaApis>) {
        let Some(alive) = self.alive_tx.clone() else { return };
        for (ep, listener) in self.listeners.iter_mut() {
            let Some(listener) = listener.take() else { continue };
            let acceptor = Acceptor {
                listener,
                name: Arc::from(ep.listener_name.as_str()),
                apis: apis.clone(),
                settings: self.settings.clone(),
                shutdown: self.shutdown_tx.subscribe(),
                alive: alive.clone(),
            };
            tokio::spawn(acceptor.run());
        }
    }

    /// Stop accepting, let in-flight requests finish (at most `timeout`), close every connection.
    pub async fn shutdown(&mut self, timeout: Duration) {
        let _ = self.shutdown_tx.send(true);
        // Listeners that were never started close now.
        for (_, l) in self.listeners.iter_mut() {
            l.take();
        }
        self.alive_tx.take();
        if tokio::time::timeout(timeout, self.alive_rx.recv()).await.is_err() {
            tracing::warn!("Some connections were still busy {} ms after shutdown started; abandoning them", timeout.as_millis());
        }
    }
}

struct Acceptor {
    listener: TcpListener,
    name: Arc<str>,
    apis: Arc<KafkaApis>,
    settings: ConnSettings,
    shutdown: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
}

impl Acceptor {
    async fn run(mut self) {
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.wait_for(|s| *s) => break,
                a = self.listener.accept() => a,
            };
            match accepted {
                Ok((stream, peer)) => {
                    configure_socket(&stream, &self.settings);
                    let conn = Connection {
                        reader: BufReader::with_capacity(64 * 1024, stream),
                        peer,
                        listener: self.name.clone(),
                        apis: self.apis.clone(),
                        settings: self.settings.clone(),
                        shutdown: self.shutdown.clone(),
                        _alive: self.alive.clone(),
                    };
                    tokio::spawn(conn.run());
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::error!("Error accepting connection on listener {}: {e}", self.name);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        tracing::info!("Stopped accepting connections on listener {}", self.name);
    }
}

fn configure_socket(stream: &TcpStream, s: &ConnSettings) {
    use nix::sys::socket::{setsockopt, sockopt};
    let _ = stream.set_nodelay(true);
    let fd = stream.as_fd();
    if s.send_buffer > 0 {
        let _ = setsockopt(&fd, sockopt::SndBuf, &(s.send_buffer as usize));
    }
    if s.receive_buffer > 0 {
        let _ = setsockopt(&fd, sockopt::RcvBuf, &(s.receive_buffer as usize));
    }
}

struct Connection {
    reader: BufReader<TcpStream>,
    peer: SocketAddr,
    listener: Arc<str>,
    apis: Arc<KafkaApis>,
    settings: ConnSettings,
    shutdown: watch::Receiver<bool>,
    _alive: mpsc::Sender<()>,
}

impl Connection {
    async fn run(mut self) {
        tracing::debug!("Accepted connection from {} on listener {}", self.peer, self.listener);
        loop {
            let read = tokio::select! {
                biased;
                _ = self.shutdown.wait_for(|s| *s) => break,
                r = tokio::time::timeout(self.settings.idle_timeout, read_frame(&mut self.reader, self.settings.max_request_bytes)) => r,
            };
            let frame = match read {
                Err(_) => {
                    tracing::debug!("Closing idle connection from {}", self.peer);
                    break;
                }
                Ok(Ok(Some(frame))) => frame,
                Ok(Ok(None)) => break,
                Ok(Err(FrameError::InvalidSize { size, max })) => {
                    tracing::warn!(
                        "Closing connection from {} on listener {}: invalid request size {size} \
                         (must be between 0 and socket.request.max.bytes = {max})",
                        self.peer,
                        self.listener
                    );
                    break;
                }
                Ok(Err(FrameError::Io(e))) => {
                    tracing::debug!("Connection from {} closed while reading a request: {e}", self.peer);
                    break;
                }
            };
            let (header, body) = match parse_request_header(frame) {
                Ok(parsed) => parsed,
                Err(HeaderError::UnknownApiKey(key)) => {
                    tracing::warn!("Closing connection from {}: unknown API key {key}", self.peer);
                    break;
                }
                Err(e) => {
                    tracing::warn!("Closing connection from {}: {e}", self.peer);
                    break;
                }
            };
            tracing::trace!(
                "Request api key {} v{} correlation id {} from {} (client id {:?})",
                header.api_key,
                header.api_version,
                header.correlation_id,
                self.peer,
                header.client_id
            );
            let ctx = RequestContext { header, listener: self.listener.to_string(), client_host: self.peer.ip().to_string() };
            let response = self.apis.handle(&ctx, body).await;
            let close = matches!(response, Response::Close);
            if let Err(e) = write_response(self.reader.get_mut(), response).await {
                tracing::debug!("Failed to send response to {}: {e}", self.peer);
                break;
            }
            if close {
                tracing::debug!("Closing connection from {} after request {:?}", self.peer, ctx.header);
                break;
            }
        }
        tracing::debug!("Connection from {} closed", self.peer);
    }
}
