/**
 * Llama (Hugging Face LlamaForCausalLM, transformers/models/llama/modeling_llama.py; and llama2.c run.c):
 * pre-norm blocks with RMSNorm, rotary position embeddings, grouped-query attention and a SwiGLU MLP.
 *
 *   x₀ = W_E[tokens]
 *   x ← x + W_O · attn(RoPE(W_Q·rms₁(x)), RoPE(W_K·rms₁(x)), W_V·rms₁(x))
 *   x ← x + W_down · (silu(W_gate·rms₂(x)) ⊙ W_up·rms₂(x))
 *   logits = W_U · rms_f(x)
 */
import { add, mul, type Node } from '../graph/index.ts';
import type { LlamaConfig } from '../io/hf-config.ts';
import type { WeightSource } from '../io/tensors.ts';
import { activation, applyRotary, linear, rmsNorm, rotaryTable } from '../nn/index.ts';
import type { Architecture, ForwardContext } from './model.ts';
import { splitHeads } from './model.ts';
import { param, transposed, WeightReader } from './weights.ts';

interface LlamaLayer {
  attnNorm: Node; // [D]
  wQ: Node; // [D, H·Dh]
  bQ?: Node;
  wK: Node; // [D, KV·Dh]
  bK?: Node;
  wV: Node; // [D, KV·Dh]
  bV?: Node;
  wO: Node; // [H·Dh, D]
  bO?: Node;
  mlpNorm: Node; // [D]
  wGate: Node; // [D, I]
  bGate?: Node;
  wUp: Node; // [D, I]
  bUp?: Node;
  wDown: Node; // [I, D]
  bDown?: Node;
}

export interface LlamaParams {
  wE: Node; // [V, D]
  layers: LlamaLayer[];
  finalNorm: Node; // [D]
  wU: Node; // [V, D], rows of the unembedding: logits = h·W_Uᵀ (W_E itself when tied)
}

/**
 * The Hugging Face Llama checkpoint layout (llama2.c checkpoints are read under the same names); Linear
 * weights are [out, in] there and [in, out] here. Rotary inverse-frequency buffers are skipped.
 */
export function llamaWeights(config: LlamaConfig, source: WeightSource): LlamaParams {
  const { hidden: D, heads: H, kvHeads: KV, headDim: Dh, intermediate: I, vocabSize: V } = config;
  const r = new WeightReader(source, `llama (${config.layers} layers, hidden ${D})`);
  const linearIn = (name: string, out: number, inp: number, bias: boolean) => ({
    w: param(transposed(r.take(`${name}.weight`, [out, inp]))),
    b: bias ? param(r.take(`${name}.bias`, [out])) : undefined,
  });

  const wE = r.take('model.embed_tokens.weight', [V, D]);
  const layers = Array.from({ length: config.layers }, (_, l): LlamaLayer => {
    const at = `model.layers.${l}`;
    const bias = config.attentionBias;
    const q = linearIn(`${at}.self_attn.q_proj`, H * Dh, D, bias);
    const k = linearIn(`${at}.self_attn.k_proj`, KV * Dh, D, bias);
    const v = linearIn(`${at}.self_attn.v_proj`, KV * Dh, D, bias);
    const o = linearIn(`${at}.self_attn.o_proj`, D, H * Dh, bias);
    const gate = linearIn(`${at}.mlp.gate_proj`, I, D, config.mlpBias);
    const up = linearIn(`${at}.mlp.up_proj`, I, D, config.mlpBias);
    const down = linearIn(`${at}.mlp.down_proj`, D, I, config.mlpBias);
    return {
      attnNorm: param(r.take(`${at}.input_layernorm.weight`, [D])),
      ...{ wQ: q.w, bQ: q.b, wK: k.w, bK: k.b, wV: v.w, bV: v.b, wO: o.w, bO: o.b },
      mlpNorm: param(r.take(`${at}.post_attention_layernorm.weight`, [D])),
      ...{ wGate: gate.w, bGate: gate.b, wUp: up.w, bUp: up.b, wDown: down.w, bDown: down.b },
    };
  });
  const finalNorm = param(r.take('model.norm.weight', [D]));
  // A tied head reuses W_E; HF may still save lm_head.weight beside it, which is then ignored.
  const head = !config.tiedEmbeddings || r.has('lm_head.weight') ? r.take('lm_head.weight', [V, D]) : wE;
  r.skip(/(^|\.)rotary_emb\.inv_freq$/);
  r.finish();
  const embedding = param(wE);
  return { wE: embedding, layers, finalNorm, wU: config.tiedEmbeddings ? embedding : param(head) };
}

export function llamaArchitecture(config: LlamaConfig, p: LlamaParams): Architecture {
  const { heads: H, kvHeads: KV, headDim: Dh, rmsNormEps: eps } = config;
  const rope = rotaryTable(config.maxPositions, Dh, config.ropeTheta, config.rope);
  const act = activation(config.hiddenAct);
  return {
    hookSpec: { layers: config.layers, gatedMlp: true },
    forward({ lastLayer, full, hooks, embed, attention }: ForwardContext) {
      let x = hooks.hook('hook_embed', embed(p.wE)); // [B,T,D]
      for (let l = 0; l <= lastLayer; l++) {
        const layer = p.layers[l] as LlamaLayer;
        const at = `blocks.${l}.`;
        x = hooks.hook(`${at}hook_resid_pre`, x);

        // Attention: RoPE on q and k; GQA when KV < H.
        const { out, pattern } = attention(l, x, (rows, positions) => {
          const h = rmsNorm(rows, layer.attnNorm, eps); // [B,T,D]
          const q = applyRotary(splitHeads(linear(h, layer.wQ, layer.bQ), H, Dh), positions, rope); // [B,H,T,Dh]
          const k = applyRotary(splitHeads(linear(h, layer.wK, layer.bK), KV, Dh), positions, rope); // [B,KV,T,Dh]
          const v = splitHeads(linear(h, layer.wV, layer.bV), KV, Dh); // [B,KV,T,Dh]
          return { q, k, v };
        }); // [B,T,H·Dh]
        hooks.hook(`${at}attn.hook_pattern`, pattern); // [B,H,T,S]
        const attnOut = hooks.hook(`${at}hook_attn_out`, linear(out, layer.wO, layer.bO));
        x = add(x, attnOut);

        // SwiGLU MLP: act(gate) ⊙ up, then down.
        const m = rmsNorm(x, layer.mlpNorm, eps); // [B,T,D]
        const gate = hooks.hook(`${at}mlp.hook_pre`, linear(m, layer.wGate, layer.bGate)); // [B,T,I]
        const up = hooks.hook(`${at}mlp.hook_pre_linear`, linear(m, layer.wUp, layer.bUp)); // [B,T,I]
        const post = hooks.hook(`${at}mlp.hook_post`, mul(act(gate), up));
        const mlpOut = hooks.hook(`${at}hook_mlp_out`, linear(post, layer.wDown, layer.bDown));
        x = hooks.hook(`${at}hook_resid_post`, add(x, mlpOut));
      }
      if (!full) return { hooks: hooks.values };
      const normalized = hooks.hook('ln_final.hook_normalized', rmsNorm(x, p.finalNorm, eps)); // [B,T,D]
      return { normalized, unembedding: p.wU, hooks: hooks.values }; // logits = normalized·W_Uᵀ [B,T,V]
    },
  };
}
