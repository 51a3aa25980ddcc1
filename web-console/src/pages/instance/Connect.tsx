// The connect panel: snippets for every client, filled with the instance's
// endpoints and the chosen credential (its password when it was shown this
// visit, a placeholder otherwise).
import { useState } from "react";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { CopyButton, Empty, ErrorMessage, Field, Loading, Select } from "../../components/ui";
import { useResource } from "../../lib/hooks";
import { shownPassword } from "../../lib/secrets";
import { PASSWORD_PLACEHOLDER, snippets } from "../../lib/snippets";

export function Connect({ instance }: { instance: Schemas["Instance"] }) {
  const credentials = useResource(
    () => unwrap(api.GET("/v1/instances/{id}/credentials", { params: { path: { id: instance.id } } })),
    [instance.id],
  );
  const [chosen, setChosen] = useState<string>("");
  const [mqttTopic, setMqttTopic] = useState("sensors/hello");
  const [kafkaTopic, setKafkaTopic] = useState("mqtt");
  const [shown, setShown] = useState("mosquitto");
  if (credentials.error) return <ErrorMessage error={credentials.error} />;
  if (!credentials.data) return <Loading what="credentials" />;
  const items = credentials.data.items;
  if (items.length === 0) {
    return (
      <Empty title="Make a credential first">
        Snippets need a username and password. <Link to={`/instances/${instance.id}/credentials`}>Create a credential</Link> and come back.
      </Empty>
    );
  }
  const credential = items.find((c) => c.id === chosen) ?? items[0];
  const password = shownPassword(credential.id);
  const list = snippets({
    instanceId: instance.id,
    instanceName: instance.name,
    plan: instance.plan,
    endpoints: instance.endpoints,
    username: credential.username,
    password: password ?? PASSWORD_PLACEHOLDER,
    mqttTopic,
    kafkaTopic,
    apiEndpoint: location.origin,
  });
  const current = list.find((s) => s.id === shown) ?? list[0];
  return (
    <div className="stack">
      <div className="row">
        <Select label="Credential" value={credential.id} onChange={(e) => setChosen(e.target.value)}>
          {items.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name} ({c.username})
            </option>
          ))}
        </Select>
        <Field label="MQTT topic" value={mqttTopic} onChange={(e) => setMqttTopic(e.target.value)} />
        <Field label="Kafka topic" value={kafkaTopic} onChange={(e) => setKafkaTopic(e.target.value)} />
      </div>
      {!password && (
        <p className="hint">
          The password was shown when the credential was made; paste it where the snippets say so, or{" "}
          <Link to={`/instances/${instance.id}/credentials`}>rotate the credential</Link> to see a new one here.
        </p>
      )}
      <p className="hint">
        MQTT messages land in the Kafka topic <code>mqtt</code> through the instance's default mapping, so the Kafka snippets read what the MQTT ones send.
      </p>
      <div className="snippet-tabs" role="tablist" aria-label="Client">
        {list.map((s) => (
          <button
            key={s.id}
            type="button"
            role="tab"
            id={`tab-${s.id}`}
            aria-selected={s.id === current.id}
            aria-controls="snippet"
            tabIndex={s.id === current.id ? 0 : -1}
            onClick={() => setShown(s.id)}
            onKeyDown={(e) => {
              const at = list.findIndex((x) => x.id === current.id);
              const next = e.key === "ArrowRight" ? at + 1 : e.key === "ArrowLeft" ? at - 1 : null;
              if (next === null) return;
              const target = list[(next + list.length) % list.length];
              setShown(target.id);
              document.getElementById(`tab-${target.id}`)?.focus();
            }}
          >
            {s.title}
          </button>
        ))}
      </div>
      <div id="snippet" role="tabpanel" aria-labelledby={`tab-${current.id}`} className="snippet">
        <div className="snippet-head">
          <span>{current.title}</span>
          <CopyButton text={current.code} label={`${current.title} snippet`} />
        </div>
        <pre>
          <code data-language={current.language}>{current.code}</code>
        </pre>
      </div>
    </div>
  );
}
