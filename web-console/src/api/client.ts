// The typed REST client: openapi-fetch over the types openapi-typescript
// generates from api/openapi.json (`npm run api`; `npm run check-api` fails
// when they are stale). Adds the access token to every call, refreshes it once
// on a 401, and turns problem documents into `ApiError`s with the API's own
// human message. Owns no React state: the session module listens to it.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

/** A refused call, with the problem document the API answered. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;
  constructor(status: number, problem: Problem | undefined) {
    super(messageOf(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

/** The sentence a person reads: the problem's detail, else its title. */
export function messageOf(status: number, problem: Problem | undefined): string {
  if (problem?.detail) return problem.detail;
  if (problem?.title) return problem.title;
  if (status === 0) return "The Omnibus API cannot be reached. Check your connection and try again.";
  return `The request failed (HTTP ${status}).`;
}

const REFRESH_KEY = "omnibus.refresh_token";

type Tokens = { access_token: string; refresh_token: string };

let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(signedIn: boolean) => void>();

/** Called with `false` when the login ends (logout, or a refresh refused). */
export function onSessionChange(listener: (signedIn: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function storeTokens(tokens: Tokens): void {
  accessToken = tokens.access_token;
  localStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  listeners.forEach((l) => l(true));
}

export function clearTokens(): void {
  accessToken = null;
  localStorage.removeItem(REFRESH_KEY);
  listeners.forEach((l) => l(false));
}

export function refreshToken(): string | null {
  return localStorage.getItem(REFRESH_KEY);
}

export function hasAccessToken(): boolean {
  return accessToken !== null;
}

/** Exchanges the refresh token for a new pair (once at a time), optionally
 *  acting in another organization. False when there is no login to refresh. */
export function refresh(organizationId?: string): Promise<boolean> {
  if (refreshing && !organizationId) return refreshing;
  const token = refreshToken();
  if (!token) return Promise.resolve(false);
  const attempt = (async () => {
    const response = await fetch("/v1/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(organizationId ? { refresh_token: token, organization_id: organizationId } : { refresh_token: token }),
    });
    if (response.ok) {
      storeTokens((await response.json()) as Tokens);
      return true;
    }
    if (response.status === 401) clearTokens();
    else throw new ApiError(response.status, await problemOf(response));
    return false;
  })();
  refreshing = attempt.finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function problemOf(response: Response): Promise<Problem | undefined> {
  try {
    return (await response.json()) as Problem;
  } catch {
    return undefined;
  }
}

const authorized = (request: Request): Request => {
  if (accessToken) request.headers.set("authorization", `Bearer ${accessToken}`);
  return request;
};

async function send(request: Request): Promise<Response> {
  const retry = request.clone();
  const response = await fetch(authorized(request));
  if (response.status !== 401 || new URL(request.url).pathname.startsWith("/v1/auth/") || !refreshToken()) {
    return response;
  }
  return (await refresh()) ? fetch(authorized(retry)) : response;
}

export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? "", fetch: send });

/** The answer's body, or an `ApiError` carrying the problem document. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result;
  try {
    result = await call;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(0, undefined);
  }
  if (!result.response.ok) throw new ApiError(result.response.status, result.error as Problem | undefined);
  return result.data as T;
}

/** A usage answer's JSON form (the same endpoints also answer CSV). */
export async function usageReport(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<Schemas["UsageReport"]> {
  return (await unwrap(call)) as Schemas["UsageReport"];
}
