import { join } from "node:path";

/**
 * Where `npm start` keeps what outlives a request: the session file `npm run send` reads and the
 * pull mode's cursor. LOCAL_STATE_DIR moves it (the tests do, so they never touch a running demo's).
 */
export const localStateDir = () => process.env.LOCAL_STATE_DIR || join(__dirname, "..", ".tmp");

/** Written by `npm start` once its port is bound, read by `npm run send`: where to post and how to sign. */
export const sessionFile = () => join(localStateDir(), "local-session.json");

/** Pull mode's cursor, per environment, so a restart does not handle old events again. */
export const pullCursorFile = (environmentId: string) =>
  join(localStateDir(), `pull-cursor-${environmentId.replace(/[^A-Za-z0-9_-]/g, "_")}.json`);

export type LocalMode = "embedded" | "pull" | "routes-only";

export interface LocalSession {
  url: string;
  signingSecret: string;
  /** The npm start process that wrote it (it removes the file when it stops). */
  pid: number;
  mode: LocalMode;
}
