// The organization's instances: name, plan, region and status at a glance.
import { Link } from "react-router";
import { api, unwrap } from "../api/client";
import { Empty, ErrorMessage, Loading } from "../components/ui";
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
      <ErrorMessage error={instances.error} />
      {instances.loading && !instances.data ? (
        <Loading what="instances" />
      ) : instances.data && instances.data.items.length === 0 ? (
        <Empty title="No instances yet">
          An instance is your own MQTT and Kafka endpoint. Create one, make a credential, and send your first message in a
          minute. <Link to="/instances/new">Create your first instance</Link>.
        </Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Plan</th>
                <th scope="col">Region</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {instances.data?.items.map((i) => (
                <tr key={i.id}>
                  <td>
                    <Link to={`/instances/${i.id}`}>{i.name}</Link>
                  </td>
                  <td>
                    <Status status={i.status} />
                  </td>
                  <td>{i.plan}</td>
                  <td>{i.region}</td>
                  <td>{when(i.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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
