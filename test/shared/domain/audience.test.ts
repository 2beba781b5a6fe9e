import { describe, expect, it } from "vitest";
import { audienceOf, type Actor, type StaffRule } from "../../../shared/domain/audience";
import { STAFF_RULE } from "../../../shared/domain/blueprint";

const withDomains: StaffRule = { ...STAFF_RULE, staffEmailDomains: ["acme.com"] };

describe("audienceOf", () => {
  it.each<[string, Actor, StaffRule | undefined, string]>([
    ["staff flag", { kind: "user", metadata: { staff: true } }, undefined, "internal"],
    ["staff flag as a string is not staff", { kind: "user", metadata: { staff: "true" } }, undefined, "member"],
    ["role staff", { kind: "user", metadata: { role: "staff" } }, undefined, "internal"],
    ["role Admin (case)", { kind: "user", metadata: { role: "Admin" } }, undefined, "internal"],
    ["roles list", { kind: "user", metadata: { role: ["viewer", "admin"] } }, undefined, "internal"],
    ["other role", { kind: "user", metadata: { role: "viewer" } }, undefined, "member"],
    ["staff domain", { kind: "user", email: "ada@ACME.com" }, withDomains, "internal"],
    ["staff subdomain", { kind: "user", email: "ada@eu.acme.com" }, withDomains, "internal"],
    ["look-alike domain", { kind: "user", email: "ada@notacme.com" }, withDomains, "member"],
    ["no domains configured", { kind: "user", email: "ada@acme.com" }, undefined, "member"],
    ["plain user", { kind: "user", name: "Ada", email: "ada@example.com" }, undefined, "member"],
    ["guest", { kind: "guest", email: "g@example.com" }, undefined, "guest"],
    ["guest with staff domain stays guest", { kind: "guest", email: "g@acme.com", metadata: { staff: true } }, withDomains, "guest"],
    ["lookup failed", { kind: "unknown", id: "us_usr_x" }, undefined, "default"],
  ])("%s", (_name, actor, rule, expected) => {
    expect(audienceOf(actor, rule ?? STAFF_RULE)).toBe(expected);
  });
});
