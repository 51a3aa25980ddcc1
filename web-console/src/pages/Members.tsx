// The organization's members and invitations: invite by email with a role,
// change a member's role, remove members, revoke invitations.
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { DataTable, ListView } from "../components/DataTable";
import { Button, ErrorMessage, Field, Select } from "../components/ui";
import { when } from "../lib/format";
import { useAction, useResource } from "../lib/hooks";
import { useSession } from "../session";

type Role = Schemas["RoleName"];
const ROLES: Role[] = ["owner", "admin", "developer", "viewer", "billing"];

export function Members() {
  const { me } = useSession();
  const org = me!.organization_id;
  const path = { path: { org } };
  const members = useResource(() => unwrap(api.GET("/v1/organizations/{org}/members", { params: path })), [org]);
  const invitations = useResource(() => unwrap(api.GET("/v1/organizations/{org}/invitations", { params: path })), [org]);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("developer");
  const [invited, setInvited] = useState<string | null>(null);
  const invite = useAction(async () => {
    await unwrap(api.POST("/v1/organizations/{org}/invitations", { params: path, body: { email, role } }));
    setInvited(`Invitation sent to ${email}.`);
    setEmail("");
    await invitations.reload();
  });
  const change = useAction(async (userId: string, newRole: Role) => {
    await unwrap(api.PATCH("/v1/organizations/{org}/members/{user_id}", { params: { path: { org, user_id: userId } }, body: { role: newRole } }));
    await members.reload();
  });
  const remove = useAction(async (userId: string) => {
    await unwrap(api.DELETE("/v1/organizations/{org}/members/{user_id}", { params: { path: { org, user_id: userId } } }));
    await members.reload();
  });
  const revoke = useAction(async (id: string) => {
    await unwrap(api.DELETE("/v1/organizations/{org}/invitations/{id}", { params: { path: { org, id } } }));
    await invitations.reload();
  });
  const onInvite = (e: FormEvent) => {
    e.preventDefault();
    setInvited(null);
    void invite.run();
  };
  return (
    <section className="stack">
      <h1>Members</h1>
      <section className="panel" aria-labelledby="member-list">
        <h2 id="member-list">People in this organization</h2>
        <ErrorMessage error={change.error ?? remove.error} />
        <ListView resource={members} what="members" empty={null}>
          {(items) => (
            <DataTable
              rows={items}
              rowKey={(m) => m.user_id}
              columns={[
                { header: "Email", cell: (m) => m.email },
                {
                  header: "Role",
                  cell: (m) => (
                    <>
                      <label className="sr-only" htmlFor={`role-${m.user_id}`}>
                        Role of {m.email}
                      </label>
                      <select id={`role-${m.user_id}`} value={m.role} disabled={change.busy} onChange={(e) => void change.run(m.user_id, e.target.value as Role)}>
                        {ROLES.map((r) => (
                          <option key={r}>{r}</option>
                        ))}
                      </select>
                    </>
                  ),
                },
                { header: "Joined", cell: (m) => when(m.joined_at) },
                {
                  header: "Actions",
                  hiddenHeader: true,
                  cell: (m) =>
                    m.user_id !== me!.user.id && (
                      <Button
                        variant="danger"
                        busy={remove.busy}
                        aria-label={`Remove ${m.email}`}
                        onClick={() => {
                          if (confirm(`Remove ${m.email} from the organization?`)) void remove.run(m.user_id);
                        }}
                      >
                        Remove
                      </Button>
                    ),
                },
              ]}
            />
          )}
        </ListView>
      </section>
      <section className="panel" aria-labelledby="invite">
        <h2 id="invite">Invite someone</h2>
        <form className="row" onSubmit={onInvite}>
          <Field label="Their email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <Select label="Invited role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </Select>
          <Button type="submit" busy={invite.busy}>
            Send invitation
          </Button>
        </form>
        <ErrorMessage error={invite.error} />
        {invited && (
          <p className="ok" role="status">
            {invited}
          </p>
        )}
        <ErrorMessage error={revoke.error} />
        <ListView resource={invitations} what="invitations" empty={null}>
          {(items) => (
            <DataTable
              label="Open invitations"
              rows={items}
              rowKey={(i) => i.id}
              columns={[
                { header: "Email", cell: (i) => i.email },
                { header: "Role", cell: (i) => i.role },
                { header: "Expires", cell: (i) => when(i.expires_at) },
                {
                  header: "Actions",
                  hiddenHeader: true,
                  cell: (i) => (
                    <Button variant="secondary" busy={revoke.busy} onClick={() => void revoke.run(i.id)} aria-label={`Revoke the invitation of ${i.email}`}>
                      Revoke
                    </Button>
                  ),
                },
              ]}
            />
          )}
        </ListView>
      </section>
    </section>
  );
}
