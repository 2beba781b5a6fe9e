// A separate Node process that loads one production bundle (BENCH_BUNDLE, dist/<name>/index.js)
// and invokes its handler with the API Gateway events the parent sends (already signed), so the
// peak RSS it reports is the handler's alone: no tsx, no stand-in (that lives in the parent).
// Messages in: { request } -> { status, body, ms };  { rss: true } -> { maxRssKb };
// { stacks: true } -> { stacks } (what bench/count-stacks.cjs recorded, if it was loaded).
"use strict";
const { handler } = require(process.env.BENCH_BUNDLE);

process.on("message", async (message) => {
  if (message.rss) {
    process.send({ maxRssKb: process.resourceUsage().maxRSS });
    return;
  }
  if (message.stacks) {
    process.send({ stacks: globalThis.__benchStacksFormatted ?? null });
    return;
  }
  const started = process.hrtime.bigint();
  const result = await handler(message.request, { getRemainingTimeInMillis: () => 25000, awsRequestId: "bench" });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.send({ status: result.statusCode, body: JSON.parse(result.body || "{}"), ms });
});
process.send({ ready: true });
