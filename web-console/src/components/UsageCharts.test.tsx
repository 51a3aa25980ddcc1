import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { chartRows, UsageCharts } from "./UsageCharts";

const series = [
  { instance_id: "a", dimension: "mqtt_messages_in", unit: "messages", points: [{ start: "2026-12-01T10:00:00Z", value: 5 }, { start: "2026-12-01T10:01:00Z", value: 7 }] },
  { instance_id: "b", dimension: "mqtt_messages_in", unit: "messages", points: [{ start: "2026-12-01T10:00:00Z", value: 3 }] },
  { instance_id: "a", dimension: "connection_seconds", unit: "connection-seconds", points: [{ start: "2026-12-01T10:00:00Z", value: 120 }] },
];

describe("chartRows", () => {
  it("sums instances per bucket, oldest first, and turns seconds into averages", () => {
    expect(chartRows(series, ["mqtt_messages_in"], 1)).toEqual([
      { start: "2026-12-01T10:00:00Z", mqtt_messages_in: 8 },
      { start: "2026-12-01T10:01:00Z", mqtt_messages_in: 7 },
    ]);
    expect(chartRows(series, ["connection_seconds"], 60)).toEqual([{ start: "2026-12-01T10:00:00Z", connection_seconds: 2 }]);
  });
});

describe("UsageCharts", () => {
  it("explains an empty period", () => {
    render(<UsageCharts series={[]} granularity="minute" />);
    expect(screen.getByText("No usage in this period")).toBeInTheDocument();
  });

  it("shows the same numbers as tables for screen readers", async () => {
    render(<UsageCharts series={series} granularity="minute" />);
    await userEvent.click(screen.getByLabelText("Show as tables"));
    const messages = screen.getByText("Messages").closest("figure")!;
    expect(messages.querySelector("tbody")!.textContent).toContain("8");
    expect(screen.getByText("Connections (average)").closest("figure")!.querySelector("tbody")!.textContent).toContain("2");
  });
});
