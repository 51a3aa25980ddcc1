// Create an instance: a name, a region, and a plan with its quotas and price.
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { api, unwrap } from "../api/client";
import { Button, ErrorMessage, Field, Loading, Select } from "../components/ui";
import { bytes, count, money } from "../lib/format";
import { submitting, useAction, useResource } from "../lib/hooks";

export function NewInstance() {
  const navigate = useNavigate();
  const plans = useResource(() => unwrap(api.GET("/v1/plans")), []);
  const regions = useResource(() => unwrap(api.GET("/v1/regions")), []);
  const [name, setName] = useState("");
  const [plan, setPlan] = useState("developer");
  const [region, setRegion] = useState<string>("");
  const create = useAction(async () => {
    const instance = await unwrap(api.POST("/v1/instances", { body: { name, plan, region: region || null } }));
    navigate(`/instances/${instance.id}`);
  });
  const failed = plans.error ?? regions.error;
  if (failed) return <ErrorMessage error={failed} />;
  if (!plans.data || !regions.data) return <Loading what="plans and regions" />;
  return (
    <section>
      <h1>Create an instance</h1>
      <form onSubmit={submitting(create.run)} className="stack">
        <Field
          label="Name"
          required
          pattern="[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
          hint="Lowercase letters, digits and '-', up to 63; unique in your organization."
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <Select label="Region" value={region} onChange={(e) => setRegion(e.target.value)}>
          {regions.data.items.map((r) => (
            <option key={r.name} value={r.default ? "" : r.name}>
              {r.name}
              {r.default ? " (default)" : ""}
            </option>
          ))}
        </Select>
        <fieldset className="plans">
          <legend>Plan</legend>
          {plans.data.items.map((p) => (
            <label key={p.name} className={`plan ${plan === p.name ? "chosen" : ""}`}>
              <input type="radio" name="plan" value={p.name} checked={plan === p.name} onChange={() => setPlan(p.name)} />
              <span className="plan-name">{p.name}</span>
              <span className="plan-price">
                {money(p.price.amount_cents, p.price.currency)} / {p.price.period}
              </span>
              <ul>
                <li>{count(p.mqtt.max_connections)} MQTT connections</li>
                <li>{count(p.kafka.max_topics)} topics, {count(p.kafka.max_partitions)} partitions</li>
                <li>{bytes(p.kafka.max_storage_bytes)} storage</li>
                <li>{bytes(p.rates.bytes_in_per_second)}/s in, {bytes(p.rates.bytes_out_per_second)}/s out</li>
                <li>{count(p.rates.messages_in_per_second)} messages/s in</li>
                <li>{p.durability.mode === "fsync" ? "every write fsynced before it is acknowledged" : "fsynced within a second"}</li>
              </ul>
            </label>
          ))}
        </fieldset>
        <ErrorMessage error={create.error} />
        <div className="actions">
          <Button type="submit" busy={create.busy}>
            {create.busy ? "Creating…" : "Create instance"}
          </Button>
          <Link to="/instances">Cancel</Link>
        </div>
      </form>
    </section>
  );
}
