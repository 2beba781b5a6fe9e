/**
 * A local stand-in for the API Gateway HTTP API: the routes it is given (shared/routes.ts, local/routes.ts) on 127.0.0.1, each calling the
 * same handler function the Lambda runs, with a payload-format-2.0 event. Anything else is a 404,
 * as with the deployed API, which has no default route. Each POST route is throttled as the stage
 * is (cdk.json's routeRateLimit and routeBurstLimit): a token bucket per route, 429 `{"message":"Too Many Requests"}` when
 * it is empty, before the body is read or the handler runs.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { ThrottleLimits } from "../infra/throttle";
import type { RouteHandler } from "../shared/core/route";
import { ROUTE_PATHS, type RoutePath, type ServedRoute } from "../shared/routes";
import { configuredRouteThrottle } from "./route-throttle";
import { TokenBucket } from "./token-bucket";

export { ROUTE_PATHS, type RoutePath };
/** Our routes' paths and the listener's. */
export type ServedPath = ServedRoute["path"];

export interface GatewayOptions {
  port?: number;
  host?: string;
  /** The POST routes it serves, each its handler (our three, and /listener when given). */
  routes: Record<RoutePath, RouteHandler> & Partial<Record<ServedPath, RouteHandler>>;
  /** Deliver bodies base64-encoded, as API Gateway does for binary media types. */
  base64Bodies?: boolean;
  /** The Lambda timeout the handlers are told they have. */
  timeoutMs?: number;
  /** API Gateway's own payload cap. */
  maxBodyBytes?: number;
  /**
   * The stage's throttle, per route. Default: the deployed one (cdk.json's settings, real clock).
   * `false` only for suites that measure the handlers at a rate no deployment would let through.
   */
  throttle?: false | { limits?: ThrottleLimits; now?: () => number };
  /**
   * Local only: asked about every request that is not a POST to a route (the playground's page).
   * Answers it and returns true, or returns false for the gateway's own 404.
   */
  fallback?: (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;
  /** Local only: headers set on every answer, the routes' and the 404s too (the page's CSP). */
  headers?: Readonly<Record<string, string>>;
}

export interface LocalGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on("end", () => resolve(tooLarge ? "too-large" : Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function toEvent(request: IncomingMessage, path: string, body: Buffer, base64: boolean): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  const now = new Date();
  return {
    version: "2.0",
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: "",
    headers,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: "local",
      http: {
        method: "POST",
        path,
        protocol: "HTTP/1.1",
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: `POST ${path}`,
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : base64 ? body.toString("base64") : body.toString("utf8"),
    isBase64Encoded: base64,
  };
}

export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  const timeoutMs = options.timeoutMs ?? 25_000;
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const throttle =
    options.throttle === false ? undefined : { limits: options.throttle?.limits ?? configuredRouteThrottle(), now: options.throttle?.now };
  const served = Object.keys(options.routes) as ServedPath[];
  const buckets = new Map<ServedPath, TokenBucket>(
    throttle ? served.map((path) => [path, new TokenBucket(throttle.limits, throttle.now)]) : [],
  );
  const server: Server = createServer(async (request, response) => {
    for (const [name, value] of Object.entries(options.headers ?? {})) response.setHeader(name, value);
    const send = (status: number, body: string, headers: Record<string, string> = { "content-type": "application/json" }) => {
      response.writeHead(status, headers);
      response.end(body);
    };
    const path = (request.url ?? "/").split("?")[0] as ServedPath;
    const handler = request.method === "POST" && served.includes(path) ? options.routes[path] : undefined;
    if (!handler) {
      const answered = await Promise.resolve(options.fallback?.(request, response)).catch(() => {
        if (!response.headersSent) send(500, JSON.stringify({ message: "Internal Server Error" }));
        return true;
      });
      if (!answered) send(404, JSON.stringify({ message: "Not Found" }));
      return;
    }
    if (buckets.get(path)?.take() === false) {
      // As API Gateway: no Retry-After, the body unread, the function not invoked.
      request.resume();
      return send(429, JSON.stringify({ message: "Too Many Requests" }));
    }
    try {
      const body = await readBody(request, maxBody);
      if (body === "too-large") return send(413, JSON.stringify({ message: "Request Entity Too Large" }));
      const started = Date.now();
      const result = await handler(toEvent(request, path, body, options.base64Bodies ?? false), {
        getRemainingTimeInMillis: () => Math.max(timeoutMs - (Date.now() - started), 0),
        awsRequestId: randomUUID(),
      });
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(result.headers ?? {})) headers[key] = String(value);
      send(result.statusCode ?? 200, result.body ?? "", headers);
    } catch {
      // API Gateway answers a Lambda crash with a bare 500.
      send(500, JSON.stringify({ message: "Internal Server Error" }));
    }
  });
  // Idle keep-alive connections are left for the client to close (0 = no server-side idle
  // timeout). Node's default closes one after 5 s (+1 s), and a client that had just reused it
  // (fetch reuses it for a few seconds on that hint) got ECONNRESET when the process stalled for the
  // remaining seconds before the request was read, as a test process does on a loaded machine
  // (reproduced: a 3.5 s stall after 2.9 s idle resets every request). Nothing depends on the
  // server closing idle connections; close() still cuts them all.
  server.keepAliveTimeout = 0;
  // A taken port rejects (error.code "EADDRINUSE") instead of crashing the process.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
