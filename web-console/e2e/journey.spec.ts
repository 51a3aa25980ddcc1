// The whole journey of a new user, in Debian's Chromium against the real
// `omnibus dev` (started by tests/it/console.rs): sign up and verify the
// email from the dev outbox, create an instance and watch it turn ready, make
// a credential, copy a snippet, create a topic, publish from the browser over
// MQTT over WebSocket and see mosquitto_sub receive it and the topic's browser
// show it, rotating and deleting the credential, usage and billing, API
// keys, members (an invitation accepted by a
// second user who then switches organizations), the audit log, a refused
// request's message, a phone-width layout, logging out, and a password reset.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";

const outbox = process.env.OMNIBUS_OUTBOX!;
const screenshots = process.env.OMNIBUS_SCREENSHOTS ?? "test-results/screenshots";
const [mqttHost, mqttPort] = (process.env.OMNIBUS_MQTT ?? "127.0.0.1:1883").split(":");

/** The newest link to `page` mailed to `to`, waiting for it to arrive. */
async function mailedLink(to: string, page: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const mails = readdirSync(outbox)
      .map((name) => join(outbox, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
      .map((path) => readFileSync(path, "utf8"))
      .filter((mail) => mail.includes(`To: ${to}`));
    for (const mail of mails) {
      const link = mail.match(new RegExp(`https?://\\S+/${page}\\?token=\\S+`));
      if (link) return link[0];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${page} mail to ${to} in ${outbox}`);
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** mosquitto_sub for one message on `topic`, its output when it exits. */
function subscribeOnce(username: string, password: string, topic: string): { child: ChildProcess; output: Promise<string> } {
  const child = spawn("mosquitto_sub", ["-h", mqttHost, "-p", mqttPort, "-u", username, "-P", password, "-t", topic, "-v", "-C", "1", "-W", "60"]);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return { child, output: new Promise((resolve) => child.on("exit", () => resolve(out.trim()))) };
}

test("a new user goes from sign-up to a message delivered, and manages the organization", async ({ page, browser }) => {
  const email = process.env.OMNIBUS_E2E_EMAIL ?? `ada-${Date.now()}@example.com`;
  const password = "correct horse battery staple";

  // Sign up; the console asks for the email to be verified.
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByLabel("Organization name").fill("Analytical Engines");
  await shot(page, "signup");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "Instances", exact: true })).toBeVisible();
  await expect(page.getByText("Please verify your email address")).toBeVisible();
  await expect(page.getByText("No instances yet")).toBeVisible();

  await page.goto(await mailedLink(email, "verify-email"));
  await expect(page.getByText("Your email address is verified")).toBeVisible();
  await page.getByRole("link", { name: "Go to your instances" }).click();
  await expect(page.getByText("Please verify your email address")).toHaveCount(0);

  // Create an instance: plans show their quotas and price.
  await page.getByRole("link", { name: "Create your first instance" }).click();
  await expect(page.getByText("MQTT connections").first()).toBeVisible();
  await page.getByLabel("Name", { exact: true }).fill("sensors");
  await page.getByRole("radio", { name: /developer/ }).check();
  await shot(page, "create-instance");
  await page.getByRole("button", { name: "Create instance" }).click();
  await expect(page.getByRole("heading", { name: /sensors/ })).toBeVisible();
  await expect(page.getByTestId("status").first()).toHaveText("ready");
  await expect(page.getByText("MQTT over WebSocket", { exact: true })).toBeVisible();
  await expect(page.getByRole("meter", { name: "Topics" })).toBeVisible();
  await shot(page, "instance");

  // A credential, its password shown once.
  await page.getByRole("navigation", { name: "Instance" }).getByRole("link", { name: "Credentials" }).click();
  await expect(page.getByText("No credentials yet")).toBeVisible();
  await page.getByLabel("Credential name").fill("browser");
  await page.getByRole("button", { name: "Create credential" }).click();
  const secret = page.getByTestId("secret");
  await expect(secret).toBeVisible();
  const mqttPassword = (await secret.textContent())!;
  const username = (await page.getByRole("row", { name: /browser/ }).locator("code").first().textContent())!;
  expect(mqttPassword.length).toBeGreaterThan(10);
  await shot(page, "credential");

  // The connect panel has the credential filled in.
  await page.getByRole("navigation", { name: "Instance" }).getByRole("link", { name: "Connect" }).click();
  const snippet = page.getByRole("tabpanel");
  await expect(snippet).toContainText(`-u '${username}' -P '${mqttPassword}'`);
  await page.getByRole("tab", { name: "mosquitto_pub / mosquitto_sub" }).press("ArrowRight");
  await expect(page.getByRole("tab", { name: "paho-mqtt (Python)" })).toBeFocused();
  await expect(snippet).toContainText("client.username_pw_set");
  await page.getByRole("tab", { name: "Terraform" }).click();
  await expect(snippet).toContainText('source = "omnibus/omnibus"');
  await shot(page, "connect");

  // Topics: the mapping's Kafka topic is there; create, configure and delete another.
  await page.getByRole("navigation", { name: "Instance" }).getByRole("link", { name: "Topics & messages" }).click();
  await expect(page.getByRole("cell", { name: "mqtt", exact: true })).toBeVisible();
  await page.getByLabel("New topic name").fill("scratch");
  await page.getByRole("button", { name: "Create topic" }).click();
  await expect(page.getByRole("cell", { name: "scratch", exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Configure scratch" }).click();
  await page.getByLabel("Retention (days, -1 forever)").fill("1");
  await page.getByLabel("Tiered storage (object store)").check();
  await page.getByLabel("Local copies kept (days, -2 as retention, -1 forever)").fill("0.5");
  await page.getByRole("button", { name: "Save scratch" }).click();
  await expect(page.getByRole("row", { name: /scratch/ })).toContainText("1 d; tiered, local 12 h");
  // Once on, tiering cannot be switched off (Kafka's rule): the box is locked.
  await page.getByRole("button", { name: "Configure scratch" }).click();
  await expect(page.getByLabel("Tiered storage (object store)")).toBeDisabled();
  await page.getByRole("button", { name: "Configure scratch" }).click();
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete scratch" }).click();
  await expect(page.getByRole("cell", { name: "scratch", exact: true })).toHaveCount(0);

  // Publish from the browser over MQTT over WebSocket; mosquitto_sub receives it.
  const subscriber = subscribeOnce(username, mqttPassword, "console/#");
  await new Promise((r) => setTimeout(r, 1500));
  await expect(page.getByLabel("Password", { exact: true })).toHaveValue(mqttPassword);
  await page.getByLabel("Topic", { exact: true }).fill("console/test");
  await page.getByLabel("Message", { exact: true }).fill("hello from the browser");
  await page.getByRole("button", { name: "Publish", exact: true }).click();
  await expect(page.getByText("the broker acknowledged it")).toBeVisible();
  expect(await subscriber.output).toBe("console/test hello from the browser");

  // The message landed in Kafka's `mqtt` topic: the browser shows it.
  await page.getByRole("button", { name: "Latest messages of mqtt" }).click();
  await expect(page.getByRole("cell", { name: "hello from the browser" })).toBeVisible();
  await shot(page, "topics");

  // Rotating the credential shows a new password once; deleting it empties the list.
  await page.getByRole("navigation", { name: "Instance" }).getByRole("link", { name: "Credentials" }).click();
  await page.getByRole("button", { name: "Rotate browser" }).click();
  await expect(page.getByTestId("secret")).not.toHaveText(mqttPassword);
  await expect(page.getByText(`New password of ${username}`)).toBeVisible();
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Delete browser" }).click();
  await expect(page.getByText("No credentials yet")).toBeVisible();

  // A refusal shows the API's own words.
  await page.goto("/instances/new");
  await page.getByLabel("Name", { exact: true }).fill("sensors");
  await page.getByRole("button", { name: "Create instance" }).click();
  await expect(page.getByRole("alert")).toContainText(/already/i);

  // Usage and billing: this month's cost so far and forecast, charts, invoices.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Usage & billing" }).click();
  await expect(page.getByTestId("cost-to-date")).toHaveText(/^\$\d+\.\d\d$/);
  await expect(page.getByRole("cell", { name: "draft" })).toBeVisible();
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download CSV" }).click();
  const csv = readFileSync(await (await download).path(), "utf8");
  expect(csv.split("\n")[0]).toBe("instance_id,dimension,unit,start,value");
  await shot(page, "billing");

  // API keys: shown once, then revoked.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Key name").fill("terraform-ci");
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByTestId("secret")).toHaveText(/^omk_/);
  await page.getByRole("button", { name: "I have stored it" }).click();
  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Revoke terraform-ci" }).click();
  await expect(page.getByText("No API keys")).toBeVisible();

  // Members: invite Grace as a developer.
  const grace = `grace-${Date.now()}@example.com`;
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Members" }).click();
  await page.getByLabel("Their email").fill(grace);
  await page.getByLabel("Invited role").selectOption("developer");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByText(`Invitation sent to ${grace}`)).toBeVisible();

  // Grace signs up in her own browser, accepts, and switches to Ada's organization.
  const other = await browser.newContext();
  const gracePage = await other.newPage();
  await gracePage.goto(await mailedLink(grace, "invitations/accept"));
  await gracePage.getByRole("link", { name: "Create an account" }).click();
  await gracePage.getByLabel("Email").fill(grace);
  await gracePage.getByLabel("Password").fill(password);
  await gracePage.getByLabel("Organization name").fill("Grace's lab");
  await gracePage.getByRole("button", { name: "Sign up" }).click();
  await gracePage.getByRole("button", { name: "Accept the invitation" }).click();
  await expect(gracePage.getByRole("link", { name: "sensors" })).toBeVisible();
  await gracePage.getByLabel("Organization").selectOption({ label: "Grace's lab (owner)" });
  await expect(gracePage.getByText("No instances yet")).toBeVisible();
  await gracePage.getByLabel("Organization").selectOption({ label: "Analytical Engines (developer)" });
  await expect(gracePage.getByRole("link", { name: "sensors" })).toBeVisible();
  await other.close();

  // Ada makes her a viewer.
  await page.reload();
  await page.getByLabel(`Role of ${grace}`).selectOption("viewer");
  await expect(page.getByLabel(`Role of ${grace}`)).toHaveValue("viewer");
  await shot(page, "members");

  // The audit log, filtered.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  await page.getByLabel("Action").fill("POST /v1/instances");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page.getByRole("cell", { name: "POST /v1/instances", exact: true }).first()).toBeVisible();
  await expect(page.getByRole("cell", { name: "DELETE /v1/api-keys/{id}" })).toHaveCount(0);
  await shot(page, "audit-log");

  // A phone-width screen: one column, the menu behind a button.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/instances");
  await expect(page.getByRole("link", { name: "Audit log" })).toBeHidden();
  await page.getByRole("button", { name: "Menu" }).click();
  await expect(page.getByRole("link", { name: "Audit log" })).toBeVisible();
  await shot(page, "phone");
  await page.setViewportSize({ width: 1280, height: 800 });

  // Log out; a wrong password is refused with the API's message; reset it.
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("the email or password is wrong");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send the reset link" }).click();
  await expect(page.getByText("a reset link is on its way")).toBeVisible();
  await page.goto(await mailedLink(email, "password-reset"));
  await page.getByLabel("New password").fill("an even longer passphrase");
  await page.getByRole("button", { name: "Set the password" }).click();
  await expect(page.getByText("Your password is changed")).toBeVisible();
  await page.getByRole("link", { name: "Log in" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("an even longer passphrase");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("link", { name: "sensors" })).toBeVisible();
});
