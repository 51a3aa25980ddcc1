// Test messages from the browser over MQTT over WebSocket: publish one, and
// watch a filter live, signed in with one of the instance's credentials.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Button, ErrorMessage, Field, Loading, Select } from "../../components/ui";
import { submitting, useAction, useResource } from "../../lib/hooks";
import { publishOnce, watch, type Login, type Received } from "../../lib/mqtt";
import { shownPassword } from "../../lib/secrets";

export function TestMessages({ instance }: { instance: Schemas["Instance"] }) {
  const credentials = useResource(
    () => unwrap(api.GET("/v1/instances/{id}/credentials", { params: { path: { id: instance.id } } })),
    [instance.id],
  );
  const [chosen, setChosen] = useState("");
  const [password, setPassword] = useState("");
  const [topic, setTopic] = useState("console/test");
  const [payload, setPayload] = useState("hello from the console");
  const [retain, setRetain] = useState(false);
  const [filter, setFilter] = useState("#");
  const [published, setPublished] = useState<string | null>(null);
  const [received, setReceived] = useState<Received[]>([]);
  const stop = useRef<(() => void) | null>(null);
  const [watching, setWatching] = useState(false);
  useEffect(() => () => stop.current?.(), []);

  const items = credentials.data?.items ?? [];
  const credential = items.find((c) => c.id === chosen) ?? items[0];
  useEffect(() => {
    if (credential) setPassword(shownPassword(credential.id) ?? "");
  }, [credential]);
  const ws = instance.endpoints.mqtt_wss ? `wss://${instance.endpoints.mqtt_wss}/mqtt` : instance.endpoints.mqtt_ws ? `ws://${instance.endpoints.mqtt_ws}/mqtt` : null;
  const login = (): Login => ({ url: ws ?? "", username: credential?.username ?? "", password });

  const publish = useAction(async () => {
    setPublished(null);
    await publishOnce(login(), topic, payload, retain);
    setPublished(`Published to ${topic}; the broker acknowledged it.`);
  });
  const startWatch = useAction(async () => {
    stop.current?.();
    stop.current = await watch(login(), filter, (m) => setReceived((list) => [m, ...list].slice(0, 50)));
    setWatching(true);
  });
  const stopWatch = () => {
    stop.current?.();
    stop.current = null;
    setWatching(false);
  };
  const onWatch = (e: FormEvent) => {
    e.preventDefault();
    if (watching) stopWatch();
    else void startWatch.run();
  };

  if (!ws) return <p>This instance has no MQTT over WebSocket endpoint, so the browser cannot send test messages.</p>;
  if (credentials.error) return <ErrorMessage error={credentials.error} />;
  if (!credentials.data) return <Loading what="credentials" />;
  if (!credential) return <p className="hint">Create a credential to send test messages from here.</p>;
  return (
    <section className="panel" aria-labelledby="test-messages">
      <h2 id="test-messages">Test messages over MQTT</h2>
      <p className="hint">
        Sent from this browser to <code>{ws}</code>. MQTT messages also land in the Kafka topic the instance's mapping names (<code>mqtt</code> by default).
      </p>
      <div className="row">
        <Select label="Sign in as" value={credential.id} onChange={(e) => setChosen(e.target.value)}>
          {items.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name} ({c.username})
            </option>
          ))}
        </Select>
        <Field label="Password" type="password" autoComplete="off" value={password} onChange={(e) => setPassword(e.target.value)} />
      </div>
      <form onSubmit={submitting(publish.run)} className="row" aria-label="Publish a test message">
        <Field label="Topic" required value={topic} onChange={(e) => setTopic(e.target.value)} />
        <Field label="Message" value={payload} onChange={(e) => setPayload(e.target.value)} />
        <label className="inline">
          <input type="checkbox" checked={retain} onChange={(e) => setRetain(e.target.checked)} /> Retain
        </label>
        <Button type="submit" busy={publish.busy}>
          Publish
        </Button>
      </form>
      <ErrorMessage error={publish.error} />
      {published && (
        <p className="ok" role="status">
          {published}
        </p>
      )}
      <form onSubmit={onWatch} className="row" aria-label="Watch messages">
        <Field label="Watch filter" required value={filter} disabled={watching} onChange={(e) => setFilter(e.target.value)} />
        <Button type="submit" variant="secondary" busy={startWatch.busy}>
          {watching ? "Stop watching" : "Watch"}
        </Button>
      </form>
      <ErrorMessage error={startWatch.error} />
      {watching && (
        <ul className="messages" aria-live="polite" aria-label="Received messages">
          {received.length === 0 && <li className="hint">Waiting for messages on {filter}…</li>}
          {received.map((m, i) => (
            <li key={`${m.at.getTime()}-${i}`}>
              <code>{m.topic}</code> {m.payload} {m.retained && <em>(retained)</em>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
