/**
 * The bundles our functions' cold start is compared against, each built in the bench run itself:
 *
 * - the floor of a function: only what it needs besides our code and its Flatfile client (the AWS
 *   SDK clients it bundles, Powertools Logger, Metrics, Idempotency on DynamoDB, the Tracer loaded
 *   on first use), bundled with our own options and plugins (infra/bundling.ts). The function
 *   cannot load faster without dropping AWS code.
 * - a hosted-agent-style listener: what a Flatfile-hosted agent runs for the same job, the
 *   `@flatfile/listener` client with `@flatfile/plugin-space-configure`, bundled plainly
 *   (esbuild `{ bundle, minify, platform: "node" }`), its listener created at load as an agent's is.
 *
 * Each exports `handler`, so bench/cold-init.ts loads all of them the same way.
 */
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { functionBuildOptions, REPO_ROOT } from "../infra/bundling";
import type { BuiltBundle } from "./cold-init";

/** AWS clients some functions bundle beyond DynamoDB and Secrets Manager (Submit's delivery). */
export const OPTIONAL_AWS_CLIENTS = {
  "client-s3":
    'import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";\nconst s3 = new S3Client({});\nconst s3Call = () => s3.send(new PutObjectCommand({ Bucket: "b", Key: "k" }));\n',
  "client-eventbridge":
    'import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";\nconst bus = new EventBridgeClient({});\nconst busCall = () => bus.send(new PutEventsCommand({ Entries: [] }));\n',
} as const;
export type OptionalAwsClient = keyof typeof OPTIONAL_AWS_CLIENTS;

/** The optional AWS clients a built function bundles, read from its metafile. */
export function optionalAwsClientsOf(inputs: readonly string[]): OptionalAwsClient[] {
  return (Object.keys(OPTIONAL_AWS_CLIENTS) as OptionalAwsClient[]).filter((name) =>
    inputs.some((path) => path.includes(`node_modules/@aws-sdk/${name}/`)),
  );
}

export function awsFloorSource(extra: readonly OptionalAwsClient[]): string {
  const calls = extra.map((name) => (name === "client-s3" ? "await s3Call();" : "await busCall();")).join(" ");
  return `import { DynamoDBClient, PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
${extra.map((name) => OPTIONAL_AWS_CLIENTS[name]).join("")}
const logger = new Logger({ serviceName: "floor" });
const metrics = new Metrics({ namespace: "Floor", serviceName: "floor" });
const dynamo = new DynamoDBClient({});
const secrets = new SecretsManagerClient({});
const persistenceStore = new DynamoDBPersistenceLayer({ tableName: "t", awsSdkV3Client: dynamo });
// As shared/core/observability.ts does: the Tracer is required on the first traced invocation.
const tracer = () => require("@aws-lambda-powertools/tracer");

export const handler = makeIdempotent(
  async (event) => {
    logger.info("floor", { tracer: typeof tracer, metrics: typeof metrics });
    await secrets.send(new GetSecretValueCommand({ SecretId: "s" }));
    await dynamo.send(new QueryCommand({ TableName: "t" }));
    ${calls}
    return dynamo.send(new PutItemCommand({ TableName: "t", Item: {} }));
  },
  { persistenceStore, config: new IdempotencyConfig({}) },
);
`;
}

export const HOSTED_LISTENER_SOURCE = `import { FlatfileListener } from "@flatfile/listener";
import { configureSpace } from "@flatfile/plugin-space-configure";

// A hosted agent's module: configure each new Space with a workbook and a guide.
const listener = FlatfileListener.create((client) => {
  client.use(
    configureSpace({
      workbooks: [
        {
          name: "Contacts & Orders",
          sheets: [
            { name: "Contacts", slug: "contacts", fields: [{ key: "email", type: "string", label: "Email" }] },
            { name: "Orders", slug: "orders", fields: [{ key: "amount", type: "number", label: "Amount" }] },
          ],
        },
      ],
      documents: [{ title: "Getting started", body: "Welcome" }],
    }),
  );
});

export const handler = (event) => listener.dispatchEvent(event);
`;

async function bundleSource(outdir: string, source: string, options: Parameters<typeof build>[0]): Promise<BuiltBundle> {
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, "index.js");
  await build({
    ...options,
    entryPoints: undefined,
    stdin: { contents: source, resolveDir: REPO_ROOT, sourcefile: "handler.ts", loader: "ts" },
    outfile,
    write: true,
    logLevel: "error",
  });
  return { path: outfile, bytes: statSync(outfile).size };
}

/** The AWS SDK and Powertools alone (plus `extra` clients), with the functions' own build options and plugins. */
export function buildAwsFloorBundle(outdir: string, extra: readonly OptionalAwsClient[] = []): Promise<BuiltBundle> {
  const { entryPoints: _entry, outfile: _outfile, ...options } = functionBuildOptions("space-configure");
  return bundleSource(outdir, awsFloorSource(extra), { ...options, metafile: false });
}

/** `@flatfile/listener` + `@flatfile/plugin-space-configure`, bundled plainly. */
export function buildHostedListenerBundle(outdir: string): Promise<BuiltBundle> {
  return bundleSource(outdir, HOSTED_LISTENER_SOURCE, { bundle: true, minify: true, platform: "node" });
}
