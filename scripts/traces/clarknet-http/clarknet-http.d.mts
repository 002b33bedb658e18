/** Types for clarknet-http.mjs. */
import type { ClfTrace } from '../lib/clf-build.mjs';
export declare const CLARKNET_HTTP: ClfTrace;
