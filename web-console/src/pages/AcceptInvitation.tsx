// The link in an invitation mail: joins the organization as the signed-in
// user, then switches to it.
import { useNavigate, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { Button, ErrorMessage } from "../components/ui";
import { useAction } from "../lib/hooks";
import { useSession } from "../session";

export function AcceptInvitation() {
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const { me, switchOrganization } = useSession();
  const accept = useAction(async () => {
    const joined = await unwrap(api.POST("/v1/invitations/accept", { body: { token: search.get("token") ?? "" } }));
    await switchOrganization(joined.organization.id);
    navigate("/instances");
  });
  return (
    <section className="stack">
      <h1>Join an organization</h1>
      <p>
        You were invited to an Omnibus organization. Accept to join it as <strong>{me?.user.email}</strong>; the invitation
        must be for this address.
      </p>
      <ErrorMessage error={accept.error} />
      <Button busy={accept.busy} onClick={() => void accept.run()}>
        Accept the invitation
      </Button>
    </section>
  );
}
