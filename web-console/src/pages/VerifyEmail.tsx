// The link mailed after sign-up: confirms the address with its token.
import { useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, hasAccessToken, unwrap } from "../api/client";
import { ErrorMessage, Loading } from "../components/ui";
import { useSession } from "../session";
import { AuthFrame } from "./AuthFrame";

export function VerifyEmail() {
  const [search] = useSearchParams();
  const { me, reload } = useSession();
  const token = search.get("token") ?? "";
  const [outcome, setOutcome] = useState<{ error?: unknown } | null>(null);
  const started = useRef(false);
  useEffect(() => {
    // Once: the token works a single time, and StrictMode runs effects twice.
    if (started.current) return;
    started.current = true;
    unwrap(api.POST("/v1/auth/verify-email/confirm", { body: { token } }))
      .then(async () => {
        if (hasAccessToken()) await reload();
        setOutcome({});
      })
      .catch((error: unknown) => setOutcome({ error }));
  }, [token, reload]);
  return (
    <AuthFrame title="Verify your email">
      {outcome === null ? (
        <Loading what="the verification" />
      ) : outcome.error ? (
        <ErrorMessage error={outcome.error} />
      ) : (
        <p role="status">Your email address is verified. Thank you!</p>
      )}
      <p>{me ? <Link to="/instances">Go to your instances</Link> : <Link to="/login">Log in</Link>}</p>
    </AuthFrame>
  );
}
