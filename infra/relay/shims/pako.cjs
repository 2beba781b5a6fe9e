"use strict";
// Stands in for `pako` in the relay bundle: the listener only gzips in `event.update`, which the
// relay never calls; Node's zlib does the same in a few lines.
const zlib = require("node:zlib");
module.exports = {
  gzip: (data) => new Uint8Array(zlib.gzipSync(typeof data === "string" ? Buffer.from(data, "utf8") : data)),
  ungzip: (data) => new Uint8Array(zlib.gunzipSync(data)),
};
