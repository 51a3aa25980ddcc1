// An instance's credentials: create one with its ACL (the password shown
// once), rotate it (a new password, the old one revoked) or delete it.
import { useState } from "react";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../../api/client";
import { DataTable, ListView } from "../../components/DataTable";
import { Button, Empty, ErrorMessage, Field, SecretOnce } from "../../components/ui";
import { when } from "../../lib/format";
import { submitting, useAction, useResource } from "../../lib/hooks";
import { rememberPassword } from "../../lib/secrets";

type Instance = Schemas["Instance"];
type AclRule = Schemas["AclRule"];
type AclAction = Schemas["AclAction"];

const ACTIONS: [AclAction, string][] = [
  ["publish", "MQTT publish"],
  ["subscribe", "MQTT subscribe"],
  ["produce", "Kafka produce"],
  ["consume", "Kafka consume"],
  ["group", "Kafka consumer groups"],
];

export function AclEditor({ rules, onChange }: { rules: AclRule[]; onChange: (rules: AclRule[]) => void }) {
  const set = (index: number, rule: AclRule) => onChange(rules.map((r, i) => (i === index ? rule : r)));
  return (
    <fieldset className="acl">
      <legend>Access (ACL)</legend>
      <p className="hint">Each rule allows its actions on the topics its filter matches (`+` one level, `#` the rest).</p>
      {rules.map((rule, index) => (
        <div className="acl-rule" key={index}>
          <Field
            label={`Rule ${index + 1} topic filter`}
            required
            value={rule.topic}
            onChange={(e) => set(index, { ...rule, topic: e.target.value })}
          />
          <div className="checks" role="group" aria-label={`Rule ${index + 1} actions`}>
            {ACTIONS.map(([action, label]) => (
              <label key={action}>
                <input
                  type="checkbox"
                  checked={rule.actions.includes(action)}
                  onChange={(e) =>
                    set(index, {
                      ...rule,
                      actions: e.target.checked ? [...rule.actions, action] : rule.actions.filter((a) => a !== action),
                    })
                  }
                />
                {label}
              </label>
            ))}
          </div>
          {rules.length > 1 && (
            <Button type="button" variant="secondary" onClick={() => onChange(rules.filter((_, i) => i !== index))}>
              Remove rule {index + 1}
            </Button>
          )}
        </div>
      ))}
      <Button type="button" variant="secondary" onClick={() => onChange([...rules, { topic: "", actions: ["publish", "subscribe"] }])}>
        Add a rule
      </Button>
    </fieldset>
  );
}

export function Credentials({ instance }: { instance: Instance }) {
  const path = { path: { id: instance.id } };
  const list = useResource(() => unwrap(api.GET("/v1/instances/{id}/credentials", { params: path })), [instance.id]);
  const [name, setName] = useState("");
  const [rules, setRules] = useState<AclRule[]>([{ topic: "#", actions: ACTIONS.map(([a]) => a) }]);
  const [secret, setSecret] = useState<{ label: string; password: string } | null>(null);
  const create = useAction(async () => {
    const made = await unwrap(api.POST("/v1/instances/{id}/credentials", { params: path, body: { name: name || null, acl: rules } }));
    rememberPassword(made.id, made.password);
    setSecret({ label: `Password of ${made.username}`, password: made.password });
    setName("");
    await list.reload();
  });
  const rotate = useAction(async (credential: Schemas["Credential"]) => {
    const made = await unwrap(
      api.POST("/v1/instances/{id}/credentials/{cid}/rotate", { params: { path: { id: instance.id, cid: credential.id } } }),
    );
    rememberPassword(made.id, made.password);
    setSecret({ label: `New password of ${made.username}`, password: made.password });
    await list.reload();
  });
  const remove = useAction(async (credential: Schemas["Credential"]) => {
    await unwrap(api.DELETE("/v1/instances/{id}/credentials/{cid}", { params: { path: { id: instance.id, cid: credential.id } } }));
    await list.reload();
  });
  return (
    <div className="stack">
      {secret && <SecretOnce label={secret.label} value={secret.password} onDone={() => setSecret(null)} />}
      <section className="panel" aria-labelledby="credential-list">
        <h2 id="credential-list">Credentials</h2>
        <ErrorMessage error={rotate.error ?? remove.error} />
        <ListView
          resource={list}
          what="credentials"
          empty={
            <Empty title="No credentials yet">
              MQTT and Kafka clients sign in with a credential's username and password. Create one below, then open the{" "}
              <Link to={`/instances/${instance.id}/connect`}>connect panel</Link>.
            </Empty>
          }
        >
          {(items) => (
            <DataTable
              rows={items}
              rowKey={(c) => c.id}
              columns={[
                { header: "Name", cell: (c) => c.name },
                { header: "Username", cell: (c) => <code>{c.username}</code> },
                {
                  header: "ACL",
                  cell: (c) =>
                    c.acl.map((r) => (
                      <div key={r.topic}>
                        <code>{r.topic}</code>: {r.actions.join(", ")}
                      </div>
                    )),
                },
                { header: "Created", cell: (c) => when(c.created_at) },
                {
                  header: "Actions",
                  hiddenHeader: true,
                  className: "row-actions",
                  cell: (c) => (
                    <>
                      <Button variant="secondary" busy={rotate.busy} onClick={() => void rotate.run(c)} aria-label={`Rotate ${c.name}`}>
                        Rotate
                      </Button>
                      <Button
                        variant="danger"
                        busy={remove.busy}
                        aria-label={`Delete ${c.name}`}
                        onClick={() => {
                          if (confirm(`Delete ${c.name}? Clients using it are disconnected.`)) void remove.run(c);
                        }}
                      >
                        Delete
                      </Button>
                    </>
                  ),
                },
              ]}
            />
          )}
        </ListView>
      </section>
      <section className="panel" aria-labelledby="new-credential">
        <h2 id="new-credential">New credential</h2>
        <form onSubmit={submitting(create.run)} className="stack">
          <Field label="Credential name" hint="To tell credentials apart, e.g. gateway." value={name} onChange={(e) => setName(e.target.value)} />
          <AclEditor rules={rules} onChange={setRules} />
          <ErrorMessage error={create.error} />
          <Button type="submit" busy={create.busy}>
            Create credential
          </Button>
        </form>
      </section>
    </div>
  );
}
