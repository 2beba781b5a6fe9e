/**
 * An esbuild plugin that leaves out of the function bundles the AWS SDK credential providers a
 * Lambda never reaches (~110 KB): Lambda always sets the role's credentials in the environment.
 * Each is replaced by a provider that skips itself as the SDK's do, so the chain still works if
 * that ever changes. Why each is safe: docs/design.md#trimming-the-aws-sdk-credential-chain.
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
