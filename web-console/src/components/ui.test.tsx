import { render, screen } from "@testing-library/react";
import { ApiError } from "../api/client";
import { ErrorMessage, QuotaBar, SecretOnce } from "./ui";

describe("QuotaBar", () => {
  it.each([
    [79, "ok", null],
    [80, "warn", "nearly full"],
    [100, "over", "limit reached"],
    [130, "over", "limit reached"],
  ])("at %i of 100 is %s", (used, level, words) => {
    const { container } = render(<QuotaBar label="Topics" used={used} limit={100} />);
    expect(container.firstElementChild).toHaveAttribute("data-level", level);
    expect(screen.getByRole("meter", { name: "Topics" })).toHaveAttribute("aria-valuenow", String(used));
    if (words) expect(screen.getByText(new RegExp(words))).toBeInTheDocument();
    else expect(screen.queryByText(/nearly full|limit reached/)).toBeNull();
  });
});

describe("ErrorMessage", () => {
  it("shows the problem document's detail and field", () => {
    const error = new ApiError(422, { type: "about:blank", title: "Invalid request", status: 422, detail: "name: must be 1-63 lowercase letters", field: "name" });
    render(<ErrorMessage error={error} />);
    expect(screen.getByRole("alert")).toHaveTextContent("name: must be 1-63 lowercase letters (field: name)");
  });

  it("falls back to the title, then to the status", () => {
    const { rerender } = render(<ErrorMessage error={new ApiError(409, { type: "x", title: "Conflict", status: 409 })} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Conflict");
    rerender(<ErrorMessage error={new ApiError(502, undefined)} />);
    expect(screen.getByRole("alert")).toHaveTextContent("HTTP 502");
  });

  it("renders nothing without an error", () => {
    const { container } = render(<ErrorMessage error={undefined} />);
    expect(container).toBeEmptyDOMElement();
  });
});

describe("SecretOnce", () => {
  it("shows the secret with a copy button and the shown-once warning", () => {
    render(<SecretOnce label="Password of x" value="s3cret" />);
    expect(screen.getByTestId("secret")).toHaveTextContent("s3cret");
    expect(screen.getByRole("button", { name: "Copy Password of x" })).toBeInTheDocument();
    expect(screen.getByText(/shown only now/)).toBeInTheDocument();
  });
});
