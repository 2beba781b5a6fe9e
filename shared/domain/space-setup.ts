/**
 * Everything a new Space gets, as one pure function of who made it, where it is and the
 * reference data: the audience, the workbook to create and the "Getting started" guide.
 */
import type { Flatfile } from "@flatfile/api";
import { audienceOf, type Actor, type Audience } from "./audience";
import { buildWorkbook } from "./blueprint";
import type { CurrencyChoice } from "./currency";
import { buildGuide } from "./guide";
import type { ReferenceData } from "./reference-data";

export interface SpaceSetupInput {
  spaceId: string;
  environmentId: string;
  actor: Actor;
  currency: CurrencyChoice;
  referenceData: ReferenceData;
}

export interface SpaceSetup {
  audience: Audience;
  workbook: Flatfile.CreateWorkbookConfig;
  guide: { title: string; body: string };
}

export function buildSpaceSetup(input: SpaceSetupInput): SpaceSetup {
  const { actor, currency, referenceData } = input;
  const audience = audienceOf(actor);
  const workbook = buildWorkbook({ spaceId: input.spaceId, environmentId: input.environmentId, audience, currency, referenceData, actorName: actor.name });
  const guide = buildGuide({
    audience,
    actorName: actor.name,
    currency,
    referenceData,
    workbookName: workbook.name,
    sheets: (workbook.sheets ?? []).map((s) => ({ name: s.name, slug: s.slug ?? s.name })),
  });
  return { audience, workbook, guide };
}
