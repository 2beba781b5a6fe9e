"use strict";
// Stands in for `cross-fetch` in the relay bundle: Flatfile's agent runtime is Node >= 18, whose
// built-in fetch does the job, so node-fetch and its URL polyfills stay out of the bundle.
function fetch(input, init) {
  return globalThis.fetch(input, init);
}
module.exports = fetch;
module.exports.default = fetch;
module.exports.fetch = fetch;
module.exports.Headers = globalThis.Headers;
module.exports.Request = globalThis.Request;
module.exports.Response = globalThis.Response;
