import { FlatfileEvent, FlatfileListener } from "@flatfile/listener";
import { describe, expect, it } from "vitest";
import register, { EXAMPLE_ACTION_JOB, normalizeEmail } from "../../listener";

const event = (topic: string, context: Record<string, unknown>, payload: Record<string, unknown> = {}) =>
  new FlatfileEvent({ id: "us_evt_1", topic, context, payload } as never);

describe("the example listener", () => {
  it("normalises an e-mail address and leaves other values alone", () => {
    expect(normalizeEmail("  Ada@Example.COM ")).toBe("ada@example.com");
    expect(normalizeEmail(null)).toBeNull();
    expect(normalizeEmail(3)).toBe(3);
  });

  it("listens to commits of the Contacts sheet and to its action's job only", () => {
    const listener = FlatfileListener.create(register);
    expect(listener.getListeners(event("commit:created", { sheetSlug: "contacts" }), true)).toHaveLength(1);
    expect(listener.getListeners(event("commit:created", { sheetSlug: "orders" }), true)).toHaveLength(0);
    expect(listener.getListeners(event("job:ready", {}, { job: EXAMPLE_ACTION_JOB }), true)).toHaveLength(1);
    expect(listener.getListeners(event("job:ready", {}, { job: "workbook:submitActionFg" }), true)).toHaveLength(0);
  });
});
