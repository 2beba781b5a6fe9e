/**
 * The Powertools Tracer brings the X-Ray SDK (aws-xray-sdk-core 3.12) and its dependencies,
 * ~140 KB minified, of which a Lambda function reaches a part: metrics and tracing may add at
 * most 100 KB of bundle, so that they do not cost the cold start they measure. This plugin leaves
 * out, for the function bundles only, what no code path on Lambda reaches (each checked in the
 * SDK's source; docs/performance.md has the figures):
 *
 *   - `semver` (29 KB): cls-hooked and the SDK v2 patcher call only `semver.gte`; it becomes
 *     semver's own `functions/gte` module (same code, without the rest of the package).
 *   - Centralized sampling (`middleware/sampling/default_sampler` and the rule and target pollers,
 *     service connector, caches behind it): on Lambda, `env/aws_lambda.js` replaces it with the
 *     local sampler at init ("Disabling centralized sampling in Lambda environment"); Lambda
 *     itself decides sampling (the `_X_AMZN_TRACE_ID` header).
 *   - The EC2, ECS and Elastic Beanstalk plugins: used only when passed to `AWSXRay.config()`.
 *   - The SDK v2 patcher (`patchers/aws_p`): this code uses SDK v3 (`captureAWSv3Client`).
 *   - The http/https and promise patchers: the Tracer is created with `captureHTTPsRequests:
 *     false` (shared/core/tracing.ts), and `capturePromise` is never called.
 *   - `resources/aws_whitelist.json` cut to the services our clients call (DynamoDB; Secrets
 *     Manager has no entry): it lists which request parameters a subsegment records, per service.
 *   - The SDK's package.json cut to `name` and `version` (all the SDK reads of it).
 *
 * Each removed module is replaced by one that throws an error naming it, so a path that does
 * reach one after all fails loudly instead of tracing wrongly.
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Plugin } from "esbuild";

/** Services whose AWS SDK v3 clients the functions use (shared/core/config.ts, lease.ts, idempotency.ts). */
export const TRACED_AWS_SERVICES = ["dynamodb", "secretsmanager"] as const;

const XRAY = /[\\/]aws-xray-sdk-core[\\/]dist[\\/]lib[\\/]/;

/** Module (relative to dist/lib, without .js) → why no Lambda path reaches it. */
export const UNREACHABLE_XRAY_MODULES: Readonly<Record<string, string>> = {
  "middleware/sampling/default_sampler": "centralized sampling is disabled on Lambda (env/aws_lambda.js uses the local sampler)",
  "segments/plugins/ec2_plugin": "the EC2 plugin is used only when passed to AWSXRay.config()",
  "segments/plugins/ecs_plugin": "the ECS plugin is used only when passed to AWSXRay.config()",
  "segments/plugins/elastic_beanstalk_plugin": "the Elastic Beanstalk plugin is used only when passed to AWSXRay.config()",
  "patchers/aws_p": "the AWS SDK v2 patcher; the functions use SDK v3 (captureAWSv3Client)",
  "patchers/http_p": "the Tracer is created with captureHTTPsRequests: false (shared/core/tracing.ts)",
  "patchers/promise_p": "capturePromise is never called",
};

function stubFor(module: string, reason: string): string {
  const message = `aws-xray-sdk-core ${module} is not bundled: ${reason} (see infra/trim-xray.ts)`;
  // An object whose every property is a function that throws: requiring the stub is harmless (the
  // SDK requires some of these eagerly), using it is loud.
  return `const fail = () => { throw new Error(${JSON.stringify(message)}); };
module.exports = new Proxy({}, { get: (_target, key) => (key === "__esModule" ? false : fail) });
`;
}

export function trimXraySdkPlugin(): Plugin {
  return {
    name: "trim-xray-sdk",
    setup(build) {
      build.onResolve({ filter: /^semver$/ }, (args) => {
        if (!/[\\/](cls-hooked|aws-xray-sdk-core)[\\/]/.test(args.importer)) return undefined;
        return { path: args.path, namespace: "semver-gte-only", pluginData: { resolveDir: dirname(args.importer) } };
      });
      build.onLoad({ filter: /.*/, namespace: "semver-gte-only" }, (args) => ({
        contents: 'module.exports = { gte: require("semver/functions/gte") };\n',
        loader: "js",
        resolveDir: (args.pluginData as { resolveDir: string }).resolveDir,
      }));

      build.onLoad({ filter: /[\\/]aws-xray-sdk-core[\\/]dist[\\/]lib[\\/].*\.js$/ }, (args) => {
        const module = args.path.split(XRAY)[1]!.replace(/\\/g, "/").replace(/\.js$/, "");
        const reason = UNREACHABLE_XRAY_MODULES[module];
        return reason ? { contents: stubFor(module, reason), loader: "js" } : undefined;
      });

      build.onLoad({ filter: /[\\/]aws-xray-sdk-core[\\/]dist[\\/]lib[\\/]resources[\\/]aws_whitelist\.json$/ }, (args) => {
        const whitelist = JSON.parse(readFileSync(args.path, "utf8")) as { services: Record<string, unknown> };
        const kept = Object.fromEntries(
          Object.entries(whitelist.services).filter(([name]) => (TRACED_AWS_SERVICES as readonly string[]).includes(name)),
        );
        return { contents: JSON.stringify({ services: kept }), loader: "json" };
      });

      build.onLoad({ filter: /[\\/]aws-xray-sdk-core[\\/]package\.json$/ }, (args) => {
        const { name, version } = JSON.parse(readFileSync(args.path, "utf8")) as { name: string; version: string };
        return { contents: JSON.stringify({ name, version }), loader: "json" };
      });
    },
  };
}
