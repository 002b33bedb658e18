/** `amadeus probe` options: one KEDA-style poll against a running scaler. */
import { boolean, hostPort, number, text } from '../../config/fields.js';
import { fileOption, option, type OptionSchema } from '../../config/options.js';

const o = option;
const file = fileOption;

export const PROBE_OPTIONS = {
  address: o(hostPort({ minPort: 1, default: '127.0.0.1:6000' }), 'The scaler to call.'),
  namespace: o(text({ default: 'default' }), 'ScaledObject namespace.'),
  name: o(text({ default: 'amadeus-demo' }), 'ScaledObject name.'),
  metadata: o(text({ default: 'targetValue=20,activationValue=1,headroom=0.1', expected: 'key=value pairs separated by commas' }), 'The trigger metadata, as KEDA would send it.'),
  ca: o(file(), 'CA (PEM) to verify the server: enables TLS.'),
  cert: o(file(), 'Client certificate (PEM) for mutual TLS.'),
  key: o(file(), 'Client key (PEM) for mutual TLS.'),
  watch: o(boolean({ default: false }), 'Poll again every --interval seconds until interrupted.'),
  interval: o(number({ min: 1, max: 3600, default: 15 }), 'Seconds between polls with --watch (KEDA: every 15 s).'),
  timeout: o(number({ min: 0.1, max: 300, default: 10 }), 'Seconds each call may take before it fails with DEADLINE_EXCEEDED (a server that accepts and never answers).'),
} satisfies OptionSchema;
