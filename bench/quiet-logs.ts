/** Imported first by bench/run.ts: the handlers' logger reads its level when it is created. */
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
