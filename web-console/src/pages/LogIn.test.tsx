import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { SessionProvider } from "../session";
import { LogIn } from "./LogIn";

// The login form against a stubbed fetch: what the API answers is what the person reads.
describe("LogIn", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows the API's problem detail when the password is wrong", async () => {
    const fetch = vi.fn(async (request: Request) => {
      expect(new URL(request.url).pathname).toBe("/v1/auth/login");
      expect(await request.json()).toEqual({ email: "ada@example.com", password: "nope" });
      return new Response(JSON.stringify({ type: "https://omnibus.dev/problems/unauthorized", title: "Unauthorized", status: 401, detail: "the email or password is wrong" }), {
        status: 401,
        headers: { "content-type": "application/problem+json" },
      });
    });
    vi.stubGlobal("fetch", fetch);
    render(
      <MemoryRouter>
        <SessionProvider>
          <LogIn />
        </SessionProvider>
      </MemoryRouter>,
    );
    await userEvent.type(screen.getByLabelText("Email"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "nope");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("the email or password is wrong");
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
