/**
 * The Flatfile stand-in, kept at this path for its importers: it lives in `local/flatfile/`, one
 * module per resource it models (see `local/flatfile/index.ts`).
 */
export * from "./flatfile/index";
