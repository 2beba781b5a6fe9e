/**
 * A space as space-configure leaves it, seeded straight into the Flatfile stand-in: our workbook
 * (a sheet per role of the blueprint, named as it names them: the example's Contacts with the
 * duplicate action, Orders with the category enum), the guide rendered from its state, and our
 * state (with the guide's) in `space.metadata`. Used by suites and the bench that
 * need sheets of a given size without running configure first; a space configured by the real
 * handler is configureSpace in fixture.ts, and both answer with the same ids (configuredFrom).
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileStandIn } from "../../local/flatfile-stand-in";
import { createFlatfileClient } from "../../shared/core/flatfile-client";
import { SHEET_ACTIONS, UNKNOWN_CATEGORY_RULE, WORKBOOK_ACTIONS, WORKBOOK_NAME } from "../../shared/domain/blueprint";
import { resolveCurrency } from "../../shared/domain/currency";
import { initialGuideState, renderGuide, withProgress } from "../../shared/domain/guide";
import { SHEET_ROLES } from "../../shared/domain/space-state";
import { GUIDE_TITLE, readSpaceState, withSpaceState, type SpaceState } from "../../shared/flatfile/space-state";
import { DUPLICABLE_ROLE, RULE_ROLE, sheetName } from "./blueprint";

export const CATEGORIES = ["books", "music", "games"];

export const orderFields: Flatfile.Property[] = [
  { type: "string", key: "orderId", label: "Order ID" },
  { type: "number", key: "amount", label: "Amount (USD)" },
  {
    type: "enum",
    key: UNKNOWN_CATEGORY_RULE.fieldKey,
    label: "Category",
    config: { options: CATEGORIES.map((value) => ({ value, label: value })) },
  },
];

export const contactFields: Flatfile.Property[] = [
  { type: "string", key: "firstName", label: "First name" },
  { type: "string", key: "email", label: "Email" },
];

export interface Configured {
  spaceId: string;
  workbookId: string;
  /** The working sheet of the role that offers Duplicate (DUPLICABLE_ROLE: the example's Contacts). */
  contactsId: string;
  /** The working sheet of the commit-time rule's role (RULE_ROLE: the example's Orders). */
  ordersId: string;
  /** Role → working sheet, for every role of the blueprint. */
  sheetIds: Record<string, string>;
  guideId: string;
}

/** A configured space with our state, as read back from its metadata. */
export interface ConfiguredSpace extends Configured {
  state: SpaceState;
}

/** The ids our state in a space's metadata names; throws if configure left none. */
export function configuredFrom(spaceId: string, metadata: unknown): ConfiguredSpace {
  const state = readSpaceState(metadata);
  if (!state) throw new Error(`space ${spaceId} was not configured`);
  const contactsId = state.sheets[DUPLICABLE_ROLE];
  const ordersId = state.sheets[RULE_ROLE];
  if (!contactsId || !ordersId) throw new Error(`space ${spaceId} has no ${DUPLICABLE_ROLE}/${RULE_ROLE} sheets`);
  return {
    spaceId,
    state,
    workbookId: state.workbookId,
    contactsId,
    ordersId,
    sheetIds: { ...state.sheets },
    guideId: state.guideDocumentId,
  };
}

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * `records`: how many records each role's sheet starts with (by role; the example's `contacts`
 * and `orders`). The rule's sheet gets orderFields, every other sheet contactFields.
 */
export async function seedConfiguredSpace(
  flatfile: FlatfileStandIn,
  records: Partial<Record<string, number>> = {},
  metadata: Record<string, unknown> = { locale: "en-US", fromTheApp: "kept" },
): Promise<Configured> {
  const api = createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
  const count = (role: string) => records[role] ?? 0;
  const space = flatfile.seed.space({ metadata });
  const workbook = flatfile.seed.workbook({
    spaceId: space.id,
    name: WORKBOOK_NAME,
    sheets: SHEET_ROLES.map((role) => ({
      name: sheetName(role),
      slug: role,
      records: count(role),
      fields: role === RULE_ROLE ? orderFields : contactFields,
      ...(role === DUPLICABLE_ROLE ? { actions: [copy<Flatfile.Action>(SHEET_ACTIONS.duplicate)] } : {}),
    })),
    actions: [copy<Flatfile.Action>(WORKBOOK_ACTIONS.submit)],
  });
  const sheetId = (slug: string) => workbook.sheets.find((s) => s.slug === slug)!.id;
  const guideState = withProgress(
    initialGuideState({
      audience: "member",
      currency: resolveCurrency({ locale: "en-US" }),
      workbookName: WORKBOOK_NAME,
      sheets: SHEET_ROLES.map((role) => ({ name: sheetName(role), slug: role })),
    }),
    SHEET_ROLES.map((role) => ({ role, sheetName: sheetName(role), total: count(role), valid: count(role), error: 0 })),
  );
  const { body } = renderGuide(guideState);
  const guide = (await api.documents.create(space.id, { title: GUIDE_TITLE, body })).data;
  const sheetIds = Object.fromEntries(SHEET_ROLES.map((role) => [role, sheetId(role)]));
  const state: SpaceState = {
    version: 1,
    workbookId: workbook.id,
    guideDocumentId: guide.id,
    sheets: sheetIds,
    currency: "USD",
    audience: "member",
    configuredAt: new Date().toISOString(),
    configureJobId: "us_jb_seed0001",
    guide: guideState,
  };
  await api.spaces.update(space.id, { metadata: withSpaceState(space.metadata, state) });
  return {
    spaceId: space.id,
    workbookId: workbook.id,
    contactsId: sheetId(DUPLICABLE_ROLE),
    ordersId: sheetId(RULE_ROLE),
    sheetIds,
    guideId: guide.id,
  };
}
