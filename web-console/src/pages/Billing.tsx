// The organization's usage and bill: this month's cost so far and its
// forecast, usage charts over every instance (and a CSV export), and invoices.
import { useState } from "react";
import { api, unwrap, usageReport } from "../api/client";
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
    link.href = URL.createObjectURL(new Blob([text as unknown as string], { type: "text/csv" }));
    link.download = `omnibus-usage-${granularity}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  });
  const draft = invoices.data?.items.find((i) => i.status === "draft");
  return (
    <section>
      <h1>Usage &amp; billing</h1>
      <ErrorMessage error={invoices.error} />
      <div className="grid">
        <section className="panel" aria-labelledby="this-month">
          <h2 id="this-month">This month</h2>
          {!invoices.data ? (
            !invoices.error && <Loading what="the bill" />
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
        {invoices.data && invoices.data.items.length === 0 ? (
          <Empty title="No invoices yet">Each calendar month gets an invoice, a draft while it runs.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Period</th>
                  <th scope="col">Status</th>
                  <th scope="col">Total</th>
                  <th scope="col">Finalized</th>
                  <th scope="col">
                    <span className="sr-only">Lines</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {invoices.data?.items.map((i) => (
                  <tr key={i.id}>
                    <td>{i.period}</td>
                    <td>{i.status}</td>
                    <td>{money(i.total, i.currency)}</td>
                    <td>{when(i.finalized_at)}</td>
                    <td>
                      <Button variant="secondary" aria-expanded={open === i.id} onClick={() => setOpen(open === i.id ? null : i.id)}>
                        {open === i.id ? "Hide lines" : "Show lines"}
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {open &&
          invoices.data?.items
            .filter((i) => i.id === open)
            .map((i) => (
              <div className="table-wrap" key={i.id}>
                <table aria-label={`Lines of ${i.period}`}>
                  <thead>
                    <tr>
                      <th scope="col">Instance</th>
                      <th scope="col">Plan</th>
                      <th scope="col">What</th>
                      <th scope="col">Quantity</th>
                      <th scope="col">Free</th>
                      <th scope="col">Amount</th>
                    </tr>
                  </thead>
                  <tbody>
                    {i.lines.map((l) => (
                      <tr key={`${l.instance_id}-${l.plan}-${l.dimension}`}>
                        <td>{l.instance_name}</td>
                        <td>{l.plan}</td>
                        <td>{l.dimension.replaceAll("_", " ")}</td>
                        <td>
                          {count(l.quantity)} {l.measured_in}
                        </td>
                        <td>{count(l.free_quantity)}</td>
                        <td>{money(l.amount, i.currency)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ))}
      </section>
    </section>
  );
}
