/** Types for saskatchewan-http.mjs. */
import type { ClfTrace } from '../lib/clf-build.mjs';
export declare const SASKATCHEWAN_HTTP: ClfTrace;
