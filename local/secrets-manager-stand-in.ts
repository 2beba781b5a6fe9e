/**
 * A tiny local Secrets Manager: just GetSecretValue over its JSON 1.1 protocol, reached by
 * pointing AWS_ENDPOINT_URL_SECRETS_MANAGER at it. There is no emulator on npm, and this is all
 * the functions call.
 */
import { createServer, type Server } from "node:http";
import { listenOnLoopback } from "./loopback";

export interface SecretsManagerStandIn {
  url: string;
  secrets: Map<string, string>;
  /** How many GetSecretValue calls arrived (the cache test counts them). */
  calls: number;
  /** Delay every answer, or stop answering at all. */
  faults: { latencyMs: number; down: boolean; status?: number };
  close(): Promise<void>;
}

export async function startSecretsManagerStandIn(initial: Record<string, unknown> = {}): Promise<SecretsManagerStandIn> {
  const secrets = new Map(Object.entries(initial).map(([id, value]) => [id, typeof value === "string" ? value : JSON.stringify(value)]));
  const state: SecretsManagerStandIn = {
    url: "",
    secrets,
    calls: 0,
    faults: { latencyMs: 0, down: false },
    close: async () => undefined,
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", async () => {
      state.calls += 1;
      if (state.faults.down) {
        request.socket.destroy();
        return;
      }
      if (state.faults.latencyMs) await new Promise((r) => setTimeout(r, state.faults.latencyMs));
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify(body));
      };
      if (state.faults.status) return reply(state.faults.status, { __type: "InternalServiceError", message: "injected fault" });
      const target = request.headers["x-amz-target"];
      if (target !== "secretsmanager.GetSecretValue") return reply(400, { __type: "UnknownOperationException", message: String(target) });
      let id = "";
      try {
        id = JSON.parse(Buffer.concat(chunks).toString("utf8")).SecretId;
      } catch {
        return reply(400, { __type: "InvalidRequestException", message: "body is not JSON" });
      }
      const value = secrets.get(id);
      if (value === undefined) {
        return reply(400, { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." });
      }
      reply(200, {
        ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}-AbCdEf`,
        Name: id,
        SecretString: value,
        VersionId: "00000000-0000-0000-0000-000000000001",
        VersionStages: ["AWSCURRENT"],
        CreatedDate: Date.now() / 1000,
      });
    });
  });
  const listening = await listenOnLoopback(server);
  state.url = listening.url;
  state.close = listening.close;
  return state;
}
