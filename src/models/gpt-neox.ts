/**
 * GPT-NeoX / Pythia (Hugging Face GPTNeoXForCausalLM, transformers/models/gpt_neox/modeling_gpt_neox.py):
 * LayerNorm blocks with partial rotary embeddings (the first ⌊rotary_pct·Dh⌋ features of each head, in
 * the rotate-half convention), exact GELU, and by default a parallel residual:
 *
 *   x₀ = W_E[tokens]
 *   parallel:   x ← x + attn(ln₁(x)) + mlp(ln₂(x))
 *   sequential: x ← x + attn(ln₁(x));  x ← x + mlp(ln₂(x))
 *   attn(h) = W_O · softmax(RoPE(q)·RoPE(k)ᵀ/√Dh + causal) · v + b_O,   q = W_Q·h + b_Q, k = …, v = …
 *   mlp(h)  = W_out · gelu(W_in·h + b_in) + b_out
 *   logits  = embed_out · ln_f(x)   (untied)
 */
import { add, type Node } from '../graph/index.ts';
import type { GptNeoXConfig } from '../io/hf-config.ts';
import type { HostTensor, WeightSource } from '../io/tensors.ts';
import { activation, applyRotary, layerNorm, linear, rotaryTable } from '../nn/index.ts';
import type { Architecture, ForwardContext } from './model.ts';
import { splitHeads } from './model.ts';
import { param, transposed, WeightReader } from './weights.ts';

interface Norm {
  w: Node; // [D]
  b: Node; // [D]
}

interface GptNeoXLayer {
  attnNorm: Norm;
  mlpNorm: Norm;
  wQ: Node; // [D, D] (head-major columns)
  bQ?: Node;
  wK: Node; // [D, D]
  bK?: Node;
  wV: Node; // [D, D]
  bV?: Node;
  wO: Node; // [D, D]
  bO?: Node;
  wIn: Node; // [D, I]
  bIn: Node;
  wOut: Node; // [I, D]
  bOut: Node;
}

export interface GptNeoXParams {
  wE: Node; // [V, D]
  layers: GptNeoXLayer[];
  finalNorm: Norm;
  wU: Node; // [V, D], rows of the unembedding: logits = h·W_Uᵀ (W_E itself when tied)
}

/**
 * HF's fused query_key_value is interleaved per head: its 3·H·Dh output rows are laid out [H, 3, Dh]
 * (modeling_gpt_neox.py views the projection as [..., H, 3·Dh] and splits q, k, v from each head's
 * slice). Returns the rows of part j (0 = q, 1 = k, 2 = v) of every head, [H·Dh, rowLength].
 */
function headInterleavedPart(t: HostTensor, part: number, heads: number, headDim: number): HostTensor {
  const rowLength = t.data.length / (3 * heads * headDim); // D for the weight, 1 for the bias
  const out = new Float32Array(heads * headDim * rowLength);
  for (let h = 0; h < heads; h++) {
    const from = (h * 3 + part) * headDim * rowLength;
    out.set(t.data.subarray(from, from + headDim * rowLength), h * headDim * rowLength);
  }
  return { shape: t.shape.length === 1 ? [heads * headDim] : [heads * headDim, rowLength], data: out };
}

/** The Hugging Face GPT-NeoX layout; causal-mask and rotary buffers of older checkpoints are skipped. */
export function gptNeoXWeights(config: GptNeoXConfig, source: WeightSource): GptNeoXParams {
  const { hidden: D, heads: H, headDim: Dh, intermediate: I, vocabSize: V } = config;
  const r = new WeightReader(source, `gpt-neox (${config.layers} layers, hidden ${D})`);
  const norm = (name: string): Norm => ({
    w: param(r.take(`${name}.weight`, [D])),
    b: param(r.take(`${name}.bias`, [D])),
  });
  const wE = r.take('gpt_neox.embed_in.weight', [V, D]);
  const layers = Array.from({ length: config.layers }, (_, l): GptNeoXLayer => {
    const at = `gpt_neox.layers.${l}`;
    const bias = config.attentionBias;
    const qkvW = r.take(`${at}.attention.query_key_value.weight`, [3 * D, D]);
    const qkvB = bias ? r.take(`${at}.attention.query_key_value.bias`, [3 * D]) : undefined;
    const w = (part: number) => param(transposed(headInterleavedPart(qkvW, part, H, Dh)));
    const b = (part: number) => qkvB && param(headInterleavedPart(qkvB, part, H, Dh));
    return {
      attnNorm: norm(`${at}.input_layernorm`),
      mlpNorm: norm(`${at}.post_attention_layernorm`),
      ...{ wQ: w(0), bQ: b(0), wK: w(1), bK: b(1), wV: w(2), bV: b(2) },
      wO: param(transposed(r.take(`${at}.attention.dense.weight`, [D, D]))),
      bO: bias ? param(r.take(`${at}.attention.dense.bias`, [D])) : undefined,
      wIn: param(transposed(r.take(`${at}.mlp.dense_h_to_4h.weight`, [I, D]))),
      bIn: param(r.take(`${at}.mlp.dense_h_to_4h.bias`, [I])),
      wOut: param(transposed(r.take(`${at}.mlp.dense_4h_to_h.weight`, [D, I]))),
      bOut: param(r.take(`${at}.mlp.dense_4h_to_h.bias`, [D])),
    };
  });
  const finalNorm = norm('gpt_neox.final_layer_norm');
  const head = config.tiedEmbeddings && !r.has('embed_out.weight') ? wE : r.take('embed_out.weight', [V, D]);
  r.skip(/^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/);
  r.finish();
  const embedding = param(wE);
  return { wE: embedding, layers, finalNorm, wU: config.tiedEmbeddings ? embedding : param(head) };
}

export function gptNeoXArchitecture(config: GptNeoXConfig, p: GptNeoXParams): Architecture {
  const { heads: H, headDim: Dh, layerNormEps: eps } = config;
  // HF: rotary_ndims = int(head_size · rotary_pct)
  const rope = rotaryTable(config.maxPositions, Dh, config.rotaryEmbBase, 'rotate-half', {
    rotaryDim: Math.floor(Dh * config.rotaryPct),
  });
  const act = activation(config.hiddenAct);
  return {
    hookSpec: { layers: config.layers },
    forward({ lastLayer, full, hooks, embed, attention, tokenLocal }: ForwardContext) {
      let x = hooks.hook('hook_embed', embed(p.wE)); // [B,T,D]
      for (let l = 0; l <= lastLayer; l++) {
        const layer = p.layers[l] as GptNeoXLayer;
        const at = `blocks.${l}.`;
        x = hooks.hook(`${at}hook_resid_pre`, x);

        const { out, pattern } = attention(l, x, (rows, positions) => {
          const h = layerNorm(rows, layer.attnNorm.w, layer.attnNorm.b, eps); // [B,T,D]
          const q = applyRotary(splitHeads(linear(h, layer.wQ, layer.bQ), H, Dh), positions, rope); // [B,H,T,Dh]
          const k = applyRotary(splitHeads(linear(h, layer.wK, layer.bK), H, Dh), positions, rope); // [B,H,T,Dh]
          const v = splitHeads(linear(h, layer.wV, layer.bV), H, Dh); // [B,H,T,Dh]
          return { q, k, v };
        }); // [B,T,D]
        hooks.hook(`${at}attn.hook_pattern`, pattern); // [B,H,T,S]
        const attnOut = hooks.hook(`${at}hook_attn_out`, linear(out, layer.wO, layer.bO));

        // The MLP reads x before the attention output is added (parallel: x + MLP(x) is then the block's
        // token-local residual) or after (sequential).
        const mlp = (mlpIn: Node) => {
          const normed = layerNorm(mlpIn, layer.mlpNorm.w, layer.mlpNorm.b, eps);
          const pre = hooks.hook(`${at}mlp.hook_pre`, linear(normed, layer.wIn, layer.bIn)); // [B,T,I]
          const post = hooks.hook(`${at}mlp.hook_post`, act(pre));
          return hooks.hook(`${at}hook_mlp_out`, linear(post, layer.wOut, layer.bOut));
        };
        if (config.parallelResidual) {
          const local = tokenLocal(l, x, (rows) => add(rows, mlp(rows))); // x + mlp(ln₂(x)) [B,T,D]
          x = add(local, attnOut);
        } else {
          const mid = add(x, attnOut);
          x = add(mid, mlp(mid));
        }
        x = hooks.hook(`${at}hook_resid_post`, x);
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
