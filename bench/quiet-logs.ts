/**
 * Imported first by bench/run.ts: the handlers' logger reads its level, and Metrics whether it
 * prints its EMF lines, when they are created.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
