/**
 * `npm run relay:deploy`: registers the relay by hand, exactly as the stack's custom resource does
 * (bundle the agent, upsert RELAY_BASE_URL and RELAY_SIGNING_SECRET in the environment, create the
 * agent, remove older relay agents). `npm run relay:deploy -- --remove` takes it out again. As for
 * relay:build, `--listener` (the stack serves /listener), `--space-configure-by listener` and
 * `--owned-spaces <value>` give the plan.
 *
 * Environment:
 *   FLATFILE_ENVIRONMENT_ID   the Flatfile environment (required)
 *   RELAY_BASE_URL            the API's base URL, e.g. the stack's ApiUrl output (required unless --remove)
 *   FLATFILE_SECRET_ID        the stack's secret: apiKey and signingSecret are read from it (AWS credentials needed), or
 *   FLATFILE_API_KEY + FLATFILE_SIGNING_SECRET   the same two values directly
 *   FLATFILE_API_URL          optional, another Flatfile region or a local stand-in
 */
import { ConfigurationError, loadSettings } from "../shared/core/config";
import { createSdkClient } from "../shared/core/flatfile-sdk";
import { buildRelayAgent } from "../infra/relay/bundle";
import { relayTopics } from "../infra/relay/forward";
import { relayPlanFor } from "../infra/relay/plan";
import { planArguments } from "./relay-build";
import {
  baseUrlProblem,
  describeFlatfileFailure,
  isMissingApiKey,
  registerRelay,
  unregisterRelay,
} from "../infra/relay/flatfile-registration";

export async function relayDeploy(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  print: (line: string) => void = console.log,
): Promise<void> {
  const remove = argv.includes("--remove");
  const environmentId = env.FLATFILE_ENVIRONMENT_ID?.trim();
  const baseUrl = env.RELAY_BASE_URL?.trim();
  if (!environmentId) throw new ConfigurationError("FLATFILE_ENVIRONMENT_ID is not set");
  const urlProblem = remove ? undefined : baseUrlProblem(baseUrl);
  if (urlProblem) throw new ConfigurationError(`RELAY_BASE_URL: ${urlProblem} (the stack's ApiUrl output)`);
  const settings = await loadSettings(env);
  if (isMissingApiKey(settings.apiKey)) {
    throw new ConfigurationError(
      "the Flatfile API key is still the placeholder: put the environment's secret key in the secret's apiKey (or FLATFILE_API_KEY) first",
    );
  }
  const started = Date.now();
  const api = createSdkClient({ token: settings.apiKey, baseUrl: settings.apiUrl, deadline: () => started + 120_000 });
  try {
    if (remove) {
      const removed = await unregisterRelay(api, environmentId);
      print(
        `relay removed from ${environmentId}: ${removed.removedAgents.length} agent(s), secrets ${removed.removedSecrets.join(", ") || "none"}`,
      );
      return;
    }
    const plan = relayPlanFor(planArguments(argv));
    const bundle = await buildRelayAgent(plan);
    const result = await registerRelay(api, {
      environmentId,
      baseUrl: baseUrl!,
      signingSecret: settings.signingSecrets[0]!,
      // During a rotation (the secret's previousSigningSecret), the relay signs with both.
      previousSigningSecret: settings.signingSecrets[1],
      source: bundle.code,
      topics: relayTopics(plan),
    });
    print(
      `relay registered in ${environmentId}: agent ${result.agentId} (${(bundle.bytes / 1024).toFixed(1)} KiB, sha256 ${bundle.sha256.slice(0, 12)})` +
        (result.removed.length ? `, replaced ${result.removed.join(", ")}` : "") +
        `; it forwards to ${baseUrl}`,
    );
  } catch (error) {
    throw new Error(describeFlatfileFailure(error, environmentId));
  }
}

if (require.main === module) {
  relayDeploy(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`relay:deploy failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
