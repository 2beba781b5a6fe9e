/**
 * A tiny local EventBridge: PutEvents over its JSON 1.1 protocol, reached by pointing
 * AWS_ENDPOINT_URL_EVENTBRIDGE at it. There is no emulator on npm, and this is all the functions
 * call. It keeps what was put, so `npm start`'s page and the tests can show each event.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { listenOnLoopback } from "./loopback";

export interface PutEvent {
  id: string;
  source: string;
  detailType: string;
  eventBus: string;
  detail: unknown;
  time: string;
}

export interface EventBridgeStandIn {
  url: string;
  events: PutEvent[];
  /** Refuse every PutEvents with this status, or mark each entry failed. */
  faults: { status?: number; failEntries?: boolean };
  close(): Promise<void>;
}

export async function startEventBridgeStandIn(): Promise<EventBridgeStandIn> {
  const state: EventBridgeStandIn = { url: "", events: [], faults: {}, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify(body));
      };
      if (state.faults.status) return reply(state.faults.status, { __type: "InternalException", message: "injected fault" });
      if (request.headers["x-amz-target"] !== "AWSEvents.PutEvents") {
        return reply(400, { __type: "UnknownOperationException", message: String(request.headers["x-amz-target"]) });
      }
      let entries: { Source?: string; DetailType?: string; Detail?: string; EventBusName?: string }[];
      try {
        entries = JSON.parse(Buffer.concat(chunks).toString("utf8")).Entries ?? [];
      } catch {
        return reply(400, { __type: "ValidationException", message: "body is not JSON" });
      }
      if (state.faults.failEntries) {
        return reply(200, {
          FailedEntryCount: entries.length,
          Entries: entries.map(() => ({ ErrorCode: "InternalFailure", ErrorMessage: "injected" })),
        });
      }
      const answered = entries.map((entry) => {
        const id = randomUUID();
        let detail: unknown;
        try {
          detail = JSON.parse(entry.Detail ?? "{}");
        } catch {
          return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is not valid JSON." };
        }
        state.events.push({
          id,
          source: entry.Source ?? "",
          detailType: entry.DetailType ?? "",
          eventBus: entry.EventBusName ?? "default",
          detail,
          time: new Date().toISOString(),
        });
        return { EventId: id };
      });
      reply(200, { FailedEntryCount: answered.filter((a) => "ErrorCode" in a).length, Entries: answered });
    });
  });
  const listening = await listenOnLoopback(server);
  state.url = listening.url;
  state.close = listening.close;
  return state;
}
