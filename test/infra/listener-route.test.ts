/**
 * The listenerRoute setting: off (the default), a deploy has no listener function, route or
 * output; on, the fourth function answers POST /listener like the others, with the loop guard's
 * COMMIT_SELF_ACTOR_IDS, and cdk-nag stays clean.
 */
import { Match } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { cleanup, synthWithoutBundling } from "./support";

afterAll(cleanup);

const routeKeys = (template: ReturnType<typeof synthWithoutBundling>["template"]) =>
  Object.values(template.findResources("AWS::ApiGatewayV2::Route")).map(
    (r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey,
  );

describe("the listener route", () => {
  it("is not deployed by default", () => {
    const { stack, template } = synthWithoutBundling();
    expect(stack.functions.listener).toBeUndefined();
    expect(routeKeys(template)).not.toContain("POST /listener");
    expect(Object.keys(template.findOutputs("ListenerUrl"))).toEqual([]);
  });

  it("is deployed with listenerRoute=true: its function, route, throttle, output and loop guard", () => {
    const { stack, template, violations, synthError } = synthWithoutBundling({
      listenerRoute: "true",
      commitSelfActorIds: "us_usr_ourkey01",
    });
    expect(synthError).toBeUndefined();
    expect(violations).toEqual([]);
    const listener = stack.functions.listener;
    expect(listener).toBeDefined();
    expect(routeKeys(template).sort()).toEqual(
      ["POST /action-job", "POST /commit-created", "POST /listener", "POST /space-configure"].sort(),
    );
    const id = stack.getLogicalId(listener!.node.defaultChild as never);
    const fn = template.toJSON().Resources[id];
    expect(fn.Properties.Environment.Variables).toMatchObject({ COMMIT_SELF_ACTOR_IDS: "us_usr_ourkey01" });
    template.hasOutput("ListenerUrl", { Value: Match.anyValue() });
    const stage = Object.values(template.findResources("AWS::ApiGatewayV2::Stage"))[0] as { Properties: { RouteSettings: object } };
    expect(Object.keys(stage.Properties.RouteSettings)).toContain("POST /listener");
    expect(fn.Properties.Environment.Variables.LISTENER_RETRY_TEMPORARY).toBeUndefined();
  });

  it("sets LISTENER_RETRY_TEMPORARY on the listener alone with listenerRetryTemporary=true", () => {
    const { stack, template, synthError } = synthWithoutBundling({ listenerRoute: "true", listenerRetryTemporary: "true" });
    expect(synthError).toBeUndefined();
    const variables = (name: string) => {
      const fn = (stack.functions as Record<string, { node: { defaultChild: unknown } }>)[name]!;
      return template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as never)].Properties.Environment.Variables;
    };
    expect(variables("listener")).toMatchObject({ LISTENER_RETRY_TEMPORARY: "true" });
    for (const name of ["space-configure", "action-job", "commit-created"])
      expect(variables(name).LISTENER_RETRY_TEMPORARY).toBeUndefined();
  });

  it('hands space:configure to the listener with spaceConfigureBy="listener": SPACE_CONFIGURE_BY on every route function', () => {
    const variables = (settings: Record<string, string>) => {
      const { stack, template, synthError } = synthWithoutBundling(settings);
      expect(synthError).toBeUndefined();
      return Object.fromEntries(
        Object.entries(stack.functions as Record<string, { node: { defaultChild: unknown } } | undefined>)
          .filter(([, fn]) => fn !== undefined)
          .map(([name, fn]) => [
            name,
            template.toJSON().Resources[stack.getLogicalId(fn!.node.defaultChild as never)].Properties.Environment.Variables
              .SPACE_CONFIGURE_BY,
          ]),
      );
    };
    const handed = variables({ listenerRoute: "true", spaceConfigureBy: "listener" });
    for (const name of ["space-configure", "action-job", "commit-created", "listener"]) expect(handed[name]).toBe("listener");
    for (const value of Object.values(variables({ listenerRoute: "true" }))) expect(value).toBeUndefined();
    expect(() => synthWithoutBundling({ spaceConfigureBy: "listener" })).toThrow(/spaceConfigureBy: .*listenerRoute "true"/);
  });
});
