// Who is signed in and in which organization: restores the login from the
// refresh token on load, signs in and out, switches organizations. Pages read
// it with `useSession`; talking to the API is `api/client`'s job.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, clearTokens, onSessionChange, refresh, refreshToken, storeTokens, unwrap, type Schemas } from "./api/client";

type Me = Schemas["Me"];

export type Session = {
  /** Undefined while the saved login is being restored; null when signed out. */
  me: Me | null | undefined;
  role: string | undefined;
  signIn: (tokens: { access_token: string; refresh_token: string }) => Promise<void>;
  signOut: () => Promise<void>;
  switchOrganization: (organizationId: string) => Promise<void>;
  reload: () => Promise<void>;
};

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null | undefined>(undefined);

  const reload = useCallback(async () => {
    setMe(await unwrap(api.GET("/v1/me")));
  }, []);

  useEffect(() => {
    const stop = onSessionChange((signedIn) => {
      if (!signedIn) setMe(null);
    });
    (async () => {
      try {
        if (refreshToken() && (await refresh())) await reload();
        else setMe(null);
      } catch {
        setMe(null);
      }
    })();
    return stop;
  }, [reload]);

  const signIn = useCallback(
    async (tokens: { access_token: string; refresh_token: string }) => {
      storeTokens(tokens);
      await reload();
    },
    [reload],
  );

  const signOut = useCallback(async () => {
    const token = refreshToken();
    if (token) await api.POST("/v1/auth/logout", { body: { refresh_token: token } }).catch(() => undefined);
    clearTokens();
  }, []);

  const switchOrganization = useCallback(
    async (organizationId: string) => {
      await refresh(organizationId);
      await reload();
    },
    [reload],
  );

  const value = useMemo<Session>(() => {
    const role = me?.memberships.find((m) => m.organization.id === me.organization_id)?.role;
    return { me, role, signIn, signOut, switchOrganization, reload };
  }, [me, signIn, signOut, switchOrganization, reload]);

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
