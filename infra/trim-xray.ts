/**
 * An esbuild plugin that leaves out of the function bundles the parts of the X-Ray SDK (brought by
 * the Powertools Tracer) that no code path on Lambda reaches, so metrics and tracing stay within
 * their 100 KB budget and do not cost the cold start they measure. Each removed module throws
 * naming itself if reached. What is removed and why: docs/design.md#trimming-the-x-ray-sdk.
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
