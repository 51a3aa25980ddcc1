// Fails when src/api/schema.d.ts is not what openapi-typescript makes of
// ../api/openapi.json now: the typed client must match the API it calls.
// `npm run api` regenerates it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const fresh = join(mkdtempSync(join(tmpdir(), "omnibus-api-")), "schema.d.ts");
execFileSync("npx", ["openapi-typescript", "../api/openapi.json", "-o", fresh], { stdio: "ignore" });
if (readFileSync(fresh, "utf8") !== readFileSync("src/api/schema.d.ts", "utf8")) {
  console.error("src/api/schema.d.ts is stale: run `npm run api` in web-console/ and commit it");
  process.exit(1);
}
console.log("src/api/schema.d.ts matches api/openapi.json");
