import { render, screen } from "@testing-library/react";
import { ApiError } from "../api/client";
import { DataTable, ListView } from "./DataTable";

const resource = <T,>(data: { items: T[] } | undefined, error?: unknown) => ({ data, error, loading: false, reload: async () => {} });

describe("DataTable", () => {
  it("draws a row per item under its headers; a hidden header is still read out", () => {
    render(
      <DataTable
        label="Keys"
        rows={[{ id: "a", name: "ci" }]}
        rowKey={(r) => r.id}
        columns={[
          { header: "Name", cell: (r) => r.name },
          { header: "Actions", hiddenHeader: true, cell: () => "…" },
        ]}
      />,
    );
    expect(screen.getByRole("table", { name: "Keys" })).toBeInTheDocument();
    expect(screen.getByRole("columnheader", { name: "Actions" }).querySelector(".sr-only")).not.toBeNull();
    expect(screen.getByRole("cell", { name: "ci" })).toBeInTheDocument();
  });
});

describe("ListView", () => {
  const view = (r: ReturnType<typeof resource<string>>) => (
    <ListView resource={r} what="things" empty={<p>Nothing yet</p>}>
      {(items) => <p>{items.join(",")}</p>}
    </ListView>
  );

  it("says it is loading, then shows the items or the empty state", () => {
    const { rerender } = render(view(resource(undefined)));
    expect(screen.getByRole("status")).toHaveTextContent("Loading things");
    rerender(view(resource({ items: ["a", "b"] })));
    expect(screen.getByText("a,b")).toBeInTheDocument();
    rerender(view(resource({ items: [] })));
    expect(screen.getByText("Nothing yet")).toBeInTheDocument();
  });

  it("shows the API's message when the list cannot load", () => {
    render(view(resource(undefined, new ApiError(503, { type: "x", title: "Unavailable", status: 503, detail: "the fleet did not answer; retry" }))));
    expect(screen.getByRole("alert")).toHaveTextContent("the fleet did not answer; retry");
  });
});
