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
import type { HostTensor, WeightSource } from '../io/tensors.ts';
import { activation, applyRotary, attention, linear, rmsNorm, rotaryTable } from '../nn/index.ts';
import type { Architecture, ForwardContext } from './model.ts';
import { columns, embed, mergeHeads, splitHeads } from './model.ts';
import { concatColumns, param, transposed, WeightReader } from './weights.ts';

interface LlamaLayer {
  attnNorm: Node; // [D]
  wQkv: Node; // [D, (H + 2·KV)·Dh], columns q | k | v
  bQkv?: Node;
  wO: Node; // [H·Dh, D]
  bO?: Node;
  mlpNorm: Node; // [D]
  wGateUp: Node; // [D, 2·I], columns gate | up
  bGateUp?: Node;
  wDown: Node; // [I, D]
  bDown?: Node;
}

export interface LlamaParams {
  wE: Node; // [V, D]
  layers: LlamaLayer[];
  finalNorm: Node; // [D]
  wU: Node; // [D, V]
}

/**
 * The Hugging Face Llama checkpoint layout (llama2.c checkpoints are read under the same names); Linear
 * weights are [out, in] there and [in, out] here. Rotary inverse-frequency buffers are skipped.
 */
export function llamaWeights(config: LlamaConfig, source: WeightSource): LlamaParams {
  const { hidden: D, heads: H, kvHeads: KV, headDim: Dh, intermediate: I, vocabSize: V } = config;
  const r = new WeightReader(source, `llama (${config.layers} layers, hidden ${D})`);
  const linearIn = (name: string, out: number, inp: number, bias: boolean) => ({
    w: transposed(r.take(`${name}.weight`, [out, inp])),
    b: bias ? r.take(`${name}.bias`, [out]) : undefined,
  });
  const fused = (parts: { w: HostTensor; b: HostTensor | undefined }[]) => ({
    w: param(concatColumns(parts.map((p) => p.w))),
    b: parts[0]!.b ? param(concatColumns(parts.map((p) => p.b as HostTensor))) : undefined,
  });
  const optional = (t: HostTensor | undefined) => (t ? param(t) : undefined);

  const wE = r.take('model.embed_tokens.weight', [V, D]);
  const layers = Array.from({ length: config.layers }, (_, l): LlamaLayer => {
    const at = `model.layers.${l}`;
    const bias = config.attentionBias;
    const qkv = fused([
      linearIn(`${at}.self_attn.q_proj`, H * Dh, D, bias),
      linearIn(`${at}.self_attn.k_proj`, KV * Dh, D, bias),
      linearIn(`${at}.self_attn.v_proj`, KV * Dh, D, bias),
    ]);
    const o = linearIn(`${at}.self_attn.o_proj`, D, H * Dh, bias);
    const gateUp = fused([
      linearIn(`${at}.mlp.gate_proj`, I, D, config.mlpBias),
      linearIn(`${at}.mlp.up_proj`, I, D, config.mlpBias),
    ]);
    const down = linearIn(`${at}.mlp.down_proj`, D, I, config.mlpBias);
    return {
      attnNorm: param(r.take(`${at}.input_layernorm.weight`, [D])),
      wQkv: qkv.w,
      bQkv: qkv.b,
      wO: param(o.w),
      bO: optional(o.b),
      mlpNorm: param(r.take(`${at}.post_attention_layernorm.weight`, [D])),
      wGateUp: gateUp.w,
      bGateUp: gateUp.b,
      wDown: param(down.w),
      bDown: optional(down.b),
    };
  });
  const finalNorm = param(r.take('model.norm.weight', [D]));
  // A tied head reuses W_E; HF may still save lm_head.weight beside it, which is then ignored.
  const head = !config.tiedEmbeddings || r.has('lm_head.weight') ? r.take('lm_head.weight', [V, D]) : wE;
  r.skip(/(^|\.)rotary_emb\.inv_freq$/);
  r.finish();
  const wU = param(transposed(config.tiedEmbeddings ? wE : head));
  return { wE: param(wE), layers, finalNorm, wU };
}

export function llamaArchitecture(config: LlamaConfig, p: LlamaParams): Architecture {
  const { heads: H, kvHeads: KV, headDim: Dh, intermediate: I, rmsNormEps: eps } = config;
  const rope = rotaryTable(config.maxPositions, Dh, config.ropeTheta, config.rope);
  const act = activation(config.hiddenAct);
  return {
    hookSpec: { layers: config.layers, gatedMlp: true },
    forward({ tokens, positions, lastLayer, full, hooks }: ForwardContext) {
      let x = hooks.hook('hook_embed', embed(tokens, p.wE)); // [B,T,D]
      for (let l = 0; l <= lastLayer; l++) {
        const layer = p.layers[l] as LlamaLayer;
        const at = `blocks.${l}.`;
        x = hooks.hook(`${at}hook_resid_pre`, x);

        // Attention: q, k, v from one fused projection; RoPE on q and k; GQA when KV < H.
        const qkv = linear(rmsNorm(x, layer.attnNorm, eps), layer.wQkv, layer.bQkv); // [B,T,(H+2KV)·Dh]
        const q = splitHeads(columns(qkv, 0, H * Dh), H, Dh); // [B,H,T,Dh]
        const k = splitHeads(columns(qkv, H * Dh, (H + KV) * Dh), KV, Dh); // [B,KV,T,Dh]
        const v = splitHeads(columns(qkv, (H + KV) * Dh, (H + 2 * KV) * Dh), KV, Dh); // [B,KV,T,Dh]
        const { out, pattern } = attention(
          applyRotary(q, positions, rope),
          applyRotary(k, positions, rope),
          v,
          positions,
          positions,
        );
        hooks.hook(`${at}attn.hook_pattern`, pattern); // [B,H,T,T]
        const attnOut = hooks.hook(`${at}hook_attn_out`, linear(mergeHeads(out), layer.wO, layer.bO));
        x = add(x, attnOut);

        // SwiGLU MLP: act(gate) ⊙ up, then down.
        const gateUp = linear(rmsNorm(x, layer.mlpNorm, eps), layer.wGateUp, layer.bGateUp); // [B,T,2I]
        const gate = hooks.hook(`${at}mlp.hook_pre`, columns(gateUp, 0, I)); // [B,T,I]
        const up = hooks.hook(`${at}mlp.hook_pre_linear`, columns(gateUp, I, 2 * I)); // [B,T,I]
        const post = hooks.hook(`${at}mlp.hook_post`, mul(act(gate), up));
        const mlpOut = hooks.hook(`${at}hook_mlp_out`, linear(post, layer.wDown, layer.bDown));
        x = hooks.hook(`${at}hook_resid_post`, add(x, mlpOut));
      }
      if (!full) return { hooks: hooks.values };
      const normalized = hooks.hook('ln_final.hook_normalized', rmsNorm(x, p.finalNorm, eps));
      return { logits: linear(normalized, p.wU), hooks: hooks.values }; // [B,T,V]
    },
  };
}
