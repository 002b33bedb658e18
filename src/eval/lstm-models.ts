/**
 * The LSTM entries of the eval table: the shipped pre-trained model as it is, and the same model
 * fine-tuned as `serve` and `simulate` fine-tune it: a round every `intervalMinutes` on the
 * `historyMinutes` before it (the live defaults), each accepted only when it beats the weights in
 * use on its own hold-out. Rounds start a day before the evaluated span and go on through it, each
 * from the minutes up to the origin it precedes, so no scored minute is ever trained on before it
 * is forecast.
 */
import type { BlendRecord } from '../forecast/lstm/blend-record.js';
import type { FineTuneJob } from '../forecast/lstm/finetune.js';
import type { LstmForecaster } from '../forecast/lstm/forecaster.js';
import type { ForecastRequest } from '../forecast/types.js';
import { MINUTE_MS } from '../series/minute.js';
import type { BatchForecaster, ModelContext } from './types.js';

/** The live rounds' schedule (serve's and simulate's defaults). */
export const EVAL_FINE_TUNE: FineTuneSchedule = { historyMinutes: 2880, intervalMinutes: 360, warmUpMinutes: 1440 };

export interface FineTuneSchedule {
  /** Minutes of history each round learns from. */
  historyMinutes: number;
  /** Minutes between two rounds. */
  intervalMinutes: number;
  /** Rounds start this long before the evaluated span. */
  warmUpMinutes: number;
  /** Settings of each round other than the live defaults (experiments, tests). */
  round?: Partial<Pick<FineTuneJob, 'steps' | 'learningRate' | 'batchSize' | 'trainStride' | 'holdoutWindows' | 'maxTrainWindows' | 'minImprovement'>>;
}

async function lstmBatch(name: string, ctx: ModelContext, schedule: FineTuneSchedule | null): Promise<BatchForecaster> {
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
  // A copy: fine-tuning rounds below set its blend, which the forecaster reads at each call.
  const checked = { ...checkMeta(meta, dir) };
  const lstm = new LstmForecaster(name, model, checked);
  if (!schedule) return lstmAsBatch(name, lstm);

  const { fineTuneRound, roundReadMinutes } = await import('../forecast/lstm/finetune.js');
  const { BLEND_CONTEXT_MINUTES } = await import('../forecast/lstm/blend.js');
  const { getWeights, setWeights } = await import('../forecast/lstm/io.js');
  const t = ctx.trace;
  const s = schedule;
  const pretrained = getWeights(model);
  let next = Math.max(0, ctx.evalStart - s.warmUpMinutes);
  const read = roundReadMinutes(s.historyMinutes, s.intervalMinutes, checked.shape.horizonMinutes, ctx.fineTuneBlend === true);
  let rounds = 0;
  let accepted = 0;
  /** The blend's record of out-of-sample errors, carried from round to round as serve carries it. */
  let record: BlendRecord | undefined;
  /** Rounds due up to origin `origin` (a minute index), each from the minutes up to and including its own time. */
  const catchUp = async (origin: number) => {
    while (next <= origin) {
      const end = next + 1;
      const from = Math.max(0, end - read);
      const r = await fineTuneRound({
        shape: checked.shape,
        weights: getWeights(model),
        pretrained,
        fitMinutes: s.historyMinutes,
        series: { requests: t.requests.slice(from, end), cpu: t.cpu?.slice(from, end), memory: t.memory?.slice(from, end), start: t.start + from * MINUTE_MS, utcOffsetMinutes: t.utcOffsetMinutes },
        targetSmoothing: checked.training?.targetSmoothing,
        blend: checked.blend,
        chooseBlend: ctx.fineTuneBlend === true,
        record,
        ...s.round,
      });
      record = r.record;
      if (Number.isFinite(r.baseLoss)) rounds++;
      if (r.accepted && r.weights) {
        setWeights(model, r.weights);
        checked.blend = r.blend && r.blend.weight > 0 ? r.blend : undefined;
        accepted++;
        // As serve's published meta: fine-tuned weights answer with their round's blend, never the shipped default (smooth-blend.ts).
        const at = t.start + next * MINUTE_MS;
        checked.fineTuned = { workload: name, at: new Date(at).toISOString(), rounds: accepted, lastHoldoutLoss: r.candidateLoss, baseHoldoutLoss: r.baseLoss, origin: at };
      }
      if (rounds === 1 && Number.isFinite(r.baseLoss)) ctx.log?.(`${name}: first round: ${r.reason} (hold-out loss ${r.baseLoss.toFixed(4)} → ${r.candidateLoss.toFixed(4)})`);
      next += s.intervalMinutes;
    }
  };
  const originOf = (r: ForecastRequest) => Math.round((r.history.start - t.start) / MINUTE_MS) + r.history.requests.length - 1;
  return {
    name,
    // Asked once, before any round: a blend the rounds choose later may read earlier days.
    historyMinutes: (r) => Math.max(lstm.historyMinutes(r), ctx.fineTuneBlend === true ? BLEND_CONTEXT_MINUTES : 0),
    async forecastBatch(requests: readonly ForecastRequest[]) {
      const out: Awaited<ReturnType<BatchForecaster['forecastBatch']>> = [];
      // Runs of requests between two rounds share one batched predict.
      let i = 0;
      while (i < requests.length) {
        await catchUp(originOf(requests[i]!));
        let j = i + 1;
        while (j < requests.length && originOf(requests[j]!) < next) j++;
        for (const f of lstm.forecastBatch(requests.slice(i, j))) {
          if (f instanceof Error) throw f;
          out.push(accepted === 0 ? { ...f, note: `no fine-tuning round accepted yet (${rounds} run)` } : f);
        }
        i = j;
      }
      return out;
    },
  };
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

export const lstmPretrained = (ctx: ModelContext) => lstmBatch('lstm-pretrained', ctx, null);
export const lstmFinetuned = (ctx: ModelContext) => lstmBatch('lstm-finetuned', ctx, EVAL_FINE_TUNE);
/** lstm-finetuned on another schedule (tests, experiments). */
export const lstmFinetunedOn = (schedule: FineTuneSchedule) => (ctx: ModelContext) => lstmBatch('lstm-finetuned', ctx, schedule);
