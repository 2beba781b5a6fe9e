/**
 * What the platform does where its documentation says nothing: the stand-in can run either way,
 * per instance (`startFlatfileStandIn({ platform })`, or `standIn.platform` changed in place) or
 * for a whole run through environment variables, so a suite can prove it does not depend on the
 * answer. Defaults follow the evidence in ../shared/flatfile-notes.md ("Platform behaviour").
 */

export interface PlatformBehaviour {
  /**
   * What `workbooks.update` does with a sheet of the workbook that the update's `sheets` leaves out.
   * Undocumented. "kept" is where the evidence leans (a Flatfile branch of a reconfigure plugin,
   * `flatfile-plugins` `space-reconfigure-plugin`, deletes such sheets explicitly with
   * `sheets.delete` after updating, which it would not need if the update dropped them); "dropped"
   * is the other plausible answer. Env: `STAND_IN_OMITTED_SHEETS=kept|dropped`.
   */
  omittedSheets: "kept" | "dropped";
  /**
   * Whether HTML comments (`<!-- ... -->`) in a document body are dropped when it is stored.
   * Undocumented (the docs say bodies are Markdown with HTML allowed); the least convenient
   * plausible answer is that they are dropped, and that is the default (the guide is rendered
   * whole from our state, so it needs none). Env: `STAND_IN_DROP_HTML_COMMENTS=1|0`.
   */
  dropHtmlComments: boolean;
  /**
   * Whether a records write sent with `X-Disable-Hooks: true` raises `commit:created`. The SDK
   * sends that header on every records request unless told otherwise (`@flatfile/api`
   * records/client/Client.js, and `event.fetch` in `@flatfile/listener`), while Flatfile's own
   * test helpers send `X-Force-Hooks: true` before they wait for `commit:created`
   * (flatfile-plugins utils/testing test.helpers.ts). Undocumented; "skipped" (no event, the less
   * convenient answer: nothing recounts after such a write) is the default, "raised" the other.
   * `X-Force-Hooks: true` raises the event either way. Env: `STAND_IN_DISABLED_HOOKS=skipped|raised`.
   */
  disabledHooks: "skipped" | "raised";
}

export const OMITTED_SHEETS_ENV = "STAND_IN_OMITTED_SHEETS";
export const DROP_HTML_COMMENTS_ENV = "STAND_IN_DROP_HTML_COMMENTS";
export const DISABLED_HOOKS_ENV = "STAND_IN_DISABLED_HOOKS";

/** The defaults, as changed by the environment variables above (an unknown value is an error). */
export function platformFromEnv(env: NodeJS.ProcessEnv = process.env): PlatformBehaviour {
  const omitted = env[OMITTED_SHEETS_ENV] || "kept";
  if (omitted !== "kept" && omitted !== "dropped") throw new Error(`${OMITTED_SHEETS_ENV} must be "kept" or "dropped", not "${omitted}"`);
  const comments = env[DROP_HTML_COMMENTS_ENV] || "1";
  if (!["0", "1", "true", "false"].includes(comments)) throw new Error(`${DROP_HTML_COMMENTS_ENV} must be 1 or 0, not "${comments}"`);
  const hooks = env[DISABLED_HOOKS_ENV] || "skipped";
  if (hooks !== "skipped" && hooks !== "raised") throw new Error(`${DISABLED_HOOKS_ENV} must be "skipped" or "raised", not "${hooks}"`);
  return { omittedSheets: omitted, dropHtmlComments: comments === "1" || comments === "true", disabledHooks: hooks };
}

/** Drops every `<!-- ... -->` (an unterminated one runs to the end, as an HTML parser reads it). */
export function withoutHtmlComments(body: string): string {
  return body.replace(/<!--[\s\S]*?(?:-->|$)/g, "");
}
