/**
 * GPT-NeoX / Pythia (Hugging Face GPTNeoXForCausalLM, transformers/models/gpt_neox/modeling_gpt_neox.py):
 * LayerNorm blocks with partial rotary embeddings (the first ⌊rotary_pct·Dh⌋ features of each head, in
 * the rotate-half convention), exact GELU, and by default a parallel residual:
 *
 *   x₀ = W_E[tokens]
 *   parallel:   x ← x + attn(ln₁(x)) + mlp(ln₂(x))
 *   sequential: x ← x + attn(ln₁(x));  x ← x + mlp(ln₂(x))
 *   attn(h) = W_O · softmax(RoPE(q)·RoPE(k)ᵀ/√Dh + causal) · v + b_O,   q | k | v = W_QKV·h + b_QKV
 *   mlp(h)  = W_out · gelu(W_in·h + b_in) + b_out
 *   logits  = embed_out · ln_f(x)   (untied)
 */
import { add, type Node } from '../graph/index.ts';
import type { GptNeoXConfig } from '../io/hf-config.ts';
import type { HostTensor, WeightSource } from '../io/tensors.ts';
import { activation, applyRotary, attention, layerNorm, linear, rotaryTable } from '../nn/index.ts';
import type { Architecture, ForwardContext } from './model.ts';
import { columns, embed, mergeHeads, splitHeads } from './model.ts';
import { param, transposed, WeightReader } from './weights.ts';

interface Norm {
  w: Node; // [D]
  b: Node; // [D]
}

interface GptNeoXLayer {
  attnNorm: Norm;
  mlpNorm: Norm;
  wQkv: Node; // [D, 3·D], columns q | k | v (each head-major)
  bQkv?: Node;
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
  wU: Node; // [D, V]
}

/**
 * HF's fused query_key_value is interleaved per head: its 3·H·Dh output rows are laid out [H, 3, Dh]
 * (modeling_gpt_neox.py views the projection as [..., H, 3·Dh] and splits q, k, v from each head's
 * slice). Reordered once here to [3, H, Dh] rows, so that q, k and v are contiguous column blocks.
 */
function headInterleavedToBlocks(t: HostTensor, heads: number, headDim: number): HostTensor {
  const rowLength = t.data.length / (3 * heads * headDim); // D for the weight, 1 for the bias
  const out = new Float32Array(t.data.length);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < 3; j++) {
      const from = (h * 3 + j) * headDim * rowLength;
      const to = (j * heads + h) * headDim * rowLength;
      out.set(t.data.subarray(from, from + headDim * rowLength), to);
    }
  return { shape: t.shape, data: out };
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
    return {
      attnNorm: norm(`${at}.input_layernorm`),
      mlpNorm: norm(`${at}.post_attention_layernorm`),
      wQkv: param(transposed(headInterleavedToBlocks(qkvW, H, Dh))),
      bQkv: qkvB && param(headInterleavedToBlocks(qkvB, H, Dh)),
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
  return { wE: param(wE), layers, finalNorm, wU: param(transposed(config.tiedEmbeddings ? wE : head)) };
}

export function gptNeoXArchitecture(config: GptNeoXConfig, p: GptNeoXParams): Architecture {
  const { hidden: D, heads: H, headDim: Dh, layerNormEps: eps } = config;
  // HF: rotary_ndims = int(head_size · rotary_pct)
  const rope = rotaryTable(config.maxPositions, Dh, config.rotaryEmbBase, 'rotate-half', {
    rotaryDim: Math.floor(Dh * config.rotaryPct),
  });
  const act = activation(config.hiddenAct);
  return {
    hookSpec: { layers: config.layers },
    forward({ tokens, positions, lastLayer, full, hooks }: ForwardContext) {
      let x = hooks.hook('hook_embed', embed(tokens, p.wE)); // [B,T,D]
      for (let l = 0; l <= lastLayer; l++) {
        const layer = p.layers[l] as GptNeoXLayer;
        const at = `blocks.${l}.`;
        x = hooks.hook(`${at}hook_resid_pre`, x);

        const qkv = linear(layerNorm(x, layer.attnNorm.w, layer.attnNorm.b, eps), layer.wQkv, layer.bQkv); // [B,T,3D]
        const q = splitHeads(columns(qkv, 0, D), H, Dh); // [B,H,T,Dh]
        const k = splitHeads(columns(qkv, D, 2 * D), H, Dh); // [B,H,T,Dh]
        const v = splitHeads(columns(qkv, 2 * D, 3 * D), H, Dh); // [B,H,T,Dh]
        const { out, pattern } = attention(
          applyRotary(q, positions, rope),
          applyRotary(k, positions, rope),
          v,
          positions,
          positions,
        );
        hooks.hook(`${at}attn.hook_pattern`, pattern); // [B,H,T,T]
        const attnOut = hooks.hook(`${at}hook_attn_out`, linear(mergeHeads(out), layer.wO, layer.bO));

        // The MLP reads x before the attention output is added (parallel) or after (sequential).
        const mid = add(x, attnOut);
        const mlpIn = config.parallelResidual ? x : mid;
        const pre = hooks.hook(
          `${at}mlp.hook_pre`,
          linear(layerNorm(mlpIn, layer.mlpNorm.w, layer.mlpNorm.b, eps), layer.wIn, layer.bIn),
        ); // [B,T,I]
        const post = hooks.hook(`${at}mlp.hook_post`, act(pre));
        const mlpOut = hooks.hook(`${at}hook_mlp_out`, linear(post, layer.wOut, layer.bOut));
        x = hooks.hook(`${at}hook_resid_post`, add(mid, mlpOut));
      }
      if (!full) return { hooks: hooks.values };
      const normalized = hooks.hook(
        'ln_final.hook_normalized',
        layerNorm(x, p.finalNorm.w, p.finalNorm.b, eps),
      );
      return { logits: linear(normalized, p.wU), hooks: hooks.values }; // [B,T,V]
    },
  };
}
