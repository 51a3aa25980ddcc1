// An instance at a glance: where to connect (with copy buttons) and how much
// of its plan's quotas it uses.
import { Link } from "react-router";
import { api, unwrap, usageReport, type Schemas } from "../../api/client";
import { Copyable, ErrorMessage, Loading, QuotaBar } from "../../components/ui";
import { bytes, count } from "../../lib/format";
import { useResource } from "../../lib/hooks";

type Instance = Schemas["Instance"];

export function endpointList(e: Schemas["Endpoints"]): [string, string][] {
  const list: [string, string | null | undefined][] = [
    ["MQTT (TCP)", e.mqtt && `mqtt://${e.mqtt}`],
    ["MQTT over TLS", e.mqtt_tls && `mqtts://${e.mqtt_tls}`],
    ["MQTT over WebSocket", e.mqtt_ws && `ws://${e.mqtt_ws}/mqtt`],
    ["MQTT over secure WebSocket", e.mqtt_wss && `wss://${e.mqtt_wss}/mqtt`],
    ["Kafka (SASL PLAIN / SCRAM)", e.kafka],
  ];
  return list.filter((x): x is [string, string] => Boolean(x[1]));
}

/** The latest full minute's average of a per-second-sampled dimension. */
function latestAverage(series: Schemas["UsageSeries"][], dimension: string): number {
  const points = series.find((s) => s.dimension === dimension)?.points ?? [];
  const last = points.at(-1);
  return last ? Math.round(last.value / 60) : 0;
}

export function Overview({ instance }: { instance: Instance }) {
  const quotas = useResource(async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 15 * 60_000);
    const [plans, topics, usage] = await Promise.all([
      unwrap(api.GET("/v1/plans")),
      unwrap(api.GET("/v1/instances/{id}/topics", { params: { path: { id: instance.id } } })),
      usageReport(
        api.GET("/v1/instances/{id}/usage", {
          params: { path: { id: instance.id }, query: { from: from.toISOString(), to: to.toISOString(), granularity: "minute" } },
        }),
      ),
    ]);
    return { plan: plans.items.find((p) => p.name === instance.plan), topics: topics.items, series: usage.series };
  }, [instance.id, instance.plan]);
  return (
    <div className="grid">
      <section className="panel" aria-labelledby="endpoints">
        <h2 id="endpoints">Endpoints</h2>
        {endpointList(instance.endpoints).map(([label, value]) => (
          <Copyable key={label} label={label} value={value} />
        ))}
        <p className="hint">
          Clients sign in with a <Link to={`/instances/${instance.id}/credentials`}>credential</Link>; the{" "}
          <Link to={`/instances/${instance.id}/connect`}>connect panel</Link> has ready-to-run snippets.
        </p>
        <dl className="facts">
          <dt>Instance id</dt>
          <dd>
            <code>{instance.id}</code>
          </dd>
          <dt>Plan</dt>
          <dd>{instance.plan}</dd>
          <dt>Region</dt>
          <dd>{instance.region}</dd>
        </dl>
      </section>
      <section className="panel" aria-labelledby="quotas">
        <h2 id="quotas">Quotas</h2>
        <ErrorMessage error={quotas.error} />
        {!quotas.data ? (
          !quotas.error && <Loading what="quota use" />
        ) : !quotas.data.plan ? (
          <p>The plan {instance.plan} is no longer in the catalogue.</p>
        ) : (
          <>
            <QuotaBar label="Topics" used={quotas.data.topics.length} limit={quotas.data.plan.kafka.max_topics} format={count} />
            <QuotaBar
              label="Partitions"
              used={quotas.data.topics.reduce((n, t) => n + t.partitions, 0)}
              limit={quotas.data.plan.kafka.max_partitions}
              format={count}
            />
            <QuotaBar
              label="Storage (last minute)"
              used={latestAverage(quotas.data.series, "storage_byte_seconds")}
              limit={quotas.data.plan.kafka.max_storage_bytes}
              format={bytes}
            />
            <QuotaBar
              label="Connections (last minute's average)"
              used={latestAverage(quotas.data.series, "connection_seconds")}
              limit={quotas.data.plan.mqtt.max_connections}
              format={count}
            />
            <p className="hint">Usage is metered once a minute; amber from 80 %, red at the limit.</p>
          </>
        )}
      </section>
    </div>
  );
}
