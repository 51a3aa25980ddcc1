// Sign up: an account, its first organization, and a mailed verification link.
import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { Button, ErrorMessage, Field } from "../components/ui";
import { submitting, useAction } from "../lib/hooks";
import { useSession } from "../session";
import { AuthFrame, nextPath } from "./AuthFrame";

export function SignUp() {
  const { signIn } = useSession();
  const navigate = useNavigate();
  const [search] = useSearchParams();
  const [form, setForm] = useState({ email: "", password: "", organization_name: "" });
  const submit = useAction(async () => {
    const answer = await unwrap(api.POST("/v1/auth/signup", { body: form }));
    await signIn(answer);
    navigate(nextPath(search));
  });
  return (
    <AuthFrame title="Create your account">
      <form onSubmit={submitting(submit.run)}>
        <Field label="Email" type="email" autoComplete="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          minLength={10}
          hint="At least 10 characters; a passphrase is best."
          value={form.password}
          onChange={(e) => setForm({ ...form, password: e.target.value })}
        />
        <Field
          label="Organization name"
          required
          autoComplete="organization"
          value={form.organization_name}
          onChange={(e) => setForm({ ...form, organization_name: e.target.value })}
        />
        <ErrorMessage error={submit.error} />
        <Button type="submit" busy={submit.busy}>
          Sign up
        </Button>
      </form>
      <p>
        Already have an account? <Link to={`/login${search.size ? `?${search}` : ""}`}>Log in</Link>
      </p>
    </AuthFrame>
  );
}
