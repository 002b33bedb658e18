/**
 * The LSTM entries of the eval table: the shipped pre-trained model as it is, and the same model
 * fine-tuned on the evaluated trace's own past (everything before the first evaluated minute), so
 * no scored minute was ever trained on.
 */
import type { LstmForecaster } from '../forecast/lstm/forecaster.js';
import type { ForecastRequest } from '../forecast/types.js';
import type { BatchForecaster } from './types.js';
import type { ModelContext } from './models.js';

async function lstmBatch(name: string, ctx: ModelContext, fineTune: boolean): Promise<BatchForecaster> {
  // Loaded on demand (tfjs is heavy) and one at a time: jest's ESM loader trips over concurrent
  // dynamic imports of modules that share dependencies.
  const { selectBackend } = await import('../forecast/lstm/backend.js');
  const { loadModel } = await import('../forecast/lstm/io.js');
  const { checkMeta } = await import('../forecast/lstm/meta.js');
  const { LstmForecaster } = await import('../forecast/lstm/forecaster.js');
  const { resolveModelDir } = await import('../forecast/lstm/runtime.js');
  await selectBackend('auto');
  const dir = resolveModelDir(ctx.modelDir ?? 'models/nasa-lstm');
  const { model, meta } = await loadModel<unknown>(dir);
  const checked = checkMeta(meta, dir);
  let note: string | undefined;
  if (fineTune) {
    const { fineTuneRound } = await import('../forecast/lstm/finetune.js');
    const { getWeights, setWeights } = await import('../forecast/lstm/io.js');
    const t = ctx.trace;
    const result = await fineTuneRound({
      shape: checked.shape,
      weights: getWeights(model),
      series: { requests: t.requests.slice(0, ctx.evalStart), cpu: t.cpu?.slice(0, ctx.evalStart), memory: t.memory?.slice(0, ctx.evalStart), start: t.start, utcOffsetMinutes: t.utcOffsetMinutes },
      // The whole past, held-out last 10% for the accept/reject rule, as a live round would.
      maxTrainWindows: Number.MAX_SAFE_INTEGER,
      holdoutWindows: Math.floor(ctx.evalStart / 10),
      epochs: 10,
      targetSmoothing: checked.training?.targetSmoothing,
      batchSize: 256,
      learningRate: 2e-3,
    });
    if (result.accepted && result.weights) setWeights(model, result.weights);
    note = result.accepted ? undefined : `fine-tuning rejected (${result.reason}); pre-trained weights kept`;
    ctx.log?.(`${name}: ${result.reason}${Number.isFinite(result.baseLoss) ? ` (hold-out loss ${result.baseLoss.toFixed(4)} → ${result.candidateLoss.toFixed(4)})` : ''}`);
  }
  return lstmAsBatch(name, new LstmForecaster(name, model, checked), note);
}

/** An LSTM forecaster as the backtest's batch interface (one `predict` per chunk of origins). */
export function lstmAsBatch(name: string, lstm: LstmForecaster, note?: string): BatchForecaster {
  return {
    name,
    historyMinutes: (r) => lstm.historyMinutes(r),
    async forecastBatch(requests: readonly ForecastRequest[]) {
      return lstm.forecastBatch(requests).map((f) => {
        if (f instanceof Error) throw f;
        return note ? { ...f, note } : f;
      });
    },
  };
}

export const lstmPretrained = (ctx: ModelContext) => lstmBatch('lstm-pretrained', ctx, false);
export const lstmFinetuned = (ctx: ModelContext) => lstmBatch('lstm-finetuned', ctx, true);
