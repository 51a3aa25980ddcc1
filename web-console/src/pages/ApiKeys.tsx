// API keys of the organization: create one (shown once), see when each was
// last used, revoke.
import { useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { DataTable, ListView } from "../components/DataTable";
import { Button, Empty, ErrorMessage, Field, SecretOnce, Select } from "../components/ui";
import { when } from "../lib/format";
import { submitting, useAction, useResource } from "../lib/hooks";

const ROLES: Schemas["RoleName"][] = ["owner", "admin", "developer", "viewer", "billing"];

export function ApiKeys() {
  const keys = useResource(() => unwrap(api.GET("/v1/api-keys")), []);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Schemas["RoleName"]>("developer");
  const [created, setCreated] = useState<Schemas["CreatedApiKey"] | null>(null);
  const create = useAction(async () => {
    setCreated(await unwrap(api.POST("/v1/api-keys", { body: { name, role } })));
    setName("");
    await keys.reload();
  });
  const revoke = useAction(async (id: string) => {
    await unwrap(api.DELETE("/v1/api-keys/{id}", { params: { path: { id } } }));
    await keys.reload();
  });
  return (
    <section className="stack">
      <h1>API keys</h1>
      <p className="hint">For Terraform, CI and scripts: send as <code>Authorization: Bearer &lt;key&gt;</code>.</p>
      {created && <SecretOnce label={`API key ${created.name}`} value={created.key} onDone={() => setCreated(null)} />}
      <section className="panel" aria-labelledby="keys">
        <h2 id="keys">Keys</h2>
        <ErrorMessage error={revoke.error} />
        <ListView
          resource={keys}
          what="API keys"
          empty={<Empty title="No API keys">Create one below to use the API or the Terraform provider without a password.</Empty>}
        >
          {(items) => (
            <DataTable
              rows={items}
              rowKey={(k) => k.id}
              columns={[
                { header: "Name", cell: (k) => k.name },
                { header: "Key", cell: (k) => <code>{k.prefix}…</code> },
                { header: "Role", cell: (k) => k.role },
                { header: "Last used", cell: (k) => when(k.last_used_at) },
                { header: "Expires", cell: (k) => (k.expires_at ? when(k.expires_at) : "never") },
                {
                  header: "Actions",
                  hiddenHeader: true,
                  cell: (k) => (
                    <Button
                      variant="danger"
                      busy={revoke.busy}
                      aria-label={`Revoke ${k.name}`}
                      onClick={() => {
                        if (confirm(`Revoke ${k.name}? Whatever uses it stops working at once.`)) void revoke.run(k.id);
                      }}
                    >
                      Revoke
                    </Button>
                  ),
                },
              ]}
            />
          )}
        </ListView>
      </section>
      <section className="panel" aria-labelledby="new-key">
        <h2 id="new-key">New API key</h2>
        <form className="row" onSubmit={submitting(create.run)}>
          <Field label="Key name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          <Select label="Role" value={role} onChange={(e) => setRole(e.target.value as Schemas["RoleName"])}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </Select>
          <Button type="submit" busy={create.busy}>
            Create key
          </Button>
        </form>
        <ErrorMessage error={create.error} />
      </section>
    </section>
  );
}
