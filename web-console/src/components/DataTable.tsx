// Tables of the console: `DataTable` draws rows under column headers (a
// column may have a header only screen readers read, for row actions), and
// `ListView` shows a loaded list the way every page does — its error, a
// loading line, an empty state that says what to do, or the table.
import type { ReactNode } from "react";
import type { Resource } from "../lib/hooks";
import { ErrorMessage, Loading } from "./ui";

export type Column<T> = {
  header: string;
  cell: (row: T) => ReactNode;
  /** The header is read out but not shown (e.g. "Actions"). */
  hiddenHeader?: boolean;
  className?: string;
};

export function DataTable<T>({ rows, columns, rowKey, label }: { rows: T[]; columns: Column<T>[]; rowKey: (row: T) => string; label?: string }) {
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c.header}>
                {c.hiddenHeader ? <span className="sr-only">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.header} className={c.className}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A list resource (`{ items }`): error, loading, `empty` when it has none, else `children`. */
export function ListView<T>({
  resource,
  what,
  empty,
  children,
}: {
  resource: Resource<{ items: T[] }>;
  what: string;
  empty: ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  if (!resource.data) return resource.error ? <ErrorMessage error={resource.error} /> : <Loading what={what} />;
  return (
    <>
      <ErrorMessage error={resource.error} />
      {resource.data.items.length === 0 ? empty : children(resource.data.items)}
    </>
  );
}
