import { PASSWORD_PLACEHOLDER, shellQuote, snippets } from "./snippets";

const target = {
  instanceId: "0193",
  instanceName: "sensors",
  plan: "developer",
  endpoints: { mqtt: "mq.example.com:1883", mqtt_ws: "mq.example.com:8083", kafka: "kafka.example.com:9092" },
  username: "sensors-abc",
  password: "it's-a\"secret",
  mqttTopic: "sensors/#",
  kafkaTopic: "mqtt",
  apiEndpoint: "https://api.example.com",
};

describe("snippets", () => {
  it("cover every client the connect panel promises", () => {
    expect(snippets(target).map((s) => s.id)).toEqual(["mosquitto", "paho", "mqttjs", "kcat", "confluent-kafka", "java", "terraform"]);
  });

  it("fill in endpoint and credential, quoted for their language", () => {
    const byId = Object.fromEntries(snippets(target).map((s) => [s.id, s.code]));
    expect(byId.mosquitto).toContain(`-h mq.example.com -p 1883 -u 'sensors-abc' -P 'it'"'"'s-a"secret'`);
    expect(byId.paho).toContain(`client.username_pw_set("sensors-abc", "it's-a\\"secret")`);
    expect(byId.mqttjs).toContain(`mqtt.connect("ws://mq.example.com:8083/mqtt"`);
    expect(byId.kcat).toContain("-b kafka.example.com:9092");
    expect(byId["confluent-kafka"]).toContain(`"sasl.mechanisms": "SCRAM-SHA-256"`);
    expect(byId.java).toContain(`String password = "it's-a\\"secret";`);
    expect(byId.terraform).toContain('source = "omnibus/omnibus"');
    expect(byId.terraform).toContain("terraform import omnibus_instance.sensors 0193");
  });

  it("leave out protocols the instance does not serve", () => {
    const ids = snippets({ ...target, endpoints: { mqtt: "h:1" }, password: PASSWORD_PLACEHOLDER }).map((s) => s.id);
    expect(ids).toEqual(["mosquitto", "paho", "terraform"]);
  });

  it("quote any shell word safely", () => {
    expect(shellQuote("a'b")).toBe(`'a'"'"'b'`);
  });
});
