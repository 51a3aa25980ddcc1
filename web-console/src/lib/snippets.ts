// The "connect" panel's snippets: working commands and programs for each
// client, filled with an instance's endpoints and a credential. Pure text, so
// the tests can check what a person would paste.

export type Endpoints = {
  mqtt?: string | null;
  mqtt_tls?: string | null;
  mqtt_ws?: string | null;
  mqtt_wss?: string | null;
  kafka?: string | null;
};

export type ConnectTarget = {
  instanceId: string;
  instanceName: string;
  plan: string;
  endpoints: Endpoints;
  username: string;
  /** The password when the person just saw it; a placeholder otherwise. */
  password: string;
  mqttTopic: string;
  kafkaTopic: string;
  apiEndpoint: string;
};

export type Snippet = { id: string; title: string; language: string; code: string };

export const PASSWORD_PLACEHOLDER = "<password shown when the credential was created>";

function hostPort(address: string): [string, string] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), address.slice(i + 1)];
}

/** Quotes for a POSIX shell: safe for any password. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

const pyString = (value: string) => JSON.stringify(value);

export function snippets(t: ConnectTarget): Snippet[] {
  const out: Snippet[] = [];
  const { mqtt, mqtt_ws, kafka } = t.endpoints;
  const user = shellQuote(t.username);
  const pass = shellQuote(t.password);
  if (mqtt) {
    const [host, port] = hostPort(mqtt);
    out.push({
      id: "mosquitto",
      title: "mosquitto_pub / mosquitto_sub",
      language: "shell",
      code:
        `mosquitto_sub -h ${host} -p ${port} -u ${user} -P ${pass} -t ${shellQuote(t.mqttTopic)} -v &\n` +
        `mosquitto_pub -h ${host} -p ${port} -u ${user} -P ${pass} -t ${shellQuote(t.mqttTopic)} -m 'hello from mosquitto'`,
    });
    out.push({
      id: "paho",
      title: "paho-mqtt (Python)",
      language: "python",
      code: `# pip install "paho-mqtt>=2"
import paho.mqtt.client as mqtt

def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe(${pyString(t.mqttTopic)}, qos=1)
    client.publish(${pyString(t.mqttTopic)}, "hello from paho", qos=1)

def on_message(client, userdata, message):
    print(message.topic, message.payload.decode())

client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
client.username_pw_set(${pyString(t.username)}, ${pyString(t.password)})
client.on_connect = on_connect
client.on_message = on_message
client.connect(${pyString(host)}, ${port})
client.loop_forever()`,
    });
  }
  if (mqtt_ws) {
    out.push({
      id: "mqttjs",
      title: "MQTT.js (browser or Node.js)",
      language: "javascript",
      code: `// npm install mqtt
import mqtt from "mqtt";

const client = mqtt.connect(${JSON.stringify(`ws://${mqtt_ws}/mqtt`)}, {
  username: ${JSON.stringify(t.username)},
  password: ${JSON.stringify(t.password)},
  protocolVersion: 5,
});
client.on("connect", () => {
  client.subscribe(${JSON.stringify(t.mqttTopic)}, { qos: 1 });
  client.publish(${JSON.stringify(t.mqttTopic)}, "hello from MQTT.js", { qos: 1 });
});
client.on("message", (topic, payload) => console.log(topic, payload.toString()));`,
    });
  }
  if (kafka) {
    const sasl = `-X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=SCRAM-SHA-256 -X sasl.username=${user} -X sasl.password=${pass}`;
    out.push({
      id: "kcat",
      title: "kcat",
      language: "shell",
      code:
        `echo 'hello from kcat' | kcat -b ${kafka} ${sasl} -P -t ${shellQuote(t.kafkaTopic)}\n` +
        `kcat -b ${kafka} ${sasl} -C -t ${shellQuote(t.kafkaTopic)} -o beginning -e`,
    });
    out.push({
      id: "confluent-kafka",
      title: "confluent-kafka (Python)",
      language: "python",
      code: `# pip install confluent-kafka
from confluent_kafka import Consumer, Producer

conf = {
    "bootstrap.servers": ${pyString(kafka)},
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "SCRAM-SHA-256",
    "sasl.username": ${pyString(t.username)},
    "sasl.password": ${pyString(t.password)},
}
producer = Producer(conf)
producer.produce(${pyString(t.kafkaTopic)}, b"hello from confluent-kafka")
producer.flush()

consumer = Consumer({**conf, "group.id": "console-example", "auto.offset.reset": "earliest"})
consumer.subscribe([${pyString(t.kafkaTopic)}])
message = consumer.poll(10)
print(message.value() if message else "nothing yet")
consumer.close()`,
    });
    out.push({
      id: "java",
      title: "Apache Kafka Java client",
      language: "java",
      code: `// org.apache.kafka:kafka-clients
import java.util.Properties;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.StringSerializer;

public class Hello {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", ${JSON.stringify(kafka)});
        props.put("security.protocol", "SASL_PLAINTEXT");
        props.put("sasl.mechanism", "SCRAM-SHA-256");
        String username = ${JSON.stringify(t.username)};
        String password = ${JSON.stringify(t.password)};
        props.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required"
            + " username=\"" + username + "\" password=\"" + password + "\";");
        props.put("key.serializer", StringSerializer.class.getName());
        props.put("value.serializer", StringSerializer.class.getName());
        try (Producer<String, String> producer = new KafkaProducer<>(props)) {
            producer.send(new ProducerRecord<>(${JSON.stringify(t.kafkaTopic)}, "hello from Java")).get();
        }
    }
}`,
    });
  }
  out.push({
    id: "terraform",
    title: "Terraform",
    language: "hcl",
    code: `terraform {
  required_providers {
    omnibus = { source = "omnibus/omnibus" }
  }
}

provider "omnibus" {
  endpoint = ${JSON.stringify(t.apiEndpoint)} # the API key comes from OMNIBUS_API_KEY
}

# terraform import omnibus_instance.${tfName(t.instanceName)} ${t.instanceId}
resource "omnibus_instance" "${tfName(t.instanceName)}" {
  name = ${JSON.stringify(t.instanceName)}
  plan = ${JSON.stringify(t.plan)}
}

resource "omnibus_credential" "app" {
  instance_id = omnibus_instance.${tfName(t.instanceName)}.id
  name        = "app"
  acl = [
    { topic = "#", actions = ["publish", "subscribe", "produce", "consume", "group"] },
  ]
}

output "password" {
  value     = omnibus_credential.app.password
  sensitive = true
}`,
  });
  return out;
}

function tfName(name: string): string {
  const cleaned = name.replaceAll(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `i_${cleaned}`;
}
