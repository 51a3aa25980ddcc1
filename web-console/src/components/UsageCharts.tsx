// Charts of metered usage (Recharts): messages, bytes, connections and
// storage over time, for one instance or the whole organization.
import { useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Schemas } from "../api/client";
import { bytes, count } from "../lib/format";
import { DataTable } from "./DataTable";
import { Empty } from "./ui";

type Series = Schemas["UsageSeries"];
export type Granularity = "minute" | "hour" | "day";

const BUCKET_SECONDS: Record<Granularity, number> = { minute: 60, hour: 3600, day: 86400 };

const CHARTS: { title: string; dimensions: [string, string][]; format: (n: number) => string; perSecond?: boolean }[] = [
  {
    title: "Messages",
    format: count,
    dimensions: [
      ["mqtt_messages_in", "MQTT in"],
      ["mqtt_messages_out", "MQTT out"],
      ["kafka_messages_in", "Kafka in"],
      ["kafka_messages_out", "Kafka out"],
    ],
  },
  {
    title: "Bytes",
    format: bytes,
    dimensions: [
      ["mqtt_bytes_in", "MQTT in"],
      ["mqtt_bytes_out", "MQTT out"],
      ["kafka_bytes_in", "Kafka in"],
      ["kafka_bytes_out", "Kafka out"],
    ],
  },
  { title: "Connections (average)", format: count, perSecond: true, dimensions: [["connection_seconds", "Connections"]] },
  { title: "Storage (average)", format: bytes, perSecond: true, dimensions: [["storage_byte_seconds", "Log bytes"]] },
];

const COLORS = ["#1d4ed8", "#b45309", "#047857", "#7c3aed"];

type Row = Record<string, number | string>;

/** Rows for one chart: one per bucket, a column per dimension, summed over instances. */
export function chartRows(series: Series[], dimensions: string[], divisor: number): Row[] {
  const rows = new Map<string, Row>();
  for (const s of series) {
    if (!dimensions.includes(s.dimension)) continue;
    for (const p of s.points) {
      const row = rows.get(p.start) ?? { start: p.start };
      row[s.dimension] = ((row[s.dimension] as number | undefined) ?? 0) + p.value / divisor;
      rows.set(p.start, row);
    }
  }
  return [...rows.values()].sort((a, b) => String(a.start).localeCompare(String(b.start)));
}

export function UsageCharts({ series, granularity }: { series: Series[]; granularity: Granularity }) {
  const [table, setTable] = useState(false);
  if (series.every((s) => s.points.length === 0)) {
    return <Empty title="No usage in this period">Usage is metered once a minute; send a few messages and it shows up here.</Empty>;
  }
  const label = (start: string) =>
    granularity === "day" ? new Date(start).toLocaleDateString() : new Date(start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return (
    <div className="charts">
      <label className="inline">
        <input type="checkbox" checked={table} onChange={(e) => setTable(e.target.checked)} /> Show as tables
      </label>
      {CHARTS.map((chart) => {
        const rows = chartRows(series, chart.dimensions.map(([d]) => d), chart.perSecond ? BUCKET_SECONDS[granularity] : 1);
        return (
          <figure key={chart.title} className="chart">
            <figcaption>{chart.title}</figcaption>
            {table ? (
              <DataTable
                rows={rows}
                rowKey={(r) => String(r.start)}
                columns={[
                  { header: "From", cell: (r) => label(String(r.start)) },
                  ...chart.dimensions.map(([d, name]) => ({ header: name, cell: (r: Row) => chart.format(Math.round(Number(r[d] ?? 0))) })),
                ]}
              />
            ) : (
              <ResponsiveContainer width="100%" height={220}>
                <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="start" tickFormatter={label} minTickGap={24} />
                  <YAxis tickFormatter={(v: number) => chart.format(Math.round(v))} width={72} />
                  <Tooltip labelFormatter={(v) => label(String(v))} formatter={(v) => chart.format(Math.round(Number(v)))} />
                  <Legend />
                  {chart.dimensions.map(([d, name], i) => (
                    <Line key={d} type="monotone" dataKey={d} name={name} stroke={COLORS[i]} dot={false} isAnimationActive={false} />
                  ))}
                </LineChart>
              </ResponsiveContainer>
            )}
          </figure>
        );
      })}
    </div>
  );
}

/** The `from` of a period ending now. */
export function periodStart(granularity: Granularity): Date {
  const span = { minute: 3 * 3600_000, hour: 7 * 86_400_000, day: 90 * 86_400_000 }[granularity];
  return new Date(Date.now() - span);
}

export function GranularityPicker({ value, onChange }: { value: Granularity; onChange: (g: Granularity) => void }) {
  return (
    <fieldset className="segmented">
      <legend className="sr-only">Period</legend>
      {(
        [
          ["minute", "Last 3 hours, by minute"],
          ["hour", "Last 7 days, by hour"],
          ["day", "Last 90 days, by day"],
        ] as [Granularity, string][]
      ).map(([g, text]) => (
        <label key={g}>
          <input type="radio" name="granularity" value={g} checked={value === g} onChange={() => onChange(g)} /> {text}
        </label>
      ))}
    </fieldset>
  );
}
