/**
 * An esbuild plugin that leaves out of the function bundles the AWS SDK credential providers a
 * Lambda never reaches.
 *
 * The AWS SDK's default credential chain (`@aws-sdk/credential-provider-node`) tries, in order:
 * the environment, SSO, the shared ini files, `credential_process`, a web-identity token file,
 * then the container/instance endpoints. Lambda always sets AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the execution role (reserved variables), and
 * the stack sets no AWS_PROFILE, so `fromEnv` answers first and the rest are never loaded: they
 * are behind `await import()` in the chain. Their code (with the SSO-OIDC, STS and sign-in
 * clients of @aws-sdk/nested-clients they build) is ~110 KB of every bundle. Each is replaced by a
 * provider that skips itself the way the SDK's own providers do (CredentialsProviderError with
 * tryNextLink), so if the environment ever lacks credentials the chain still goes on to the
 * container/instance endpoints (kept), and otherwise ends with the SDK's own "Could not load
 * credentials from any providers".
 */
import { dirname } from "node:path";
import type { Plugin } from "esbuild";

export const SKIPPED_CREDENTIAL_PROVIDERS = {
  "@aws-sdk/credential-provider-sso": "fromSSO",
  "@aws-sdk/credential-provider-ini": "fromIni",
  "@aws-sdk/credential-provider-process": "fromProcess",
  "@aws-sdk/credential-provider-web-identity": "fromTokenFile",
} as const;

export function unreachableCredentialProvidersPlugin(): Plugin {
  const providers = new Map<string, string>(Object.entries(SKIPPED_CREDENTIAL_PROVIDERS));
  return {
    name: "unreachable-credential-providers",
    setup(build) {
      build.onResolve({ filter: /^@aws-sdk\/credential-provider-(sso|ini|process|web-identity)$/ }, (args) => {
        if (!providers.has(args.path) || !/[\\/]@aws-sdk[\\/]credential-provider-node[\\/]/.test(args.importer)) return undefined;
        return { path: args.path, namespace: "skipped-credential-provider", pluginData: { resolveDir: dirname(args.importer) } };
      });
      build.onLoad({ filter: /.*/, namespace: "skipped-credential-provider" }, (args) => {
        const name = providers.get(args.path)!;
        const message = `${name} (${args.path}) is not bundled: on Lambda the credentials come from the environment (see infra/trim-aws-sdk.ts)`;
        return {
          contents: [
            'import { CredentialsProviderError } from "@smithy/core/config";',
            `export const ${name} = (init = {}) => async () => {`,
            `  throw new CredentialsProviderError(${JSON.stringify(message)}, { logger: init.logger, tryNextLink: true });`,
            "};",
            "",
          ].join("\n"),
          loader: "js",
          resolveDir: (args.pluginData as { resolveDir: string }).resolveDir,
        };
      });
    },
  };
}
