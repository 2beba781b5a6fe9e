import { describe, expect, it } from "vitest";
import { LAMBDA_RUNTIME_NAME, NODE_TARGET } from "../../infra/bundling";
import { LAMBDA_RUNTIME } from "../../infra/runtime";

describe("one Node version, tested as deployed", () => {
  it("runs the tests on the Node major the functions deploy on (npm ci brings it through the node package)", () => {
    const deployedMajor = Number(/^node(\d+)$/.exec(NODE_TARGET)?.[1]);
    expect(LAMBDA_RUNTIME_NAME).toBe(`nodejs${deployedMajor}.x`);
    expect(Number(process.versions.node.split(".")[0])).toBe(deployedMajor);
  });

  it("resolves the runtime name to aws-cdk-lib's runtime object", () => {
    expect(LAMBDA_RUNTIME.name).toBe(LAMBDA_RUNTIME_NAME);
  });
});
