// The organization's instances: name, plan, region and status at a glance.
import { Link } from "react-router";
import { api, unwrap } from "../api/client";
import { DataTable, ListView } from "../components/DataTable";
import { Empty } from "../components/ui";
import { when } from "../lib/format";
import { useResource } from "../lib/hooks";

export function Instances() {
  const instances = useResource(() => unwrap(api.GET("/v1/instances", { params: { query: { page_size: 100 } } })), []);
  return (
    <section>
      <div className="page-head">
        <h1>Instances</h1>
        <Link className="button primary" to="/instances/new">
          Create an instance
        </Link>
      </div>
      <ListView
        resource={instances}
        what="instances"
        empty={
          <Empty title="No instances yet">
            An instance is your own MQTT and Kafka endpoint. Create one, make a credential, and send your first message in a
            minute. <Link to="/instances/new">Create your first instance</Link>.
          </Empty>
        }
      >
        {(items) => (
          <DataTable
            rows={items}
            rowKey={(i) => i.id}
            columns={[
              { header: "Name", cell: (i) => <Link to={`/instances/${i.id}`}>{i.name}</Link> },
              { header: "Status", cell: (i) => <Status status={i.status} /> },
              { header: "Plan", cell: (i) => i.plan },
              { header: "Region", cell: (i) => i.region },
              { header: "Created", cell: (i) => when(i.created_at) },
            ]}
          />
        )}
      </ListView>
    </section>
  );
}

export function Status({ status }: { status: string }) {
  return (
    <span className={`status ${status}`} data-testid="status">
      {status}
    </span>
  );
}
