// The console's small building blocks: labelled fields, buttons that show
// progress, the API's error message, empty states, copy buttons and secrets
// shown once. Every page composes these; none of them talks to the API.
import { useId, useState, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";
import { ApiError } from "../api/client";

export function Field({ label, hint, ...input }: { label: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export function Select({ label, children, ...select }: { label: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} {...select}>
        {children}
      </select>
    </div>
  );
}

export function Button({ busy, children, variant = "primary", ...button }: { busy?: boolean; variant?: "primary" | "secondary" | "danger" } & ButtonHTMLAttributes<HTMLButtonElement>) {
  return (
    <button className={`button ${variant}`} disabled={busy || button.disabled} aria-busy={busy || undefined} {...button}>
      {busy && <span className="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

/** The API's message for a failed call, read out by screen readers. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  const field = error instanceof ApiError ? error.problem?.field : undefined;
  return (
    <div className="error" role="alert">
      {message}
      {field && <span className="field-name"> (field: {field})</span>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="empty">
      <h3>{title}</h3>
      <p>{children}</p>
    </div>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard permission (plain http on another host): select-and-copy by hand still works.
      return;
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <button type="button" className="button secondary small" onClick={copy} aria-label={`Copy ${label}`}>
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

/** A secret the API shows only once: visible now, with a warning and a copy button. */
export function SecretOnce({ label, value, onDone }: { label: string; value: string; onDone?: () => void }) {
  return (
    <div className="secret" role="region" aria-label={label}>
      <p>
        <strong>{label}</strong> — shown only now. Store it somewhere safe: Omnibus keeps only a hash.
      </p>
      <div className="copyable">
        <code data-testid="secret">{value}</code>
        <CopyButton text={value} label={label} />
      </div>
      {onDone && (
        <Button variant="secondary" onClick={onDone}>
          I have stored it
        </Button>
      )}
    </div>
  );
}

export function Copyable({ label, value }: { label: string; value: string }) {
  return (
    <div className="copyable">
      <span className="copyable-label">{label}</span>
      <code>{value}</code>
      <CopyButton text={value} label={label} />
    </div>
  );
}

/** How much of a quota is used: amber from 80 %, red from 100 %. */
export function QuotaBar({ label, used, limit, format = String }: { label: string; used: number; limit: number; format?: (n: number) => string }) {
  const ratio = limit > 0 ? used / limit : 0;
  const level = ratio >= 1 ? "over" : ratio >= 0.8 ? "warn" : "ok";
  const percent = Math.min(100, Math.round(ratio * 100));
  return (
    <div className={`quota ${level}`} data-level={level}>
      <div className="quota-text">
        <span>{label}</span>
        <span>
          {format(used)} of {format(limit)}
          {level !== "ok" && <strong> {level === "over" ? "— limit reached" : "— nearly full"}</strong>}
        </span>
      </div>
      <div className="quota-track" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={limit} aria-valuenow={used}>
        <div className="quota-fill" style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}
