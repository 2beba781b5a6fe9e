/**
 * Everything a new Space gets, as one pure function of who made it, where it is and the
 * reference data: the audience, the workbook to create, the "Getting started" guide and the
 * guide's state (kept in our state, and rendered into the guide on every later write).
 */
import type { Flatfile } from "@flatfile/api";
import { audienceOf, type Actor, type Audience } from "./audience";
import { buildWorkbook, categoryOptions, STAFF_RULE } from "./blueprint";
import { type CurrencyChoice, DEFAULT_LOCALE, resolveCurrency } from "./currency";
import { initialGuideState, renderGuide, type GuideState } from "./guide";
import { BUNDLED_CATEGORIES, type ReferenceData } from "./reference-data";

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
  guideState: GuideState;
}

export function buildSpaceSetup(input: SpaceSetupInput): SpaceSetup {
  const { actor, currency, referenceData } = input;
  const audience = audienceOf(actor, STAFF_RULE);
  const workbook = buildWorkbook({
    spaceId: input.spaceId,
    environmentId: input.environmentId,
    audience,
    currency,
    referenceData,
    actorName: actor.name,
  });
  const { options, total, capReason } = categoryOptions(referenceData);
  const guideState = initialGuideState({
    audience,
    actorName: actor.name,
    currency,
    referenceData: {
      source: referenceData.source,
      detail: referenceData.detail,
      total,
      offered: options.length,
      ...(capReason ? { capReason } : {}),
    },
    workbookName: workbook.name,
    sheets: (workbook.sheets ?? []).map((s) => ({ name: s.name, slug: s.slug ?? s.name })),
  });
  return { audience, workbook, guide: renderGuide(guideState), guideState };
}

let warmedUp = false;

/**
 * Builds one throwaway setup, so that a cold process compiles the builders and loads ICU's locale
 * data (tens of milliseconds each on a cold start) while a configure's first reads are in flight,
 * rather than between its first and second rounds. Once per process; the result is dropped.
 */
export function warmUpSpaceSetup(): void {
  if (warmedUp) return;
  warmedUp = true;
  buildSpaceSetup({
    spaceId: "us_sp_warmup",
    environmentId: "us_env_warmup",
    actor: { kind: "unknown" },
    currency: resolveCurrency({ locale: DEFAULT_LOCALE }),
    referenceData: { categories: [...BUNDLED_CATEGORIES], source: "bundled", detail: "warm-up" },
  });
}
