/**
 * A real S3-compatible server on 127.0.0.1 (s3rver: S3's REST API over the file system,
 * multipart uploads included), for `npm start` and the tests. The functions reach it through
 * AWS_ENDPOINT_URL_S3 with the real AWS SDK client.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

export interface LocalS3 {
  url: string;
  bucket: string;
  /** Credentials s3rver accepts (it checks the signature with these). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

export async function startLocalS3(bucket = "submissions"): Promise<LocalS3> {
  const directory = mkdtempSync(join(tmpdir(), "local-s3-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = (await server.run()) as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    bucket,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
