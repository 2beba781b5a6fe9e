/**
 * What the playground and `npm run send` take from the customer's blueprint (blueprint/index.ts):
 * the sheets' roles and names, the sheet offering Duplicate, and the two actions' jobs, so renaming
 * a sheet or an action renames it here too.
 */
import { buildWorkbook, DUPLICATE_JOB, SHEET_ACTIONS, SUBMIT_JOB, sheetActionsFor } from "../../shared/domain/blueprint";
import { resolveCurrency } from "../../shared/domain/currency";
import { BUNDLED_CATEGORIES } from "../../shared/domain/reference-data";
import { SHEET_ROLES } from "../../shared/domain/space-state";

export { DUPLICATE_JOB, SHEET_ROLES, SUBMIT_JOB };

/** Where records go when no sheet is named: the blueprint's first sheet. */
export const DEFAULT_ROLE: string = SHEET_ROLES[0]!;

const offersDuplicate = (role: string) =>
  sheetActionsFor("member", role).some((action) => action.operation === SHEET_ACTIONS.duplicate.operation);

/** The sheet the Duplicate button acts on: the first whose sheet offers Duplicate to a member. */
export const DUPLICABLE_ROLE: string = SHEET_ROLES.find(offersDuplicate) ?? DEFAULT_ROLE;

// Names as a member's Space gets them; a sheet's name does not depend on the currency or categories.
const planned = buildWorkbook({
  spaceId: "us_sp_playground",
  environmentId: "us_env_playground",
  audience: "member",
  currency: resolveCurrency({ locale: "en-US" }),
  referenceData: { source: "bundled", categories: BUNDLED_CATEGORIES.map((c) => ({ ...c })), detail: "" },
});

/** The blueprint's name for a role's sheet ("Contacts"), or the role when it has none. */
export function sheetNameOf(role: string): string {
  return planned.sheets?.find((sheet) => sheet.slug === role)?.name ?? role;
}

/** The roles as a list in words: "contacts or orders", "a, b or c". */
export function rolesInWords(joiner = "or"): string {
  return SHEET_ROLES.length > 1 ? `${SHEET_ROLES.slice(0, -1).join(", ")} ${joiner} ${SHEET_ROLES.at(-1)}` : (SHEET_ROLES[0] ?? "");
}
