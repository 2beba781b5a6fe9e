/**
 * The settings a platform team asks for, each validated and each shown in the template: tags on
 * every resource that takes them, the log groups' retention, and a customer managed KMS key (made
 * by the stack, or an existing one) for the secret, table, bucket and logs, with the grants the
 * functions need on it and cdk-nag still clean.
 */
import { CfnResource, TagManager } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { FUNCTION_NAMES } from "../../infra/bundling";
import { InvalidSettingsError, LOG_RETENTION_DAYS, readDeploySettings } from "../../infra/settings";
import { actionsOf, cleanup, iamStatements, synthWithoutBundling, type Statement } from "./support";

afterAll(cleanup);

function refusal(key: string, value: string): string {
  try {
    readDeploySettings({ [key]: value });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSettingsError);
    const problems = (error as InvalidSettingsError).problems;
    expect(problems.map((p) => p.key)).toEqual([key]);
    return problems[0]!.message;
  }
  throw new Error(`${key}=${value} was accepted`);
}

const KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("settings: tags, logRetentionDays, kmsKey", () => {
  it("tags: key=value pairs, trimmed; = inside a value is kept", () => {
    expect(readDeploySettings({ tags: " team = data , cost-center=1234,note=a=b, owner:email=ops@example.com" }).tags).toEqual({
      team: "data",
      "cost-center": "1234",
      note: "a=b",
      "owner:email": "ops@example.com",
    });
    expect(readDeploySettings({ tags: "" }).tags).toEqual({});
  });

  it.each([
    ["team", /has no "="/],
    ["=data", /a tag key is 1 to 128 characters/],
    ["aws:owner=me", /reserved for AWS/],
    ["team=data,team=ops", /given twice/],
    ["team=data;rm", /letters, digits, spaces/],
    [`k=${"v".repeat(257)}`, /at most 256/],
    [Array.from({ length: 51 }, (_, i) => `k${i}=v`).join(","), /AWS allows 50/],
  ])("tags refuses %j", (value, message) => {
    expect(refusal("tags", value)).toMatch(message);
  });

  it("logRetentionDays: every value CloudWatch Logs accepts, default 30", () => {
    expect(readDeploySettings({}).logRetentionDays).toBe(30);
    for (const days of LOG_RETENTION_DAYS) expect(readDeploySettings({ logRetentionDays: String(days) }).logRetentionDays).toBe(days);
  });

  it.each(["0", "31", "-1", "thirty", "3653.0", "10000"])("logRetentionDays refuses %j, listing the accepted values", (value) => {
    expect(refusal("logRetentionDays", value)).toMatch(/is not a retention CloudWatch Logs accepts: one of 1, 3, 5, .* 3653/);
  });

  it("kmsKey: create, a key ARN (multi-Region too); empty is AWS managed keys", () => {
    expect(readDeploySettings({}).kmsKey).toBeUndefined();
    expect(readDeploySettings({ kmsKey: "create" }).kmsKey).toBe("create");
    expect(readDeploySettings({ kmsKey: KEY_ARN }).kmsKey).toBe(KEY_ARN);
    const mrk = `arn:aws:kms:us-east-1:123456789012:key/mrk-${"a".repeat(32)}`;
    expect(readDeploySettings({ kmsKey: mrk }).kmsKey).toBe(mrk);
  });

  it.each([
    ["arn:aws:kms:eu-west-1:123456789012:alias/flatfile", /is an alias ARN: give the key's own ARN/],
    ["1234abcd-12ab-34cd-56ef-1234567890ab", /is not a KMS key ARN/],
    ["arn:aws:kms:eu-west-1:1234:key/1234abcd-12ab-34cd-56ef-1234567890ab", /is not a KMS key ARN/],
    ["yes", /nor "create"/],
  ])("kmsKey refuses %j", (value, message) => {
    expect(refusal("kmsKey", value)).toMatch(message);
  });
});

describe("tags and log retention in the template", () => {
  const { stack, template, violations, synthError } = synthWithoutBundling({
    tags: "team=data,cost-center=1234",
    logRetentionDays: "365",
    flatfileEnvironmentId: "us_env_1a2b3c4d",
  });

  it("puts the tags on the stack and on every resource that takes tags", () => {
    expect(synthError).toBeUndefined();
    expect(stack.tags.tagValues()).toMatchObject({ team: "data", "cost-center": "1234" });
    const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: { Tags?: unknown } }>;
    const taggable = stack.node
      .findAll()
      .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && TagManager.isTaggable(c))
      .map((c) => stack.getLogicalId(c));
    // The functions, roles, table, bucket, secret, log groups, API, alarms' key, the relay's...
    expect(taggable.length).toBeGreaterThan(20);
    for (const id of taggable) {
      const tags = resources[id]?.Properties?.Tags;
      // Most types take a list of {Key, Value}; a few (the HTTP API) a map.
      const map = Array.isArray(tags)
        ? Object.fromEntries((tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]))
        : (tags as Record<string, string> | undefined);
      expect(map, `${id} (${resources[id]?.Type})`).toMatchObject({ team: "data", "cost-center": "1234" });
    }
  });

  it("keeps every log group's events for the given days, the relay's included", () => {
    const groups = Object.values(template.findResources("AWS::Logs::LogGroup"));
    expect(groups.length).toBe(FUNCTION_NAMES.length + 1 + 1 + 1 + 2); // routes, sweep, worker, access logs, relay's two
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(365);
  });

  it("stays cdk-nag clean", () => {
    expect(violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
  });
});

/** The role policy statements that name `key` (a Ref/GetAtt or an ARN) with KMS actions. */
function kmsStatements(statements: Statement[], key: unknown): Statement[] {
  return statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(key) && actionsOf(s).every((a) => a.startsWith("kms:")));
}

describe.each([
  ["created by the stack", "create"],
  ["an existing key", KEY_ARN],
])("kmsKey: %s", (_, kmsKey) => {
  const { stack, template, violations, synthError } = synthWithoutBundling({ kmsKey, flatfileEnvironmentId: "us_env_1a2b3c4d" });
  const created = kmsKey === "create";
  const keyRef = created ? { "Fn::GetAtt": [stack.getLogicalId(stack.dataKey!.node.defaultChild as never), "Arn"] } : KEY_ARN;
  const statements = iamStatements(template);
  const roleOf = (fn: { role?: unknown }) => ({
    Ref: stack.getLogicalId((fn.role as { node: { defaultChild: never } }).node.defaultChild),
  });

  it("passes cdk-nag with nothing more acknowledged", () => {
    expect(violations.map((v) => `${v.severity} ${v.ruleName} @ ${v.violatingConstructs.map((c) => c.constructPath).join(", ")}`)).toEqual(
      [],
    );
    expect(synthError).toBeUndefined();
  });

  it(
    created ? "makes one key, rotated, retained, that CloudWatch Logs of this account may use" : "makes no key and uses the one named",
    () => {
      const keys = template.findResources("AWS::KMS::Key");
      const alarmTopicKey = Object.keys(keys).filter((id) => id.startsWith("AlarmTopicKey"));
      expect(Object.keys(keys).length).toBe(alarmTopicKey.length + (created ? 1 : 0));
      if (!created) return;
      const [id, key] = Object.entries(keys).find(([id]) => id.startsWith("DataKey"))!;
      expect(key.Properties.EnableKeyRotation).toBe(true);
      expect(key.DeletionPolicy).toBe("Retain");
      const logs = key.Properties.KeyPolicy.Statement.find((s: { Sid?: string }) => s.Sid === "AllowCloudWatchLogsOfThisAccount");
      expect(JSON.stringify(logs.Principal)).toContain("logs.");
      expect(JSON.stringify(logs.Condition)).toContain(":log-group:*");
      expect(id).toBe(stack.getLogicalId(stack.dataKey!.node.defaultChild as never));
    },
  );

  it("encrypts the secret, the table, the bucket and every log group with it", () => {
    template.hasResourceProperties("AWS::SecretsManager::Secret", { KmsKeyId: keyRef });
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: keyRef },
    });
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: keyRef }, BucketKeyEnabled: true },
        ],
      },
    });
    const groups = Object.values(template.findResources("AWS::Logs::LogGroup"));
    expect(groups.length).toBe(FUNCTION_NAMES.length + 5);
    for (const group of groups) expect(group.Properties.KmsKeyId).toEqual(keyRef);
  });

  /**
   * Roles that may decrypt the secret through Secrets Manager: in their own policy (an existing
   * key's policy is not ours to change), or in the key policy of the key the stack makes.
   */
  const secretReaders = (): string[] => {
    const viaSecrets = (s: { Action: string | string[]; Condition?: unknown }) =>
      actionsOf(s).includes("kms:Decrypt") && JSON.stringify(s.Condition ?? {}).includes("secretsmanager.");
    const inPolicies = kmsStatements(statements, keyRef)
      .filter(viaSecrets)
      .flatMap((s) => (s.roles as { Ref: string }[]).map((r) => r.Ref));
    const keyPolicy = created
      ? (template.findResources("AWS::KMS::Key")[stack.getLogicalId(stack.dataKey!.node.defaultChild as never)]!.Properties.KeyPolicy
          .Statement as { Action: string | string[]; Condition?: unknown; Principal?: { AWS?: unknown } }[])
      : [];
    const inKeyPolicy = keyPolicy
      .filter(viaSecrets)
      .flatMap((s) => [s.Principal?.AWS].flat())
      .flatMap((p) => ((p as { "Fn::GetAtt"?: string[] })?.["Fn::GetAtt"] ? [(p as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0]!] : []));
    return [...inPolicies, ...inKeyPolicy];
  };

  it("grants each function what it needs on the key, through the service that uses it", () => {
    const viaService = (s: Statement) => JSON.stringify(s.Condition ?? {});
    const readers = secretReaders();
    for (const name of FUNCTION_NAMES) {
      const mine = kmsStatements(statements, keyRef).filter((s) =>
        JSON.stringify(s.roles).includes(JSON.stringify(roleOf(stack.functions[name]))),
      );
      // The secret (through Secrets Manager) and the table (through DynamoDB).
      expect(readers, name).toContain(roleOf(stack.functions[name]).Ref);
      const table = mine.find((s) => viaService(s).includes("dynamodb."));
      expect(table && actionsOf(table).sort(), name).toEqual(["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]);
      // Only Submit writes the bucket (and the worker, below).
      const s3 = mine.find((s) => viaService(s).includes("s3."));
      if (name === "action-job") expect(actionsOf(s3!).sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey"]);
      else expect(s3, name).toBeUndefined();
    }
    const sweep = kmsStatements(statements, keyRef).filter((s) => JSON.stringify(s.roles).includes(JSON.stringify(roleOf(stack.jobSweep))));
    expect(sweep.some((s) => viaService(s).includes("dynamodb."))).toBe(true);
    expect(readers).toContain(roleOf(stack.jobSweep).Ref);
    // The worker: the secret, the table and (it carries large submissions on) the bucket, as action-job.
    const worker = kmsStatements(statements, keyRef).filter((s) =>
      JSON.stringify(s.roles).includes(JSON.stringify(roleOf(stack.actionJobWorker))),
    );
    expect(worker.map(viaService).filter((v) => v.includes("dynamodb.")).length).toBe(1);
    expect(worker.filter((s) => viaService(s).includes("s3.")).map((s) => actionsOf(s).sort())).toEqual([
      ["kms:Decrypt", "kms:GenerateDataKey"],
    ]);
    expect(readers).toContain(roleOf(stack.actionJobWorker).Ref);
    // The relay's register function reads the secret, and nothing else of the key.
    expect(readers).toContain(roleOf(stack.relay!.function).Ref);
    const register = kmsStatements(statements, keyRef).filter((s) =>
      JSON.stringify(s.roles).includes(JSON.stringify(roleOf(stack.relay!.function))),
    );
    expect(register.map((s) => actionsOf(s))).toEqual([["kms:Decrypt"]]);
    // No KMS statement anywhere names another key or "*".
    for (const s of statements.filter((s) => actionsOf(s).some((a) => a.startsWith("kms:")))) expect(s.Resource).toEqual(keyRef);
  });

  it("outputs the key's ARN", () => {
    template.hasOutput("DataKeyArn", { Value: keyRef });
  });
});

describe("without kmsKey (the default)", () => {
  const { template } = synthWithoutBundling();
  it("uses AWS managed keys: no key of ours, no KMS grant, log groups without a key", () => {
    expect(Object.keys(template.findResources("AWS::KMS::Key")).filter((id) => !id.startsWith("AlarmTopicKey"))).toEqual([]);
    expect(iamStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith("kms:")))).toEqual([]);
    for (const group of Object.values(template.findResources("AWS::Logs::LogGroup"))) expect(group.Properties.KmsKeyId).toBeUndefined();
    expect(template.toJSON().Outputs).not.toHaveProperty("DataKeyArn");
  });
});
