// One instance's metered usage over time, with a CSV export.
import { useState } from "react";
import { api, usageReport, type Schemas } from "../../api/client";
import { ErrorMessage, Loading } from "../../components/ui";
import { GranularityPicker, periodStart, UsageCharts, type Granularity } from "../../components/UsageCharts";
import { useResource } from "../../lib/hooks";

export function Usage({ instance }: { instance: Schemas["Instance"] }) {
  const [granularity, setGranularity] = useState<Granularity>("minute");
  const usage = useResource(
    () =>
      usageReport(
        api.GET("/v1/instances/{id}/usage", {
          params: { path: { id: instance.id }, query: { from: periodStart(granularity).toISOString(), to: new Date().toISOString(), granularity } },
        }),
      ),
    [instance.id, granularity],
  );
  return (
    <section className="panel" aria-labelledby="usage">
      <h2 id="usage">Usage</h2>
      <GranularityPicker value={granularity} onChange={setGranularity} />
      <ErrorMessage error={usage.error} />
      {!usage.data ? !usage.error && <Loading what="usage" /> : <UsageCharts series={usage.data.series} granularity={granularity} />}
    </section>
  );
}
