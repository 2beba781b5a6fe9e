/**
 * What the relay forwards of an event for a customer's listener: `namespaces` (matched by
 * listener.namespace) and a relative `dataUrl` (read by event.data and plugin-record-hook), and
 * nothing that could carry a credential.
 */
import { describe, expect, it } from "vitest";
import { forwardedBody } from "../../../infra/relay/forward";
import { sampleEvent } from "../../support/relay-receiver";

const forwarded = (extra: Record<string, unknown>) => JSON.parse(forwardedBody({ ...sampleEvent("commit-created"), ...extra }));

describe("the relay's forwarded body", () => {
  it("carries namespaces and a relative dataUrl, as @flatfile/listener reads them", () => {
    const body = forwarded({ namespaces: ["space:portal"], dataUrl: "v1/sheets/us_sh_1/records?commitId=us_vr_1" });
    expect(body.namespaces).toEqual(["space:portal"]);
    expect(body.dataUrl).toBe("v1/sheets/us_sh_1/records?commitId=us_vr_1");
  });

  it("drops a dataUrl that is absolute, protocol-relative or carries a credential-like parameter", () => {
    for (const dataUrl of [
      "https://platform.flatfile.com/api/v1/sheets/us_sh_1/records",
      "//elsewhere.example/v1/x",
      "/v1/sheets/us_sh_1/records",
      "javascript:alert(1)",
      "v1/sheets/us_sh_1/records?commitId=us_vr_1&token=abc",
      "v1/sheets/us_sh_1/records?X-Api-Key=abc",
      "v1/sheets/us_sh_1/records?signature=abc",
    ]) {
      expect(forwarded({ dataUrl }), dataUrl).not.toHaveProperty("dataUrl");
    }
    expect(forwarded({ dataUrl: 42 })).not.toHaveProperty("dataUrl");
  });

  it("drops namespaces that are not a list of strings, and still never the token or callback", () => {
    expect(forwarded({ namespaces: "space:portal" })).not.toHaveProperty("namespaces");
    expect(forwarded({ namespaces: [{ token: "abc" }] })).not.toHaveProperty("namespaces");
    const body = JSON.stringify(forwarded({ _accessToken: "sk_agent_token", callbackUrl: "https://x/ack?token=1", secrets: { a: "b" } }));
    for (const leaked of ["sk_agent_token", "callbackUrl", "secrets"]) expect(body).not.toContain(leaked);
  });
});
