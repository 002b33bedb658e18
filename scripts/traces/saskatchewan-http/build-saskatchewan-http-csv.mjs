#!/usr/bin/env node
/**
 * Rebuilds a Saskatchewan-HTTP per-minute CSV (default: Aug 21 - Oct 15, 1995) from the public log.
 *
 *   node scripts/traces/saskatchewan-http/build-saskatchewan-http-csv.mjs --out FILE [--logs DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 *
 * Reads usask_access_log.gz (or its decompressed form, UofS_access_log or usask_access_log) from DIR
 * (default: the current directory). Never downloads. Exit codes: 0 ok, 1 the log could not be read,
 * 2 log missing or bad usage.
 */
import { buildClfTrace } from '../lib/clf-build.mjs';
import { SASKATCHEWAN_HTTP } from './saskatchewan-http.mjs';

await buildClfTrace(SASKATCHEWAN_HTTP);
