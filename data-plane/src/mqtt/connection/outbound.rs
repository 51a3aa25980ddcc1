//! The writer half of a connection: the only task that writes the socket.
//!
//! Drains two queues: control packets from the reader (acknowledgements,
//! SUBACK, PINGRESP, and PUBACKs received, which free packet ids) and the
//! session's outbox of routed messages. It waits only on its own socket, never
//! on a reader, which is what keeps publishers from deadlocking each other.

use futures_util::SinkExt as _;
use tokio::sync::mpsc;
use tracing::debug;

use super::Writer;
use crate::mqtt::codec::{CodecError, Packet, PacketId};
use crate::mqtt::metrics::Meters;
use crate::mqtt::session::{Delivery, Outbound, PacketIdsExhausted};

/// What the reader asks of the writer.
#[derive(Debug)]
pub enum Control {
    /// Write this packet.
    Send(Packet),
    /// The client acknowledged this QoS 1 publish.
    Acked(PacketId),
}

/// Why the writer stopped before it was told to.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(transparent)]
    Unacknowledged(#[from] PacketIdsExhausted),
}

/// Writes until both queues close or a write fails.
pub async fn run(
    sink: &mut Writer,
    control: &mut mpsc::Receiver<Control>,
    outbox: &mut mpsc::Receiver<Delivery>,
    meters: &Meters,
) -> Result<(), WriteError> {
    let mut session = Outbound::default();
    loop {
        tokio::select! {
            biased;
            command = control.recv() => match command {
                Some(Control::Send(packet)) => sink.feed(packet).await?,
                Some(Control::Acked(id)) => {
                    if !session.on_puback(id) {
                        debug!(packet_id = id.get(), "PUBACK for a packet id not in flight");
                    }
                }
                None => return Ok(()),
            },
            delivery = outbox.recv() => match delivery {
                Some(delivery) => {
                    let publish = session.publish(delivery)?;
                    sink.feed(Packet::Publish(publish)).await?;
                    meters.messages_out.increment(1);
                }
                None => return Ok(()),
            },
        }
        if control.is_empty() && outbox.is_empty() {
            sink.flush().await?;
        }
        meters.bytes_out.increment(sink.encoder_mut().take_bytes_encoded());
    }
}
