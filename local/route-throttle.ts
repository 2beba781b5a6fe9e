/**
 * The route throttle as cdk.json deploys it (routeRateLimit, routeBurstLimit), checked by the
 * same rules as `cdk synth`: the local gateway and the bench throttle as the committed settings
 * do, so a changed limit is felt by `npm start` and measured by `npm run bench` before a deploy.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InvalidSettingsError, readDeploySettings } from "../infra/settings";
import type { ThrottleLimits } from "../infra/throttle";

const CDK_JSON = join(__dirname, "..", "cdk.json");

/** Throws InvalidSettingsError (as synth would) when cdk.json holds a limit synth refuses. */
export function configuredRouteThrottle(file = CDK_JSON): ThrottleLimits {
  const context = (JSON.parse(readFileSync(file, "utf8")) as { context?: Record<string, unknown> }).context ?? {};
  try {
    const settings = readDeploySettings({ routeRateLimit: context.routeRateLimit, routeBurstLimit: context.routeBurstLimit });
    return { rateLimit: settings.routeRateLimit, burstLimit: settings.routeBurstLimit };
  } catch (error) {
    if (error instanceof InvalidSettingsError) error.message = `${file}: ${error.message}`;
    throw error;
  }
}
