import { auditQuery } from "./AuditLog";

describe("auditQuery", () => {
  it("sends only the filters set, times as RFC 3339", () => {
    const q = auditQuery({ actor: "", action: "POST /v1/instances", target: "", outcome: "failure", since: "2026-12-01T10:00", until: "" }, "next");
    expect(q).toMatchObject({ page_size: 50, action: "POST /v1/instances", outcome: "failure", page_token: "next" });
    expect(q).not.toHaveProperty("actor");
    expect(String(q.since)).toMatch(/^2026-12-01T\d\d:00:00\.000Z$/);
  });
});
