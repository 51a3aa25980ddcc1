// One instance: its status (polled until it settles), and tabs for its
// overview, connect panel, credentials, topics and usage.
import { useEffect } from "react";
import { NavLink, Route, Routes, useNavigate, useParams } from "react-router";
import { api, unwrap } from "../api/client";
import { Button, ErrorMessage, Loading } from "../components/ui";
import { useAction, useResource } from "../lib/hooks";
import { Status } from "./Instances";
import { Connect } from "./instance/Connect";
import { Credentials } from "./instance/Credentials";
import { Overview } from "./instance/Overview";
import { Topics } from "./instance/Topics";
import { Usage } from "./instance/Usage";

const SETTLED = ["ready", "failed"];

export function InstancePage() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const instance = useResource(() => unwrap(api.GET("/v1/instances/{id}", { params: { path: { id } } })), [id]);
  const status = instance.data?.status;
  const reload = instance.reload;
  useEffect(() => {
    if (!status || SETTLED.includes(status)) return;
    const timer = setTimeout(() => void reload(), 1000);
    return () => clearTimeout(timer);
  }, [status, reload]);
  const remove = useAction(async () => {
    await unwrap(api.DELETE("/v1/instances/{id}", { params: { path: { id } } }));
    navigate("/instances");
  });
  if (!instance.data) return instance.error ? <ErrorMessage error={instance.error} /> : <Loading what="the instance" />;
  const i = instance.data;
  const tabs = [
    ["", "Overview"],
    ["connect", "Connect"],
    ["credentials", "Credentials"],
    ["topics", "Topics & messages"],
    ["usage", "Usage"],
  ];
  return (
    <section>
      <div className="page-head">
        <h1>
          {i.name} <Status status={i.status} />
        </h1>
        <Button
          variant="danger"
          busy={remove.busy}
          onClick={() => {
            if (confirm(`Delete ${i.name}? Its topics, messages and credentials are deleted too.`)) void remove.run();
          }}
        >
          Delete instance
        </Button>
      </div>
      {!SETTLED.includes(i.status) && (
        <p className="progress" role="status">
          <span className="spinner" aria-hidden="true" /> The fleet is applying the instance ({i.status})
          {i.status_reason ? `: ${i.status_reason}` : ""}…
        </p>
      )}
      {i.status === "failed" && <div className="error" role="alert">The instance failed: {i.status_reason ?? "no reason given"}</div>}
      <ErrorMessage error={remove.error} />
      <nav className="tabs" aria-label="Instance">
        {tabs.map(([to, label]) => (
          <NavLink key={to} to={`/instances/${i.id}${to ? `/${to}` : ""}`} end>
            {label}
          </NavLink>
        ))}
      </nav>
      <Routes>
        <Route index element={<Overview instance={i} />} />
        <Route path="connect" element={<Connect instance={i} />} />
        <Route path="credentials" element={<Credentials instance={i} />} />
        <Route path="topics" element={<Topics instance={i} />} />
        <Route path="usage" element={<Usage instance={i} />} />
      </Routes>
    </section>
  );
}
