/**
 * The local servers the suites hammer (gateway, Flatfile stand-in, Secrets Manager stand-in) never
 * close an idle keep-alive connection themselves: with Node's default (close after 5 s idle,
 * announced as "Keep-Alive: timeout=5") a client reusing the connection just before the close got
 * ECONNRESET whenever the process stalled, as a test process does on a loaded machine. With the
 * server-side idle timeout off, Node announces no timeout and leaves the closing to the client.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { startGateway, type LocalGateway } from "../../local/gateway";
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from "../../local/secrets-manager-stand-in";
import { routes } from "../../local/routes";

let gateway: LocalGateway;
let flatfile: FlatfileStandIn;
let secrets: SecretsManagerStandIn;

beforeAll(async () => {
  [gateway, flatfile, secrets] = await Promise.all([
    startGateway({ port: 0, routes, throttle: false }),
    startFlatfileStandIn(),
    startSecretsManagerStandIn(),
  ]);
});
afterAll(async () => {
  await Promise.allSettled([gateway?.close(), flatfile?.close(), secrets?.close()]);
});

async function connectionHeaders(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  await response.text();
  return { connection: response.headers.get("connection"), keepAlive: response.headers.get("keep-alive") };
}

describe("idle keep-alive connections are the client's to close", () => {
  it("the gateway, the Flatfile stand-in and the Secrets Manager stand-in keep the connection open and announce no idle timeout", async () => {
    const answers = await Promise.all([
      connectionHeaders(`${gateway.url}/space-configure`, { method: "POST", body: "{}" }),
      connectionHeaders(`${flatfile.url}/jobs/us_jb_none0001`, { headers: { authorization: `Bearer ${flatfile.apiKey}` } }),
      connectionHeaders(secrets.url, { method: "POST", headers: { "x-amz-target": "secretsmanager.GetSecretValue" }, body: "{}" }),
    ]);
    for (const answer of answers) expect(answer).toEqual({ connection: "keep-alive", keepAlive: null });
  });
});
