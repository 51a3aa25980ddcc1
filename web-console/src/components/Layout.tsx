// The frame around every signed-in page: the navigation, the organization
// switcher, the email-verification reminder and logging out.
import { useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { api, unwrap } from "../api/client";
import { useAction } from "../lib/hooks";
import { useSession } from "../session";
import { Button, ErrorMessage } from "./ui";

const links = [
  ["/instances", "Instances"],
  ["/billing", "Usage & billing"],
  ["/api-keys", "API keys"],
  ["/members", "Members"],
  ["/audit-log", "Audit log"],
] as const;

export function Layout() {
  const { me, signOut, switchOrganization } = useSession();
  const navigate = useNavigate();
  const [menuOpen, setMenuOpen] = useState(false);
  const switching = useAction(async (id: string) => {
    await switchOrganization(id);
    navigate("/instances");
  });
  const resend = useAction(() => unwrap(api.POST("/v1/auth/verify-email")));
  const [resent, setResent] = useState(false);
  if (!me) return null;
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href="/instances">
          <img src="/favicon.svg" alt="" width={24} height={24} /> Omnibus
        </a>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <nav id="nav" aria-label="Main" className={menuOpen ? "open" : ""}>
          {links.map(([to, label]) => (
            <NavLink key={to} to={to} onClick={() => setMenuOpen(false)}>
              {label}
            </NavLink>
          ))}
        </nav>
        <div className="account">
          <label className="sr-only" htmlFor="organization">
            Organization
          </label>
          <select
            id="organization"
            value={me.organization_id}
            disabled={switching.busy}
            onChange={(e) => void switching.run(e.target.value)}
          >
            {me.memberships.map((m) => (
              <option key={m.organization.id} value={m.organization.id}>
                {m.organization.name} ({m.role})
              </option>
            ))}
          </select>
          <span className="email">{me.user.email}</span>
          <Button variant="secondary" onClick={() => void signOut().then(() => navigate("/login"))}>
            Log out
          </Button>
        </div>
      </header>
      {!me.email_verified && (
        <div className="banner" role="status">
          Please verify your email address: we sent you a link.{" "}
          {resent ? (
            "Sent again — check your inbox."
          ) : (
            <Button variant="secondary" busy={resend.busy} onClick={() => void resend.run().then((ok) => setResent(ok))}>
              Send the link again
            </Button>
          )}
          <ErrorMessage error={resend.error} />
        </div>
      )}
      <ErrorMessage error={switching.error} />
      <main id="main" tabIndex={-1}>
        {/* A switch of organization remounts the page, so it loads the new one's data. */}
        <Outlet key={me.organization_id} />
      </main>
    </div>
  );
}
