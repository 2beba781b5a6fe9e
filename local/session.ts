import { join } from "node:path";

/** Written by `npm start` in embedded mode, read by `npm run send`: where to post and how to sign. */
export const SESSION_FILE = join(__dirname, "..", ".tmp", "local-session.json");

export interface LocalSession {
  url: string;
  signingSecret: string;
  eventsDir: string;
}
