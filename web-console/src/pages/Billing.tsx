// The organization's usage and bill: this month's cost so far and its
// forecast, usage charts over every instance (and a CSV export), and invoices.
import { useState } from "react";
import { api, unwrap, usageReport } from "../api/client";
import { DataTable, ListView } from "../components/DataTable";
import { Button, Empty, ErrorMessage, Loading } from "../components/ui";
import { GranularityPicker, periodStart, UsageCharts, type Granularity } from "../components/UsageCharts";
import { count, money, when } from "../lib/format";
import { useAction, useResource } from "../lib/hooks";

export function Billing() {
  const invoices = useResource(() => unwrap(api.GET("/v1/invoices")), []);
  const [granularity, setGranularity] = useState<Granularity>("hour");
  const [open, setOpen] = useState<string | null>(null);
  const usage = useResource(
    () =>
      usageReport(api.GET("/v1/usage", { params: { query: { from: periodStart(granularity).toISOString(), to: new Date().toISOString(), granularity } } })),
    [granularity],
  );
  const csv = useAction(async () => {
    const text = await unwrap(
      api.GET("/v1/usage", {
        params: { query: { from: periodStart(granularity).toISOString(), to: new Date().toISOString(), granularity, format: "csv" } },
        parseAs: "text",
      }),
    );
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([String(text)], { type: "text/csv" }));
    link.download = `omnibus-usage-${granularity}.csv`;
    link.click();
    // The download has started from the object URL by the next task.
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  });
  const draft = invoices.data?.items.find((i) => i.status === "draft");
  return (
    <section>
      <h1>Usage &amp; billing</h1>
      <div className="grid">
        <section className="panel" aria-labelledby="this-month">
          <h2 id="this-month">This month</h2>
          {!invoices.data ? (
            invoices.error ? <ErrorMessage error={invoices.error} /> : <Loading what="the bill" />
          ) : draft ? (
            <dl className="figures">
              <div>
                <dt>Cost to date</dt>
                <dd data-testid="cost-to-date">{money(draft.total, draft.currency)}</dd>
              </div>
              <div>
                <dt>Forecast for {draft.period}</dt>
                <dd data-testid="forecast">{draft.forecast_total === null || draft.forecast_total === undefined ? "—" : money(draft.forecast_total, draft.currency)}</dd>
              </div>
            </dl>
          ) : (
            <p>Nothing billed this month yet: an instance starts the meter.</p>
          )}
        </section>
      </div>
      <section className="panel" aria-labelledby="org-usage">
        <div className="page-head">
          <h2 id="org-usage">Usage of every instance</h2>
          <Button variant="secondary" busy={csv.busy} onClick={() => void csv.run()}>
            Download CSV
          </Button>
        </div>
        <GranularityPicker value={granularity} onChange={setGranularity} />
        <ErrorMessage error={usage.error ?? csv.error} />
        {!usage.data ? !usage.error && <Loading what="usage" /> : <UsageCharts series={usage.data.series} granularity={granularity} />}
      </section>
      <section className="panel" aria-labelledby="invoices">
        <h2 id="invoices">Invoices</h2>
        <ListView
          resource={invoices}
          what="invoices"
          empty={<Empty title="No invoices yet">Each calendar month gets an invoice, a draft while it runs.</Empty>}
        >
          {(items) => (
            <>
              <DataTable
                rows={items}
                rowKey={(i) => i.id}
                columns={[
                  { header: "Period", cell: (i) => i.period },
                  { header: "Status", cell: (i) => i.status },
                  { header: "Total", cell: (i) => money(i.total, i.currency) },
                  { header: "Finalized", cell: (i) => when(i.finalized_at) },
                  {
                    header: "Lines",
                    hiddenHeader: true,
                    cell: (i) => (
                      <Button variant="secondary" aria-expanded={open === i.id} onClick={() => setOpen(open === i.id ? null : i.id)}>
                        {open === i.id ? "Hide lines" : "Show lines"}
                      </Button>
                    ),
                  },
                ]}
              />
              {items
                .filter((i) => i.id === open)
                .map((i) => (
                  <DataTable
                    key={i.id}
                    label={`Lines of ${i.period}`}
                    rows={i.lines}
                    rowKey={(l) => `${l.instance_id}-${l.plan}-${l.dimension}`}
                    columns={[
                      { header: "Instance", cell: (l) => l.instance_name },
                      { header: "Plan", cell: (l) => l.plan },
                      { header: "What", cell: (l) => l.dimension.replaceAll("_", " ") },
                      { header: "Quantity", cell: (l) => `${count(l.quantity)} ${l.measured_in}` },
                      { header: "Free", cell: (l) => count(l.free_quantity) },
                      { header: "Amount", cell: (l) => money(l.amount, i.currency) },
                    ]}
                  />
                ))}
            </>
          )}
        </ListView>
      </section>
    </section>
  );
}
