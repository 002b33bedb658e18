/** The TensorFlow.js backend option of serve, simulate and train (`--tf-backend`, train's `--backend`). */
import { BACKENDS } from '../../forecast/lstm/backend.js';
import { oneOf } from '../../config/fields.js';
import { option } from '../../config/options.js';

export const backendOption = () =>
  option(oneOf(BACKENDS, { default: 'auto' }), 'TensorFlow.js backend: auto tries tensorflow (tfjs-node), then wasm, then cpu; a named one that cannot start falls back the same way from there, with a warning.');
