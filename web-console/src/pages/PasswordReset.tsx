// Forgotten passwords: ask for a reset link, then set a new password with it.
import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { Button, ErrorMessage, Field } from "../components/ui";
import { submitting, useAction } from "../lib/hooks";
import { AuthFrame } from "./AuthFrame";

export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const submit = useAction(async () => {
    await unwrap(api.POST("/v1/auth/password-reset", { body: { email } }));
    setSent(true);
  });
  return (
    <AuthFrame title="Reset your password">
      {sent ? (
        <p role="status">If an account uses {email}, a reset link is on its way. It works once, for a limited time.</p>
      ) : (
        <form onSubmit={submitting(submit.run)}>
          <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <ErrorMessage error={submit.error} />
          <Button type="submit" busy={submit.busy}>
            Send the reset link
          </Button>
        </form>
      )}
      <p>
        <Link to="/login">Back to log in</Link>
      </p>
    </AuthFrame>
  );
}

export function ResetPassword() {
  const [search] = useSearchParams();
  const token = search.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const submit = useAction(async () => {
    await unwrap(api.POST("/v1/auth/password-reset/confirm", { body: { token, new_password: password } }));
    setDone(true);
  });
  return (
    <AuthFrame title="Choose a new password">
      {done ? (
        <p role="status">
          Your password is changed and every other login has ended. <Link to="/login">Log in</Link> with the new one.
        </p>
      ) : (
        <form onSubmit={submitting(submit.run)}>
          <Field
            label="New password"
            type="password"
            autoComplete="new-password"
            required
            minLength={10}
            hint="At least 10 characters."
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <ErrorMessage error={submit.error} />
          <Button type="submit" busy={submit.busy}>
            Set the password
          </Button>
        </form>
      )}
    </AuthFrame>
  );
}
