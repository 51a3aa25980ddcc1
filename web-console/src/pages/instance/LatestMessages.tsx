// The latest records of a Kafka topic, read through the API (the broker
// decodes its stored batches; nothing is consumed or committed).
import { api, unwrap } from "../../api/client";
import { DataTable, ListView } from "../../components/DataTable";
import { Button, Empty } from "../../components/ui";
import { when } from "../../lib/format";
import { useResource } from "../../lib/hooks";

export function LatestMessages({ instanceId, topic }: { instanceId: string; topic: string }) {
  const messages = useResource(
    () =>
      unwrap(
        api.GET("/v1/instances/{id}/topics/{name}/messages", {
          params: { path: { id: instanceId, name: topic }, query: { limit: 20 } },
        }),
      ),
    [instanceId, topic],
  );
  return (
    <section className="panel" aria-labelledby="latest">
      <div className="page-head">
        <h2 id="latest">
          Latest messages of <code>{topic}</code>
        </h2>
        <Button variant="secondary" busy={messages.loading} onClick={() => void messages.reload()}>
          Refresh
        </Button>
      </div>
      <ListView
        resource={messages}
        what="messages"
        empty={<Empty title="No messages yet">Nothing is stored in {topic}. Publish a test message below, or produce with any Kafka client.</Empty>}
      >
        {(items) => (
          <DataTable
            rows={items}
            rowKey={(m) => `${m.partition}-${m.offset}`}
            columns={[
              { header: "Partition", cell: (m) => m.partition },
              { header: "Offset", cell: (m) => m.offset },
              { header: "Time", cell: (m) => when(m.timestamp) },
              { header: "Key", cell: (m) => (m.key === null || m.key === undefined ? <em>none</em> : <code>{m.key}</code>) },
              {
                header: "Value",
                className: "value",
                cell: (m) => (
                  <>
                    {m.value ?? <em>null</em>}
                    {m.binary && <em> (binary, base64)</em>}
                    {m.value_truncated && <em> (first 4 KiB)</em>}
                  </>
                ),
              },
            ]}
          />
        )}
      </ListView>
    </section>
  );
}
