/**
 * Stages: named sets of deploy settings committed in cdk.json ("context" -> "stages"), so that a
 * deploy of a stage depends on the repository alone, never on which `-c` flags were typed.
 *
 *   "stages": {
 *     "dev":  { "flatfileEnvironmentId": "us_env_dev1", "alarmEmail": "dev@example.com" },
 *     "prod": { "flatfileEnvironmentId": "us_env_prod1", "secretName": "prod/flatfile" }
 *   }
 *
 * `selectStage(context)` picks the one named by `-c stage=<name>` (scripts/cdk.ts turns
 * `npm run deploy -- <name>` into that). Pure: no CDK, no I/O. Rules, each refused with a message:
 * - stages defined: a synth that names none, or names an unknown one, is refused, listing them;
 * - a stage holds only setting keys, as strings, each checked as a top-level key is;
 * - the top-level settings stay at their defaults (a `-c key=value` would otherwise change what a
 *   stage deploys, and leaving it out next time would drop it again, e.g. the relay's registration);
 * - stages differ where two stacks in one account and region must: their stack names, and the
 *   Flatfile environment each registers the relay in (one relay per environment: each deploy
 *   would remove the other's).
 * No stages defined: the top-level keys are the settings, as before (the local default).
 */
import {
  DEFAULT_STACK_NAME,
  type DeploySettings,
  InvalidSettingsError,
  mistypedKeys,
  readDeploySettings,
  SETTING_KEYS,
  SETTINGS,
  type SettingKey,
  STAGE_CONTEXT_KEYS,
} from "./settings";

/** The context keys: the stage table, and which stage this synth builds. */
export const [STAGE_KEY, STAGES_KEY] = STAGE_CONTEXT_KEYS;

/** A stage name becomes part of the stack name and the metric namespace: letters, digits, hyphens. */
const STAGE_NAME = /^[A-Za-z][A-Za-z0-9-]{0,31}$/;

export interface StageSelection {
  /** The stage built, undefined when no stages are defined. */
  stage?: string;
  settings: DeploySettings;
  /** Every stage cdk.json defines, in its order ([] when none). */
  stages: string[];
}

/** A stage's stack name unless it sets its own: two stages never share one by default. */
export const stageStackName = (stage: string) => `${DEFAULT_STACK_NAME}-${stage}`;

type Problem = { key: string; message: string };

const show = (value: unknown) => JSON.stringify(value);

/** The stage table, or undefined when none is defined (absent, null or {}). */
function stageTable(raw: unknown, problems: Problem[]): Record<string, unknown> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    problems.push({
      key: STAGES_KEY,
      message: `must be an object of stage name -> settings in cdk.json, not ${Array.isArray(raw) ? "an array" : typeof raw} (stages cannot be given with -c)`,
    });
    return undefined;
  }
  return Object.keys(raw).length > 0 ? (raw as Record<string, unknown>) : undefined;
}

/** One stage's settings, its problems prefixed `stages.<name>.`. */
function readStage(name: string, raw: unknown, problems: Problem[]): DeploySettings | undefined {
  const at = `${STAGES_KEY}.${name}`;
  const before = problems.length;
  if (!STAGE_NAME.test(name)) {
    problems.push({ key: at, message: "a stage name is a letter, then letters, digits and hyphens, at most 32 characters" });
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    problems.push({ key: at, message: `must be an object of settings, e.g. { "flatfileEnvironmentId": "us_env_..." }, not ${show(raw)}` });
    return undefined;
  }
  const values = raw as Record<string, unknown>;
  // Every key of a stage is ours: an unknown one is a mistake, close to a setting or not.
  const typos = new Map(mistypedKeys(Object.keys(values)).map(({ key, meant }) => [key, meant]));
  for (const key of Object.keys(values)) {
    if ((SETTING_KEYS as string[]).includes(key)) continue;
    const meant = typos.get(key);
    problems.push({ key: `${at}.${key}`, message: `is not a setting${meant ? `; did you mean ${meant}?` : ""}` });
  }
  let settings: DeploySettings | undefined;
  try {
    const known = Object.fromEntries(Object.entries(values).filter(([key]) => (SETTING_KEYS as string[]).includes(key)));
    settings = readDeploySettings(known);
  } catch (error) {
    if (!(error instanceof InvalidSettingsError)) throw error;
    problems.push(...error.problems.map((p) => ({ key: `${at}.${p.key}`, message: p.message })));
  }
  if (!settings || problems.length > before) return undefined;
  const ownStackName = typeof values.stackName === "string" && values.stackName.trim() !== "";
  return ownStackName ? settings : { ...settings, stackName: stageStackName(name) };
}

/** Top-level settings that differ from their defaults: with stages, they belong in a stage. */
function topLevelOverrides(context: Readonly<Record<string, unknown>>): SettingKey[] {
  const defaults = readDeploySettings({}) as unknown as Record<string, unknown>;
  let given: Record<string, unknown>;
  try {
    given = readDeploySettings(Object.fromEntries(SETTING_KEYS.map((key) => [key, context[key]]))) as unknown as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof InvalidSettingsError)) throw error;
    return error.problems.map((p) => p.key as SettingKey);
  }
  return SETTING_KEYS.filter((key) => JSON.stringify(given[SETTINGS[key].field]) !== JSON.stringify(defaults[SETTINGS[key].field]));
}

/** Refused because of the stage: which one, or which stages there are. */
export class StageSelectionError extends InvalidSettingsError {
  constructor(message: string) {
    super([{ key: STAGE_KEY, message }]);
    this.message = `Refusing to synthesize: ${message}`;
    this.name = "StageSelectionError";
  }
}

/**
 * The settings this synth builds: the named stage's when cdk.json defines stages, the top-level
 * keys otherwise. Throws InvalidSettingsError (every problem, each named) or StageSelectionError.
 */
export function selectStage(context: Readonly<Record<string, unknown>>): StageSelection {
  const problems: Problem[] = [];
  const table = stageTable(context[STAGES_KEY], problems);
  const rawStage = context[STAGE_KEY];
  const named = typeof rawStage === "string" ? rawStage.trim() : rawStage === undefined || rawStage === null ? "" : undefined;
  if (named === undefined) problems.push({ key: STAGE_KEY, message: `must be a stage name, not ${show(rawStage)}` });
  if (problems.length > 0) throw new InvalidSettingsError(problems);

  if (!table) {
    if (named) {
      throw new StageSelectionError(
        `stage ${show(named)} was named, but cdk.json defines no stages (add them under "context" -> "stages", see docs/stages.md, or deploy without a stage)`,
      );
    }
    return { settings: readDeploySettings(context), stages: [] };
  }

  const stages = Object.keys(table);
  const list = stages.join(", ");
  if (!named) {
    throw new StageSelectionError(
      `name the stage to deploy, one of: ${list} (npm run deploy -- <stage>, or cdk ... -c stage=<stage>); cdk.json defines stages, so a stage-less deploy could drop their settings`,
    );
  }
  if (!stages.includes(named)) throw new StageSelectionError(`there is no stage ${show(named)}; cdk.json defines: ${list}`);

  // Every stage is checked, not only the one deployed: a broken stage shows on any synth.
  const all = new Map<string, DeploySettings>();
  for (const name of stages) {
    const settings = readStage(name, table[name], problems);
    if (settings) all.set(name, settings);
  }
  for (const key of topLevelOverrides(context)) {
    problems.push({
      key,
      message: `with stages, set it in cdk.json "stages" -> "${named}" (a -c flag or a top-level value would change what the stage deploys, and be lost on the next deploy without it)`,
    });
  }
  for (const { key, meant } of mistypedKeys(Object.keys(context))) {
    problems.push({ key, message: `is not a setting; did you mean ${meant}? (a mistyped key would be ignored)` });
  }
  const owners = (field: "stackName" | "flatfileEnvironmentId") => {
    const byValue = new Map<string, string[]>();
    for (const [name, settings] of all) {
      const value = settings[field];
      if (value) byValue.set(value, [...(byValue.get(value) ?? []), name]);
    }
    return [...byValue].filter(([, names]) => names.length > 1);
  };
  for (const [stackName, names] of owners("stackName")) {
    problems.push({
      key: STAGES_KEY,
      message: `stages ${names.join(" and ")} have the same stackName ${show(stackName)}: each deploy would update the other's stack`,
    });
  }
  for (const [environmentId, names] of owners("flatfileEnvironmentId")) {
    problems.push({
      key: STAGES_KEY,
      message: `stages ${names.join(" and ")} both register the relay in ${environmentId}: an environment holds one relay, so each deploy would remove the other's; give each stage its own Flatfile environment`,
    });
  }
  if (problems.length > 0) throw new InvalidSettingsError(problems);
  return { stage: named, settings: all.get(named)!, stages };
}
