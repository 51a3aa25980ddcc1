// Log in with email and password.
import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { Button, ErrorMessage, Field } from "../components/ui";
import { submitting, useAction } from "../lib/hooks";
import { useSession } from "../session";
import { AuthFrame, nextPath } from "./AuthFrame";

export function LogIn() {
  const { signIn } = useSession();
  const navigate = useNavigate();
  const [search] = useSearchParams();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const submit = useAction(async () => {
    const tokens = await unwrap(api.POST("/v1/auth/login", { body: { email, password } }));
    await signIn(tokens);
    navigate(nextPath(search));
  });
  return (
    <AuthFrame title="Log in">
      <form onSubmit={submitting(submit.run)}>
        <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <ErrorMessage error={submit.error} />
        <Button type="submit" busy={submit.busy}>
          Log in
        </Button>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New to Omnibus? <Link to={`/signup${search.size ? `?${search}` : ""}`}>Create an account</Link>
      </p>
    </AuthFrame>
  );
}
