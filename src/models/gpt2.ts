/**
 * GPT-2 (Hugging Face GPT2LMHeadModel, transformers/models/gpt2/modeling_gpt2.py): learned position
 * embeddings, pre-LayerNorm blocks, tanh GELU ("gelu_new"), and the unembedding tied to W_E.
 *
 *   x₀ = W_E[tokens] + W_pos[positions]
 *   x ← x + attn(ln₁(x));  x ← x + mlp(ln₂(x))
 *   attn(h) = W_O · softmax(q·kᵀ/√Dh + causal) · v + b_O,   q | k | v = W_attn·h + b_attn (split at load)
 *   mlp(h)  = W_proj · gelu_tanh(W_fc·h + b_fc) + b_proj
 *   logits  = W_Eᵀ · ln_f(x)
 *
 * Its Conv1D weights are stored [in, out] already, so nothing is transposed.
 */
import { add, expand, gather, mul, type Node } from '../graph/index.ts';
import type { Gpt2Config } from '../io/hf-config.ts';
import type { HostTensor, WeightSource } from '../io/tensors.ts';
import { activation, layerNorm, linear } from '../nn/index.ts';
import type { Architecture, ForwardContext } from './model.ts';
import { splitHeads } from './model.ts';
import { param, WeightReader } from './weights.ts';

interface Norm {
  w: Node; // [D]
  b: Node; // [D]
}

interface Gpt2Layer {
  attnNorm: Norm;
  mlpNorm: Norm;
  wQ: Node; // [D, D]
  bQ: Node;
  wK: Node; // [D, D]
  bK: Node;
  wV: Node; // [D, D]
  bV: Node;
  wO: Node; // [D, D]
  bO: Node;
  wFc: Node; // [D, I]
  bFc: Node;
  wProj: Node; // [I, D]
  bProj: Node;
}

export interface Gpt2Params {
  wE: Node; // [V, D]
  wPos: Node; // [P, D]
  layers: Gpt2Layer[];
  finalNorm: Norm;
  wU: Node; // [V, D], rows of the unembedding: logits = h·W_Uᵀ (W_E itself when tied)
}

/**
 * The Hugging Face GPT-2 layout, with or without the `transformer.` prefix (the original
 * openai-community/gpt2 checkpoint has none); the causal-mask buffers attn.bias and attn.masked_bias
 * of older checkpoints are skipped.
 */
export function gpt2Weights(config: Gpt2Config, source: WeightSource): Gpt2Params {
  const { hidden: D, intermediate: I, vocabSize: V, maxPositions: P } = config;
  const r = new WeightReader(source, `gpt2 (${config.layers} layers, hidden ${D})`);
  const prefix = r.has('wte.weight') && !r.has('transformer.wte.weight') ? '' : 'transformer.';
  const take = (name: string, shape: number[]) => param(r.take(`${prefix}${name}`, shape));
  const norm = (name: string): Norm => ({ w: take(`${name}.weight`, [D]), b: take(`${name}.bias`, [D]) });

  const wE = r.take(`${prefix}wte.weight`, [V, D]);
  const wPos = take('wpe.weight', [P, D]);
  const layers = Array.from({ length: config.layers }, (_, l): Gpt2Layer => {
    // c_attn maps to q | k | v side by side: columns [0, D), [D, 2D), [2D, 3D).
    const wQkv = r.take(`${prefix}h.${l}.attn.c_attn.weight`, [D, 3 * D]);
    const bQkv = r.take(`${prefix}h.${l}.attn.c_attn.bias`, [3 * D]);
    const w = (j: number) => param(columnBlock(wQkv, j * D, (j + 1) * D));
    const b = (j: number) => param(columnBlock(bQkv, j * D, (j + 1) * D));
    return {
      attnNorm: norm(`h.${l}.ln_1`),
      mlpNorm: norm(`h.${l}.ln_2`),
      ...{ wQ: w(0), bQ: b(0), wK: w(1), bK: b(1), wV: w(2), bV: b(2) },
      wO: take(`h.${l}.attn.c_proj.weight`, [D, D]),
      bO: take(`h.${l}.attn.c_proj.bias`, [D]),
      wFc: take(`h.${l}.mlp.c_fc.weight`, [D, I]),
      bFc: take(`h.${l}.mlp.c_fc.bias`, [I]),
      wProj: take(`h.${l}.mlp.c_proj.weight`, [I, D]),
      bProj: take(`h.${l}.mlp.c_proj.bias`, [D]),
    };
  });
  const finalNorm = norm('ln_f');
  // lm_head.weight is [V, D] (an nn.Linear); tied checkpoints usually leave it out.
  const head = !config.tiedEmbeddings || r.has('lm_head.weight') ? r.take('lm_head.weight', [V, D]) : wE;
  r.skip(new RegExp(`^${prefix.replace('.', '\\.')}h\\.\\d+\\.attn\\.(bias|masked_bias)$`));
  r.finish();
  const embedding = param(wE);
  return { wE: embedding, wPos, layers, finalNorm, wU: config.tiedEmbeddings ? embedding : param(head) };
}

export function gpt2Architecture(config: Gpt2Config, p: Gpt2Params): Architecture {
  const { heads: H, headDim: Dh, layerNormEps: eps } = config;
  const act = activation(config.activation);
  // attention() divides q·kᵀ by √Dh; GPT-2 may skip that (scale_attn_weights = false) or divide further by
  // layer + 1 (scale_attn_by_inverse_layer_idx), which scaling q before attention expresses.
  const qScale = (l: number) =>
    (config.scaleAttnWeights ? 1 : Math.sqrt(Dh)) / (config.scaleAttnByInverseLayerIdx ? l + 1 : 1);
  return {
    hookSpec: { layers: config.layers, positionEmbedding: true },
    forward({ positions, lastLayer, full, hooks, embed, attention }: ForwardContext) {
      const tokenEmbed = hooks.hook('hook_embed', embed(p.wE)); // [B,T,D]
      const posEmbed = gather(p.wPos, positions); // [T,D]
      hooks.hook('hook_pos_embed', expand(posEmbed, tokenEmbed.shape)); // [B,T,D], as TransformerLens
      let x = add(tokenEmbed, posEmbed); // [B,T,D]
      for (let l = 0; l <= lastLayer; l++) {
        const layer = p.layers[l] as Gpt2Layer;
        const at = `blocks.${l}.`;
        x = hooks.hook(`${at}hook_resid_pre`, x);

        const { out, pattern } = attention(l, x, (rows) => {
          const h = layerNorm(rows, layer.attnNorm.w, layer.attnNorm.b, eps); // [B,T,D]
          const q = splitHeads(linear(h, layer.wQ, layer.bQ), H, Dh); // [B,H,T,Dh]
          const k = splitHeads(linear(h, layer.wK, layer.bK), H, Dh); // [B,H,T,Dh]
          const v = splitHeads(linear(h, layer.wV, layer.bV), H, Dh); // [B,H,T,Dh]
          const scale = qScale(l);
          return { q: scale === 1 ? q : mul(q, scale), k, v };
        }); // [B,T,D]
        hooks.hook(`${at}attn.hook_pattern`, pattern); // [B,H,T,S]
        const attnOut = hooks.hook(`${at}hook_attn_out`, linear(out, layer.wO, layer.bO));
        x = add(x, attnOut);

        const pre = hooks.hook(
          `${at}mlp.hook_pre`,
          linear(layerNorm(x, layer.mlpNorm.w, layer.mlpNorm.b, eps), layer.wFc, layer.bFc),
        ); // [B,T,I]
        const post = hooks.hook(`${at}mlp.hook_post`, act(pre));
        const mlpOut = hooks.hook(`${at}hook_mlp_out`, linear(post, layer.wProj, layer.bProj));
        x = hooks.hook(`${at}hook_resid_post`, add(x, mlpOut));
      }
      if (!full) return { hooks: hooks.values };
      const normalized = hooks.hook(
        'ln_final.hook_normalized',
        layerNorm(x, p.finalNorm.w, p.finalNorm.b, eps),
      ); // [B,T,D]
      return { normalized, unembedding: p.wU, hooks: hooks.values }; // logits = normalized·W_Uᵀ [B,T,V]
    },
  };
}

/** Columns [from, to) of a [rows, cols] matrix (or entries of a vector), copied. */
function columnBlock(t: HostTensor, from: number, to: number): HostTensor {
  const cols = t.shape[t.shape.length - 1] as number;
  const rows = t.data.length / cols;
  const out = new Float32Array(rows * (to - from));
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + from, r * cols + to), r * (to - from));
  return { shape: t.shape.length === 1 ? [to - from] : [rows, to - from], data: out };
}
