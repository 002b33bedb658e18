/**
 * The models `amadeus eval` can score, by the name it reports them under. This table is the one
 * place to add a model: an entry is `name: async (context) => BatchForecaster`, and `--models`
 * accepts its name and includes it by default. Rules for an entry:
 * - Import heavy dependencies (tfjs) inside the provider with `await import(…)`, so the CLI can list
 *   the table, and evaluate other models, without loading them.
 * - A model fitted for the occasion may learn only from `requests[0, context.evalStart)`: every
 *   scored minute comes after that, so nothing it forecasts was seen in training.
 * - Wrap a plain `Forecaster` with `batchFromForecaster`; the backtest reports the table's name
 *   whatever the model calls itself.
 */
import { createForecaster, type ForecasterName } from '../forecast/registry.js';
import { batchFromForecaster, renamed } from './adapter.js';
import { lstmFinetuned, lstmPretrained } from './lstm-models.js';
import type { BatchForecaster, ModelContext, ModelProvider } from './types.js';

const baseline = (name: ForecasterName): ModelProvider => async () => batchFromForecaster(createForecaster(name));

export const MODEL_PROVIDERS: Readonly<Record<string, ModelProvider>> = {
  persistence: baseline('persistence'),
  mean10: baseline('mean10'),
  mean30: baseline('mean30'),
  'seasonal-day': baseline('seasonal-day'),
  'holt-winters': baseline('holt-winters'),
  'lstm-pretrained': lstmPretrained,
  'lstm-finetuned': lstmFinetuned,
};

/** Every model name, in table order: the default of `--models`. */
export const MODEL_NAMES: readonly string[] = Object.keys(MODEL_PROVIDERS);

/** The named models, in the order given, each reported under its table name. */
export async function loadModels(
  names: readonly string[],
  context: ModelContext,
  providers: Readonly<Record<string, ModelProvider>> = MODEL_PROVIDERS,
): Promise<BatchForecaster[]> {
  const models: BatchForecaster[] = [];
  for (const name of names) {
    const provider = Object.hasOwn(providers, name) ? providers[name] : undefined;
    if (provider === undefined) throw new Error(`unknown model "${name}"; known models: ${Object.keys(providers).join(', ')}`);
    models.push(renamed(await provider(context), name));
  }
  return models;
}
