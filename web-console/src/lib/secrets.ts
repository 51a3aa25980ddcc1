// Passwords the person saw this visit, by credential id, so the connect panel
// and the test publisher can fill them in. Memory only: never written to
// storage, gone on reload, as the API shows a password once.
const shown = new Map<string, string>();

export function rememberPassword(credentialId: string, password: string): void {
  shown.set(credentialId, password);
}

export function shownPassword(credentialId: string): string | undefined {
  return shown.get(credentialId);
}
