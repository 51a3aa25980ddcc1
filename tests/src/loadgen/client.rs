//! One MQTT connection of the load generator on tokio: a TCP stream, a read
//! buffer that hands out frames borrowed from it, and a write buffer that
//! many packets share before one `write_all`. The scenarios drive it; it has
//! no tasks of its own and no reconnect logic (a broken connection ends the
//! scenario's use of it, and that is reported).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use super::codec::{self, Frame, Malformed};

/// Largest packet a load-generator client accepts.
pub const MAX_PACKET: usize = 1 << 20;
/// How long a CONNACK or SUBACK may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct Login {
    pub addr: SocketAddr,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Bytes read from the socket and not yet parsed.
pub struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    pub fn with_capacity(capacity: usize) -> ReadBuf {
        ReadBuf { buf: vec![0; capacity], start: 0, end: 0 }
    }

    /// The next whole packet, consumed; `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, Malformed> {
        let (first, used, body_len) = match codec::frame(&self.buf[self.start..self.end], MAX_PACKET)? {
            None => return Ok(None),
            Some((frame, used)) => ((frame.kind << 4) | frame.flags, used, frame.body.len()),
        };
        let at = self.start;
        self.start += used;
        Ok(Some(Frame { kind: first >> 4, flags: first & 0x0f, body: &self.buf[at + used - body_len..at + used] }))
    }

    /// Room to read into: moves what is left to the front when the tail is
    /// short, and grows when one packet needs more than the buffer holds.
    fn spare(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < self.buf.len() / 4 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let wanted = (self.buf.len() * 2).min(MAX_PACKET + 8).max(self.buf.len() + 1);
            self.buf.resize(wanted, 0);
        }
        &mut self.buf[self.end..]
    }
}

/// An MQTT connection past its CONNACK.
pub struct Conn {
    pub stream: TcpStream,
    pub rx: ReadBuf,
    /// Packets to send at the next [`Conn::flush`].
    pub tx: Vec<u8>,
}

impl Conn {
    /// Connects (from `source`, if given), sends CONNECT with a clean session
    /// and waits for an accepting CONNACK.
    pub async fn open(
        login: &Login,
        client_id: &str,
        keep_alive: u16,
        source: Option<IpAddr>,
        read_capacity: usize,
    ) -> anyhow::Result<Conn> {
        let socket = match login.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .context("create a socket")?;
        if let Some(source) = source {
            socket.bind(SocketAddr::new(source, 0)).with_context(|| format!("bind {source}"))?;
        }
        let stream = socket.connect(login.addr).await.with_context(|| format!("connect to {}", login.addr))?;
        stream.set_nodelay(true).context("set TCP_NODELAY")?;
        let mut conn = Conn { stream, rx: ReadBuf::with_capacity(read_capacity), tx: Vec::with_capacity(4096) };
        codec::connect(&mut conn.tx, client_id, login.username.as_deref(), login.password.as_deref(), keep_alive, true);
        conn.flush().await.context("send CONNECT")?;
        let (kind, body) = conn.next_packet().await.context("read CONNACK")?;
        match (kind, body.as_slice()) {
            (codec::CONNACK, [_, 0]) => Ok(conn),
            (codec::CONNACK, [_, code]) => bail!("CONNACK refused the connection with return code {code}"),
            _ => bail!("expected CONNACK, got packet type {kind}"),
        }
    }

    /// Subscribes to `filter` and waits for a granting SUBACK.
    pub async fn subscribe(&mut self, filter: &str, qos: u8) -> anyhow::Result<()> {
        codec::subscribe(&mut self.tx, 1, filter, qos);
        self.flush().await.context("send SUBSCRIBE")?;
        let (kind, body) = self.next_packet().await.context("read SUBACK")?;
        match (kind, body.as_slice()) {
            (codec::SUBACK, [0, 1, granted]) if *granted <= 2 => Ok(()),
            (codec::SUBACK, [0, 1, code]) => bail!("SUBACK refused {filter:?} with {code:#04x}"),
            _ => bail!("expected SUBACK, got packet type {kind}"),
        }
    }

    /// Reads more bytes; `Ok(0)` when the broker closed the connection.
    pub async fn read_more(&mut self) -> io::Result<usize> {
        let spare = self.rx.spare();
        let n = self.stream.read(spare).await?;
        self.rx.end += n;
        Ok(n)
    }

    /// Sends what [`Conn::tx`] holds.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.tx.is_empty() {
            self.stream.write_all(&self.tx).await?;
            self.tx.clear();
        }
        Ok(())
    }

    /// Sends DISCONNECT and waits (briefly) for the broker to close, so the
    /// broker is the side that closes first.
    pub async fn disconnect(mut self, wait: Duration) {
        codec::disconnect(&mut self.tx);
        if self.flush().await.is_err() {
            return;
        }
        let _ = tokio::time::timeout(wait, async { while matches!(self.read_more().await, Ok(n) if n > 0) {} }).await;
    }

    /// The next packet, copied out (handshakes only, not the hot path).
    async fn next_packet(&mut self) -> anyhow::Result<(u8, Vec<u8>)> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
            loop {
                if let Some(frame) = self.rx.next_frame()? {
                    return Ok((frame.kind, frame.body.to_vec()));
                }
                if self.read_more().await? == 0 {
                    bail!("the broker closed the connection");
                }
            }
        })
        .await
        .context("no answer within 30 s")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_buffer_hands_out_whole_frames_and_grows_for_big_ones() {
        let mut rx = ReadBuf::with_capacity(8);
        let mut wire = vec![];
        codec::puback(&mut wire, 1);
        codec::publish(&mut wire, b"t", 0, 0, &[1; 40]);
        let mut fed = 0;
        let mut got = vec![];
        while got.len() < 2 {
            while let Some(frame) = rx.next_frame().unwrap() {
                got.push((frame.kind, frame.body.len()));
            }
            let spare = rx.spare();
            let n = spare.len().min(wire.len() - fed).min(5);
            spare[..n].copy_from_slice(&wire[fed..fed + n]);
            rx.end += n;
            fed += n;
        }
        assert_eq!(got, vec![(codec::PUBACK, 2), (codec::PUBLISH, 43)]);
    }
}
