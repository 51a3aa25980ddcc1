// The organization's audit log, filtered by actor, action, target, outcome and
// time, newest first, a page at a time.
import { useState, type FormEvent } from "react";
import { api, unwrap } from "../api/client";
import { DataTable, ListView } from "../components/DataTable";
import { Button, Empty, Field, Select } from "../components/ui";
import { when } from "../lib/format";
import { useResource } from "../lib/hooks";

type Filters = { actor: string; action: string; target: string; outcome: string; since: string; until: string };
const NONE: Filters = { actor: "", action: "", target: "", outcome: "", since: "", until: "" };

/** The query the API takes: only the filters set, local times as RFC 3339. */
export function auditQuery(filters: Filters, pageToken?: string) {
  const query: Record<string, string | number> = { page_size: 50 };
  for (const key of ["actor", "action", "target", "outcome"] as const) if (filters[key]) query[key] = filters[key];
  if (filters.since) query.since = new Date(filters.since).toISOString();
  if (filters.until) query.until = new Date(filters.until).toISOString();
  if (pageToken) query.page_token = pageToken;
  return query;
}

export function AuditLog() {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [pages, setPages] = useState<string[]>([]);
  const page = useResource(
    () => unwrap(api.GET("/v1/audit-events", { params: { query: auditQuery(filters, pages.at(-1)) } })),
    [filters, pages],
  );
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setPages([]);
    setFilters(draft);
  };
  const set = (key: keyof Filters) => (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value });
  return (
    <section className="stack">
      <h1>Audit log</h1>
      <form className="filters" onSubmit={onSubmit} aria-label="Filters">
        <Field label="Actor" placeholder="user:… or api_key:…" value={draft.actor} onChange={set("actor")} />
        <Field label="Action" placeholder="POST /v1/instances" value={draft.action} onChange={set("action")} />
        <Field label="Target" placeholder="/v1/instances/…" value={draft.target} onChange={set("target")} />
        <Select label="Outcome" value={draft.outcome} onChange={set("outcome")}>
          <option value="">any</option>
          <option value="success">success</option>
          <option value="failure">failure</option>
          <option value="replayed">replayed</option>
        </Select>
        <Field label="Since" type="datetime-local" value={draft.since} onChange={set("since")} />
        <Field label="Until" type="datetime-local" value={draft.until} onChange={set("until")} />
        <Button type="submit">Apply filters</Button>
      </form>
      <ListView
        resource={page}
        what="events"
        empty={<Empty title="No events match">Everything done through the API or this console is recorded here; try fewer filters.</Empty>}
      >
        {(items) => (
          <DataTable
            rows={items}
            rowKey={(e) => e.id}
            columns={[
              { header: "When", cell: (e) => when(e.created_at) },
              { header: "Actor", cell: (e) => <code>{e.actor}</code> },
              { header: "Action", cell: (e) => e.action },
              { header: "Target", cell: (e) => <code>{e.target}</code> },
              {
                header: "Outcome",
                cell: (e) => (
                  <span className={`outcome ${e.outcome}`}>
                    {e.outcome} ({e.status})
                  </span>
                ),
              },
              { header: "From", cell: (e) => e.source_address },
            ]}
          />
        )}
      </ListView>
      <div className="actions">
        {pages.length > 0 && (
          <Button variant="secondary" onClick={() => setPages(pages.slice(0, -1))}>
            Newer
          </Button>
        )}
        {page.data?.next_page_token && (
          <Button variant="secondary" onClick={() => setPages([...pages, page.data!.next_page_token!])}>
            Older
          </Button>
        )}
      </div>
    </section>
  );
}
