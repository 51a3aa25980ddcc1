// An instance's Kafka topics (list, create, configure, delete), the latest
// records of one, and test messages over MQTT from the browser.
import { useState } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { DataTable, ListView } from "../../components/DataTable";
import { Button, Empty, ErrorMessage, Field } from "../../components/ui";
import { duration } from "../../lib/format";
import { submitting, useAction, useResource } from "../../lib/hooks";
import { LatestMessages } from "./LatestMessages";
import { TestMessages } from "./TestMessages";

type Topic = Schemas["Topic"];
const DAY = 86_400_000;

function TopicSettings({ instanceId, topic, onSaved }: { instanceId: string; topic: Topic; onSaved: () => Promise<void> }) {
  const [partitions, setPartitions] = useState(topic.partitions);
  const [retentionDays, setRetentionDays] = useState(topic.retention_ms < 0 ? -1 : topic.retention_ms / DAY);
  const [retentionBytes, setRetentionBytes] = useState(topic.retention_bytes);
  const [tiered, setTiered] = useState(topic.remote_storage_enable);
  const [localDays, setLocalDays] = useState(topic.local_retention_ms < 0 ? topic.local_retention_ms : topic.local_retention_ms / DAY);
  const save = useAction(async () => {
    const body: Schemas["UpdateTopicRequest"] = {
      retention_ms: retentionDays < 0 ? -1 : Math.round(retentionDays * DAY),
      retention_bytes: retentionBytes,
    };
    if (tiered) {
      body.remote_storage_enable = true;
      body.local_retention_ms = localDays < 0 ? localDays : Math.round(localDays * DAY);
    }
    if (partitions !== topic.partitions) body.partitions = partitions;
    await unwrap(api.PATCH("/v1/instances/{id}/topics/{name}", { params: { path: { id: instanceId, name: topic.name } }, body }));
    await onSaved();
  });
  return (
    <form className="row" onSubmit={submitting(save.run)} aria-label={`Settings of ${topic.name}`}>
      <Field label="Partitions" type="number" min={topic.partitions} value={partitions} onChange={(e) => setPartitions(Number(e.target.value))} />
      <Field label="Retention (days, -1 forever)" type="number" step="any" min={-1} value={retentionDays} onChange={(e) => setRetentionDays(Number(e.target.value))} />
      <Field label="Retention bytes per partition (-1 no limit)" type="number" min={-1} value={retentionBytes} onChange={(e) => setRetentionBytes(Number(e.target.value))} />
      <label>
        {/* Kafka's rule: tiered storage cannot be switched off once on. */}
        <input type="checkbox" checked={tiered} disabled={topic.remote_storage_enable} onChange={(e) => setTiered(e.target.checked)} /> Tiered storage (object store)
      </label>
      {tiered && (
        <Field label="Local copies kept (days, -2 as retention, -1 forever)" type="number" step="any" min={-2} value={localDays} onChange={(e) => setLocalDays(Number(e.target.value))} />
      )}
      <Button type="submit" busy={save.busy}>
        Save {topic.name}
      </Button>
      <ErrorMessage error={save.error} />
    </form>
  );
}

export function Topics({ instance }: { instance: Schemas["Instance"] }) {
  const path = { path: { id: instance.id } };
  const topics = useResource(() => unwrap(api.GET("/v1/instances/{id}/topics", { params: path })), [instance.id]);
  const [name, setName] = useState("");
  const [partitions, setPartitions] = useState(1);
  const [editing, setEditing] = useState<string | null>(null);
  const [browsing, setBrowsing] = useState<string | null>(null);
  const create = useAction(async () => {
    await unwrap(api.POST("/v1/instances/{id}/topics", { params: path, body: { name, partitions } }));
    setName("");
    await topics.reload();
  });
  const remove = useAction(async (topic: string) => {
    await unwrap(api.DELETE("/v1/instances/{id}/topics/{name}", { params: { path: { id: instance.id, name: topic } } }));
    if (browsing === topic) setBrowsing(null);
    await topics.reload();
  });
  return (
    <div className="stack">
      <section className="panel" aria-labelledby="topic-list">
        <h2 id="topic-list">Kafka topics</h2>
        <ErrorMessage error={remove.error} />
        <ListView
          resource={topics}
          what="topics"
          empty={
            <Empty title="No topics yet">
              Create a topic below or with any Kafka admin client; MQTT messages land in <code>mqtt</code> once it exists.
            </Empty>
          }
        >
          {(items) => (
            <DataTable
              rows={items}
              rowKey={(t) => t.name}
              columns={[
                {
                  header: "Topic",
                  cell: (t) => (
                    <>
                      <code>{t.name}</code>
                      {editing === t.name && <TopicSettings instanceId={instance.id} topic={t} onSaved={async () => { setEditing(null); await topics.reload(); }} />}
                    </>
                  ),
                },
                { header: "Partitions", cell: (t) => t.partitions },
                {
                  header: "Retention",
                  cell: (t) =>
                    `${duration(t.retention_ms)}${t.retention_bytes >= 0 ? `, ${t.retention_bytes} bytes` : ""}` +
                    (t.remote_storage_enable ? `; tiered, local ${t.local_retention_ms === -2 ? "as retention" : duration(t.local_retention_ms)}` : ""),
                },
                {
                  header: "Actions",
                  hiddenHeader: true,
                  className: "row-actions",
                  cell: (t) => (
                    <>
                      <Button variant="secondary" onClick={() => setBrowsing(t.name)} aria-label={`Latest messages of ${t.name}`}>
                        Messages
                      </Button>
                      <Button variant="secondary" onClick={() => setEditing(editing === t.name ? null : t.name)} aria-label={`Configure ${t.name}`}>
                        Configure
                      </Button>
                      <Button
                        variant="danger"
                        busy={remove.busy}
                        aria-label={`Delete ${t.name}`}
                        onClick={() => {
                          if (confirm(`Delete the topic ${t.name} and its messages?`)) void remove.run(t.name);
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
        <form onSubmit={submitting(create.run)} className="row" aria-label="New topic">
          <Field label="New topic name" required pattern="[A-Za-z0-9._\-]{1,249}" value={name} onChange={(e) => setName(e.target.value)} />
          <Field label="Partitions" type="number" min={1} max={1000} value={partitions} onChange={(e) => setPartitions(Number(e.target.value))} />
          <Button type="submit" busy={create.busy}>
            Create topic
          </Button>
        </form>
        <ErrorMessage error={create.error} />
      </section>
      {browsing && <LatestMessages instanceId={instance.id} topic={browsing} />}
      <TestMessages instance={instance} />
    </div>
  );
}
