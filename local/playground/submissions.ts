/**
 * Where `npm start`'s Submit delivers: a real S3-compatible server (s3rver) and the local
 * EventBridge, started beside the routes and reached through the same variables a deployed
 * function reads. The page shows each event and the start of the object it names.
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startEventBridgeStandIn, type EventBridgeStandIn } from "../eventbridge-stand-in";
import { startLocalS3, type LocalS3 } from "../s3-server";

export interface SubmissionView {
  eventId: string;
  time: string;
  bus: string;
  detail: Record<string, unknown>;
  /** The object's size and first lines, or why it could not be read. */
  object: { bytes?: number; firstLines: string[]; problem?: string };
}

export interface LocalSubmissions {
  /** What the functions read: set on process.env by the local run. */
  env: Record<string, string>;
  list(): Promise<SubmissionView[]>;
  close(): Promise<void>;
}

const SHOWN_LINES = 3;

export async function startLocalSubmissions(): Promise<LocalSubmissions> {
  const [s3, events]: [LocalS3, EventBridgeStandIn] = await Promise.all([startLocalS3(), startEventBridgeStandIn()]);
  const client = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: "us-east-1", credentials: s3.credentials });
  return {
    env: {
      SUBMISSIONS_BUCKET: s3.bucket,
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    },
    async list() {
      return Promise.all(
        events.events.map(async (event): Promise<SubmissionView> => {
          const detail = (event.detail ?? {}) as Record<string, unknown>;
          const view: SubmissionView = { eventId: event.id, time: event.time, bus: event.eventBus, detail, object: { firstLines: [] } };
          try {
            const answer = await client.send(
              new GetObjectCommand({ Bucket: String(detail.bucket), Key: String(detail.key), Range: "bytes=0-4095" }),
            );
            const head = await answer.Body!.transformToString("utf8");
            const total = /\/(\d+)$/.exec(answer.ContentRange ?? "")?.[1];
            view.object = {
              bytes: total ? Number(total) : head.length,
              firstLines: head.split("\n").slice(0, SHOWN_LINES).filter(Boolean),
            };
          } catch (error) {
            view.object = { firstLines: [], problem: error instanceof Error ? error.name : String(error) };
          }
          return view;
        }),
      );
    },
    async close() {
      client.destroy();
      await Promise.all([s3.close(), events.close()]);
    },
  };
}
