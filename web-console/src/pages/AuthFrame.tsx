// The frame of the public pages (sign up, log in, password reset, email
// verification): the brand and one card.
import type { ReactNode } from "react";

export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth" id="main">
      <div className="card">
        <p className="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} /> Omnibus
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** Where to go after signing in: `?next=` when it is a path of the console. */
export function nextPath(search: URLSearchParams): string {
  const next = search.get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/instances";
}
