// MQTT over WebSocket from the browser (MQTT.js, MQTT 5): publish one test
// message and wait for its acknowledgement, or watch a filter live.
import mqtt, { type MqttClient } from "mqtt";

export type Login = { url: string; username: string; password: string };

function connect(login: Login): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(login.url, {
      username: login.username,
      password: login.password,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      clientId: `console-${crypto.randomUUID().slice(0, 8)}`,
    });
    client.once("connect", () => resolve(client));
    client.once("error", (error) => {
      client.end(true);
      reject(new Error(`The broker refused the connection: ${error.message}`));
    });
    client.once("close", () => reject(new Error("The connection closed before the broker answered.")));
  });
}

/** Publishes at QoS 1 and resolves once the broker acknowledged it. */
export async function publishOnce(login: Login, topic: string, payload: string, retain: boolean): Promise<void> {
  const client = await connect(login);
  try {
    await client.publishAsync(topic, payload, { qos: 1, retain });
  } catch (error) {
    throw new Error(`The broker refused the message: ${(error as Error).message}`);
  } finally {
    await client.endAsync();
  }
}

export type Received = { topic: string; payload: string; retained: boolean; at: Date };

/** Subscribes to `filter`; call the returned function to stop. */
export async function watch(login: Login, filter: string, onMessage: (m: Received) => void): Promise<() => void> {
  const client = await connect(login);
  const granted = await client.subscribeAsync(filter, { qos: 1 });
  if (granted.some((g) => g.qos >= 0x80)) {
    client.end(true);
    throw new Error(`The broker refused the subscription to ${filter} (reason ${granted[0].qos}): check the credential's ACL.`);
  }
  client.on("message", (topic, payload, packet) =>
    onMessage({ topic, payload: new TextDecoder().decode(payload), retained: packet.retain, at: new Date() }),
  );
  return () => client.end(true);
}
