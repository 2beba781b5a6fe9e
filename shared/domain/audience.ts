/**
 * Who created the Space, reduced to the audience the blueprint shapes the Workbook for. Pure.
 * The rule's configuration (`STAFF_RULE`) lives in `./blueprint`, the module a customer edits,
 * and is passed in: the rule is documented there and implemented here, and this module imports
 * nothing from the blueprint.
 */

export interface Actor {
  id?: string;
  kind: "user" | "guest" | "unknown";
  name?: string;
  email?: string;
  metadata?: Record<string, unknown>;
}

export type Audience = "internal" | "member" | "guest" | "default";

export const AUDIENCES: readonly Audience[] = ["internal", "member", "guest", "default"];

/** What marks a user as staff. */
export interface StaffRule {
  /** A user metadata key whose value `true` marks staff (e.g. `staff`). */
  flagKey: string;
  /** A user metadata key holding a role name, or a list of role names (e.g. `role`). */
  roleKey: string;
  /** Role names that mark staff, compared case-insensitively (e.g. `staff`, `admin`). */
  staffRoles: readonly string[];
  /** E-mail domains that mark staff; a subdomain matches too (`eu.acme.com` for `acme.com`). */
  staffEmailDomains: readonly string[];
}

function roleNames(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

function emailDomain(email: string | undefined): string | undefined {
  if (typeof email !== "string") return undefined;
  const at = email.trim().lastIndexOf("@");
  if (at <= 0) return undefined;
  const domain = email
    .trim()
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, "");
  return domain || undefined;
}

/** Whether a user is staff under `rule` (by metadata flag, metadata role, or e-mail domain). */
export function isStaff(actor: Actor, rule: StaffRule): boolean {
  const metadata = actor.metadata ?? {};
  if (metadata[rule.flagKey] === true) return true;
  const roles = new Set(rule.staffRoles.map((r) => r.toLowerCase()));
  if (roleNames(metadata[rule.roleKey]).some((r) => roles.has(r.trim().toLowerCase()))) return true;
  const domain = emailDomain(actor.email);
  if (!domain) return false;
  return rule.staffEmailDomains.some((d) => {
    const staffDomain = d.trim().toLowerCase().replace(/^@/, "");
    return staffDomain !== "" && (domain === staffDomain || domain.endsWith(`.${staffDomain}`));
  });
}

/**
 * - guest (a guest, even one with a staff e-mail: guests get the restricted workbook)
 * - default (the actor could not be looked up: kind "unknown")
 * - internal (a user marked staff by `rule`)
 * - member (any other user)
 */
export function audienceOf(actor: Actor, rule: StaffRule): Audience {
  switch (actor.kind) {
    case "guest":
      return "guest";
    case "user":
      return isStaff(actor, rule) ? "internal" : "member";
    default:
      return "default";
  }
}

/**
 * The audience a Space was set up for, from what configure recorded of it (our state, the
 * workbook's metadata; absent ones skipped). Anyone with the API can write either, so a record
 * that is not an audience, or any record saying guest, gives the guest's: the narrowest, so a
 * forged record can refuse an action but never offer one.
 */
export function recordedAudience(...recorded: unknown[]): Audience {
  const present = recorded.filter((value) => value !== undefined);
  if (present.length === 0) return "guest";
  if (present.some((value) => value === "guest" || !AUDIENCES.includes(value as Audience))) return "guest";
  return present[0] as Audience;
}
