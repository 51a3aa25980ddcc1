// The latest records of a Kafka topic, read through the API (the broker
// decodes its stored batches; nothing is consumed or committed).
import { api, unwrap } from "../../api/client";
import { Button, Empty, ErrorMessage, Loading } from "../../components/ui";
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
      <ErrorMessage error={messages.error} />
      {!messages.data ? (
        !messages.error && <Loading what="messages" />
      ) : messages.data.items.length === 0 ? (
        <Empty title="No messages yet">Nothing is stored in {topic}. Publish a test message below, or produce with any Kafka client.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Partition</th>
                <th scope="col">Offset</th>
                <th scope="col">Time</th>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {messages.data.items.map((m) => (
                <tr key={`${m.partition}-${m.offset}`}>
                  <td>{m.partition}</td>
                  <td>{m.offset}</td>
                  <td>{when(m.timestamp)}</td>
                  <td>{m.key === null || m.key === undefined ? <em>none</em> : <code>{m.key}</code>}</td>
                  <td className="value">
                    {m.value ?? <em>null</em>}
                    {m.binary && <em> (binary, base64)</em>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
