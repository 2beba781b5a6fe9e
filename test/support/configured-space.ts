/**
 * A space as space-configure leaves it, seeded straight into the Flatfile stand-in: our workbook
 * (Contacts with the duplicate action, Orders with the category enum), the guide rendered from
 * its state, and our state (with the guide's) in `space.metadata`. Used by suites and the bench that
 * need sheets of a given size without running configure first; a space configured by the real
 * handler is configureSpace in fixture.ts, and both answer with the same ids (configuredFrom).
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileStandIn } from "../../local/flatfile-stand-in";
import { createFlatfileClient } from "../../shared/core/flatfile-client";
import { SHEET_ACTIONS, WORKBOOK_ACTIONS } from "../../shared/domain/blueprint";
import { resolveCurrency } from "../../shared/domain/currency";
import { initialGuideState, renderGuide, withProgress } from "../../shared/domain/guide";
import { GUIDE_TITLE, readSpaceState, withSpaceState, type SpaceState } from "../../shared/flatfile/space-state";

export const CATEGORIES = ["books", "music", "games"];

export const orderFields: Flatfile.Property[] = [
  { type: "string", key: "orderId", label: "Order ID" },
  { type: "number", key: "amount", label: "Amount (USD)" },
  { type: "enum", key: "category", label: "Category", config: { options: CATEGORIES.map((value) => ({ value, label: value })) } },
];

export const contactFields: Flatfile.Property[] = [
  { type: "string", key: "firstName", label: "First name" },
  { type: "string", key: "email", label: "Email" },
];

export interface Configured {
  spaceId: string;
  workbookId: string;
  contactsId: string;
  ordersId: string;
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
  const contactsId = state.sheets.contacts;
  const ordersId = state.sheets.orders;
  if (!contactsId || !ordersId) throw new Error(`space ${spaceId} has no contacts/orders sheets`);
  return { spaceId, state, workbookId: state.workbookId, contactsId, ordersId, guideId: state.guideDocumentId };
}

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export async function seedConfiguredSpace(
  flatfile: FlatfileStandIn,
  records: { contacts?: number; orders?: number } = {},
  metadata: Record<string, unknown> = { locale: "en-US", fromTheApp: "kept" },
): Promise<Configured> {
  const api = createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
  const contacts = records.contacts ?? 0;
  const orders = records.orders ?? 0;
  const space = flatfile.seed.space({ metadata });
  const workbook = flatfile.seed.workbook({
    spaceId: space.id,
    name: "Contacts & Orders",
    sheets: [
      {
        name: "Contacts",
        slug: "contacts",
        records: contacts,
        fields: contactFields,
        actions: [copy<Flatfile.Action>(SHEET_ACTIONS.duplicate)],
      },
      { name: "Orders", slug: "orders", records: orders, fields: orderFields },
    ],
    actions: [copy<Flatfile.Action>(WORKBOOK_ACTIONS.submit)],
  });
  const sheetId = (slug: string) => workbook.sheets.find((s) => s.slug === slug)!.id;
  const guideState = withProgress(
    initialGuideState({
      audience: "member",
      currency: resolveCurrency({ locale: "en-US" }),
      workbookName: "Contacts & Orders",
      sheets: [
        { name: "Contacts", slug: "contacts" },
        { name: "Orders", slug: "orders" },
      ],
    }),
    [
      { role: "contacts", sheetName: "Contacts", total: contacts, valid: contacts, error: 0 },
      { role: "orders", sheetName: "Orders", total: orders, valid: orders, error: 0 },
    ],
  );
  const { body } = renderGuide(guideState);
  const guide = (await api.documents.create(space.id, { title: GUIDE_TITLE, body })).data;
  const state: SpaceState = {
    version: 1,
    workbookId: workbook.id,
    guideDocumentId: guide.id,
    sheets: { contacts: sheetId("contacts"), orders: sheetId("orders") },
    currency: "USD",
    audience: "member",
    configuredAt: new Date().toISOString(),
    configureJobId: "us_jb_seed0001",
    guide: guideState,
  };
  await api.spaces.update(space.id, { metadata: withSpaceState(space.metadata, state) });
  return { spaceId: space.id, workbookId: workbook.id, contactsId: sheetId("contacts"), ordersId: sheetId("orders"), guideId: guide.id };
}
