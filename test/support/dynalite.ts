/**
 * A local DynamoDB-compatible server (dynalite, in memory) on 127.0.0.1, with the idempotency
 * table as the stack creates it (partition key `id`, TTL on `expiration`, the sparse open-jobs
 * index), reached through AWS_ENDPOINT_URL_DYNAMODB like the real service.
 */
import { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { OPEN_JOBS_INDEX, OPEN_JOBS_PARTITION_ATTRIBUTE, OPEN_JOBS_SORT_ATTRIBUTE } from "../../shared/core/open-jobs";

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require("dynalite") as (options: Record<string, unknown>) => import("node:http").Server;

export interface LocalDynamo {
  endpoint: string;
  table: string;
  /** Stops answering (connections refused) until `start` is called again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The env a handler needs to use the table: endpoint, region and dummy credentials. */
export function dynamoEnv(dynamo: LocalDynamo): Record<string, string> {
  return {
    IDEMPOTENCY_TABLE: dynamo.table,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  };
}

/** The table as infra/stack.ts declares it. */
function tableDefinition(table: string): CreateTableCommandInput {
  return {
    TableName: table,
    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    AttributeDefinitions: [
      { AttributeName: "id", AttributeType: "S" },
      { AttributeName: OPEN_JOBS_PARTITION_ATTRIBUTE, AttributeType: "S" },
      { AttributeName: OPEN_JOBS_SORT_ATTRIBUTE, AttributeType: "N" },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: OPEN_JOBS_INDEX,
        KeySchema: [
          { AttributeName: OPEN_JOBS_PARTITION_ATTRIBUTE, KeyType: "HASH" },
          { AttributeName: OPEN_JOBS_SORT_ATTRIBUTE, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ],
    BillingMode: "PAY_PER_REQUEST",
  };
}

export async function startLocalDynamo(table = "idempotency"): Promise<LocalDynamo> {
  let server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  await client.send(new CreateTableCommand(tableDefinition(table)));
  client.destroy();
  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });
  let running = true;
  return {
    endpoint,
    table,
    async stop() {
      if (!running) return;
      running = false;
      // Only the network goes: connections refused and cut, as when the service is unreachable.
      // dynalite's own close() also closes its database, and a request it had already read then
      // meets a closed database, which dynalite throws out of a callback ("Database is closed",
      // an uncaught exception in the test process). The stopped instance keeps its in-memory
      // database until its last request is done; `start` makes a new one.
      const stopped = server;
      await new Promise<void>((resolve) => {
        stopped.closeAllConnections?.();
        HttpServer.prototype.close.call(stopped, () => resolve());
      });
    },
    async start() {
      if (running) return;
      // A stopped dynalite keeps no state: the table is recreated empty, like a store that lost its data.
      server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
      running = true;
      const c = new DynamoDBClient({ endpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
      await c.send(new CreateTableCommand(tableDefinition(table)));
      c.destroy();
    },
    async close() {
      if (running) await closeServer();
      running = false;
    },
  };
}
